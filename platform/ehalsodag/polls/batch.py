"""Group commit for poll answers (see :mod:`ehalsodag.db.batch`): many votes, one transaction.

The one-vote rule (the unique constraint, through an upsert) and "committed before acknowledged"
both still hold; each caller learns whether the answer was the attendee's first. Each answer is
checked against the poll as it is in the transaction that stores it (open, of the attendee's event,
an answer that fits its kind and options), so a vote that races a close is refused, never stored.

The hot path of a vote burst has no unit of work: once a batch is committed, the writer publishes what
it changed on the change feed itself (new results of each poll; the voters' own answers). A batch that
fails publishes nothing. Publishing runs beside the writer, in commit order, so that the next batch
never waits for the pushes of the previous one; batches committed meanwhile are published together.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections import Counter
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from ehalsodag import metrics
from ehalsodag.agenda import stages
from ehalsodag.attendees.models import Attendee
from ehalsodag.changes import Change, Topic
from ehalsodag.db.batch import GroupCommit
from ehalsodag.db.engine import Database
from ehalsodag.i18n import _, use_language
from ehalsodag.polls import logic, tally
from ehalsodag.polls.models import Poll, PollResponse
from ehalsodag.polls.service import PollError, shape

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Vote:
    """One attendee's (normalised) answer to one poll."""

    poll_id: int
    attendee_id: int
    #: The attendee's event: a poll of another event does not exist for them.
    event_id: int
    answer: dict[str, Any]
    #: The asker's language, for the refusal message.
    language: str
    #: A websocket vote's idempotency key (the page makes one per answer sent; a resend carries the same).
    key: str | None = None


@dataclass(frozen=True)
class _Checked:
    vote: Vote
    answer: dict[str, Any]
    wall: bool


class VoteWriter(GroupCommit[Vote]):
    """Checks and writes poll answers in batches; :meth:`write` returns once the answer is committed."""

    def __init__(self, db: Database) -> None:
        super().__init__(db)
        #: Committed changes not yet published, in commit order.
        self._outbox: list[Change] = []
        self._publisher: asyncio.Task[None] | None = None

    async def stop(self) -> None:
        """Write what is queued, publish what is committed, then stop."""
        await super().stop()
        if self._publisher is not None:
            await self._publisher

    async def write(self, vote: Vote) -> bool:
        """Store (or replace) one answer; True when it is the attendee's first. Raises PollError if refused."""
        return await self.submit(vote)

    async def write_batch(self, items: list[Vote]) -> list[bool | PollError]:
        """Check every answer against its poll, store the good ones (the later of two answers by one
        attendee wins) with their polls' tallies, and report, per answer, whether it was the first or why it
        was refused. A websocket vote resent with the key of the answer already stored is answered as it was
        then, and stored (and counted) no second time."""
        now = dt.datetime.now(dt.UTC)
        async with self.db.writer() as session:
            polls = {poll.id: poll for poll in (await session.execute(
                select(Poll).options(selectinload(Poll.options))
                .where(Poll.id.in_({vote.poll_id for vote in items})))).scalars()}
            outsiders = await _outsiders(session, polls, items)
            checked: list[_Checked | PollError] = [
                _check(vote, None if (vote.poll_id, vote.attendee_id) in outsiders else polls.get(vote.poll_id))
                for vote in items]
            latest = {(c.vote.poll_id, c.vote.attendee_id): c for c in checked if isinstance(c, _Checked)}
            if not latest:
                return [c for c in checked if isinstance(c, PollError)]
            existing, known, written = await _store(session, latest, {p.id: p.kind for p in polls.values()}, now)
            await session.commit()
        if written:
            metrics.count_votes(len(written))
            await self._committed(_changes(written))
        results: list[bool | PollError] = []
        seen: set[tuple[int, int]] = set()
        for outcome in checked:
            if isinstance(outcome, PollError):
                results.append(outcome)
                continue
            key = (outcome.vote.poll_id, outcome.vote.attendee_id)
            first = known.get((*key, outcome.vote.key)) if outcome.vote.key else None
            if first is None:
                first = key not in existing and key not in seen
                if outcome.vote.key:
                    known[(*key, outcome.vote.key)] = first
            results.append(first)
            seen.add(key)
        return results

    async def _committed(self, changes: list[Change]) -> None:
        """Hand a committed batch's changes to the publisher (and wait for it when no writer task runs:
        scripts, tests and the last batch of :meth:`stop`)."""
        self._outbox += changes
        if self._publisher is None or self._publisher.done():
            self._publisher = asyncio.create_task(self._publish(), name="vote-changes")
        if self._task is None:
            await asyncio.shield(self._publisher)

    async def _publish(self) -> None:
        """Publish the outbox until it is empty: the results of every poll answered, per event, in one go;
        each poll's voters separately (their personal fragments are of that poll alone)."""
        while self._outbox:
            changes, self._outbox = self._outbox, []
            results = [c for c in changes if c.topic is Topic.POLL_RESULTS]
            voters: dict[tuple[int, int], set[int]] = {}
            for change in changes:
                if change.topic is Topic.POLL_ANSWER:
                    for poll_id in change.ids:
                        voters.setdefault((change.event_id, poll_id), set()).update(change.attendees)
            try:
                await self.db.feed.publish(results)
                for (event_id, poll_id), attendees in voters.items():
                    await self.db.feed.publish(
                        [Change(Topic.POLL_ANSWER, event_id, frozenset({poll_id}), frozenset(attendees))])
            except Exception:  # the votes are committed; a failed push must not stop the next ones
                log.exception("publishing committed votes failed")


