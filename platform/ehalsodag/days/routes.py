"""The organiser's day in the studio: New day, the programme editor, the evaluation's questions, the programme
file (download, upload, PUT), publish and unpublish.

Every form works without JavaScript (a redirect after success, the page again with the problems beside the
fields after a refusal); with htmx the block form is swapped in place with its problems. Every change goes
through :func:`ehalsodag.days.service.save_programme`: the same check as ``agenda check``, the same load as
``agenda load``.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import msgspec
from litestar import Request, get, post, put
from litestar.connection import ASGIConnection
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotAuthorizedException, NotFoundException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.params import Body
from litestar.response import Redirect, Response, Template
from sqlalchemy.ext.asyncio import AsyncSession

from ehalsodag.agenda import files
from ehalsodag.agenda.files import BLOCK_KINDS, THEMES
from ehalsodag.agenda.models import Event
from ehalsodag.agenda.service import load_event
from ehalsodag.days import document
from ehalsodag.days import service as days
from ehalsodag.days.service import FileProblem, ProgrammeRefused
from ehalsodag.days.visibility import published_cache
from ehalsodag.errors import RefusedError
from ehalsodag.i18n import _
from ehalsodag.staff.auth import current_staff, organiser_guard
from ehalsodag.staff.models import StaffUser
from ehalsodag.studio.service import studio_context
from ehalsodag.web.actions import documented
from ehalsodag.web.bounds import MAX_ITEMS, NO_NUL, Key, ShortText
from ehalsodag.web.forms import decode_form, form_of
from ehalsodag.web.responses import is_htmx

POLL_KINDS = ("single", "multiple", "scale", "wordcloud", "open_text", "ranking")
MAX_SPEAKERS = 30
#: Empty speaker rows under a block's speakers, for adding (more after saving).
NEW_SPEAKER_ROWS = 2


def _agenda_dir(request: Request[Any, Any, Any]) -> Any:
    return request.app.state.settings.agenda_dir


async def day_maker_guard(connection: ASGIConnection[Any, Any, Any, Any], _handler: BaseRouteHandler) -> None:
    """Only admins and organisers make new days."""
    async with connection.app.state.db.reader() as session:
        user = await current_staff(connection, session)
    if user is None:
        raise NotAuthorizedException(detail=_("Log in as staff first."))
    if not days.may_create_days(user):
        raise PermissionDeniedException(detail=_("Only organisers and admins make new days."))
    connection.state.staff = user


async def _user(request: Request[Any, Any, Any], session: AsyncSession) -> StaffUser:
    """The guard's user, loaded in this request's unit of work (so a new role can be added to it)."""
    user = await current_staff(request, session)
    if user is None:
        raise NotAuthorizedException(detail=_("Log in as staff first."))
    return user


# --- New day -------------------------------------------------------------------------------------------------


class NewDayBody(msgspec.Struct, forbid_unknown_fields=True):
    """POST /api/v1/events and the New day form: a framework programme, the region and the date."""

    framework: Annotated[str, msgspec.Meta(max_length=200, pattern=NO_NUL)]
    region: Annotated[str, msgspec.Meta(max_length=200, pattern=NO_NUL)]
    date: dt.date
    title: Annotated[str, msgspec.Meta(max_length=300, pattern=NO_NUL)] | None = None
    placeholders: Annotated[dict[Key, Annotated[str, msgspec.Meta(max_length=200, pattern=NO_NUL)]],
                            msgspec.Meta(max_length=MAX_ITEMS)] = {}


@post("/api/v1/events", name="api_new_day", guards=[day_maker_guard], status_code=201)
async def api_new_day(
    request: Request[Any, Any, Any], uow: AsyncSession,
    data: Annotated[NewDayBody, documented("New day", {"framework": "ramprogram-2021.toml",
                                                       "region": "Östergötland", "date": "2027-03-23"})],
) -> dict[str, Any]:
    """A new day in draft from a framework programme (organisers and admins); its creator organises it."""
    event = await days.new_day(uow, _agenda_dir(request), await _user(request, uow), data.framework, data.region,
                               data.date, data.title, data.placeholders)
    return {"slug": event.slug}


def _new_day_context(request: Request[Any, Any, Any], values: dict[str, Any], error: str | None) -> dict[str, Any]:
    frameworks = days.frameworks(_agenda_dir(request))
    chosen = days.framework_named(_agenda_dir(request), values.get("framework", "")) or (
        frameworks[0] if frameworks else None)
    return {**studio_context(request.state.staff, "new"), "frameworks": frameworks, "chosen": chosen,
            "values": values, "error": error}


@get("/studio/new", name="new_day_page", guards=[day_maker_guard])
async def new_day_page(request: Request[Any, Any, Any]) -> Template:
    """The New day form: the framework programme, the region, the date and the framework's placeholders."""
    values = {"framework": request.query_params.get("framework", "")}
    return Template("days/new.html", context=_new_day_context(request, values, None))


