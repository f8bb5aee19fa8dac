"""Schedules in: other tools' files (frab/Pentabarf XML, schedule JSON, c3 hub v2, pretalx widget, iCalendar, xCal).

Every reader turns a file into an :class:`ImportedSchedule` or raises :class:`ScheduleImportError` whose text is
``place: message`` (the command line prefixes the file name). Nothing else escapes a reader, whatever the bytes:
the readers check every type they touch instead of trusting the file. :func:`to_agenda_toml` writes the
programme file, and :func:`import_file` also runs that file through ``agenda check`` before anything is written, so
an import that succeeds always loads; a problem found there is reported at the event of the source file.

Times: a file's ``time_zone_name`` wins; without one, ``--timezone``; without either, the UTC offsets in the
file decide (Europe/Stockholm when its offsets fit every time, else a fixed-offset zone); a file with neither a
zone nor offsets is refused. Local times that do not exist or happen twice on a DST change are refused, as are
events of zero length, longer than 99 hours or outside the years 1970–2200.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import tempfile
import unicodedata
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ehalsodag.agenda.files import THEMES, AgendaError, load_agenda

#: Bigger files are refused before they are read (a 27 MB file used to take 360 MB of memory).
MAX_IMPORT_BYTES = 8 * 1024 * 1024
MAX_EVENTS = 5000
MAX_DURATION = dt.timedelta(hours=99)  # the frab XML schema allows two-digit hours
DEFAULT_ZONE = "Europe/Stockholm"
FORMATS = ("frab", "schedule-json", "hub-json", "pretalx-widget", "ics", "xcal")
_TITLE_MAX = 300
_STAGE_NAME_MAX = 200

KIND_FROM_TYPE = {
    "opening": "opening", "welcome": "opening", "öppning": "opening",
    "talk": "talk", "lecture": "talk", "keynote": "talk", "presentation": "talk", "maintrack": "talk",
    "lightningtalk": "talk", "lightning talk": "talk", "workshop": "talk", "föredrag": "talk",
    "panel": "panel", "podium": "panel", "discussion": "panel", "podiumsdiskussion": "panel",
    "break": "break", "pause": "break", "paus": "break", "coffee": "break", "coffee break": "break", "fika": "break",
    "lunch": "lunch", "lunch break": "lunch", "meal": "lunch", "dinner": "lunch", "breakfast": "lunch",
    "film": "film", "video": "film", "closing": "closing", "avslutning": "closing",
}
_BREAK_TITLE = re.compile(r"\b(coffee|kaffee|fika|pause|paus|break)\b", re.IGNORECASE)
_LUNCH_TITLE = re.compile(r"\b(lunch|mittagessen|dinner|breakfast|frukost|middag)\b", re.IGNORECASE)
_OUR_BLOCK_URL = re.compile(r"#block-([a-z0-9][a-z0-9-]{0,99})$")
_PRETALX_TALK_URL = re.compile(r"/([A-Za-z0-9_-]{1,100})/talk/([A-Za-z0-9]{1,20})/?$")
_OUR_EVENT_URL = re.compile(r"/e/([a-z0-9][a-z0-9-]{0,99})/?(?:#.*)?$")
_HHMM = re.compile(r"^\s*(\d{1,2}):([0-5]\d)(?::([0-5]\d))?\s*$")
_DURATION = re.compile(r"^\s*(\d{1,4}):([0-5]\d)(?::([0-5]\d))?\s*$")
_ICAL_NS = "{urn:ietf:params:xml:ns:icalendar-2.0}"
#: Keys a reader adds to an event it has read; tuples, so no key of a JSON file can be one.
_SPEAKERS = ("reader", "speakers")
_KIND = ("reader", "kind")


class ScheduleImportError(ValueError):
    """A schedule that cannot be turned into a programme file; the message says where and why."""


@dataclass
class ImportedBlock:
    """A block read from a foreign schedule; ``start``/``end`` are aware instants once the zone is known."""

    key: str
    stage: str
    kind: str
    start: dt.datetime
    end: dt.datetime
    title: str
    description: str = ""
    speakers: list[dict[str, str]] = field(default_factory=list)
    theme: str | None = None
    where: str = ""


@dataclass
class ImportedSchedule:
    """A foreign schedule, ready to be written as a programme file."""

    title: str
    slug: str
    timezone: str
    stages: list[tuple[str, str]] = field(default_factory=list)
    blocks: list[ImportedBlock] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    description: str = ""


# --- small, defensive readers of values ------------------------------------------------------------------------


def slugify(text: str, fallback: str = "x", limit: int = 60) -> str:
    """An id for our files: ASCII lower-case letters, digits and hyphens (å → a), never ending in a hyphen."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    slug = re.sub(r"[^a-z0-9]+", "-", plain).strip("-")[:limit].strip("-")
    return slug or fallback


