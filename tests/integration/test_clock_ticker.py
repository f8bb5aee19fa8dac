"""The clock ticker pushes what changes when the schedule, not a moderator, moves the day on, and what a programme
file loaded by another process changed; it announces a block the clock put on air once, and nothing else."""

import asyncio
import datetime as dt
import re

from litestar.channels import ChannelsPlugin
from litestar.channels.backends.memory import MemoryChannelsBackend

from ehalsodag.agenda import service as agenda_service
from ehalsodag.agenda import tracks
from ehalsodag.agenda.fragments import clock_state
from ehalsodag.agenda.service import event_by_id, event_by_slug
from ehalsodag.app import fragment_sources
from ehalsodag.db.engine import Database
from ehalsodag.live.broadcast import Broadcaster, Renderer
from ehalsodag.live.hub import Connection, Hub
from ehalsodag.live.ticker import ClockTicker
from tests.conftest import load_fixture


def now_next(frame: str) -> str:
    return frame.split('id="now-next"', 1)[1].split("</section>", 1)[0]


async def test_ticker_pushes_when_the_clock_or_another_process_changes_the_day(settings):
    slug = await load_fixture(settings)
    db = Database(settings)
    now = dt.datetime.now(dt.UTC)
    async with db.unit_of_work() as session:
        event = await event_by_slug(session, slug)
        first, second = sorted(event.active_blocks(), key=lambda b: b.planned_start)
        # the first block ends two seconds from now: the clock, not anyone's action, moves the day on
        first.planned_start, first.planned_end = now - dt.timedelta(minutes=5), now + dt.timedelta(seconds=2)
        second.planned_start, second.planned_end = now + dt.timedelta(seconds=2), now + dt.timedelta(minutes=50)
        event_id, second_title = event.id, second.title

    plugin = ChannelsPlugin(backend=MemoryChannelsBackend(), arbitrary_channels_allowed=True)
    await plugin._on_startup()
    hub = Hub(plugin)
    ticker = ClockTicker(Broadcaster(db, hub, Renderer(settings.templates_dir), fragment_sources(), event_by_id),
                         clock_state)
    frames: list[str] = []

    async def send(frame):
        frames.append(frame)

    async def close(code, reason):
        pass

    connection = Connection(send, close, "sv", "attendee", 16)
    await hub.attach(event_id, connection)

    assert await ticker.tick() == 0  # first look: the socket already has a fresh snapshot
    assert await ticker.tick() == 0  # nothing changed
    async with db.unit_of_work() as session:  # a moderator's banner changes nothing the clock pushes
        (await event_by_slug(session, slug)).announcement = "Paus"
    assert await ticker.tick() == 0

    await asyncio.sleep(max(0.0, (now + dt.timedelta(seconds=2.2) - dt.datetime.now(dt.UTC)).total_seconds()))
    assert await ticker.tick() == 1
    await asyncio.sleep(0.05)
    pushed = "".join(frames)
    assert second_title in now_next(pushed)
    assert re.search(r'id="live-announcer"[^>]*>[^<]*' + re.escape(second_title), pushed)  # said once, by the clock
    assert 'id="announcement"' not in pushed  # the unchanged banner is not sent again

    frames.clear()
    async with db.unit_of_work() as session:  # another process reloads the programme: a block is renamed
        event = await event_by_slug(session, slug)
        current = next(b for b in event.active_blocks() if b.title == second_title)
        current.title = "Avslutning, nytt namn"
    assert await ticker.tick() == 1
    await asyncio.sleep(0.05)
    pushed = "".join(frames)
    assert "Avslutning, nytt namn" in now_next(pushed) and 'id="programme"' in pushed
    assert 'id="live-announcer"' not in pushed  # nothing went on air: nothing to announce

    await hub.detach(event_id, connection)
    await plugin._on_shutdown()
    await db.dispose()


async def test_a_regional_block_seen_first_by_the_clock_reaches_only_its_region(settings, tmp_path):
    """A moderator's go-live commits; the clock ticks before the broadcaster's own push and recheck. What the tick
    pushes (the programme, the screens) must stay with that region: nothing, not the evaluation, reaches another."""
    from tests.support.national_day import OSTERGOTLAND, SKANE, load_national_day

    slug = await load_national_day(settings, tmp_path)
    db = Database(settings)
    plugin = ChannelsPlugin(backend=MemoryChannelsBackend(), arbitrary_channels_allowed=True)
    await plugin._on_startup()
    hub = Hub(plugin)
    ticker = ClockTicker(Broadcaster(db, hub, Renderer(settings.templates_dir), fragment_sources(), event_by_id,
                                     route=tracks.socket_stages), clock_state)
    async with db.reader() as session:
        event = await event_by_slug(session, slug)
        event_id = event.id
        stage = {s.key: s.id for s in event.stages}
        regional = next(b.id for b in event.blocks if b.stage_id == stage[OSTERGOTLAND])
    frames: dict[str, list[str]] = {OSTERGOTLAND: [], SKANE: []}

    def socket(key: str) -> Connection:
        async def send(frame):
            frames[key].append(frame)

        async def close(code, reason):
            pass

        return Connection(send, close, "sv", "attendee", 16, attendee_id=len(frames[key]) + 1, stage=stage[key])

    for key in frames:
        await hub.attach(event_id, socket(key))
    assert await ticker.tick() == 0  # first look
    async with db.unit_of_work() as session:  # the go-live, as committed, before its own push
        event = await event_by_slug(session, slug)
        await agenda_service.go_live(session, event, regional, "moderator")
    assert await ticker.tick() == 1
    await asyncio.sleep(0.05)
    assert frames[SKANE] == [], "another region's page got the clock's push"
    assert "Så gör vi i Östergötland" in "".join(frames[OSTERGOTLAND])
    await plugin._on_shutdown()
    await db.dispose()
