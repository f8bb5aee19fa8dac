"""Ending the broadcast: one moderator's action that closes the live block, the open polls and the chat, and
opens the evaluation — in one unit of work, each change recorded for the pages (published after the commit).

On a national day it ends the moderator's stage: the national stage ends the day's broadcast (the chat and the
evaluation are the whole event's, so only a moderator of the whole event closes and opens those); a region's
moderator ends their region's block and polls, and its attendees follow the national programme again. Ending
what has ended changes nothing (and says so).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ehalsodag.agenda import tracks
from ehalsodag.agenda.models import Event, Stage
from ehalsodag.agenda.service import utcnow
from ehalsodag.changes import Topic, changed
from ehalsodag.chat import service as chat_service
from ehalsodag.evaluation import service as evaluation_service
from ehalsodag.polls import service as poll_service
from ehalsodag.polls.models import Poll
from ehalsodag.staff import audit


@dataclass
class Ended:
    """What ending the broadcast changed."""

    block: bool = False
    polls: list[int] = field(default_factory=list)
    chat: bool = False
    evaluation: bool = False
    #: The region whose broadcast ended (None: the main stage's, the day's).
    region: Stage | None = None

    @property
    def changed(self) -> bool:
        """Whether anything changed (a second press changes nothing)."""
        return self.block or bool(self.polls) or self.chat or self.evaluation


def ended(event: Event) -> bool:
    """Whether a moderator ended the day's broadcast (and no block was taken live since)."""
    return event.broadcast_ended_at is not None


async def end_broadcast(session: AsyncSession, event: Event, stage: Stage | None, actor: str, *,
                        whole_event: bool) -> Ended:
    """End the broadcast of ``stage`` (None: the main stage). ``whole_event``: the moderator moderates every
    stage, and so closes the chat and opens the evaluation too."""
    now = utcnow()
    main = tracks.main_stage(event)
    regional = tracks.is_national_day(event) and stage is not None and stage is not main
    result = Ended(region=stage if regional else None)
    if regional:
        assert stage is not None
        block = tracks.regional_block_on(event, stage, now)
        if block is not None:
            block.ended_at = now
            stage.live_block_id = None
            changed(session, Topic.REGION, event.id, stage.id)
            result.block = True
    elif event.broadcast_ended_at is None:
        event.broadcast_ended_at = now
        event.live_block_id = None
        changed(session, Topic.AGENDA, event.id)
        changed(session, Topic.STAGE, event.id)
        result.block = True
    stage_id = stage.id if stage is not None else main.id if main is not None else None
    open_polls = (await session.execute(select(Poll).where(
        Poll.event_id == event.id, Poll.state == "open", tracks.on_stage(Poll.stage_id, event, stage_id))
        .order_by(Poll.id))).scalars().all()
    for poll in open_polls:
        await poll_service.change(session, poll, "close", actor)
        result.polls.append(poll.id)
    if not regional and whole_event:
        if event.chat_enabled:
            await chat_service.set_chat_enabled(session, event, False, actor)
            result.chat = True
        if not evaluation_service.window(event, now).open:
            await evaluation_service.open_now(session, event, actor)
            result.evaluation = True
    if result.changed:
        audit.record(session, actor=actor, action="broadcast.end", event_id=event.id,
                     stage=stage_id, block=result.block, polls=result.polls, chat=result.chat,
                     evaluation=result.evaluation)
    return result
