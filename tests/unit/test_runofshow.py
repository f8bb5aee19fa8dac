"""Now/next at block boundaries, in the event's time zone, with moderator overrides and shifts."""

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import pytest

from ehalsodag.agenda import runofshow

STHLM = ZoneInfo("Europe/Stockholm")


@dataclass
class FakeBlock:
    id: int
    planned_start: dt.datetime
    planned_end: dt.datetime
    shift_minutes: int = 0
    went_live_at: dt.datetime | None = None

    @property
    def starts_at(self):
        return self.planned_start + dt.timedelta(minutes=self.shift_minutes)

    @property
    def ends_at(self):
        return self.planned_end + dt.timedelta(minutes=self.shift_minutes)


def local(day: dt.date, hhmm: str) -> dt.datetime:
    hour, minute = map(int, hhmm.split(":"))
    return dt.datetime.combine(day, dt.time(hour, minute), STHLM).astimezone(dt.UTC)


DAY = dt.date(2021, 3, 23)  # CET (UTC+1)


def programme(day: dt.date = DAY) -> list[FakeBlock]:
    times = [("09:00", "09:05"), ("09:05", "09:10"), ("09:10", "09:30"), ("09:50", "09:55")]
    return [FakeBlock(i + 1, local(day, a), local(day, b)) for i, (a, b) in enumerate(times)]


def test_before_the_day_the_first_block_is_next():
    state = runofshow.now_and_next(programme(), local(DAY, "08:30"))
    assert state.now is None and state.next.id == 1 and state.day_not_started and not state.day_over


def test_at_a_boundary_the_next_block_is_already_now():
    blocks = programme()
    state = runofshow.now_and_next(blocks, local(DAY, "09:05"))
    assert state.now.id == 2 and state.next.id == 3 and state.minutes_left == 5


def test_one_second_before_the_boundary_it_is_still_the_previous_block():
    at = local(DAY, "09:05") - dt.timedelta(seconds=1)
    state = runofshow.now_and_next(programme(), at)
    assert state.now.id == 1 and state.minutes_left == 1


def test_in_a_gap_nothing_is_on_and_the_next_block_is_shown():
    state = runofshow.now_and_next(programme(), local(DAY, "09:40"))
    assert state.now is None and state.next.id == 4 and not state.day_over and not state.day_not_started


def test_after_the_last_block_the_day_is_over():
    state = runofshow.now_and_next(programme(), local(DAY, "09:55"))
    assert state.now is None and state.next is None and state.day_over


def test_the_moderators_live_block_wins_over_the_clock():
    blocks = programme()
    state = runofshow.now_and_next(blocks, local(DAY, "09:06"), live_block_id=1)
    assert state.now.id == 1 and state.next.id == 2 and state.minutes_left is None  # running over


def test_stockholm_time_is_utc_plus_one_in_march_and_plus_two_in_may():
    assert local(dt.date(2021, 3, 23), "09:00").hour == 8
    assert local(dt.date(2021, 5, 25), "09:00").hour == 7


def test_summer_time_day_uses_the_right_offset():
    day = dt.date(2021, 5, 25)
    blocks = programme(day)
    state = runofshow.now_and_next(blocks, dt.datetime(2021, 5, 25, 7, 6, tzinfo=dt.UTC))
    assert state.now.id == 2  # 09:06 in Stockholm (CEST)


def test_shift_moves_only_blocks_after_the_live_one():
    blocks = programme()
    moved = runofshow.blocks_to_shift(blocks, live_block_id=2, at=local(DAY, "09:06"))
    assert [b.id for b in moved] == [3, 4]
    for b in moved:
        b.shift_minutes += 10
    state = runofshow.now_and_next(blocks, local(DAY, "09:15"))
    assert state.now is None and state.next.id == 3  # block 3 now starts 09:20


def test_without_a_live_block_shift_moves_what_has_not_started():
    blocks = programme()
    moved = runofshow.blocks_to_shift(blocks, live_block_id=None, at=local(DAY, "09:07"))
    assert [b.id for b in moved] == [3, 4]


def test_lateness_is_actual_minus_planned_start():
    block = programme()[0]
    assert runofshow.lateness_minutes(block) is None
    block.went_live_at = block.planned_start + dt.timedelta(minutes=7, seconds=10)
    assert runofshow.lateness_minutes(block) == 7


def test_naive_times_are_refused():
    with pytest.raises(ValueError):
        runofshow.now_and_next(programme(), dt.datetime(2021, 3, 23, 9, 0))
