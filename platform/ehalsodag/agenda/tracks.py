"""Stages and tracks: which stage each attendee follows at a given moment. Pure functions.

An event has a *main stage* (the national stage of a national day, else its first stage) and, on a
national day, regional stages. Every attendee has a *home* stage: their region, or the main stage.
National blocks are for everyone; while a regional block of the attendee's region is on, they follow
that region's stage (its stream, Q&A, polls and chat), and the main stage again when it ends. Which
stage a home follows right now is its *track*.

A regional block is on from its (shifted) start to its (shifted) end, or from when its moderator took
it live early, until a moderator ends it. So a regional block running ten minutes late (shifted on its
own stage) keeps its region for those ten minutes and never moves the national programme.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, or_
from sqlalchemy.orm import InstrumentedAttribute

from ehalsodag.agenda import runofshow
from ehalsodag.agenda.models import Block, Event, Stage
from ehalsodag.fragments import Audience, Fragment, Viewer

#: How long before the national programme resumes a region still in its own block is told so.
RESUME_NOTICE_MINUTES = 10


def main_stage(event: Event) -> Stage | None:
    """The stage everyone follows outside regional blocks."""
    return next((s for s in event.stages if s.is_national), event.stages[0] if event.stages else None)


def main_stage_id(event: Event) -> int | None:
    """The id of :func:`main_stage`."""
    stage = main_stage(event)
    return stage.id if stage else None


def is_national_day(event: Event) -> bool:
    """Whether the event interleaves a national stage with regional ones."""
    return any(s.is_national for s in event.stages) and len(event.stages) > 1


def regional_stages(event: Event) -> list[Stage]:
    """Every stage but the main one (the regions of a national day)."""
    main = main_stage(event)
    return [s for s in event.stages if s is not main]


def stage_by_id(event: Event, stage_id: int | None) -> Stage | None:
    """The event's stage with ``stage_id``."""
    return next((s for s in event.stages if s.id == stage_id), None)


def stage_by_key(event: Event, key: str | int | None) -> Stage | None:
    """The event's stage named by its key (``ostergotland``) or, for API clients, its numeric id."""
    if key is None or key == "":
        return None
    for stage in event.stages:
        if stage.key == key or str(stage.id) == str(key):
            return stage
    return None


def home_of(event: Event, stage_id: int | None) -> Stage | None:
    """An attendee's home stage: the stage they chose, if it is still one of the event's, else the main one."""
    return stage_by_id(event, stage_id) or main_stage(event)


def stage_blocks(event: Event, stage: Stage | None) -> list[Block]:
    """The stage's blocks still in the programme, in the order they run."""
    if stage is None:
        return []
    return [b for b in runofshow.ordered([b for b in event.active_blocks() if b.stage_id == stage.id])
            if isinstance(b, Block)]


def live_block_id(event: Event, stage: Stage | None) -> int | None:
    """The block a moderator took live on ``stage`` (the main stage keeps it on the event)."""
    if stage is None:
        return None
    return event.live_block_id if stage is main_stage(event) else stage.live_block_id


def regional_block_on(event: Event, stage: Stage, at: dt.datetime) -> Block | None:
    """The regional block on now on ``stage`` (None: its attendees follow the main stage)."""
    blocks = stage_blocks(event, stage)
    live = next((b for b in blocks if b.id == stage.live_block_id), None)
    if live is not None and live.ended_at is None and at < live.ends_at:
        return live
    return next((b for b in blocks if b.ended_at is None and b.starts_at <= at < b.ends_at), None)


def track_of(event: Event, home: Stage | None, at: dt.datetime) -> Stage | None:
    """The stage a home follows at ``at``."""
    main = main_stage(event)
    if home is None or home is main:
        return main
    return home if regional_block_on(event, home, at) is not None else main


def tracks(event: Event, at: dt.datetime | None = None) -> dict[int, int]:
    """Every home stage's id → the id of the stage it follows at ``at``."""
    at = at or dt.datetime.now(dt.UTC)
    main = main_stage(event)
    result: dict[int, int] = {}
    for stage in event.stages:
        followed = track_of(event, stage, at) or main
        if followed is not None:
            result[stage.id] = followed.id
    return result


def homes_following(event: Event, stage_id: int, at: dt.datetime | None = None) -> frozenset[int]:
    """The home stages whose attendees follow ``stage_id`` at ``at``."""
    return frozenset(home for home, followed in tracks(event, at).items() if followed == stage_id)


