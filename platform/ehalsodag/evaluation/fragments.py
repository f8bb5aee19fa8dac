"""What each audience sees of the evaluation, and how to load just that.

Attendees: ``#evaluation``, shown while the evaluation is open: its window (``#evaluation-status``, "open
until …") and ``#evaluation-body``: the form, kept by the page (``data-keep``) with the answers being given
when the window is pushed again (extended, shifted), or — personal — the thanks of an attendee who answered.
A moderator opening it is announced; so is its opening by the clock, once (see :func:`_announced`); an
answer is acknowledged to its attendee alone.

Moderators: ``#mod-evaluation`` with its status line (``#mod-eval-status``: open until …, the number of
responses), pushed alone on every answer and window change; the "open now for N minutes" form is never
pushed (and is kept on a reconnect).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ColumnElement, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from ehalsodag.changes import Change, Topic
from ehalsodag.evaluation import service
from ehalsodag.evaluation.models import YESNO_VALUES, EvaluationSubmission
from ehalsodag.fragments import Audience, Fragment, Viewer
from ehalsodag.i18n import lazy
from ehalsodag.web.templating import hhmm


class LocalTime:
    """A time for text made in code: rendered as 09.05 or 09:05 by the language of each render."""

    def __init__(self, value: dt.datetime | None, timezone: str) -> None:
        self.value = value
        self.timezone = timezone

    def __str__(self) -> str:
        return hhmm(self.value, self.timezone)


def status(window: service.Window, at: dt.datetime | None = None) -> str:
    """Where the window stands: open, scheduled (opens by itself later), closed, or unset (no blocks)."""
    if window.open:
        return "open"
    if window.opens_at is None:
        return "unset"
    return "scheduled" if (at or dt.datetime.now(dt.UTC)) < window.opens_at else "closed"


def _announced(event: Any, change: Change, window: service.Window) -> bool:
    """Whether attendees are told the evaluation opened: a moderator opened it just now, or the clock opened it
    and nobody noted it yet (the attendance sampler notes who was present right after: later pushes are quiet)."""
    if change.topic is not Topic.EVALUATION or not window.open:
        return False
    return service.OPENED_NOW in change.ids or (event.evaluation_opened_at is None
                                                and event.evaluation_present is None)


class EvaluationFragments:
    """The evaluation's fragment source."""

    topics = frozenset({Topic.EVALUATION, Topic.EVALUATION_ANSWER})

    async def for_change(self, session: AsyncSession, event: Any, change: Change) -> list[Fragment]:
        window = service.window(event)
        fragments: list[Fragment] = []
        if change.topic is Topic.EVALUATION_ANSWER and change.attendees:
            fragments += [Fragment(Audience.ATTENDEE, "evaluation/body.html", {"event": event, "answered": True},
                                   to=change.attendees),
                          Fragment(Audience.ATTENDEE, "evaluation/signal.html", {"window": window, "answered": True},
                                   to=change.attendees),
                          Fragment(Audience.ATTENDEE, "layout/announce.html",
                                   {"text": lazy("Thank you for your answers!")}, to=change.attendees)]
        elif change.topic is Topic.EVALUATION:
            answered = await service.answered_by(session, event.id)
            context = await self._section(session, event, window)
            fragments.append(Fragment(Audience.ATTENDEE, "evaluation/section.html", {**context, "answered": False},
                                      exclude=answered))
            fragments.append(Fragment(Audience.ATTENDEE, "evaluation/signal.html",
                                      {"window": window, "answered": False}, exclude=answered))
            if _announced(event, change, window):
                fragments.append(Fragment(Audience.ATTENDEE, "layout/announce.html", {"text": lazy(
                    "The evaluation is open until %(time)s: tell us what you thought of the day.",
                    time=LocalTime(window.closes_at, event.timezone))}, exclude=answered))
            if answered:
                fragments.append(Fragment(Audience.ATTENDEE, "evaluation/section.html",
                                          {**context, "answered": True}, to=answered))
                fragments.append(Fragment(Audience.ATTENDEE, "evaluation/signal.html",
                                          {"window": window, "answered": True}, to=answered))
        fragments.append(Fragment(Audience.STAFF, "evaluation/mod_status.html",
                                  await self._status(session, event, window)))
        return fragments

    async def _section(self, session: AsyncSession, event: Any, window: service.Window) -> dict[str, Any]:
        questions = await service.questions(session, event.id) if window.open else []
        return {"event": event, "window": window, "questions": questions, "yesno_values": YESNO_VALUES}

    async def _status(self, session: AsyncSession, event: Any, window: service.Window) -> dict[str, Any]:
        return {"event": event, "window": window, "status": status(window),
                "respondents": await service.respondents(session, event.id)}

    async def snapshot(self, session: AsyncSession, event: Any, viewer: Viewer) -> list[Fragment]:
        window = service.window(event)
        if viewer.audience is Audience.ATTENDEE:
            me = viewer.attendee_id
            answered = me is not None and window.open and await service.has_answered(session, event.id, me)
            return [Fragment(Audience.ATTENDEE, "evaluation/section.html",
                             {**await self._section(session, event, window), "answered": answered},
                             slot="evaluation"),
                    Fragment(Audience.ATTENDEE, "evaluation/signal.html", {"window": window, "answered": answered},
                             slot="evaluation_signal")]
        if viewer.audience is Audience.STAFF:
            return [Fragment(Audience.STAFF, "evaluation/mod_evaluation.html",
                             await self._status(session, event, window), slot="mod_evaluation")]
        return []

    async def personal(self, session: AsyncSession, event: Any, viewer: Viewer) -> list[Fragment]:
        window = service.window(event)
        if window.open and viewer.attendee_id and await service.has_answered(session, event.id, viewer.attendee_id):
            return [Fragment(Audience.ATTENDEE, "evaluation/body.html", {"event": event, "answered": True}),
                    Fragment(Audience.ATTENDEE, "evaluation/signal.html", {"window": window, "answered": True})]
        return []

    def personal_state(self) -> ColumnElement[bool]:
        """An attendee who answered sees thanks instead of the form."""
        return select(EvaluationSubmission.id).where(
            EvaluationSubmission.event_id == bindparam("event_id"),
            EvaluationSubmission.attendee_id == bindparam("attendee_id")).exists()
