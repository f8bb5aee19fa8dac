"""Privacy services: an attendee's own posts (to see and delete) and the retention purge.

The purge erases names and free text once an event's retention period has passed (in the audit log too);
counts, statuses, poll choices and evaluation scales stay, so the organisers' figures survive it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ehalsodag.agenda.models import Event
from ehalsodag.attendees.models import Attendee
from ehalsodag.changes import Topic, changed
from ehalsodag.chat.models import ChatMessage
from ehalsodag.evaluation.models import EvaluationAnswer, EvaluationQuestion
from ehalsodag.i18n import N_, gettext
from ehalsodag.polls import tally
from ehalsodag.polls.models import Poll, PollResponse
from ehalsodag.qa.models import Question, QuestionUpvote
from ehalsodag.staff import audit

ERASED = ""


@dataclass
class OwnData:
    """Everything stored about one attendee."""

    attendee: Attendee
    questions: list[Question] = field(default_factory=list)
    messages: list[ChatMessage] = field(default_factory=list)
    answers: list[tuple[Poll, dict[str, Any]]] = field(default_factory=list)


#: A question's status as the attendee reads it on "My data".
QUESTION_STATUS_LABELS = {
    "pending": N_("waiting for approval"), "approved": N_("published"), "answered": N_("answered"),
    "hidden": N_("not published"), "merged": N_("merged with a similar question"),
}


def question_status_label(status: str) -> str:
    """A question's status in the current language."""
    return gettext(QUESTION_STATUS_LABELS[status]) if status in QUESTION_STATUS_LABELS else status


def answer_text(poll: Poll, answer: dict[str, Any]) -> str:
    """A stored poll answer as the attendee gave it: the options' labels, the scale value, the words or the text
    (never the stored JSON)."""
    labels = {option.id: option.label for option in poll.options}
    if "option_ids" in answer:
        return ", ".join(labels.get(i, "?") for i in answer["option_ids"])
    if "ranking" in answer:
        return ", ".join(f"{place}. {labels.get(i, '?')}" for place, i in enumerate(answer["ranking"], start=1))
    if "value" in answer:
        value = answer["value"]
        low, high = poll.scale_min or 1, poll.scale_max or 5
        ends = list(poll.scale_labels or [])
        named = ends[0] if value == low and ends else ends[-1] if value == high and len(ends) > 1 else ""
        return f"{value} ({named})" if named else f"{value} ({low}–{high})"
    if "words" in answer:
        return ", ".join(str(word) for word in answer["words"])
    if "text" in answer:
        return str(answer["text"])
    return ""


async def own_data(session: AsyncSession, attendee: Attendee) -> OwnData:
    """What this attendee has told us and posted."""
    data = OwnData(attendee)
    data.questions = list((await session.execute(
        select(Question).where(Question.attendee_id == attendee.id).order_by(Question.id))).scalars())
    data.messages = list((await session.execute(
        select(ChatMessage).where(ChatMessage.attendee_id == attendee.id, ChatMessage.deleted.is_(False))
        .order_by(ChatMessage.id))).scalars())
    rows = (await session.execute(
        select(Poll, PollResponse.answer).join(PollResponse, PollResponse.poll_id == Poll.id)
        .where(PollResponse.attendee_id == attendee.id).order_by(Poll.id))).all()
    data.answers = [(poll, answer) for poll, answer in rows]
    return data


