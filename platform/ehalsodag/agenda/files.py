"""Programme files (TOML): parse, validate, resolve ``extends`` and fill ``{placeholders}``.

A file describes one event. A regional day extends the framework programme: it inherits its
stages and blocks, removes blocks by id (``remove_blocks``), replaces a block by giving one with
the same id, adds new blocks, and appends local panellists with ``[[extra_speakers]]``.

A national day (an event with one stage of kind ``national`` and regional stages) is its national file
plus every *region file* in the folder named after it (``nationell-ehalsodag-2022.toml`` and
``nationell-ehalsodag-2022/*.toml``). A region file says ``extends = "../nationell-ehalsodag-2022.toml"``
and ``region = "<stage id>"`` in its ``[event]`` and changes only its own stage: its name and stream,
its blocks (added, replaced by id, removed) and their extra speakers. Loading the national file or any of
its region files gives the same composed event. In a region file ``{region}`` is its stage's name unless
its ``[placeholders]`` say otherwise.

Texts are Swedish; a block may add ``title_en`` and ``description_en`` and an evaluation question ``text_en`` and
``labels_en`` (one per label, same order) for the English page, which shows the Swedish text marked as Swedish where
no English one is given.

Every problem is reported as ``FILE: field.path: message``; nothing is loaded when there is one.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import tomllib
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ehalsodag.agenda.streams import StreamError, check_link, embed_for

BLOCK_KINDS = ("opening", "talk", "panel", "break", "lunch", "film", "closing")
STAGE_KINDS = ("national", "regional")
#: The four goals of the national strategy 2020–2022, used as block themes.
THEMES = {
    "individen-som-medskapare": "Individen som medskapare",
    "ratt-information-och-kunskap": "Rätt information och kunskap",
    "trygg-och-saker-informationshantering": "Trygg och säker informationshantering",
    "utveckling-och-digital-transformation-i-samverkan": "Utveckling och digital transformation i samverkan",
}
_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,99}$")
#: ``{name}`` is a placeholder; ``{{`` and ``}}`` are a literal brace (as in Python's str.format).
_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([a-z_][a-z0-9_]*)\}")
_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")

_TOP_KEYS = {"event", "placeholders", "stages", "blocks", "remove_blocks", "extra_speakers", "evaluation"}
_REGION_TOP_KEYS = _TOP_KEYS - {"evaluation"}
_REGION_EVENT_KEYS = ("extends", "region")
_EVALUATION_KEYS = {"open_minutes": int, "questions": list}
_EVAL_QUESTION_KEYS = {"key": str, "kind": str, "text": str, "labels": list, "optional": bool, "text_en": str,
                       "labels_en": list}
EVALUATION_KINDS = ("scale", "yesno", "choice", "text", "nps")
_EVENT_KEYS = {
    "slug": str, "title": str, "description": str, "date": dt.date, "timezone": str, "template": bool,
    "extends": str, "organiser": str, "recording_url": str, "allowed_stream_hosts": list, "retention_days": int,
}
_STAGE_KEYS = {"id": str, "name": str, "kind": str, "stream_url": str}
_BLOCK_KEYS = {
    "id": str, "stage": str, "kind": str, "start": object, "end": object, "title": str, "description": str,
    "theme": str, "stream_url": str, "film_url": str, "recording_url": str, "speakers": list, "polls": list,
    "title_en": str, "description_en": str,
}
_POLL_KEYS = {
    "id": str, "kind": str, "question": str, "options": list, "max_picks": int, "scale_min": int, "scale_max": int,
    "scale_labels": list, "results": str, "auto_open": bool, "auto_close": bool,
}
_SPEAKER_KEYS = {"name": str, "role": str, "organisation": str}
_EXTRA_SPEAKER_KEYS = {"block": str, **_SPEAKER_KEYS}
_REQUIRED_BLOCK_KEYS = ("id", "kind", "start", "end", "title")
_TYPE_NAMES = {str: "a string", bool: "true or false", list: "a list", dt.date: "a date (YYYY-MM-DD)"}


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a programme file."""

    file: str
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.path}: {self.message}"


class AgendaError(Exception):
    """Raised with every problem found in a file (and the files it extends)."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


@dataclass
class SpeakerSpec:
    """A speaker as written in the file."""

    name: str
    role: str = ""
    organisation: str = ""

    def as_dict(self) -> dict[str, str]:
        """The JSON form stored on the block."""
        return {"name": self.name, "role": self.role, "organisation": self.organisation}


@dataclass
class StageSpec:
    """A stage as written in the file."""

    key: str
    name: str
    kind: str = "regional"
    stream_url: str | None = None


@dataclass
class PollFileSpec:
    """A poll prepared for a block in the programme file."""

    key: str
    kind: str
    question: str
    options: list[str] = field(default_factory=list)
    max_picks: int | None = None
    scale_min: int = 1
    scale_max: int = 5
    scale_labels: list[str] = field(default_factory=list)
    results: str = "live"
    auto_open: bool = True
    auto_close: bool = True


@dataclass
class EvaluationQuestionSpec:
    """One question of the evaluation form."""

    key: str
    kind: str
    text: str
    labels: list[str] = field(default_factory=list)
    optional: bool = False
    text_en: str | None = None
    labels_en: list[str] | None = None


@dataclass
class EvaluationSpec:
    """The evaluation form and how long it stays open after it opens."""

    open_minutes: int = 60
    questions: list[EvaluationQuestionSpec] = field(default_factory=list)


@dataclass
class BlockSpec:
    """A block after inheritance, with local wall-clock times on the event's date."""

    key: str
    stage: str
    kind: str
    start: dt.datetime
    end: dt.datetime
    title: str
    description: str = ""
    theme: str | None = None
    title_en: str | None = None
    description_en: str | None = None
    speakers: list[SpeakerSpec] = field(default_factory=list)
    stream_url: str | None = None
    film_url: str | None = None
    recording_url: str | None = None
    polls: list[PollFileSpec] = field(default_factory=list)


