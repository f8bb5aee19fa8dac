"""Accounts in the browser (issue 14) and sessions that really end (issue 15, item 4), on SQLite and PostgreSQL,
through the served app over real HTTP."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import STAFF_PASSWORD, load_fixture, make_settings, make_staff, run_sync, start_server, stop_server
from tests.support.postgres import fresh_database

A = "ostergotland-2021-03-23"
B = "other"
DATABASE_URL = os.environ.get("EHALSODAG_TEST_DATABASE_URL")


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def world(request, tmp_path_factory) -> Iterator[dict]:
    """A served app with events A and B and staff of every kind, on each database."""
    from ehalsodag.db.migrate import upgrade

    if request.param == "postgresql" and not DATABASE_URL:
        pytest.skip("set EHALSODAG_TEST_DATABASE_URL (postgresql+asyncpg://)")
    tmp: Path = tmp_path_factory.mktemp(f"accounts-{request.param}")
    with fresh_database(DATABASE_URL, "ehalsodag_accounts") if request.param == "postgresql" else _nothing() as url:
        settings = make_settings(tmp, database_url=url)
        upgrade(settings)
        run_sync(load_fixture(settings, f"{A}.toml"))
        run_sync(load_fixture(settings, "other.toml"))
        tokens = {
            "admin": run_sync(make_staff(settings, "admin@example.se", "admin")),
            "organiser": run_sync(make_staff(settings, "org@example.se", "organiser", A)),
            "other_organiser": run_sync(make_staff(settings, "otherorg@example.se", "organiser", B)),
            "moderator": run_sync(make_staff(settings, "mod@example.se", "moderator", A)),
        }
        server = start_server(settings, tmp / "server.log")
        try:
            yield {"server": server, "settings": settings, "tokens": tokens, "db": request.param}
        finally:
            stop_server(server)


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def browser(world: dict) -> httpx.Client:
    """A cookie-keeping client, as a browser."""
    return httpx.Client(base_url=world["server"].base_url, follow_redirects=False, timeout=20)


def csrf_of(client: httpx.Client, path: str = "/login") -> str:
    page = client.get(path)
    assert page.status_code == 200, (path, page.status_code, page.text[:300])
    match = re.search(r'name="_csrf_token" value="([^"]+)"', page.text)
    assert match
    return match.group(1)


def log_in(client: httpx.Client, email: str, password: str = STAFF_PASSWORD) -> httpx.Response:
    token = csrf_of(client)
    return client.post("/login", data={"email": email, "password": password, "next": "/studio",
                                       "_csrf_token": token})


def test_studio_home_lists_my_events_with_my_role(world):
    with browser(world) as client:
        assert log_in(client, "org@example.se").status_code == 303
        page = client.get("/studio")
        assert page.status_code == 200
        assert f'id="studio-event-{A}"' in page.text and f'id="studio-event-{B}"' not in page.text
        assert "Arrangör" in page.text  # the role, in Swedish by default
    with browser(world) as client:
        log_in(client, "admin@example.se")
        page = client.get("/studio")
        assert f'id="studio-event-{A}"' in page.text and f'id="studio-event-{B}"' in page.text
    with browser(world) as client:
        anonymous = client.get("/studio")
        assert anonymous.status_code == 303 and anonymous.headers["location"] == "/login?next=/studio"


def test_a_copied_cookie_is_refused_after_logout(world):
    with browser(world) as client:
        assert log_in(client, "mod@example.se").status_code == 303
        copied = client.cookies.get("ehd_staff")
        assert client.get(f"/e/{A}/control").status_code == 200
        token = csrf_of(client, "/studio")
        assert client.post("/logout", data={"_csrf_token": token}).status_code == 303
    with browser(world) as thief:
        thief.cookies.set("ehd_staff", copied)
        assert thief.get(f"/e/{A}/control").status_code == 303  # to the login form
        assert thief.get("/studio").status_code == 303


# --- helpers that reach into the database directly (the world the routes act on) ---------------------------


def _db_run(world: dict, work):  # work: async (session) -> T
    from ehalsodag.db.engine import Database

    async def run():
        db = Database(world["settings"])
        try:
            async with db.unit_of_work() as session:
                return await work(session)
        finally:
            await db.dispose()

    return run_sync(run())


def fresh_moderator(world: dict, email: str, slug: str = A) -> int:
    """A new moderator of ``slug``; returns the id of the role."""
    from ehalsodag.agenda.service import event_by_slug
    from ehalsodag.staff.service import add_user

    async def work(session):
        event = await event_by_slug(session, slug)
        user = await add_user(session, email, STAFF_PASSWORD, "moderator", event.id)
        return next(r.id for r in user.roles if r.event_id == event.id)

    return _db_run(world, work)


def fresh_invitation(world: dict, email: str, role: str = "moderator", slug: str | None = A) -> tuple[int, str]:
    """A new open invitation; returns its id and secret."""
    from sqlalchemy import select

    from ehalsodag.agenda.service import event_by_slug
    from ehalsodag.staff.invitations import create_invitation
    from ehalsodag.staff.models import StaffInvitation
    from ehalsodag.tokens import token_hash

    async def work(session):
        event = await event_by_slug(session, slug) if slug else None
        secret = await create_invitation(session, email=email, role=role, event_id=event.id if event else None,
                                         invited_by=None)
        found = (await session.execute(select(StaffInvitation).where(
            StaffInvitation.token_hash == token_hash(secret)))).scalar_one()
        return found.id, secret

    return _db_run(world, work)


def fresh_token(world: dict, email: str) -> tuple[int, str]:
    """A new API token of ``email``; returns its id and secret."""
    from sqlalchemy import select

    from ehalsodag.staff.models import ApiToken
    from ehalsodag.staff.service import create_token, user_by_email
    from ehalsodag.tokens import token_hash

    async def work(session):
        user = await user_by_email(session, email)
        secret = await create_token(session, user, "matrix")
        row = (await session.execute(select(ApiToken).where(ApiToken.token_hash == token_hash(secret)))).scalar_one()
        return row.id, secret

    return _db_run(world, work)


# --- the authorisation matrix over every new route × role ------------------------------------------------

ROLES = ("anonymous", "attendee", "moderator", "organiser", "other_organiser", "admin")
EMAILS = {"moderator": "mod@example.se", "organiser": "org@example.se", "other_organiser": "otherorg@example.se",
          "admin": "admin@example.se"}
STAFF = {"moderator", "organiser", "other_organiser", "admin"}
#: route -> who may use it (the rest must get 401/403, or a redirect to the login form for a page)
ACCOUNT_MATRIX = {
    ("GET", "/studio"): STAFF,
    ("GET", "/studio/staff"): {"organiser", "other_organiser", "admin"},
    ("POST", "/studio/staff/invitations"): {"organiser", "admin"},
    ("POST", "/studio/staff/roles/{role_id}"): {"admin"},
    ("POST", "/studio/staff/roles/{role_id}/delete"): {"organiser", "admin"},
    ("POST", "/studio/staff/invitations/{invitation_id}/delete"): {"organiser", "admin"},
    ("GET", "/studio/tokens"): STAFF,
    ("POST", "/studio/tokens"): STAFF,
    ("POST", "/studio/tokens/{token_id}/delete"): STAFF,  # their own token
    ("POST", "/studio/tokens/{other_token_id}/delete"): set(),  # somebody else's token
    ("GET", "/studio/password"): STAFF,
    ("POST", "/studio/password"): STAFF,  # (a wrong current password: 422, nothing changes)
    ("GET", "/invite/{secret}"): set(ROLES),
    ("POST", "/invite/{secret}"): set(ROLES),
}


def test_the_matrix_covers_every_account_route(world):
    from tests.integration.test_authorization import app_routes

    ours = {(m, p) for m, p in app_routes(world["settings"]) if p.startswith(("/studio", "/invite"))}
    covered = {(m, p.replace("{other_token_id}", "{token_id}")) for m, p in ACCOUNT_MATRIX}
    assert ours <= covered, "classify new account routes in ACCOUNT_MATRIX"


@pytest.mark.parametrize("role", ROLES)
def test_each_role_gets_exactly_what_it_may_on_the_account_routes(world, role):
    server, tokens = world["server"], world["tokens"]
    with browser(world) as client:
        attendee = client.post(f"/api/v1/events/{A}/join", json={}).json()["attendee_token"]
        for name in list(client.cookies.keys()):
            client.cookies.delete(name)
        csrf = csrf_of(client)
        bearer = {"anonymous": None, "attendee": attendee}.get(role, tokens.get(role))
        auth = {"Authorization": f"Bearer {bearer}"} if bearer else {}
        wrong = []
        for n, ((method, path), allowed_roles) in enumerate(sorted(ACCOUNT_MATRIX.items())):
            # a fresh target per request: removing or changing a role must not change the world for the next one
            params = {"role_id": fresh_moderator(world, f"target-{role}-{n}-{world['db']}@example.se"),
                      "invitation_id": fresh_invitation(world, f"inv-{role}-{n}@example.se")[0],
                      "token_id": fresh_token(world, EMAILS.get(role, "mod@example.se"))[0],
                      "other_token_id": fresh_token(world, "admin@example.se" if role != "admin"
                                                    else "org@example.se")[0],
                      "secret": "ehi_unknown"}
            url = path.format(**params)
            body = {"/studio/staff/invitations": {"email": f"new-{role}-{n}@example.se", "role": "moderator",
                                                  "event": A},
                    "/studio/staff/roles/{role_id}": {"role": "organiser"},
                    "/studio/tokens": {"name": "matrix"},
                    "/studio/password": {"current": "wrong password", "new": "a new long password 42",
                                         "again": "a new long password 42"},
                    "/invite/{secret}": {"password": "a new long password 42",
                                         "again": "a new long password 42"}}.get(path, {})
            if method == "GET":
                response = client.get(url, headers=auth)
            else:
                response = client.post(url, headers=auth, data={"_csrf_token": csrf, **body})
            allowed = role in allowed_roles
            refused = response.status_code in (401, 403) or (
                method == "GET" and response.status_code == 303 and "/login" in response.headers["location"])
            if allowed == refused or response.status_code >= 500:
                wrong.append(f"{method} {path}: {response.status_code} for {role} "
                             f"({'allowed' if allowed else 'refused'})")
    assert wrong == [], "\n".join(wrong) + "\n" + server.log()[-2000:]