@post("/studio/new", name="new_day", guards=[day_maker_guard])
async def new_day(request: Request[Any, Any, Any], uow: AsyncSession) -> Response[Any]:
    """Make the day and open it in the editor; the form again, with its problem, when it cannot be made."""
    form = await request.form()
    values = {k: v for k, v in form.items() if isinstance(v, str)}
    placeholders = {k.removeprefix("ph_"): v for k, v in values.items() if k.startswith("ph_")}
    try:
        body = msgspec.convert({"framework": values.get("framework", ""), "region": values.get("region", ""),
                                "date": values.get("date", ""), "title": values.get("title") or None,
                                "placeholders": placeholders}, NewDayBody, strict=False)
        event = await days.new_day(uow, _agenda_dir(request), await _user(request, uow), body.framework,
                                   body.region, body.date, body.title, body.placeholders)
    except msgspec.ValidationError:
        return Template("days/new.html", status_code=422, context=_new_day_context(
            request, values, _("Give the framework programme, the region and the date (YYYY-MM-DD).")))
    except RefusedError as exc:
        return Template("days/new.html", status_code=exc.status_code,
                        context=_new_day_context(request, values, str(exc)))
    return Redirect(f"/studio/e/{event.slug}", status_code=303)


# --- the day's page -----------------------------------------------------------------------------------------


def _day_context(request: Request[Any, Any, Any], event: Event, **extra: Any) -> dict[str, Any]:
    return {**studio_context(request.state.staff, "day"), "event": event, "blocks": event.active_blocks(),
            "base": days.version(event.programme_text),
            "editable": event.programme_text is not None, "kinds": BLOCK_KINDS, "upload_problems": None,
            "add_error": None, "add_values": {}, **extra}


@get("/studio/e/{slug:str}", name="day_page", guards=[organiser_guard])
async def day_page(request: Request[Any, Any, Any], slug: str, uow: AsyncSession) -> Template:
    """The day in the studio: its programme with edit, move and remove; add a block; the programme file;
    publish."""
    event = await load_event(uow, slug)
    return Template("days/day.html", context=_day_context(request, event))


def _merged(request: Request[Any, Any, Any], event: Event) -> dict[str, dict[str, Any]]:
    text = event.programme_text or ""
    return files.merged_blocks(text, days.programme_path(_agenda_dir(request), event.slug))


def _inherited(request: Request[Any, Any, Any], doc: dict[str, Any]) -> set[str]:
    """The block ids of the framework this day extends."""
    extends = doc.get("event", {}).get("extends")
    if not isinstance(extends, str):
        return set()
    path = _agenda_dir(request) / extends
    try:
        return set(files.merged_blocks(path.read_text("utf-8"), path))
    except OSError:
        return set()