@dataclass
class AgendaSpec:
    """A validated event, ready to be written to the database."""

    slug: str
    title: str
    date: dt.date
    timezone: str
    source_file: str
    description: str = ""
    organiser: str = ""
    template: bool = False
    recording_url: str | None = None
    allowed_stream_hosts: list[str] = field(default_factory=list)
    retention_days: int = 90
    stages: list[StageSpec] = field(default_factory=list)
    blocks: list[BlockSpec] = field(default_factory=list)
    evaluation: EvaluationSpec | None = None

    def utc(self, local: dt.datetime) -> dt.datetime:
        """Turn a wall-clock time of this event into UTC."""
        return local.replace(tzinfo=ZoneInfo(self.timezone)).astimezone(dt.UTC)


#: Programme texts that stand in for files (the studio's programme of a day, kept in the database): read instead
#: of the file at that path, so a text is checked and resolved exactly as the same file would be.
_TEXTS: ContextVar[dict[Path, str] | None] = ContextVar("programme_texts", default=None)


def load_agenda_text(text: str, path: str | Path, *, today: dt.date | None = None) -> AgendaSpec:
    """Parse and validate ``text`` as if it were the file at ``path`` (which need not exist): ``extends`` is
    resolved next to ``path``, the slug defaults to its stem. Raise AgendaError listing every problem."""
    path = Path(path)
    token = _TEXTS.set({**(_TEXTS.get() or {}), path.resolve(): text})
    try:
        return load_agenda(path, today=today)
    finally:
        _TEXTS.reset(token)


def _read_bytes(path: Path) -> bytes:
    text = (_TEXTS.get() or {}).get(path.resolve())
    return text.encode("utf-8", "surrogatepass") if text is not None else path.read_bytes()


class _Collector:
    """Gathers problems for one file."""

    def __init__(self, file: str, problems: list[Problem] | None = None) -> None:
        self.file = file
        self.problems: list[Problem] = [] if problems is None else problems

    def add(self, path: str, message: str) -> None:
        self.problems.append(Problem(self.file, path, message))

    def for_file(self, file: str | None) -> _Collector:
        """A collector for ``file`` that adds to the same list of problems (this one for its own file)."""
        return self if file is None or file == self.file else _Collector(file, self.problems)


def load_agenda(path: str | Path, *, today: dt.date | None = None) -> AgendaSpec:
    """Parse and validate ``path``; raise AgendaError listing every problem.

    A template (the framework programme) has no date of its own; it is given ``today``. A national file is
    composed with the region files in its folder; a region file gives that same composed national event.
    """
    path = Path(path)
    problems: list[Problem] = []
    region_event = _region_event(path)
    national = path
    if region_event is not None:
        found = _national_file_of(path, region_event, _Collector(str(path), problems))
        if found is None:
            raise AgendaError(problems)
        national = found
    out = _Collector(str(national), problems)
    merged = _merge_raw(national, (), out)
    spec = None
    if merged is not None:
        if _is_national(merged):
            _add_region_files(national, merged, path if region_event is not None else None, out)
        elif region_event is not None:
            out.for_file(str(path)).add(
                "event.extends",
                f"{region_event['extends']!r} is not a national event (it has no stage with kind = \"national\"); "
                "a region file extends the national file of its day",
            )
        spec = _build(national, merged, today or dt.date.today(), out)
    if problems or spec is None:
        raise AgendaError(problems)
    return spec


def check_files(paths: list[str]) -> list[Problem]:
    """Validate several files; return all problems (empty when every file is valid).

    A national file and its region files are one event: a problem they share is reported once.
    """
    problems: list[Problem] = []
    for path in paths:
        try:
            load_agenda(path)
        except AgendaError as exc:
            problems.extend(p for p in exc.problems if p not in problems)
    return problems


def _region_event(path: Path) -> dict[str, Any] | None:
    """The ``[event]`` table of a region file (one that names a region), else None. Errors are left to the
    full check."""
    try:
        raw = tomllib.loads(_read_bytes(path).decode("utf-8"))
    except (OSError, UnicodeError, tomllib.TOMLDecodeError):
        return None
    event = raw.get("event")
    if isinstance(event, dict) and "region" in event:
        return event
    return None


def _national_file_of(path: Path, event: dict[str, Any], out: _Collector) -> Path | None:
    """The national file a region file extends, or None (with the problem reported)."""
    extends = event.get("extends")
    if extends is None:
        out.add("event.region", "only a region file names a region, and a region file extends the national file "
                                "of its day: add extends = \"../<national file>.toml\"")
        return None
    if not isinstance(extends, str):
        out.add("event.extends", "must be a string")
        return None
    national = Path(os.path.normpath(path.parent / extends))
    if national.resolve() == path.resolve():
        out.add("event.extends", "extends itself (a cycle of files)")
        return None
    if not national.is_file():
        out.add("event.extends", f"unknown parent: no file {extends!r} next to this one")
        return None
    if _region_event(national) is not None:
        out.add("event.extends", f"{extends!r} is a region file, not a national event: extend the national file")
        return None
    return national


