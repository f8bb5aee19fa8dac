"""Property: the export of *any* event validates against the voc schemas and comes back through the import.

Hypothesis builds events the programme files allow (any zone, ids ending in a hyphen, braces and markup in the
texts, blocks over midnight and on several days, many stages) and checks the three exports: the JSON against
the voc JSON schema, the XML against the voc XSD, the ICS strictly (a VTIMEZONE for every TZID); then the JSON and
the XML are imported again and must give the same blocks, at the same instants, with the same ids.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import jsonschema
from hypothesis import HealthCheck, given, settings
from hypothesis import event as note
from hypothesis import strategies as st
from lxml import etree

from ehalsodag.agenda import importers, interop
from ehalsodag.agenda.files import THEMES, load_agenda
from ehalsodag.agenda.models import Block, Event, Stage

SCHEMAS = Path(__file__).resolve().parents[1] / "fixtures" / "interop" / "schemas"
XSD = etree.XMLSchema(etree.parse(str(SCHEMAS / "schedule.xml.xsd")))
VALIDATOR = jsonschema.Draft6Validator(json.loads((SCHEMAS / "schema.json").read_text(encoding="utf-8")),
                                       format_checker=jsonschema.Draft6Validator.FORMAT_CHECKER)
ZONES = ["Europe/Stockholm", "US/Eastern", "America/Argentina/Buenos_Aires", "Asia/Kathmandu", "Etc/GMT-2", "UTC",
         "Australia/Lord_Howe", "Pacific/Chatham", "America/St_Johns", "Etc/UTC"]
KINDS = ["opening", "talk", "panel", "break", "lunch", "film", "closing"]
ids = st.from_regex(r"[a-z0-9][a-z0-9-]{0,20}", fullmatch=True)
texts = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=40).filter(
    lambda t: t.strip() and t == t.strip()) | st.sampled_from(["{event} loop", "a}b{c", "<em>x</em> & y", "Å"])


@st.composite
def events(draw: st.DrawFn) -> Event:
    zone = draw(st.sampled_from(ZONES))
    slug = draw(ids)
    stage_keys = draw(st.lists(ids, min_size=1, max_size=3, unique=True))
    stage_names = draw(st.lists(texts, min_size=len(stage_keys), max_size=len(stage_keys), unique_by=str.lower))
    stages = [Stage(key=k, name=n, kind="regional", position=i) for i, (k, n) in
              enumerate(zip(stage_keys, stage_names, strict=True))]
    day = draw(st.dates(dt.date(2020, 1, 1), dt.date(2030, 12, 31)))
    event = Event(slug=slug, title=draw(texts), date=day, timezone=zone, description=draw(st.just("") | texts),
                  stages=stages, blocks=[])
    keys = draw(st.lists(ids, min_size=0, max_size=6, unique=True))
    cursor = {s.key: dt.datetime.combine(day, dt.time(8, 0), tzinfo=ZoneInfo(zone)).astimezone(dt.UTC)
              for s in stages}
    for n, key in enumerate(keys):
        stage = draw(st.sampled_from(stages))
        start = cursor[stage.key] + dt.timedelta(minutes=draw(st.integers(0, 60 * 30)))
        end = start + dt.timedelta(minutes=draw(st.integers(1, 60 * 30)))
        cursor[stage.key] = end
        speakers = [{"name": name, "role": draw(st.just("") | texts), "organisation": ""}
                    for name in draw(st.lists(texts, max_size=2))]
        event.blocks.append(Block(
            id=n + 1, key=key, kind=draw(st.sampled_from(KINDS)), title=draw(texts),
            description=draw(st.just("") | texts), theme=draw(st.none() | st.sampled_from(sorted(THEMES))),
            planned_start=start, planned_end=end, shift_minutes=0, overrun_minutes=0, speakers=speakers,
            stage=stage, removed=False))
    return event


def local_ok(event: Event) -> bool:
    """Programme files hold wall-clock times: skip instants in an hour that happens twice."""
    zone = ZoneInfo(event.timezone)
    for block in event.blocks:
        for moment in (block.starts_at, block.ends_at):
            local = moment.astimezone(zone)
            if local.replace(fold=1 - local.fold).utcoffset() != local.utcoffset():
                return False
    return True


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(event=events())
def test_any_event_exports_valid_files_that_import_back(event, tmp_path_factory):
    document = interop.schedule_json(event, "https://ehd.example.se")
    errors = list(VALIDATOR.iter_errors(document))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors[:5]]
    xml = interop.frab_xml(document)
    assert XSD.validate(etree.ElementTree(etree.fromstring(xml))), XSD.error_log
    calendar = icalendar.Calendar.from_ical(interop.ics(event, "https://ehd.example.se"))
    assert not calendar.get_missing_tzids()
    if not event.blocks or not local_ok(event):
        note("exported only")
        return
    note("exported and imported back")
    folder = tmp_path_factory.mktemp("again")
    for name, reader, data in (("json", importers.from_schedule_json, json.dumps(document)),
                               ("xml", importers.from_frab_xml, xml)):
        schedule = reader(data)
        target = folder / f"{name}.toml"
        target.write_text(importers.checked_toml(schedule, name), encoding="utf-8")
        again = load_agenda(target)
        assert again.slug == event.slug
        expected = sorted((b.key, b.starts_at, b.ends_at, b.title, b.kind, b.theme, [s["name"] for s in b.speakers])
                          for b in event.blocks)
        got = sorted((b.key, again.utc(b.start), again.utc(b.end), b.title, b.kind, b.theme,
                      [s.name for s in b.speakers]) for b in again.blocks)
        assert got == expected, name
