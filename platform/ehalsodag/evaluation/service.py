"""Evaluation services: when the form is open, taking answers once per attendee, anonymously.

They change rows in the caller's unit of work and record what changed (:func:`ehalsodag.changes.changed`);
they never commit.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ehalsodag.agenda import tracks
from ehalsodag.agenda.models import Event
from ehalsodag.attendees.models import Attendee
from ehalsodag.changes import Topic, changed
from ehalsodag.errors import RefusedError
from ehalsodag.evaluation.models import YESNO_VALUES, EvaluationAnswer, EvaluationQuestion, EvaluationSubmission
from ehalsodag.i18n import N_, _
from ehalsodag.staff import audit
from ehalsodag.text import TextError, clean_text

MAX_COMMENT = 2000
#: Attendees seen this long before the evaluation opened count as present when it opened.
PRESENT_WINDOW = dt.timedelta(minutes=3)
YESNO_LABELS = {"yes": N_("Yes"), "no": N_("No"), "dont_know": N_("Don't know")}
#: The id of a ``Topic.EVALUATION`` change made by a moderator opening (or extending) the evaluation just now:
#: attendees are told. Other changes of the window (the clock, a shift, a reloaded programme) carry no ids.
OPENED_NOW = 1


class EvaluationError(RefusedError):
    """An answer that cannot be accepted; ``status_code`` is the HTTP answer."""


@dataclass(frozen=True)
class Window:
    """When the evaluation opens and closes; ``open`` at the moment asked."""

    opens_at: dt.datetime | None
    closes_at: dt.datetime | None
    open: bool


def window(event: Event, at: dt.datetime | None = None) -> Window:
    """Open from a moderator's "open" (or else from the end of the last block) for ``evaluation_minutes``."""
    at = at or dt.datetime.now(dt.UTC)
    opens_at = event.evaluation_opened_at
    if opens_at is None:
        ends = [b.ends_at for b in event.active_blocks()]
        opens_at = max(ends) if ends else None
    if opens_at is None:
        return Window(None, None, False)
    closes_at = opens_at + dt.timedelta(minutes=event.evaluation_minutes or 60)
    return Window(opens_at, closes_at, opens_at <= at < closes_at)


async def questions(session: AsyncSession, event_id: int) -> list[EvaluationQuestion]:
    """The form's questions in order (removed ones left out)."""
    result = await session.execute(
        select(EvaluationQuestion)
        .where(EvaluationQuestion.event_id == event_id, EvaluationQuestion.removed.is_(False))
        .order_by(EvaluationQuestion.position)
    )
    return list(result.scalars())


async def present_count(session: AsyncSession, event_id: int, at: dt.datetime) -> int:
    """Attendees connected around ``at`` (seen live within the window before it)."""
    result = await session.execute(
        select(func.count()).where(
            Attendee.event_id == event_id, Attendee.first_connected_at.is_not(None),
            Attendee.last_seen_at >= at - PRESENT_WINDOW,
        )
    )
    return result.scalar_one()


async def open_now(session: AsyncSession, event: Event, actor: str, minutes: int | None = None) -> None:
    """A moderator opens the evaluation now (for ``minutes``, default the programme's); opening it again while
    open extends it from now."""
    now = dt.datetime.now(dt.UTC)
    if minutes is not None:
        if not 5 <= minutes <= 7 * 24 * 60:
            raise EvaluationError(_("Keep it open for 5 minutes to a week."))
        event.evaluation_minutes = minutes
    event.evaluation_opened_at = now
    event.evaluation_present = await present_count(session, event.id, now)
    audit.record(session, actor=actor, action="evaluation.open", event_id=event.id,
                 minutes=event.evaluation_minutes, present=event.evaluation_present)
    changed(session, Topic.EVALUATION, event.id, OPENED_NOW)


