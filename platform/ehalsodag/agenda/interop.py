"""Schedules out: the voc schedule JSON, frab XML and iCalendar (the readers live in ``importers``).

Export builds the voc schedule JSON from an event (rooms = stages, events = blocks, persons = speakers) and derives
the frab XML from it; both validate against the current voc schemas (``validator/json/schema.json`` and
``validator/xsd/schedule.xml.xsd``). Identifiers are stable: a block's URL ends in ``#block-<id>``, its GUID is
derived from the event's slug and the block's id, so export → import → load → export gives the same document.
The zone is written as an Area/City name (``US/Eastern`` becomes ``America/New_York``); a zone with no such name
(``Etc/GMT-2``) is left out, and the offsets in every time still carry it.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import uuid
import xml.etree.ElementTree as ET
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

from ehalsodag.agenda.files import THEMES
from ehalsodag.agenda.importers import (  # noqa: F401  (the readers, re-exported for existing callers)
    KIND_FROM_TYPE,
    ImportedBlock,
    ImportedSchedule,
    ScheduleImportError,
    from_frab_xml,
    from_schedule_json,
    slugify,
    to_agenda_toml,
)
from ehalsodag.agenda.models import Block, Event

GUID_NAMESPACE = uuid.UUID("6f1f0c1e-5b7a-4c43-9f3e-0e4a1d2c3b4a")
#: The voc JSON schema's pattern for ``time_zone_name`` (searched, as JSON Schema does).
ZONE_NAME = re.compile(r"^([A-Z][a-z]+/[A-Z][a-z]+)|UTC$")


def _hhmm(delta: dt.timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _guid(event: Event, block: Block) -> str:
    return str(uuid.uuid5(GUID_NAMESPACE, f"{event.slug}/{block.key}"))


def acronym_of(slug: str) -> str:
    """The voc acronym of an event slug (``ostergotland-2021-03-23`` → ``ostergotland_2021_03_23``)."""
    acronym = re.sub(r"[^a-z0-9_]", "_", slug.lower())
    return acronym if len(acronym) >= 4 else f"{acronym}_ehd"


def _slug_tail(key: str) -> str:
    tail = re.sub(r"[^a-z0-9]+", "_", key.lower()).strip("_")
    return tail if len(tail) >= 4 else f"block_{tail}".rstrip("_")


@functools.cache
def _zone_bytes(name: str) -> bytes | None:
    try:
        return resources.files("tzdata.zoneinfo").joinpath(*name.split("/")).read_bytes()
    except (OSError, ValueError, ModuleNotFoundError):
        return None


@functools.cache
def export_zone_name(name: str) -> str | None:
    """``name`` as the voc schema wants it: itself, the Area/City zone it is a link to, or None."""
    if ZONE_NAME.search(name):
        return name
    own = _zone_bytes(name)
    if own is None:
        return None
    for candidate in sorted(available_timezones()):
        if ZONE_NAME.search(candidate) and candidate != name and _zone_bytes(candidate) == own:
            return candidate
    return None


def _room_slug(key: str) -> str | None:
    """The stage id as the room's slug when the voc pattern takes it as it is (then it comes back on import)."""
    return key if re.fullmatch(r"[a-z0-9_-]+[a-z0-9]", key) else None


def schedule_json(event: Event, base_url: str) -> dict[str, Any]:
    """The event as a voc schedule JSON document (schedule.json of pretalx and frab)."""
    zone = ZoneInfo(event.timezone)
    blocks = sorted(event.active_blocks(), key=lambda b: (b.starts_at, b.ends_at))
    days: dict[dt.date, list[Block]] = {}
    for block in blocks:
        days.setdefault(block.starts_at.astimezone(zone).date(), []).append(block)
    base = base_url.rstrip("/")
    acronym = acronym_of(event.slug)
    rooms = []
    for stage in event.stages:
        room: dict[str, Any] = {"name": stage.name,
                                "guid": str(uuid.uuid5(GUID_NAMESPACE, f"{event.slug}/room/{stage.key}"))}
        if _room_slug(stage.key):
            room["slug"] = _room_slug(stage.key)
        rooms.append(room)
    slugs: set[str] = set()
    day_docs = []
    for index, (day, day_blocks) in enumerate(sorted(days.items()), start=1):
        by_room: dict[str, list[dict[str, Any]]] = {stage.name: [] for stage in event.stages}
        for block in day_blocks:
            start = block.starts_at.astimezone(zone)
            slug = f"{acronym}-{_slug_tail(block.key)}"
            if slug in slugs:
                slug = f"{slug}_{block.id}"
            slugs.add(slug)
            url = f"{base}/e/{event.slug}#block-{block.key}"
            by_room.setdefault(block.stage.name, []).append({
                "id": block.id, "guid": _guid(event, block), "date": start.isoformat(),
                "start": start.strftime("%H:%M"), "end": block.ends_at.astimezone(zone).isoformat(),
                "duration": _hhmm(block.ends_at - block.starts_at), "room": block.stage.name, "slug": slug,
                "url": url, "title": block.title, "subtitle": "", "track": THEMES.get(block.theme or "", ""),
                "type": block.kind, "language": "sv", "abstract": block.description, "description": "",
                "recording_license": "", "do_not_record": False,
                "persons": [{"name": s["name"], "public_name": s["name"],
                             "guid": str(uuid.uuid5(GUID_NAMESPACE, f"{event.slug}/person/{s['name']}")),
                             **({"role": s["role"]} if s.get("role") else {}),
                             **({"organisation": s["organisation"]} if s.get("organisation") else {})}
                            for s in block.speakers],
                "links": [{"url": url, "title": "Live"},
                          *([{"url": block.recording_url, "title": "Recording"}] if block.recording_url else [])],
                "attachments": [],
            })
        day_docs.append({
            "index": index, "date": day.isoformat(),
            "day_start": min(b.starts_at for b in day_blocks).astimezone(zone).isoformat(),
            "day_end": max(b.ends_at for b in day_blocks).astimezone(zone).isoformat(),
            "rooms": by_room,
        })
    conference: dict[str, Any] = {
        "acronym": acronym, "title": event.title,
        "start": day_docs[0]["date"] if day_docs else event.date.isoformat(),
        "end": day_docs[-1]["date"] if day_docs else event.date.isoformat(),
        "daysCount": len(day_docs), "timeslot_duration": "00:05",
    }
    zone_name = export_zone_name(event.timezone)
    if zone_name:
        conference["time_zone_name"] = zone_name
    if event.description:
        conference["description"] = event.description
    conference.update({"url": f"{base}/e/{event.slug}", "rooms": rooms, "days": day_docs})
    return {
        "$schema": "https://c3voc.de/schedule/schema.json",
        "generator": {"name": "ehalsodag"},
        "schedule": {
            "version": event.updated_at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M") if event.updated_at else "1",
            "base_url": f"{base}/e/{event.slug}/",
            "conference": conference,
        },
    }