async def _save(request: Request[Any, Any, Any], session: AsyncSession, event: Event, doc: dict[str, Any]) -> None:
    """Save ``doc`` as the day's file, unless the request was made from an older version of it (409): a form's
    ``base`` field, an API request's ``If-Match`` header."""
    if request.url.path.startswith("/api/"):
        base = request.headers.get("if-match")
    else:
        found = (await request.form()).get("base")
        base = found if isinstance(found, str) else None
    seen = event.programme_text
    # the row locked (PostgreSQL) and read again: a save that raced this one is not overwritten either
    await session.refresh(event, attribute_names=["programme_text"], with_for_update=True)
    if event.programme_text != seen:
        days.check_version(event, days.version(seen))
    days.check_version(event, base)
    text = days.regenerate(event, doc)
    await days.save_programme(session, _agenda_dir(request), event, text, request.state.staff.email)


class AddBlockBody(msgspec.Struct):
    """The add-a-block form."""

    title: ShortText = ""
    kind: ShortText = "talk"
    start: ShortText = ""
    end: ShortText = ""


@post("/studio/e/{slug:str}/blocks", name="add_block", guards=[organiser_guard],
      dependencies={"form": form_of(AddBlockBody)})
async def add_block(request: Request[Any, Any, Any], slug: str, uow: AsyncSession, form: AddBlockBody) -> Response[Any]:
    """Add a block to the day; its editor opens. Refused with the problem beside the form."""
    event = await load_event(uow, slug)
    doc = days.parsed(event)
    merged = _merged(request, event)
    key = document.new_block_id(form.title or "block", set(merged) | _inherited(request, doc))
    entry: dict[str, Any] = {"id": key, "kind": form.kind, "start": form.start.strip(), "end": form.end.strip()}
    if form.title.strip():
        entry["title"] = form.title.strip()
    document.write_block(doc, key, entry)
    try:
        await _save(request, uow, event, doc)
    except ProgrammeRefused as exc:
        message = "; ".join(p.message for p in exc.problems)
        return Template("days/day.html", status_code=422, context=_day_context(
            request, event, add_error=message, add_values={"title": form.title, "kind": form.kind,
                                                           "start": form.start, "end": form.end}))
    return Redirect(f"/studio/e/{slug}/blocks/{key}", status_code=303)


# --- one block ---------------------------------------------------------------------------------------------


class SpeakerBody(msgspec.Struct, forbid_unknown_fields=True):
    """A speaker of a block."""

    name: Annotated[str, msgspec.Meta(max_length=300, pattern=NO_NUL)] = ""
    role: Annotated[str, msgspec.Meta(max_length=300, pattern=NO_NUL)] = ""
    organisation: Annotated[str, msgspec.Meta(max_length=300, pattern=NO_NUL)] = ""


class BlockBody(msgspec.Struct, forbid_unknown_fields=True):
    """The block editor's form: a block as the programme file writes it, and the poll that belongs to it."""

    title: Annotated[str, msgspec.Meta(max_length=300, pattern=NO_NUL)] = ""
    kind: ShortText = "talk"
    start: ShortText = ""
    end: ShortText = ""
    description: Annotated[str, msgspec.Meta(max_length=5000, pattern=NO_NUL)] = ""
    theme: ShortText = ""
    stream_url: Annotated[str, msgspec.Meta(max_length=500, pattern=NO_NUL)] = ""
    film_url: Annotated[str, msgspec.Meta(max_length=500, pattern=NO_NUL)] = ""
    recording_url: Annotated[str, msgspec.Meta(max_length=500, pattern=NO_NUL)] = ""
    speakers: Annotated[list[SpeakerBody], msgspec.Meta(max_length=MAX_SPEAKERS)] = []
    poll_kind: ShortText = ""
    poll_question: Annotated[str, msgspec.Meta(max_length=500, pattern=NO_NUL)] = ""
    poll_options: Annotated[str, msgspec.Meta(max_length=5000, pattern=NO_NUL)] = ""


