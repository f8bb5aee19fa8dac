"""The organisers' report: attendance, polls, Q&A, chat and the evaluation, as the results JSON (v1).

Percentages are computed from integers and rounded half-up to one decimal (45 of 50 is exactly
90.0). The 95 % interval of a proportion is Wilson's score interval. Names are left out unless
``include_names`` is asked for (the Q&A with names).

Engagement per block is measured over the time the block was actually on air (:func:`on_air_windows`): from a
moderator taking it live to the next go-live on its stage, the moderator going back to the clock, the end of a
regional block, or the evaluation opening; a block never taken live falls back to its planned (shifted) time, and
the report says which (``timing``: ``"on_air"`` or ``"planned"``).

``stages`` repeats attendance, evaluation and polls per stage, on the national day per region: an
attendee, an answer or a vote counts for the respondent's home stage (none stored: the main stage).
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ehalsodag.agenda import tracks
from ehalsodag.agenda.models import Block, Event
from ehalsodag.attendees.models import Attendee
from ehalsodag.chat.models import ChatMessage
from ehalsodag.evaluation import service as evaluation_service
from ehalsodag.evaluation.models import YESNO_VALUES, EvaluationAnswer, EvaluationQuestion, EvaluationSubmission
from ehalsodag.i18n import gettext
from ehalsodag.polls import logic as poll_logic
from ehalsodag.polls import service as poll_service
from ehalsodag.polls.logic import PollResult, percent, round_half_up
from ehalsodag.polls.models import Poll, PollResponse
from ehalsodag.qa.models import Question
from ehalsodag.results import attendance
from ehalsodag.staff.models import AuditEntry
from ehalsodag.web.templating import iso

Z_95 = 1.959963984540054
TOP_QUESTIONS = 10
#: A stretch of time a block was on air (or planned to be): start inclusive, end exclusive.
Window = tuple[dt.datetime, dt.datetime]


@dataclass(frozen=True)
class OnAir:
    """When a block was on air: its windows, and whether they were measured (``"on_air"``) or are its planned time
    (``"planned"``: never taken live). ``open_end``: the last window had no later event to end it and was taken as
    long as planned (capped at now)."""

    windows: list[Window]
    timing: str
    open_end: bool = False

    @property
    def seconds(self) -> int:
        """Time on air in whole seconds."""
        return int(sum((end - start).total_seconds() for start, end in self.windows))


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


def _evaluation_figures(event: Event, questions: list[EvaluationQuestion], answers: list[Any], respondents: int,
                        present: int | None) -> dict[str, Any]:
    """The evaluation's figures over ``answers`` (rows with ``question_id``, ``number`` and ``text``)."""
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


async def _evaluation(session: AsyncSession, event: Event) -> dict[str, Any]:
    questions = await evaluation_service.questions(session, event.id)
    respondents = (await session.execute(
        select(func.count()).where(EvaluationSubmission.event_id == event.id))).scalar_one()
    answers = (await session.execute(
        select(EvaluationAnswer.question_id, EvaluationAnswer.number, EvaluationAnswer.text)
        .where(EvaluationAnswer.event_id == event.id).order_by(EvaluationAnswer.id))).all()
    return _evaluation_figures(event, questions, list(answers), respondents, event.evaluation_present)