def _clean(text: str) -> str:
    """Line ends as LF (CR LF and lone CR from Windows tools), no NUL or other control characters, trimmed."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch) != "Cc").strip()


def _text(value: Any, where: str) -> str:
    """A text field: a string, a number, null, or a {language: text} object (Swedish, then English, first)."""
    if value is None or value is False:
        return ""
    if isinstance(value, str):
        return _clean(value)
    if isinstance(value, bool):
        raise ScheduleImportError(f"{where}: must be text, not true")
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, dict):
        for language in ("sv", "en"):
            if isinstance(value.get(language), str) and value[language].strip():
                return _clean(value[language])
        for item in value.values():
            if isinstance(item, str) and item.strip():
                return _clean(item)
        return ""
    raise ScheduleImportError(f"{where}: must be text, not {_json_type(value)}")


def _json_type(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "true/false", type(None): "null"}.get(
        type(value), "a number")


def _object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ScheduleImportError(f"{where}: must be an object, not {_json_type(value)}")
    return value


def _list(value: Any, where: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ScheduleImportError(f"{where}: must be a list, not {_json_type(value)}")
    return value


def _datetime(value: Any, where: str) -> dt.datetime:
    """An ISO date-time; naive (wall clock, zone decided later) or aware."""
    if not isinstance(value, str):
        raise ScheduleImportError(f"{where}: must be an ISO date-time string, not {_json_type(value)}")
    try:
        moment = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError as exc:
        raise ScheduleImportError(f"{where}: {value[:40]!r} is not an ISO date-time") from exc
    _check_year(moment, where)
    if moment.tzinfo is not None:
        try:
            moment.astimezone(dt.UTC)
        except OverflowError as exc:
            raise ScheduleImportError(f"{where}: {value[:40]!r} is out of range") from exc
    return moment


def _check_year(moment: dt.datetime | dt.date, where: str) -> None:
    if not 1970 <= moment.year <= 2200:
        raise ScheduleImportError(f"{where}: the year {moment.year} is outside 1970–2200")


def _date(value: Any, where: str) -> dt.date:
    if not isinstance(value, str):
        raise ScheduleImportError(f"{where}: must be a date YYYY-MM-DD, not {_json_type(value)}")
    try:
        day = dt.date.fromisoformat(value.strip()[:10])
    except ValueError as exc:
        raise ScheduleImportError(f"{where}: {value[:40]!r} is not a date YYYY-MM-DD") from exc
    _check_year(day, where)
    return day


def _duration(value: Any, where: str) -> dt.timedelta:
    if isinstance(value, int) and not isinstance(value, bool):  # pretalx widget: minutes
        minutes = value
        if not 0 <= minutes <= 60 * 24 * 366:
            raise ScheduleImportError(f"{where}: {value} minutes is not a duration")
        return dt.timedelta(minutes=minutes)
    match = _DURATION.match(value) if isinstance(value, str) else None
    if not match:
        raise ScheduleImportError(f"{where}: {str(value)[:40]!r} is not HH:MM (a duration)")
    return dt.timedelta(hours=int(match.group(1)), minutes=int(match.group(2)), seconds=int(match.group(3) or 0))


def _clock(value: Any, where: str) -> dt.time:
    match = _HHMM.match(value) if isinstance(value, str) else None
    if not match or int(match.group(1)) > 23:
        raise ScheduleImportError(f"{where}: {str(value)[:40]!r} is not a time HH:MM")
    return dt.time(int(match.group(1)), int(match.group(2)))


def _kind(type_name: str, title: str, has_speakers: bool) -> str:
    kind = KIND_FROM_TYPE.get(type_name.strip().lower())
    if kind:
        return kind
    if not has_speakers and _LUNCH_TITLE.search(title):
        return "lunch"
    if not has_speakers and _BREAK_TITLE.search(title):
        return "break"
    return "talk"


def _theme(track: str) -> str | None:
    for key, name in THEMES.items():
        if track.strip().lower() in (key, name.lower()):
            return key
    return None


def _person(person: Any, where: str) -> dict[str, str] | None:
    if isinstance(person, str):
        name, extra = _clean(person), {}
    elif isinstance(person, dict):
        name = _text(person.get("public_name") or person.get("name") or person.get("full_name"), f"{where}.name")
        extra = {k: _text(person.get(k), f"{where}.{k}") for k in ("role", "organisation")}
        extra = {k: v for k, v in extra.items() if v and v.lower() != "speaker"}
    else:
        raise ScheduleImportError(f"{where}: a person must be a name or an object, not {_json_type(person)}")
    return {"name": name[:200], **extra} if name else None


def _persons(value: Any, where: str) -> list[dict[str, str]]:
    """Speakers; a single name given as a string is one speaker (not one per letter)."""
    if isinstance(value, str):
        value = [value] if value.strip() else []
    people = [_person(p, f"{where}[{i}]") for i, p in enumerate(_list(value, where))]
    return [p for p in people if p]


# --- the common builder ----------------------------------------------------------------------------------------


@dataclass
class _Raw:
    where: str
    room: str
    title: str
    start: dt.datetime  # naive (wall clock) or aware
    length: dt.timedelta | None
    end: dt.datetime | None
    kind: str
    description: str
    speakers: list[dict[str, str]]
    theme: str | None
    key_hint: str
    exact_key: str | None


class _Builder:
    """Collects events in any format's words, then decides the zone, the keys and checks the whole."""

    def __init__(self, title: str, slug_hint: str, zone_name: str, fallback_zone: str | None) -> None:
        self.title = title
        self.slug_hint = slug_hint
        self.zone_name = zone_name
        self.fallback_zone = fallback_zone
        self.events: list[_Raw] = []
        self.prefix = ""
        self.description = ""
        self.room_keys: dict[str, str] = {}  # room name → its slug in the file, when the file gives one
        self.exact_slug: str | None = None  # our own export's event slug, taken as it is

    def add(self, where: str, room: str, item: dict[str, Any], start: dt.datetime, *,
            length: dt.timedelta | None = None, end: dt.datetime | None = None) -> None:
        if len(self.events) >= MAX_EVENTS:
            raise ScheduleImportError(f"{where}: more than {MAX_EVENTS} events; split the file")
        title = _text(item.get("title"), f"{where}.title")
        if not title:
            raise ScheduleImportError(f"{where}.title: missing")
        if len(title) > _TITLE_MAX:
            raise ScheduleImportError(f"{where}.title: longer than {_TITLE_MAX} characters")
        subtitle = _text(item.get("subtitle"), f"{where}.subtitle")
        abstract = _text(item.get("abstract"), f"{where}.abstract")
        description = _text(item.get("description"), f"{where}.description")
        text = "\n\n".join(part for part in (subtitle, abstract, description if description != abstract else "")
                           if part)
        speakers = item.get(_SPEAKERS)
        if speakers is None:
            speakers = _persons(item.get("persons"), f"{where}.persons")
        type_name = _text(item.get("type"), f"{where}.type")
        kind = item.get(_KIND) or _kind(type_name, title, bool(speakers))
        url = _text(item.get("url"), f"{where}.url")
        exact = _OUR_BLOCK_URL.search(url)
        hint = ""
        for name in ("slug", "code", "guid", "id"):
            value = item.get(name)
            if isinstance(value, str | int) and not isinstance(value, bool) and str(value).strip():
                hint = str(value).strip()
                break
        room = room.strip() or "Main"
        if len(room) > _STAGE_NAME_MAX:
            raise ScheduleImportError(f"{where}.room: longer than {_STAGE_NAME_MAX} characters")
        self.events.append(_Raw(
            where=where, room=room, title=title, start=start, length=length, end=end, kind=kind,
            description=text, speakers=speakers,
            theme=_theme(_text(item.get("track"), f"{where}.track")) if not isinstance(item.get("track"), dict)
            else None,
            key_hint=hint or title, exact_key=exact.group(1) if exact else None,
        ))

    def _zone(self) -> tuple[ZoneInfo, str, list[str]]:
        notes: list[str] = []
        name = self.zone_name.strip()
        where = "conference.time_zone_name"
        if not name and self.fallback_zone:
            name, where = self.fallback_zone, "--timezone"
        if name:
            try:
                return ZoneInfo(name), name, notes
            except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
                raise ScheduleImportError(f"{where}: unknown time zone {name[:60]!r}") from exc
        aware = [e.start for e in self.events if e.start.tzinfo is not None]
        if not aware or len(aware) < len(self.events):
            raise ScheduleImportError(
                "conference.time_zone_name: missing, and the times in the file carry no UTC offset; give the "
                "zone with --timezone (for example --timezone Europe/Brussels)")
        offsets = {moment.utcoffset() for moment in aware}
        stockholm = ZoneInfo(DEFAULT_ZONE)
        if all(moment.astimezone(stockholm).utcoffset() == moment.utcoffset() for moment in aware):
            notes.append(f"the file names no time zone; its UTC offsets fit {DEFAULT_ZONE}, used for local times")
            return stockholm, DEFAULT_ZONE, notes
        if len(offsets) == 1:
            offset = next(iter(offsets))
            assert offset is not None
            hours, rest = divmod(int(offset.total_seconds()), 3600)
            if rest == 0 and -12 <= hours <= 14:
                fixed = "UTC" if hours == 0 else f"Etc/GMT{-hours:+d}"  # POSIX signs: Etc/GMT+4 is UTC−4
                notes.append(f"the file names no time zone; its times are all at UTC{_offset(offset)}, kept as "
                             f"{fixed} (give --timezone for a zone with summer time)")
                return ZoneInfo(fixed), fixed, notes
        shown = ", ".join(sorted(_offset(o) for o in offsets if o is not None))
        raise ScheduleImportError(
            f"conference.time_zone_name: missing, and the times use several UTC offsets ({shown}); give the zone "
            "with --timezone (for example --timezone America/Toronto)")

    def finish(self) -> ImportedSchedule:
        if self.zone_name.strip():
            try:
                ZoneInfo(self.zone_name.strip())
            except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
                raise ScheduleImportError(
                    f"conference.time_zone_name: unknown time zone {self.zone_name.strip()[:60]!r}") from exc
        if not self.events:
            raise ScheduleImportError("schedule: the schedule has no events")
        zone, zone_name, notes = self._zone()
        schedule = ImportedSchedule(title=self.title or self.slug_hint, slug="", timezone=zone_name, notes=notes,
                                    description=self.description)
        schedule.slug = self.exact_slug or slugify(self.slug_hint, "imported", limit=100)
        stage_keys: dict[str, str] = {}
        used: set[str] = set()
        for event in self.events:
            if event.room not in stage_keys:
                given = self.room_keys.get(event.room, "")
                key = given if re.fullmatch(r"[a-z0-9][a-z0-9-]{0,99}", given) else \
                    slugify(event.room, f"room-{len(stage_keys) + 1}")
                while key in stage_keys.values():
                    key = f"{key}-{len(stage_keys) + 1}"
                stage_keys[event.room] = key
                schedule.stages.append((key, event.room))
        for event in self.events:
            start = self._instant(event.start, zone, f"{event.where}.start")
            if event.end is not None:
                end = self._instant(event.end, zone, f"{event.where}.end")
            else:
                assert event.length is not None
                end = start + event.length
            if end <= start:
                raise ScheduleImportError(f"{event.where}.duration: the event has no length (it ends when or before "
                                          "it starts)")
            if end - start > MAX_DURATION:
                raise ScheduleImportError(f"{event.where}.duration: longer than 99 hours")
            self._local(end, zone, f"{event.where}.end")
            key = event.exact_key if event.exact_key and event.exact_key not in used else None
            if key is None:
                raw_key = event.key_hint
                if self.prefix and raw_key.lower().startswith(self.prefix.lower() + "-"):
                    raw_key = raw_key[len(self.prefix) + 1:]
                base = slugify(raw_key, "block")
                key, n = base, 2
                while key in used:
                    key, n = f"{base}-{n}", n + 1
            used.add(key)
            schedule.blocks.append(ImportedBlock(
                key=key, stage=stage_keys[event.room], kind=event.kind, start=start, end=end, title=event.title,
                description=event.description, speakers=event.speakers, theme=event.theme, where=event.where,
            ))
        return schedule

    def _instant(self, moment: dt.datetime, zone: ZoneInfo, where: str) -> dt.datetime:
        if moment.tzinfo is None:
            moment = _aware(moment, zone, where)
        self._local(moment, zone, where)
        return moment.astimezone(dt.UTC)

    @staticmethod
    def _local(moment: dt.datetime, zone: ZoneInfo, where: str) -> None:
        """Refuse an instant whose wall-clock time in ``zone`` happens twice (a programme file cannot say which)."""
        local = moment.astimezone(zone)
        if local.replace(fold=1 - local.fold).utcoffset() != local.utcoffset():
            raise ScheduleImportError(
                f"{where}: {local:%Y-%m-%d %H:%M} happens twice in {zone.key} (the clocks go back); move the event "
                "off the repeated hour")