def frab_xml(schedule: dict[str, Any]) -> bytes:
    """A frab schedule.xml (valid against the current voc XSD) from a schedule JSON document."""
    conference = schedule["schedule"]["conference"]
    root = ET.Element("schedule")
    ET.SubElement(root, "generator", name="ehalsodag")
    ET.SubElement(root, "version").text = str(schedule["schedule"]["version"])
    conf = ET.SubElement(root, "conference")
    for key in ("title", "acronym", "start", "end"):
        ET.SubElement(conf, key).text = str(conference[key])
    ET.SubElement(conf, "days").text = str(conference["daysCount"])
    ET.SubElement(conf, "timeslot_duration").text = conference["timeslot_duration"]
    ET.SubElement(conf, "base_url").text = schedule["schedule"]["base_url"]
    ET.SubElement(conf, "url").text = conference["url"]
    if conference.get("time_zone_name"):
        ET.SubElement(conf, "time_zone_name").text = conference["time_zone_name"]
    if not conference["days"]:  # the XSD wants at least one day: an event with no blocks has an empty one
        midnight = f"{conference['start']}T00:00:00+00:00"
        ET.SubElement(root, "day", index="1", date=conference["start"], start=midnight, end=midnight)
    for day in conference["days"]:
        day_el = ET.SubElement(root, "day", index=str(day["index"]), date=day["date"], start=day["day_start"],
                               end=day["day_end"])
        for room_name, events in day["rooms"].items():
            room_el = ET.SubElement(day_el, "room", name=room_name)
            for item in events:
                event_el = ET.SubElement(room_el, "event", id=str(item["id"]), guid=item["guid"])
                for key in ("room", "title", "subtitle", "type", "date", "start", "duration", "abstract", "slug",
                            "track", "language", "description", "url"):
                    ET.SubElement(event_el, key).text = str(item[key])
                recording = ET.SubElement(event_el, "recording")
                ET.SubElement(recording, "license").text = item["recording_license"]
                ET.SubElement(recording, "optout").text = "true" if item["do_not_record"] else "false"
                persons = ET.SubElement(event_el, "persons")
                for person in item["persons"]:
                    ET.SubElement(persons, "person", guid=person["guid"]).text = person["name"]
                links = ET.SubElement(event_el, "links")
                for link in item["links"]:
                    ET.SubElement(links, "link", href=link["url"]).text = link["title"]
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def ics(event: Event, base_url: str) -> bytes:
    """An iCalendar file with one VEVENT per block, in the event's zone, with a VTIMEZONE for every TZID used."""
    from icalendar import Calendar
    from icalendar import Event as CalendarEvent

    zone = ZoneInfo(event.timezone)
    calendar = Calendar()
    calendar.add("prodid", "-//ehalsodag//programme//SV")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", event.title)
    calendar.add("x-wr-timezone", event.timezone)
    base = base_url.rstrip("/")
    blocks = sorted(event.active_blocks(), key=lambda b: b.starts_at)
    for block in blocks:
        item = CalendarEvent()
        item.add("uid", f"{_guid(event, block)}@ehalsodag")
        item.add("dtstamp", (event.updated_at or dt.datetime.now(dt.UTC)).astimezone(dt.UTC))
        item.add("dtstart", block.starts_at.astimezone(zone))
        item.add("dtend", block.ends_at.astimezone(zone))
        item.add("summary", block.title)
        speakers = "; ".join(", ".join(p for p in (s["name"], s.get("role"), s.get("organisation")) if p)
                             for s in block.speakers)
        description = "\n".join(part for part in (block.description, speakers, f"{base}/e/{event.slug}") if part)
        item.add("description", description.replace("\r\n", "\n").replace("\r", "\n"))
        item.add("location", block.stage.name)
        item.add("url", f"{base}/e/{event.slug}#block-{block.key}")
        item.add("categories", [block.kind])
        calendar.add_component(item)
    if blocks:
        first = min(b.starts_at for b in blocks).astimezone(zone).date() - dt.timedelta(days=1)
        last = max(b.ends_at for b in blocks).astimezone(zone).date() + dt.timedelta(days=1)
        calendar.add_missing_timezones(first_date=first, last_date=last)
    return calendar.to_ical()
