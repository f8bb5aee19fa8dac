"""Timers that the clock, not a moderator, runs out are pushed (issue 15, item 20): the evaluation's closing time,
and a block's polls opening and closing with the block when nobody drives the day. On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import datetime as dt
import os

import pytest
from litestar.channels import ChannelsPlugin
from litestar.channels.backends.memory import MemoryChannelsBackend

from ehalsodag.agenda.service import event_by_id, event_by_slug
from ehalsodag.app import day_clock, fragment_sources
from ehalsodag.db.engine import Database
from ehalsodag.db.migrate import upgrade
from ehalsodag.live.broadcast import Broadcaster, Renderer
from ehalsodag.live.hub import Connection, Hub
from ehalsodag.live.ticker import ClockTicker
from tests.conftest import load_fixture, make_settings
from tests.support.postgres import fresh_database

DATABASE_URL = os.environ.get("EHALSODAG_TEST_DATABASE_URL")


@pytest.fixture(params=["sqlite", "postgresql"])
def any_settings(request, tmp_path):
    if request.param == "sqlite":
        settings = make_settings(tmp_path)
        upgrade(settings)
        yield settings
        return
    if not DATABASE_URL:
        pytest.skip("set EHALSODAG_TEST_DATABASE_URL to run on PostgreSQL too")
    with fresh_database(DATABASE_URL, "ehalsodag_clock") as url:
        settings = make_settings(tmp_path, database_url=url)
        upgrade(settings)
        yield settings


class Page:
    """One attendee socket on an in-process hub, its frames collected."""

    def __init__(self) -> None:
        self.frames: list[str] = []
        self.connection = Connection(self.send, self.close, "sv", "attendee", 64)

    async def send(self, frame: str) -> None:
        self.frames.append(frame)

    async def close(self, code: int, reason: str) -> None:
        pass


async def live_setup(settings):
    plugin = ChannelsPlugin(backend=MemoryChannelsBackend(), arbitrary_channels_allowed=True)
    await plugin._on_startup()
    db = Database(settings)
    hub = Hub(plugin)
    broadcaster = Broadcaster(db, hub, Renderer(settings.templates_dir), fragment_sources(), event_by_id)
    db.feed.subscribe(broadcaster.on_changes)
    return plugin, db, hub, broadcaster, ClockTicker(broadcaster, day_clock)


async def test_the_evaluation_closing_by_the_clock_is_pushed(any_settings):
    settings = any_settings
    slug = await load_fixture(settings)
    plugin, db, hub, broadcaster, ticker = await live_setup(settings)
    closes = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1.5)
    async with db.unit_of_work() as session:
        event = await event_by_slug(session, slug)
        event.evaluation_minutes = 60
        event.evaluation_opened_at = closes - dt.timedelta(minutes=60)  # open for 1.5 s more
        event_id = event.id
    page = Page()
    await hub.attach(event_id, page.connection)
    try:
        assert await ticker.tick() == 0  # first look
        assert await ticker.tick() == 0  # still open: nothing to push
        await asyncio.sleep(max(0.0, (closes - dt.datetime.now(dt.UTC)).total_seconds() + 0.1))
        assert await ticker.tick() == 1
        await asyncio.sleep(0.05)
        pushed = "".join(page.frames)
        assert 'id="evaluation"' in pushed, "the closed evaluation replaces the form on the page"
        section = pushed.split('id="evaluation"', 1)[1].split("</section>", 1)[0]
        assert "<form" not in section and "evaluation-heading" not in section
        assert 'id="programme"' not in pushed, "only the evaluation changed"
        page.frames.clear()
        assert await ticker.tick() == 0  # pushed once
    finally:
        await hub.detach(event_id, page.connection)
        await plugin._on_shutdown()
        await db.dispose()


@pytest.mark.parametrize("by_hand", [False, True], ids=["nobody-drives", "driven-by-hand"])
async def test_block_polls_follow_the_clock_unless_the_day_is_driven_by_hand(any_settings, by_hand):
    """Nobody took a block live: when the clock moves the next block on air, its auto-open poll opens (pushed) and
    the previous block's auto-close poll closes. Once a moderator drives the day, only their go-live moves polls."""
    from sqlalchemy import select

    from ehalsodag.polls.models import Poll

    settings = any_settings
    slug = await load_fixture(settings)
    plugin, db, hub, broadcaster, ticker = await live_setup(settings)
    switch = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1.5)
    async with db.unit_of_work() as session:
        event = await event_by_slug(session, slug)
        first, second = sorted(event.active_blocks(), key=lambda b: b.planned_start)[:2]
        first.planned_start, first.planned_end = switch - dt.timedelta(minutes=30), switch
        second.planned_start, second.planned_end = switch, switch + dt.timedelta(minutes=30)
        if by_hand:
            event.live_block_id = first.id
        earlier = Poll(event_id=event.id, block_id=first.id, kind="scale", question="Hur var första passet?",
                       state="open", auto_close=True, scale_min=1, scale_max=5)
        later = Poll(event_id=event.id, block_id=second.id, kind="scale", question="Vad tror du om andra passet?",
                     state="draft", auto_open=True, scale_min=1, scale_max=5)
        session.add_all([earlier, later])
        await session.flush()
        event_id, earlier_id, later_id = event.id, earlier.id, later.id
    page = Page()
    await hub.attach(event_id, page.connection)
    ticker.follow = lambda event_id, moves: follow(db, event_id, moves)
    try:
        await ticker.tick()  # first look: the first block is on, its auto-close poll stays open
        await asyncio.sleep(max(0.0, (switch - dt.datetime.now(dt.UTC)).total_seconds() + 0.1))
        await ticker.tick()
        await asyncio.wait_for(broadcaster.settled(), 5)
        async with db.reader() as session:
            states = dict((await session.execute(select(Poll.id, Poll.state).where(
                Poll.id.in_([earlier_id, later_id])))).all())
        pushed = "".join(page.frames)
        if by_hand:
            assert states == {earlier_id: "open", later_id: "draft"}
            assert "Vad tror du om andra passet?" not in pushed
        else:
            assert states == {earlier_id: "closed", later_id: "open"}
            assert "Vad tror du om andra passet?" in pushed, "the opened poll reached the page"
            other_worker = ClockTicker(broadcaster, day_clock, follow=ticker.follow)
            await other_worker.tick()  # a second worker seeing the same move changes nothing
            async with db.reader() as session:
                assert dict((await session.execute(select(Poll.id, Poll.state).where(
                    Poll.id.in_([earlier_id, later_id])))).all()) == {earlier_id: "closed", later_id: "open"}
    finally:
        await hub.detach(event_id, page.connection)
        await plugin._on_shutdown()
        await db.dispose()


async def follow(db, event_id, moves):
    from ehalsodag.polls.service import follow_clock

    async with db.unit_of_work() as session:
        await follow_clock(session, await event_by_id(session, event_id), moves)
