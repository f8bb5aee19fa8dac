"""The failure classes of issue 16, one test each, on the readers and the programme files they write.

Each builds the smallest file that shows the class (as seen in real files) and checks that the import either keeps
what the file says or refuses with ``place: message`` — and that a written programme file always passes
``agenda check``.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from ehalsodag.agenda import importers
from ehalsodag.agenda.files import AgendaError, load_agenda
from ehalsodag.agenda.importers import ScheduleImportError
from ehalsodag.agenda.interop import export_zone_name


def schedule_json(events: list[dict[str, Any]], room: str = "Hall A", zone: str | None = "Europe/Berlin",
                  date: str = "2026-03-30", **conference: Any) -> str:
    conf = {"acronym": "conf", "title": "Conf", "days": [{"date": date, "rooms": {room: events}}], **conference}
    if zone:
        conf["time_zone_name"] = zone
    return json.dumps({"schedule": {"version": "1", "conference": conf}})


def talk(title: str = "Talk", start: str = "2026-03-30T10:00:00+02:00", duration: str = "00:30", **more: Any):
    return {"title": title, "date": start, "duration": duration, "type": "talk", **more}


def written(schedule: importers.ImportedSchedule, tmp_path: Path):
    path = tmp_path / "imported.toml"
    path.write_text(importers.checked_toml(schedule, "source.json"), encoding="utf-8")
    return load_agenda(path)


# 1. braces are text, and programme files have an escape
def test_braces_in_real_text_stay_text(tmp_path):
    spec = written(importers.from_schedule_json(schedule_json([
        talk("The {event} loop in {{Rust}}", description="fn main() { println!(\"{}\", x); }")])), tmp_path)
    assert spec.blocks[0].title == "The {event} loop in {{Rust}}"
    assert spec.blocks[0].description == 'fn main() { println!("{}", x); }'


def test_a_programme_file_escapes_braces_with_doubling(tmp_path):
    path = tmp_path / "p.toml"
    path.write_text('[event]\nslug = "p"\ntitle = "{{region}} day"\ndate = 2026-01-01\n[[stages]]\nid = "a"\n'
                    'name = "A"\n[[blocks]]\nid = "b"\nkind = "talk"\nstart = "09:00"\nend = "10:00"\n'
                    'title = "{{x}} and {{{{y}}}}"\n', encoding="utf-8")
    spec = load_agenda(path)
    assert spec.title == "{region} day" and spec.blocks[0].title == "{x} and {{y}}"


# 2. overlapping events of one room: a clear error naming the source
def test_overlapping_events_of_a_room_are_refused_naming_room_day_and_both_events():
    schedule = importers.from_schedule_json(schedule_json([
        talk("Long session", duration="02:00"), talk("Inside it", start="2026-03-30T10:30:00+02:00")]))
    with pytest.raises(ScheduleImportError) as error:
        importers.checked_toml(schedule, "source.json")
    message = str(error.value)
    assert message.startswith("schedule.conference.days[0].rooms['Hall A'][1]: overlaps")
    assert "'Hall A'" in message and "2026-03-30" in message and "'Long session' (10:00–12:00" in message
    assert "'Inside it' (10:30–11:00)" in message and "--split-overlaps" in message


def test_split_overlaps_puts_parallel_events_on_parallel_stages(tmp_path):
    schedule = importers.from_schedule_json(schedule_json([
        talk("Long session", duration="02:00"), talk("Inside it", start="2026-03-30T10:30:00+02:00"),
        talk("Also inside", start="2026-03-30T10:45:00+02:00"), talk("After", start="2026-03-30T12:00:00+02:00")]))
    path = tmp_path / "split.toml"
    path.write_text(importers.checked_toml(schedule, "source.json", split_overlaps=True), encoding="utf-8")
    spec = load_agenda(path)
    names = {s.key: s.name for s in spec.stages}
    assert [s.name for s in spec.stages] == ["Hall A", "Hall A (2)", "Hall A (3)"]
    assert {b.title: names[b.stage] for b in spec.blocks} == {
        "Long session": "Hall A", "Inside it": "Hall A (2)", "Also inside": "Hall A (3)", "After": "Hall A"}


# 3. a file without a zone: from its offsets, or refused
def test_no_zone_and_offsets_of_montreal_keep_the_local_time(tmp_path):
    spec = written(importers.from_schedule_json(schedule_json(
        [talk(start="2026-03-30T10:00:00-04:00")], zone=None)), tmp_path)
    assert spec.timezone == "Etc/GMT+4" and spec.blocks[0].start.strftime("%H:%M") == "10:00"
    assert spec.utc(spec.blocks[0].start) == dt.datetime(2026, 3, 30, 14, 0, tzinfo=dt.UTC)


def test_no_zone_and_no_offsets_is_refused_unless_given():
    xml = (b"<schedule><conference><title>T</title></conference><day index='1' date='2026-02-01'>"
           b"<room name='A'><event id='1'><start>10:00</start><duration>00:30</duration><title>X</title>"
           b"</event></room></day></schedule>")
    with pytest.raises(ScheduleImportError, match=r"^conference.time_zone_name: missing.*--timezone"):
        importers.from_frab_xml(xml)
    schedule = importers.from_frab_xml(xml, "America/Toronto")
    assert schedule.timezone == "America/Toronto"
    assert schedule.blocks[0].start == dt.datetime(2026, 2, 1, 15, 0, tzinfo=dt.UTC)


# 4. zone names the voc schema accepts (the XML and JSON round trip of a US/Eastern event: test_interop_roundtrip)
def test_zone_names_are_exported_as_area_city():
    assert export_zone_name("US/Eastern") == "America/New_York"
    assert export_zone_name("Etc/GMT-2") is None and export_zone_name("Europe/Stockholm") == "Europe/Stockholm"


# 8. Pentabarf's day_change and the FOSDEM 2010 layout
def test_pentabarf_day_change_puts_an_after_midnight_event_on_the_next_day():
    xml = (b"<schedule><conference><title>T</title><day_change>04:00:00</day_change></conference>"
           b"<day index='1' date='2026-02-01'><event id='1'><start>00:15</start><duration>00:30</duration>"
           b"<room>Bar</room><title>Night</title></event><event id='2'><start>23:00</start>"
           b"<duration>00:30</duration><room>Bar</room><title>Late</title></event></day></schedule>")
    schedule = importers.from_frab_xml(xml, "Europe/Brussels")
    night = next(b for b in schedule.blocks if b.title == "Night")
    assert night.start == dt.datetime(2026, 2, 1, 23, 15, tzinfo=dt.UTC)  # 00:15 on 2 February, Brussels
    assert dict(schedule.stages) == {"bar": "Bar"}


# 9. DST: times that do not exist or happen twice; long and zero-length events
def test_a_time_that_does_not_exist_is_refused():
    xml = (b"<schedule><conference><time_zone_name>Europe/Berlin</time_zone_name></conference>"
           b"<day index='1' date='2026-03-29'><room name='A'><event id='1'><start>02:30</start>"
           b"<duration>00:30</duration><title>X</title></event></room></day></schedule>")
    with pytest.raises(ScheduleImportError, match="does not exist in Europe/Berlin"):
        importers.from_frab_xml(xml)


def test_a_time_that_happens_twice_is_refused():
    with pytest.raises(ScheduleImportError, match="happens twice in Europe/Berlin"):
        importers.from_schedule_json(schedule_json([talk(start="2026-10-25T02:30:00+01:00")]))


def test_agenda_check_refuses_local_times_that_do_not_exist_or_repeat(tmp_path):
    path = tmp_path / "dst.toml"
    path.write_text('[event]\nslug = "dst"\ntitle = "D"\ndate = 2026-03-29\ntimezone = "Europe/Stockholm"\n'
                    '[[stages]]\nid = "a"\nname = "A"\n[[blocks]]\nid = "b"\nkind = "talk"\nstart = "02:15"\n'
                    'end = "03:30"\ntitle = "X"\n', encoding="utf-8")
    with pytest.raises(AgendaError) as error:
        load_agenda(path)
    assert any("does not exist" in p.message and p.path == "blocks[0].start" for p in error.value.problems)


def test_a_25_hour_event_and_one_over_midnight_keep_their_length(tmp_path):
    spec = written(importers.from_schedule_json(schedule_json([
        talk("Hackathon", duration="25:00"),
        talk("Night", start="2026-03-31T23:30:00+02:00", duration="01:00")], room="Hall A")), tmp_path)
    hack, night = spec.blocks
    assert spec.utc(hack.end) - spec.utc(hack.start) == dt.timedelta(hours=25)
    assert night.end == dt.datetime(2026, 4, 1, 0, 30)


def test_zero_length_and_too_long_events_are_refused():
    with pytest.raises(ScheduleImportError, match=r"\[0\].duration: the event has no length"):
        importers.from_schedule_json(schedule_json([talk(duration="00:00")]))
    with pytest.raises(ScheduleImportError, match="longer than 99 hours"):
        importers.from_schedule_json(schedule_json([talk(duration="100:00")]))


# 10. tracebacks: wrong types, deep nesting, extreme years
@pytest.mark.parametrize(("document", "place"), [
    ({"schedule": "x"}, "schedule: missing or not an object"),
    ({"schedule": {"conference": {"days": [{"date": "2026-01-01", "rooms": ["A"]}]}}},
     "schedule.conference.days[0].rooms: must be an object"),
    ({"schedule": {"conference": {"days": [{"date": "2026-01-01", "rooms": {"A": {"title": "x"}}}]}}},
     "schedule.conference.days[0].rooms['A']: must be a list"),
    ({"schedule": {"conference": {"days": [{"date": "2026-01-01", "rooms": {"A": ["talk"]}}]}}},
     "schedule.conference.days[0].rooms['A'][0]: must be an object"),
    ({"schedule": {"conference": {"days": "monday"}}}, "schedule.conference.days: missing or not a list"),
])
def test_wrong_json_types_name_the_place(document, place):
    with pytest.raises(ScheduleImportError) as error:
        importers.from_schedule_json(json.dumps(document))
    assert str(error.value).startswith(place)


def test_deeply_nested_json_is_an_error_not_a_recursion_error():
    with pytest.raises(ScheduleImportError, match="^file: "):
        importers.from_schedule_json("[" * 100_000 + "]" * 100_000)


@pytest.mark.parametrize("year", ["0001", "9999"])
def test_years_far_away_are_refused(year):
    with pytest.raises(ScheduleImportError, match=f"the year {int(year)} is outside"):
        importers.from_schedule_json(schedule_json([talk(start=f"{year}-12-31T23:30:00+00:00")]))


# 11. silent corruption
def test_persons_as_one_string_is_one_speaker_and_titles_in_languages_pick_one(tmp_path):
    spec = written(importers.from_schedule_json(schedule_json([
        talk({"de": "Vortrag", "en": "Lecture"}, persons="Alice Example"),
        talk({"sv": "Föredrag", "en": "Lecture"}, start="2026-03-30T11:00:00+02:00",
             persons=[{"name": "Bo"}, "Cy"])])), tmp_path)
    assert [b.title for b in spec.blocks] == ["Lecture", "Föredrag"]
    assert [s.name for s in spec.blocks[0].speakers] == ["Alice Example"]
    assert [s.name for s in spec.blocks[1].speakers] == ["Bo", "Cy"]


def test_inline_markup_in_an_xml_title_is_kept_whole():
    xml = (b"<schedule><conference><time_zone_name>UTC</time_zone_name></conference><day index='1' "
           b"date='2026-02-01'><room name='A'><event id='1'><start>10:00</start><duration>00:30</duration>"
           b"<title>Fast <em>and</em> safe</title></event></room></day></schedule>")
    assert importers.from_frab_xml(xml).blocks[0].title == "Fast and safe"


# 12. breaks
def test_breaks_are_breaks_and_the_pretalx_widget_brings_them(tmp_path):
    schedule = importers.from_schedule_json(schedule_json([
        talk("Coffee break", type="", duration="00:15"),
        talk("Lunch", type="", start="2026-03-30T12:00:00+02:00"),
        talk("Why breaks matter", type="", start="2026-03-30T13:00:00+02:00", persons=["Dana"])]))
    assert [b.kind for b in schedule.blocks] == ["break", "lunch", "talk"]
    widget = {
        "version": "0.4", "timezone": "Asia/Kolkata", "event_start": "2026-09-04", "event_end": "2026-09-04",
        "rooms": [{"id": 7, "name": {"en": "Grand Ballroom"}}], "tracks": [{"id": 1, "name": {"en": "Main"}}],
        "speakers": [{"code": "ABC", "name": "Ravi Kumar"}],
        "talks": [
            {"code": "FWLP9F", "id": 1, "title": "Address by the Board", "abstract": "An address.",
             "speakers": ["ABC"], "track": 1, "room": 7, "start": "2026-09-04T09:10:00+05:30",
             "end": "2026-09-04T09:40:00+05:30"},
            {"id": 36785, "title": {"en": "Tea break"}, "room": 7, "start": "2026-09-04T09:40:00+05:30",
             "end": "2026-09-04T10:00:00+05:30"},
            {"code": "UNSCHD", "title": "Not scheduled", "room": None, "start": None},
        ],
    }
    spec = written(importers.from_pretalx_widget(json.dumps(widget)), tmp_path)
    assert spec.timezone == "Asia/Kolkata" and [s.name for s in spec.stages] == ["Grand Ballroom"]
    assert [(b.kind, b.start.strftime("%H:%M"), b.title) for b in spec.blocks] == [
        ("talk", "09:10", "Address by the Board"), ("break", "09:40", "Tea break")]
    assert [s.name for s in spec.blocks[0].speakers] == ["Ravi Kumar"]


# 13. CR LF, size limit
def test_crlf_in_abstracts_becomes_lf(tmp_path):
    spec = written(importers.from_schedule_json(schedule_json([talk(abstract="One\r\nTwo\rThree")])), tmp_path)
    assert spec.blocks[0].description == "One\nTwo\nThree"


def test_a_file_over_the_size_limit_is_refused_before_it_is_read(tmp_path):
    path = tmp_path / "huge.json"
    with path.open("wb") as handle:
        handle.truncate(importers.MAX_IMPORT_BYTES + 1)
    with pytest.raises(ScheduleImportError, match="^file: larger than 8 MB"):
        importers.read_schedule(str(path), "schedule-json")


# 7. stable ids
def test_block_ids_never_end_in_a_hyphen_and_ours_come_back_exactly(tmp_path):
    spec = written(importers.from_schedule_json(schedule_json([
        talk(slug="conf-" + "x" * 59 + "-tail"),
        talk(start="2026-03-30T11:00:00+02:00", url="https://e.example/e/conf#block-kept-as-is-")])), tmp_path)
    assert not spec.blocks[0].key.endswith("-") and len(spec.blocks[0].key) <= 60
    assert spec.blocks[1].key == "kept-as-is-"


# Also read: iCalendar and xCal
ICS = b"""BEGIN:VCALENDAR\r
VERSION:2.0\r
PRODID:-//example//x//EN\r
X-WR-CALNAME:PyCon Example\r
BEGIN:VEVENT\r
UID:abc-1@example\r
DTSTAMP:20260101T000000Z\r
DTSTART;TZID=America/Chicago:20260415T090000\r
DTEND;TZID=America/Chicago:20260415T093000\r
SUMMARY:Opening {keynote}\r
LOCATION:Ballroom\r
CATEGORIES:keynote\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:day@example\r
DTSTAMP:20260101T000000Z\r
DTSTART;VALUE=DATE:20260415\r
SUMMARY:Conference day\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:abc-2@example\r
DTSTAMP:20260101T000000Z\r
DTSTART:20260415T150000Z\r
DURATION:PT45M\r
SUMMARY:Second\r
LOCATION:Ballroom\r
END:VEVENT\r
END:VCALENDAR\r
"""


def test_ics_import_reads_timed_events_with_their_zone(tmp_path):
    spec = written(importers.from_ics(ICS), tmp_path)
    assert spec.timezone == "America/Chicago" and [s.name for s in spec.stages] == ["Ballroom"]
    assert [(b.title, b.start.strftime("%H:%M"), b.end.strftime("%H:%M")) for b in spec.blocks] == [
        ("Opening {keynote}", "09:00", "09:30"), ("Second", "10:00", "10:45")]


def test_xcal_import_reads_the_same_calendar():
    xcal = b"""<?xml version="1.0" encoding="utf-8"?>
<icalendar xmlns="urn:ietf:params:xml:ns:icalendar-2.0"><vcalendar>
<properties><x-wr-calname><text>PyCon Example</text></x-wr-calname></properties>
<components><vevent><properties>
<uid><text>abc-1@example</text></uid>
<dtstart><parameters><tzid><text>America/Chicago</text></tzid></parameters>
<date-time>2026-04-15T09:00:00</date-time></dtstart>
<dtend><parameters><tzid><text>America/Chicago</text></tzid></parameters>
<date-time>2026-04-15T09:30:00</date-time></dtend>
<summary><text>Opening</text></summary><location><text>Ballroom</text></location>
</properties></vevent></components></vcalendar></icalendar>"""
    schedule = importers.from_xcal(xcal)
    assert schedule.timezone == "America/Chicago"
    assert schedule.blocks[0].start == dt.datetime(2026, 4, 15, 14, 0, tzinfo=dt.UTC)


def test_an_import_problem_found_by_agenda_check_is_reported_at_the_source_event():
    long_name = "x" * 201
    with pytest.raises(ScheduleImportError, match=r"rooms\[.*\]\[0\].room: longer than 200"):
        importers.from_schedule_json(schedule_json([talk()], room=long_name))
