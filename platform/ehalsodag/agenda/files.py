"""Programme files (TOML): parse, validate, resolve ``extends`` and fill ``{placeholders}``.

A file describes one event. A regional day extends the framework programme: it inherits its
stages and blocks, removes blocks by id (``remove_blocks``), replaces a block by giving one with
the same id, adds new blocks, and appends local panellists with ``[[extra_speakers]]``.

Every problem is reported as ``FILE: field.path: message``; nothing is loaded when there is one.
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
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
_PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_]*)\}")
_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")

_TOP_KEYS = {"event", "placeholders", "stages", "blocks", "remove_blocks", "extra_speakers", "evaluation"}
_EVALUATION_KEYS = {"open_minutes": int, "questions": list}
_EVAL_QUESTION_KEYS = {"key": str, "kind": str, "text": str, "labels": list, "optional": bool}
EVALUATION_KINDS = ("scale", "yesno", "choice", "text", "nps")
_EVENT_KEYS = {
    "slug": str, "title": str, "description": str, "date": dt.date, "timezone": str, "template": bool,
    "extends": str, "organiser": str, "recording_url": str, "allowed_stream_hosts": list, "retention_days": int,
}
_STAGE_KEYS = {"id": str, "name": str, "kind": str, "stream_url": str}
_BLOCK_KEYS = {
    "id": str, "stage": str, "kind": str, "start": object, "end": object, "title": str, "description": str,
    "theme": str, "stream_url": str, "film_url": str, "recording_url": str, "speakers": list, "polls": list,
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


class _Collector:
    """Gathers problems for one file."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[Problem] = []

    def add(self, path: str, message: str) -> None:
        self.problems.append(Problem(self.file, path, message))


def load_agenda(path: str | Path, *, today: dt.date | None = None) -> AgendaSpec:
    """Parse and validate ``path``; raise AgendaError listing every problem.

    A template (the framework programme) has no date of its own; it is given ``today``.
    """
    path = Path(path)
    out = _Collector(str(path))
    merged = _merge_raw(path, (), out)
    spec = None
    if merged is not None:
        spec = _build(path, merged, today or dt.date.today(), out)
    if out.problems or spec is None:
        raise AgendaError(out.problems)
    return spec


def check_files(paths: list[str]) -> list[Problem]:
    """Validate several files; return all problems (empty when every file is valid)."""
    problems: list[Problem] = []
    for path in paths:
        try:
            load_agenda(path)
        except AgendaError as exc:
            problems.extend(exc.problems)
    return problems


def _read_toml(path: Path, out: _Collector) -> dict[str, Any] | None:
    try:
        raw = path.read_bytes()
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
        else:
            parent = _merge_raw(parent_path, (*seen, path.resolve()), out)
            if parent is not None:
                placeholders, stages, blocks = parent.placeholders, parent.stages, parent.blocks
                inherited_evaluation = parent.evaluation
                inherited_event = {
                    k: v for k, v in parent.event.items() if k not in {"template", "slug", "extends", "date"}
                }

    own_placeholders = raw.get("placeholders", {})
    if not isinstance(own_placeholders, dict):
        mine.add("placeholders", "must be a table of name = \"text\"")
        own_placeholders = {}
    for key, value in own_placeholders.items():
        if not re.match(r"^[a-z_][a-z0-9_]*$", key):
            mine.add(f"placeholders.{key}", "placeholder names use a-z, 0-9 and _")
        elif not isinstance(value, str):
            mine.add(f"placeholders.{key}", "must be a string")
        else:
            placeholders[key] = value

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
        good = _check_table(block, _BLOCK_KEYS, f"blocks[{i}]", mine)
        missing = [k for k in _REQUIRED_BLOCK_KEYS if not isinstance(block, dict) or k not in block]
        if missing:
            mine.add(f"blocks[{i}]", f"missing {', '.join(missing)}")
            continue
        if "id" not in good:
            continue
        if good["id"] in own_ids:
            mine.add(f"blocks[{i}].id", f"duplicate block id {good['id']!r}")
        own_ids.add(good["id"])
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
        blocks[good["id"]] = {**good, "speakers": speakers, "polls": polls, "_where": f"blocks[{i}]",
                              "_file": str(path)}

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


