"""Schedules in and out: frab XML (against the voc XSD), schedule JSON, iCalendar, and round trips."""

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import pytest
from lxml import etree

from ehalsodag.agenda import interop
from ehalsodag.agenda.files import load_agenda
from ehalsodag.settings import PROGRAMMES_DIR
from tests.conftest import FIXTURES, load_fixture

XSD = etree.XMLSchema(etree.parse(str(FIXTURES / "interop" / "schemas" / "schedule.xml.xsd")))
SLUG = "ostergotland-2021-03-23"
STHLM = ZoneInfo("Europe/Stockholm")


def cli(settings, *args):
    env = {"EHALSODAG_DATABASE_URL": settings.database_url, "EHALSODAG_SECRET_KEY": "x" * 32, "PATH": "/usr/bin:/bin"}
    return subprocess.run([sys.executable, "-m", "ehalsodag.cli", *args], capture_output=True, env=env)


def blocks_of(path: Path) -> list[tuple]:
    spec = load_agenda(path)
    return [(b.key, b.kind, b.start, b.end, b.title, [s.name for s in b.speakers], b.stage) for b in spec.blocks]


async def test_frab_export_validates_against_the_xsd_and_links_back(client, settings):
    for name in ("ostergotland-2021-03-23", "jamtland-harjedalen-2021-05-25", "webinar-2020-12"):
        await load_fixture(settings, f"{name}.toml")
        response = await client.get(f"/e/{name}/schedule.xml")
        assert response.status_code == 200 and response.headers["content-type"].startswith("application/xml")
        document = etree.fromstring(response.content)
        assert XSD.validate(etree.ElementTree(document)), XSD.error_log
    first = document.find("day/room/event")
    assert first.findtext("link") is not None or first.find("links/link").get("href").startswith("http")
    assert "/e/webinar-2020-12#block-" in first.find("links/link").get("href")


async def test_schedule_json_has_the_voc_fields(client, settings):
    await load_fixture(settings, f"{SLUG}.toml")
    schedule = (await client.get(f"/e/{SLUG}/schedule.json")).json()
    conference = schedule["schedule"]["conference"]
    assert {"acronym", "title", "start", "end", "daysCount", "timeslot_duration", "time_zone_name", "rooms",
            "days"} <= set(conference)
    assert conference["time_zone_name"] == "Europe/Stockholm" and conference["daysCount"] == 1
    day = conference["days"][0]
    assert {"index", "date", "day_start", "day_end", "rooms"} <= set(day)
    event = day["rooms"]["Huvudsändning"][0]
    assert {"id", "guid", "date", "start", "duration", "room", "slug", "url", "title", "subtitle", "track", "type",
            "language", "abstract", "description", "persons", "links", "attachments"} <= set(event)
    assert event["date"] == "2021-03-23T09:00:00+01:00" and event["start"] == "09:00" and event["duration"] == "00:05"
    assert event["url"].endswith(f"/e/{SLUG}#block-oppning")
    panel = next(e for e in day["rooms"]["Huvudsändning"] if e["url"].endswith("block-1"))
    assert panel["track"] == "Individen som medskapare" and panel["type"] == "panel"


async def test_ics_opens_with_stockholm_times(client, settings):
    await load_fixture(settings, "jamtland-harjedalen-2021-05-25.toml")  # May: summer time, UTC+2
    response = await client.get("/e/jamtland-harjedalen-2021-05-25/schedule.ics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/calendar")
    calendar = icalendar.Calendar.from_ical(response.content)
    assert any(c.name == "VTIMEZONE" and str(c["TZID"]) == "Europe/Stockholm" for c in calendar.walk())
    events = [c for c in calendar.walk("VEVENT")]
    assert len(events) == 16
    opening = next(e for e in events if str(e["SUMMARY"]) == "E-hälsodagen öppnar")
    start = opening.decoded("DTSTART")
    assert start.astimezone(STHLM).strftime("%H:%M") == "09:00" and start.utcoffset() == dt.timedelta(hours=2)
    assert opening["DTSTART"].params["TZID"] == "Europe/Stockholm"
    assert str(opening["URL"]).endswith("/e/jamtland-harjedalen-2021-05-25#block-oppning")
    assert b"BEGIN:VCALENDAR" in response.content and b"\r\n" in response.content


