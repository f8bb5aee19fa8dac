"""Q&A services: asking, upvoting and moderating questions.

They change rows in the caller's unit of work and record what changed; they never commit."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ehalsodag import metrics
from ehalsodag.agenda import stages, tracks
from ehalsodag.agenda.models import Event
from ehalsodag.attendees.models import Attendee
from ehalsodag.changes import Topic, changed
from ehalsodag.errors import RefusedError
from ehalsodag.i18n import _
from ehalsodag.qa.models import Question, QuestionUpvote
from ehalsodag.staff import audit
from ehalsodag.text import TextError, clean_text

MAX_QUESTION = 500
#: A moderator's written reply to a question.
MAX_REPLY = 1000
MODERATION_ACTIONS = ("approve", "hide", "answer", "highlight", "unhighlight", "edit", "merge")


class QuestionError(RefusedError):
    """A question action that cannot be done; ``status_code`` is the HTTP answer."""


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


async def ask(
    session: AsyncSession, event: Event, attendee: Attendee, text: str, *, anonymous: bool = True,
    block_id: int | None = None, name: str | None = None,
) -> Question:
    """Ask the panel. With pre-moderation the question waits for approval; otherwise it shows at once."""
    if attendee.muted_at is not None:
        raise QuestionError(_("A moderator has muted you for the rest of the day."), 403)
    try:
        cleaned = clean_text(text, MAX_QUESTION, what=_("The question"))
        author = None
        if not anonymous:
            author = clean_text(name, 80, what=_("Name")) if name and name.strip() else attendee.display_name
            if not author:
                raise TextError(_("Give a name, or ask anonymously."))
    except TextError as exc:
        raise QuestionError(str(exc)) from exc
    block = next((b for b in event.active_blocks() if b.id == block_id), None)
    if block_id is not None and block is None:
        raise QuestionError(_("No such block in this event."), 404)
    home = tracks.home_of(event, attendee.stage_id)
    if block is not None and block.stage_id not in tracks.visible_stage_ids(event, home):
        raise QuestionError(_("That block belongs to another region."), 403)
    # a question goes to the stage of its block, else to the stage the attendee follows now
    followed = tracks.track_of(event, home, _now())
    stage_id = block.stage_id if block is not None else followed.id if followed else None
    status = "pending" if event.premoderation else "approved"
    question = Question(
        event_id=event.id, block_id=block_id, stage_id=stage_id, attendee_id=attendee.id, text=cleaned,
        author_name=author,
        status=status, approved_at=None if event.premoderation else _now(), upvotes=0, highlighted=False,
    )
    session.add(question)
    await session.flush()
    changed(session, Topic.QUESTION, event.id, question.id, attendees=[attendee.id])
    metrics.count_question()
    return question


async def question_for(session: AsyncSession, question_id: int) -> Question:
    """The question, or a 404 QuestionError."""
    question = await session.get(Question, question_id)
    if question is None:
        raise QuestionError(_("No such question."), 404)
    return question


async def _recount(session: AsyncSession, question: Question) -> int:
    count = (
        await session.execute(select(func.count()).where(QuestionUpvote.question_id == question.id))
    ).scalar_one()
    question.upvotes = count
    return count


async def upvote(session: AsyncSession, question: Question, attendee: Attendee, *, undo: bool = False) -> int:
    """Upvote once per attendee (a second upvote changes nothing); ``undo`` takes it back."""
    if attendee.event_id != question.event_id or not await stages.stage_open_to(session, question.stage_id, attendee):
        raise QuestionError(_("No such question."), 404)
    if not question.visible:
        raise QuestionError(_("Only approved questions can be upvoted."), 409)
    # one upvote of a question at a time (PostgreSQL: the row lock; SQLite writes one at a time anyway), so that the
    # count below sees every upvote committed before it: two at once would otherwise each write their own count.
    # NO KEY UPDATE, not UPDATE: the upvote row's foreign key takes a KEY SHARE lock on the question
    await session.execute(select(Question.id).where(Question.id == question.id).with_for_update(key_share=True))
    if undo:
        await session.execute(
            delete(QuestionUpvote).where(
                QuestionUpvote.question_id == question.id, QuestionUpvote.attendee_id == attendee.id
            )
        )
    else:
        exists = (
            await session.execute(
                select(QuestionUpvote.id).where(
                    QuestionUpvote.question_id == question.id, QuestionUpvote.attendee_id == attendee.id
                )
            )
        ).first()
        if exists is None:
            try:
                async with session.begin_nested():
                    session.add(QuestionUpvote(question_id=question.id, attendee_id=attendee.id))
                metrics.count_upvote()
            except IntegrityError:
                pass  # a concurrent duplicate: the constraint kept it to one
    count = await _recount(session, question)
    # the asker's first upvote (or its undoing) decides whether they may still edit it: their own list follows
    asker = [question.attendee_id] if question.attendee_id and count <= 1 else []
    changed(session, Topic.QUESTION, question.event_id, question.id, attendees=[attendee.id, *asker])
    if question.highlighted:
        changed(session, Topic.STAGE, question.event_id, question.stage_id)
    return count


async def moderate(
    session: AsyncSession, question: Question, action: str, actor: str, *, text: str | None = None,
    into_id: int | None = None,
) -> Question:
    """approve, hide, answer, highlight (one at a time), unhighlight, edit (original audited) or merge."""
    if action not in MODERATION_ACTIONS:
        raise QuestionError(_("Unknown action. Use one of: %(actions)s.", actions=", ".join(MODERATION_ACTIONS)))
    detail: dict[str, object] = {"question": question.id}
    touched: list[int] = [question.id]
    #: Whose personal fragments change: the author's waiting list; upvoters moved by a merge.
    personal: list[int | None] = [question.attendee_id]
    on_stage_before = question.highlighted
    if action == "approve":
        question.status = "approved"
        question.approved_at = question.approved_at or _now()
    elif action == "hide":
        question.status = "hidden"
        question.highlighted = False
    elif action == "answer":
        question.status = "answered"
        question.answered_at = _now()
        question.highlighted = False
    elif action == "highlight":
        if question.status in ("hidden", "merged"):
            raise QuestionError(_("Approve the question before highlighting it."), 409)
        previous = await session.execute(
            update(Question).where(Question.event_id == question.event_id, Question.id != question.id,
                                   Question.highlighted.is_(True))
            .values(highlighted=False).returning(Question.id, Question.attendee_id)
        )
        for previous_id, previous_asker in previous.tuples():  # off stage: its asker may withdraw it again
            touched.append(previous_id)
            personal.append(previous_asker)
        question.highlighted = True
        if question.status == "pending":
            question.status = "approved"
            question.approved_at = _now()
    elif action == "unhighlight":
        question.highlighted = False
    elif action == "edit":
        try:
            cleaned = clean_text(text, MAX_QUESTION, what=_("The question"))
        except TextError as exc:
            raise QuestionError(str(exc)) from exc
        detail.update(original=question.text, edited=cleaned)
        question.text = cleaned
    elif action == "merge":
        if into_id is None or into_id == question.id:
            raise QuestionError(_("Choose another question to merge into."))
        target = await session.get(Question, into_id)
        if target is None or target.event_id != question.event_id:
            raise QuestionError(_("No such question."), 404)
        voters = select(QuestionUpvote.attendee_id).where(QuestionUpvote.question_id == target.id)
        moved = await session.execute(
            update(QuestionUpvote)
            .where(QuestionUpvote.question_id == question.id, QuestionUpvote.attendee_id.not_in(voters))
            .values(question_id=target.id).returning(QuestionUpvote.attendee_id)
        )
        personal += moved.scalars().all()
        touched.append(target.id)
        await session.execute(delete(QuestionUpvote).where(QuestionUpvote.question_id == question.id))
        question.status = "merged"
        question.merged_into_id = target.id
        question.highlighted = False
        question.upvotes = 0
        await session.flush()
        await _recount(session, target)
        detail["into"] = target.id
    audit.record(session, actor=actor, action=f"question.{action}", event_id=question.event_id, **detail)
    await session.flush()
    changed(session, Topic.QUESTION, question.event_id, *touched, attendees=personal)
    if on_stage_before or question.highlighted:
        changed(session, Topic.STAGE, question.event_id, question.stage_id)
    if action == "highlight":
        changed(session, Topic.ON_STAGE, question.event_id, question.id)
    return question


async def approve_many(session: AsyncSession, event: Event, question_ids: Iterable[int], actor: str,
                       allowed_stage: Callable[[int | None], bool] | None = None) -> list[Question]:
    """Approve several waiting questions at once (the moderator's bulk approve): each through :func:`moderate`,
    so each is audited and announced on its own, all in the caller's one unit of work. Questions of another
    event, or no longer waiting (another moderator was quicker), are left alone; ``allowed_stage`` refuses
    (403) a question of a stage this moderator does not moderate."""
    wanted = sorted(set(question_ids))
    if not wanted:
        raise QuestionError(_("Choose at least one question to approve."))
    approved: list[Question] = []
    for question in await questions_by_id(session, wanted):
        if question.event_id != event.id or question.status != "pending":
            continue
        if allowed_stage is not None and not allowed_stage(question.stage_id):
            raise QuestionError(_("You moderate another stage of this event."), 403)
        approved.append(await moderate(session, question, "approve", actor))
    return approved


async def question_counts(session: AsyncSession, event: Event, stage_id: int | None = None) -> dict[str, int]:
    """How many questions of a stage (None: the main one) each moderator's view holds: waiting, approved (not on
    stage), on stage, answered and hidden."""
    rows = await session.execute(
        select(Question.status, Question.highlighted, func.count()).where(
            Question.event_id == event.id, tracks.on_stage(Question.stage_id, event, stage_id))
        .group_by(Question.status, Question.highlighted))
    counts = dict.fromkeys(MOD_VIEWS, 0)
    for status, highlighted, count in rows.tuples():
        view = mod_view(status, highlighted)
        if view is not None:
            counts[view] += count
    return counts


#: The moderator's views of the questions, in the order of the panel's tabs.
MOD_VIEWS = ("pending", "approved", "onstage", "answered", "hidden")


def mod_view(status: str, highlighted: bool) -> str | None:
    """Which of the moderator's views shows a question in this state (None: none, a merged one)."""
    if highlighted and status in ("approved", "answered"):
        return "onstage"
    return status if status in MOD_VIEWS else None


