"""Run-of-show logic: what is on now, what comes next, how late the day runs. Pure functions.

The moderator's choice is authoritative: once a block has been taken live it is "now" until
another one is. Before that (or after the day), "now" follows the clock and the shifted schedule.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


class ScheduledBlock(Protocol):
    """What the run-of-show needs of a block (the ORM Block satisfies it)."""

    id: int
    planned_start: dt.datetime
    planned_end: dt.datetime
    shift_minutes: int
    went_live_at: dt.datetime | None

    @property
    def starts_at(self) -> dt.datetime: ...

    @property
    def ends_at(self) -> dt.datetime: ...


@dataclass(frozen=True)
class NowNext:
    """The block on now (if any), the one after it, and the minutes left of the current one."""

    now: ScheduledBlock | None
    next: ScheduledBlock | None
    minutes_left: int | None
    day_over: bool
    day_not_started: bool


def ordered(blocks: Sequence[ScheduledBlock]) -> list[ScheduledBlock]:
    """Blocks in the order they run on the day."""
    return sorted(blocks, key=lambda b: (b.starts_at, b.ends_at, b.id))


def now_and_next(
    blocks: Sequence[ScheduledBlock], at: dt.datetime, live_block_id: int | None = None
) -> NowNext:
    """What is on at ``at`` (UTC-aware): the live block if a moderator chose one, else by the clock.

    A block is on from its start up to but not including its end, so at a boundary the next block
    is already "now".
    """
    if at.tzinfo is None:
        raise ValueError("at must be timezone-aware")
    sequence = ordered(blocks)
    if not sequence:
        return NowNext(None, None, None, day_over=False, day_not_started=True)
    current: ScheduledBlock | None = None
    if live_block_id is not None:
        current = next((b for b in sequence if b.id == live_block_id), None)
    if current is None:
        current = next((b for b in sequence if b.starts_at <= at < b.ends_at), None)
    if current is not None:
        index = sequence.index(current)
        following = sequence[index + 1] if index + 1 < len(sequence) else None
        # Only while the clock is inside the block: a block kept live past its end has no time left to show.
        left = _ceil_minutes(current.ends_at - at) if current.starts_at <= at < current.ends_at else None
        return NowNext(current, following, left, day_over=False, day_not_started=False)
    upcoming = next((b for b in sequence if b.starts_at > at), None)
    return NowNext(
        None,
        upcoming,
        None,
        day_over=upcoming is None,
        day_not_started=upcoming is sequence[0],
    )


def _ceil_minutes(delta: dt.timedelta) -> int:
    seconds = delta.total_seconds()
    return int(-(-seconds // 60))


def lateness_minutes(block: ScheduledBlock) -> int | None:
    """How many minutes after its planned start the block actually went live (negative: early)."""
    if block.went_live_at is None:
        return None
    return round((block.went_live_at - block.planned_start).total_seconds() / 60)


def blocks_to_shift(
    blocks: Sequence[ScheduledBlock], live_block_id: int | None, at: dt.datetime
) -> list[ScheduledBlock]:
    """The blocks a "shift later blocks by N minutes" moves: every block after the live one.

    With no live block, every block that has not started yet at ``at``.
    """
    sequence = ordered(blocks)
    live = next((b for b in sequence if b.id == live_block_id), None) if live_block_id else None
    if live is not None:
        return sequence[sequence.index(live) + 1 :]
    return [b for b in sequence if b.starts_at >= at]