async def on_air_windows(session: AsyncSession, event: Event, now: dt.datetime | None = None) -> dict[int, OnAir]:
    """Each active block's time on air, from the audit log's go-lives (``block.live``), returns to the clock
    (``block.clear_live``) and regional ends (``block.end``), in the order they happened.

    A block taken live stays on air until the next go-live on its stage (the main stage's go-lives end the main
    stage's block; a region's its own), a return to the clock (main stage), its early end or planned end (a regional
    block), or the evaluation opening. With none of these after it, it is taken as on air for its planned length
    (capped at ``now``). A block taken live twice has two windows. Never live: its planned (shifted) time."""
    now = now or dt.datetime.now(dt.UTC)
    blocks = {b.key: b for b in event.active_blocks()}
    main_id = tracks.main_stage_id(event)
    national = tracks.is_national_day(event)
    entries = (await session.execute(
        select(AuditEntry.action, AuditEntry.detail, AuditEntry.created_at)
        .where(AuditEntry.event_id == event.id,
               AuditEntry.action.in_(("block.live", "block.clear_live", "block.end")))
        .order_by(AuditEntry.created_at, AuditEntry.id))).all()
    evaluation_at = _aware(event.evaluation_opened_at) if event.evaluation_opened_at else None
    windows: dict[int, list[Window]] = {}
    open_end: set[int] = set()
    on_air: dict[int | None, tuple[Block, dt.datetime]] = {}  # lane (stage id; None: the main stage) -> block, since

    def lane_of(block: Block) -> int | None:
        return block.stage_id if national and block.stage_id != main_id else None

    def close(lane: int | None, at: dt.datetime) -> None:
        if lane in on_air:
            block, since = on_air.pop(lane)
            if lane is not None:  # a regional block also ends at its planned (or overrun) end
                at = min(at, max(since, _aware(block.ends_at)))
            windows.setdefault(block.id, []).append((since, max(since, at)))

    evaluation_pending = evaluation_at is not None
    for action, detail, created_at in entries:
        at = _aware(created_at)
        block = blocks.get((detail or {}).get("block", ""))
        if evaluation_pending and evaluation_at is not None and at >= evaluation_at:
            for lane in list(on_air):  # the evaluation opening ends the broadcast
                close(lane, evaluation_at)
            evaluation_pending = False
        if action == "block.clear_live":
            close(None, at)
        elif block is not None and action == "block.end":
            if lane_of(block) in on_air and on_air[lane_of(block)][0] is block:
                close(lane_of(block), at)
        elif block is not None and action == "block.live":
            close(lane_of(block), at)
            on_air[lane_of(block)] = (block, at)
    for lane, (block, since) in list(on_air.items()):
        if evaluation_pending and evaluation_at is not None and evaluation_at <= now:
            close(lane, evaluation_at)
            continue
        open_end.add(block.id)  # nothing ended it: as long as planned, and not beyond now
        close(lane, min(since + (block.planned_end - block.planned_start), now))
    return {
        b.id: (OnAir(windows[b.id], "on_air", b.id in open_end) if b.id in windows
               else OnAir([(b.starts_at, b.ends_at)], "planned"))
        for b in event.active_blocks()
    }


async def _interaction_times(session: AsyncSession, event: Event) -> dict[str, list[dt.datetime]]:
    """When each question, chat message and poll answer of the event was posted."""
    poll_ids = select(Poll.id).where(Poll.event_id == event.id)
    queries = {
        "questions": select(Question.created_at).where(Question.event_id == event.id),
        "chat_messages": select(ChatMessage.created_at).where(ChatMessage.event_id == event.id),
        "poll_responses": select(PollResponse.created_at).where(PollResponse.poll_id.in_(poll_ids)),
    }
    return {key: [_aware(t) for t in (await session.execute(query)).scalars()] for key, query in queries.items()}


def _engagement(on_air: OnAir, block: Block, times: dict[str, list[dt.datetime]]) -> dict[str, Any]:
    """A block's time on air and what attendees did in it (per minute on air)."""
    minutes = on_air.seconds / 60
    counts = {key: sum(1 for t in values if any(start <= t < end for start, end in on_air.windows))
              for key, values in times.items()}
    total = sum(counts.values())
    return {
        "timing": on_air.timing,
        "open_end": on_air.open_end,
        "on_air_start": iso(on_air.windows[0][0]),
        "on_air_end": iso(on_air.windows[-1][1]),
        "on_air_minutes": round_half_up(minutes, 1),
        "planned_minutes": round_half_up((block.planned_end - block.planned_start).total_seconds() / 60, 1),
        **counts,
        "interactions": total,
        "interactions_per_minute": round_half_up(total / minutes, 2) if minutes > 0 else None,
    }


def _on_air_window(on_air: OnAir) -> tuple[int, int]:
    """The minutes from a block's first moment on air to its last (its planned time when never taken live)."""
    first = attendance.minute_number(on_air.windows[0][0])
    return first, max(first, attendance.minute_number(on_air.windows[-1][1]) - 1)


