"""Kept poll tallies: each poll's counts, changed with its answers, so that a results push reads a few rows
instead of every answer.

The tally lives in the database (``poll_tally``) and is changed in the transaction that changes the answers
(the vote writer's batch, a reset, an attendee erasing their data): every worker reads the same committed
sums, never only the votes it took itself, and a tally equals a recount of the answers at every commit.
:func:`rebuild` recounts from the answers (when the app starts, and for a poll whose tally was never kept);
:func:`results_of` falls back to a recount for a poll without a tally.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import delete, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from ehalsodag.db.engine import Database
from ehalsodag.operations.checks import database_revision, head_revision
from ehalsodag.polls import logic
from ehalsodag.polls.models import Poll, PollResponse, poll_tally
from ehalsodag.web.outage import is_outage

log = logging.getLogger(__name__)


def _insert(session: AsyncSession) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert


async def add(session: AsyncSession, deltas: Mapping[int, Counter[str]]) -> None:
    """Add ``deltas`` (per poll, per key; negative to take away) to the kept tallies, in this transaction.
    Rows are written in key order, so that two workers' batches lock them in the same order."""
    rows = [{"poll_id": poll_id, "key": key, "count": count}
            for poll_id in sorted(deltas) for key, count in sorted(deltas[poll_id].items()) if count]
    if not rows:
        return
    statement = _insert(session)(poll_tally)
    statement = statement.on_conflict_do_update(
        index_elements=["poll_id", "key"], set_={"count": poll_tally.c.count + statement.excluded.count})
    await session.execute(statement, rows)


async def forget(session: AsyncSession, poll_ids: Iterable[int]) -> None:
    """The polls have no answers any more (a reset): their tallies go, in this transaction."""
    await session.execute(delete(poll_tally).where(poll_tally.c.poll_id.in_(list(poll_ids))))


async def read(session: AsyncSession, poll_id: int) -> dict[str, int] | None:
    """The poll's kept tally, or None when none is kept (never counted, or reset since)."""
    rows = dict((await session.execute(
        select(poll_tally.c.key, poll_tally.c.count).where(poll_tally.c.poll_id == poll_id))).tuples().all())
    return rows if logic.RESPONSES in rows else None


async def recount(session: AsyncSession, poll_ids: Iterable[int] | None = None) -> dict[int, Counter[str]]:
    """The tallies a full recount of the stored answers gives (of every poll, or of ``poll_ids``); every poll
    asked for has one, if only ``{"n": 0}``."""
    polls = select(Poll.id, Poll.kind)
    answers = select(PollResponse.poll_id, Poll.kind, PollResponse.answer).join(Poll, Poll.id == PollResponse.poll_id)
    if poll_ids is not None:
        wanted = list(poll_ids)
        polls = polls.where(Poll.id.in_(wanted))
        answers = answers.where(PollResponse.poll_id.in_(wanted))
    tallies: dict[int, Counter[str]] = {
        poll_id: Counter({logic.RESPONSES: 0}) for poll_id, _kind in (await session.execute(polls)).tuples()}
    for poll_id, kind, answer in (await session.execute(answers)).tuples():
        tallies.setdefault(poll_id, Counter({logic.RESPONSES: 0})).update(logic.contribution(kind, answer))
    return tallies


async def rebuild(session: AsyncSession, poll_ids: Iterable[int] | None = None) -> int:
    """Replace the kept tallies (of every poll, or of ``poll_ids``) by a recount, in this transaction; returns
    how many polls were counted.

    On PostgreSQL the tally table is locked first: a vote batch of another worker then either committed before
    the recount reads the answers, or adds its change on top of the recount afterwards (a batch writes its
    answers before its tally rows)."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("LOCK TABLE poll_tally IN EXCLUSIVE MODE"))
    wanted = None if poll_ids is None else list(poll_ids)
    tallies = await recount(session, wanted)
    if wanted is None:
        await session.execute(delete(poll_tally))
    else:
        await forget(session, wanted)
    rows = [{"poll_id": poll_id, "key": key, "count": count}
            for poll_id, tally in sorted(tallies.items()) for key, count in sorted(tally.items())
            if count or key == logic.RESPONSES]
    if rows:
        await session.execute(poll_tally.insert(), rows)
    return len(tallies)


async def results_of(session: AsyncSession, poll: Poll, wall: Iterable[str] = ()) -> logic.PollResult:
    """The poll's results from its kept tally (a recount when it has none)."""
    tally = await read(session, poll.id)
    if tally is None:
        tally = (await recount(session, [poll.id]))[poll.id]
    scale = (poll.scale_min or 1, poll.scale_max or 5) if poll.kind == "scale" else None
    return logic.from_tally(poll.kind, [(o.id, o.label) for o in poll.options], dict(tally), scale=scale, wall=wall)


async def rebuild_tallies(db: Database) -> asyncio.Task[None] | None:
    """Recount every poll's tally from its answers (when the app starts: whatever happened while it was down,
    and the answers given before tallies were kept, is counted). A database that is away is not fatal here:
    a poll without a tally is recounted when its results are read.

    A database behind the code's migrations is not fatal either (``/readyz`` says so): the recount then waits
    for the upgrade in a task, returned for the caller to cancel at shutdown, and runs once the database is
    current (votes taken meanwhile are counted by it)."""
    try:
        if await database_revision(db.engine) != head_revision():
            log.warning("the poll tallies are rebuilt once the database's migrations are current")
            return asyncio.get_running_loop().create_task(_rebuild_when_current(db))
        await _rebuild(db)
    except Exception as exc:
        if not is_outage(exc):
            raise
        log.warning("the poll tallies could not be rebuilt at start: %s", exc)
    return None


async def _rebuild(db: Database) -> None:
    async with db.writer() as session:
        counted = await rebuild(session)
        await session.commit()
    log.debug("poll tallies rebuilt for %d polls", counted)


async def _rebuild_when_current(db: Database, every: float = 2.0) -> None:
    while True:
        await asyncio.sleep(every)
        try:
            if await database_revision(db.engine) == head_revision():
                await _rebuild(db)
                return
        except Exception as exc:
            if not is_outage(exc):
                raise
            log.warning("the poll tallies could not be rebuilt yet: %s", exc)
