"""The organisers' report: attendance, polls, Q&A, chat and the evaluation, as the results JSON (v1).

Percentages are computed from integers and rounded half-up to one decimal (45 of 50 is exactly
90.0). The 95 % interval of a proportion is Wilson's score interval. Names are left out unless
``include_names`` is asked for (the Q&A with names).
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ehalsodag.agenda.models import Event
from ehalsodag.attendees.models import Attendee
from ehalsodag.chat.models import ChatMessage
from ehalsodag.evaluation import service as evaluation_service
from ehalsodag.evaluation.models import YESNO_VALUES, EvaluationAnswer, EvaluationQuestion, EvaluationSubmission
from ehalsodag.i18n import gettext
from ehalsodag.polls import service as poll_service
from ehalsodag.polls.logic import percent, round_half_up
from ehalsodag.qa.models import Question
from ehalsodag.results.models import AttendanceSample
from ehalsodag.web.templating import iso

Z_95 = 1.959963984540054
TOP_QUESTIONS = 10


def wilson_interval(successes: int, n: int, z: float = Z_95) -> tuple[float, float] | None:
    """Wilson's score interval for a proportion, in percent rounded half-up to one decimal."""
    if n <= 0:
        return None
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return round_half_up(max(0.0, centre - half) * 100, 1), round_half_up(min(1.0, centre + half) * 100, 1)


def _distribution(labels: list[str], counts: Counter[Any], keys: list[Any], n: int) -> list[dict[str, Any]]:
    return [{"label": label, "count": counts[key], "percent": percent(counts[key], n)}
            for label, key in zip(labels, keys, strict=True)]


def evaluation_question_result(question: EvaluationQuestion, numbers: list[int], texts: list[str]) -> dict[str, Any]:
    """One evaluation question's figures: n, distribution, mean, top-two-box, yes share, 95 % CI, NPS."""
    result: dict[str, Any] = {"key": question.key, "text": question.text, "kind": question.kind, "n": 0,
                              "distribution": [], "mean": None, "top2_percent": None, "yes_percent": None,
                              "ci95": None}
    if question.kind == "scale":
        n = len(numbers)
        steps = list(range(1, len(question.labels) + 1))
        counts = Counter(numbers)
        top = counts[steps[-1]] + counts[steps[-2]]
        result.update(n=n, distribution=_distribution(question.labels, counts, steps, n),
                      mean=round_half_up(sum(numbers) / n, 2) if n else None,
                      top2_percent=percent(top, n) if n else None, ci95=list(wilson_interval(top, n) or []) or None)
    elif question.kind == "nps":
        n = len(numbers)
        counts = Counter(numbers)
        promoters = sum(counts[v] for v in (9, 10))
        detractors = sum(counts[v] for v in range(0, 7))
        result.update(n=n, distribution=_distribution([str(v) for v in range(11)], counts, list(range(11)), n),
                      mean=round_half_up(sum(numbers) / n, 2) if n else None,
                      nps=round_half_up(percent(promoters, n) - percent(detractors, n), 1) if n else None)
    elif question.kind == "yesno":
        n = len(texts)
        counts = Counter(texts)
        labels = [gettext(evaluation_service.YESNO_LABELS[v]) for v in YESNO_VALUES]
        result.update(n=n, distribution=_distribution(labels, counts, list(YESNO_VALUES), n),
                      yes_percent=percent(counts["yes"], n) if n else None,
                      ci95=list(wilson_interval(counts["yes"], n) or []) or None)
    elif question.kind == "choice":
        n = len(texts)
        result.update(n=n, distribution=_distribution(question.labels, Counter(texts), question.labels, n))
    else:
        result.update(n=len(texts), comments=texts)
    return result


async def _evaluation(session: AsyncSession, event: Event) -> dict[str, Any]:
    questions = await evaluation_service.questions(session, event.id)
    respondents = (await session.execute(
        select(func.count()).where(EvaluationSubmission.event_id == event.id))).scalar_one()
    answers = (await session.execute(
        select(EvaluationAnswer.question_id, EvaluationAnswer.number, EvaluationAnswer.text)
        .where(EvaluationAnswer.event_id == event.id).order_by(EvaluationAnswer.id))).all()
    present = event.evaluation_present
    window = evaluation_service.window(event)
    return {
        "respondents": respondents,
        "present": present,
        "response_rate": percent(respondents, present) if present else None,
        "opens_at": iso(window.opens_at) or None,
        "closes_at": iso(window.closes_at) or None,
        "questions": [
            evaluation_question_result(
                q, [a.number for a in answers if a.question_id == q.id and a.number is not None],
                [a.text for a in answers if a.question_id == q.id and a.text is not None],
            )
            for q in questions
        ],
    }


