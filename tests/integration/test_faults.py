"""Fault injection on the served app (issue 15, items 17 and 19): Redis killed and restarted under two workers,
PostgreSQL cut off behind a proxy. Live updates come back by themselves, outages answer 503 (sockets 1013), and
every acknowledged vote is counted after each fault.

Each test starts its own Redis (``redis-server`` on a port of its own) or its own TCP proxy, so the shared services
are never disturbed. Mandatory wherever EHALSODAG_TEST_DATABASE_URL and EHALSODAG_TEST_REDIS_URL are set (.ci/run).
"""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import time
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import websockets
from sqlalchemy import func, select

from ehalsodag.db.engine import Database
from ehalsodag.db.migrate import upgrade
from ehalsodag.polls.models import PollResponse
from tests.conftest import load_fixture, make_settings, make_staff, start_server, stop_server
from tests.support.faults import TcpProxy, ThrowawayRedis, redis_server_missing
from tests.support.postgres import fresh_database

DATABASE_URL = os.environ.get("EHALSODAG_TEST_DATABASE_URL")

pytestmark = [
    pytest.mark.scaleout,
    pytest.mark.skipif(not DATABASE_URL, reason="set EHALSODAG_TEST_DATABASE_URL (postgresql+asyncpg://...) and "
                       "EHALSODAG_TEST_REDIS_URL to run the fault tests"),
]


@pytest.fixture
def postgres_url():
    assert DATABASE_URL
    with fresh_database(DATABASE_URL, "ehalsodag_fault") as url:
        yield url


@dataclass
class Follower:
    """A page's socket that, like the browser's htmx ws extension, reconnects after 1006/1011/1012/1013."""

    url: str
    frames: list[tuple[float, str]] = field(default_factory=list)
    #: (time, code) of every close the server sent; "http <status>" for a refused handshake.
    closes: list[tuple[float, Any]] = field(default_factory=list)
    #: When each connection got its snapshot (its first frame).
    snapshots: list[float] = field(default_factory=list)
    stop: bool = False

    async def run(self) -> None:
        while not self.stop:
            try:
                async with websockets.connect(self.url, open_timeout=3, close_timeout=1) as ws:
                    first = True
                    async for frame in ws:
                        now = time.monotonic()
                        if first:
                            self.snapshots.append(now)
                            first = False
                        self.frames.append((now, str(frame)))
                        if self.stop:
                            return
            except websockets.ConnectionClosed as closed:
                self.closes.append((time.monotonic(), closed.rcvd.code if closed.rcvd else None))
            except websockets.InvalidStatus as refused:
                self.closes.append((time.monotonic(), f"http {refused.response.status_code}"))
            except (OSError, TimeoutError):
                self.closes.append((time.monotonic(), "unreachable"))
            else:
                self.closes.append((time.monotonic(), "ended"))
            await asyncio.sleep(0.2 + 0.3 * secrets.randbelow(100) / 100)

    def seen(self, text: str, since: float = 0.0) -> bool:
        return any(text in frame for at, frame in self.frames if at >= since)

    def connected_since(self, moment: float) -> bool:
        return any(at >= moment for at in self.snapshots)