def _fill(text: str, placeholders: dict[str, str], where: str, out: _Collector) -> str:
    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in placeholders:
            return placeholders[name]
        out.add(where, f"placeholder {{{name}}} has no value in [placeholders]")
        return match.group(0)

    return _PLACEHOLDER.sub(replace, text)


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
    stage_specs = []
    for key, stage in stages.items():
        stream = stage.get("stream_url")
        if stream:
            _check_url(stream, f"stages[{key}].stream_url", out, hosts=hosts)
        stage_specs.append(
            StageSpec(key=key, name=_fill(stage["name"], placeholders, f"stages[{key}].name", out),
                      kind=stage.get("kind", "regional"), stream_url=stream)
        )

    block_specs: list[BlockSpec] = []
    for key, block in blocks.items():
        where = block.get("_where", f"blocks[{key}]")
        block_out = out if block.get("_file", str(path)) == str(path) else _Collector(block["_file"])
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
                block_out.add(f"{where}.stage", "required when the event has more than one stage")
        elif stage not in stages:
            block_out.add(f"{where}.stage", f"unknown stage {stage!r}")
        start = block.get("start")
        end = block.get("end")
        start_at = _when(start, day, f"{where}.start", block_out)
        end_at = _when(end, day, f"{where}.end", block_out)
        if start_at and end_at and end_at <= start_at:
            block_out.add(f"{where}.end", f"ends ({end_at:%H:%M}) before or when it starts ({start_at:%H:%M})")
        for url_key in ("stream_url", "film_url"):
            if block.get(url_key):
                _check_url(block[url_key], f"{where}.{url_key}", block_out, hosts=hosts)
        if block.get("recording_url"):
            _check_url(block["recording_url"], f"{where}.recording_url", block_out, link=True)
        speakers = [
            SpeakerSpec(
                name=_fill(s["name"], placeholders, f"{where}.speakers", out),
                role=_fill(s.get("role", ""), placeholders, f"{where}.speakers", out),
                organisation=_fill(s.get("organisation", ""), placeholders, f"{where}.speakers", out),
            )
            for s in block.get("speakers", [])
        ]
        polls = [_poll_spec(poll, placeholders, block_out) for poll in block.get("polls", [])]
        if block_out is not out:
            out.problems.extend(block_out.problems)
        if start_at is None or end_at is None or stage is None or kind not in BLOCK_KINDS:
            continue
        block_specs.append(
            BlockSpec(
                key=key, stage=stage, kind=kind, start=start_at, end=end_at,
                title=_fill(block["title"], placeholders, f"{where}.title", out),
                description=_fill(block.get("description", ""), placeholders, f"{where}.description", out),
                theme=theme, speakers=speakers, stream_url=block.get("stream_url"),
                film_url=block.get("film_url"), recording_url=block.get("recording_url"),
                polls=[p for p in polls if p is not None],
            )
        )
    block_specs.sort(key=lambda b: (b.start, b.end))
    poll_keys = [p.key for b in block_specs for p in b.polls]
    for key in sorted({k for k in poll_keys if poll_keys.count(k) > 1}):
        out.add("blocks", f"poll id {key!r} is used more than once")
    _check_overlaps(block_specs, blocks, out)
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
        questions.append(EvaluationQuestionSpec(
            key=question["key"], kind=kind, text=_fill(question["text"], placeholders, f"{where}.text", out),
            labels=[_fill(label, placeholders, f"{where}.labels", out) for label in labels],
            optional=question.get("optional", False),
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


def _check_overlaps(specs: list[BlockSpec], raw: dict[str, dict[str, Any]], out: _Collector) -> None:
    last_on_stage: dict[str, BlockSpec] = {}
    for block in specs:
        previous = last_on_stage.get(block.stage)
        if previous and block.start < previous.end:
            where = raw[block.key].get("_where", f"blocks[{block.key}]")
            out.add(
                f"{where}.start",
                f"block {block.key!r} ({block.start:%H:%M}–{block.end:%H:%M}) overlaps {previous.key!r} "
                f"({previous.start:%H:%M}–{previous.end:%H:%M}) on stage {block.stage!r}",
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