async def _attendance(session: AsyncSession, event: Event) -> dict[str, Any]:
    unique = (await session.execute(select(func.count()).where(Attendee.event_id == event.id))).scalar_one()
    connected = (await session.execute(
        select(func.count(), func.coalesce(func.sum(Attendee.group_size), 0))
        .where(Attendee.event_id == event.id, Attendee.first_connected_at.is_not(None)))).one()
    rows = (await session.execute(
        select(AttendanceSample.minute, func.sum(AttendanceSample.connections), func.sum(AttendanceSample.reach))
        .where(AttendanceSample.event_id == event.id).group_by(AttendanceSample.minute)
        .order_by(AttendanceSample.minute))).all()
    timeline = [{"minute": iso(minute), "connections": int(c or 0), "reach": int(r or 0)} for minute, c, r in rows]
    blocks = []
    for block in sorted(event.active_blocks(), key=lambda b: b.starts_at):
        inside = [t for t, (minute, _c, _r) in zip(timeline, rows, strict=True)
                  if block.starts_at <= _aware(minute) < block.ends_at]
        blocks.append({
            "key": block.key, "title": block.title, "start": iso(block.starts_at), "end": iso(block.ends_at),
            "peak_connections": max((t["connections"] for t in inside), default=0),
            "estimated_reach": max((t["reach"] for t in inside), default=0),
        })
    return {
        "unique": unique,
        "connected": int(connected[0]),
        "peak_concurrent": max((t["connections"] for t in timeline), default=0),
        "estimated_reach": int(connected[1]),
        "peak_reach": max((t["reach"] for t in timeline), default=0),
        "timeline": timeline,
        "blocks": blocks,
    }


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


async def _polls(session: AsyncSession, event: Event) -> list[dict[str, Any]]:
    report = []
    for poll in await poll_service.event_polls(session, event.id):
        result = await poll_service.results(session, poll)
        item: dict[str, Any] = {
            "id": poll.id, "question": poll.question, "kind": poll.kind, "state": poll.state,
            "responses": result.responses,
            "options": [{"label": o.label, "count": o.count, "percent": o.percent,
                         **({"score": o.score, "mean_rank": o.mean_rank} if poll.kind == "ranking" else {})}
                        for o in result.options],
            "mean": result.mean,
        }
        if poll.kind == "open_text":
            item["wall"] = result.texts
        report.append(item)
    return report


async def _questions(session: AsyncSession, event: Event, include_names: bool) -> dict[str, Any]:
    rows = (await session.execute(select(Question).where(Question.event_id == event.id)
                                  .order_by(Question.upvotes.desc(), Question.id))).scalars().all()
    statuses = Counter(q.status for q in rows)
    visible = [q for q in rows if q.status in ("approved", "answered")]
    top = []
    for q in visible[:TOP_QUESTIONS]:
        entry = {"id": q.id, "text": q.text, "upvotes": q.upvotes, "status": q.status}
        if include_names:
            entry["author"] = q.author_name
        top.append(entry)
    listing = None
    if include_names:
        listing = [{"id": q.id, "text": q.text, "upvotes": q.upvotes, "status": q.status, "author": q.author_name,
                    "asked_at": iso(q.created_at)} for q in rows if q.status != "merged"]
    return {
        "asked": len(rows),
        "approved": statuses["approved"] + statuses["answered"],
        "answered": statuses["answered"],
        "hidden": statuses["hidden"],
        "merged": statuses["merged"],
        "top": top,
        **({"all": listing} if listing is not None else {}),
    }


async def build_report(session: AsyncSession, event: Event, *, include_names: bool = False) -> dict[str, Any]:
    """The whole results report of ``event`` (the results JSON v1, plus more detail)."""
    chat = (await session.execute(
        select(func.count(), func.count(func.distinct(ChatMessage.attendee_id)))
        .where(ChatMessage.event_id == event.id, ChatMessage.deleted.is_(False)))).one()
    deleted = (await session.execute(select(func.count()).where(
        ChatMessage.event_id == event.id, ChatMessage.deleted.is_(True)))).scalar_one()
    return {
        "event": {"slug": event.slug, "title": event.title, "date": event.date.isoformat(),
                  "organiser": event.organiser},
        "attendance": await _attendance(session, event),
        "polls": await _polls(session, event),
        "questions": await _questions(session, event, include_names),
        "chat": {"messages": int(chat[0]), "writers": int(chat[1]), "deleted": int(deleted)},
        "evaluation": await _evaluation(session, event),
    }
