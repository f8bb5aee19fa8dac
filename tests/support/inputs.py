"""Every input of the app, found from its routes: which routes take a body (JSON or form), which Struct they
decode it into, and a day to send them to (the app in-process on SQLite or PostgreSQL, with a moderator's session,
an attendee's cookie, the CSRF token, bearer tokens and one of each object the paths name).

Used by the input-bound and fuzz tests, so that a route added later is covered without anyone listing it.
"""

from __future__ import annotations

import os
import re
import types
import typing
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import msgspec
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select

from ehalsodag.app import create_app
from ehalsodag.db.base import metadata
from ehalsodag.db.engine import Database
from ehalsodag.db.migrate import upgrade
from ehalsodag.settings import Settings
from tests.conftest import STAFF_PASSWORD, load_fixture, make_settings, make_staff
from tests.support.postgres import fresh_database

SLUG = "ostergotland-2021-03-23"
FRAMEWORK = "ramprogram-2021"
DATABASES = ["sqlite", "postgresql"]


@dataclass(frozen=True)
class Input:
    """One route that takes a body: its method, path template, Struct and how it is sent."""

    method: str
    path: str
    struct: type[msgspec.Struct]
    form: bool
    staff: bool

    def __str__(self) -> str:
        return f"{self.method} {self.path} ({'form' if self.form else 'json'})"


def _unwrap(annotation: Any) -> Any:
    """The Struct inside ``Annotated[...]`` and ``X | None``."""
    if typing.get_origin(annotation) is typing.Annotated:
        return _unwrap(typing.get_args(annotation)[0])
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        inner = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _unwrap(inner[0]) if len(inner) == 1 else annotation
    return annotation


def inputs(app: Litestar) -> list[Input]:
    """Every (method, path) of ``app`` whose handler decodes a body into a Struct."""
    found = []
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            methods = sorted(m for m in handler.http_methods if m not in ("OPTIONS", "HEAD"))
            data = handler.parsed_fn_signature.parameters.get("data")
            form = handler.resolve_dependencies().get("form")
            struct, is_form = None, False
            if data is not None:
                struct = _unwrap(data.annotation)
            elif form is not None:
                struct, is_form = _unwrap(typing.get_type_hints(form.dependency)["return"]), True
            if isinstance(struct, type) and issubclass(struct, msgspec.Struct):
                for method in methods:
                    found.append(Input(method, route.path, struct, is_form, bool(handler.guards)))
    return found


def query_routes(app: Litestar) -> list[str]:
    """Every GET path template of ``app`` (static files and the schema aside)."""
    paths = set()
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            if "GET" in handler.http_methods and not route.path.startswith(("/static", "/schema")):
                paths.add(route.path)
    return sorted(paths)


@dataclass
class Day:
    """An event with one poll, question and chat message; a client logged in as its organiser and joined as an
    attendee (both cookies), the CSRF token, and bearer tokens for the API."""

    app: Litestar
    client: AsyncTestClient
    csrf: str
    staff_token: str
    attendee_token: str
    ids: dict[str, int] = field(default_factory=dict)

    def path(self, template: str, **extra: str) -> str:
        """``template`` with every parameter filled in with an object of the day."""
        values = {"slug": SLUG, "action": "open", "code": "1234", **{k: str(v) for k, v in self.ids.items()},
                  **extra}
        return re.sub(r"\{(\w+)(:\w+)?\}", lambda m: values.get(m.group(1), "1"), template)

    def headers(self, item: Input) -> dict[str, str]:
        """Bearer tokens for the API (staff or attendee), nothing for forms (cookies and the CSRF field)."""
        if item.form:
            return {}
        return {"Authorization": f"Bearer {self.staff_token if item.staff else self.attendee_token}"}

    async def send(self, item: Input, body: dict[str, Any], path: str | None = None) -> Any:
        """Send ``body`` to ``item``'s route, as JSON or as a form (a list value repeats the field)."""
        url = path or self.path(item.path)
        if item.form:
            pairs = [("_csrf_token", self.csrf)]
            for name, value in body.items():
                for one in value if isinstance(value, list) else [value]:
                    pairs.append((name, str(one).lower() if isinstance(one, bool) else str(one)))
            return await self.client.request(item.method, url, content=urlencode(pairs),
                                             headers={"Content-Type": "application/x-www-form-urlencoded"})
        return await self.client.request(item.method, url, json=body, headers=self.headers(item))

    async def row_counts(self) -> dict[str, int]:
        """How many rows every table has."""
        db = Database(self.app.state.settings)  # its own pool: the app's runs on the test client's loop
        try:
            async with db.reader() as session:
                return {table.name: (await session.execute(select(func.count()).select_from(table))).scalar_one()
                        for table in metadata.sorted_tables}
        finally:
            await db.dispose()