def _block_body(pairs: list[tuple[str, Any]]) -> BlockBody:
    """The block form: plain fields, and speakers as ``speakers-<n>-name`` (role, organisation) rows."""
    rows: dict[int, dict[str, str]] = {}
    plain = []
    for name, value in pairs:
        parts = name.split("-")
        if len(parts) == 3 and parts[0] == "speakers" and parts[1].isdigit() and isinstance(value, str):
            if int(parts[1]) < MAX_SPEAKERS and parts[2] in ("name", "role", "organisation"):
                rows.setdefault(int(parts[1]), {})[parts[2]] = value.strip()
        else:
            plain.append((name, value))
    body = decode_form(BlockBody, plain)
    body.speakers = [SpeakerBody(**rows[i]) for i in sorted(rows) if rows[i].get("name")]
    return body


def _block_values(block: dict[str, Any]) -> dict[str, Any]:
    """A block of the file as the form's values."""
    poll = (block.get("polls") or [{}])[0]
    start, end = document.minutes(block.get("start")), document.minutes(block.get("end"))
    return {
        **{k: block.get(k, "") for k in ("title", "kind", "description", "theme", "stream_url", "film_url",
                                          "recording_url")},
        "start": document.hhmm(start) if start is not None else str(block.get("start", "")),
        "end": document.hhmm(end) if end is not None else str(block.get("end", "")),
        "speakers": [{k: s.get(k, "") for k in ("name", "role", "organisation")} for s in block.get("speakers", [])],
        "poll_kind": poll.get("kind", ""), "poll_question": poll.get("question", ""),
        "poll_options": "\n".join(poll.get("options", [])),
    }


def _entry(key: str, body: BlockBody, previous: dict[str, Any]) -> dict[str, Any]:
    """The block as the day's file writes it, from the form (its stage and other polls kept)."""
    entry: dict[str, Any] = {"id": key}
    if previous.get("stage"):
        entry["stage"] = previous["stage"]
    entry.update({"kind": body.kind, "start": body.start.strip(), "end": body.end.strip()})
    if body.title.strip():
        entry["title"] = body.title.strip()
    for name in ("description", "theme", "stream_url", "film_url", "recording_url"):
        value = getattr(body, name).strip()
        if value:
            entry[name] = value
    if body.speakers:
        entry["speakers"] = [{k: v for k, v in msgspec.structs.asdict(s).items() if v or k == "name"}
                             for s in body.speakers]
    polls = [dict(p) for p in previous.get("polls", [])]
    first = polls[0] if polls else {}
    if body.poll_question.strip() or body.poll_kind:
        poll = {"id": first.get("id") or f"{key}-poll", "kind": body.poll_kind or first.get("kind", "single"),
                "question": body.poll_question.strip()}
        options = [line.strip() for line in body.poll_options.splitlines() if line.strip()]
        if options:
            poll["options"] = options
        if poll["kind"] == first.get("kind"):  # scale steps, results and auto-open stay as they were
            poll.update({k: v for k, v in first.items() if k not in ("id", "kind", "question", "options")})
        polls = [poll, *polls[1:]]
    else:
        polls = polls[1:]
    if polls:
        entry["polls"] = polls
    return entry


def _field_problems(problems: list[FileProblem], index: int, key: str) -> tuple[dict[str, list[str]], list[str]]:
    """The problems of block ``index`` of the day's file by form field, and the others."""
    fields: dict[str, list[str]] = {}
    others: list[str] = []
    for problem in problems:
        rest = None
        for prefix in (f"blocks[{index}]", f"blocks[{key}]"):
            if not problem.file and problem.path.startswith(prefix):
                rest = problem.path[len(prefix):]
        if rest is None:
            where = f"{problem.file}: " if problem.file else (f"line {problem.line}: " if problem.line else "")
            others.append(f"{where}{problem.path}: {problem.message}")
            continue
        name = rest.lstrip(".").split(".")[0].split("[")[0]
        if name == "polls":
            name = "poll"
        elif not name:
            name = next((k for k in ("title", "start", "end", "kind") if k in problem.message), "block") \
                if problem.message.startswith("missing") else "block"
        fields.setdefault(name, []).append(problem.message)
    return fields, others


