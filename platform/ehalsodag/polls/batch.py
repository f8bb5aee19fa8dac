"""Group commit for poll answers (see :mod:`ehalsodag.db.batch`): many votes, one transaction.

The one-vote rule (the unique constraint, through an upsert) and "committed before acknowledged"
both still hold; each caller learns whether the answer was the attendee's first.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, tuple_

from ehalsodag.db.batch import GroupCommit
from ehalsodag.polls.models import PollResponse


@dataclass(frozen=True)
class Vote:
    """One attendee's (normalised) answer to one poll."""

    poll_id: int
    attendee_id: int
    answer: dict[str, Any]
    wall: bool


class VoteWriter(GroupCommit[Vote]):
    """Writes poll answers in batches; :meth:`write` returns once the answer is committed."""

    async def write(self, poll_id: int, attendee_id: int, answer: dict[str, Any], *, wall: bool = False) -> bool:
        """Store (or replace) one answer; True when it is the attendee's first."""
        return await self.submit(Vote(poll_id, attendee_id, answer, wall))

    async def write_batch(self, items: list[Vote]) -> list[bool]:
        """Upsert the batch (the later of two answers by one attendee wins); report which were first."""
        latest = {(vote.poll_id, vote.attendee_id): vote for vote in items}
        now = dt.datetime.now(dt.UTC)
        async with self.db.writer() as session:
            existing = set((await session.execute(
                select(PollResponse.poll_id, PollResponse.attendee_id)
                .where(tuple_(PollResponse.poll_id, PollResponse.attendee_id).in_(list(latest))))).tuples())
            if session.get_bind().dialect.name == "postgresql":
                from sqlalchemy.dialects.postgresql import insert
            else:
                from sqlalchemy.dialects.sqlite import insert
            rows = [{"poll_id": v.poll_id, "attendee_id": v.attendee_id, "answer": v.answer, "created_at": now,
                     "updated_at": now, "wall_status": "pending" if v.wall else None,
                     "wall_text": v.answer.get("text") if v.wall else None} for v in latest.values()]
            statement = insert(PollResponse)
            statement = statement.on_conflict_do_update(
                index_elements=["poll_id", "attendee_id"],
                set_={"answer": statement.excluded.answer, "updated_at": statement.excluded.updated_at,
                      "wall_status": statement.excluded.wall_status, "wall_text": statement.excluded.wall_text},
            )
            await session.execute(statement, rows)
            await session.commit()
        first: list[bool] = []
        seen: set[tuple[int, int]] = set()
        for vote in items:
            key = (vote.poll_id, vote.attendee_id)
            first.append(key not in existing and key not in seen)
            seen.add(key)
        return first
