"""The change feed: what a write changed, recorded during the transaction and published after its commit.

Services record ``changed(session, Topic.QUESTION, event_id, question.id, attendees=[asker.id])``
while they change rows; they never commit and never publish. Whoever commits (the request's unit of
work, or a group-commit writer) hands the recorded changes to :meth:`ChangeFeed.publish` once the
commit succeeded: that is the one entry point to the live layer, and a failed commit publishes
nothing. The live layer subscribes to the feed and turns each change into the smallest fragments
that show it (see the domains' ``fragments`` modules and ``live/``).

This module sits below every domain: it imports none of them, and the domains import nothing else
of the live layer.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

#: Where a session keeps the changes recorded in its transaction.
_PENDING = "ehalsodag.changes"


class Topic(enum.StrEnum):
    """What changed. ``ids`` of a change name the rows of that topic (questions, polls, messages...)."""

    #: The programme: blocks, the live block, shifts, a reloaded programme file. ids: a block that went live.
    AGENDA = "agenda"
    #: The programme of regional stages only (a region's shift or early end on a national day): only those
    #: regions' pages and panels change. ids: stage ids.
    REGION = "region"
    #: The announcement banner. No ids.
    ANNOUNCEMENT = "announcement"
    #: Questions (asked, upvoted, moderated, erased). ids: question ids.
    QUESTION = "question"
    #: What the presenter screen and the overlay show: the question on stage or the open poll. ids: the stages
    #: whose screens show it (none: every stage's).
    STAGE = "stage"
    #: What a moderator chose for the presenter screens (a poll, the question on stage, the join code, the programme,
    #: automatic; the participant count on or off). ids: the stage whose screens it is (none: the event's only one).
    SCREEN = "screen"
    #: The participant figures were sampled again (once a minute): screens that show the count follow. No ids.
    PRESENCE = "presence"
    #: A question just went on stage (it is announced, once). ids: that question.
    ON_STAGE = "on_stage"
    #: Polls themselves (created, opened, closed, revealed, reset). ids: poll ids.
    POLL = "poll"
    #: A poll's answers (votes, open-text wall moderation): results are pushed coalesced. ids: poll ids.
    POLL_RESULTS = "poll_results"
    #: An attendee's own answer to a poll. ids: poll ids; attendees: who answered.
    POLL_ANSWER = "poll_answer"
    #: Chat messages (posted, deleted, erased). ids: message ids.
    CHAT = "chat"
    #: Event settings: chat on/off, pre-moderation. ids: which setting (chat.fragments.Setting), if the
    #: attendee page's chat form has to change.
    SETTINGS = "settings"
    #: The evaluation window (opened, extended, opened by the clock). ids: a marker when a moderator opened it
    #: now (evaluation.fragments.OPENED_NOW), so that only then is it announced.
    EVALUATION = "evaluation"
    #: Evaluation answers. attendees: who answered (their "thank you").
    EVALUATION_ANSWER = "evaluation_answer"
    #: An attendee's own standing (muted). attendees: whom it concerns.
    ATTENDEE = "attendee"
    #: Attendees chose another home stage (their region on a national day). attendees: who.
    HOME = "home"


@dataclass(frozen=True)
class Change:
    """One topic of one event changed: which rows, and whose personal fragments change with them."""

    topic: Topic
    event_id: int
    ids: frozenset[int] = frozenset()
    attendees: frozenset[int] = frozenset()


def changed(session: AsyncSession | Session, topic: Topic, event_id: int, *ids: int | None,
            attendees: Iterable[int | None] = ()) -> None:
    """Record that ``topic`` of ``event_id`` changed in this transaction (rows ``ids``; the personal
    fragments of ``attendees``). Published only after the transaction commits."""
    pending: list[Change] = session.info.setdefault(_PENDING, [])
    pending.append(Change(topic, event_id, frozenset(i for i in ids if i is not None),
                          frozenset(a for a in attendees if a is not None)))


def take_changes(session: AsyncSession | Session) -> list[Change]:
    """The changes recorded in ``session`` so far, merged per event and topic; forgets them."""
    pending: list[Change] = session.info.pop(_PENDING, [])
    return merge(pending)


def forget_changes(session: AsyncSession | Session) -> None:
    """Drop what ``session`` recorded (its transaction was rolled back)."""
    session.info.pop(_PENDING, None)


def merge(changes: Iterable[Change]) -> list[Change]:
    """One change per (event, topic), with the ids and attendees of all, in first-seen order."""
    merged: dict[tuple[int, Topic], Change] = {}
    for change in changes:
        key = (change.event_id, change.topic)
        earlier = merged.get(key)
        merged[key] = change if earlier is None else Change(
            change.topic, change.event_id, earlier.ids | change.ids, earlier.attendees | change.attendees)
    return list(merged.values())


Subscriber = Callable[[list[Change]], Awaitable[None]]


@dataclass
class ChangeFeed:
    """Committed changes, handed to every subscriber (the live layer; tests)."""

    subscribers: list[Subscriber] = field(default_factory=list)

    def subscribe(self, subscriber: Subscriber) -> None:
        """Call ``subscriber`` with every published batch of changes."""
        self.subscribers.append(subscriber)

    async def publish(self, changes: Iterable[Change]) -> None:
        """Hand committed ``changes`` to the subscribers. Call only after the commit succeeded."""
        batch = merge(changes)
        if not batch:
            return
        for subscriber in self.subscribers:
            try:
                await subscriber(batch)
            except Exception:  # the write is committed; a failed push must not turn it into an error
                log.exception("a change feed subscriber failed on %s", batch)


def describe(change: Change) -> dict[str, Any]:
    """A change as plain data (logs, tests)."""
    return {"topic": change.topic.value, "event_id": change.event_id, "ids": sorted(change.ids),
            "attendees": sorted(change.attendees)}