def _block_context(request: Request[Any, Any, Any], event: Event, key: str, values: dict[str, Any],
                   problems: dict[str, list[str]] | None = None, others: list[str] | None = None,
                   saved: bool = False) -> dict[str, Any]:
    speakers = list(values.get("speakers", []))
    speakers += [{"name": "", "role": "", "organisation": ""}] * NEW_SPEAKER_ROWS
    return {**studio_context(request.state.staff, "day"), "event": event, "key": key, "values": values,
            "speakers": speakers, "base": days.version(event.programme_text), "htmx": is_htmx(request),
            "problems": problems or {}, "others": others or [], "saved": saved, "kinds": BLOCK_KINDS,
            "themes": THEMES, "poll_kinds": POLL_KINDS}


@get("/studio/e/{slug:str}/blocks/{key:str}", name="block_page", guards=[organiser_guard])
async def block_page(request: Request[Any, Any, Any], slug: str, key: str, uow: AsyncSession) -> Template:
    """One block's editor."""
    event = await load_event(uow, slug)
    days.parsed(event)
    block = _merged(request, event).get(key)
    if block is None:
        raise NotFoundException(detail=_("No such block in this day."))
    return Template("days/block.html", context=_block_context(request, event, key, _block_values(block)))


@post("/studio/e/{slug:str}/blocks/{key:str}", name="save_block", guards=[organiser_guard])
async def save_block(request: Request[Any, Any, Any], slug: str, key: str, uow: AsyncSession) -> Response[Any]:
    """Save one block: checked as ``agenda check`` checks the file; problems beside their fields."""
    event = await load_event(uow, slug)
    doc = days.parsed(event)
    previous = _merged(request, event).get(key)
    if previous is None:
        raise NotFoundException(detail=_("No such block in this day."))
    body = _block_body((await request.form()).multi_items())
    values = {**msgspec.structs.asdict(body), "speakers": [msgspec.structs.asdict(s) for s in body.speakers]}
    index = document.write_block(doc, key, _entry(key, body, previous))
    template = "days/block_form.html" if is_htmx(request) else "days/block.html"
    try:
        await _save(request, uow, event, doc)
    except ProgrammeRefused as exc:
        fields, others = _field_problems(exc.problems, index, key)
        return Template(template, status_code=422,
                        context=_block_context(request, event, key, values, fields, others))
    except RefusedError as exc:  # changed meanwhile by somebody else: their version stays, this form too
        return Template(template, status_code=exc.status_code,
                        context=_block_context(request, event, key, values, others=[str(exc)]))
    if is_htmx(request):
        return Template(template, context=_block_context(request, event, key, values, saved=True))
    return Redirect(f"/studio/e/{slug}#block-{key}", status_code=303)


@put("/api/v1/events/{slug:str}/blocks/{key:str}", name="api_put_block", guards=[organiser_guard])
async def api_put_block(
    request: Request[Any, Any, Any], slug: str, key: str, uow: AsyncSession,
    data: Annotated[BlockBody, documented("Retime and retitle a block", {
        "title": "Block 1: Invånaren som medskapare", "kind": "panel", "start": "10:00", "end": "11:00",
        "speakers": [{"name": "Krister Björkegren", "role": "regiondirektör", "organisation": "Region Östergötland"}],
        "poll_kind": "single", "poll_question": "Hur långt har vi kommit?", "poll_options": "Långt\nKort"})],
) -> Response[Any]:
    """Replace block ``key`` of the day (a new id adds a block): the block editor's form as JSON. 422 with each
    problem and the field it belongs to (``extra: [{field, path, message}]``), nothing changed; 409 with a stale
    ``If-Match``."""
    event = await load_event(uow, slug)
    doc = days.parsed(event)
    previous = _merged(request, event).get(key, {})
    index = document.write_block(doc, key, _entry(key, data, previous))
    try:
        await _save(request, uow, event, doc)
    except ProgrammeRefused as exc:
        fields, others = _field_problems(exc.problems, index, key)
        extra = [{"field": name, "message": message} for name, messages in fields.items() for message in messages]
        extra += [{"field": None, "message": message} for message in others]
        return Response({"status_code": 422, "detail": str(exc), "extra": extra}, status_code=422)
    return Response({"slug": event.slug, "key": key, "version": days.version(event.programme_text)})