def _attendance_of(event: Event, present: attendance.Presence, blocks: list[Block], on_air: dict[int, OnAir],
                   times: dict[str, list[dt.datetime]], by_stage: bool = True) -> dict[str, Any]:
    """The attendance figures of ``present`` (the event's, or a region's): the day, per minute, and per block over
    its time on air (with what attendees did meanwhile)."""
    day = present.figures()
    joined = len(present.declared)
    figures: dict[str, Any] = {
        "unique": day["unique"],
        "joined": joined,
        "connected": day["unique"],
        "peak_concurrent": day["peak_concurrent"],
        "estimated_reach": day["estimated_reach"],
        "peak_reach": day["peak_reach"],
        "timeline": attendance.timeline_json(day["timeline"], event.timezone),
        "blocks": [],
    }
    for block in blocks:
        window = _on_air_window(on_air[block.id])
        inside = present.figures(*window)
        stage = tracks.stage_by_id(event, block.stage_id)
        row = {"key": block.key, "title": block.title, "start": iso(block.starts_at), "end": iso(block.ends_at),
               "stage": stage.key if stage else None, "attendees": inside["unique"],
               "peak_connections": inside["peak_concurrent"], "estimated_reach": inside["estimated_reach"],
               "peak_reach": inside["peak_reach"], "engagement": _engagement(on_air[block.id], block, times)}
        if by_stage:
            row["by_stage"] = _block_by_stage(event, block, present, window)
        figures["blocks"].append(row)
    return figures


async def _attendance(session: AsyncSession, event: Event, present: attendance.Presence,
                      on_air: dict[int, OnAir], times: dict[str, list[dt.datetime]]) -> dict[str, Any]:
    blocks = sorted(event.active_blocks(), key=lambda b: b.starts_at)
    figures = _attendance_of(event, present, blocks, on_air, times)
    figures["group_sizes"] = present.group_sizes()
    figures["reach_max_group_size"] = present.cap
    figures["reach_capped"] = sum(1 for a in present.spans if present.sizes.get(a) != present.declared.get(a))
    return figures


def _region_of(event: Event, present: attendance.Presence, stage_id: int) -> attendance.Presence:
    """The attendees whose home stage (region) is ``stage_id`` (none chosen: the main stage)."""
    return present.of(a for a, home in present.homes.items()
                      if (h := tracks.home_of(event, home)) is not None and h.id == stage_id)


def _block_by_stage(event: Event, block: Block, present: attendance.Presence,
                    window: tuple[int, int]) -> list[dict[str, Any]]:
    """A block's figures per home stage: every stage for a block of the main stage (everyone follows it), the
    block's own region for a regional one. With one stage that stage's figures are the event's."""
    audience = event.stages if block.stage_id == tracks.main_stage_id(event) or len(event.stages) <= 1 else [
        s for s in event.stages if s.id == block.stage_id]
    rows = []
    for stage in audience:
        inside = (present if len(event.stages) <= 1 else _region_of(event, present, stage.id)).figures(*window)
        rows.append({"id": stage.key, "name": stage.name, "attendees": inside["unique"],
                     "peak_connections": inside["peak_concurrent"], "estimated_reach": inside["estimated_reach"]})
    return rows


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _poll_item(event: Event, poll: Poll, result: PollResult) -> dict[str, Any]:
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
    home = tracks.home_of(event, poll.stage_id)
    if home is not None:
        item["stage"] = home.key
    return item


async def _polls(session: AsyncSession, event: Event) -> list[dict[str, Any]]:
    return [_poll_item(event, poll, await poll_service.results(session, poll))
            for poll in await poll_service.event_polls(session, event.id)]


def _home_ids(event: Event, stage_ids: list[int | None]) -> list[int | None]:
    """Each stored stage id as the home stage it counts for (NULL or a stage no longer the event's: the main)."""
    homes = [tracks.home_of(event, stage_id) for stage_id in stage_ids]
    return [home.id if home is not None else None for home in homes]