def _is_national(merged: _Merged) -> bool:
    return any(stage.get("kind") == "national" for stage in merged.stages.values())


def _short(file: str, root: Path) -> str:
    """A file's name as shown inside a message: relative to the national file's folder where it can be."""
    relative = os.path.relpath(os.path.abspath(file), os.path.abspath(root))
    return Path(file).name if relative.startswith("..") else relative


def _add_region_files(national: Path, merged: _Merged, given: Path | None, out: _Collector) -> None:
    """Apply every region file in the national file's folder (sorted by name) onto the national programme."""
    folder = national.parent / national.stem
    files = sorted(folder.glob("*.toml")) if folder.is_dir() else []
    if given is not None and given.resolve() not in {f.resolve() for f in files}:
        out.for_file(str(given)).add(
            "event.extends",
            f"a region file of {national.name!r} lives in the folder '{national.stem}/' next to it, "
            "so that loading either file gives the same event",
        )
    owners: dict[str, str] = {}
    for file in files:
        shown = given if given is not None and file.resolve() == given.resolve() else file
        _apply_region(shown, national, merged, owners, out.for_file(str(shown)))


def _read_toml(path: Path, out: _Collector) -> dict[str, Any] | None:
    try:
        raw = _read_bytes(path)
    except OSError as exc:
        out.add("file", f"cannot be read: {exc.strerror or exc}")
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        out.add("file", f"is not UTF-8 (invalid byte at position {exc.start}); save it as UTF-8")
        return None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        out.add("file", f"is not valid TOML: {exc}")
        return None


def _check_table(table: Any, allowed: dict[str, Any], path: str, out: _Collector) -> dict[str, Any]:
    """Report unknown keys and wrong types; return the well-typed entries."""
    if not isinstance(table, dict):
        out.add(path, "must be a table")
        return {}
    good: dict[str, Any] = {}
    for key, value in table.items():
        where = f"{path}.{key}" if path else key
        if key not in allowed:
            out.add(where, f"unknown key (allowed: {', '.join(sorted(allowed))})")
            continue
        expected = allowed[key]
        if expected is dt.date and isinstance(value, dt.datetime):
            out.add(where, "must be a date (YYYY-MM-DD) without a time")
        elif expected is not object and not isinstance(value, expected):
            out.add(where, f"must be {_TYPE_NAMES.get(expected, expected.__name__)}")
        elif isinstance(value, str) and "\x00" in value:
            out.add(where, "must not contain NUL characters")
        else:
            good[key] = value
    return good


def _table_list(raw: dict[str, Any], key: str, out: _Collector) -> list[Any]:
    value = raw.get(key, [])
    if not isinstance(value, list):
        out.add(key, "must be an array of tables ([[" + key + "]])")
        return []
    return value


@dataclass
class _Merged:
    """A file merged onto its parents, before placeholders are filled."""

    event: dict[str, Any]
    placeholders: dict[str, str]
    stages: dict[str, dict[str, Any]]
    blocks: dict[str, dict[str, Any]]
    evaluation: dict[str, Any] | None


