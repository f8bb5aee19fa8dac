"""A day from the framework: create it, change its programme file, publish it.

The programme file stays the one source of a day: every change the studio makes is a change to the day's
file text, checked by the same code as ``ehalsodag agenda check`` and loaded by the same code as ``ehalsodag
agenda load`` (in the request's unit of work, so open pages follow through the change feed). The text is kept
on the event (``Event.programme_text``) and downloaded as it is.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ehalsodag.agenda import files
from ehalsodag.agenda.files import AgendaError, AgendaSpec, Problem
from ehalsodag.agenda.models import Event
from ehalsodag.agenda.service import event_by_slug, load_spec
from ehalsodag.changes import Topic, changed
from ehalsodag.days import document
from ehalsodag.days.models import BankQuestion
from ehalsodag.errors import RefusedError
from ehalsodag.i18n import _
from ehalsodag.staff import audit
from ehalsodag.staff.models import StaffRole, StaffUser

MAX_PROGRAMME_BYTES = 60 * 1024
#: The national report's evaluation questions (section 7): the same keys on every day make days comparable.
REPORT_QUESTIONS: list[dict[str, Any]] = [
    {"key": "helhet", "kind": "scale", "text": "Vad tyckte du om den regionala e-hälsokonferensen i sin helhet?",
     "labels": ["Mycket dålig", "Dålig", "Varken bra eller dålig", "Bra", "Mycket bra"], "optional": False},
    {"key": "aterkommande", "kind": "yesno", "text": "Bör e-hälsokonferensen vara ett återkommande engagemang?",
     "labels": [], "optional": False},
    {"key": "kommentar", "kind": "text", "text": "Har du något mer du vill säga till arrangörerna?", "labels": [],
     "optional": True},
]


@dataclass(frozen=True)
class FileProblem:
    """A problem of a programme file, with the line of the day's file it is on (None: elsewhere)."""

    line: int | None
    path: str
    message: str
    file: str = ""

    def as_dict(self) -> dict[str, Any]:
        """The JSON form: ``{line, path, message}``."""
        return {"line": self.line, "path": self.path, "message": self.message}


class ProgrammeRefused(RefusedError):
    """A programme file that does not pass ``agenda check``; nothing was changed."""

    default_status = 422

    def __init__(self, problems: list[FileProblem]) -> None:
        super().__init__(_("The programme file has %(n)d problem(s).", n=len(problems)))
        self.problems = problems


@dataclass(frozen=True)
class Framework:
    """A framework programme (a template file) that days are made from."""

    name: str
    slug: str
    title: str
    placeholders: dict[str, str]


def version(text: str | None) -> str:
    """A short fingerprint of a programme text: forms carry the one they were made from, downloads send it as
    their ETag, so a change made meanwhile by somebody else is never overwritten unseen."""
    return hashlib.sha256((text or "").encode("utf-8", "surrogatepass")).hexdigest()[:16] if text is not None else ""


def check_version(event: Event, base: str | None) -> None:
    """Refuse (409) a change made from another version of the day's programme than the present one."""
    if base and base.strip('"') != version(event.programme_text):
        raise RefusedError(_("Somebody else changed this day's programme meanwhile: nothing was saved. Reload the "
                             "page and make your change again."), 409)


def programme_path(agenda_dir: Path, slug: str) -> Path:
    """Where the day's file stands in: next to the framework programmes, so ``extends`` resolves as on disk."""
    return agenda_dir / f"{slug}.toml"


def frameworks(agenda_dir: Path) -> list[Framework]:
    """The framework programmes (``template = true``) among the server's programme files."""
    found = []
    for path in sorted(agenda_dir.glob("*.toml")):
        try:
            raw = tomllib.loads(path.read_text("utf-8"))
        except (OSError, UnicodeError, tomllib.TOMLDecodeError):
            continue
        event = raw.get("event", {})
        if isinstance(event, dict) and event.get("template") is True:
            placeholders = raw.get("placeholders", {})
            found.append(Framework(name=path.name, slug=path.stem, title=str(event.get("title", path.stem)),
                                   placeholders={k: str(v) for k, v in placeholders.items()}
                                   if isinstance(placeholders, dict) else {}))
    return found


def framework_named(agenda_dir: Path, name: str) -> Framework | None:
    """The framework programme with this file name or slug."""
    return next((f for f in frameworks(agenda_dir) if name in (f.name, f.slug)), None)


