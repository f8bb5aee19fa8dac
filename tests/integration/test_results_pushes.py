"""Poll results pushes: moderators first, coalesced, and only one worker pushes a poll per interval; the vote
writer publishes what a committed batch changed, and nothing when the batch fails."""

import pytest
from litestar.channels import ChannelsPlugin
from litestar.channels.backends.memory import MemoryChannelsBackend

from ehalsodag.agenda.service import event_by_id, event_by_slug
from ehalsodag.attendees.service import JoinRequest, new_attendee
from ehalsodag.changes import Change, Topic
from ehalsodag.db.engine import Database
from ehalsodag.live.broadcast import Broadcaster, Renderer, ResultsClaims
from ehalsodag.live.hub import Hub
from ehalsodag.polls import service as poll_service
from ehalsodag.polls.batch import Vote, VoteWriter
from ehalsodag.polls.fragments import PollFragments
from ehalsodag.polls.service import PollError
from tests.conftest import load_fixture


class Refusing(ResultsClaims):
    """Another worker holds every claim (as Redis would say while it pushes)."""

    def __init__(self):
        super().__init__()
        self.refuse = True

    async def claim(self, poll_id, audience, seconds):
        return not self.refuse


async def open_scale_poll(db, slug, voters=0):
    """An open scale poll of the fixture event, and ``voters`` attendees of it."""
    async with db.unit_of_work() as session:
        event = await event_by_slug(session, slug)
        poll = await poll_service.create_poll(session, event, poll_service.PollSpec(
            kind="scale", question="Hur långt?", scale_min=1, scale_max=5), actor="test")
        await poll_service.change(session, poll, "open", "test")
        attendees = [new_attendee(event.id, JoinRequest())[0] for _ in range(voters)]
        session.add_all(attendees)
        await session.flush()
        return event.id, poll.id, [a.id for a in attendees]


async def test_results_wait_while_another_worker_pushes_them_and_staff_get_them_before_attendees(settings):
    slug = await load_fixture(settings)
    db = Database(settings)
    event_id, poll_id, _voters = await open_scale_poll(db, slug)
    plugin = ChannelsPlugin(backend=MemoryChannelsBackend(), arbitrary_channels_allowed=True)
    await plugin._on_startup()
    published = []
    hub = Hub(plugin)

    async def record(event_id, audience, by_language, *, to=None, exclude=frozenset(), stages=None):
        published.append(audience)

    hub.publish = record
    claims = Refusing()
    broadcaster = Broadcaster(db, hub, Renderer(settings.templates_dir), [PollFragments()], event_by_id,
                              claims=claims)
    try:
        await broadcaster.on_changes([Change(Topic.POLL_RESULTS, event_id, frozenset({poll_id}))])
        assert published == []  # results are coalesced: a vote only marks its poll
        assert await broadcaster.flush_results() == 0 and published == []  # another worker's turn
        claims.refuse = False
        assert await broadcaster.flush_results() == 1  # still marked: pushed at this worker's next tick
        assert published == ["staff", "screen", "attendee"]
        assert await broadcaster.flush_results() == 0  # and only once
    finally:
        await plugin._on_shutdown()
        await db.dispose()


async def test_the_vote_writer_publishes_a_committed_batch_once_and_a_refused_one_not_at_all(settings):
    slug = await load_fixture(settings)
    db = Database(settings)
    event_id, poll_id, voters = await open_scale_poll(db, slug, voters=3)
    batches = []

    async def subscriber(changes):
        batches.append(changes)

    db.feed.subscribe(subscriber)
    writer = VoteWriter(db)
    writer.start()
    try:
        firsts = await writer.write_batch([Vote(poll_id, voter, event_id, {"value": 3}, "sv") for voter in voters[:2]])
        assert firsts == [True, True]
        await writer.stop()  # waits for what is committed to be published
        assert batches == [[Change(Topic.POLL_RESULTS, event_id, frozenset({poll_id}))],
                           [Change(Topic.POLL_ANSWER, event_id, frozenset({poll_id}), frozenset(voters[:2]))]]
        batches.clear()
        refused = await writer.write_batch([Vote(poll_id, voters[2], event_id, {"value": 9}, "en")])
        assert isinstance(refused[0], PollError) and batches == []
        async with db.unit_of_work() as session:
            await poll_service.change(session, await poll_service.poll_by_id(session, poll_id), "close", "test")
        with pytest.raises(PollError, match="not open"):
            await writer.write(Vote(poll_id, voters[2], event_id, {"value": 2}, "en"))
        async with db.reader() as session:
            stage_id = (await poll_service.poll_by_id(session, poll_id)).stage_id
        assert batches == [[Change(Topic.POLL, event_id, frozenset({poll_id})),
                            Change(Topic.STAGE, event_id, frozenset({stage_id}))]]
    finally:
        await writer.stop()
        await db.dispose()