def visible_stage_ids(event: Event, home: Stage | None) -> frozenset[int]:
    """Stages whose content an attendee of ``home`` may take part in: the main stage and their own."""
    return frozenset(s.id for s in (main_stage(event), home) if s is not None)


def track_blocks(event: Event, home: Stage | None) -> list[Block]:
    """The blocks of a home's own day: the main stage's and, for a region, its own, in order."""
    main = main_stage(event)
    stages = {s.id for s in (main, home) if s is not None}
    return [b for b in runofshow.ordered([b for b in event.active_blocks() if b.stage_id in stages])
            if isinstance(b, Block)]


@dataclass(frozen=True)
class ResumeNotice:
    """A region still in its own block while the national programme resumes (or is about to)."""

    regional: Block
    national: Block
    #: True once the national block has started.
    resumed: bool


def resume_notice(event: Event, home: Stage | None, at: dt.datetime) -> ResumeNotice | None:
    """Tell a region whose own block runs on past the national programme's restart, shortly before and while
    it happens. The restart is the first national block planned to start when the regional block was planned
    to end: national content running alongside the regional block (a film for those without a region) is not."""
    main = main_stage(event)
    if home is None or home is main:
        return None
    regional = regional_block_on(event, home, at)
    if regional is None:
        return None
    restart = next((b for b in stage_blocks(event, main) if b.planned_start >= regional.planned_end), None)
    if restart is None or restart.starts_at >= regional.ends_at or restart.ends_at <= at:
        return None
    if restart.starts_at - at <= dt.timedelta(minutes=RESUME_NOTICE_MINUTES):
        return ResumeNotice(regional, restart, resumed=restart.starts_at <= at)
    return None


def socket_stages(event: Event, fragment: Fragment, at: dt.datetime | None = None) -> frozenset[int | None] | None:
    """The stages of the sockets a fragment goes to (:attr:`Connection.stage`; None stands for the main stage
    there too), or None for every socket of its audience. An attendee page gets a stage's content while its
    home follows that stage; a control panel or screen while it shows that stage."""
    if fragment.homes is not None:
        wanted: frozenset[int] = fragment.homes
    elif fragment.stage is None:
        return None
    elif fragment.audience is Audience.ATTENDEE:
        wanted = homes_following(event, fragment.stage, at)
    else:
        wanted = frozenset({fragment.stage})
    main = main_stage_id(event)
    return wanted | {None} if main in wanted else wanted


def shown_stage(event: Event, stage_id: int | None) -> Stage | None:
    """The stage a control panel or screen shows (None or an unknown id: the main stage)."""
    return stage_by_id(event, stage_id) or main_stage(event)


def content_stage_id(event: Event, viewer: Viewer, at: dt.datetime | None = None) -> int | None:
    """The stage whose content (questions, polls, chat) ``viewer``'s page shows: on the attendee page the
    stage their home follows now, on a control panel or screen the stage shown."""
    if viewer.audience is Audience.ATTENDEE:
        followed = track_of(event, home_of(event, viewer.stage), at or dt.datetime.now(dt.UTC))
    else:
        followed = shown_stage(event, viewer.stage)
    return followed.id if followed else None


def on_stage(column: ColumnElement[Any] | InstrumentedAttribute[Any], event: Event,
             stage_id: int | None) -> ColumnElement[bool]:
    """A SQL condition: ``column`` (a stage_id) is ``stage_id``; content without a stage belongs to the main one."""
    if stage_id is None or stage_id == main_stage_id(event):
        return or_(column == main_stage_id(event), column.is_(None))
    return column == stage_id


def stage_of_content(event: Event, stage_id: int | None) -> int | None:
    """The stage a question, poll or message belongs to (None stored: the main stage)."""
    return stage_id if stage_id is not None else main_stage_id(event)


def agenda_scope(event: Event, regional: bool, ids: frozenset[int]) -> frozenset[int] | None:
    """The stages whose pages a change of the programme concerns (None: every page). ``regional``: ``ids`` are
    regional stages whose own programme changed; otherwise ``ids`` are blocks that went live, and a regional
    block going live concerns its own region only."""
    if not is_national_day(event):
        return None
    if regional:
        return ids
    if not ids:
        return None
    main = main_stage_id(event)
    stages = {b.stage_id for b in event.blocks if b.id in ids}
    return None if not stages or main in stages else frozenset(stages)
