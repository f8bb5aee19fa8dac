"""Poll results pushes: moderators first, coalesced, and only one worker pushes a poll per interval."""

from litestar.channels import ChannelsPlugin
from litestar.channels.backends.memory import MemoryChannelsBackend

from ehalsodag.agenda.service import event_by_slug
from ehalsodag.db.engine import Database
from ehalsodag.live.broadcast import Broadcaster, ResultsClaims
from ehalsodag.live.hub import Hub
from ehalsodag.polls import service as poll_service
from tests.conftest import load_fixture


class Refusing(ResultsClaims):
    """Another worker holds every claim (as Redis would say while it pushes)."""

    def __init__(self):
        super().__init__()
        self.refuse = True

    async def claim(self, poll_id, audience, seconds):
        return not self.refuse


async def test_results_wait_while_another_worker_pushes_them_and_staff_get_them_before_attendees(settings):
    slug = await load_fixture(settings)
    db = Database(settings)
    async with db.writer() as session:
        event = await event_by_slug(session, slug)
        poll = await poll_service.create_poll(session, event, poll_service.PollSpec(
            kind="scale", question="Hur långt?", scale_min=1, scale_max=5), actor="test")
        poll_id = poll.id
    plugin = ChannelsPlugin(backend=MemoryChannelsBackend(), arbitrary_channels_allowed=True)
    await plugin._on_startup()
    published = []
    hub = Hub(plugin)

    async def record(event_id, audience, by_language):
        published.append(audience)

    hub.publish = record
    claims = Refusing()
    broadcaster = Broadcaster(db, hub, settings.templates_dir, claims=claims)
    try:
        broadcaster.poll_dirty(poll_id)
        assert await broadcaster.flush_results() == 0 and published == []  # another worker's turn
        claims.refuse = False
        assert await broadcaster.flush_results() == 1  # still marked: pushed at this worker's next tick
        assert published == ["staff", "screen", "public"]
        assert await broadcaster.flush_results() == 0  # and only once
    finally:
        await plugin._on_shutdown()
        await db.dispose()
