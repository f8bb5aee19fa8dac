"""The one road every write takes: changes recorded in a unit of work are published after its commit, merged,
and never when the transaction fails (an error inside, or a commit the database refuses)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from ehalsodag.agenda.service import event_by_slug
from ehalsodag.attendees.models import Attendee
from ehalsodag.changes import Change, ChangeFeed, Topic, changed, merge
from ehalsodag.db.engine import Database
from tests.conftest import load_fixture


def recording_feed() -> tuple[ChangeFeed, list[list[Change]]]:
    published: list[list[Change]] = []
    feed = ChangeFeed()

    async def record(changes: list[Change]) -> None:
        published.append(changes)

    feed.subscribe(record)
    return feed, published


async def test_changes_are_published_once_after_the_commit_merged_per_topic(settings):
    slug = await load_fixture(settings)
    feed, published = recording_feed()
    db = Database(settings, feed)
    try:
        async with db.unit_of_work() as session:
            event = await event_by_slug(session, slug)
            event.announcement = "Paus"
            changed(session, Topic.ANNOUNCEMENT, event.id)
            changed(session, Topic.QUESTION, event.id, 1, attendees=[7])
            changed(session, Topic.QUESTION, event.id, 2, None, attendees=[None, 8])
            assert published == []  # nothing before the commit
        assert published == [[Change(Topic.ANNOUNCEMENT, event.id),
                              Change(Topic.QUESTION, event.id, frozenset({1, 2}), frozenset({7, 8}))]]
        async with db.reader() as session:  # and the write it describes is really committed
            assert (await event_by_slug(session, slug)).announcement == "Paus"
    finally:
        await db.dispose()


async def test_an_error_inside_the_unit_of_work_publishes_nothing_and_keeps_nothing(settings):
    slug = await load_fixture(settings)
    feed, published = recording_feed()
    db = Database(settings, feed)
    try:
        with pytest.raises(RuntimeError):
            async with db.unit_of_work() as session:
                event = await event_by_slug(session, slug)
                event.announcement = "Aldrig"
                changed(session, Topic.ANNOUNCEMENT, event.id)
                raise RuntimeError("the service refused halfway")
        assert published == []
        async with db.reader() as session:
            assert (await event_by_slug(session, slug)).announcement is None
    finally:
        await db.dispose()


async def test_a_commit_the_database_refuses_publishes_nothing(settings):
    slug = await load_fixture(settings)
    feed, published = recording_feed()
    db = Database(settings, feed)
    try:
        async with db.unit_of_work() as session:
            event = await event_by_slug(session, slug)
            session.add(Attendee(event_id=event.id, token_hash="x" * 64, group_size=1))
        with pytest.raises(Exception, match="(?i)unique"):
            async with db.unit_of_work() as session:
                changed(session, Topic.CHAT, event.id, 99)
                # the same token hash again: the unique constraint refuses the commit itself
                session.add(Attendee(event_id=event.id, token_hash="x" * 64, group_size=1))
        assert published == []
        async with db.reader() as session:
            rows = (await session.execute(select(Attendee).where(Attendee.token_hash == "x" * 64))).all()
            assert len(rows) == 1
        # and the session's record is not carried over into the next unit of work
        async with db.unit_of_work() as session:
            pass
        assert published == []
    finally:
        await db.dispose()


def test_merge_keeps_first_seen_order_and_unions_ids():
    changes = [Change(Topic.POLL, 1, frozenset({3})), Change(Topic.CHAT, 1, frozenset({5})),
               Change(Topic.POLL, 1, frozenset({4}), frozenset({9})), Change(Topic.POLL, 2, frozenset({1}))]
    assert merge(changes) == [Change(Topic.POLL, 1, frozenset({3, 4}), frozenset({9})),
                              Change(Topic.CHAT, 1, frozenset({5})), Change(Topic.POLL, 2, frozenset({1}))]


async def test_a_failing_subscriber_does_not_turn_a_committed_write_into_an_error(settings):
    slug = await load_fixture(settings)
    feed = ChangeFeed()
    seen: list[list[Change]] = []

    async def broken(changes: list[Change]) -> None:
        raise RuntimeError("push failed")

    async def record(changes: list[Change]) -> None:
        seen.append(changes)

    feed.subscribe(broken)
    feed.subscribe(record)
    db = Database(settings, feed)
    try:
        async with db.unit_of_work() as session:
            event = await event_by_slug(session, slug)
            changed(session, Topic.AGENDA, event.id)
        assert seen == [[Change(Topic.AGENDA, event.id)]]
    finally:
        await db.dispose()
