"""Schedules in and out: frab XML, the voc/pretalx schedule JSON, and iCalendar.

Export builds the voc schedule JSON from an event (rooms = stages, events = blocks, persons =
speakers) and derives the frab XML from it. Import reads either format into a programme file
(TOML) that ``ehalsodag agenda check`` accepts. Times are wall-clock times in the event's zone.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import unicodedata
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ehalsodag.agenda.files import THEMES
from ehalsodag.agenda.models import Block, Event

GUID_NAMESPACE = uuid.UUID("6f1f0c1e-5b7a-4c43-9f3e-0e4a1d2c3b4a")
KIND_FROM_TYPE = {
    "opening": "opening", "welcome": "opening", "talk": "talk", "lecture": "talk", "keynote": "talk",
    "presentation": "talk", "panel": "panel", "podium": "panel", "discussion": "panel", "break": "break",
    "pause": "break", "paus": "break", "lunch": "lunch", "film": "film", "video": "film", "closing": "closing",
}


class ScheduleImportError(ValueError):
    """A schedule that cannot be turned into a programme file; the message says where and why."""


# --- export ----------------------------------------------------------------------------------


def _hhmm(delta: dt.timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _guid(event: Event, block: Block) -> str:
    return str(uuid.uuid5(GUID_NAMESPACE, f"{event.slug}/{block.key}"))


def schedule_json(event: Event, base_url: str) -> dict[str, Any]:
    """The event as a voc schedule JSON document (schedule.json of pretalx and frab)."""
    zone = ZoneInfo(event.timezone)
    blocks = sorted(event.active_blocks(), key=lambda b: (b.starts_at, b.ends_at))
    days: dict[dt.date, list[Block]] = {}
    for block in blocks:
        days.setdefault(block.starts_at.astimezone(zone).date(), []).append(block)
    base = base_url.rstrip("/")
    rooms = [{"name": stage.name, "guid": str(uuid.uuid5(GUID_NAMESPACE, f"{event.slug}/room/{stage.key}")),
              "slug": stage.key} for stage in event.stages]
    day_docs = []
    for index, (day, day_blocks) in enumerate(sorted(days.items()), start=1):
        by_room: dict[str, list[dict[str, Any]]] = {stage.name: [] for stage in event.stages}
        for block in day_blocks:
            start = block.starts_at.astimezone(zone)
            by_room.setdefault(block.stage.name, []).append({
                "id": block.id, "guid": _guid(event, block), "date": start.isoformat(),
                "start": start.strftime("%H:%M"), "duration": _hhmm(block.ends_at - block.starts_at),
                "room": block.stage.name, "slug": f"{event.slug}-{block.key}",
                "url": f"{base}/e/{event.slug}#block-{block.key}", "title": block.title, "subtitle": "",
                "track": THEMES.get(block.theme or "", ""), "type": block.kind, "language": "sv",
                "abstract": block.description, "description": "", "recording_license": "", "do_not_record": False,
                "persons": [{"name": s["name"], "public_name": s["name"], "role": s.get("role", ""),
                             "organisation": s.get("organisation", "")} for s in block.speakers],
                "links": [{"url": f"{base}/e/{event.slug}#block-{block.key}", "title": "Live"}], "attachments": [],
            })
        day_docs.append({
            "index": index, "date": day.isoformat(),
            "day_start": min(b.starts_at for b in day_blocks).astimezone(zone).isoformat(),
            "day_end": max(b.ends_at for b in day_blocks).astimezone(zone).isoformat(),
            "rooms": by_room,
        })
    return {
        "$schema": "https://c3voc.de/schedule/schema.json",
        "generator": {"name": "ehalsodag"},
        "schedule": {
            "version": event.updated_at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M") if event.updated_at else "1",
            "base_url": f"{base}/e/{event.slug}",
            "conference": {
                "acronym": event.slug, "title": event.title,
                "start": day_docs[0]["date"] if day_docs else event.date.isoformat(),
                "end": day_docs[-1]["date"] if day_docs else event.date.isoformat(),
                "daysCount": len(day_docs), "timeslot_duration": "00:05", "time_zone_name": event.timezone,
                "url": f"{base}/e/{event.slug}", "rooms": rooms, "days": day_docs,
            },
        },
    }


def frab_xml(schedule: dict[str, Any]) -> bytes:
    """A frab schedule.xml (valid against the voc XSD) from a schedule JSON document."""
    conference = schedule["schedule"]["conference"]
    root = ET.Element("schedule")
    ET.SubElement(root, "version").text = str(schedule["schedule"]["version"])
    conf = ET.SubElement(root, "conference")
    for key in ("title", "acronym", "start", "end"):
        ET.SubElement(conf, key).text = str(conference[key])
    ET.SubElement(conf, "days").text = str(conference["daysCount"])
    ET.SubElement(conf, "timeslot_duration").text = conference["timeslot_duration"]
    for day in conference["days"]:
        day_el = ET.SubElement(root, "day", index=str(day["index"]), date=day["date"], start=day["day_start"],
                               end=day["day_end"])
        for room_name, events in day["rooms"].items():
            room_el = ET.SubElement(day_el, "room", name=room_name)
            for item in events:
                event_el = ET.SubElement(room_el, "event", id=str(item["id"]), guid=item["guid"])
                for key in ("room", "title", "subtitle", "type", "date", "start", "duration", "abstract", "slug",
                            "track", "language"):
                    ET.SubElement(event_el, key).text = str(item[key])
                persons = ET.SubElement(event_el, "persons")
                for person in item["persons"]:
                    ET.SubElement(persons, "person").text = person["public_name"]
                links = ET.SubElement(event_el, "links")
                for link in item["links"]:
                    ET.SubElement(links, "link", href=link["url"]).text = link["title"]
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def ics(event: Event, base_url: str) -> bytes:
    """An iCalendar file with one VEVENT per block, in the event's time zone."""
    from icalendar import Calendar, Timezone, TimezoneDaylight, TimezoneStandard
    from icalendar import Event as CalendarEvent

    zone = ZoneInfo(event.timezone)
    calendar = Calendar()
    calendar.add("prodid", "-//ehalsodag//programme//SV")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", event.title)
    calendar.add("x-wr-timezone", event.timezone)
    if event.timezone == "Europe/Stockholm":
        calendar.add_component(_stockholm_vtimezone(Timezone, TimezoneStandard, TimezoneDaylight))
    base = base_url.rstrip("/")
    for block in sorted(event.active_blocks(), key=lambda b: b.starts_at):
        item = CalendarEvent()
        item.add("uid", f"{_guid(event, block)}@ehalsodag")
        item.add("dtstamp", dt.datetime.now(dt.UTC))
        item.add("dtstart", block.starts_at.astimezone(zone))
        item.add("dtend", block.ends_at.astimezone(zone))
        item.add("summary", block.title)
        speakers = "; ".join(", ".join(p for p in (s["name"], s.get("role"), s.get("organisation")) if p)
                             for s in block.speakers)
        description = "\n".join(part for part in (block.description, speakers, f"{base}/e/{event.slug}") if part)
        item.add("description", description)
        item.add("location", block.stage.name)
        item.add("url", f"{base}/e/{event.slug}#block-{block.key}")
        item.add("categories", [block.kind])
        calendar.add_component(item)
    return calendar.to_ical()