def _stage_attendance(event: Event, total: dict[str, Any], present: attendance.Presence, on_air: dict[int, OnAir],
                      times: dict[str, list[dt.datetime]]) -> dict[int, dict[str, Any]]:
    """Attendance per home stage (region), in the shape of the event's, over the region's attendees: the national
    blocks and the region's own."""
    keys = ("key", "title", "start", "end", "stage", "attendees", "peak_connections", "estimated_reach",
            "peak_reach", "engagement")
    if len(event.stages) <= 1:  # the one stage's figures are the event's
        return {s.id: {**total, "blocks": [{k: b[k] for k in keys} for b in total["blocks"]]} for s in event.stages}
    main_id = tracks.main_stage_id(event)
    ordered = sorted(event.active_blocks(), key=lambda b: b.starts_at)
    result = {}
    for stage in event.stages:
        blocks = [b for b in ordered if b.stage_id in (main_id, stage.id)]
        figures = _attendance_of(event, _region_of(event, present, stage.id), blocks, on_air, times, by_stage=False)
        for row in figures["blocks"]:
            row["stage"] = row["stage"] or stage.key
        result[stage.id] = figures
    return result


async def _stage_evaluation(session: AsyncSession, event: Event,
                            total: dict[str, Any]) -> dict[int, dict[str, Any]]:
    """The evaluation per home stage (region), over the answers stored with that stage.

    Respondents are the distinct responses among the region's answers. The response rate's base is the
    region's attendees present when the evaluation opened, counted like the event's (connected, and seen
    within :data:`PRESENT_WINDOW` before the opening) but afterwards: ``last_seen_at`` has moved on since,
    so an attendee who was away at the opening and came back later counts too, and the regions may add up
    to slightly more than the event's stored ``present``. No base (not opened yet): no rate.
    """
    if len(event.stages) <= 1:  # every answer is the one stage's: its figures are the event's
        return {s.id: total for s in event.stages}
    questions = await evaluation_service.questions(session, event.id)
    answers = (await session.execute(
        select(EvaluationAnswer.question_id, EvaluationAnswer.number, EvaluationAnswer.text,
               EvaluationAnswer.response, EvaluationAnswer.stage_id)
        .where(EvaluationAnswer.event_id == event.id).order_by(EvaluationAnswer.id))).all()
    by_home: dict[int | None, list[Any]] = {}
    for home, answer in zip(_home_ids(event, [a.stage_id for a in answers]), answers, strict=True):
        by_home.setdefault(home, []).append(answer)
    present: dict[int | None, int] | None = None
    opens_at = evaluation_service.window(event).opens_at
    if event.evaluation_present is not None and opens_at is not None:
        rows = (await session.execute(
            select(Attendee.stage_id, func.count())
            .where(Attendee.event_id == event.id, Attendee.first_connected_at.is_not(None),
                   Attendee.first_connected_at <= opens_at,
                   Attendee.last_seen_at >= opens_at - evaluation_service.PRESENT_WINDOW)
            .group_by(Attendee.stage_id))).all()
        present = {}
        for home, (_stage_id, count) in zip(_home_ids(event, [r[0] for r in rows]), rows, strict=True):
            present[home] = present.get(home, 0) + int(count)
    return {
        stage.id: _evaluation_figures(
            event, questions, by_home.get(stage.id, []), len({a.response for a in by_home.get(stage.id, [])}),
            present.get(stage.id, 0) if present is not None else None)
        for stage in event.stages
    }


def _aggregate(poll: Poll, rows: list[Any]) -> PollResult:
    """A poll's results over some of its responses (rows with ``answer``, ``wall_status``, ``wall_text``)."""
    scale = (poll.scale_min or 1, poll.scale_max or 5) if poll.kind == "scale" else None
    return poll_logic.aggregate(
        poll.kind, [(o.id, o.label) for o in poll.options], (r.answer for r in rows), scale=scale,
        wall=[r.wall_text for r in rows if r.wall_status == "approved" and r.wall_text])


