"""A reconnect storm: 400 attendees who each voted on an open poll connect their websockets at the same instant
(a restart, a network blip). Every one gets their snapshot within 10 s, and it is their own (their answer
chosen), on SQLite and on PostgreSQL. (Before, 200 such attendees jammed the database pool: after 30 s,
195 were refused with 403.)

The PostgreSQL run needs EHALSODAG_TEST_DATABASE_URL (postgresql+asyncpg://...); .ci/run sets it, so in CI it
is mandatory and an unreachable database fails the run. Loopback only; every wait is bounded.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from ehalsodag.db.migrate import upgrade
from tests.conftest import ServedApp, load_fixture, make_settings, make_staff, start_server, stop_server
from tests.support.livedom import LiveDocument
from tests.support.postgres import fresh_database

DATABASE_URL = os.environ.get("EHALSODAG_TEST_DATABASE_URL")
VOTERS = 400
#: Every voter's snapshot must arrive within this many seconds of the storm's start.
#: The target is 10 s on a machine of its own; in the parallel suite (pytest-xdist) the other worker's tests hold one of
#: the two cores, so the deadline is doubled there (the benchmark, not this test, measures the time).
SNAPSHOT_SECONDS = 20.0 if os.environ.get("PYTEST_XDIST_WORKER") else 10.0
OPTIONS = ["Ensam", "Med kollegor", "På en storbildsskärm", "I mötesrum", "I bilen", "Annat"]
SLUG = "regional"


@dataclass
class Storm:
    """What the storm's sockets got."""

    seconds: list[float] = field(default_factory=list)
    refused: dict[str, int] = field(default_factory=dict)
    not_their_own: list[str] = field(default_factory=list)

    def refuse(self, reason: str) -> None:
        self.refused[reason] = self.refused.get(reason, 0) + 1


def _chosen(snapshot: str, poll_id: int) -> list[str]:
    """The options checked in the poll's answer form of a snapshot (as the page shows it: the shared snapshot with
    the attendee's own fragments applied)."""
    root = LiveDocument(snapshot).root
    return [el.get("value") for el in root.xpath(f'//*[@id="poll-{poll_id}"]//input[@name="option_ids"]')
            if el.get("checked") is not None]


async def _storm(server: ServedApp, staff: str) -> tuple[Storm, float]:
    """Join and vote, then connect every voter's socket at once; returns what they got and the storm's length."""
    limits = httpx.Limits(max_connections=20)
    async with httpx.AsyncClient(base_url=server.base_url, timeout=30, limits=limits) as http:
        joined = await asyncio.gather(*(http.post(f"/api/v1/events/{SLUG}/join", json={}) for _ in range(VOTERS)))
        assert all(r.status_code == 201 for r in joined), {r.status_code for r in joined}
        tokens = [r.json()["attendee_token"] for r in joined]
        headers = {"Authorization": f"Bearer {staff}"}
        poll_id = (await http.post(f"/api/v1/events/{SLUG}/polls", headers=headers, json={
            "kind": "single", "question": "Hur följer ni dagen?", "options": OPTIONS})).json()["id"]
        assert (await http.post(f"/api/v1/polls/{poll_id}/open", headers=headers)).status_code == 200
        poll = next(p for p in (await http.get(f"/api/v1/events/{SLUG}/polls")).json() if p["id"] == poll_id)
        option_ids = [o["id"] for o in poll["options"]]
        mine = {token: str(option_ids[i % len(option_ids)]) for i, token in enumerate(tokens)}
        votes = await asyncio.gather(*(
            http.post(f"/api/v1/polls/{poll_id}/responses", json={"option_ids": [int(mine[token])]},
                      headers={"Authorization": f"Bearer {token}"}) for token in tokens))
        assert all(r.status_code in (200, 201) for r in votes), {r.status_code for r in votes}
    await asyncio.sleep(0.5)  # the results pushes of the votes go by

    storm = Storm()
    sockets: list[Any] = []
    go = asyncio.Event()

    async def reconnect(token: str) -> None:
        await go.wait()
        started = time.monotonic()
        try:
            async with asyncio.timeout(SNAPSHOT_SECONDS):
                socket = await websockets.connect(f"{server.ws_url}/e/{SLUG}/ws?token={token}", max_size=None,
                                                  compression=None, ping_interval=None, open_timeout=None)
                sockets.append(socket)
                snapshot = await socket.recv()
        except websockets.InvalidStatus as exc:
            storm.refuse(f"handshake {exc.response.status_code}")
            return
        except websockets.ConnectionClosed as exc:
            storm.refuse(f"closed {exc.rcvd.code if exc.rcvd else '?'}")
            return
        except TimeoutError:
            storm.refuse(f"no snapshot within {SNAPSHOT_SECONDS:.0f} s")
            return
        except OSError as exc:
            storm.refuse(type(exc).__name__)
            return
        storm.seconds.append(time.monotonic() - started)
        chosen = _chosen(str(snapshot), poll_id)
        if chosen != [mine[token]]:
            storm.not_their_own.append(f"voted {mine[token]}, shown {chosen}")

    tasks = [asyncio.create_task(reconnect(token)) for token in tokens]
    await asyncio.sleep(0.2)
    began = time.monotonic()
    go.set()
    await asyncio.gather(*tasks)
    length = time.monotonic() - began
    await asyncio.gather(*(s.close() for s in sockets), return_exceptions=True)
    return storm, length


def _check(server: ServedApp, staff: str, where: str) -> None:
    storm, length = asyncio.run(_storm(server, staff))
    slowest = max(storm.seconds, default=0.0)
    assert not storm.refused and len(storm.seconds) == VOTERS, (
        f"{where}: {len(storm.seconds)} of {VOTERS} voters got their snapshot within {SNAPSHOT_SECONDS:.0f} s "
        f"(refused or late: {storm.refused}; storm {length:.1f} s)")
    assert not storm.not_their_own, (
        f"{where}: {len(storm.not_their_own)} snapshots did not show the voter's own answer: "
        f"{storm.not_their_own[:5]}")
    assert slowest < SNAPSHOT_SECONDS, f"{where}: the last snapshot took {slowest:.1f} s"
    assert httpx.get(server.base_url + "/", timeout=10).status_code == 200  # and the server is still fine


def test_a_reconnect_storm_of_400_voters_on_sqlite(settings, tmp_path):
    slug = asyncio.run(load_fixture(settings))
    assert slug == SLUG
    staff = asyncio.run(make_staff(settings, "mod@example.se", "moderator", SLUG))
    server = start_server(settings, tmp_path / "server.log")
    try:
        _check(server, staff, "SQLite")
    finally:
        stop_server(server)




@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test, dropped afterwards."""
    if not DATABASE_URL:
        pytest.skip("set EHALSODAG_TEST_DATABASE_URL (postgresql+asyncpg://...) to run the storm on PostgreSQL")

    with fresh_database(DATABASE_URL, "ehalsodag_storm") as url:
        yield url


@pytest.mark.scaleout
def test_a_reconnect_storm_of_400_voters_on_postgresql(postgres_url: str, tmp_path: Path):
    settings = make_settings(tmp_path, database_url=postgres_url)
    upgrade(settings)
    assert asyncio.run(load_fixture(settings)) == SLUG
    staff = asyncio.run(make_staff(settings, "mod@example.se", "moderator", SLUG))
    server = start_server(settings, tmp_path / "server.log")
    try:
        _check(server, staff, "PostgreSQL")
    finally:
        stop_server(server)