def _stockholm_vtimezone(timezone: Any, standard: Any, daylight: Any) -> Any:
    """The VTIMEZONE of Europe/Stockholm (CET/CEST, EU rules), so calendar apps need no lookup."""
    tz = timezone()
    tz.add("tzid", "Europe/Stockholm")
    summer = daylight()
    summer.add("tzname", "CEST")
    summer.add("dtstart", dt.datetime(1981, 3, 29, 2, 0))
    summer.add("tzoffsetfrom", dt.timedelta(hours=1))
    summer.add("tzoffsetto", dt.timedelta(hours=2))
    summer.add("rrule", {"freq": "yearly", "bymonth": 3, "byday": "-1su"})
    winter = standard()
    winter.add("tzname", "CET")
    winter.add("dtstart", dt.datetime(1996, 10, 27, 3, 0))
    winter.add("tzoffsetfrom", dt.timedelta(hours=2))
    winter.add("tzoffsetto", dt.timedelta(hours=1))
    winter.add("rrule", {"freq": "yearly", "bymonth": 10, "byday": "-1su"})
    tz.add_component(summer)
    tz.add_component(winter)
    return tz


# --- import ----------------------------------------------------------------------------------


@dataclass
class ImportedBlock:
    """A block read from a foreign schedule."""

    key: str
    stage: str
    kind: str
    start: dt.datetime
    end: dt.datetime
    title: str
    description: str = ""
    speakers: list[dict[str, str]] = field(default_factory=list)


