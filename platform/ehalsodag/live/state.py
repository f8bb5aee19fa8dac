"""Everything the live fragments show besides the programme: questions, polls, chat.

Loaded once per push (shared by every socket) or once per page/snapshot (with the attendee's own
pending questions, answers and upvotes).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, bindparam, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from ehalsodag.agenda.models import Event
from ehalsodag.chat import service as chat_service
from ehalsodag.chat.models import ChatMessage
from ehalsodag.evaluation import service as evaluation_service
from ehalsodag.evaluation.models import YESNO_VALUES, EvaluationSubmission
from ehalsodag.live.models import Attendee
from ehalsodag.polls import service as poll_service
from ehalsodag.polls.logic import PollResult
from ehalsodag.polls.models import Poll, PollResponse
from ehalsodag.qa import service as qa_service
from ehalsodag.qa.models import Question, QuestionUpvote


@dataclass
class PollItem:
    """A poll with its aggregate, and whether attendees may see the aggregate."""

    poll: Poll
    result: PollResult
    show: bool
    wall_queue: list[PollResponse] = field(default_factory=list)


@dataclass
class LiveState:
    """The interactive part of an event at one moment."""

    questions: list[Question] = field(default_factory=list)
    pending: list[Question] = field(default_factory=list)
    highlighted: Question | None = None
    all_polls: list[PollItem] = field(default_factory=list)
    public_polls: list[PollItem] = field(default_factory=list)
    screen_poll: PollItem | None = None
    chat: list[ChatMessage] = field(default_factory=list)
    chat_has_more: bool = False
    own_pending: list[Question] = field(default_factory=list)
    own_answers: dict[int, dict[str, Any]] = field(default_factory=dict)
    upvoted: set[int] = field(default_factory=set)
    block_titles: dict[int, str] = field(default_factory=dict)
    #: open, answered (for this attendee), questions, opens_at, closes_at, respondents.
    evaluation: dict[str, Any] = field(default_factory=dict)


async def load_polls(session: AsyncSession, event: Event, *, staff: bool) -> list[PollItem]:
    """Every poll of the event with its results (and, for staff, the open-text queue)."""
    items = []
    for poll in await poll_service.event_polls(session, event.id):
        result = await poll_service.results(session, poll)
        queue = await poll_service.wall_queue(session, poll) if staff and poll.kind == "open_text" else []
        items.append(PollItem(poll, result, poll.results_visible, queue))
    return items


def public_polls(items: list[PollItem]) -> list[PollItem]:
    """What attendees see: the open polls, then the latest closed poll whose results are visible."""
    shown = [i for i in items if i.poll.state == "open"]
    closed = [i for i in items if i.poll.state == "closed" and i.show and i.poll.closed_at]
    if closed:
        shown.append(max(closed, key=lambda i: i.poll.closed_at))
    return shown


def screen_poll(items: list[PollItem]) -> PollItem | None:
    """The poll the presenter screen shows: the most recently opened open poll."""
    open_items = [i for i in items if i.poll.state == "open" and i.poll.opened_at]
    return max(open_items, key=lambda i: i.poll.opened_at) if open_items else None


async def load_live_state(
    session: AsyncSession, event: Event, *, attendee: Attendee | None = None, staff: bool = False,
) -> LiveState:
    """Questions, polls and chat of ``event``; with ``attendee``, also what is theirs alone."""
    state = LiveState()
    state.questions = await qa_service.visible_questions(session, event.id)
    state.highlighted = next((q for q in state.questions if q.highlighted), None)
    if staff:
        state.pending = await qa_service.pending_questions(session, event.id)
    state.all_polls = await load_polls(session, event, staff=staff)
    state.public_polls = public_polls(state.all_polls)
    state.screen_poll = screen_poll(state.all_polls)
    state.chat = await chat_service.recent(session, event.id)
    if state.chat:
        older = await session.execute(
            select(func.count()).where(ChatMessage.event_id == event.id, ChatMessage.deleted.is_(False),
                                       ChatMessage.id < state.chat[0].id)
        )
        state.chat_has_more = older.scalar_one() > 0
    state.block_titles = {b.id: b.title for b in event.blocks}
    state.evaluation = await load_evaluation(session, event, attendee)
    if attendee is not None:
        state.own_pending = await qa_service.own_pending(session, attendee)
        state.upvoted = await qa_service.upvoted_by(session, attendee)
        answers = await session.execute(
            select(PollResponse.poll_id, PollResponse.answer).where(PollResponse.attendee_id == attendee.id)
        )
        state.own_answers = {poll_id: answer for poll_id, answer in answers.all()}
    return state


def _personal_state_query() -> Select[tuple[bool]]:
    attendee = bindparam("attendee_id")
    question = select(Question.id).where(Question.attendee_id == attendee).exists()
    upvote = select(QuestionUpvote.question_id).where(QuestionUpvote.attendee_id == attendee).exists()
    answer = select(PollResponse.id).where(PollResponse.attendee_id == attendee).exists()
    evaluation = select(EvaluationSubmission.id).where(
        EvaluationSubmission.event_id == bindparam("event_id"), EvaluationSubmission.attendee_id == attendee).exists()
    return select(or_(question, upvote, answer, evaluation))


#: Built once: every websocket connect asks it (building the statement cost more than running it).
_PERSONAL_STATE = _personal_state_query()


async def has_personal_state(session: AsyncSession, event_id: int, attendee_id: int) -> bool:
    """Whether the attendee has anything of their own to see (questions, upvotes, answers, an evaluation):
    if not, their snapshot is the one every new attendee gets, and it can be shared."""
    result = await session.execute(_PERSONAL_STATE, {"attendee_id": attendee_id, "event_id": event_id})
    return bool(result.scalar())


async def load_evaluation(session: AsyncSession, event: Event, attendee: Attendee | None) -> dict[str, Any]:
    """The evaluation form's state for the page (questions with their answer labels and values)."""
    window = evaluation_service.window(event)
    questions = []
    if window.open:
        for question in await evaluation_service.questions(session, event.id):
            labels = [str(v) for v in range(11)] if question.kind == "nps" else question.labels
            questions.append({"key": question.key, "kind": question.kind, "text": question.text, "labels": labels,
                              "values": list(YESNO_VALUES), "optional": question.optional})
    respondents = (await session.execute(
        select(func.count()).where(EvaluationSubmission.event_id == event.id))).scalar_one()
    answered = attendee is not None and await evaluation_service.has_answered(session, event.id, attendee.id)
    return {"open": window.open, "answered": answered, "questions": questions, "opens_at": window.opens_at,
            "closes_at": window.closes_at, "respondents": respondents}
