"""What each audience sees of the programme, and how to load just that.

Attendees: the announcement banner, now and next, the player, the programme, and which block a new
question goes to; a block going live is announced once. Moderators: the run-of-show and the banner
they posted. The presenter screen shows the block's title through the ``screen`` domain.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ColumnElement
from sqlalchemy.ext.asyncio import AsyncSession

from ehalsodag.agenda import tracks
from ehalsodag.agenda.view import EventView, event_view
from ehalsodag.changes import Change, Topic
from ehalsodag.fragments import Audience, ClockState, Fragment, Viewer
from ehalsodag.i18n import lazy
from ehalsodag.web.templating import hhmm

#: What changes when the programme moves on (a block goes live, the clock, a shift, a new programme file).
ATTENDEE_PROGRAMME = (("agenda/now_next.html", "now_next"), ("agenda/player.html", "player"),
                      ("agenda/programme.html", "programme"), ("agenda/ask_block.html", "ask_block"))


def home_views(event: Any, at: dt.datetime | None = None) -> list[tuple[frozenset[int] | None, EventView]]:
    """The event as each home stage's attendees see it: on a national day one view per stage (their own
    now/next and programme), else one view for everyone (None: every socket)."""
    at = at or dt.datetime.now(dt.UTC)
    if not tracks.is_national_day(event):
        return [(None, event_view(event, at))]
    return [(frozenset({stage.id}), event_view(event, at, stage.id)) for stage in event.stages]


def clock_state(event: Any, at: dt.datetime | None = None) -> ClockState:
    """What the clock decides of ``event`` now (per home stage: the block on, the next, notices, the stage
    followed) and a stamp of the programme as stored (a reload by another process changes it): the clock
    ticker pushes on a change, and moves regions between stages."""
    at = at or dt.datetime.now(dt.UTC)
    nows: dict[int | None, int | None] = {}
    followed: dict[int | None, int | None] = {}
    other = []
    main = tracks.main_stage_id(event)
    for homes, view in home_views(event, at):
        keys: list[int | None] = [None] if homes is None else list(homes)
        if homes is not None and main in homes:
            keys.append(None)
        for key in keys:
            nows[key] = view.now.id if view.now else None
            followed[key] = view.track.id if view.track else main
        other.append((view.next.id if view.next else None, view.day_over,
                      (view.resume.resumed, view.resume.national.id) if view.resume else None))
    # what a programme file sets, and nothing a moderator's actions change (those push for themselves)
    stamp = hash((event.title, event.description, event.date, event.timezone, event.recording_url,
                  tuple((s.id, s.key, s.name, s.kind, s.stream_url) for s in event.stages),
                  tuple((b.id, b.key, b.kind, b.title, b.description, b.planned_start, b.planned_end, b.removed,
                         b.stage_id, b.stream_url, b.film_url, b.recording_url, str(b.speakers))
                        for b in event.blocks)))
    return ClockState(nows, tuple(other), stamp, followed, day_over=all(item[1] for item in other))


class LocalTime:
    """A time shown in the language of the render (``hhmm``), for a text translated later."""

    def __init__(self, value: dt.datetime, timezone: str) -> None:
        self.value = value
        self.timezone = timezone

    def __str__(self) -> str:
        return hhmm(self.value, self.timezone)


class AgendaFragments:
    """The programme's fragment source."""

    topics = frozenset({Topic.AGENDA, Topic.REGION, Topic.ANNOUNCEMENT})

    async def for_change(self, session: AsyncSession, event: Any, change: Change) -> list[Fragment]:
        context = {"event": event, "view": event_view(event)}
        if change.topic is Topic.ANNOUNCEMENT:
            return [Fragment(Audience.ATTENDEE, "agenda/announcement.html", context),
                    Fragment(Audience.STAFF, "agenda/current_announcement.html", context)]
        fragments = []
        scope = tracks.agenda_scope(event, change.topic is Topic.REGION, change.ids)
        for homes, view in home_views(event):
            if scope is not None and homes is not None and not homes & scope:
                continue  # another region's programme: nothing of this page changed
            home_context = {"event": event, "view": view}
            fragments += [Fragment(Audience.ATTENDEE, template, home_context, homes=homes)
                          for template, _slot in ATTENDEE_PROGRAMME]
            now = view.now
            if change.ids and now is not None and now.id in change.ids:  # a block went live: say so, once
                fragments.append(Fragment(Audience.ATTENDEE, "layout/announce.html",
                                          {"text": lazy("Now live: %(title)s", title=now.title)}, homes=homes))
            elif change.topic is Topic.REGION and homes is not None and not view.regional:  # its moderator ended it
                fragments.append(Fragment(Audience.ATTENDEE, "layout/announce.html", {"text": lazy(
                    "Your regional block has ended: you follow the national programme again.")}, homes=homes))
            elif view.resume is not None:  # said when it appears (the announcer leaves a repeated text unread)
                at = LocalTime(view.resume.national.starts_at, event.timezone)
                text = (lazy("The national programme has resumed at %(time)s.", time=at) if view.resume.resumed
                        else lazy("The national programme resumes at %(time)s.", time=at))
                fragments.append(Fragment(Audience.ATTENDEE, "layout/announce.html", {"text": text}, homes=homes))
        for stage in event.stages if tracks.is_national_day(event) else [None]:
            if scope is not None and stage is not None and stage.id not in scope:
                continue
            staff_context = {"event": event, "view": event_view(event, home=stage.id if stage else None),
                             "shown": stage}
            fragments += [Fragment(Audience.STAFF, template, staff_context, stage=stage.id if stage else None)
                          for template in ("agenda/run_of_show.html", "agenda/ros_now.html")]
        return fragments

    async def snapshot(self, session: AsyncSession, event: Any, viewer: Viewer) -> list[Fragment]:
        context = {"event": event, "view": event_view(event, home=viewer.stage),
                   "shown": tracks.shown_stage(event, viewer.stage)}
        if viewer.audience is Audience.ATTENDEE:
            return [Fragment(Audience.ATTENDEE, "agenda/announcement.html", context, slot="announcement"),
                    *(Fragment(Audience.ATTENDEE, template, context, slot=slot)
                      for template, slot in ATTENDEE_PROGRAMME)]
        if viewer.audience is Audience.STAFF:
            return [Fragment(Audience.STAFF, "agenda/current_announcement.html", context, slot="current_announcement"),
                    Fragment(Audience.STAFF, "agenda/run_of_show.html", context, slot="run_of_show"),
                    Fragment(Audience.STAFF, "agenda/ros_now.html", context, slot="ros_now")]
        return []

    async def personal(self, session: AsyncSession, event: Any, viewer: Viewer) -> list[Fragment]:
        return []

    def personal_state(self) -> ColumnElement[bool] | None:
        return None
