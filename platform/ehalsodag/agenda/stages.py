"""Stages in the database: whose content an attendee may take part in, without loading the whole event.

The hot paths (an upvote, a vote, a chat message) know the content's stage and the attendee; loading
the event with every block to decide would cost more than the write.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from litestar.connection import ASGIConnection
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


def stage_of_path(model: Any, parameter: str) -> Callable[[ASGIConnection[Any, Any, Any, Any]], Awaitable[int | None]]:
    """For a staff guard's ``opt["stage_of"]``: the stage of the row (a question, poll, chat message) the path's
    ``parameter`` names; none stored: the event's main stage."""

    async def stage_of(connection: ASGIConnection[Any, Any, Any, Any]) -> int | None:
        async with connection.app.state.db.reader() as session:
            row = await session.get(model, connection.path_params[parameter])
            if row is None:
                return None
            return row.stage_id or await main_stage_id(session, row.event_id)

    return stage_of