@dataclass
class ImportedSchedule:
    """A foreign schedule, ready to be written as a programme file."""

    title: str
    slug: str
    timezone: str
    stages: list[tuple[str, str]] = field(default_factory=list)
    blocks: list[ImportedBlock] = field(default_factory=list)


def slugify(text: str, fallback: str = "x") -> str:
    """An id for our files: ASCII lower-case letters, digits and hyphens (å → a)."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    slug = re.sub(r"[^a-z0-9]+", "-", plain).strip("-")[:90]
    return slug or fallback


def _duration(value: str, where: str) -> dt.timedelta:
    match = re.fullmatch(r"(\d{1,2}):(\d{2})(?::(\d{1,2}))?", (value or "").strip())
    if not match:
        raise ScheduleImportError(f"{where}.duration: {value!r} is not HH:MM")
    return dt.timedelta(hours=int(match.group(1)), minutes=int(match.group(2)), seconds=int(match.group(3) or 0))


def _start(item: dict[str, Any], day: str | None, zone: ZoneInfo, where: str) -> dt.datetime:
    """A naive wall-clock start in ``zone``, from the full ``date`` or from the day and ``start``."""
    raw = item.get("date")
    if raw:
        try:
            value = dt.datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
        except ValueError as exc:
            raise ScheduleImportError(f"{where}.date: {raw!r} is not an ISO date-time") from exc
        return value.astimezone(zone).replace(tzinfo=None) if value.tzinfo else value
    match = re.fullmatch(r"([0-2]\d):([0-5]\d)(?::[0-5]\d)?", str(item.get("start", "")).strip())
    if not day or not match:
        raise ScheduleImportError(f"{where}: needs a date, or a day and a start time")
    return dt.datetime.combine(dt.date.fromisoformat(day), dt.time(int(match.group(1)), int(match.group(2))))


Days = list[tuple[str | None, list[tuple[str, list[dict[str, Any]]]]]]


def _collect(title: str, slug: str, timezone: str, days: Days, prefix: str) -> ImportedSchedule:
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ScheduleImportError(f"conference.time_zone_name: unknown time zone {timezone!r}") from exc
    schedule = ImportedSchedule(title=title or slug, slug=slugify(slug, "imported"), timezone=timezone)
    stage_keys: dict[str, str] = {}
    used: set[str] = set()
    for day_index, (day, rooms) in enumerate(days):
        for room_name, events in rooms:
            room_name = room_name or "Main"
            if room_name not in stage_keys:
                stage_keys[room_name] = slugify(room_name, f"room-{len(stage_keys) + 1}")
                schedule.stages.append((stage_keys[room_name], room_name))
            for n, item in enumerate(events):
                where = f"day[{day_index}].room[{room_name}].event[{n}]"
                title_text = str(item.get("title") or "").strip()
                if not title_text:
                    raise ScheduleImportError(f"{where}.title: missing")
                start = _start(item, day, zone, where)
                end = start + _duration(str(item.get("duration") or ""), where)
                raw_key = str(item.get("slug") or item.get("guid") or item.get("id") or title_text)
                if prefix and raw_key.startswith(prefix + "-"):
                    raw_key = raw_key[len(prefix) + 1:]
                key = slugify(raw_key, f"block-{len(used) + 1}")
                while key in used:
                    key = f"{key}-{len(used)}"
                used.add(key)
                kind = KIND_FROM_TYPE.get(str(item.get("type") or "").strip().lower(), "talk")
                speakers = []
                for person in item.get("persons") or []:
                    if isinstance(person, dict):
                        name = str(person.get("public_name") or person.get("name") or "").strip()
                        extra = {k: str(person[k]) for k in ("role", "organisation") if person.get(k)}
                    else:
                        name, extra = str(person).strip(), {}
                    if name:
                        speakers.append({"name": name, **extra})
                schedule.blocks.append(ImportedBlock(
                    key=key, stage=stage_keys[room_name], kind=kind, start=start, end=end, title=title_text,
                    description=str(item.get("abstract") or item.get("description") or "").strip(),
                    speakers=speakers,
                ))
    if not schedule.blocks:
        raise ScheduleImportError("the schedule has no events")
    return schedule


def from_schedule_json(text: str | bytes) -> ImportedSchedule:
    """Read a voc/pretalx schedule.json."""
    try:
        document = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ScheduleImportError(f"file: not valid JSON ({exc})") from exc
    conference = (document.get("schedule") or {}).get("conference") if isinstance(document, dict) else None
    if not isinstance(conference, dict) or not isinstance(conference.get("days"), list):
        raise ScheduleImportError("schedule.conference.days: missing (is this a voc schedule.json?)")
    days = []
    for i, day in enumerate(conference["days"]):
        rooms = day.get("rooms") if isinstance(day, dict) else None
        if not isinstance(rooms, dict):
            raise ScheduleImportError(f"schedule.conference.days[{i}].rooms: must be an object of room → events")
        days.append((day.get("date"), [(name, list(events or [])) for name, events in rooms.items()]))
    acronym = str(conference.get("acronym") or "")
    return _collect(str(conference.get("title") or ""), acronym or str(conference.get("title") or "imported"),
                    str(conference.get("time_zone_name") or "Europe/Stockholm"), days, acronym)


def from_frab_xml(data: bytes) -> ImportedSchedule:
    """Read a frab schedule.xml."""
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise ScheduleImportError(f"file: not well-formed XML ({exc})") from exc
    if root.tag != "schedule":
        raise ScheduleImportError(f"file: the root element is <{root.tag}>, not <schedule>")
    conference = root.find("conference")
    title = conference.findtext("title", "") if conference is not None else ""
    acronym = conference.findtext("acronym", "") if conference is not None else ""
    timezone = (conference.findtext("time_zone_name", "") if conference is not None else "") or "Europe/Stockholm"
    days = []
    for day in root.findall("day"):
        rooms = []
        for room in day.findall("room"):
            events = []
            for event in room.findall("event"):
                item: dict[str, Any] = {child.tag: (child.text or "") for child in event if child.tag != "persons"}
                item["id"] = event.get("id")
                item["guid"] = event.get("guid")
                item["persons"] = [p.text or "" for p in event.findall("persons/person")]
                events.append(item)
            rooms.append((room.get("name") or "", events))
        days.append((day.get("date"), rooms))
    return _collect(title, acronym or title or "imported", timezone, days, acronym)


def _toml_string(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def to_agenda_toml(schedule: ImportedSchedule, source: str) -> str:
    """Write the imported schedule as a programme file."""
    multi_day = len({b.start.date() for b in schedule.blocks}) > 1
    first_day = min(b.start for b in schedule.blocks).date()
    lines = [
        f"# Imported from {source} by `ehalsodag agenda import`. Check it with `ehalsodag agenda check`.",
        "",
        "[event]",
        f"slug = {_toml_string(schedule.slug)}",
        f"title = {_toml_string(schedule.title)}",
        f"date = {first_day.isoformat()}",
        f"timezone = {_toml_string(schedule.timezone)}",
    ]
    for key, name in schedule.stages:
        lines += ["", "[[stages]]", f"id = {_toml_string(key)}", f"name = {_toml_string(name)}"]

    def when(moment: dt.datetime) -> str:  # several days: local date-times; one day: "HH:MM"
        return moment.strftime("%Y-%m-%dT%H:%M:00") if multi_day else _toml_string(moment.strftime("%H:%M"))

    for block in sorted(schedule.blocks, key=lambda b: (b.start, b.stage)):
        lines += ["", "[[blocks]]", f"id = {_toml_string(block.key)}", f"stage = {_toml_string(block.stage)}",
                  f"kind = {_toml_string(block.kind)}", f"start = {when(block.start)}", f"end = {when(block.end)}",
                  f"title = {_toml_string(block.title)}"]
        if block.description:
            lines.append(f"description = {_toml_string(block.description)}")
        for speaker in block.speakers:
            lines += ["[[blocks.speakers]]", f"name = {_toml_string(speaker['name'])}"]
            for key in ("role", "organisation"):
                if speaker.get(key):
                    lines.append(f"{key} = {_toml_string(speaker[key])}")
    return "\n".join(lines) + "\n"
