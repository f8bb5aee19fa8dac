"""Two server processes on PostgreSQL + Redis: an action on worker A reaches a socket on worker B.

Skipped (with the reason) unless EHALSODAG_TEST_DATABASE_URL and EHALSODAG_TEST_REDIS_URL are set;
.ci/run sets both, so in CI they are mandatory and an unreachable service fails the run.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from dataclasses import replace
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import pytest
import websockets
from redis.asyncio import Redis

from ehalsodag.db.migrate import upgrade
from tests.conftest import load_fixture, make_settings, make_staff, start_server, stop_server

DATABASE_URL = os.environ.get("EHALSODAG_TEST_DATABASE_URL")
REDIS_URL = os.environ.get("EHALSODAG_TEST_REDIS_URL")

pytestmark = [
    pytest.mark.scaleout,
    pytest.mark.skipif(
        not (DATABASE_URL and REDIS_URL),
        reason="set EHALSODAG_TEST_DATABASE_URL (postgresql+asyncpg://...) and EHALSODAG_TEST_REDIS_URL "
        "(redis://...) to run the PostgreSQL + Redis scale-out tests",
    ),
]


def _plain_dsn(url: str, database: str | None = None) -> str:
    parts = urlsplit(url.replace("postgresql+asyncpg://", "postgresql://"))
    path = f"/{database}" if database else parts.path
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))


@pytest.fixture
def postgres_url():
    """A fresh PostgreSQL database for this test, dropped afterwards."""
    assert DATABASE_URL
    name = f"ehalsodag_test_{secrets.token_hex(4)}"

    async def run(sql: str) -> None:
        connection = await asyncpg.connect(_plain_dsn(DATABASE_URL))
        try:
            await connection.execute(sql)
        finally:
            await connection.close()

    asyncio.run(run(f'CREATE DATABASE "{name}"'))
    try:
        yield urlunsplit(urlsplit(DATABASE_URL)._replace(path=f"/{name}"))
    finally:
        asyncio.run(run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def test_redis_is_reachable():
    assert REDIS_URL
    client = Redis.from_url(REDIS_URL)
    try:
        assert await client.ping()
    finally:
        await client.aclose()


def test_an_action_on_worker_a_reaches_an_attendee_on_worker_b(postgres_url, tmp_path):
    settings = replace(make_settings(tmp_path, database_url=postgres_url, redis_url=REDIS_URL),
                       channel_prefix=f"test-{secrets.token_hex(4)}")
    upgrade(settings)
    slug = asyncio.run(load_fixture(settings))
    staff = asyncio.run(make_staff(settings, "mod@example.se", "moderator", slug))
    server_a = start_server(settings, tmp_path / "a.log")
    server_b = start_server(settings, tmp_path / "b.log")
    try:
        token = httpx.post(f"{server_b.base_url}/api/v1/events/{slug}/join", json={}).json()["attendee_token"]
        event = httpx.get(f"{server_a.base_url}/api/v1/events/{slug}").json()
        closing = next(b for b in event["blocks"] if b["key"] == "c")

        async def scenario() -> str:
            async with websockets.connect(f"{server_b.ws_url}/e/{slug}/ws?token={token}") as ws:
                assert 'id="programme"' in await asyncio.wait_for(ws.recv(), 3)
                async with httpx.AsyncClient() as client:
                    response = await client.post(
                        f"{server_a.base_url}/api/v1/events/{slug}/live", json={"block_id": closing["id"]},
                        headers={"Authorization": f"Bearer {staff}"},
                    )
                    assert response.status_code == 200, response.text
                while True:
                    frame = await asyncio.wait_for(ws.recv(), 3)
                    if "Slut Östergötland" in frame.split('id="now-next"', 1)[-1].split("</section>", 1)[0]:
                        return frame

        frame = asyncio.run(scenario())
        assert 'aria-current="true"' in frame
        # Both workers read the same committed state from PostgreSQL.
        assert httpx.get(f"{server_b.base_url}/api/v1/events/{slug}").json()["live_block_id"] == closing["id"]
    finally:
        stop_server(server_a)
        stop_server(server_b)


def test_rate_limits_hold_across_workers_with_redis(postgres_url, tmp_path):
    settings = replace(make_settings(tmp_path, database_url=postgres_url, redis_url=REDIS_URL),
                       channel_prefix=f"test-{secrets.token_hex(4)}")
    upgrade(settings)
    slug = asyncio.run(load_fixture(settings))
    server_a = start_server(settings, tmp_path / "a.log")
    server_b = start_server(settings, tmp_path / "b.log")
    try:
        token = httpx.post(f"{server_a.base_url}/api/v1/events/{slug}/join", json={}).json()["attendee_token"]
        auth = {"Authorization": f"Bearer {token}"}
        statuses = []
        for i in range(6):  # the chat allows 5 per 10 s per attendee, whichever worker takes the message
            server = server_a if i % 2 == 0 else server_b
            statuses.append(httpx.post(f"{server.base_url}/api/v1/events/{slug}/chat", json={"text": f"hej {i}"},
                                       headers=auth).status_code)
    finally:
        stop_server(server_a)
        stop_server(server_b)
    assert statuses == [201, 201, 201, 201, 201, 429]