@post("/studio/e/{slug:str}/blocks/{key:str}/remove", name="remove_block", guards=[organiser_guard])
async def remove_block(request: Request[Any, Any, Any], slug: str, key: str, uow: AsyncSession) -> Redirect:
    """Take a block out of the day (from the framework's: with ``remove_blocks``)."""
    event = await load_event(uow, slug)
    doc = days.parsed(event)
    if key not in _merged(request, event):
        raise NotFoundException(detail=_("No such block in this day."))
    document.remove_block(doc, key, _inherited(request, doc))
    await _save(request, uow, event, doc)
    return Redirect(f"/studio/e/{slug}", status_code=303)


class MoveBody(msgspec.Struct):
    """Move a block one place earlier or later (it swaps times with its neighbour)."""

    direction: ShortText = "up"


@post("/studio/e/{slug:str}/blocks/{key:str}/move", name="move_block", guards=[organiser_guard],
      dependencies={"form": form_of(MoveBody)})
async def move_block(request: Request[Any, Any, Any], slug: str, key: str, uow: AsyncSession,
                     form: MoveBody) -> Redirect:
    """Swap a block with the one before (up) or after (down) on its stage; each keeps its length."""
    event = await load_event(uow, slug)
    doc = days.parsed(event)
    merged = _merged(request, event)
    block = merged.get(key)
    if block is None:
        raise NotFoundException(detail=_("No such block in this day."))
    same_stage = sorted((b for b in merged.values() if b.get("stage") == block.get("stage")),
                        key=lambda b: (document.minutes(b.get("start")) or 0, document.minutes(b.get("end")) or 0))
    at = next(i for i, b in enumerate(same_stage) if b.get("id") == key)
    other = at - 1 if form.direction == "up" else at + 1
    if form.direction not in ("up", "down") or not 0 <= other < len(same_stage):
        raise RefusedError(_("The block cannot move further."), 409)
    first, second = sorted((at, other))
    times = document.swapped_times(same_stage[first], same_stage[second])
    if times is None:
        raise RefusedError(_("The block cannot move further."), 409)
    (s_start, s_end), (f_start, f_end) = times
    for block_at, (start, end) in ((same_stage[second], (s_start, s_end)), (same_stage[first], (f_start, f_end))):
        document.write_block(doc, block_at["id"], {**block_at, "start": start, "end": end})
    await _save(request, uow, event, doc)
    return Redirect(f"/studio/e/{slug}#block-{key}", status_code=303)


# --- the evaluation's questions -------------------------------------------------------------------------------


async def _evaluation_context(request: Request[Any, Any, Any], session: AsyncSession, event: Event,
                              **extra: Any) -> dict[str, Any]:
    from sqlalchemy import select

    from ehalsodag.evaluation.models import EvaluationQuestion

    chosen = list((await session.execute(select(EvaluationQuestion.key).where(
        EvaluationQuestion.event_id == event.id, EvaluationQuestion.removed.is_(False)).order_by(
        EvaluationQuestion.position))).scalars())
    return {**studio_context(request.state.staff, "day"), "event": event, "bank": await days.bank(session),
            "chosen": chosen, "base": days.version(event.programme_text),
            "kinds": files.EVALUATION_KINDS, "error": None, "values": {}, **extra}


@get("/studio/e/{slug:str}/evaluation", name="day_evaluation_page", guards=[organiser_guard])
async def day_evaluation_page(request: Request[Any, Any, Any], slug: str, uow: AsyncSession) -> Template:
    """The day's evaluation questions, chosen from the bank (the report's questions and organisers' own)."""
    event = await load_event(uow, slug)
    return Template("days/evaluation.html", context=await _evaluation_context(request, uow, event))