def check_text(text: str, agenda_dir: Path, slug: str) -> AgendaSpec:
    """``text`` as the programme of day ``slug``, checked exactly as ``agenda check`` checks a file; raise
    ProgrammeRefused with every problem and its line."""
    path = programme_path(agenda_dir, slug)
    problems: list[FileProblem] = []
    index = document.line_index(text)
    if len(text.encode("utf-8", "surrogatepass")) > MAX_PROGRAMME_BYTES:
        raise ProgrammeRefused([FileProblem(None, "file", f"is larger than {MAX_PROGRAMME_BYTES // 1024} KiB")])
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        raw = {}
    event = raw.get("event") if isinstance(raw.get("event"), dict) else {}
    if "region" in event:
        problems.append(FileProblem(document.line_of(text, "event.region", index=index), "event.region",
                                    "a region file belongs to its national day's folder: load it with agenda load"))
    if event.get("template") is True:
        problems.append(FileProblem(document.line_of(text, "event.template", index=index), "event.template",
                                    "a day is not a framework programme: leave template out"))
    extends = event.get("extends")
    names = [f.name for f in frameworks(agenda_dir)]
    if extends is not None and extends not in names:  # never a path to another file of the server
        problems.append(FileProblem(document.line_of(text, "event.extends", index=index), "event.extends",
                                    f"must name a framework programme of this server ({', '.join(names) or 'none'})"))
    if "slug" in event and event["slug"] != slug:
        problems.append(FileProblem(document.line_of(text, "event.slug", index=index), "event.slug",
                                    f"must be {slug!r}, the address of this day (or left out)"))
    spec = None
    if not problems:
        try:
            spec = files.load_agenda_text(text, path)
        except AgendaError as exc:
            problems = [_located(p, text, path, index) for p in exc.problems]
    if problems or spec is None:
        raise ProgrammeRefused(problems)
    if len(spec.stages) > 1 and any(s.kind == "national" for s in spec.stages):
        raise ProgrammeRefused([FileProblem(None, "stages", "a national day is kept in its folder of files: "
                                                              "load it with agenda load")])
    return spec


def _located(problem: Problem, text: str, path: Path, index: dict[str, int]) -> FileProblem:
    own = Path(problem.file).resolve() == path.resolve()
    line = document.line_of(text, problem.path, problem.message, index) if own else None
    return FileProblem(line, problem.path, problem.message, "" if own else Path(problem.file).name)


def editable_text(text: str, agenda_dir: Path, slug: str) -> str | None:
    """``text`` if the studio can keep editing it as day ``slug``'s file (it checks as that file), else None."""
    try:
        check_text(text, agenda_dir, slug)
    except ProgrammeRefused:
        return None
    return text


async def save_programme(session: AsyncSession, agenda_dir: Path, event: Event, text: str, actor: str) -> Event:
    """Check ``text`` and load it as the event's programme (in the caller's unit of work; open pages follow
    through the change feed). Refused whole, nothing changed, when ``agenda check`` finds a problem."""
    spec = check_text(text, agenda_dir, event.slug)
    event, _created = await load_spec(session, spec)
    event.programme_text = text
    audit.record(session, actor=actor, action="programme.save", event_id=event.id, blocks=len(spec.blocks))
    return event


def parsed(event: Event) -> dict[str, Any]:
    """The event's programme file as a document to edit."""
    if event.programme_text is None:
        raise RefusedError(_("This day is kept in programme files on the server; change it there."), 409)
    return tomllib.loads(event.programme_text)


def _comment(framework: Framework, region: str, date: dt.date) -> str:
    return (f"E-hälsodag {region} {date.isoformat()}, made in the studio from the framework programme "
            f"{framework.name}.\nLoad it with: ehalsodag agenda load <this file> (next to {framework.name}).")


def regenerate(event: Event, doc: dict[str, Any]) -> str:
    """The day's file text for ``doc``, keeping the first comment lines of the present text."""
    present = event.programme_text or ""
    head = []
    for line in present.splitlines():
        if not line.startswith("#"):
            break
        head.append(line[1:].strip())
    return document.dumps(doc, "\n".join(head))


async def _free_slug(session: AsyncSession, base: str) -> str:
    slug, n = base, 2
    while await event_by_slug(session, slug) is not None:
        slug, n = f"{base}-{n}", n + 1
    return slug