def _merge_raw(path: Path, seen: tuple[Path, ...], out: _Collector) -> _Merged | None:
    """Check one file's structure and merge it onto its parent, placeholders still unfilled."""
    mine = _Collector(str(path))
    raw = _read_toml(path, mine)
    if raw is None:
        out.problems.extend(mine.problems)
        return None
    for key in raw:
        if key not in _TOP_KEYS:
            mine.add(key, f"unknown key (allowed: {', '.join(sorted(_TOP_KEYS))})")
    if "event" not in raw:
        mine.add("event", "missing: every file needs an [event] table")
    event = _check_table(raw.get("event", {}), _EVENT_KEYS, "event", mine)

    inherited_event: dict[str, Any] = {}
    placeholders: dict[str, str] = {}
    stages: dict[str, dict[str, Any]] = {}
    blocks: dict[str, dict[str, Any]] = {}
    inherited_evaluation: dict[str, Any] | None = None
    if "extends" in event:
        parent_path = (path.parent / event["extends"]).resolve()
        if parent_path in seen or parent_path == path.resolve():
            mine.add("event.extends", "extends itself (a cycle of files)")
        elif not parent_path.is_file():
            mine.add("event.extends", f"unknown parent: no file {event['extends']!r} next to this one")
        elif _region_event(parent_path) is not None:
            mine.add("event.extends", f"{event['extends']!r} is a region file: only region files extend a national "
                                      "file, and nothing extends a region file")
        else:
            parent = _merge_raw(parent_path, (*seen, path.resolve()), out)
            if parent is not None:
                placeholders, stages, blocks = parent.placeholders, parent.stages, parent.blocks
                inherited_evaluation = parent.evaluation
                inherited_event = {
                    k: v for k, v in parent.event.items() if k not in {"template", "slug", "extends", "date"}
                }

    placeholders = {**placeholders, **_own_placeholders(raw, mine)}

    stages = dict(stages)
    for i, stage in enumerate(_table_list(raw, "stages", mine)):
        good = _check_table(stage, _STAGE_KEYS, f"stages[{i}]", mine)
        if "id" not in good or "name" not in good:
            mine.add(f"stages[{i}]", "needs id and name")
            continue
        if not _ID.match(good["id"]):
            mine.add(f"stages[{i}].id", "use lower-case letters, digits and hyphens")
        if good.get("kind", "regional") not in STAGE_KINDS:
            mine.add(f"stages[{i}].kind", f"must be one of {', '.join(STAGE_KINDS)}")
        stages[good["id"]] = {**good, "_where": f"stages[{i}]", "_file": str(path)}

    blocks = dict(blocks)
    removals = raw.get("remove_blocks", [])
    if not isinstance(removals, list) or not all(isinstance(r, str) for r in removals):
        mine.add("remove_blocks", "must be a list of block ids")
        removals = []
    if removals and "extends" not in event:
        mine.add("remove_blocks", "only a file that extends another can remove blocks")
    for block_id in removals:
        if "extends" in event and block_id not in blocks:
            mine.add("remove_blocks", f"unknown block id {block_id!r} in the parent programme")
        blocks.pop(block_id, None)

    own_ids: set[str] = set()
    for i, block in enumerate(_table_list(raw, "blocks", mine)):
        parsed = _parse_block(block, i, mine)
        if parsed is None:
            continue
        if parsed["id"] in own_ids:
            mine.add(f"blocks[{i}].id", f"duplicate block id {parsed['id']!r}")
        own_ids.add(parsed["id"])
        blocks[parsed["id"]] = {**parsed, "_file": str(path)}

    for i, extra in enumerate(_table_list(raw, "extra_speakers", mine)):
        good = _check_table(extra, _EXTRA_SPEAKER_KEYS, f"extra_speakers[{i}]", mine)
        if "block" not in good or "name" not in good:
            mine.add(f"extra_speakers[{i}]", "needs block and name")
        elif good["block"] not in blocks:
            mine.add(f"extra_speakers[{i}].block", f"unknown block id {good['block']!r}")
        else:
            target = dict(blocks[good["block"]])
            speaker = {k: v for k, v in good.items() if k != "block"}
            target["speakers"] = [*target.get("speakers", []), speaker]
            blocks[good["block"]] = target

    if "evaluation" in raw:
        evaluation = _check_table(raw["evaluation"], _EVALUATION_KEYS, "evaluation", mine)
        checked_questions = []
        for i, question in enumerate(evaluation.get("questions", [])):
            checked = _check_table(question, _EVAL_QUESTION_KEYS, f"evaluation.questions[{i}]", mine)
            if not {"key", "kind", "text"} <= checked.keys():
                mine.add(f"evaluation.questions[{i}]", "needs key, kind and text")
            else:
                checked_questions.append({**checked, "_where": f"evaluation.questions[{i}]"})
        inherited_evaluation = {**evaluation, "questions": checked_questions}
    out.problems.extend(mine.problems)
    return _Merged({**inherited_event, **event}, placeholders, stages, blocks, inherited_evaluation)


def _own_placeholders(raw: dict[str, Any], mine: _Collector) -> dict[str, str]:
    """A file's ``[placeholders]``, checked."""
    own = raw.get("placeholders", {})
    if not isinstance(own, dict):
        mine.add("placeholders", "must be a table of name = \"text\"")
        return {}
    good: dict[str, str] = {}
    for key, value in own.items():
        if not re.match(r"^[a-z_][a-z0-9_]*$", key):
            mine.add(f"placeholders.{key}", "placeholder names use a-z, 0-9 and _")
        elif not isinstance(value, str):
            mine.add(f"placeholders.{key}", "must be a string")
        else:
            good[key] = value
    return good


def _parse_block(block: Any, i: int, mine: _Collector) -> dict[str, Any] | None:
    """One ``[[blocks]]`` entry with its speakers and polls checked, or None when it lacks required keys."""
    good = _check_table(block, _BLOCK_KEYS, f"blocks[{i}]", mine)
    missing = [k for k in _REQUIRED_BLOCK_KEYS if not isinstance(block, dict) or k not in block]
    if missing:
        mine.add(f"blocks[{i}]", f"missing {', '.join(missing)}")
        return None
    if "id" not in good:
        return None
    speakers = []
    for j, speaker in enumerate(good.get("speakers", [])):
        checked = _check_table(speaker, _SPEAKER_KEYS, f"blocks[{i}].speakers[{j}]", mine)
        if "name" not in checked:
            mine.add(f"blocks[{i}].speakers[{j}]", "needs a name")
        else:
            speakers.append(checked)
    polls = []
    for j, poll in enumerate(good.get("polls", [])):
        checked = _check_table(poll, _POLL_KEYS, f"blocks[{i}].polls[{j}]", mine)
        if not {"id", "kind", "question"} <= checked.keys():
            mine.add(f"blocks[{i}].polls[{j}]", "needs id, kind and question")
        else:
            polls.append({**checked, "_where": f"blocks[{i}].polls[{j}]"})
    return {**good, "speakers": speakers, "polls": polls, "_where": f"blocks[{i}]"}