class EvaluationBody(msgspec.Struct):
    """The questions of the day's evaluation (bank keys, in the bank's order) and how long it stays open."""

    keys: Annotated[list[Key], msgspec.Meta(max_length=MAX_ITEMS)] = []
    open_minutes: Annotated[int, msgspec.Meta(ge=0, le=100_000)] | None = None


@post("/studio/e/{slug:str}/evaluation", name="day_evaluation", guards=[organiser_guard],
      dependencies={"form": form_of(EvaluationBody)})
async def day_evaluation(request: Request[Any, Any, Any], slug: str, uow: AsyncSession,
                         form: EvaluationBody) -> Response[Any]:
    """Use these bank questions for the day's evaluation (written to its programme file)."""
    event = await load_event(uow, slug)
    doc = days.parsed(event)
    questions = [days.as_file_question(q) for q in await days.bank(uow) if q.key in form.keys]
    if not questions:
        return Template("days/evaluation.html", status_code=422, context=await _evaluation_context(
            request, uow, event, error=_("Choose at least one question.")))
    evaluation = dict(doc.get("evaluation", {}))
    evaluation["questions"] = questions
    if form.open_minutes is not None:
        evaluation["open_minutes"] = form.open_minutes
    doc["evaluation"] = evaluation
    try:
        await _save(request, uow, event, doc)
    except ProgrammeRefused as exc:  # e.g. open for less than 5 minutes: agenda check's word, beside the field
        return Template("days/evaluation.html", status_code=422, context=await _evaluation_context(
            request, uow, event, error="; ".join(p.message for p in exc.problems)))
    return Redirect(f"/studio/e/{slug}/evaluation", status_code=303)


class BankQuestionBody(msgspec.Struct):
    """A question an organiser adds to the bank."""

    key: ShortText = ""
    kind: ShortText = "scale"
    text: ShortText = ""
    labels: ShortText = ""
    optional: bool = False


@post("/studio/e/{slug:str}/bank", name="add_bank_question", guards=[organiser_guard],
      dependencies={"form": form_of(BankQuestionBody)})
async def add_bank_question(request: Request[Any, Any, Any], slug: str, uow: AsyncSession,
                            form: BankQuestionBody) -> Response[Any]:
    """Add a question to the bank (then choose it for the day)."""
    event = await load_event(uow, slug)
    question: dict[str, Any] = {"key": form.key.strip(), "kind": form.kind, "text": form.text.strip()}
    labels = [line.strip() for line in form.labels.splitlines() if line.strip()]
    if labels:
        question["labels"] = labels
    if form.optional:
        question["optional"] = True
    try:
        await days.add_to_bank(uow, question, request.state.staff.email)
    except RefusedError as exc:
        return Template("days/evaluation.html", status_code=exc.status_code, context=await _evaluation_context(
            request, uow, event, error=str(exc), values=msgspec.structs.asdict(form)))
    return Redirect(f"/studio/e/{slug}/evaluation", status_code=303)


# --- the programme file ----------------------------------------------------------------------------------------


@get("/e/{slug:str}/programme.toml", name="programme_file", guards=[organiser_guard])
async def programme_file(slug: str, uow: AsyncSession) -> Response[bytes]:
    """The day as its programme file (``extends`` the framework: keep it next to it), exactly as loaded."""
    event = await load_event(uow, slug)
    if event.programme_text is None:
        raise RefusedError(_("This day is kept in programme files on the server; change it there."), 409)
    return Response(event.programme_text.encode("utf-8"), media_type="application/toml; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{event.slug}.toml"',
                             "ETag": f'"{days.version(event.programme_text)}"', "Cache-Control": "no-store"})


