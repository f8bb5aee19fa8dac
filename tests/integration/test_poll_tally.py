"""The kept poll tallies equal a recount of the stored answers after any sequence of votes, changes of mind,
resent websocket votes, resets, erased attendees and restarts — on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from ehalsodag.agenda.service import event_by_slug
from ehalsodag.attendees.models import Attendee
from ehalsodag.attendees.service import JoinRequest, new_attendee
from ehalsodag.db.engine import Database
from ehalsodag.db.migrate import upgrade
from ehalsodag.polls import service as poll_service
from ehalsodag.polls import tally
from ehalsodag.polls.batch import Vote, VoteWriter
from ehalsodag.polls.models import Poll, poll_tally
from ehalsodag.privacy.service import delete_own_data
from ehalsodag.settings import Settings
from tests.conftest import load_fixture, make_settings
from tests.support.postgres import fresh_database

KINDS = ("single", "multiple", "scale", "wordcloud", "open_text", "ranking")
VOTERS = 5
WORDS = ("vård", "Vård", "samverkan", "tid", "data nu")

#: One answer, independent of the poll's option ids (mapped when the vote is sent).
answers = st.fixed_dictionaries({
    "pick": st.integers(0, 2), "picks": st.sets(st.integers(0, 2), min_size=1, max_size=3),
    "value": st.integers(1, 5), "words": st.lists(st.sampled_from(WORDS), min_size=1, max_size=3),
    "text": st.sampled_from(("Bra", "Mer tid", "Ja")), "order": st.permutations([0, 1, 2]),
    #: A resend carries the key of an earlier vote (None: a vote over HTTP).
    "key": st.one_of(st.none(), st.sampled_from(("k1", "k2", "k3"))),
})
vote = st.tuples(st.just("votes"), st.lists(st.tuples(st.integers(0, VOTERS - 1), answers), min_size=1, max_size=6))
operations = st.lists(st.one_of(
    vote, vote, vote, st.tuples(st.just("reset")), st.tuples(st.just("restart")),
    st.tuples(st.just("erase"), st.integers(0, VOTERS - 1))), min_size=1, max_size=8)


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request, settings: Settings, tmp_path) -> Iterator[Settings]:
    if request.param == "sqlite":
        yield settings
        return
    url = os.environ.get("EHALSODAG_TEST_DATABASE_URL")
    if not url:
        pytest.skip("EHALSODAG_TEST_DATABASE_URL is not set")
    with fresh_database(url, "ehalsodag_tally") as database_url:
        migrated = make_settings(tmp_path, database_url=database_url)
        upgrade(migrated)
        yield migrated


def answer_of(kind: str, options: list[int], drawn: dict) -> dict:
    if kind == "single":
        return {"option_ids": [options[drawn["pick"]]]}
    if kind == "multiple":
        return {"option_ids": [options[i] for i in sorted(drawn["picks"])]}
    if kind == "scale":
        return {"value": drawn["value"]}
    if kind == "wordcloud":
        return {"words": drawn["words"]}
    if kind == "open_text":
        return {"text": drawn["text"]}
    return {"ranking": [options[i] for i in drawn["order"]]}


async def make_poll(db: Database, slug: str, kind: str) -> tuple[int, int, list[int], list[int]]:
    async with db.unit_of_work() as session:
        event = await event_by_slug(session, slug)
        options = ["Ett", "Två", "Tre"] if kind in ("single", "multiple", "ranking") else []
        poll = await poll_service.create_poll(session, event, poll_service.PollSpec(
            kind=kind, question="Vad tycker du?", options=options), actor="test")
        await poll_service.change(session, poll, "open", "test")
        attendees = [new_attendee(event.id, JoinRequest())[0] for _ in range(VOTERS)]
        session.add_all(attendees)
        await session.flush()
        return event.id, poll.id, [o.id for o in poll.options], [a.id for a in attendees]


async def assert_tally_is_a_recount(db: Database, poll_id: int) -> None:
    async with db.reader() as session:
        poll = await session.get(Poll, poll_id)
        kept = await tally.read(session, poll_id)
        assert await poll_service.results(session, poll) == await poll_service.recounted_results(session, poll)
        recount = (await tally.recount(session, [poll_id]))[poll_id]
    if kept is not None:  # the rows themselves, zeros aside
        assert {k: c for k, c in kept.items() if c} == {k: c for k, c in recount.items() if c}


async def run(settings: Settings, slug: str, kind: str, steps: list[tuple]) -> None:
    db = Database(settings)
    writer = VoteWriter(db)
    try:
        event_id, poll_id, options, voters = await make_poll(db, slug, kind)
        erased: set[int] = set()
        for step in steps:
            if step[0] == "votes":
                votes = [Vote(poll_id, voters[who], event_id, answer_of(kind, options, drawn), "sv", drawn["key"])
                         for who, drawn in step[1] if voters[who] not in erased]
                if votes:
                    results = await writer.write_batch(votes)
                    assert all(isinstance(r, bool) for r in results), results
            elif step[0] == "reset":
                async with db.unit_of_work() as session:
                    poll = await poll_service.poll_by_id(session, poll_id)
                    await poll_service.change(session, poll, "reset", "test")
                    await poll_service.change(session, poll, "open", "test")
            elif step[0] == "erase":
                async with db.unit_of_work() as session:
                    await delete_own_data(session, await session.get(Attendee, voters[step[1]]))
            else:  # a restart: a new process rebuilds every tally from the answers
                await db.dispose()
                db = Database(settings)
                writer = VoteWriter(db)
                await tally.rebuild_tallies(db)
            await assert_tally_is_a_recount(db, poll_id)
        async with db.reader() as session:  # the poll's tally was kept, not only recounted on reading
            assert await tally.read(session, poll_id) is not None or not (await session.execute(
                poll_tally.select().where(poll_tally.c.poll_id == poll_id))).first()
    finally:
        await writer.stop()
        await db.dispose()


def test_the_kept_tally_equals_a_recount_after_any_votes_resets_erasures_and_restarts(database: Settings):
    slug = asyncio.run(load_fixture(database))

    @hypothesis_settings(max_examples=12, deadline=None, database=None,
                         suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    @given(kind=st.sampled_from(KINDS), steps=operations)
    def check(kind: str, steps: list[tuple]) -> None:
        asyncio.run(run(database, slug, kind, steps))

    check()


async def test_a_resent_vote_is_answered_as_before_and_stored_once(settings: Settings):
    slug = await load_fixture(settings)
    db = Database(settings)
    writer = VoteWriter(db)
    try:
        event_id, poll_id, options, voters = await make_poll(db, slug, "single")
        first = Vote(poll_id, voters[0], event_id, {"option_ids": [options[0]]}, "sv", "a1")
        # the original and its resend in one batch, then the resend again later: the first answer each time
        assert await writer.write_batch([first, first]) == [True, True]
        assert await writer.write_batch([first]) == [True]
        change = Vote(poll_id, voters[0], event_id, {"option_ids": [options[1]]}, "sv", "a2")
        assert await writer.write_batch([change]) == [False]
        assert await writer.write_batch([change]) == [False]
        async with db.reader() as session:
            poll = await session.get(Poll, poll_id)
            result = await poll_service.results(session, poll)
        assert result.responses == 1 and [o.count for o in result.options] == [0, 1, 0]
    finally:
        await db.dispose()