async def hidden_questions(session: AsyncSession, event: Event, stage_id: int | None = None) -> list[Question]:
    """A stage's hidden questions (None: the main stage's), newest first."""
    result = await session.execute(
        select(Question).where(Question.event_id == event.id, Question.status == "hidden",
                               tracks.on_stage(Question.stage_id, event, stage_id)).order_by(Question.id.desc())
    )
    return list(result.scalars())


def editable(question: Question) -> bool:
    """Whether its asker may still change the wording: while it waits for a moderator, or while nobody has upvoted
    it, it is not on stage and has no reply (nobody has endorsed those words yet). Under pre-moderation an edited
    question that was shown goes back to the moderators (:func:`edit_own`)."""
    if question.status == "pending":
        return True
    return (question.status == "approved" and not question.highlighted and question.upvotes == 0
            and question.reply_text is None)


def withdrawable(question: Question) -> bool:
    """Whether its asker may still take it back: until it is on stage, answered, hidden or merged."""
    return question.status in ("pending", "approved") and not question.highlighted


def _own(question: Question, attendee: Attendee) -> None:
    if question.attendee_id is None or question.attendee_id != attendee.id or question.event_id != attendee.event_id:
        raise QuestionError(_("You can change only your own questions."), 403)


async def edit_own(session: AsyncSession, event: Event, question: Question, attendee: Attendee,
                   text: str) -> Question:
    """The asker corrects their question while it still waits (see :func:`editable`)."""
    _own(question, attendee)
    if not editable(question):
        raise QuestionError(_("The question can no longer be changed: others have seen it. You can ask a new one."),
                            409)
    try:
        question.text = clean_text(text, MAX_QUESTION, what=_("The question"))
    except TextError as exc:
        raise QuestionError(str(exc)) from exc
    if question.status == "approved" and event.premoderation:
        # new words are moderated as the first were: it leaves the list until a moderator approves it again
        # (its approved_at stays: the mark of a question that was shown, see qa.fragments)
        question.status = "pending"
    await session.flush()
    changed(session, Topic.QUESTION, question.event_id, question.id, attendees=[attendee.id])
    return question