async def _store(session: AsyncSession, latest: dict[tuple[int, int], _Checked], kinds: dict[int, str],
                 now: dt.datetime) -> tuple[set[tuple[int, int]], dict[tuple[int, int, str], bool], list[_Checked]]:
    """Write the answers and their polls' tally changes in the caller's transaction.

    New answers are inserted (an answer another worker inserted meanwhile is left alone, and replaced below);
    the others are read under a row lock (PostgreSQL; SQLite has one writer) so that the old answer taken
    off the tally is the one replaced, then replaced. An answer resent with the key of the stored one is left
    as it is. Returns the (poll, attendee) pairs answered before, whether the answer of each stored key was
    the attendee's first, and what was written."""
    table = PollResponse.__table__
    insert = _insert(session)

    def row(c: _Checked) -> dict[str, Any]:
        return {"poll_id": c.vote.poll_id, "attendee_id": c.vote.attendee_id, "answer": c.answer,
                "created_at": now, "updated_at": now, "wall_status": "pending" if c.wall else None,
                "wall_text": c.answer.get("text") if c.wall else None, "vote_key": c.vote.key}

    pairs = sorted(latest)  # one lock order for every worker
    inserted = set((await session.execute(
        insert(table).on_conflict_do_nothing(index_elements=["poll_id", "attendee_id"])
        .returning(table.c.poll_id, table.c.attendee_id), [row(latest[pair]) for pair in pairs])).tuples())
    rest = [pair for pair in pairs if pair not in inserted]
    old: dict[tuple[int, int], tuple[dict[str, Any], str | None, bool]] = {}
    for start in range(0, len(rest), 500):
        rows = await session.execute(
            select(table.c.poll_id, table.c.attendee_id, table.c.answer, table.c.vote_key, table.c.created_at,
                   table.c.updated_at)
            .where(tuple_(table.c.poll_id, table.c.attendee_id).in_(rest[start:start + 500]))
            .order_by(table.c.poll_id, table.c.attendee_id).with_for_update())
        for poll_id, attendee_id, answer, vote_key, created, updated in rows.tuples():
            old[(poll_id, attendee_id)] = (answer, vote_key, created == updated)
    known = {(*pair, vote_key): first for pair, (_answer, vote_key, first) in old.items() if vote_key}
    replaced = [pair for pair in rest if pair in old and not (
        latest[pair].vote.key is not None and old[pair][1] == latest[pair].vote.key)]
    if replaced:
        await session.execute(
            update(table).where(table.c.poll_id == bindparam("b_poll"), table.c.attendee_id == bindparam("b_attendee"))
            .values(answer=bindparam("b_answer"), updated_at=bindparam("b_updated"), wall_status=bindparam("b_wall"),
                    wall_text=bindparam("b_text"), vote_key=bindparam("b_key")),
            [{f"b_{name}": value for name, value in (
                ("poll", r["poll_id"]), ("attendee", r["attendee_id"]), ("answer", r["answer"]),
                ("updated", r["updated_at"]), ("wall", r["wall_status"]), ("text", r["wall_text"]),
                ("key", r["vote_key"]))} for r in (row(latest[pair]) for pair in replaced)])
    deltas: dict[int, Counter[str]] = {}
    for pair in [*inserted, *replaced]:
        poll_id = pair[0]
        delta = deltas.setdefault(poll_id, Counter())
        delta.update(logic.contribution(kinds[poll_id], latest[pair].answer))
        if pair in old:
            delta.subtract(logic.contribution(kinds[poll_id], old[pair][0]))
    await tally.add(session, deltas)
    written = [latest[pair] for pair in pairs if pair in inserted or pair in replaced]
    return set(old), known, written