async def delete_own_data(session: AsyncSession, attendee: Attendee) -> dict[str, int]:
    """Delete the attendee's questions, chat messages, upvotes and poll answers, and forget their name."""
    counts = {}
    event_id = attendee.event_id
    own_questions = (await session.execute(select(Question.id).where(Question.attendee_id == attendee.id))).scalars()
    upvoted = (await session.execute(
        select(QuestionUpvote.question_id).where(QuestionUpvote.attendee_id == attendee.id))).scalars()
    touched_questions = {*own_questions, *upvoted}
    own_messages = (await session.execute(select(ChatMessage.id).where(
        ChatMessage.attendee_id == attendee.id, ChatMessage.deleted.is_(False)))).scalars().all()
    answered = (await session.execute(
        select(PollResponse.poll_id).where(PollResponse.attendee_id == attendee.id))).scalars().all()
    # what the audit log said about their posts (a moderator's deletion, an edit) loses its text too
    every_message = (await session.execute(
        select(ChatMessage.id).where(ChatMessage.attendee_id == attendee.id))).scalars().all()
    every_question = (await session.execute(
        select(Question.id).where(Question.attendee_id == attendee.id))).scalars().all()
    await audit.scrub(session, event_id, messages=every_message, questions=every_question)
    question_ids = select(Question.id).where(Question.attendee_id == attendee.id)
    await session.execute(delete(QuestionUpvote).where(QuestionUpvote.question_id.in_(question_ids)))
    counts["questions"] = (await session.execute(delete(Question).where(Question.attendee_id == attendee.id))).rowcount
    counts["messages"] = (await session.execute(
        delete(ChatMessage).where(ChatMessage.attendee_id == attendee.id))).rowcount
    counts["upvotes"] = (await session.execute(
        delete(QuestionUpvote).where(QuestionUpvote.attendee_id == attendee.id))).rowcount
    votes = (select(func.count()).where(QuestionUpvote.question_id == Question.id).correlate(Question)
             .scalar_subquery())
    await session.execute(update(Question).where(Question.event_id == attendee.event_id).values(upvotes=votes))
    counts["poll_answers"] = (await session.execute(
        delete(PollResponse).where(PollResponse.attendee_id == attendee.id))).rowcount
    if answered:
        await tally.rebuild(session, answered)  # the kept tallies of the polls they had answered
    attendee.display_name = None
    attendee.organisation = None
    audit.record(session, actor=f"attendee:{attendee.id}", action="attendee.delete_own_data",
                 event_id=attendee.event_id, **counts)
    changed(session, Topic.QUESTION, event_id, *touched_questions, attendees=[attendee.id])
    changed(session, Topic.STAGE, event_id)
    changed(session, Topic.CHAT, event_id, *own_messages)
    changed(session, Topic.POLL_RESULTS, event_id, *answered)
    changed(session, Topic.POLL_ANSWER, event_id, *answered, attendees=[attendee.id])
    return counts


def retention_over(event: Event, today: dt.date | None = None) -> bool:
    """Whether the event's retention period has passed."""
    return (today or dt.date.today()) > event.date + dt.timedelta(days=event.retention_days)


async def purge(session: AsyncSession, event: Event, *, actor: str = "cli", force: bool = False) -> dict[str, int]:
    """Erase names and free text of ``event`` (if its retention period is over, or ``force``)."""
    if not force and not retention_over(event):
        return {}
    counts = {
        "attendees": (await session.execute(update(Attendee).where(Attendee.event_id == event.id)
                                            .values(display_name=None, organisation=None))).rowcount,
        "questions": (await session.execute(update(Question).where(Question.event_id == event.id)
                                            .values(text=ERASED, author_name=None))).rowcount,
        "messages": (await session.execute(update(ChatMessage).where(ChatMessage.event_id == event.id)
                                           .values(text=ERASED, author_name=None))).rowcount,
        "poll_texts": (await session.execute(
            update(PollResponse).where(PollResponse.poll_id.in_(select(Poll.id).where(
                Poll.event_id == event.id, Poll.kind == "open_text")))
            .values(answer={"text": ERASED}, wall_text=None))).rowcount,
        "comments": (await session.execute(
            update(EvaluationAnswer).where(EvaluationAnswer.question_id.in_(select(EvaluationQuestion.id).where(
                EvaluationQuestion.event_id == event.id, EvaluationQuestion.kind == "text")))
            .values(text=ERASED))).rowcount,
    }
    counts["audit_entries"] = await audit.scrub(session, event.id)
    event.announcement = None
    event.purged_at = dt.datetime.now(dt.UTC)
    audit.record(session, actor=actor, action="event.purge", event_id=event.id, **counts)
    return counts