async def withdraw_own(session: AsyncSession, question: Question, attendee: Attendee) -> None:
    """The asker takes their question back (see :func:`withdrawable`): it is deleted, with its upvotes, and leaves
    every list."""
    _own(question, attendee)
    if not withdrawable(question):
        raise QuestionError(_("The question is already on stage or answered, so it stays."), 409)
    on_stage = question.highlighted
    event_id, question_id, stage_id = question.event_id, question.id, question.stage_id
    await session.execute(delete(QuestionUpvote).where(QuestionUpvote.question_id == question_id))
    await session.delete(question)
    await session.flush()
    changed(session, Topic.QUESTION, event_id, question_id, attendees=[attendee.id])
    if on_stage:
        changed(session, Topic.STAGE, event_id, stage_id)


async def reply(session: AsyncSession, question: Question, text: str | None, actor: str) -> Question:
    """A moderator's written reply under the question (an empty text removes it); shown to attendees while the
    question is shown."""
    if question.status in ("hidden", "merged"):
        raise QuestionError(_("Approve the question before replying to it."), 409)
    try:
        cleaned = clean_text(text, MAX_REPLY, what=_("The reply")) if text and text.strip() else None
    except TextError as exc:
        raise QuestionError(str(exc)) from exc
    question.reply_text = cleaned
    question.replied_at = _now() if cleaned else None
    audit.record(session, actor=actor, action="question.reply" if cleaned else "question.reply_removed",
                 event_id=question.event_id, question=question.id)
    await session.flush()
    # its asker may no longer edit words that have a reply: their own list follows
    changed(session, Topic.QUESTION, question.event_id, question.id, attendees=[question.attendee_id])
    return question