def _apply_region(path: Path, national: Path, merged: _Merged, owners: dict[str, str], mine: _Collector) -> None:
    """Check one region file and apply it onto the national programme ``merged`` (changed in place)."""
    raw = _read_toml(path, mine)
    if raw is None:
        return
    root = national.parent
    for key in raw:
        if key == "evaluation":
            mine.add(key, "the national file owns the evaluation: a region file cannot change it")
        elif key not in _REGION_TOP_KEYS:
            mine.add(key, f"unknown key (allowed in a region file: {', '.join(sorted(_REGION_TOP_KEYS))})")
    event = raw.get("event")
    if not isinstance(event, dict):
        mine.add("event", "missing: a region file needs an [event] table with extends and region")
        return
    for key in event:
        if key in _EVENT_KEYS and key not in _REGION_EVENT_KEYS:
            mine.add(f"event.{key}", "a region file cannot change the national event: its [event] has only "
                                     "extends and region")
        elif key not in _REGION_EVENT_KEYS:
            mine.add(f"event.{key}", f"unknown key (allowed in a region file: {', '.join(_REGION_EVENT_KEYS)})")
    extends = event.get("extends")
    if not isinstance(extends, str) or (path.parent / extends).resolve() != national.resolve():
        mine.add("event.extends", f"must be '../{national.name}': a file in the folder '{national.stem}/' is a "
                                  f"region file of {national.name!r}")
    regional = [key for key, stage in merged.stages.items() if stage.get("kind", "regional") == "regional"]
    known = f"regional stages of {national.name!r}: {', '.join(regional) or 'none'}"
    region = event.get("region")
    if not isinstance(region, str):
        what = "missing" if region is None else "must be a string"
        mine.add("event.region", f"{what}: name this file's region ({known})")
        return
    if region not in regional:
        what = "is the national stage" if region in merged.stages else "is an unknown region"
        mine.add("event.region", f"{region!r} {what} ({known})")
        return
    if region in owners:
        mine.add("event.region", f"region {region!r} already has the region file {owners[region]!r}")
        return
    owners[region] = _short(str(path), root)

    def not_own(block_id: str, block: dict[str, Any]) -> str:
        return (f"block {block_id!r} is on stage {block.get('stage')!r} (in {_short(block['_file'], root)}): "
                f"a region file changes only blocks on its own stage {region!r}")

    stage = dict(merged.stages[region])
    for i, entry in enumerate(_table_list(raw, "stages", mine)):
        good = _check_table(entry, _STAGE_KEYS, f"stages[{i}]", mine)
        if good.get("id") != region:
            other = f", not {good['id']!r}" if "id" in good else ""
            mine.add(f"stages[{i}].id", f"a region file changes only its own stage {region!r}{other}")
            continue
        if good.get("kind", "regional") != "regional":
            mine.add(f"stages[{i}].kind", f"stage {region!r} is a region: its kind stays regional")
        stage = {**stage, **{k: v for k, v in good.items() if k != "kind"}, "_file": str(path),
                 "_where": f"stages[{i}]"}
    base = merged.placeholders
    placeholders = {**base, "region": _fill(stage["name"], base, "", _Collector("")),
                    **_own_placeholders(raw, mine)}
    if stage.get("_file") == str(path):
        stage["_placeholders"] = placeholders
    merged.stages[region] = stage

    removals = raw.get("remove_blocks", [])
    if not isinstance(removals, list) or not all(isinstance(r, str) for r in removals):
        mine.add("remove_blocks", "must be a list of block ids")
        removals = []
    for block_id in removals:
        block = merged.blocks.get(block_id)
        if block is None:
            mine.add("remove_blocks", f"unknown block id {block_id!r} in the national programme")
        elif block.get("stage") != region:
            mine.add("remove_blocks", not_own(block_id, block))
        else:
            del merged.blocks[block_id]

    own_ids: set[str] = set()
    for i, entry in enumerate(_table_list(raw, "blocks", mine)):
        parsed = _parse_block(entry, i, mine)
        if parsed is None:
            continue
        key = parsed["id"]
        if key in own_ids:
            mine.add(f"blocks[{i}].id", f"duplicate block id {key!r}")
        own_ids.add(key)
        parsed.setdefault("stage", region)
        if parsed["stage"] != region:
            mine.add(f"blocks[{i}].stage", f"a region file adds blocks only to its own stage {region!r}, "
                                           f"not {parsed['stage']!r}")
            continue
        existing = merged.blocks.get(key)
        if existing is not None and existing.get("stage") != region:
            mine.add(f"blocks[{i}].id", not_own(key, existing))
            continue
        merged.blocks[key] = {**parsed, "_file": str(path), "_placeholders": placeholders}

    for i, extra in enumerate(_table_list(raw, "extra_speakers", mine)):
        good = _check_table(extra, _EXTRA_SPEAKER_KEYS, f"extra_speakers[{i}]", mine)
        if "block" not in good or "name" not in good:
            mine.add(f"extra_speakers[{i}]", "needs block and name")
            continue
        target = merged.blocks.get(good["block"])
        if target is None:
            mine.add(f"extra_speakers[{i}].block", f"unknown block id {good['block']!r}")
        elif target.get("stage") != region:
            mine.add(f"extra_speakers[{i}].block", not_own(good["block"], target))
        else:
            speaker = {k: v for k, v in good.items() if k != "block"}
            speaker["_placeholders"] = placeholders
            speaker["_file"] = str(path)
            merged.blocks[good["block"]] = {**target, "speakers": [*target.get("speakers", []), speaker]}


def _fill(text: str, placeholders: dict[str, str], where: str, out: _Collector) -> str:
    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name is None:  # an escaped brace
            return match.group(0)[0]
        if name in placeholders:
            return placeholders[name]
        out.add(where, f"placeholder {{{name}}} has no value in [placeholders]")
        return match.group(0)

    return _PLACEHOLDER.sub(replace, text)