@contextmanager
def database(kind: str, tmp_path: Path) -> Iterator[Settings]:
    """Migrated settings for ``kind`` (sqlite, or postgresql when EHALSODAG_TEST_DATABASE_URL is set)."""
    import pytest

    if kind == "sqlite":
        settings = make_settings(tmp_path)
        upgrade(settings)
        yield settings
        return
    url = os.environ.get("EHALSODAG_TEST_DATABASE_URL")
    if not url:
        pytest.skip("set EHALSODAG_TEST_DATABASE_URL (postgresql+asyncpg://...) to run on PostgreSQL")
    made = fresh_database(url, "ehalsodag_inputs")
    with ThreadPoolExecutor(1) as pool:  # it runs its own event loop: not inside the test's
        fresh = pool.submit(made.__enter__).result()
    try:
        settings = make_settings(tmp_path, database_url=fresh)
        upgrade(settings)
        yield settings
    finally:
        with ThreadPoolExecutor(1) as pool:
            pool.submit(made.__exit__, None, None, None).result()


async def _also_organiser_of(settings: Settings, email: str, slug: str) -> None:
    """Give the staff user ``email`` the organiser role on ``slug`` as well."""
    from ehalsodag.agenda.service import event_by_slug
    from ehalsodag.staff.models import StaffRole, StaffUser

    db = Database(settings)
    try:
        async with db.unit_of_work() as session:
            event = await event_by_slug(session, slug)
            user = (await session.execute(select(StaffUser).where(StaffUser.email == email))).scalar_one()
            assert event is not None
            session.add(StaffRole(user_id=user.id, event_id=event.id, role="organiser"))
    finally:
        await db.dispose()


@asynccontextmanager
async def day(settings: Settings) -> AsyncIterator[Day]:
    """The app in-process with the Östergötland day loaded, everyone logged in and one object of each kind."""
    settings = replace(settings, vote_limit=100_000, join_limit=100_000)
    await load_fixture(settings, f"{SLUG}.toml")
    await load_fixture(settings, f"{FRAMEWORK}.toml")  # the framework's landing place is a route too
    staff_token = await make_staff(settings, "org@example.se", "organiser", SLUG)
    await _also_organiser_of(settings, "org@example.se", FRAMEWORK)
    app = create_app(settings)
    async with AsyncTestClient(app=app, base_url="http://testserver.local") as client:
        page = await client.get("/login")
        csrf = re.search(r'name="_csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
        logged_in = await client.post("/login", data={"_csrf_token": csrf, "email": "org@example.se",
                                                      "password": STAFF_PASSWORD})
        assert logged_in.status_code in (200, 303), logged_in.text
        joined = await client.post(f"/e/{SLUG}/join", data={"_csrf_token": csrf})
        assert joined.status_code in (200, 303), joined.text
        attendee_token = (await client.post(f"/api/v1/events/{SLUG}/join", json={})).json()["attendee_token"]
        staff = {"Authorization": f"Bearer {staff_token}"}
        attendee = {"Authorization": f"Bearer {attendee_token}"}
        poll = await client.post(f"/api/v1/events/{SLUG}/polls", headers=staff,
                                 json={"kind": "wordcloud", "question": "Ett ord?"})
        question = await client.post(f"/api/v1/events/{SLUG}/questions", headers=attendee, json={"text": "Fråga?"})
        message = await client.post(f"/api/v1/events/{SLUG}/chat", headers=attendee, json={"text": "Hej"})
        event = (await client.get(f"/api/v1/events/{SLUG}")).json()
        ids = {"poll_id": poll.json()["id"], "question_id": question.json()["id"], "message_id": message.json()["id"],
               "block_id": event["blocks"][0]["id"], "response_id": 1, "attendee_id": 1}
        await client.post(f"/api/v1/polls/{ids['poll_id']}/open", headers=staff)
        yield Day(app, client, csrf, staff_token, attendee_token, ids)
