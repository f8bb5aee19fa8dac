"""The run-of-show never shows an absurd figure: a block taken live on another day than planned (a rehearsal of a
past day) shows the date it went live; lateness in minutes only within the day (property over every offset)."""

import datetime as dt
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from ehalsodag.agenda.models import Block, Event, Stage
from ehalsodag.agenda.view import _REHEARSAL_MINUTES, event_view

START = dt.datetime(2021, 3, 23, 8, 0, tzinfo=dt.UTC)


def _event(went_live_at: dt.datetime) -> Event:
    stage = Stage(id=1, key="main", name="Huvud", kind="regional", position=0)
    block = Block(id=1, key="b", kind="talk", title="B", description="", planned_start=START,
                  planned_end=START + dt.timedelta(minutes=30), shift_minutes=0, overrun_minutes=0,
                  went_live_at=went_live_at, speakers=[], removed=False, stage=stage, stage_id=1)
    return Event(id=1, slug="e", title="E", date=START.date(), timezone="Europe/Stockholm", stages=[stage],
                 blocks=[block], live_block_id=1, allowed_stream_hosts=[])


@given(st.integers(min_value=-10 * 365 * 24 * 60, max_value=10 * 365 * 24 * 60))
def test_lateness_is_minutes_within_the_day_and_a_date_beyond(offset):
    went = START + dt.timedelta(minutes=offset)
    view = event_view(_event(went), at=went)
    row = view.rows[0]
    assert abs(view.running_late) <= _REHEARSAL_MINUTES
    if row.late_minutes is not None:
        assert abs(row.late_minutes) <= _REHEARSAL_MINUTES and row.went_live_on is None
    else:
        assert row.went_live_on == went.astimezone(ZoneInfo("Europe/Stockholm")).date()
