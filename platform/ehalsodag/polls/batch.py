"""Group commit for poll answers: many votes, one transaction, and each vote acknowledged only after it.

A vote burst from thousands of attendees would otherwise be thousands of transactions, each waiting
for its own fsync. The writer collects the answers that arrive while the previous batch is being
written, upserts them in one transaction and then releases every waiting request: the one-vote rule
(the unique constraint) and "committed before acknowledged" both still hold.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, tuple_

from ehalsodag.db.engine import Database
from ehalsodag.polls.models import PollResponse

log = logging.getLogger(__name__)
MAX_BATCH = 2000


@dataclass
class _Pending:
    poll_id: int
    attendee_id: int
    answer: dict[str, Any]
    wall: bool
    done: asyncio.Future[bool] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


class VoteWriter:
    """Writes poll answers in batches; :meth:`write` returns once the answer is committed."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._queue: asyncio.Queue[_Pending] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self.batches = 0

    def start(self) -> None:
        """Start the writer task."""
        self._task = asyncio.create_task(self._run(), name="vote-writer")

    async def stop(self) -> None:
        """Write what is queued, then stop."""
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        leftover = []
        while not self._queue.empty():
            leftover.append(self._queue.get_nowait())
        if leftover:
            await self._write(leftover)

    async def write(self, poll_id: int, attendee_id: int, answer: dict[str, Any], *, wall: bool = False) -> bool:
        """Store (or replace) one answer; True when it is the attendee's first. Returns after the commit."""
        if self._task is None:  # no writer running (scripts, tests without a lifespan): write at once
            pending = _Pending(poll_id, attendee_id, answer, wall)
            await self._write([pending])
            return pending.done.result()
        pending = _Pending(poll_id, attendee_id, answer, wall)
        await self._queue.put(pending)
        return await pending.done

    async def _run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while not self._queue.empty() and len(batch) < MAX_BATCH:
                batch.append(self._queue.get_nowait())
            try:
                await self._write(batch)
            except Exception as exc:  # every waiting request gets the error; the writer goes on
                log.exception("writing %d votes failed", len(batch))
                for pending in batch:
                    if not pending.done.done():
                        pending.done.set_exception(exc)

    async def _write(self, batch: list[_Pending]) -> None:
        latest: dict[tuple[int, int], _Pending] = {}
        for pending in batch:  # the same attendee twice in one batch: the later answer wins
            latest[(pending.poll_id, pending.attendee_id)] = pending
        now = dt.datetime.now(dt.UTC)
        async with self.db.writer() as session:
            existing = set((await session.execute(
                select(PollResponse.poll_id, PollResponse.attendee_id)
                .where(tuple_(PollResponse.poll_id, PollResponse.attendee_id).in_(list(latest))))).tuples())
            if session.get_bind().dialect.name == "postgresql":
                from sqlalchemy.dialects.postgresql import insert
            else:
                from sqlalchemy.dialects.sqlite import insert
            rows = [{"poll_id": p.poll_id, "attendee_id": p.attendee_id, "answer": p.answer, "created_at": now,
                     "updated_at": now, "wall_status": "pending" if p.wall else None,
                     "wall_text": p.answer.get("text") if p.wall else None} for p in latest.values()]
            statement = insert(PollResponse)
            statement = statement.on_conflict_do_update(
                index_elements=["poll_id", "attendee_id"],
                set_={"answer": statement.excluded.answer, "updated_at": statement.excluded.updated_at,
                      "wall_status": statement.excluded.wall_status, "wall_text": statement.excluded.wall_text},
            )
            await session.execute(statement, rows)
            await session.commit()
        self.batches += 1
        seen: set[tuple[int, int]] = set()
        for pending in batch:
            key = (pending.poll_id, pending.attendee_id)
            if not pending.done.done():
                pending.done.set_result(key not in existing and key not in seen)
            seen.add(key)
