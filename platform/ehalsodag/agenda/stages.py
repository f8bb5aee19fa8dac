"""Stages in the database: whose content an attendee may take part in, without loading the whole event.

The hot paths (an upvote, a vote, a chat message) know the content's stage and the attendee; loading
the event with every block to decide would cost more than the write.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ehalsodag.agenda.models import Stage
from ehalsodag.attendees.models import Attendee


async def main_stage_id(session: AsyncSession, event_id: int) -> int | None:
    """The event's main stage (its national stage, else its first) as :func:`tracks.main_stage` picks it."""
    return (await session.execute(select(Stage.id).where(Stage.event_id == event_id).order_by(
        Stage.kind != "national", Stage.position, Stage.id).limit(1))).scalar()


async def stage_open_to(session: AsyncSession, stage_id: int | None, attendee: Attendee) -> bool:
    """Whether content of ``stage_id`` is the attendee's to take part in: the main stage's or their region's
    (another region's questions, polls and chat are not)."""
    if stage_id is None or stage_id == attendee.stage_id:
        return True
    stage = await session.get(Stage, stage_id)
    if stage is None or stage.is_national:
        return True
    return await main_stage_id(session, stage.event_id) == stage_id
