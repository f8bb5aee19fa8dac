"""Which stage each region follows, and when it is told that the national programme goes on without it."""

from __future__ import annotations

import datetime as dt

from ehalsodag.agenda import tracks
from ehalsodag.agenda.models import Block, Event, Stage
from ehalsodag.agenda.view import event_view

T0 = dt.datetime(2022, 5, 17, 8, 0, tzinfo=dt.UTC)


def at(minutes: int) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


def national_day() -> tuple[Event, dict[str, Stage], dict[str, Block]]:
    """A national opening 0–60, Östergötland's block 60–90, Skåne's 75–105, a national panel 90–150."""
    stages = {key: Stage(id=i, key=key, name=key.title(), kind="national" if key == "nationell" else "regional",
                         position=i) for i, key in enumerate(("nationell", "ostergotland", "skane"), start=1)}
    spans = {"oppning": ("nationell", 0, 60), "ost": ("ostergotland", 60, 90), "skane": ("skane", 75, 105),
             "panel": ("nationell", 90, 150)}
    blocks = {key: Block(id=i, key=key, kind="talk", title=key, stage_id=stages[stage].id, stage=stages[stage],
                         planned_start=at(start), planned_end=at(end), shift_minutes=0, removed=False)
              for i, (key, (stage, start, end)) in enumerate(spans.items(), start=1)}
    event = Event(id=1, slug="n", title="N", stages=list(stages.values()), blocks=list(blocks.values()))
    return event, stages, blocks


def followed(event: Event, minutes: int) -> dict[str, str]:
    by_id = {s.id: s.key for s in event.stages}
    return {by_id[home]: by_id[stage] for home, stage in tracks.tracks(event, at(minutes)).items()}


def test_each_region_follows_its_own_stage_only_during_its_own_blocks():
    event, _stages, _blocks = national_day()
    assert followed(event, 30) == {"nationell": "nationell", "ostergotland": "nationell", "skane": "nationell"}
    assert followed(event, 70) == {"nationell": "nationell", "ostergotland": "ostergotland", "skane": "nationell"}
    assert followed(event, 80) == {"nationell": "nationell", "ostergotland": "ostergotland", "skane": "skane"}
    assert followed(event, 95) == {"nationell": "nationell", "ostergotland": "nationell", "skane": "skane"}
    assert followed(event, 110) == {"nationell": "nationell", "ostergotland": "nationell", "skane": "nationell"}


def test_a_regional_block_taken_live_early_or_ended_early_moves_only_its_region():
    event, stages, blocks = national_day()
    stages["ostergotland"].live_block_id = blocks["ost"].id  # its moderator started ten minutes early
    assert followed(event, 50)["ostergotland"] == "ostergotland"
    assert followed(event, 50)["skane"] == "nationell"
    blocks["ost"].ended_at = at(65)  # and ended it early
    stages["ostergotland"].live_block_id = None
    assert followed(event, 70)["ostergotland"] == "nationell"


def test_a_region_running_late_keeps_its_attendees_and_is_told_the_national_programme_goes_on():
    event, stages, blocks = national_day()
    blocks["ost"].shift_minutes = 10  # Östergötland runs ten minutes late: 70–100
    stages["ostergotland"].live_block_id = blocks["ost"].id
    assert followed(event, 95)["ostergotland"] == "ostergotland"
    assert blocks["panel"].starts_at == at(90)  # the national programme did not move
    assert tracks.resume_notice(event, stages["ostergotland"], at(75)) is None  # too early to tell
    soon = tracks.resume_notice(event, stages["ostergotland"], at(82))
    assert soon is not None and not soon.resumed and soon.national is blocks["panel"]
    resumed = tracks.resume_notice(event, stages["ostergotland"], at(95))
    assert resumed is not None and resumed.resumed
    assert tracks.resume_notice(event, stages["skane"], at(70)) is None  # Skåne's block has not started
    assert tracks.resume_notice(event, stages["nationell"], at(95)) is None
    assert followed(event, 101)["ostergotland"] == "nationell"


def test_now_and_next_show_the_attendees_own_track():
    event, stages, blocks = national_day()
    ost = event_view(event, at(30), home=stages["ostergotland"].id)
    assert ost.now is blocks["oppning"] and ost.next is blocks["ost"]
    assert [row.block.key for row in ost.rows] == ["oppning", "ost", "panel"]
    assert [stage.key for stage, _rows in ost.other_regions] == ["skane"]
    national = event_view(event, at(70))
    assert national.now is None and national.next is blocks["panel"]  # a pause on the national stage
    assert [row.block.key for row in national.rows] == ["oppning", "panel"]
    in_block = event_view(event, at(70), home=stages["ostergotland"].id)
    assert in_block.now is blocks["ost"] and in_block.regional and in_block.next is blocks["panel"]


def test_national_content_alongside_a_regional_block_is_neither_next_nor_a_restart():
    """A film on the national stage for those without a region, while Östergötland has its own block."""
    event, stages, blocks = national_day()
    film = Block(id=9, key="film", kind="film", title="film", stage_id=stages["nationell"].id,
                 stage=stages["nationell"], planned_start=at(70), planned_end=at(85), shift_minutes=0, removed=False)
    event.blocks.append(film)
    assert tracks.resume_notice(event, stages["ostergotland"], at(75)) is None
    view = event_view(event, at(75), home=stages["ostergotland"].id)
    assert view.now is blocks["ost"] and view.next is blocks["panel"]
    assert event_view(event, at(75)).now is film  # those without a region see the film