async def until(condition: Any, seconds: float, what: str) -> float:
    """Wait until ``condition()`` holds; return how long it took."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > seconds:
            raise AssertionError(f"not within {seconds} s: {what}")
        await asyncio.sleep(0.05)
    return time.monotonic() - started


def count_votes(settings: Any, poll_id: int) -> int:
    async def count() -> int:
        db = Database(settings)
        try:
            async with db.reader() as session:
                return (await session.execute(
                    select(func.count()).where(PollResponse.poll_id == poll_id))).scalar_one()
        finally:
            await db.dispose()

    return asyncio.run(count())


def test_redis_killed_and_restarted_under_two_workers(postgres_url, tmp_path):
    """Kill Redis with sockets on two workers: every socket is closed with 1012 (not left frozen), handshakes
    meanwhile get 1013, votes and joins go on (rate limits per worker); after the restart every page has
    reconnected and gets pushes again within 10 s, and SIGTERM during an outage is quick."""
    missing = redis_server_missing()
    if missing:
        pytest.skip(missing)
    redis = ThrowawayRedis(tmp_path).start()
    settings = replace(make_settings(tmp_path, database_url=postgres_url, redis_url=redis.url),
                       channel_prefix=f"fault-{secrets.token_hex(4)}")
    upgrade(settings)
    slug = asyncio.run(load_fixture(settings))
    staff = {"Authorization": f"Bearer {asyncio.run(make_staff(settings, 'mod@example.se', 'organiser', slug))}"}
    servers = [start_server(settings, tmp_path / "a.log"), start_server(settings, tmp_path / "b.log")]
    try:
        poll = httpx.post(f"{servers[0].base_url}/api/v1/events/{slug}/polls", headers=staff, json={
            "kind": "scale", "question": "Hur går det?", "scale_min": 1, "scale_max": 5}).json()
        assert httpx.post(f"{servers[1].base_url}/api/v1/polls/{poll['id']}/open", headers=staff).status_code == 200
        tokens = [httpx.post(f"{servers[i % 2].base_url}/api/v1/events/{slug}/join", json={}).json()["attendee_token"]
                  for i in range(12)]
        acknowledged: set[str] = set()

        async def vote(http: httpx.AsyncClient, i: int, token: str) -> int:
            response = await http.post(f"{servers[i % 2].base_url}/api/v1/polls/{poll['id']}/responses",
                                       json={"value": 1 + i % 5}, headers={"Authorization": f"Bearer {token}"})
            if response.status_code in (200, 201):
                acknowledged.add(token)
            return response.status_code

        async def scenario() -> dict[str, Any]:
            followers = [Follower(f"{servers[i % 2].ws_url}/e/{slug}/ws?token={token}")
                         for i, token in enumerate(tokens)]
            tasks = [asyncio.create_task(f.run()) for f in followers]
            report: dict[str, Any] = {}
            async with httpx.AsyncClient(timeout=15) as http:
                await until(lambda: all(f.snapshots for f in followers), 15, "every page connected")

                async def announce(worker: int, text: str) -> int:
                    response = await http.post(f"{servers[worker].base_url}/api/v1/events/{slug}/announcement",
                                               json={"text": text}, headers=staff)
                    return response.status_code

                assert await announce(0, "Före avbrottet") == 200
                await until(lambda: all(f.seen("Före avbrottet") for f in followers), 5, "pushes before the fault")

                killed = time.monotonic()
                redis.kill()
                report["closed_in"] = await until(
                    lambda: all(any(at >= killed and code == 1012 for at, code in f.closes) for f in followers),
                    5, "every socket closed with 1012 when Redis went away")
                report["outage_votes"] = [await vote(http, i, t) for i, t in enumerate(tokens[:6])]
                joined = await http.post(f"{servers[1].base_url}/api/v1/events/{slug}/join", json={})
                report["outage_join"] = joined.status_code
                report["outage_announcement"] = await announce(1, "Under avbrottet")
                await asyncio.sleep(1.5)  # the followers knock meanwhile
                report["outage_closes"] = {code for f in followers for at, code in f.closes if at > killed}
                ready = [await http.get(f"{server.base_url}/readyz") for server in servers]
                report["outage_ready"] = [(r.status_code, r.json()["checks"]["hub"]) for r in ready]

                redis.start()
                back = time.monotonic()
                await until(lambda: all(f.connected_since(back) for f in followers), 10,
                            "every page reconnected after Redis came back")
                assert await announce(1, "Efter avbrottet") == 200
                await until(lambda: all(f.seen("Efter avbrottet", back) for f in followers), 10 - (
                    time.monotonic() - back), "pushes reach every socket again within 10 s")
                report["resumed_in"] = time.monotonic() - back
                await asyncio.sleep(2.1)  # readiness keeps its result for 2 s
                report["after_ready"] = [(await http.get(f"{server.base_url}/readyz")).status_code
                                         for server in servers]
                report["after_votes"] = [await vote(http, i, t) for i, t in enumerate(tokens)]
            for follower in followers:
                follower.stop = True
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            return report

        report = asyncio.run(scenario())
        assert report["outage_votes"] == [201] * 6, report  # rate limits fall back to this worker's memory
        assert report["outage_join"] == 201 and report["outage_announcement"] == 200, report
        # the followers' attempts during the outage were told "try again later", never "forbidden" (403)
        assert 1013 in report["outage_closes"] and not any(
            str(code).startswith("http") for code in report["outage_closes"]), report
        assert all(status in (200, 201) for status in report["after_votes"]), report
        # a proxy polling /readyz sends no new sockets to a worker whose hub is away, and sends them again after
        assert all(status == 503 and hub != "ok" for status, hub in report["outage_ready"]), report
        assert report["after_ready"] == [200, 200], report
        assert count_votes(settings, poll["id"]) == len(acknowledged) == len(tokens)

        redis.kill()  # SIGTERM during an outage: no socket or subscription may hold the worker up
        time.sleep(0.5)
        started = time.monotonic()
        servers[1].process.send_signal(signal.SIGTERM)
        servers[1].process.wait(timeout=15)
        assert time.monotonic() - started < 5
    finally:
        redis.kill()
        for server in servers:
            if server.process.poll() is None:
                stop_server(server)


def test_postgresql_unreachable_answers_503_and_loses_nothing(postgres_url, tmp_path):
    """PostgreSQL behind a proxy the test cuts: pages and API answer 503 with Retry-After, a websocket handshake
    closes with 1013 (not 403); after the proxy is back, every acknowledged vote is counted."""
    parts = urlsplit(postgres_url)
    proxy = TcpProxy(parts.hostname or "127.0.0.1", parts.port or 5432).start()
    proxied = parts._replace(netloc=f"{parts.username}@127.0.0.1:{proxy.port}").geturl()
    settings = make_settings(tmp_path, database_url=proxied)
    settings = replace(settings, vote_limit=1000)
    upgrade(settings)
    slug = asyncio.run(load_fixture(settings))
    staff = {"Authorization": f"Bearer {asyncio.run(make_staff(settings, 'mod@example.se', 'organiser', slug))}"}
    server = start_server(settings, tmp_path / "server.log")
    base = server.base_url
    try:
        poll = httpx.post(f"{base}/api/v1/events/{slug}/polls", headers=staff, json={
            "kind": "scale", "question": "Hur går det?", "scale_min": 1, "scale_max": 5}).json()
        assert httpx.post(f"{base}/api/v1/polls/{poll['id']}/open", headers=staff).status_code == 200
        tokens = [httpx.post(f"{base}/api/v1/events/{slug}/join", json={}).json()["attendee_token"]
                  for _ in range(10)]
        acknowledged: set[str] = set()
        statuses: list[int] = []

        def vote(token: str, value: int) -> httpx.Response:
            response = httpx.post(f"{base}/api/v1/polls/{poll['id']}/responses", json={"value": value},
                                  headers={"Authorization": f"Bearer {token}"}, timeout=40)
            statuses.append(response.status_code)
            if response.status_code in (200, 201):
                acknowledged.add(token)
            return response

        for token in tokens[:5]:
            vote(token, 2)

        async def handshake() -> Any:
            try:
                async with websockets.connect(f"{server.ws_url}/e/{slug}/ws?token={tokens[0]}", open_timeout=20) as ws:
                    await asyncio.wait_for(ws.recv(), 20)
                    return "open"
            except websockets.ConnectionClosed as closed:
                return closed.rcvd.code if closed.rcvd else None
            except websockets.InvalidStatus as refused:
                return f"http {refused.response.status_code}"

        proxy.cut()
        during = {
            "vote": vote(tokens[5], 3),
            "api": httpx.get(f"{base}/api/v1/events/{slug}/polls", timeout=40),
            "page": httpx.get(f"{base}/e/{slug}", headers={"Authorization": f"Bearer {tokens[1]}"}, timeout=40),
            "join": httpx.post(f"{base}/api/v1/events/{slug}/join", json={}, timeout=40),
        }
        ws_code = asyncio.run(handshake())
        proxy.restore()
        for name, response in during.items():
            assert response.status_code == 503, (name, response.status_code, response.text[:300])
            assert response.headers.get("retry-after", "").isdigit(), name
        assert "försök igen om en liten stund" in during["page"].text.lower()
        assert ws_code == 1013, ws_code

        after = [vote(token, 4) for token in tokens]
        assert [r.status_code for r in after] == [200] * 5 + [201] * 5, [r.text[:200] for r in after]
        assert 500 not in statuses
        assert count_votes(settings, poll["id"]) == len(acknowledged) == 10
    finally:
        stop_server(server)
        proxy.close()
