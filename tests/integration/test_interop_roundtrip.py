"""Every export of every demo programme and of every real schedule validates and round-trips, on both databases.

The exports are fetched from the served app (schedule.json, schedule.xml, schedule.ics) and validated against the
current voc schemas (tests/fixtures/interop/schemas/); the ICS must name a VTIMEZONE for every TZID it uses. Then
export → import → load → export must give the same document (blocks, times with their zone, speakers, tracks,
types, URLs and GUIDs; only the database ids and the version stamp may differ).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import icalendar
import jsonschema
import pytest
from litestar.testing import AsyncTestClient
from lxml import etree

from ehalsodag.agenda import importers
from ehalsodag.agenda.files import load_agenda
from ehalsodag.app import create_app
from ehalsodag.db.migrate import upgrade
from ehalsodag.settings import PROGRAMMES_DIR, Settings
from tests.conftest import FIXTURES, load_programme, make_settings
from tests.support.postgres import fresh_database

SCHEMAS = FIXTURES / "interop" / "schemas"
REAL = FIXTURES / "interop" / "real"
XSD = etree.XMLSchema(etree.parse(str(SCHEMAS / "schedule.xml.xsd")))
JSON_SCHEMA = json.loads((SCHEMAS / "schema.json").read_text(encoding="utf-8"))
VALIDATOR = jsonschema.Draft6Validator(JSON_SCHEMA, format_checker=jsonschema.Draft6Validator.FORMAT_CHECKER)
DATABASE_URL = os.environ.get("EHALSODAG_TEST_DATABASE_URL")

#: Each real file: its format, the --timezone it needs (None: the file decides) and facts to check after import.
REAL_FILES = {
    "c3hub-38c3-schedule2.json": ("hub-json", None, "Europe/Berlin"),
    "frab-camp2019.json": ("schedule-json", None, "Europe/Berlin"),
    "pretalx-democon-utc.json": ("schedule-json", None, "UTC"),
    "pretalx-democon-2020-no-zone.json": ("schedule-json", None, "Europe/Stockholm"),
    "pretalx-rc3-channels-no-zone.json": ("schedule-json", None, "Europe/Stockholm"),
    "pentabarf-fosdem-2010.xml": ("frab", "Europe/Brussels", "Europe/Brussels"),
    "fosdem-2019.xml": ("frab", "Europe/Brussels", "Europe/Brussels"),
    "frab-31c3.xml": ("frab", None, "Europe/Stockholm"),
    "pretalx-pyconau-2023-adelaide.ics": ("ics", None, "Australia/Adelaide"),
}
DEMO_PROGRAMMES = sorted(p for p in PROGRAMMES_DIR.glob("*.toml") if not load_agenda(p).template)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_settings(request: pytest.FixtureRequest, tmp_path: Path):
    """Migrated settings on a fresh SQLite file, then on a fresh PostgreSQL database."""
    if request.param == "sqlite":
        value = make_settings(tmp_path)
        upgrade(value)
        yield value
        return
    if not DATABASE_URL:
        pytest.skip("set EHALSODAG_TEST_DATABASE_URL to run on PostgreSQL")
    with fresh_database(DATABASE_URL, "ehalsodag_interop") as url:
        value = make_settings(tmp_path, database_url=url)
        upgrade(value)
        yield value


def validate_json(document: dict[str, Any]) -> None:
    errors = sorted(VALIDATOR.iter_errors(document), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:10])
    for day in document["schedule"]["conference"]["days"]:  # date-time: the schema's format, checked here
        for events in day["rooms"].values():
            for event in events:
                assert dt.datetime.fromisoformat(event["date"]).utcoffset() is not None


def validate_xml(data: bytes) -> etree._Element:
    document = etree.fromstring(data)
    assert XSD.validate(etree.ElementTree(document)), XSD.error_log
    return document


def check_ics(data: bytes, zone: str) -> list[icalendar.Event]:
    """Strict: CRLF lines of at most 75 octets, and a VTIMEZONE for every TZID any property names."""
    assert data.startswith(b"BEGIN:VCALENDAR\r\n") and data.endswith(b"END:VCALENDAR\r\n")
    assert all(len(line) <= 75 for line in data.split(b"\r\n")), "a line longer than 75 octets"
    assert b"\n" not in data.replace(b"\r\n", b"")
    calendar = icalendar.Calendar.from_ical(data)
    defined = {str(c["TZID"]) for c in calendar.walk("VTIMEZONE")}
    used = set()
    for component in calendar.walk():
        for _name, value in component.property_items(recursive=False):
            tzid = getattr(value, "params", {}).get("TZID")
            if tzid:
                used.add(str(tzid))
    assert used <= defined, f"TZIDs without a VTIMEZONE: {used - defined}"
    assert not calendar.get_missing_tzids()
    assert str(calendar["X-WR-TIMEZONE"]) == zone
    events = list(calendar.walk("VEVENT"))
    for event in events:
        assert event.decoded("DTEND") > event.decoded("DTSTART")
    return events


def normalised(document: dict[str, Any]) -> dict[str, Any]:
    """The document without what may change on a reload: the version stamp and the database ids."""
    copy = json.loads(json.dumps(document))
    copy["schedule"].pop("version")
    for day in copy["schedule"]["conference"]["days"]:
        for events in day["rooms"].values():
            for event in events:
                event.pop("id")
    return copy


async def exports(client: AsyncTestClient, slug: str, zone: str) -> tuple[dict[str, Any], bytes, bytes]:
    data = await client.get(f"/e/{slug}/schedule.json")
    xml = await client.get(f"/e/{slug}/schedule.xml")
    ics = await client.get(f"/e/{slug}/schedule.ics")
    assert data.status_code == xml.status_code == ics.status_code == 200
    assert ics.headers["content-type"].count("charset") == 1
    document = data.json()
    validate_json(document)
    validate_xml(xml.content)
    check_ics(ics.content, zone)
    return document, xml.content, ics.content


async def assert_round_trip(settings: Settings, path: Path, tmp_path: Path) -> dict[str, Any]:
    """Load ``path``, export it, re-import each export, load and export again: the same document."""
    spec = load_agenda(path)
    spec.blocks.sort(key=lambda b: b.key)
    slug = await load_programme(settings, path)
    async with AsyncTestClient(app=create_app(settings), base_url="http://testserver.local") as client:
        first, xml, ics = await exports(client, slug, spec.timezone)
        assert sum(len(e) for d in first["schedule"]["conference"]["days"] for e in d["rooms"].values()) == len(
            spec.blocks)
        for name, reader, data in (("schedule.json", importers.from_schedule_json, json.dumps(first).encode()),
                                   ("schedule.xml", importers.from_frab_xml, xml),
                                   ("schedule.ics", importers.from_ics, ics)):
            schedule = reader(data)
            target = tmp_path / f"again-{name}.toml"
            target.write_text(importers.checked_toml(schedule, name), encoding="utf-8")
            again = load_agenda(target)
            again.blocks.sort(key=lambda b: b.key)
            assert again.slug == slug, name
            stage_names = {s.key: s.name for s in spec.stages}
            again_names = {s.key: s.name for s in again.stages}
            assert [(b.key, stage_names[b.stage], spec.utc(b.start), spec.utc(b.end), b.title)
                    for b in spec.blocks] == [(b.key, again_names[b.stage], again.utc(b.start), again.utc(b.end),
                                               b.title) for b in again.blocks], name
            if name == "schedule.ics":
                continue  # iCalendar has no place for speakers, types or themes: only the times and titles
            assert [(b.kind, b.theme, b.description, [s.name for s in b.speakers]) for b in spec.blocks] == [
                (b.kind, b.theme, b.description, [s.name for s in b.speakers]) for b in again.blocks], name
            if name == "schedule.xml":
                continue  # frab XML has no room ids: the stage ids come from the room names (not loaded over)
            assert [b.stage for b in spec.blocks] == [b.stage for b in again.blocks]
            assert await load_programme(settings, target) == slug
            second, _xml, _ics = await exports(client, slug, spec.timezone)
            assert normalised(second) == normalised(first), name
    return first


@pytest.mark.parametrize("path", DEMO_PROGRAMMES, ids=lambda p: p.stem)
async def test_every_demo_programme_exports_valid_files_that_round_trip(db_settings, tmp_path, path):
    document = await assert_round_trip(db_settings, path, tmp_path)
    assert document["schedule"]["conference"]["time_zone_name"] == "Europe/Stockholm"


@pytest.mark.parametrize("name", sorted(REAL_FILES))
async def test_every_real_file_imports_checks_loads_exports_and_round_trips(db_settings, tmp_path, name):
    fmt, zone, expected_zone = REAL_FILES[name]
    schedule = importers.read_schedule(str(REAL / name), fmt, zone)
    assert schedule.timezone == expected_zone
    target = tmp_path / f"{Path(name).stem}.toml"
    target.write_text(importers.checked_toml(schedule, name), encoding="utf-8")
    spec = load_agenda(target)
    assert len(spec.blocks) == len(schedule.blocks) == count_events(REAL / name)
    await assert_round_trip(db_settings, target, tmp_path)


def count_events(path: Path) -> int:
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".ics":
        return text.count("BEGIN:VEVENT")
    if path.suffix == ".xml":
        return len(re.findall(r"<event[ >]", text))
    document = json.loads(text)
    if "events" in document["schedule"]:
        return len(document["schedule"]["events"])
    return sum(len(events) for day in document["schedule"]["conference"]["days"] for events in day["rooms"].values())


def test_what_the_real_files_say_survives_the_import():
    """Spot checks against the source files: instants, rooms, speakers, day_change, breaks."""
    hub = importers.read_schedule(str(REAL / "c3hub-38c3-schedule2.json"), "hub-json")
    ai = next(b for b in hub.blocks if b.title.startswith("A Competitive"))
    assert ai.start == dt.datetime(2024, 12, 27, 23, 15, tzinfo=dt.UTC)  # 00:15 +01:00, the night after day 1
    assert dict(hub.stages)[ai.stage] == "Saal ZIGZAG" and [s["name"] for s in ai.speakers] == ["Sebastian Schwarz"]
    assert "\r" not in ai.description and ai.description.startswith("Most Wanted Using")  # subtitle kept
    penta = importers.read_schedule(str(REAL / "pentabarf-fosdem-2010.xml"), "frab", "Europe/Brussels")
    assert {name for _key, name in penta.stages} == {"Ferrer", "UA2.114", "AW1.124"}
    coreboot = next(b for b in penta.blocks if b.title == "coreboot introduction")
    assert coreboot.start == dt.datetime(2010, 2, 6, 12, 0, tzinfo=dt.UTC)
    assert [s["name"] for s in coreboot.speakers] == ["Peter Stuge"]
    frab = importers.read_schedule(str(REAL / "frab-31c3.xml"), "frab")
    assert [b.title for b in frab.blocks][2] == "„Wir beteiligen uns aktiv an den Diskussionen“"
    assert frab.blocks[0].start == dt.datetime(2014, 12, 27, 10, 0, tzinfo=dt.UTC)
    democon = importers.read_schedule(str(REAL / "pretalx-democon-utc.json"), "schedule-json")
    assert democon.blocks[0].start == dt.datetime(2020, 12, 14, 8, 0, tzinfo=dt.UTC)  # +01:00 though "UTC"
    adelaide = importers.read_schedule(str(REAL / "pretalx-pyconau-2023-adelaide.ics"), "ics")
    assert adelaide.slug == "pyconau-2023" and adelaide.blocks[0].key == "ejwemk"
    assert adelaide.blocks[0].start == dt.datetime(2023, 8, 17, 23, 30, tzinfo=dt.UTC)  # 09:00 at +09:30
    second = adelaide.blocks[1].description
    assert second.endswith("create a better world.") and "\\," not in second
    camp = importers.read_schedule(str(REAL / "frab-camp2019.json"), "schedule-json")
    assert [s["name"] for s in camp.blocks[3].speakers] == ["Chloé Berthélémy (EDRi)", "Andreea Belu (EDRi)"]


def cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[bytes]:
    env = {"EHALSODAG_DATABASE_URL": settings.database_url, "EHALSODAG_SECRET_KEY": "x" * 32, "PATH": "/usr/bin:/bin"}
    return subprocess.run([sys.executable, "-m", "ehalsodag.cli", *args], capture_output=True, env=env, check=False)


def test_the_command_line_imports_a_real_file_that_then_checks_and_loads(settings, tmp_path):
    target = tmp_path / "fosdem.toml"
    done = cli(settings, "agenda", "import", "--from", "frab", "--timezone", "Europe/Brussels",
               str(REAL / "fosdem-2019.xml"), "--output", str(target))
    assert done.returncode == 0, done.stderr
    assert cli(settings, "agenda", "check", str(target)).returncode == 0
    loaded = cli(settings, "agenda", "load", str(target))
    assert loaded.returncode == 0 and loaded.stdout.decode().strip().splitlines()[-1] == "fosdem-2019"
    refused = cli(settings, "agenda", "import", "--from", "frab", str(REAL / "fosdem-2019.xml"), "--output",
                  str(tmp_path / "never.toml"))
    assert refused.returncode == 1 and not (tmp_path / "never.toml").exists()
    assert refused.stderr.decode().startswith(f"{REAL / 'fosdem-2019.xml'}: conference.time_zone_name: missing")
    assert "--timezone" in refused.stderr.decode()


async def test_a_us_eastern_event_comes_back_at_its_local_time_from_our_xml_json_and_ics(db_settings, tmp_path):
    path = tmp_path / "boston.toml"
    path.write_text('[event]\nslug = "boston-day"\ntitle = "Boston"\ndate = 2026-07-01\ntimezone = "US/Eastern"\n'
                    '[[stages]]\nid = "main"\nname = "Main"\n[[blocks]]\nid = "talk"\nkind = "talk"\n'
                    'start = "13:00"\nend = "14:00"\ntitle = "{{braces}} stay"\n', encoding="utf-8")
    slug = await load_programme(db_settings, path)
    async with AsyncTestClient(app=create_app(db_settings), base_url="http://testserver.local") as client:
        document, xml, ics = await exports(client, slug, "US/Eastern")
    assert document["schedule"]["conference"]["time_zone_name"] == "America/New_York"
    assert validate_xml(xml).findtext("conference/time_zone_name") == "America/New_York"
    for reader, data in ((importers.from_frab_xml, xml), (importers.from_schedule_json, json.dumps(document)),
                         (importers.from_ics, ics)):
        target = tmp_path / "again.toml"
        target.write_text(importers.checked_toml(reader(data), "x"), encoding="utf-8")
        again = load_agenda(target)
        assert again.timezone == "America/New_York" or reader is importers.from_ics
        assert again.blocks[0].start.strftime("%H:%M") == "13:00" and again.blocks[0].title == "{braces} stay"
