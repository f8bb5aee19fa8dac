"""An attendee's own rows kept for the undo window of "delete everything I wrote", and put back on undo.

The rows are kept as plain data (every column, times as ISO text) in the undo's ``before``; putting them back
inserts them as they were: the same ids where those are still free (else new ones, with the upvotes and merges
that pointed at them following), their upvotes recounted. What the attendee did after the erasure wins: an
answer given again in the window stays, and the kept one is dropped.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import DateTime, func, inspect, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ehalsodag.attendees.models import Attendee
from ehalsodag.changes import Topic, changed
from ehalsodag.chat.models import ChatMessage
from ehalsodag.polls import tally
from ehalsodag.polls.models import Poll, PollResponse
from ehalsodag.qa.models import Question, QuestionUpvote


def _plain(row: Any) -> dict[str, Any]:
    values = {}
    for column in inspect(type(row)).columns:
        value = getattr(row, column.key)
        values[column.key] = value.isoformat() if isinstance(value, dt.datetime) else value
    return values


def _typed(model: Any, values: dict[str, Any]) -> dict[str, Any]:
    typed = {}
    for column in inspect(model).columns:
        if column.key not in values:
            continue
        value = values[column.key]
        if value is not None and isinstance(getattr(column.type, "impl", column.type), DateTime):
            value = dt.datetime.fromisoformat(value)
        typed[column.key] = value
    return typed


async def own_rows(session: AsyncSession, attendee: Attendee) -> dict[str, Any]:
    """Everything :func:`ehalsodag.privacy.service.delete_own_data` is about to delete, as plain data."""
    questions = list((await session.execute(
        select(Question).where(Question.attendee_id == attendee.id).order_by(Question.id))).scalars())
    own_ids = [q.id for q in questions]
    upvotes = list((await session.execute(select(QuestionUpvote).where(
        (QuestionUpvote.attendee_id == attendee.id) | QuestionUpvote.question_id.in_(own_ids))
        .order_by(QuestionUpvote.id))).scalars())
    merged = (await session.execute(select(Question.id, Question.merged_into_id).where(
        Question.merged_into_id.in_(own_ids), Question.attendee_id.is_distinct_from(attendee.id)))).tuples()
    messages = (await session.execute(
        select(ChatMessage).where(ChatMessage.attendee_id == attendee.id).order_by(ChatMessage.id))).scalars()
    responses = (await session.execute(
        select(PollResponse).where(PollResponse.attendee_id == attendee.id).order_by(PollResponse.id))).scalars()
    return {"attendee": {"display_name": attendee.display_name, "organisation": attendee.organisation},
            "questions": [_plain(q) for q in questions], "upvotes": [_plain(u) for u in upvotes],
            "merged": [[q, into] for q, into in merged], "messages": [_plain(m) for m in messages],
            "responses": [_plain(r) for r in responses]}


async def _insert(session: AsyncSession, model: Any, values: dict[str, Any]) -> Any:
    """Insert a kept row, under its old id if that is still free."""
    typed = _typed(model, values)
    if typed.get("id") is not None and await session.get(model, typed["id"]) is not None:
        typed.pop("id")
    row = model(**typed)
    session.add(row)
    await session.flush()
    return row


async def restore(session: AsyncSession, attendee: Attendee, kept: dict[str, Any]) -> None:
    """Put the kept rows back and record what changed (every page shows them again)."""
    event_id = attendee.event_id
    names = kept.get("attendee") or {}
    attendee.display_name = names.get("display_name")
    attendee.organisation = names.get("organisation")
    new_ids: dict[int, int] = {}
    highlighted: list[int] = []
    for values in kept.get("questions", []):
        question = await _insert(session, Question, {**values, "merged_into_id": None})
        new_ids[values["id"]] = question.id
        if question.highlighted:
            highlighted.append(question.id)
    for values in kept.get("questions", []):  # merges among them, once all exist again
        if values.get("merged_into_id") is not None:
            await session.execute(update(Question).where(Question.id == new_ids[values["id"]]).values(
                merged_into_id=new_ids.get(values["merged_into_id"], values["merged_into_id"])))
    touched = set(new_ids.values())
    for question_id, into in kept.get("merged", []):
        await session.execute(update(Question).where(Question.id == question_id, Question.merged_into_id.is_(None))
                              .values(merged_into_id=new_ids.get(into, into)))
    if highlighted:  # one question on stage at a time: the restored one goes back on
        others = await session.execute(update(Question).where(
            Question.event_id == event_id, Question.highlighted.is_(True), Question.id.not_in(highlighted[-1:]))
            .values(highlighted=False).returning(Question.id))
        touched.update(others.scalars().all())
    for values in kept.get("upvotes", []):
        question_id = new_ids.get(values["question_id"], values["question_id"])
        exists = await session.execute(select(QuestionUpvote.id).where(
            QuestionUpvote.question_id == question_id, QuestionUpvote.attendee_id == values["attendee_id"]))
        if exists.first() is None and await session.get(Question, question_id) is not None:
            await _insert(session, QuestionUpvote, {**values, "question_id": question_id})
            touched.add(question_id)
    for question_id in touched:
        count = select(func.count()).where(QuestionUpvote.question_id == question_id).scalar_subquery()
        await session.execute(update(Question).where(Question.id == question_id).values(upvotes=count))
    message_ids = [(await _insert(session, ChatMessage, values)).id for values in kept.get("messages", [])]
    answered = []
    for values in kept.get("responses", []):
        taken = await session.execute(select(PollResponse.id).where(
            PollResponse.poll_id == values["poll_id"], PollResponse.attendee_id == attendee.id))
        if taken.first() is None and await session.get(Poll, values["poll_id"]) is not None:
            await _insert(session, PollResponse, values)
            answered.append(values["poll_id"])
    await session.flush()
    await tally.rebuild(session, answered)  # the kept tallies count the answers given back
    changed(session, Topic.QUESTION, event_id, *touched, attendees=[attendee.id])
    changed(session, Topic.STAGE, event_id)
    changed(session, Topic.CHAT, event_id, *message_ids)
    changed(session, Topic.POLL_RESULTS, event_id, *answered)
    changed(session, Topic.POLL_ANSWER, event_id, *answered, attendees=[attendee.id])