def _check_wall_clock(local: dt.datetime, timezone: str, where: str, out: _Collector) -> None:
    """A local time that does not exist (clocks go forward) or happens twice (clocks go back) is no time."""
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return  # reported at event.timezone
    try:
        aware = local.replace(tzinfo=zone)
        back = aware.astimezone(dt.UTC).astimezone(zone).replace(tzinfo=None)
    except (OverflowError, ValueError):
        out.add(where, f"{local:%Y-%m-%d %H:%M} is out of range")
        return
    if back != local:
        out.add(where, f"{local:%Y-%m-%d %H:%M} does not exist in {timezone} (the clocks go forward)")
    elif aware.replace(fold=1).utcoffset() != aware.utcoffset():
        out.add(where, f"{local:%Y-%m-%d %H:%M} happens twice in {timezone} (the clocks go back); "
                       "pick a time outside that hour")


def _when(value: Any, day: dt.date, where: str, out: _Collector) -> dt.datetime | None:
    if isinstance(value, str):
        match = _HHMM.match(value.strip())
        if not match:
            out.add(where, f"must be a time HH:MM (24 h), not {value!r}")
            return None
        return dt.datetime.combine(day, dt.time(int(match.group(1)), int(match.group(2))))
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            out.add(where, "give local time without a UTC offset: the event's timezone applies")
            return None
        return value
    if isinstance(value, dt.time):
        if value.tzinfo is not None:
            out.add(where, "give local time without a UTC offset: the event's timezone applies")
            return None
        return dt.datetime.combine(day, value)
    out.add(where, "must be a time HH:MM or a local date-time")
    return None


def _build(path: Path, merged: _Merged, today: dt.date, out: _Collector) -> AgendaSpec | None:
    event, placeholders, stages, blocks = merged.event, merged.placeholders, merged.stages, merged.blocks
    slug = event.get("slug", path.stem)
    if not _ID.match(slug):
        out.add("event.slug", f"{slug!r} must be lower-case letters, digits and hyphens")
    title = _fill(event.get("title", ""), placeholders, "event.title", out)
    if not title.strip():
        out.add("event.title", "missing: the event needs a title")
    elif len(title) > 300:
        out.add("event.title", "longer than 300 characters")
    template = bool(event.get("template", False))
    date = event.get("date")
    if date is None and not template:
        out.add("event.date", "missing: only a template (template = true) may leave out the date")
    day = date or today
    timezone = event.get("timezone", "Europe/Stockholm")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        out.add("event.timezone", f"unknown time zone {timezone!r} (use an IANA name such as Europe/Stockholm)")
    hosts = event.get("allowed_stream_hosts", [])
    if not all(isinstance(h, str) and re.match(r"^[a-z0-9.-]+$", h.lower()) for h in hosts):
        out.add("event.allowed_stream_hosts", "must be a list of host names such as play.example.se")
        hosts = []
    retention = event.get("retention_days", 90)
    if not 1 <= retention <= 3650:
        out.add("event.retention_days", "must be from 1 to 3650 days")
    recording = event.get("recording_url")
    if recording:
        _check_url(recording, "event.recording_url", out, link=True)

    if not stages:
        out.add("stages", "missing: the event needs at least one [[stages]] entry")
    national = [key for key, stage in stages.items() if stage.get("kind") == "national"]
    if len(national) > 1:
        out.add("stages", f"a national event has exactly one stage with kind = \"national\", not {len(national)} "
                          f"({', '.join(national)})")
    stage_specs = []
    for key, stage in stages.items():
        stage_out = out.for_file(stage.get("_file"))
        stream = stage.get("stream_url")
        if stream:
            _check_url(stream, f"stages[{key}].stream_url", stage_out, hosts=hosts)
        name = _fill(stage["name"], stage.get("_placeholders", placeholders), f"stages[{key}].name",
                     stage_out if "_placeholders" in stage else out)
        if len(name) > 200:
            stage_out.add(f"stages[{key}].name", "longer than 200 characters")
        stage_specs.append(StageSpec(key=key, name=name, kind=stage.get("kind", "regional"), stream_url=stream))

    block_specs: list[BlockSpec] = []
    for key, block in blocks.items():
        where = block.get("_where", f"blocks[{key}]")
        block_out = out.for_file(block.get("_file"))
        # A region file's blocks are filled from its own placeholders (and their gaps are its problems).
        values = block.get("_placeholders", placeholders)
        fill_out = block_out if "_placeholders" in block else out
        if not _ID.match(key):
            block_out.add(f"{where}.id", "use lower-case letters, digits and hyphens")
        kind = block.get("kind")
        if kind not in BLOCK_KINDS:
            block_out.add(f"{where}.kind", f"must be one of {', '.join(BLOCK_KINDS)}, not {kind!r}")
        theme = block.get("theme")
        if theme is not None and theme not in THEMES:
            block_out.add(f"{where}.theme", f"must be one of {', '.join(THEMES)}")
        stage = block.get("stage")
        if stage is None:
            if len(stages) == 1:
                stage = next(iter(stages))
            else:
                block_out.add(f"{where}.stage", f"required when the event has more than one stage "
                                                f"(stages: {', '.join(stages)})")
        elif stage not in stages:
            block_out.add(f"{where}.stage", f"unknown stage {stage!r} (stages: {', '.join(stages)})")
            stage = None
        start = block.get("start")
        end = block.get("end")
        start_at = _when(start, day, f"{where}.start", block_out)
        end_at = _when(end, day, f"{where}.end", block_out)
        if start_at and end_at and end_at <= start_at:
            block_out.add(f"{where}.end", f"ends ({end_at:%H:%M}) before or when it starts ({start_at:%H:%M})")
        for edge, local in (("start", start_at), ("end", end_at)):
            if local is not None:
                _check_wall_clock(local, timezone, f"{where}.{edge}", block_out)
        for title_key in ("title", "title_en"):
            if len(block.get(title_key, "")) > 300:
                block_out.add(f"{where}.{title_key}", "longer than 300 characters")
        for url_key in ("stream_url", "film_url"):
            if block.get(url_key):
                _check_url(block[url_key], f"{where}.{url_key}", block_out, hosts=hosts)
        if block.get("recording_url"):
            _check_url(block["recording_url"], f"{where}.recording_url", block_out, link=True)
        speakers = []
        for s in block.get("speakers", []):
            # An extra speaker from a region file brings that file's placeholders.
            speaker_values = s.get("_placeholders", values)
            speaker_out = out.for_file(s["_file"]) if "_file" in s else fill_out
            speakers.append(SpeakerSpec(
                name=_fill(s["name"], speaker_values, f"{where}.speakers", speaker_out),
                role=_fill(s.get("role", ""), speaker_values, f"{where}.speakers", speaker_out),
                organisation=_fill(s.get("organisation", ""), speaker_values, f"{where}.speakers", speaker_out),
            ))
        polls = [_poll_spec(poll, values, block_out) for poll in block.get("polls", [])]
        if start_at is None or end_at is None or stage is None or kind not in BLOCK_KINDS:
            continue
        block_specs.append(
            BlockSpec(
                key=key, stage=stage, kind=kind, start=start_at, end=end_at,
                title=_fill(block["title"], values, f"{where}.title", fill_out),
                description=_fill(block.get("description", ""), values, f"{where}.description", fill_out),
                title_en=_fill(block["title_en"], values, f"{where}.title_en", fill_out) if block.get("title_en")
                else None,
                description_en=_fill(block["description_en"], values, f"{where}.description_en", fill_out)
                if block.get("description_en") else None,
                theme=theme, speakers=speakers, stream_url=block.get("stream_url"),
                film_url=block.get("film_url"), recording_url=block.get("recording_url"),
                polls=[p for p in polls if p is not None],
            )
        )
    block_specs.sort(key=lambda b: (b.start, b.end))
    root = path.parent
    poll_blocks: dict[str, BlockSpec] = {}
    for spec in block_specs:
        for poll in spec.polls:
            first = poll_blocks.setdefault(poll.key, spec)
            if first is not spec:
                raw = blocks[spec.key]
                elsewhere = "" if blocks[first.key].get("_file") == raw.get("_file") else \
                    f" in {_short(blocks[first.key]['_file'], root)}"
                where = next((f"{q['_where']}.id" for q in raw.get("polls", []) if q.get("id") == poll.key),
                             f"{raw.get('_where', f'blocks[{spec.key}]')}.polls")
                out.for_file(raw.get("_file")).add(
                    where,
                    f"poll id {poll.key!r} is used more than once (also in block {first.key!r}{elsewhere})",
                )
    _check_overlaps(block_specs, blocks, out, root)
    evaluation = _evaluation_spec(merged.evaluation, placeholders, out)
    if out.problems:
        return None
    return AgendaSpec(
        slug=slug, title=title, date=day, timezone=timezone, source_file=str(path),
        description=_fill(event.get("description", ""), placeholders, "event.description", out),
        organiser=_fill(event.get("organiser", ""), placeholders, "event.organiser", out),
        template=template, recording_url=recording, allowed_stream_hosts=list(hosts),
        stages=stage_specs, blocks=block_specs, evaluation=evaluation, retention_days=retention,
    )


