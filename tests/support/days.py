"""Helpers for the studio's days: a world of staff on both databases, and an event dumped for comparison."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from ehalsodag.agenda.service import event_by_slug
from ehalsodag.db.engine import Database
from ehalsodag.evaluation.models import EvaluationQuestion
from ehalsodag.polls.models import Poll
from ehalsodag.settings import Settings
from tests.conftest import ServedApp, load_fixture, make_settings, make_staff, run_sync, start_server, stop_server
from tests.support.postgres import fresh_database

DATABASE_URL = os.environ.get("EHALSODAG_TEST_DATABASE_URL")
DATABASES = ["sqlite", *(["postgresql"] if DATABASE_URL else [])]
FRAMEWORK = "ramprogram-2021.toml"
#: A file-loaded day (published) whose organiser also makes new days, and an unrelated event.
A, B = "ostergotland-2021-03-23", "other"


@dataclass
class World:
    """A served app with staff of every kind; ``tokens`` by role name."""

    server: ServedApp
    settings: Settings
    tokens: dict[str, str]

    def client(self, role: str | None = None) -> httpx.Client:
        """An HTTP client speaking for ``role`` (a bearer token; None: anonymous)."""
        headers = {"Authorization": f"Bearer {self.tokens[role]}"} if role else {}
        return httpx.Client(base_url=self.server.base_url, headers=headers, timeout=30)

    def new_day(self, region: str = "Östergötland", date: str = "2027-03-23", role: str = "organiser") -> str:
        """A new day made by ``role`` through the API; returns its slug."""
        with self.client(role) as http:
            response = http.post("/api/v1/events", json={"framework": FRAMEWORK, "region": region, "date": date})
        assert response.status_code == 201, response.text
        return response.json()["slug"]


@contextmanager
def database(kind: str, folder: Path) -> Iterator[Settings]:
    """Migrated settings on SQLite or on a fresh PostgreSQL database."""
    from ehalsodag.db.migrate import upgrade

    if kind == "sqlite":
        settings = make_settings(folder)
        upgrade(settings)
        yield settings
        return
    assert DATABASE_URL
    with fresh_database(DATABASE_URL, "ehalsodag_days") as url:
        settings = make_settings(folder, database_url=url)
        upgrade(settings)
        yield settings


@contextmanager
def world(kind: str, folder: Path) -> Iterator[World]:
    """Events A and B loaded from files; an admin, the organiser of A, an organiser of B, a moderator of A; the
    server running."""
    with database(kind, folder) as settings:
        run_sync(load_fixture(settings, f"{A}.toml"))
        run_sync(load_fixture(settings, "other.toml"))
        tokens = {
            "admin": run_sync(make_staff(settings, "admin@example.se", "admin")),
            "organiser": run_sync(make_staff(settings, "org@example.se", "organiser", A)),
            "other_organiser": run_sync(make_staff(settings, "otherorg@example.se", "organiser", B)),
            "moderator": run_sync(make_staff(settings, "mod@example.se", "moderator", A)),
        }
        server = start_server(settings, folder / "server.log")
        try:
            yield World(server, settings, tokens)
        finally:
            stop_server(server)


async def dump(settings: Settings, slug: str) -> dict[str, Any]:
    """Everything a programme file decides about an event (no ids, codes or live state)."""
    db = Database(settings)
    try:
        async with db.reader() as session:
            event = await event_by_slug(session, slug)
            assert event is not None, slug
            keys = {b.id: b.key for b in event.blocks}
            polls = (await session.execute(select(Poll).where(Poll.event_id == event.id).order_by(Poll.key))).scalars()
            questions = (await session.execute(select(EvaluationQuestion).where(
                EvaluationQuestion.event_id == event.id, EvaluationQuestion.removed.is_(False)).order_by(
                EvaluationQuestion.position))).scalars()
            return {
                "event": {k: getattr(event, k) for k in ("slug", "title", "description", "organiser", "date",
                                                         "timezone", "recording_url", "allowed_stream_hosts",
                                                         "retention_days", "evaluation_minutes")},
                "stages": [(s.key, s.name, s.kind, s.position, s.stream_url) for s in event.stages],
                "blocks": sorted((b.key, b.stage.key, b.kind, b.title, b.description, b.theme, b.planned_start,
                                  b.planned_end, b.speakers, b.stream_url, b.film_url, b.recording_url)
                                 for b in event.active_blocks()),
                "polls": [(p.key, p.kind, p.question, [o.label for o in p.options], p.scale_min, p.scale_max,
                           p.scale_labels, keys.get(p.block_id)) for p in polls],
                "evaluation": [(q.key, q.kind, q.text, q.labels, q.optional) for q in questions],
            }
    finally:
        await db.dispose()


def csrf(http: httpx.Client) -> str:
    """A CSRF token for forms (as a browser gets it with any page)."""
    http.get("/login")
    return http.cookies.get("csrftoken") or ""


def form(http: httpx.Client, url: str, data: dict[str, Any], **kwargs: Any) -> httpx.Response:
    """Post a form as a browser does (with the CSRF token), without following the redirect."""
    return http.post(url, data={"_csrf_token": csrf(http), **data}, follow_redirects=False, **kwargs)


def field_values(html: str) -> dict[str, str]:
    """The block form's inputs by name (value attribute), enough to post it back unchanged."""
    values = {m.group(1): m.group(2) for m in re.finditer(r'<input id="[^"]*" name="([^"]+)"[^>]*?value="([^"]*)"',
                                                              html)}
    for match in re.finditer(r'<select id="[^"]*" name="([^"]+)".*?</select>', html, re.S):
        chosen = re.search(r'<option value="([^"]*)" selected', match.group(0))
        values[match.group(1)] = chosen.group(1) if chosen else ""
    for match in re.finditer(r'<textarea id="[^"]*" name="([^"]+)"[^>]*>(.*?)</textarea>', html, re.S):
        values[match.group(1)] = match.group(2)
    import html as html_module

    return {k: html_module.unescape(v) for k, v in values.items()}