def _aware(moment: dt.datetime, zone: ZoneInfo, where: str) -> dt.datetime:
    """A wall-clock time in ``zone``; one that does not exist (the clocks go forward) is refused."""
    aware = moment.replace(tzinfo=zone)
    if aware.astimezone(dt.UTC).astimezone(zone).replace(tzinfo=None) != moment:
        raise ScheduleImportError(f"{where}: {moment:%Y-%m-%d %H:%M} does not exist in {zone.key} (the clocks go "
                                  "forward)")
    return aware


def _offset(offset: dt.timedelta) -> str:
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "−"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def settle_overlaps(schedule: ImportedSchedule, split: bool = False) -> None:
    """Two events of one room at once cannot be one stage's blocks.

    By default that is an error naming both events, their room and day. With ``split`` an event that overlaps
    goes to a parallel stage of its room ("Saal 1 (2)"), the first of them it fits on.
    """
    zone = ZoneInfo(schedule.timezone)
    names = dict(schedule.stages)
    by_stage: dict[str, list[ImportedBlock]] = {}
    for block in schedule.blocks:
        by_stage.setdefault(block.stage, []).append(block)
    for stage, blocks in list(by_stage.items()):
        blocks.sort(key=lambda b: (b.start, b.end))
        if split:
            lanes: list[tuple[str, dt.datetime]] = [(stage, blocks[0].start)]
            for block in blocks:
                lane = next((i for i, (_key, free) in enumerate(lanes) if block.start >= free), None)
                if lane is None:
                    lane = len(lanes)
                    key = f"{stage[:90]}-{lane + 1}"
                    while key in names:
                        key += "x"
                    names[key] = f"{names[stage][:190]} ({lane + 1})"
                    schedule.stages.insert([k for k, _n in schedule.stages].index(stage) + lane, (key, names[key]))
                    lanes.append((key, block.start))
                block.stage = lanes[lane][0]
                lanes[lane] = (block.stage, block.end)
            continue
        last: ImportedBlock | None = None
        for block in blocks:
            if last is not None and block.start < last.end:
                a, b = last, block
                day = a.start.astimezone(zone)
                raise ScheduleImportError(
                    f"{b.where}: overlaps another event in room {names[stage]!r} on {day:%Y-%m-%d}: "
                    f"{a.title[:60]!r} ({_hm(a.start, zone)}–{_hm(a.end, zone)}, {a.where}) and "
                    f"{b.title[:60]!r} ({_hm(b.start, zone)}–{_hm(b.end, zone)}); a stage runs one block at a "
                    "time: move one to its own room, or import with --split-overlaps")
            if last is None or block.end > last.end:
                last = block


