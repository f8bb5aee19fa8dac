"""The archive page after the day: the recording of each block (its own URL, or a chapter link into the event's
one recording), the questions the panel answered, the polls and the evaluation summary the organiser published."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ehalsodag.agenda import runofshow
from ehalsodag.agenda.models import Block, Event
from ehalsodag.agenda.service import utcnow
from ehalsodag.polls.models import Poll
from ehalsodag.qa.models import Question
from ehalsodag.results.service import build_report

#: Blocks with nothing to watch afterwards.
_PAUSES = ("break", "lunch")


def chapter_link(url: str, seconds: int) -> str:
    """``url`` starting ``seconds`` in: YouTube's ``t`` parameter, else a media fragment ``#t=``."""
    seconds = max(0, seconds)
    parts = urlsplit(url)
    host = parts.netloc.lower()
    if host.endswith(("youtube.com", "youtu.be", "youtube-nocookie.com")):
        query = [(k, v) for k, v in parse_qsl(parts.query) if k != "t"] + [("t", f"{seconds}s")]
        return urlunsplit(parts._replace(query=urlencode(query)))
    return urlunsplit(parts._replace(fragment=f"t={seconds}"))


@dataclass(frozen=True)
class Chapter:
    """One block of the archive and where to watch it (None: no recording)."""

    block: Block
    url: str | None
    #: Seconds into the event's recording (None when the block has a recording of its own or none).
    offset: int | None


def chapters(event: Event) -> list[Chapter]:
    """Each block (not the breaks) with its recording: its own URL, or a chapter of the event's recording counted
    from the first block's start (when every block went live, from when they actually went live)."""
    blocks = [b for b in runofshow.ordered(event.active_blocks()) if b.kind not in _PAUSES]
    if not blocks:
        return []
    actual = all(b.went_live_at is not None for b in blocks)
    start = blocks[0].went_live_at if actual else blocks[0].starts_at
    found = []
    for block in blocks:
        if block.recording_url:
            found.append(Chapter(block, block.recording_url, None))
        elif event.recording_url and start is not None:
            began = block.went_live_at if actual else block.starts_at
            offset = int((began - start).total_seconds())  # type: ignore[operator]
            found.append(Chapter(block, chapter_link(event.recording_url, offset), offset))
        else:
            found.append(Chapter(block, None, None))
    return found


def day_over(event: Event, at: dt.datetime | None = None) -> bool:
    """Whether the day is over: its last block has ended."""
    blocks = event.active_blocks()
    if not blocks:
        return event.date < (at or utcnow()).date()
    return max(b.ends_at for b in blocks) <= (at or utcnow())


async def answered_questions(session: AsyncSession, event: Event) -> list[Question]:
    """The questions the panel answered, in the order they were answered."""
    rows = await session.execute(select(Question).where(
        Question.event_id == event.id, Question.status == "answered").order_by(Question.answered_at, Question.id))
    return list(rows.scalars())


async def published(session: AsyncSession, event: Event) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """The published polls' results, and the evaluation summary if published (free-text comments left out)."""
    report = await build_report(session, event)
    chosen = set((await session.execute(select(Poll.id).where(
        Poll.event_id == event.id, Poll.published.is_(True)))).scalars())
    polls = [p for p in report["polls"] if p["id"] in chosen]
    evaluation = None
    if event.evaluation_published:
        evaluation = {**report["evaluation"], "questions": [
            {k: v for k, v in q.items() if k != "comments"} for q in report["evaluation"]["questions"]
            if q["kind"] != "text"]}
    return polls, evaluation