def _insert(session: AsyncSession) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert


def _changes(stored: list[_Checked]) -> list[Change]:
    """What a committed batch changed: the results of each poll answered (one change per event), and each
    poll's voters' own answer."""
    polls_of_event: dict[int, set[int]] = {}
    voters: dict[tuple[int, int], set[int]] = {}
    for checked in stored:
        vote = checked.vote
        polls_of_event.setdefault(vote.event_id, set()).add(vote.poll_id)
        voters.setdefault((vote.event_id, vote.poll_id), set()).add(vote.attendee_id)
    return [*(Change(Topic.POLL_RESULTS, event_id, frozenset(polls)) for event_id, polls in polls_of_event.items()),
            *(Change(Topic.POLL_ANSWER, event_id, frozenset({poll_id}), frozenset(attendees))
              for (event_id, poll_id), attendees in voters.items())]


async def _outsiders(session: AsyncSession, polls: dict[int, Poll], votes: list[Vote]) -> set[tuple[int, int]]:
    """(poll, attendee) pairs of votes on another region's poll: a region's own polls are for its attendees
    (a national poll is for everyone). One small query per event of the batch, one more when a regional poll is
    answered."""
    event_ids = {poll.event_id for poll in polls.values()}
    main = {event_id: await stages.main_stage_id(session, event_id) for event_id in event_ids}
    regional = {poll.id: poll.stage_id for poll in polls.values()
                if poll.stage_id is not None and poll.stage_id != main.get(poll.event_id)}
    voters = {vote.attendee_id for vote in votes if vote.poll_id in regional}
    if not voters:
        return set()
    homes = dict((await session.execute(select(Attendee.id, Attendee.stage_id).where(
        Attendee.id.in_(voters)))).tuples().all())
    return {(vote.poll_id, vote.attendee_id) for vote in votes
            if vote.poll_id in regional and homes.get(vote.attendee_id) != regional[vote.poll_id]}


def _check(vote: Vote, poll: Poll | None) -> _Checked | PollError:
    """The normalised answer to store, or the refusal (in the asker's language)."""
    with use_language(vote.language):
        if poll is None or poll.event_id != vote.event_id:
            return PollError(_("No such poll."), 404)
        if poll.state != "open":
            return PollError(_("This poll is not open."), 409)
        try:
            answer = logic.validate_answer(shape(poll), vote.answer)
        except logic.AnswerError as exc:
            return PollError(str(exc))
    return _Checked(vote, answer, poll.kind == "open_text")
