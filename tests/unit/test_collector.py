"""The garbage collector's pacing: while an app runs, Python never starts a full collection by itself (with
thousands of sockets one stopped the loop for over half a second, every few seconds of a vote burst); the
collector runs them on its clock; Python's own settings come back when the last app of the process stops."""

from __future__ import annotations

import asyncio
import gc

import pytest
from litestar.testing import AsyncTestClient

from ehalsodag.app import create_app
from ehalsodag.operations.collector import NEVER, Collector


def _full_collections() -> int:
    return gc.get_stats()[2]["collections"]


async def test_full_collections_run_on_the_collectors_clock_and_not_by_themselves():
    before = gc.get_threshold()
    collector = Collector(every=0.05)
    collector.start()
    try:
        assert gc.get_threshold()[:2] == before[:2] and gc.get_threshold()[2] == NEVER
        assert gc.get_freeze_count() > 0  # what existed at start is out of every collection
        started = _full_collections()
        for _ in range(200_000):  # plenty of young garbage in cycles: only the young generations collect it
            cycle: list[object] = []
            cycle.append(cycle)
        assert _full_collections() == started
        await asyncio.sleep(0.3)
        assert collector.full_collections >= 2 and _full_collections() >= started + 2
    finally:
        await collector.stop()
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0


async def test_the_settings_come_back_only_when_the_last_app_stops(settings):
    before = gc.get_threshold()
    first, second = create_app(settings), create_app(settings)
    async with AsyncTestClient(app=first):
        async with AsyncTestClient(app=second):
            assert gc.get_threshold()[2] == NEVER
        assert gc.get_threshold()[2] == NEVER  # the first app still runs
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0


async def test_a_start_that_fails_gives_pythons_settings_back(settings, monkeypatch):
    import ehalsodag.app

    async def broken(_db):
        raise RuntimeError("the database went away during the start")

    monkeypatch.setattr(ehalsodag.app, "rebuild_tallies", broken)
    before = gc.get_threshold()
    app = create_app(settings)
    with pytest.raises((RuntimeError, ExceptionGroup)):
        async with AsyncTestClient(app=app):
            pass
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0
