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
