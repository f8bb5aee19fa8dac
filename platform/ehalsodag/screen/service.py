"""What a presenter screen shows: the moderators' choice per stage, and the participant figure.

The choice is one row per event and stage (:class:`~ehalsodag.screen.models.ScreenChoice`); changing it records
:attr:`~ehalsodag.changes.Topic.SCREEN` with the stage, and the screens, overlays and control panels of that stage
are pushed what they show now. The participant figure is counted from the attendance spans the attendance sampler
writes once a minute (every worker's attendees, each counted once), so it moves once a minute, not per join.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import distinct, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ehalsodag.agenda import tracks
from ehalsodag.attendees.models import Attendee
from ehalsodag.changes import Topic, changed
from ehalsodag.errors import RefusedError
from ehalsodag.i18n import _
from ehalsodag.polls.models import Poll
from ehalsodag.results.models import AttendanceSpan
from ehalsodag.screen.models import SCREEN_SHOWS, ScreenChoice
from ehalsodag.staff import audit

#: An attendee counts as present on the screen while their presence span reaches this close to now (a sample is
#: written once a minute per worker; two workers' samples may be a minute apart).
PRESENT_WITHIN = dt.timedelta(minutes=2)


class ScreenError(RefusedError):
    """A screen choice that cannot be made (an unknown kind, a poll of another event or stage)."""


@dataclass(frozen=True)
class Choice:
    """What the screens of one stage are set to show (the default: automatic, no participant count)."""

    show: str = "auto"
    poll_id: int | None = None
    participants: bool = False


def slot_of(event: Any, stage_id: int | None) -> int:
    """The stored key of a stage's screens: the shown stage's id, 0 for an event without stages."""
    stage = tracks.shown_stage(event, stage_id) if event.stages else None
    return stage.id if stage is not None else 0


async def choice_of(session: AsyncSession, event: Any, stage_id: int | None) -> Choice:
    """The choice for the screens of ``stage_id`` (None: the main stage)."""
    row = (await session.execute(select(ScreenChoice).where(
        ScreenChoice.event_id == event.id, ScreenChoice.slot == slot_of(event, stage_id)))).scalar_one_or_none()
    if row is None:
        return Choice()
    if row.show == "poll" and row.poll_id is None:  # the chosen poll was deleted
        return Choice("auto", None, row.participants)
    return Choice(row.show, row.poll_id, row.participants)


async def set_choice(session: AsyncSession, event: Any, stage_id: int | None, show: str, poll_id: int | None,
                     participants: bool | None, actor: str) -> Choice:
    """Set what the screens of ``stage_id`` show (``participants`` None: leave the participant count as it is)."""
    if show not in SCREEN_SHOWS:
        raise ScreenError(_("Choose what the screen shows: %(kinds)s.", kinds=", ".join(SCREEN_SHOWS)), 422)
    slot = slot_of(event, stage_id)
    if show == "poll":
        if poll_id is None:
            raise ScreenError(_("Choose the poll to show on the screen."), 422)
        poll = await session.get(Poll, poll_id)
        if poll is None or poll.event_id != event.id:
            raise ScreenError(_("No such poll."), 404)
        if event.stages and tracks.stage_of_content(event, poll.stage_id) != slot:
            raise ScreenError(_("That poll belongs to another stage."), 422)
    else:
        poll_id = None
    row = (await session.execute(select(ScreenChoice).where(
        ScreenChoice.event_id == event.id, ScreenChoice.slot == slot))).scalar_one_or_none()
    if row is None:
        row = ScreenChoice(event_id=event.id, slot=slot, show="auto", poll_id=None, participants=False)
        session.add(row)
    row.show, row.poll_id, row.changed_by = show, poll_id, actor
    if participants is not None:
        row.participants = participants
    await session.flush()
    audit.record(session, actor=actor, action="screen.show", event_id=event.id, show=show, poll_id=poll_id or 0,
                 stage=slot, participants=row.participants)
    changed(session, Topic.SCREEN, event.id, slot or None)
    return Choice(row.show, row.poll_id, row.participants)


async def participant_count(session: AsyncSession, event: Any, stage_id: int | None,
                            now: dt.datetime | None = None) -> int:
    """How many attendees are connected now: on a regional stage those whose home it is, else the whole event."""
    since = (now or dt.datetime.now(dt.UTC)).replace(second=0, microsecond=0) - PRESENT_WITHIN
    query = select(func.count(distinct(AttendanceSpan.attendee_id))).where(
        AttendanceSpan.event_id == event.id, AttendanceSpan.live.is_(True), AttendanceSpan.last_minute >= since)
    stage = tracks.shown_stage(event, stage_id) if tracks.is_national_day(event) else None
    if stage is not None and stage.id != tracks.main_stage_id(event):
        query = query.join(Attendee, Attendee.id == AttendanceSpan.attendee_id).where(Attendee.stage_id == stage.id)
    return int((await session.execute(query)).scalar_one())