def _hm(moment: dt.datetime, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%H:%M")


# --- JSON readers ----------------------------------------------------------------------------------------------


def _load_json(text: str | bytes) -> Any:
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ScheduleImportError(f"file: is not UTF-8 (invalid byte at position {exc.start})") from exc
    try:
        return json.loads(text)
    except RecursionError as exc:
        raise ScheduleImportError("file: nested too deeply to be a schedule") from exc
    except ValueError as exc:
        raise ScheduleImportError(f"file: not valid JSON ({exc})") from exc


def from_schedule_json(text: str | bytes, timezone: str | None = None) -> ImportedSchedule:
    """Read a voc schedule.json (frab, pretalx, the c3 hub's v1 export)."""
    document = _load_json(text)
    if not isinstance(document, dict) or not isinstance(document.get("schedule"), dict):
        raise ScheduleImportError("schedule: missing or not an object (is this a voc schedule.json?)")
    schedule = document["schedule"]
    conference = schedule.get("conference")
    if conference is None:
        raise ScheduleImportError("schedule.conference.days: missing (is this a voc schedule.json?)")
    if not isinstance(conference, dict):
        raise ScheduleImportError("schedule.conference: must be an object")
    days = conference.get("days")
    if isinstance(schedule.get("events"), list) and not (
            isinstance(days, list) and any(isinstance(d, dict) and "rooms" in d for d in days)):
        return _from_hub(document, timezone)  # the c3 hub's v2: events beside the days
    if not isinstance(days, list):
        raise ScheduleImportError("schedule.conference.days: missing or not a list (is this a voc schedule.json?)")
    builder = _builder(conference, schedule, "schedule.conference", timezone)
    for i, day in enumerate(conference["days"]):
        where_day = f"schedule.conference.days[{i}]"
        day = _object(day, where_day)
        day_date = _date(day.get("date"), f"{where_day}.date") if day.get("date") is not None else None
        rooms = _object(day.get("rooms", {}), f"{where_day}.rooms")
        for room_name, events in rooms.items():
            for n, item in enumerate(_list(events, f"{where_day}.rooms[{room_name!r}]")):
                where = f"{where_day}.rooms[{room_name!r}][{n}]"
                item = _object(item, where)
                start = _json_start(item, day_date, where)
                if item.get("end") is not None and item.get("duration") is None:
                    builder.add(where, room_name, item, start, end=_datetime(item["end"], f"{where}.end"))
                else:
                    builder.add(where, room_name, item, start, length=_duration(item.get("duration"),
                                                                                  f"{where}.duration"))
    return builder.finish()


def _builder(conference: dict[str, Any], schedule: dict[str, Any], where: str, timezone: str | None) -> _Builder:
    title = _text(conference.get("title"), f"{where}.title")
    acronym = _text(conference.get("acronym"), f"{where}.acronym")
    urls = [_text(conference.get("url"), f"{where}.url"), _text(schedule.get("base_url"), "schedule.base_url")]
    ours = next((m.group(1) for u in urls if (m := _OUR_EVENT_URL.search(u))), None)
    zone = _text(conference.get("time_zone_name"), f"{where}.time_zone_name")
    builder = _Builder(title, ours or acronym or title or "imported", zone, timezone)
    builder.exact_slug = ours
    builder.prefix = acronym
    builder.description = _text(conference.get("description"), f"{where}.description")
    rooms = conference.get("rooms")
    for room in rooms if isinstance(rooms, list) else []:
        if isinstance(room, dict) and isinstance(room.get("name"), str) and isinstance(room.get("slug"), str):
            builder.room_keys[room["name"].strip()] = room["slug"]
    return builder


def _json_start(item: dict[str, Any], day: dt.date | None, where: str) -> dt.datetime:
    if item.get("date") not in (None, ""):
        return _datetime(item["date"], f"{where}.date")
    if day is None or item.get("start") is None:
        raise ScheduleImportError(f"{where}: needs a date, or a day and a start time")
    return dt.datetime.combine(day, _clock(item["start"], f"{where}.start"))


def _from_hub(document: dict[str, Any], timezone: str | None) -> ImportedSchedule:
    """The c3 hub's schedule v2 JSON: a flat ``events`` list with start/end instants and room objects."""
    schedule = document["schedule"]
    conference = schedule["conference"]
    builder = _builder(conference, schedule, "schedule.conference", timezone)
    tracks = {}
    for i, track in enumerate(_list(conference.get("tracks"), "schedule.conference.tracks")):
        if isinstance(track, dict) and isinstance(track.get("slug"), str):
            tracks[track["slug"]] = _text(track.get("name"), f"schedule.conference.tracks[{i}].name")
    for n, item in enumerate(_list(schedule.get("events"), "schedule.events")):
        where = f"schedule.events[{n}]"
        item = dict(_object(item, where))
        room = item.get("room")
        room_name = _text(room.get("name") if isinstance(room, dict) else room, f"{where}.room")
        track = item.get("track")
        if isinstance(track, dict):
            item["track"] = tracks.get(str(track.get("slug")), _text(track.get("name"), f"{where}.track.name"))
        item[_SPEAKERS] = _persons(item.get("participants", item.get("persons")), f"{where}.participants")
        start = _datetime(item.get("start"), f"{where}.start")
        if item.get("end") is not None:
            builder.add(where, room_name, item, start, end=_datetime(item["end"], f"{where}.end"))
        else:
            builder.add(where, room_name, item, start, length=_duration(item.get("duration"), f"{where}.duration"))
    return builder.finish()


def from_hub_json(text: str | bytes, timezone: str | None = None) -> ImportedSchedule:
    """Read the c3 hub's schedule v2 JSON (``schedule.events``)."""
    document = _load_json(text)
    if not isinstance(document, dict) or not isinstance(document.get("schedule"), dict):
        raise ScheduleImportError("schedule: missing or not an object (is this a c3 hub schedule v2 JSON?)")
    if not isinstance(document["schedule"].get("conference"), dict):
        raise ScheduleImportError("schedule.conference: missing or not an object")
    if not isinstance(document["schedule"].get("events"), list):
        raise ScheduleImportError("schedule.events: missing (is this a c3 hub schedule v2 JSON?)")
    return _from_hub(document, timezone)


def from_pretalx_widget(text: str | bytes, timezone: str | None = None) -> ImportedSchedule:
    """Read pretalx's widget JSON (v2, what Venueless reads): talks and breaks, rooms and speakers by id."""
    document = _load_json(text)
    if not isinstance(document, dict) or not isinstance(document.get("talks"), list):
        raise ScheduleImportError("talks: missing (is this a pretalx widget JSON, schedule/widget/v2.json?)")
    rooms: dict[str, str] = {}
    for i, room in enumerate(_list(document.get("rooms"), "rooms")):
        room = _object(room, f"rooms[{i}]")
        rooms[str(room.get("id"))] = _text(room.get("name"), f"rooms[{i}].name")
    tracks: dict[str, str] = {}
    for i, track in enumerate(_list(document.get("tracks"), "tracks")):
        track = _object(track, f"tracks[{i}]")
        tracks[str(track.get("id"))] = _text(track.get("name"), f"tracks[{i}].name")
    speakers: dict[str, dict[str, str]] = {}
    for i, speaker in enumerate(_list(document.get("speakers"), "speakers")):
        speaker = _object(speaker, f"speakers[{i}]")
        person = _person(speaker, f"speakers[{i}]")
        if person:
            speakers[str(speaker.get("code"))] = person
    name = _text(document.get("event_name") or document.get("name"), "event_name")
    builder = _Builder(name, _text(document.get("event_slug") or document.get("slug"), "event_slug") or name
                       or "imported", _text(document.get("timezone"), "timezone"), timezone)
    for n, talk in enumerate(document["talks"]):
        where = f"talks[{n}]"
        talk = dict(_object(talk, where))
        if talk.get("room") is None or talk.get("start") is None:
            continue  # unscheduled
        codes = _list(talk.get("speakers"), f"{where}.speakers")
        talk[_SPEAKERS] = [speakers[str(c)] for c in codes if str(c) in speakers]
        if not talk.get("code"):
            title = _text(talk.get("title"), f"{where}.title")
            talk[_KIND] = "lunch" if _LUNCH_TITLE.search(title) else "break"  # pretalx breaks have no code
        talk["track"] = tracks.get(str(talk.get("track")), "")
        start = _datetime(talk.get("start"), f"{where}.start")
        room_name = rooms.get(str(talk.get("room")), str(talk.get("room")))
        if talk.get("end") is not None:
            builder.add(where, room_name, talk, start, end=_datetime(talk["end"], f"{where}.end"))
        else:
            builder.add(where, room_name, talk, start, length=_duration(talk.get("duration"), f"{where}.duration"))
    return builder.finish()


# --- XML readers -----------------------------------------------------------------------------------------------


def _parse_xml(data: bytes | str) -> ET.Element:
    if isinstance(data, str):
        data = data.encode("utf-8")
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise ScheduleImportError("file: XML with a DOCTYPE or entities is refused (a schedule needs neither)")
    try:
        return ET.fromstring(data)
    except ET.ParseError as exc:
        raise ScheduleImportError(f"file: not well-formed XML ({exc})") from exc
    except RecursionError as exc:
        raise ScheduleImportError("file: nested too deeply to be a schedule") from exc
    except (LookupError, UnicodeError) as exc:  # an encoding Python does not know, or text not in the one declared
        raise ScheduleImportError(f"file: the XML declaration's character encoding cannot be read ({exc})") from exc


def _xml_text(element: ET.Element | None) -> str:
    """All the text of an element, inline markup (``<em>``) included."""
    return _clean("".join(element.itertext())) if element is not None else ""


def from_frab_xml(data: bytes | str, timezone: str | None = None) -> ImportedSchedule:
    """Read a frab schedule.xml, FOSDEM's and Pentabarf's (events under ``<room>`` or directly under ``<day>``)."""
    root = _parse_xml(data)
    if root.tag != "schedule":
        raise ScheduleImportError(f"file: the root element is <{root.tag[:40]}>, not <schedule>")
    conference = root.find("conference")
    get = (lambda key: _xml_text(conference.find(key))) if conference is not None else (lambda key: "")
    title, acronym = get("title"), get("acronym")
    urls = [get("url"), get("base_url"), _xml_text(root.find("url"))]
    ours = next((m.group(1) for u in urls if (m := _OUR_EVENT_URL.search(u))), None)
    builder = _Builder(title, ours or acronym or title or "imported", get("time_zone_name"), timezone)
    builder.exact_slug = ours
    builder.prefix = acronym
    day_change = dt.time(0, 0)
    if get("day_change"):
        day_change = _clock(get("day_change"), "conference.day_change")
    for i, day in enumerate(root.findall("day")):
        where_day = f"day[{i + 1}]"
        day_date = _date(day.get("date"), f"{where_day}@date") if day.get("date") else None
        groups: list[tuple[str, list[ET.Element]]] = [(room.get("name") or "", room.findall("event"))
                                                      for room in day.findall("room")]
        loose = day.findall("event")  # Pentabarf (FOSDEM 2010): events directly under <day>, the room inside
        if loose:
            groups.append(("", loose))
        for room_name, events in groups:
            for n, event in enumerate(events):
                room = room_name or _xml_text(event.find("room"))
                where = f"{where_day}.room[{room!r}].event[{n + 1}]" + (f"@id={event.get('id')}"
                                                                          if event.get("id") else "")
                item: dict[str, Any] = {}
                for child in event:
                    if child.tag not in ("persons", "links", "attachments", "recording"):
                        item.setdefault(child.tag, _xml_text(child))
                for attribute in ("id", "guid", "code"):
                    if event.get(attribute):
                        item[attribute] = event.get(attribute)
                item["persons"] = [_xml_text(p) for p in event.findall("persons/person")]
                if item.get("date"):
                    start = _datetime(item["date"], f"{where}.date")
                else:
                    if day_date is None:
                        raise ScheduleImportError(f"{where}: needs a <date>, or a day with a date and a <start>")
                    clock = _clock(item.get("start"), f"{where}.start")
                    on = day_date + dt.timedelta(days=1) if clock < day_change else day_date
                    start = dt.datetime.combine(on, clock)
                builder.add(where, room, item, start, length=_duration(item.get("duration"), f"{where}.duration"))
    return builder.finish()


def from_xcal(data: bytes | str, timezone: str | None = None) -> ImportedSchedule:
    """Read xCal (RFC 6321, iCalendar as XML): one block per timed VEVENT."""
    root = _parse_xml(data)
    if root.tag != f"{_ICAL_NS}icalendar":
        raise ScheduleImportError(f"file: the root element is <{root.tag[:60]}>, not xCal's <icalendar>")
    calendar = root.find(f"{_ICAL_NS}vcalendar")
    if calendar is None:
        raise ScheduleImportError("icalendar: no <vcalendar>")

    def prop(parent: ET.Element, name: str) -> ET.Element | None:
        return parent.find(f"{_ICAL_NS}properties/{_ICAL_NS}{name}")

    def value(element: ET.Element | None) -> str:
        if element is None:
            return ""
        for child in element:
            if child.tag != f"{_ICAL_NS}parameters":
                return _xml_text(child)
        return ""

    cal_name = value(prop(calendar, "x-wr-calname"))
    builder = _Builder(cal_name, cal_name or "imported", value(prop(calendar, "x-wr-timezone")), timezone)
    events = calendar.findall(f"{_ICAL_NS}components/{_ICAL_NS}vevent")
    for n, event in enumerate(events):
        where = f"vevent[{n + 1}]"
        start_el = prop(event, "dtstart")
        if start_el is None or start_el.find(f"{_ICAL_NS}date-time") is None:
            continue  # whole-day entries (a date, no time) are no blocks
        tzid = start_el.find(f"{_ICAL_NS}parameters/{_ICAL_NS}tzid/{_ICAL_NS}text")
        if tzid is not None and not builder.zone_name:
            builder.zone_name = _xml_text(tzid)
        start = _datetime(value(start_el), f"{where}.dtstart")
        item = {"title": value(prop(event, "summary")), "description": value(prop(event, "description")),
                "url": value(prop(event, "url")), "slug": value(prop(event, "uid")),
                "type": value(prop(event, "categories"))}
        end_el = prop(event, "dtend")
        if end_el is not None:
            builder.add(where, value(prop(event, "location")), item, start, end=_datetime(value(end_el),
                                                                                             f"{where}.dtend"))
        else:
            builder.add(where, value(prop(event, "location")), item, start,
                        length=_ical_duration(value(prop(event, "duration")), f"{where}.duration"))
    return builder.finish()


def _ical_duration(text: str, where: str) -> dt.timedelta:
    match = re.fullmatch(r"P(?:(\d{1,3})W)?(?:(\d{1,4})D)?(?:T(?:(\d{1,4})H)?(?:(\d{1,5})M)?(?:(\d{1,6})S)?)?",
                         text.strip())
    if not match or not any(match.groups()):
        raise ScheduleImportError(f"{where}: {text[:40]!r} is not an iCalendar duration (PT1H30M)")
    weeks, days, hours, minutes, seconds = (int(g or 0) for g in match.groups())
    return dt.timedelta(weeks=weeks, days=days, hours=hours, minutes=minutes, seconds=seconds)


# --- iCalendar -------------------------------------------------------------------------------------------------


def from_ics(data: bytes | str, timezone: str | None = None) -> ImportedSchedule:
    """Read an iCalendar file: one block per timed VEVENT, LOCATION as the room."""
    import icalendar

    try:
        calendars = icalendar.Calendar.from_ical(data, multiple=True)
    except RecursionError as exc:
        raise ScheduleImportError("file: nested too deeply to be a calendar") from exc
    except (ValueError, KeyError, IndexError, TypeError, AttributeError, UnicodeError) as exc:
        raise ScheduleImportError(f"file: not a valid iCalendar file ({str(exc)[:200]})") from exc
    if not calendars or calendars[0].name != "VCALENDAR":
        raise ScheduleImportError("file: no BEGIN:VCALENDAR (is this an .ics file?)")
    calendar = calendars[0]
    name = _text(str(calendar.get("X-WR-CALNAME", "")), "X-WR-CALNAME")
    builder = _Builder(name, name or "imported", _text(str(calendar.get("X-WR-TIMEZONE", "")), "X-WR-TIMEZONE"),
                       timezone)
    for n, event in enumerate(calendar.walk("VEVENT")):
        where = f"VEVENT[{n + 1}]"
        try:
            start_prop = event.get("DTSTART")
            start = event.decoded("DTSTART") if start_prop is not None else None
            end = event.decoded("DTEND") if event.get("DTEND") is not None else None
            length = event.decoded("DURATION") if event.get("DURATION") is not None else None
        except (ValueError, KeyError, IndexError, TypeError, AttributeError, OverflowError) as exc:
            raise ScheduleImportError(f"{where}: a date or duration cannot be read ({str(exc)[:120]})") from exc
        if not isinstance(start, dt.datetime):
            continue  # whole-day entries (a date, no time) are no blocks
        tzid = start_prop.params.get("TZID") if hasattr(start_prop, "params") else None
        if tzid and not builder.zone_name:
            builder.zone_name = str(tzid)
        if start.tzinfo is not None and not isinstance(start.tzinfo, ZoneInfo) and start.tzinfo is not dt.UTC:
            start = start.astimezone(dt.UTC)  # a VTIMEZONE of the file's own: keep the instant
        _check_year(start, f"{where}.DTSTART")
        categories = event.get("CATEGORIES")
        category = ""
        if categories is not None:
            first = categories[0] if isinstance(categories, list) else categories
            category = str(first.cats[0]) if getattr(first, "cats", None) else ""
        item = {"title": str(event.get("SUMMARY", "")), "description": str(event.get("DESCRIPTION", "")),
                "url": str(event.get("URL", "")), "slug": str(event.get("UID", "")).split("@", 1)[0],
                "type": category}
        room = str(event.get("LOCATION", ""))
        ours = _OUR_EVENT_URL.search(item["url"])
        pretalx = _PRETALX_TALK_URL.search(item["url"])
        if ours and n == 0:
            builder.exact_slug = ours.group(1)  # our own export: the event's slug is in every URL
        elif pretalx:
            item["slug"] = pretalx.group(2)  # pretalx: …/<event>/talk/<CODE>/
            if n == 0 and not name:
                builder.slug_hint = builder.title = pretalx.group(1)
        if isinstance(end, dt.datetime):
            if end.tzinfo is not None and not isinstance(end.tzinfo, ZoneInfo) and end.tzinfo is not dt.UTC:
                end = end.astimezone(dt.UTC)
            _check_year(end, f"{where}.DTEND")
            builder.add(where, room, item, start, end=end)
        elif isinstance(length, dt.timedelta):
            builder.add(where, room, item, start, length=length)
        else:
            raise ScheduleImportError(f"{where}: needs DTEND or DURATION")
    return builder.finish()


READERS = {
    "frab": from_frab_xml, "schedule-json": from_schedule_json, "hub-json": from_hub_json,
    "pretalx-widget": from_pretalx_widget, "ics": from_ics, "xcal": from_xcal,
}


# --- writing and checking the programme file -------------------------------------------------------------------


def _toml_string(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def _escaped(value: str) -> str:
    """Literal braces for a programme file, where ``{name}`` is a placeholder and ``{{``/``}}`` are braces."""
    return _toml_string(value.replace("{", "{{").replace("}", "}}"))


def to_agenda_toml(schedule: ImportedSchedule, source: str) -> str:
    """Write the imported schedule as a programme file (local wall-clock times in the schedule's zone)."""
    zone = ZoneInfo(schedule.timezone)
    local = {id(b): (b.start.astimezone(zone).replace(tzinfo=None), b.end.astimezone(zone).replace(tzinfo=None))
             for b in schedule.blocks}
    first_day = min(start for start, _ in local.values()).date()
    multi_day = any(start.date() != first_day or end.date() != first_day for start, end in local.values())
    source_name = re.sub(r"[\r\n]", " ", source)
    lines = [
        f"# Imported from {source_name} by `ehalsodag agenda import`. Check it with `ehalsodag agenda check`.",
        "",
        "[event]",
        f"slug = {_toml_string(schedule.slug)}",
        f"title = {_escaped(schedule.title)}",
        f"date = {first_day.isoformat()}",
        f"timezone = {_toml_string(schedule.timezone)}",
    ]
    if schedule.description:
        lines.append(f"description = {_escaped(schedule.description)}")
    for key, name in schedule.stages:
        lines += ["", "[[stages]]", f"id = {_toml_string(key)}", f"name = {_escaped(name)}"]

    def when(moment: dt.datetime) -> str:  # several days: local date-times; one day: "HH:MM"
        return moment.strftime("%Y-%m-%dT%H:%M:%S") if multi_day else _toml_string(moment.strftime("%H:%M"))

    for block in sorted(schedule.blocks, key=lambda b: (b.start, b.stage)):
        start, end = local[id(block)]
        lines += ["", "[[blocks]]", f"id = {_toml_string(block.key)}", f"stage = {_toml_string(block.stage)}",
                  f"kind = {_toml_string(block.kind)}", f"start = {when(start)}", f"end = {when(end)}",
                  f"title = {_escaped(block.title)}"]
        if block.description:
            lines.append(f"description = {_escaped(block.description)}")
        if block.theme:
            lines.append(f"theme = {_toml_string(block.theme)}")
        for speaker in block.speakers:
            lines += ["[[blocks.speakers]]", f"name = {_escaped(speaker['name'])}"]
            for key in ("role", "organisation"):
                if speaker.get(key):
                    lines.append(f"{key} = {_escaped(speaker[key])}")
    return "\n".join(lines) + "\n"


def checked_toml(schedule: ImportedSchedule, source: str, *, split_overlaps: bool = False) -> str:
    """The programme file, run through ``agenda check``; a problem is reported at the source file's event."""
    settle_overlaps(schedule, split_overlaps)
    text = to_agenda_toml(schedule, source)
    ordered = sorted(schedule.blocks, key=lambda b: (b.start, b.stage))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"{schedule.slug}.toml"
        path.write_text(text, encoding="utf-8")
        try:
            load_agenda(path)
        except AgendaError as exc:
            problem = exc.problems[0]
            match = re.match(r"blocks\[(\d+)\]", problem.path)
            where = ordered[int(match.group(1))].where if match and int(match.group(1)) < len(ordered) else "file"
            raise ScheduleImportError(f"{where}: {problem.message} (programme file: {problem.path})") from exc
    return text


def read_schedule(path: str, fmt: str, timezone: str | None = None) -> ImportedSchedule:
    """Read a file of ``fmt`` from disk, refusing one over the size limit before reading it."""
    if fmt not in READERS:
        raise ScheduleImportError(f"file: unknown format {fmt!r} (one of {', '.join(FORMATS)})")
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_IMPORT_BYTES + 1)
    except OSError as exc:
        raise ScheduleImportError(f"file: cannot be read: {exc.strerror or exc}") from exc
    if len(data) > MAX_IMPORT_BYTES:
        raise ScheduleImportError(f"file: larger than {MAX_IMPORT_BYTES // (1024 * 1024)} MB; a schedule is "
                                  "far smaller (split it or remove attachments)")
    return READERS[fmt](data, timezone)