def _evaluation_spec(raw: Any, placeholders: dict[str, str], out: _Collector) -> EvaluationSpec | None:
    if not raw:
        return None
    minutes = raw.get("open_minutes", 60)
    if not 5 <= minutes <= 7 * 24 * 60:
        out.add("evaluation.open_minutes", "must be from 5 minutes to a week (10080)")
    questions: list[EvaluationQuestionSpec] = []
    for question in raw.get("questions", []):
        where = question["_where"]
        kind, labels = question["kind"], question.get("labels", [])
        if not _ID.match(question["key"]):
            out.add(f"{where}.key", "use lower-case letters, digits and hyphens")
        if any(q.key == question["key"] for q in questions):
            out.add(f"{where}.key", f"duplicate question key {question['key']!r}")
        if kind not in EVALUATION_KINDS:
            out.add(f"{where}.kind", f"must be one of {', '.join(EVALUATION_KINDS)}")
        elif not all(isinstance(label, str) and label.strip() for label in labels):
            out.add(f"{where}.labels", "must be a list of non-empty strings")
        elif kind == "scale" and not 3 <= len(labels) <= 10:
            out.add(f"{where}.labels", "a scale needs 3 to 10 step labels, lowest first")
        elif kind == "choice" and len(labels) < 2:
            out.add(f"{where}.labels", "a choice question needs at least 2 labels")
        elif kind in ("yesno", "text", "nps") and labels:
            out.add(f"{where}.labels", f"a {kind} question has fixed answers: leave labels out")
        labels_en = question.get("labels_en")
        if labels_en is not None and (len(labels_en) != len(labels)
                                      or not all(isinstance(label, str) and label.strip() for label in labels_en)):
            out.add(f"{where}.labels_en", "must give one non-empty English label for each label, in the same order")
            labels_en = None
        questions.append(EvaluationQuestionSpec(
            key=question["key"], kind=kind, text=_fill(question["text"], placeholders, f"{where}.text", out),
            labels=[_fill(label, placeholders, f"{where}.labels", out) for label in labels],
            optional=question.get("optional", False),
            text_en=_fill(question["text_en"], placeholders, f"{where}.text_en", out) if question.get("text_en")
            else None,
            labels_en=[_fill(label, placeholders, f"{where}.labels_en", out) for label in labels_en]
            if labels_en else None,
        ))
    if not questions:
        out.add("evaluation.questions", "an evaluation needs at least one question")
    return EvaluationSpec(open_minutes=minutes, questions=questions)