def test_import_of_a_multi_room_multi_day_frab_schedule(tmp_path):
    schedule = interop.from_frab_xml((FIXTURES / "interop" / "nordic-days.xml").read_bytes())
    path = tmp_path / "imported.toml"
    path.write_text(interop.to_agenda_toml(schedule, "nordic-days.xml"), encoding="utf-8")
    spec = load_agenda(path)
    assert spec.title == "Nationella e-hälsodagen – Östersund & Malmö" and spec.slug == "ehd-2026"
    assert [s.name for s in spec.stages] == ["Stora salen", "Sal Ö2 (workshop)"]
    assert [s.key for s in spec.stages] == ["stora-salen", "sal-o2-workshop"]
    by_key = {b.key: b for b in spec.blocks}
    assert set(by_key) == {"oppning", "panel-medskapare", "fika", "workshop-sakerhet", "fran-snack", "avslutning"}
    assert by_key["panel-medskapare"].kind == "panel" and [s.name for s in by_key["panel-medskapare"].speakers] == [
        "Jörgen Ärlig", "Ngozi Øvergård"]
    assert by_key["fika"].kind == "break"  # breaks are kept
    assert by_key["workshop-sakerhet"].kind == "talk"  # an unknown type gets a sensible default
    assert by_key["workshop-sakerhet"].stage == "sal-o2-workshop"
    assert by_key["fran-snack"].start == dt.datetime(2026, 3, 31, 13, 0)  # second day, local time
    assert spec.utc(by_key["oppning"].start) == dt.datetime(2026, 3, 30, 7, 0, tzinfo=dt.UTC)


def test_import_of_a_pretalx_schedule_json(tmp_path):
    schedule = interop.from_schedule_json((FIXTURES / "interop" / "pretalx-schedule.json").read_text())
    path = tmp_path / "webb.toml"
    path.write_text(interop.to_agenda_toml(schedule, "pretalx-schedule.json"), encoding="utf-8")
    spec = load_agenda(path)
    assert [(b.key, b.kind, b.start.strftime("%H:%M"), b.end.strftime("%H:%M")) for b in spec.blocks] == [
        ("11-visionen", "talk", "13:00", "13:20"), ("12-panel", "panel", "13:20", "14:30")]  # 12:20Z is 13:20 CET
    assert [s.name for s in spec.blocks[1].speakers] == ["Maja Fjaestad", "Anna Granevärn"]


@pytest.mark.parametrize("fmt", ["schedule-json", "frab"])
async def test_export_then_import_gives_the_same_blocks_times_and_speakers(settings, tmp_path, fmt):
    await load_fixture(settings, f"{SLUG}.toml")
    exported = cli(settings, "agenda", "export", SLUG, "--to", fmt)
    assert exported.returncode == 0, exported.stderr
    source = tmp_path / ("schedule.json" if fmt == "schedule-json" else "schedule.xml")
    source.write_bytes(exported.stdout)
    target = tmp_path / "again.toml"
    imported = cli(settings, "agenda", "import", "--from", fmt, str(source), "--output", str(target))
    assert imported.returncode == 0, imported.stderr
    assert cli(settings, "agenda", "check", str(target)).returncode == 0
    original = [row[:6] for row in blocks_of(PROGRAMMES_DIR / f"{SLUG}.toml")]
    assert [row[:6] for row in blocks_of(target)] == original
    if fmt == "schedule-json":  # the JSON also carries the speakers' roles and organisations
        again = {b.key: b.speakers for b in load_agenda(target).blocks}
        first = {b.key: b.speakers for b in load_agenda(PROGRAMMES_DIR / f"{SLUG}.toml").blocks}
        assert again == first


@pytest.mark.parametrize(
    ("fmt", "content", "message"),
    [
        ("frab", b"<schedule><day", "not well-formed XML"),
        ("frab", b"<programme/>", "root element is <programme>"),
        ("frab", b"<schedule><day date='2026-01-01'><room name='A'><event id='1'><start>09:00</start>"
                 b"<duration>1h</duration><title>X</title></event></room></day></schedule>", "is not HH:MM"),
        ("frab", b"<schedule><day date='2026-01-01'><room name='A'><event id='1'><start>09:00</start>"
                 b"<duration>00:30</duration></event></room></day></schedule>", "title: missing"),
        ("schedule-json", b"{not json", "not valid JSON"),
        ("schedule-json", json.dumps({"schedule": {}}).encode(), "conference.days: missing"),
        ("schedule-json",
         json.dumps({"schedule": {"conference": {"days": [], "time_zone_name": "Mars/Base"}}}).encode(),
         "unknown time zone"),
        ("frab", b"<schedule><conference><title>T</title><acronym>t</acronym></conference></schedule>", "no events"),
    ],
)
def test_bad_schedules_give_a_clear_error_not_a_crash(settings, tmp_path, fmt, content, message):
    path = tmp_path / "bad"
    path.write_bytes(content)
    result = cli(settings, "agenda", "import", "--from", fmt, str(path))
    assert result.returncode == 1 and message in result.stderr.decode() and b"Traceback" not in result.stderr
