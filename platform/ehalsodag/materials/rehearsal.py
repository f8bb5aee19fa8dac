"""Rehearsals: a copy of any event at today's date ("as if today") with the same programme, polls and
evaluation, so moderators practise the control panel before the day; deleted with everything in it at once.

The copy carries ``rehearsal_of_id`` (every page shows the "Rehearsal" banner), the original's staff roles
(each mapped to the copy's stages) and new join codes. Deleting it deletes the event row; the database's
``ON DELETE CASCADE`` takes every row that belongs to it (attendees, questions, votes, chat, roles …); its audit
entries go too, and one entry on the original says that a rehearsal was made and removed.
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, inspect, select
from sqlalchemy.ext.asyncio import AsyncSession

from ehalsodag.agenda.models import Block, Event, Stage
from ehalsodag.agenda.service import _new_join_code, event_by_slug
from ehalsodag.evaluation.models import EvaluationQuestion
from ehalsodag.polls.models import Poll, PollOption
from ehalsodag.staff import audit
from ehalsodag.staff.models import AuditEntry, StaffRole

_NOT_COPIED = {"id", "created_at", "updated_at"}


class RehearsalError(ValueError):
    """A rehearsal that cannot be made or removed (409)."""


def _columns(row: Any, **overrides: Any) -> dict[str, Any]:
    values = {c.key: getattr(row, c.key) for c in inspect(type(row)).column_attrs if c.key not in _NOT_COPIED}
    values.update(overrides)
    return values


def _today_at(moment: dt.datetime, timezone: str, today: dt.date) -> dt.datetime:
    """The same wall-clock time as ``moment`` (in the event's zone), on ``today``, in UTC."""
    zone = ZoneInfo(timezone)
    local = moment.astimezone(zone)
    return dt.datetime.combine(today, local.time(), zone).astimezone(dt.UTC)


async def rehearse(session: AsyncSession, original: Event, actor: str, *, slug: str | None = None,
                   today: dt.date | None = None, starts_at: dt.datetime | None = None) -> Event:
    """A rehearsal copy of ``original`` at today's date (in the event's time zone), each block at its own
    wall-clock time; with ``starts_at``, the whole programme moved so that its first block starts then (the
    demo: a day that is on now, whatever the hour)."""
    if original.rehearsal_of_id is not None:
        raise RehearsalError("a rehearsal cannot be rehearsed; rehearse the day itself")
    zone = ZoneInfo(original.timezone)
    today = (starts_at.astimezone(zone).date() if starts_at else None) or today or dt.datetime.now(zone).date()
    first = min((b.planned_start for b in original.active_blocks()), default=None)

    def moved(moment: dt.datetime) -> dt.datetime:
        if starts_at is not None and first is not None:
            return starts_at.astimezone(dt.UTC) + (moment - first)
        return _today_at(moment, original.timezone, today)

    slug = slug or f"{original.slug[:80]}-repetition-{secrets.token_hex(3)}"
    taken: set[str] = set()
    copy = Event(**_columns(
        original, slug=slug, date=today, join_code=await _new_join_code(session, taken), live_block_id=None,
        announcement=None, announcement_at=None, evaluation_opened_at=None, evaluation_present=None,
        purged_at=None, rehearsal_of_id=original.id, evaluation_published=False), stages=[], blocks=[])
    session.add(copy)
    await session.flush()
    stages: dict[int, Stage] = {}
    for stage in original.stages:
        code = await _new_join_code(session, taken) if stage.join_code else None
        stages[stage.id] = Stage(**_columns(stage, event_id=copy.id, join_code=code, live_block_id=None))
        session.add(stages[stage.id])
    await session.flush()
    blocks: dict[int, Block] = {}
    for block in original.active_blocks():
        blocks[block.id] = Block(**_columns(
            block, event_id=copy.id, stage_id=stages[block.stage_id].id, shift_minutes=0, overrun_minutes=0,
            went_live_at=None, ended_at=None,
            planned_start=moved(block.planned_start), planned_end=moved(block.planned_end)))
        session.add(blocks[block.id])
    await session.flush()
    polls = (await session.execute(select(Poll).where(Poll.event_id == original.id))).scalars().all()
    for poll in polls:
        if poll.block_id is not None and poll.block_id not in blocks:
            continue  # a poll of a removed block
        session.add(Poll(**_columns(
            poll, event_id=copy.id, block_id=blocks[poll.block_id].id if poll.block_id else None,
            stage_id=stages[poll.stage_id].id if poll.stage_id in stages else None, state="draft",
            revealed=False, opened_at=None, closed_at=None, published=False),
            options=[PollOption(label=o.label, position=o.position) for o in poll.options]))
    questions = (await session.execute(select(EvaluationQuestion).where(
        EvaluationQuestion.event_id == original.id))).scalars().all()
    for question in questions:
        session.add(EvaluationQuestion(**_columns(question, event_id=copy.id)))
    roles = (await session.execute(select(StaffRole).where(StaffRole.event_id == original.id))).scalars().all()
    for role in roles:
        session.add(StaffRole(user_id=role.user_id, event_id=copy.id, role=role.role,
                              stage_id=stages[role.stage_id].id if role.stage_id in stages else None))
    audit.record(session, actor=actor, action="rehearsal.create", event_id=original.id, slug=slug)
    await session.flush()
    return copy


async def remove(session: AsyncSession, copy: Event, actor: str) -> Event | None:
    """Delete a rehearsal copy and everything in it; return the original (None if that is gone too)."""
    if copy.rehearsal_of_id is None:
        raise RehearsalError("only a rehearsal can be deleted here")
    original = await session.get(Event, copy.rehearsal_of_id)
    copy_id, slug = copy.id, copy.slug
    session.expunge(copy)
    await session.execute(delete(AuditEntry).where(AuditEntry.event_id == copy_id))
    await session.execute(delete(Event).where(Event.id == copy_id))
    if original is not None:
        audit.record(session, actor=actor, action="rehearsal.delete", event_id=original.id, slug=slug)
    await session.flush()
    return original


async def remove_rehearsals_of(session: AsyncSession, original: Event, actor: str) -> None:
    """Delete every rehearsal of ``original`` (the demo makes a fresh one at each start)."""
    copies = (await session.execute(select(Event).where(Event.rehearsal_of_id == original.id))).scalars().all()
    for copy in copies:
        await remove(session, copy, actor)


async def demo_rehearsal(session: AsyncSession, slug: str, now: dt.datetime | None = None) -> Event | None:
    """The demo's day as if today: a fresh rehearsal of ``slug`` at ``{slug}-repetition`` whose first block began
    a few minutes ago, so a newcomer sees a day that is on (not one long over)."""
    original = await event_by_slug(session, slug)
    if original is None:
        return None
    await remove_rehearsals_of(session, original, "demo")
    now = now or dt.datetime.now(dt.UTC)
    start = now.replace(second=0, microsecond=0) - dt.timedelta(minutes=2)
    return await rehearse(session, original, "demo", slug=f"{slug}-repetition", starts_at=start)