async def note_automatic_opening(session: AsyncSession, event: Event) -> bool:
    """Record who was present when the evaluation opened by itself after the last block (the base of the
    response rate). Nothing shown changes: the clock ticker pushes the opening itself."""
    state = window(event)
    if event.evaluation_present is not None or state.opens_at is None or not state.open:
        return False
    event.evaluation_present = await present_count(session, event.id, state.opens_at)
    return True


async def has_answered(session: AsyncSession, event_id: int, attendee_id: int) -> bool:
    """Whether this attendee has already sent the evaluation."""
    result = await session.execute(
        select(EvaluationSubmission.id).where(
            EvaluationSubmission.event_id == event_id, EvaluationSubmission.attendee_id == attendee_id
        )
    )
    return result.first() is not None


def _value(question: EvaluationQuestion, raw: Any) -> tuple[int | None, str | None]:
    kind = question.kind
    if kind == "scale":
        if not isinstance(raw, int) or isinstance(raw, bool) or not 1 <= raw <= len(question.labels):
            raise EvaluationError(_("Answer %(key)s with a step from 1 to %(max)d.", key=question.key,
                                    max=len(question.labels)))
        return raw, None
    if kind == "nps":
        if not isinstance(raw, int) or isinstance(raw, bool) or not 0 <= raw <= 10:
            raise EvaluationError(_("Answer %(key)s with a number from 0 to 10.", key=question.key))
        return raw, None
    if kind == "yesno":
        if raw not in YESNO_VALUES:
            raise EvaluationError(_("Answer %(key)s with yes, no or dont_know.", key=question.key))
        return None, raw
    if kind == "choice":
        if raw not in question.labels:
            raise EvaluationError(_("Answer %(key)s with one of its choices.", key=question.key))
        return None, raw
    try:
        return None, clean_text(raw, MAX_COMMENT, what=question.text[:40])
    except TextError as exc:
        raise EvaluationError(str(exc)) from exc


async def submit(session: AsyncSession, event: Event, attendee: Attendee, answers: dict[str, Any]) -> int:
    """Store one attendee's answers (once) without linking them to the attendee; return how many."""
    if not window(event).open:
        raise EvaluationError(_("The evaluation is not open."), 409)
    form = await questions(session, event.id)
    by_key = {q.key: q for q in form}
    unknown = sorted(set(answers) - set(by_key))
    if unknown:
        raise EvaluationError(_("Unknown question: %(key)s.", key=unknown[0]))
    rows: list[tuple[EvaluationQuestion, int | None, str | None]] = []
    for question in form:
        raw = answers.get(question.key)
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            if not question.optional:
                raise EvaluationError(_("Please answer: %(text)s", text=question.text))
            continue
        rows.append((question, *_value(question, raw)))
    if await has_answered(session, event.id, attendee.id):
        raise EvaluationError(_("You have already answered the evaluation. Thank you!"), 409)
    response = secrets.token_hex(16)
    try:
        async with session.begin_nested():
            session.add(EvaluationSubmission(event_id=event.id, attendee_id=attendee.id))
    except IntegrityError as exc:  # a concurrent second answer: the constraint kept it to one
        raise EvaluationError(_("You have already answered the evaluation. Thank you!"), 409) from exc
    home = tracks.home_of(event, attendee.stage_id)  # the respondent's region, for results per region
    for question, number, text in rows:
        session.add(EvaluationAnswer(event_id=event.id, question_id=question.id, response=response, number=number,
                                     text=text, stage_id=home.id if home is not None else None))
    changed(session, Topic.EVALUATION_ANSWER, event.id, attendees=[attendee.id])
    return len(rows)


async def respondents(session: AsyncSession, event_id: int) -> int:
    """How many attendees have answered."""
    return (await session.execute(
        select(func.count()).where(EvaluationSubmission.event_id == event_id))).scalar_one()


async def answered_by(session: AsyncSession, event_id: int) -> frozenset[int]:
    """The attendees who have answered (their page shows "thank you" instead of the form)."""
    return frozenset((await session.execute(
        select(EvaluationSubmission.attendee_id).where(EvaluationSubmission.event_id == event_id))).scalars())