def _decoded(raw: bytes) -> str:
    try:
        return raw.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        raise ProgrammeRefused([FileProblem(None, "file", f"is not UTF-8 (invalid byte at position {exc.start}); "
                                                          "save it as UTF-8")]) from exc


@put("/api/v1/events/{slug:str}/programme", name="api_put_programme", guards=[organiser_guard])
async def api_put_programme(request: Request[Any, Any, Any], slug: str, uow: AsyncSession) -> Response[Any]:
    """Replace the day's programme with a programme file (``Content-Type: application/toml``); 422 with every
    problem (``extra: [{line, path, message}]``) and nothing changed when ``agenda check`` finds any. With
    ``If-Match: <the download's ETag>``, 409 when the programme changed since."""
    event = await load_event(uow, slug)
    await uow.refresh(event, attribute_names=["programme_text"], with_for_update=True)  # as _save: no race
    days.check_version(event, request.headers.get("if-match"))
    try:
        await days.save_programme(uow, _agenda_dir(request), event, _decoded(await request.body()),
                                  request.state.staff.email)
    except ProgrammeRefused as exc:
        return Response({"status_code": 422, "detail": str(exc), "extra": [p.as_dict() for p in exc.problems]},
                        status_code=422)
    return Response({"slug": event.slug, "blocks": len(event.active_blocks())}, status_code=200)


@post("/studio/e/{slug:str}/upload", name="upload_programme", guards=[organiser_guard])
async def upload_programme(
    request: Request[Any, Any, Any], slug: str, uow: AsyncSession,
    data: Annotated[dict[str, Any], Body(media_type=RequestEncodingType.MULTI_PART)],
) -> Response[Any]:
    """Upload a programme file for the day: loaded when it passes ``agenda check``, else its problems by line."""
    event = await load_event(uow, slug)
    upload = data.get("file")
    try:
        if not isinstance(upload, UploadFile):
            raise ProgrammeRefused([FileProblem(None, "file", "choose a programme file (.toml)")])
        await days.save_programme(uow, _agenda_dir(request), event, _decoded(await upload.read()),
                                  request.state.staff.email)
    except ProgrammeRefused as exc:
        return Template("days/day.html", status_code=422, context=_day_context(
            request, event, upload_problems=exc.problems))
    return Redirect(f"/studio/e/{slug}", status_code=303)


# --- publish -------------------------------------------------------------------------------------------------


class PublishBody(msgspec.Struct):
    """Publish (true) or take back to draft (false)."""

    published: bool = True


async def _publish(request: Request[Any, Any, Any], session: AsyncSession, slug: str, published: bool) -> Event:
    event = await load_event(session, slug)
    await days.set_published(session, event, published, request.state.staff.email)
    published_cache(request.app).forget(slug)
    return event


@post("/studio/e/{slug:str}/publish", name="publish_form", guards=[organiser_guard],
      dependencies={"form": form_of(PublishBody)})
async def publish_form(request: Request[Any, Any, Any], slug: str, uow: AsyncSession, form: PublishBody) -> Redirect:
    """Publish or unpublish from the day's page."""
    await _publish(request, uow, slug, form.published)
    return Redirect(f"/studio/e/{slug}", status_code=303)


@post(["/api/v1/events/{slug:str}/publish", "/api/v1/events/{slug:str}/unpublish"], name="api_publish",
      guards=[organiser_guard], status_code=200)
async def api_publish(request: Request[Any, Any, Any], slug: str, uow: AsyncSession) -> dict[str, Any]:
    """Publish the day (attendees may find and join it) or take it back to draft (its staff only)."""
    published = not request.url.path.endswith("/unpublish")
    event = await _publish(request, uow, slug, published)
    return {"slug": event.slug, "published": event.published}


routes = [api_new_day, new_day_page, new_day, day_page, add_block, block_page, save_block, api_put_block, remove_block,
          move_block,
          day_evaluation_page, day_evaluation, add_bank_question, programme_file, api_put_programme,
          upload_programme, publish_form, api_publish]
