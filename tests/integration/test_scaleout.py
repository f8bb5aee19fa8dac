"""Two server processes on PostgreSQL + Redis: an action on worker A reaches a socket on worker B.

Skipped (with the reason) unless EHALSODAG_TEST_DATABASE_URL and EHALSODAG_TEST_REDIS_URL are set;
.ci/run sets both, so in CI they are mandatory and an unreachable service fails the run.
"""

from __future__ import annotations

import asyncio
import os
import re
import secrets
from dataclasses import replace
from typing import Any

import httpx
import pytest
import websockets
from redis.asyncio import Redis

from ehalsodag.db.migrate import upgrade
from ehalsodag.settings import Settings
from tests.conftest import load_fixture, make_settings, make_staff, start_server, stop_server
from tests.support.postgres import fresh_database

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




@pytest.fixture
def postgres_url():
    """A fresh PostgreSQL database for this test, dropped afterwards."""
    assert DATABASE_URL
    with fresh_database(DATABASE_URL, "ehalsodag_test") as url:
        yield url


def migrated_with_fixture(postgres_url: str, tmp_path, **overrides: Any) -> tuple[Settings, str]:
    """Settings on the fresh PostgreSQL database and Redis (a channel prefix of their own), migrated, with
    the regional fixture event loaded; returns them and the event's slug."""
    settings = replace(make_settings(tmp_path, database_url=postgres_url, redis_url=REDIS_URL),
                       channel_prefix=f"test-{secrets.token_hex(4)}", **overrides)
    upgrade(settings)
    return settings, asyncio.run(load_fixture(settings))


async def test_redis_is_reachable():
    assert REDIS_URL
    client = Redis.from_url(REDIS_URL)
    try:
        assert await client.ping()
    finally:
        await client.aclose()


def test_an_action_on_worker_a_reaches_an_attendee_on_worker_b(postgres_url, tmp_path):
    settings, slug = migrated_with_fixture(postgres_url, tmp_path)
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
    settings, slug = migrated_with_fixture(postgres_url, tmp_path)
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


def test_votes_taken_by_both_workers_are_all_counted_and_reach_sockets_on_both(postgres_url, tmp_path):
    settings, slug = migrated_with_fixture(postgres_url, tmp_path, vote_limit=1000, join_limit=1000)
    staff = {"Authorization": f"Bearer {asyncio.run(make_staff(settings, 'mod@example.se', 'organiser', slug))}"}
    servers = [start_server(settings, tmp_path / "a.log"), start_server(settings, tmp_path / "b.log")]
    attendees = 24
    try:
        poll = httpx.post(f"{servers[0].base_url}/api/v1/events/{slug}/polls", headers=staff, json={
            "kind": "scale", "question": "Hur långt har vi kommit?", "scale_min": 1, "scale_max": 5}).json()
        assert httpx.post(f"{servers[1].base_url}/api/v1/polls/{poll['id']}/open", headers=staff).status_code == 200
        tokens = [httpx.post(f"{servers[i % 2].base_url}/api/v1/events/{slug}/join", json={}).json()["attendee_token"]
                  for i in range(attendees)]
        pattern = re.compile(rf'id="poll-{poll["id"]}-results".*?class="poll-count">(\d+)', re.S)

        async def scenario() -> tuple[list[int], list[int]]:
            sockets = [await websockets.connect(f"{servers[i % 2].ws_url}/e/{slug}/ws?token={token}")
                       for i, token in enumerate(tokens)]
            async with httpx.AsyncClient() as client:
                responses = await asyncio.gather(*(
                    client.post(f"{servers[(i + 1) % 2].base_url}/api/v1/polls/{poll['id']}/responses",
                                json={"value": 1 + i % 5}, headers={"Authorization": f"Bearer {token}"})
                    for i, token in enumerate(tokens)))

            async def highest_count(ws: websockets.ClientConnection) -> int:
                seen = 0
                try:
                    while seen < attendees:
                        frame = await asyncio.wait_for(ws.recv(), 5)
                        seen = max([seen, *(int(n) for n in pattern.findall(frame))])
                except TimeoutError:
                    pass
                return seen

            counts = await asyncio.gather(*(highest_count(ws) for ws in sockets))
            for ws in sockets:
                await ws.close()
            return [r.status_code for r in responses], list(counts)

        statuses, counts = asyncio.run(scenario())
        assert statuses == [201] * attendees
        # Each worker pushed the results it saw; every socket, on either worker, ends up with all votes.
        assert counts == [attendees] * attendees
        results = httpx.get(f"{servers[0].base_url}/api/v1/events/{slug}/results", headers=staff).json()
        assert next(p for p in results["polls"] if p["id"] == poll["id"])["responses"] == attendees
    finally:
        for server in servers:
            stop_server(server)