def _poll_spec(raw: dict[str, Any], placeholders: dict[str, str], out: _Collector) -> PollFileSpec | None:
    from ehalsodag.i18n import use_language
    from ehalsodag.polls.service import PollError, PollSpec, check_spec

    where = raw["_where"]
    if not _ID.match(raw["id"]):
        out.add(f"{where}.id", "use lower-case letters, digits and hyphens")
    options = raw.get("options", [])
    labels = raw.get("scale_labels", [])
    if not all(isinstance(o, str) for o in [*options, *labels]):
        out.add(f"{where}.options", "options and scale_labels must be lists of strings")
        return None
    spec = PollSpec(
        kind=raw["kind"], question=_fill(raw["question"], placeholders, f"{where}.question", out),
        options=[_fill(o, placeholders, f"{where}.options", out) for o in options],
        max_picks=raw.get("max_picks"), scale_min=raw.get("scale_min", 1), scale_max=raw.get("scale_max", 5),
        scale_labels=list(labels), results=raw.get("results", "live"),
    )
    try:
        with use_language("en"):  # the command line speaks English
            check_spec(spec)
    except PollError as exc:
        out.add(where, str(exc))
        return None
    return PollFileSpec(
        key=raw["id"], kind=spec.kind, question=spec.question, options=spec.options, max_picks=spec.max_picks,
        scale_min=spec.scale_min, scale_max=spec.scale_max, scale_labels=spec.scale_labels, results=spec.results,
        auto_open=raw.get("auto_open", True), auto_close=raw.get("auto_close", True),
    )


def _rank(block: dict[str, Any], out: _Collector) -> int:
    """How derived a block's file is: a region file's, the loaded file's, a parent's."""
    if "_placeholders" in block:
        return 2
    return 1 if block.get("_file", out.file) == out.file else 0


def _check_overlaps(specs: list[BlockSpec], raw: dict[str, dict[str, Any]], out: _Collector, root: Path) -> None:
    """Blocks of one stage must not overlap, whichever files they come from.

    The problem goes to the most derived of the two blocks' files (a region file before the national file, the
    file being loaded before the one it extends; the later block's file on a tie), with the other block's file
    named in the message.
    """
    last_on_stage: dict[str, BlockSpec] = {}
    for block in specs:
        previous = last_on_stage.get(block.stage)
        if previous and block.start < previous.end:
            target, other, edge = block, previous, "start"
            if _rank(raw[previous.key], out) > _rank(raw[block.key], out):
                target, other, edge = previous, block, "end"
            target_raw, other_raw = raw[target.key], raw[other.key]
            elsewhere = "" if other_raw.get("_file") == target_raw.get("_file") else \
                f", in {_short(other_raw.get('_file', out.file), root)}"
            out.for_file(target_raw.get("_file")).add(
                f"{target_raw.get('_where', f'blocks[{target.key}]')}.{edge}",
                f"block {target.key!r} ({target.start:%H:%M}–{target.end:%H:%M}) overlaps {other.key!r} "
                f"({other.start:%H:%M}–{other.end:%H:%M}{elsewhere}) on stage {block.stage!r}",
            )
        if previous is None or block.end > previous.end:
            last_on_stage[block.stage] = block


def _check_url(
    url: str, where: str, out: _Collector, *, hosts: list[str] | None = None, link: bool = False
) -> None:
    try:
        if link:
            check_link(url)
        else:
            embed_for(url, hosts or [])
    except StreamError as exc:
        out.add(where, f"{url!r} {exc}")


def _clean(value: Any) -> Any:
    """A raw value without the loader's bookkeeping keys (``_file``, ``_where``, ``_placeholders``)."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items() if not k.startswith("_")}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def merged_blocks(text: str, path: str | Path) -> dict[str, dict[str, Any]]:
    """The blocks of ``text`` (read as the file at ``path``) after ``extends``, ``remove_blocks`` and
    ``[[extra_speakers]]``, as they would be written in a file: placeholders unfilled, in file order."""
    path = Path(path)
    token = _TEXTS.set({**(_TEXTS.get() or {}), path.resolve(): text})
    try:
        merged = _merge_raw(path, (), _Collector(str(path)))
    finally:
        _TEXTS.reset(token)
    return {} if merged is None else {key: _clean(block) for key, block in merged.blocks.items()}


def check_evaluation_question(question: dict[str, Any]) -> list[Problem]:
    """The problems of one evaluation question (as written in a file's ``[[evaluation.questions]]``)."""
    out = _Collector("question")
    checked = _check_table(question, _EVAL_QUESTION_KEYS, "question", out)
    if not {"key", "kind", "text"} <= checked.keys():
        out.add("question", "needs key, kind and text")
    else:
        _evaluation_spec({"questions": [{**checked, "_where": "question"}]}, {}, out)
    return out.problems
