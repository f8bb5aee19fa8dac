"""The clock ticker pushes a new now/next when the schedule, not a moderator, moves the day on."""

import asyncio
import datetime as dt

from litestar.channels import ChannelsPlugin
from litestar.channels.backends.memory import MemoryChannelsBackend

from ehalsodag.agenda.service import event_by_slug
from ehalsodag.db.engine import Database
from ehalsodag.live.broadcast import Broadcaster
from ehalsodag.live.hub import AUDIENCES, Connection, Hub
from ehalsodag.live.ticker import ClockTicker
from tests.conftest import load_fixture


async def test_ticker_pushes_only_when_the_block_on_air_changes(settings):
    slug = await load_fixture(settings)
    db = Database(settings)
    now = dt.datetime.now(dt.UTC)
    async with db.writer() as session:
        event = await event_by_slug(session, slug)
        first, second = sorted(event.active_blocks(), key=lambda b: b.planned_start)
        first.planned_start, first.planned_end = now - dt.timedelta(minutes=5), now + dt.timedelta(minutes=5)
        second.planned_start, second.planned_end = now + dt.timedelta(minutes=5), now + dt.timedelta(minutes=50)
        event_id = event.id
        await session.commit()

    plugin = ChannelsPlugin(backend=MemoryChannelsBackend(), arbitrary_channels_allowed=True)
    await plugin._on_startup()
    hub = Hub(plugin)
    ticker = ClockTicker(Broadcaster(db, hub, settings.templates_dir))
    frames: list[str] = []

    async def send(frame):
        frames.append(frame)

    async def close(code, reason):
        pass

    connection = Connection(send, close, "sv", AUDIENCES["attendee"], 16)
    await hub.attach(event_id, connection)

    assert await ticker.tick() == 0  # first look: the socket already has a fresh snapshot
    assert await ticker.tick() == 0  # nothing changed

    async with db.writer() as session:  # time passes: the first block is over
        event = await event_by_slug(session, slug)
        first, second = sorted(event.active_blocks(), key=lambda b: b.planned_start)
        first.planned_start, first.planned_end = now - dt.timedelta(minutes=30), now - dt.timedelta(minutes=1)
        second.planned_start = now - dt.timedelta(minutes=1)
        await session.commit()
    assert await ticker.tick() == 1
    await asyncio.sleep(0.05)
    assert frames and "Slut Östergötland" in frames[-1].split('id="now-next"', 1)[1].split("</section>", 1)[0]

    await hub.detach(event_id, connection)
    await plugin._on_shutdown()
    await db.dispose()