def test_serve_with_two_worker_processes_serves_and_stops_cleanly(postgres_url, tmp_path):
    settings, slug = migrated_with_fixture(postgres_url, tmp_path)
    server = start_server(settings, tmp_path / "w.log", workers=2)
    try:
        joined = [httpx.post(f"{server.base_url}/api/v1/events/{slug}/join", json={}) for _ in range(10)]
        assert [r.status_code for r in joined] == [201] * 10

        token = joined[0].json()["attendee_token"]

        async def connect() -> str:
            async with websockets.connect(f"{server.ws_url}/e/{slug}/ws?token={token}") as ws:
                return await asyncio.wait_for(ws.recv(), 5)

        assert 'id="programme"' in asyncio.run(connect())
    finally:
        stop_server(server)
    log = (tmp_path / "w.log").read_text()
    assert log.count("Started server process") == 2 and "Stopping parent process" in log


async def test_one_worker_at_a_time_pushes_a_polls_results():
    from ehalsodag.live.broadcast import ResultsClaims

    assert REDIS_URL
    prefix = f"test-{secrets.token_hex(4)}"
    client_a, client_b = Redis.from_url(REDIS_URL), Redis.from_url(REDIS_URL)
    worker_a, worker_b = ResultsClaims(client_a, prefix), ResultsClaims(client_b, prefix)
    try:
        assert await worker_a.claim(7, "public", 0.3)
        assert not await worker_b.claim(7, "public", 0.3)  # A is pushing this interval
        assert await worker_b.claim(7, "staff", 0.3)  # another audience, another claim
        assert await worker_b.claim(8, "public", 0.3)  # another poll, another claim
        await asyncio.sleep(0.4)
        assert await worker_b.claim(7, "public", 0.3)  # the next interval is B's
    finally:
        await client_a.aclose()
        await client_b.aclose()


def test_concurrent_upvotes_of_one_question_are_all_counted_on_postgresql(postgres_url, tmp_path):
    """Each upvote's transaction counts the upvotes it sees: without the question's row lock, two at once would each
    write their own count and one would be lost (READ COMMITTED sees neither's uncommitted row)."""
    settings, slug = migrated_with_fixture(postgres_url, tmp_path)
    server = start_server(settings, tmp_path / "server.log")
    try:
        async def scenario() -> tuple[list[int], int]:
            async with httpx.AsyncClient(base_url=server.base_url, timeout=20) as http:
                tokens = [(await http.post(f"/api/v1/events/{slug}/join", json={})).json()["attendee_token"]
                          for _ in range(40)]
                asked = await http.post(f"/api/v1/events/{slug}/questions", json={"text": "Hur mycket?"},
                                        headers={"Authorization": f"Bearer {tokens[0]}"})
                question = asked.json()["id"]
                answers = await asyncio.gather(*(http.post(f"/api/v1/questions/{question}/upvote",
                                                           headers={"Authorization": f"Bearer {token}"})
                                                 for token in tokens))
                assert all(a.status_code == 200 for a in answers), [a.text for a in answers if a.status_code != 200]
                again = await http.post(f"/api/v1/questions/{question}/upvote",
                                        headers={"Authorization": f"Bearer {tokens[1]}"})
                return sorted(a.json()["upvotes"] for a in answers), again.json()["upvotes"]

        counts, final = asyncio.run(scenario())
        assert counts == list(range(1, 41)), "every upvote saw the ones committed before it"
        assert final == 40
    finally:
        stop_server(server)