async def visible_questions(session: AsyncSession, event: Event, stage_id: int | None = None) -> list[Question]:
    """Approved and answered questions of a stage (None: the main one), most upvoted first (ties: oldest first)."""
    result = await session.execute(
        select(Question)
        .where(Question.event_id == event.id, Question.status.in_(("approved", "answered")),
               tracks.on_stage(Question.stage_id, event, stage_id))
        .order_by(Question.status == "answered", Question.upvotes.desc(), Question.id)
    )
    return list(result.scalars())


async def pending_questions(session: AsyncSession, event: Event, stage_id: int | None = None) -> list[Question]:
    """A stage's moderation queue (None: the main stage's), oldest first."""
    result = await session.execute(
        select(Question).where(Question.event_id == event.id, Question.status == "pending",
                               tracks.on_stage(Question.stage_id, event, stage_id)).order_by(Question.id)
    )
    return list(result.scalars())


async def all_questions(session: AsyncSession, event_id: int) -> list[Question]:
    """Every question of the event (for moderators), newest first."""
    result = await session.execute(
        select(Question).where(Question.event_id == event_id).order_by(Question.id.desc())
    )
    return list(result.scalars())


async def own_pending(session: AsyncSession, attendee_id: int) -> list[Question]:
    """The attendee's own questions still waiting for a moderator."""
    result = await session.execute(
        select(Question)
        .where(Question.attendee_id == attendee_id, Question.status == "pending")
        .order_by(Question.id)
    )
    return list(result.scalars())


async def own_waiting(session: AsyncSession, attendee_id: int, event: Event,
                      stage_id: int | None = None) -> list[Question]:
    """The attendee's own questions of a stage (None: the main one) they may still edit or withdraw: waiting for a
    moderator, or shown but neither on stage nor answered (oldest first). A page shows those of the stage it follows,
    as it does the question list."""
    result = await session.execute(
        select(Question)
        .where(Question.attendee_id == attendee_id, Question.status.in_(("pending", "approved")),
               Question.highlighted.is_(False), tracks.on_stage(Question.stage_id, event, stage_id))
        .order_by(Question.id)
    )
    return list(result.scalars())


async def upvoted_by(session: AsyncSession, attendee_id: int) -> set[int]:
    """Ids of the questions this attendee has upvoted."""
    result = await session.execute(
        select(QuestionUpvote.question_id).where(QuestionUpvote.attendee_id == attendee_id)
    )
    return set(result.scalars())


async def set_premoderation(session: AsyncSession, event: Event, enabled: bool, actor: str) -> None:
    """Make new questions wait for approval (or show at once)."""
    event.premoderation = enabled
    audit.record(session, actor=actor, action="qa.premoderation_on" if enabled else "qa.premoderation_off",
                 event_id=event.id)
    changed(session, Topic.SETTINGS, event.id)


def sort_key(question: Question) -> str:
    """Where a question stands in the lists, as a string that sorts ascending: unanswered before answered,
    most upvoted first, then oldest first (the order of :func:`visible_questions`)."""
    answered = int(question.status == "answered")
    return f"{answered}{999_999_999 - min(question.upvotes, 999_999_999):09d}{question.id:019d}"


async def pending_count(session: AsyncSession, event: Event, stage_id: int | None = None) -> int:
    """How many questions of a stage (None: the main one) wait for a moderator."""
    return (await session.execute(
        select(func.count()).where(Question.event_id == event.id, Question.status == "pending",
                                   tracks.on_stage(Question.stage_id, event, stage_id)))).scalar_one()


async def questions_by_id(session: AsyncSession, ids: Iterable[int]) -> list[Question]:
    """The questions with these ids, in id order."""
    return list((await session.execute(
        select(Question).where(Question.id.in_(list(ids))).order_by(Question.id))).scalars())


async def upvoters(session: AsyncSession, question_ids: Iterable[int],
                   attendee_ids: Iterable[int]) -> set[tuple[int, int]]:
    """Which of ``attendee_ids`` upvoted which of ``question_ids``: (question id, attendee id) pairs."""
    rows = await session.execute(select(QuestionUpvote.question_id, QuestionUpvote.attendee_id).where(
        QuestionUpvote.question_id.in_(list(question_ids)), QuestionUpvote.attendee_id.in_(list(attendee_ids))))
    return set(rows.tuples())
