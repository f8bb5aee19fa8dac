"""Nothing acknowledged is lost: SIGKILL during a vote burst, restart, count. SIGTERM closes sockets with
1001 and ends within 25 s. SQLite runs with synchronous=FULL."""

import asyncio
import os
import signal
import time
from dataclasses import replace

import httpx
import websockets
from sqlalchemy import func, select, text

from ehalsodag.db.engine import Database
from ehalsodag.polls.models import PollResponse
from tests.conftest import load_fixture, make_staff, run_sync, start_server, stop_server

SLUG = "ostergotland-2021-03-23"


def test_sigkill_in_a_vote_burst_loses_no_acknowledged_vote(settings, tmp_path):
    settings = replace(settings, vote_limit=1000)
    run_sync(load_fixture(settings, f"{SLUG}.toml"))
    staff = {"Authorization": f"Bearer {run_sync(make_staff(settings, 'mod@example.se', 'moderator', SLUG))}"}
    server = start_server(settings, tmp_path / "first.log")
    port = int(server.base_url.rsplit(":", 1)[1])
    tokens = [httpx.post(f"{server.base_url}/api/v1/events/{SLUG}/join", json={}).json()["attendee_token"]
              for _ in range(300)]
    poll = next(p for p in httpx.get(f"{server.base_url}/api/v1/events/{SLUG}/polls").json() if p["kind"] == "scale")
    httpx.post(f"{server.base_url}/api/v1/polls/{poll['id']}/open", headers=staff)
    acknowledged: set[str] = set()
    attempted: set[str] = set()

    async def burst() -> None:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=5) as http:
            async def vote(token: str) -> None:
                attempted.add(token)
                try:
                    response = await http.post(f"/api/v1/polls/{poll['id']}/responses", json={"value": 3},
                                               headers={"Authorization": f"Bearer {token}"})
                except httpx.HTTPError:
                    return
                if response.status_code in (200, 201):
                    acknowledged.add(token)

            async def killer() -> None:
                while len(acknowledged) < 60:
                    await asyncio.sleep(0.005)
                os.kill(server.process.pid, signal.SIGKILL)

            await asyncio.gather(killer(), *(vote(t) for t in tokens), return_exceptions=True)

    asyncio.run(burst())
    server.process.wait(timeout=10)
    assert server.process.returncode == -signal.SIGKILL
    assert 60 <= len(acknowledged) < len(tokens), "the kill must land in the middle of the burst"

    restarted = start_server(settings, tmp_path / "second.log", port=port)
    try:
        async def count() -> int:
            db = Database(settings)
            async with db.reader() as session:
                value = (await session.execute(
                    select(func.count()).where(PollResponse.poll_id == poll["id"]))).scalar_one()
            await db.dispose()
            return value

        stored = run_sync(count())
        # Every acknowledged vote is there; a vote committed just before the kill may not have been answered.
        assert len(acknowledged) <= stored <= len(attempted)
        results = httpx.get(f"{restarted.base_url}/e/{SLUG}/screen").text
        assert f"{stored} svar" in results
    finally:
        stop_server(restarted)


def test_sigterm_closes_websockets_with_1001_and_exits_within_25_seconds(settings, tmp_path):
    run_sync(load_fixture(settings, f"{SLUG}.toml"))
    server = start_server(settings, tmp_path / "server.log")
    token = httpx.post(f"{server.base_url}/api/v1/events/{SLUG}/join", json={}).json()["attendee_token"]

    async def scenario() -> int | None:
        async with websockets.connect(f"{server.ws_url}/e/{SLUG}/ws?token={token}") as ws:
            await ws.recv()
            server.process.send_signal(signal.SIGTERM)
            try:
                while True:
                    await asyncio.wait_for(ws.recv(), 25)
            except websockets.ConnectionClosed as closed:
                return closed.rcvd.code if closed.rcvd else None

    started = time.monotonic()
    code = asyncio.run(scenario())
    server.process.wait(timeout=25)
    assert code == 1001
    # uvicorn exits with the signal it was sent, after its graceful shutdown.
    assert time.monotonic() - started < 25 and server.process.returncode in (0, -signal.SIGTERM)


def test_sqlite_runs_with_synchronous_full_wal_and_foreign_keys(settings):
    async def pragmas() -> tuple:
        db = Database(settings)
        async with db.reader() as session:
            values = []
            for name in ("synchronous", "journal_mode", "foreign_keys", "busy_timeout"):
                values.append((await session.execute(text(f"PRAGMA {name}"))).scalar_one())
        await db.dispose()
        return tuple(values)

    assert run_sync(pragmas()) == (2, "wal", 1, 30000)  # 2 = FULL
