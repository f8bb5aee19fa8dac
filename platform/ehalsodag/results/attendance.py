"""The attendance figures the organisers publish, counted by attendee from their presence spans (docs/results.md).

Every figure comes from one set of per-attendee minutes, so they always agree: the peak of a minute is at most the
unique attendees, the peak reach at most the reach, a block's figures at most the day's; a restart, a second
worker or a second tab adds nobody twice. An attendee seen with a live connection counts by those spans only;
one never connected live (a browser without JavaScript) by their page views.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ehalsodag.attendees.models import Attendee
from ehalsodag.results.models import AttendanceSpan

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
#: Minutes as whole numbers since 1970 (UTC), inclusive ranges.
Span = tuple[int, int]


def minute_number(at: dt.datetime) -> int:
    """``at`` as whole minutes since 1970 (UTC)."""
    aware = at if at.tzinfo else at.replace(tzinfo=dt.UTC)
    return int((aware - EPOCH).total_seconds() // 60)


def minute_time(number: int) -> dt.datetime:
    """The start of minute ``number`` (UTC)."""
    return EPOCH + dt.timedelta(minutes=number)


def merge(spans: Iterable[Span]) -> list[Span]:
    """Overlapping or touching spans as one."""
    merged: list[list[int]] = []
    for first, last in sorted(spans):
        if merged and first <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], last)
        else:
            merged.append([first, last])
    return [(a, b) for a, b in merged]


@dataclass(frozen=True)
class Presence:
    """Who was present when (merged minute spans per attendee), each attendee's counted group size, and the
    declared sizes of every attendee who joined."""

    spans: dict[int, list[Span]]
    sizes: dict[int, int]
    declared: dict[int, int]
    homes: dict[int, int | None]
    cap: int | None

    def of(self, attendees: Iterable[int]) -> Presence:
        """The same, for some of the attendees only (a region's)."""
        keep = set(attendees)
        return Presence({a: s for a, s in self.spans.items() if a in keep}, self.sizes,
                        {a: s for a, s in self.declared.items() if a in keep}, self.homes, self.cap)

    def figures(self, first: int | None = None, last: int | None = None) -> dict[str, Any]:
        """Unique attendees, their reach, and per minute the attendees present and the people they reach, within
        minutes ``first``..``last`` (None: the whole day)."""
        delta: Counter[int] = Counter()
        reach_delta: Counter[int] = Counter()
        unique: set[int] = set()
        for attendee, spans in self.spans.items():
            for a, b in spans:
                a, b = max(a, first) if first is not None else a, min(b, last) if last is not None else b
                if a > b:
                    continue
                unique.add(attendee)
                size = self.sizes.get(attendee, 1)
                delta[a] += 1
                delta[b + 1] -= 1
                reach_delta[a] += size
                reach_delta[b + 1] -= size
        timeline: list[tuple[int, int, int]] = []
        count = reach = 0
        marks = sorted(delta.keys() | reach_delta.keys())
        for index, minute in enumerate(marks):
            count += delta[minute]
            reach += reach_delta[minute]
            if count > 0:
                until = marks[index + 1] if index + 1 < len(marks) else minute + 1
                timeline += [(m, count, reach) for m in range(minute, until)]
        return {
            "unique": len(unique),
            "estimated_reach": sum(self.sizes.get(a, 1) for a in unique),
            "peak_concurrent": max((c for _m, c, _r in timeline), default=0),
            "peak_reach": max((r for _m, _c, r in timeline), default=0),
            "timeline": timeline,
        }

    def group_sizes(self) -> list[dict[str, Any]]:
        """How many attendees declared each group size (all who joined, and those present), smallest first."""
        joined = Counter(self.declared.values())
        present = Counter(self.declared[a] for a in self.spans if a in self.declared)
        return [{"size": size, "joined": joined[size], "present": present[size],
                 "counted": self.cap is None or size <= self.cap} for size in sorted(joined)]


async def presence(session: AsyncSession, event_id: int, cap: int | None) -> Presence:
    """The event's presence: live spans for attendees ever connected live, else their page views."""
    attendees = (await session.execute(select(Attendee.id, Attendee.group_size, Attendee.stage_id).where(
        Attendee.event_id == event_id))).all()
    rows = (await session.execute(select(
        AttendanceSpan.attendee_id, AttendanceSpan.first_minute, AttendanceSpan.last_minute, AttendanceSpan.live)
        .where(AttendanceSpan.event_id == event_id))).all()
    live = {attendee for attendee, _a, _b, is_live in rows if is_live}
    raw: dict[int, list[Span]] = {}
    for attendee, first, last, is_live in rows:
        if is_live or attendee not in live:
            raw.setdefault(attendee, []).append((minute_number(first), minute_number(last)))
    declared = {a: max(1, int(size or 1)) for a, size, _stage in attendees}
    sizes = {a: size if cap is None or size <= cap else 1 for a, size in declared.items()}
    return Presence({a: merge(s) for a, s in raw.items()}, sizes, declared,
                    {a: stage for a, _size, stage in attendees}, cap)


def timeline_json(timeline: list[tuple[int, int, int]], timezone: str) -> list[dict[str, Any]]:
    """Per minute: the UTC minute (ISO), the event's local time (HH:MM), attendees present and people reached."""
    zone = ZoneInfo(timezone)
    return [{"minute": minute_time(m).isoformat().replace("+00:00", "Z"),
             "local": minute_time(m).astimezone(zone).strftime("%H:%M"), "connections": c, "attendees": c,
             "reach": r} for m, c, r in timeline]