def may_create_days(user: StaffUser) -> bool:
    """Admins and organisers (of any event) make new days."""
    return any(r.role in ("admin", "organiser") for r in user.roles)


async def new_day(session: AsyncSession, agenda_dir: Path, user: StaffUser, framework_name: str, region: str,
                  date: dt.date, title: str | None = None, placeholders: dict[str, str] | None = None) -> Event:
    """A new day in draft that extends the framework programme as a regional file does, its placeholders filled;
    its creator (unless an admin) becomes its organiser."""
    framework = framework_named(agenda_dir, framework_name)
    if framework is None:
        raise RefusedError(_("No framework programme named %(name)s.", name=framework_name), 422)
    region = " ".join(region.split())
    if not region or len(region) > 100:
        raise RefusedError(_("Name the region (at most 100 characters)."), 422)
    if not dt.date(2000, 1, 1) <= date <= dt.date(2100, 12, 31):
        raise RefusedError(_("Give the day's date."), 422)
    slug = await _free_slug(session, f"{document.slugify(region)[:60]}-{date.isoformat()}")
    values = {"region": region}
    for key, value in (placeholders or {}).items():
        if key in framework.placeholders and key != "region" and value.strip():
            values[key] = " ".join(value.split())[:200]
    base_title = framework.title.split(" – ")[0].strip()
    doc: dict[str, Any] = {
        "event": {"extends": framework.name, "slug": slug,
                  "title": " ".join((title or "").split())[:300] or f"{base_title} {region}", "date": date},
        "placeholders": values,
    }
    text = document.dumps(doc, _comment(framework, region, date))
    spec = check_text(text, agenda_dir, slug)
    event, _created = await load_spec(session, spec)
    event.published = False
    event.programme_text = text
    if not any(r.role == "admin" for r in user.roles):
        user.roles.append(StaffRole(role="organiser", event_id=event.id))
    audit.record(session, actor=user.email, action="day.create", event_id=event.id, framework=framework.name,
                 region=region)
    await session.flush()
    return event


async def set_published(session: AsyncSession, event: Event, published: bool, actor: str) -> None:
    """Publish the day (attendees may find and join it) or take it back to draft (its staff only)."""
    event.published = published
    audit.record(session, actor=actor, action="day.publish" if published else "day.unpublish", event_id=event.id)
    changed(session, Topic.AGENDA, event.id)


# --- the evaluation question bank -------------------------------------------------------------------------------


async def bank(session: AsyncSession) -> list[BankQuestion]:
    """Every question of the bank, the report's first; the report's are added on first use."""
    rows = list((await session.execute(select(BankQuestion).order_by(BankQuestion.id))).scalars())
    have = {q.key for q in rows}
    missing = [q for q in REPORT_QUESTIONS if q["key"] not in have]
    if missing:
        for question in missing:
            row = BankQuestion(builtin=True, added_by="", **question)
            session.add(row)
            rows.append(row)
        await session.flush()
    return sorted(rows, key=lambda q: (not q.builtin, q.id or 0))


async def add_to_bank(session: AsyncSession, question: dict[str, Any], actor: str) -> BankQuestion:
    """Add an organiser's question to the bank (checked as a programme file's evaluation question)."""
    problems = files.check_evaluation_question(question)
    if problems:
        raise RefusedError("; ".join(f"{p.path.removeprefix('question').lstrip('.') or 'question'}: {p.message}"
                                     for p in problems), 422)
    if any(q.key == question["key"] for q in await bank(session)):
        raise RefusedError(_("The bank already has a question with that key."), 409)
    row = BankQuestion(key=question["key"], kind=question["kind"], text=question["text"],
                       labels=list(question.get("labels", [])), optional=bool(question.get("optional")),
                       builtin=False, added_by=actor)
    session.add(row)
    audit.record(session, actor=actor, action="bank.add", event_id=None, key=row.key)
    await session.flush()
    return row


def as_file_question(question: BankQuestion) -> dict[str, Any]:
    """A bank question as written in ``[[evaluation.questions]]``."""
    out: dict[str, Any] = {"key": question.key, "kind": question.kind, "text": question.text}
    if question.labels:
        out["labels"] = list(question.labels)
    if question.optional:
        out["optional"] = True
    return out
