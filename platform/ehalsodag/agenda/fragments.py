"""What each audience sees of the programme, and how to load just that.

Attendees: the announcement banner, now and next, the player, the programme, and which block a new
question goes to; a block going live is announced once. Moderators: the run-of-show and the banner
they posted. The presenter screen shows the block's title through the ``screen`` domain.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Hashable
from typing import Any

from sqlalchemy import ColumnElement
from sqlalchemy.ext.asyncio import AsyncSession

from ehalsodag.agenda.view import event_view
from ehalsodag.changes import Change, Topic
from ehalsodag.fragments import Audience, Fragment, Viewer
from ehalsodag.i18n import lazy

#: What changes when the programme moves on (a block goes live, the clock, a shift, a new programme file).
ATTENDEE_PROGRAMME = (("agenda/now_next.html", "now_next"), ("agenda/player.html", "player"),
                      ("agenda/programme.html", "programme"), ("agenda/ask_block.html", "ask_block"))


def clock_state(event: Any, at: dt.datetime | None = None) -> tuple[int | None, Hashable, Hashable]:
    """What the clock decides of ``event`` now (the block on, the next, whether the day is over) and a stamp of
    the programme as stored (a reload by another process changes it): the clock ticker pushes on a change."""
    view = event_view(event, at)
    # what a programme file sets, and nothing a moderator's actions change (those push for themselves)
    stamp = hash((event.title, event.description, event.date, event.timezone, event.recording_url,
                  tuple((b.id, b.key, b.kind, b.title, b.description, b.planned_start, b.planned_end, b.removed,
                         b.stream_url, b.film_url, b.recording_url, str(b.speakers)) for b in event.blocks)))
    return (view.now.id if view.now else None, (view.next.id if view.next else None, view.day_over), stamp)


class AgendaFragments:
    """The programme's fragment source."""

    topics = frozenset({Topic.AGENDA, Topic.ANNOUNCEMENT})

    async def for_change(self, session: AsyncSession, event: Any, change: Change) -> list[Fragment]:
        context = {"event": event, "view": event_view(event)}
        if change.topic is Topic.ANNOUNCEMENT:
            return [Fragment(Audience.ATTENDEE, "agenda/announcement.html", context),
                    Fragment(Audience.STAFF, "agenda/current_announcement.html", context)]
        fragments = [Fragment(Audience.ATTENDEE, template, context) for template, _slot in ATTENDEE_PROGRAMME]
        now = context["view"].now
        if change.ids and now is not None and now.id in change.ids:  # a block went live: say so, once
            fragments.append(Fragment(Audience.ATTENDEE, "layout/announce.html",
                                      {"text": lazy("Now live: %(title)s", title=now.title)}))
        fragments.append(Fragment(Audience.STAFF, "agenda/run_of_show.html", context))
        return fragments

    async def snapshot(self, session: AsyncSession, event: Any, viewer: Viewer) -> list[Fragment]:
        context = {"event": event, "view": event_view(event)}
        if viewer.audience is Audience.ATTENDEE:
            return [Fragment(Audience.ATTENDEE, "agenda/announcement.html", context, slot="announcement"),
                    *(Fragment(Audience.ATTENDEE, template, context, slot=slot)
                      for template, slot in ATTENDEE_PROGRAMME)]
        if viewer.audience is Audience.STAFF:
            return [Fragment(Audience.STAFF, "agenda/current_announcement.html", context, slot="current_announcement"),
                    Fragment(Audience.STAFF, "agenda/run_of_show.html", context, slot="run_of_show")]
        return []

    async def personal(self, session: AsyncSession, event: Any, attendee_id: int) -> list[Fragment]:
        return []

    def personal_state(self) -> ColumnElement[bool] | None:
        return None