async def _stage_polls(session: AsyncSession, event: Event) -> dict[int, list[dict[str, Any]]]:
    """Polls per home stage: a poll of the main stage (national) once per stage, counting the votes of that
    stage's attendees (their region); a regional poll whole, on its own stage only."""
    polls = await poll_service.event_polls(session, event.id)
    result: dict[int, list[dict[str, Any]]] = {s.id: [] for s in event.stages}
    if not polls or not event.stages:
        return result
    rows = (await session.execute(
        select(PollResponse.poll_id, PollResponse.answer, PollResponse.wall_status, PollResponse.wall_text,
               Attendee.stage_id)
        .join(Attendee, Attendee.id == PollResponse.attendee_id)
        .where(PollResponse.poll_id.in_([p.id for p in polls])).order_by(PollResponse.id))).all()
    by_poll: dict[int, list[tuple[int | None, Any]]] = {}
    for home, row in zip(_home_ids(event, [r.stage_id for r in rows]), rows, strict=True):
        by_poll.setdefault(row.poll_id, []).append((home, row))
    main_id = tracks.main_stage_id(event)
    for poll in polls:
        votes = by_poll.get(poll.id, [])
        home = tracks.home_of(event, poll.stage_id)
        if home is None:
            continue
        if home.id == main_id:
            for stage in event.stages:
                result[stage.id].append(
                    _poll_item(event, poll, _aggregate(poll, [row for voter, row in votes if voter == stage.id])))
        else:
            result[home.id].append(_poll_item(event, poll, _aggregate(poll, [row for _voter, row in votes])))
    return result


async def _stages(session: AsyncSession, event: Event, figures: dict[str, Any], evaluation: dict[str, Any],
                  present: attendance.Presence, on_air: dict[int, OnAir],
                  times: dict[str, list[dt.datetime]]) -> list[dict[str, Any]]:
    """The results per stage (per region on the national day): attendance, evaluation and polls, each in the
    shape of the event's own."""
    attendance_by_stage = _stage_attendance(event, figures, present, on_air, times)
    evaluation_by_stage = await _stage_evaluation(session, event, evaluation)
    polls_by_stage = await _stage_polls(session, event)
    return [{"id": stage.key, "name": stage.name, "kind": stage.kind,
             "attendance": attendance_by_stage[stage.id], "evaluation": evaluation_by_stage[stage.id],
             "polls": polls_by_stage[stage.id]}
            for stage in event.stages]


async def _questions(session: AsyncSession, event: Event, include_names: bool) -> dict[str, Any]:
    rows = (await session.execute(select(Question).where(Question.event_id == event.id)
                                  .order_by(Question.upvotes.desc(), Question.id))).scalars().all()
    statuses = Counter(q.status for q in rows)
    visible = [q for q in rows if q.status in ("approved", "answered")]
    keys = {s.id: s.key for s in event.stages}

    def stage_of(question: Question) -> str | None:
        return keys.get(tracks.stage_of_content(event, question.stage_id) or 0)

    top = []
    for q in visible[:TOP_QUESTIONS]:
        entry = {"id": q.id, "text": q.text, "upvotes": q.upvotes, "status": q.status, "stage": stage_of(q)}
        if include_names:
            entry["author"] = q.author_name
        top.append(entry)
    listing = None
    if include_names:
        listing = [{"id": q.id, "text": q.text, "upvotes": q.upvotes, "status": q.status, "author": q.author_name,
                    "asked_at": iso(q.created_at), "stage": stage_of(q)} for q in rows if q.status != "merged"]
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
    """The whole results report of ``event`` (the results JSON v1, plus more detail, plus ``stages``: the
    figures per stage, i.e. per region on the national day)."""
    chat = (await session.execute(
        select(func.count(), func.count(func.distinct(ChatMessage.attendee_id)))
        .where(ChatMessage.event_id == event.id, ChatMessage.deleted.is_(False)))).one()
    deleted = (await session.execute(select(func.count()).where(
        ChatMessage.event_id == event.id, ChatMessage.deleted.is_(True)))).scalar_one()
    present = await attendance.presence(session, event.id, event.reach_max_group_size)
    on_air = await on_air_windows(session, event)
    times = await _interaction_times(session, event)
    figures = await _attendance(session, event, present, on_air, times)
    evaluation = await _evaluation(session, event)
    return {
        "event": {"slug": event.slug, "title": event.title, "date": event.date.isoformat(),
                  "organiser": event.organiser},
        "attendance": figures,
        "polls": await _polls(session, event),
        "questions": await _questions(session, event, include_names),
        "chat": {"messages": int(chat[0]), "writers": int(chat[1]), "deleted": int(deleted)},
        "evaluation": evaluation,
        "stages": await _stages(session, event, figures, evaluation, present, on_air, times),
    }
