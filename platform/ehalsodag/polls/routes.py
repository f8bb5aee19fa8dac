"""Polls over HTTP: list, answer, create, open/close/reveal/reset, moderate the open-text wall — each input one
Struct for the JSON API and the form alike."""

from __future__ import annotations

import dataclasses
import re
from typing import Annotated, Any

import msgspec
from litestar import Request, get, patch, post
from litestar.connection import ASGIConnection
from litestar.exceptions import HTTPException, NotAuthorizedException
from litestar.params import Parameter
from litestar.response import Response, Template
from msgspec import UNSET, UnsetType
from sqlalchemy.ext.asyncio import AsyncSession

from ehalsodag.agenda import stages, tracks
from ehalsodag.agenda.models import Event
from ehalsodag.agenda.service import event_by_id, load_event
from ehalsodag.agenda.view import event_view
from ehalsodag.attendees.auth import current_attendee, known_attendee
from ehalsodag.errors import RefusedError
from ehalsodag.fragments import Audience, Fragment
from ehalsodag.i18n import _, current_language, use_language
from ehalsodag.polls import service as poll_service
from ehalsodag.polls.batch import Vote
from ehalsodag.polls.models import Poll
from ehalsodag.staff.auth import moderator_guard, require_stage
from ehalsodag.staff.models import StaffUser
from ehalsodag.staff.service import Permissions
from ehalsodag.text import shorten
from ehalsodag.web.actions import Id, documented, reply
from ehalsodag.web.bounds import BodyId, IdList, Key, LabelList, SmallInt, Text, TextList, WordList
from ehalsodag.web.forms import decode_form, form_of
from ehalsodag.web.responses import is_htmx


class CreatePollBody(msgspec.Struct, forbid_unknown_fields=True):
    """POST /api/v1/events/{slug}/polls and the new-poll form of the control panel.

    ``options`` may also come as one text with an option per line (the form's text box)."""

    kind: Key
    question: Text
    options: TextList = []
    block_id: BodyId | None = None
    #: On a national day: the stage it is for (a region's own poll); default: its block's stage, else the
    #: national stage (a national poll, answered in every region).
    stage: Key | None = None
    max_picks: SmallInt | None = None
    scale_min: SmallInt = 1
    scale_max: SmallInt = 5
    scale_labels: LabelList = []
    results: Key = "live"
    auto_open: bool = False
    auto_close: bool = False

    def __post_init__(self) -> None:
        if any("\n" in option for option in self.options):
            self.options = [line.strip() for option in self.options for line in option.splitlines() if line.strip()]


class ResponseBody(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """POST /api/v1/polls/{id}/responses and the answer form: the one field that fits the poll's kind."""

    option_ids: IdList | None = None
    value: SmallInt | None = None
    words: WordList | None = None
    text: Text | None = None
    ranking: IdList | None = None


class WallBody(msgspec.Struct, forbid_unknown_fields=True):
    """The wall buttons: show an open-text answer on the wall (true) or keep it off (false)."""

    approve: bool


def poll_json(poll: Poll) -> dict[str, Any]:
    """A poll as the JSON API shows it."""
    return {
        "id": poll.id, "kind": poll.kind, "question": poll.question, "state": poll.state, "block_id": poll.block_id,
        "results": poll.results, "revealed": poll.revealed, "max_picks": poll.max_picks,
        "scale_min": poll.scale_min, "scale_max": poll.scale_max, "scale_labels": poll.scale_labels,
        "options": [{"id": o.id, "label": o.label} for o in poll.options],
    }


#: The stage of the path's poll (for a moderator of one stage).
poll_stage = stages.stage_of_path(Poll, "poll_id")


async def poll_event(connection: ASGIConnection[Any, Any, Any, Any]) -> int | None:
    """The event of the path's poll (for the staff guard), from the cache the votes use."""
    try:
        return await connection.app.state.poll_events.event_of(connection.path_params["poll_id"])
    except poll_service.PollError:
        return None


@get("/api/v1/events/{slug:str}/polls", name="api_polls")
async def api_polls(request: Request[Any, Any, Any], slug: str, db_session: AsyncSession) -> list[dict[str, Any]]:
    """The event's polls with their options (drafts included: they hold no answers yet) and their stage; an
    attendee sees the national polls and their own region's, not another region's."""
    event = await load_event(db_session, slug)
    polls = await poll_service.event_polls(db_session, event.id)
    attendee = await current_attendee(request, db_session, event.id)
    if attendee is not None and tracks.is_national_day(event):
        theirs = tracks.visible_stage_ids(event, tracks.home_of(event, attendee.stage_id))
        polls = [p for p in polls if tracks.stage_of_content(event, p.stage_id) in theirs]
    keys = {s.id: s.key for s in event.stages}
    return [{**poll_json(p), "stage": keys.get(tracks.stage_of_content(event, p.stage_id) or 0)} for p in polls]


# --- answering: the hot path of a vote burst ----------------------------------------------------------------


async def _respond(request: Request[Any, Any, Any], poll_id: int, body: ResponseBody) -> bool:
    """No query here once the poll and the token have been seen: the vote writer checks the answer against
    the poll and stores it in one transaction with many others, then publishes what changed."""
    state = request.app.state
    event_id = await state.poll_events.event_of(poll_id)
    attendee = await known_attendee(request, event_id)
    if attendee is None:
        raise NotAuthorizedException(detail=_("Join the event first."))
    return await _vote(state, event_id, attendee.id, poll_id, body, current_language())


async def _vote(state: Any, event_id: int, attendee_id: int, poll_id: int, body: ResponseBody, language: str,
                key: str | None = None) -> bool:
    """The vote itself, over HTTP and over the socket alike: the rate limit, then the vote writer."""
    await state.rate_limits.enforce("vote", attendee_id)
    answer = {k: v for k, v in msgspec.structs.asdict(body).items() if v is not None}
    return await state.vote_writer.write(Vote(poll_id, attendee_id, event_id, answer, language, key))


#: A websocket vote's idempotency key: made by the page, one per answer sent (a resend carries the same).
VOTE_KEY = re.compile(r"[A-Za-z0-9_-]{8,64}")
#: The largest vote frame read (as the largest request body: the server refuses larger frames anyway).
MAX_VOTE_FRAME = 64 * 1024


def _form_pairs(message: dict[str, Any]) -> list[tuple[str, str]]:
    """A ws-send frame's fields as the form's name=value pairs (htmx sends a repeated field as a list)."""
    pairs: list[tuple[str, str]] = []
    for name, value in message.items():
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, str):
                pairs.append((name, item))
    return pairs


async def socket_vote(state: Any, event_id: int, attendee_id: int | None, language: str,
                      message: dict[str, Any]) -> list[Fragment] | str:
    """An answer form sent over the attendee's websocket (``{"action": "vote", "poll_id": N, "vote_key": K,
    ...the form's fields}``): checked as the form's POST is (the same Struct, limits and rate limit), committed,
    and only then acknowledged with the form's status naming the vote (``data-ack``) and the attendee's "you
    have answered" line. A vote resent with the same key after a reconnect is acknowledged as before and
    counted once. See docs/api.md."""
    key = message.get("vote_key")
    key = key if isinstance(key, str) and VOTE_KEY.fullmatch(key) else None
    raw_poll = message.get("poll_id")
    poll_id = raw_poll if isinstance(raw_poll, int) and not isinstance(raw_poll, bool) else (
        int(raw_poll) if isinstance(raw_poll, str) and raw_poll.isdigit() and len(raw_poll) < 19 else None)
    if poll_id is None or not 1 <= poll_id < 2**63:
        return []  # nothing to name the answer by: not one of our forms
    with use_language(language):
        try:
            if key is None:
                raise poll_service.PollError(_("The form could not be read: %(error)s", error="vote_key"), 422)
            if attendee_id is None:
                raise NotAuthorizedException(detail=_("Join the event first."))
            if await state.poll_events.event_of(poll_id) != event_id:
                raise poll_service.PollError(_("No such poll."), 404)
            body = decode_form(ResponseBody, _form_pairs(message))
            created = await _vote(state, event_id, attendee_id, poll_id, body, language, key)
        except HTTPException as exc:
            return [_ack(poll_id, key, str(exc.detail), error=True)]
        except RefusedError as exc:
            return [_ack(poll_id, key, str(exc), error=True)]
    return _accepted(state.broadcaster.renderer, poll_id, key, created, language)


def _ack(poll_id: int, key: str | None, message: str, *, error: bool) -> Fragment:
    return Fragment(Audience.ATTENDEE, "polls/ack.html",
                    {"poll_id": poll_id, "key": key or "", "message": message, "error": error})


#: Where the vote's key goes in an acknowledgement rendered once for every vote of a poll (no key holds a colon).
_KEY_MARK = "vote:key:mark"
#: Accepted votes' acknowledgements, rendered: (poll, first answer or not, language) → the frame with the mark.
_ACCEPTED: dict[tuple[int, bool, str], str] = {}


def _accepted(renderer: Any, poll_id: int, key: str, created: bool, language: str) -> str:
    """The acknowledgement of an accepted vote and the attendee's "you have answered" line. Thousands of votes on
    one poll differ only in their key, so the frame is rendered once per poll, kind of answer and language."""
    place = (poll_id, created, language)
    frame = _ACCEPTED.get(place)
    if frame is None:
        with use_language(language):
            text = _("Thank you, your answer is counted.") if created else _("Your answer is changed.")
        frame = renderer.joined([_ack(poll_id, _KEY_MARK, text, error=False),
                                 Fragment(Audience.ATTENDEE, "polls/mine.html",
                                          {"poll": {"id": poll_id}, "answered": True})], language)
        if len(_ACCEPTED) >= 1000:
            _ACCEPTED.clear()
        _ACCEPTED[place] = frame
    return frame.replace(_KEY_MARK, key)  # a key is letters, digits, "-" and "_" (VOTE_KEY): nothing to escape


@post("/api/v1/polls/{poll_id:int}/responses", name="api_respond", status_code=201)
async def api_respond(
    request: Request[Any, Any, Any], poll_id: Id,
    data: Annotated[ResponseBody, documented("A single-choice answer", {"option_ids": [12]})],
) -> Response[dict[str, Any]]:
    """Answer a poll: 201 the first time, 200 when the answer replaces an earlier one.

    Single or multiple choice ``{"option_ids": [...]}``, scale ``{"value": 4}``, word cloud
    ``{"words": ["samverkan"]}``, open text ``{"text": "..."}``, ranking ``{"ranking": [all option ids]}``.
    """
    created = await _respond(request, poll_id, data)
    return Response({"poll_id": poll_id, "replaced": not created}, status_code=201 if created else 200)


@post("/e/{slug:str}/polls/{poll_id:int}/respond", name="form_respond", dependencies={"form": form_of(ResponseBody)})
async def form_respond(request: Request[Any, Any, Any], slug: str, poll_id: Id, form: ResponseBody) -> Response[Any]:
    """The answer form on the attendee page (a ranking sends ``ranking`` once per place, best first)."""
    created = await _respond(request, poll_id, form)
    message = _("Thank you, your answer is counted.") if created else _("Your answer is changed.")
    return reply(request, data={}, message=message, back=f"/e/{slug}#poll-{poll_id}")


# --- the moderators' actions ----------------------------------------------------------------------------------


class EditPollBody(msgspec.Struct, forbid_unknown_fields=True):
    """PATCH /api/v1/polls/{id} and the edit form of a draft poll.

    The API changes what it names (a field left out keeps its value); the form sends every field of the poll,
    so there a field left empty (an unticked box, no max picks) takes its default."""

    kind: Key | UnsetType = UNSET
    question: Text | UnsetType = UNSET
    options: TextList | UnsetType = UNSET
    #: null: the whole event.
    block_id: BodyId | None | UnsetType = UNSET
    #: null: as many as there are options.
    max_picks: SmallInt | None | UnsetType = UNSET
    scale_min: SmallInt | UnsetType = UNSET
    scale_max: SmallInt | UnsetType = UNSET
    scale_labels: LabelList | UnsetType = UNSET
    results: Key | UnsetType = UNSET
    auto_open: bool | UnsetType = UNSET
    auto_close: bool | UnsetType = UNSET

    def __post_init__(self) -> None:
        if not isinstance(self.options, UnsetType) and any("\n" in option for option in self.options):
            self.options = [line.strip() for option in self.options for line in option.splitlines() if line.strip()]


def _spec_of_body(body: CreatePollBody | EditPollBody, base: poll_service.PollSpec,
                  fit: bool) -> poll_service.PollSpec:
    """``base`` with what ``body`` gives; ``fit``: drop the fields that do not belong to the kind (a form)."""
    given = {k: v for k, v in msgspec.structs.asdict(body).items() if v is not UNSET and k != "stage"}
    spec = poll_service.PollSpec(**{**{f: getattr(base, f) for f in base.__dataclass_fields__}, **given})
    if not fit and "kind" in given and given["kind"] != base.kind:  # the API changed the kind: the settings
        fitted = poll_service.fit_to_kind(dataclasses.replace(spec))  # the new kind has no use for go, unless given
        for name in ("options", "max_picks", "scale_min", "scale_max", "scale_labels"):
            if name not in given:
                setattr(spec, name, getattr(fitted, name))
    return poll_service.fit_to_kind(spec) if fit else spec


def _form_stage(event: Event, allowed: Permissions, key: str | None, block_id: int | None) -> int:
    """The stage a new poll is for (see :class:`CreatePollBody`); refused if this moderator may not act on it."""
    stage = tracks.stage_by_key(event, key)
    if key not in (None, "") and stage is None:
        raise poll_service.PollError(_("No such stage in this event."), 404)
    block = next((b for b in event.active_blocks() if b.id == block_id), None)
    if stage is None and block is None and allowed.stages is not None:
        stage = tracks.stage_by_id(event, min(allowed.stages))  # a region's moderator makes their region's polls
    if stage is not None and block is not None and block.stage_id != stage.id:
        raise poll_service.PollError(_("That block is on another stage than the poll."), 422, field="block_id")
    stage_id = stage.id if stage else block.stage_id if block else tracks.main_stage_id(event)
    require_stage(allowed, stage_id)
    return stage_id  # type: ignore[return-value]


def _values(spec: poll_service.PollSpec | CreatePollBody | EditPollBody) -> dict[str, Any]:
    """What the poll form shows in its fields (a field not given: empty, or its default)."""
    def given(name: str, default: Any = None) -> Any:
        value = getattr(spec, name, None)
        return default if value is None or value is UNSET else value

    labels = list(given("scale_labels", []))
    return {"kind": given("kind", "single"), "question": given("question", ""),
            "options": "\n".join(given("options", [])), "max_picks": given("max_picks"),
            "scale_min": given("scale_min", 1), "scale_max": given("scale_max", 5),
            "scale_low": labels[0] if labels else "", "scale_high": labels[1] if len(labels) > 1 else "",
            "block_id": given("block_id"), "results": given("results", "live"),
            "auto_open": bool(given("auto_open", False)), "auto_close": bool(given("auto_close", False))}


def card(request: Request[Any, Any, Any], event: Event, staff: StaffUser, *, stage_id: int | None,
         values: dict[str, Any] | None = None, poll: Poll | None = None, errors: dict[str, str] | None = None,
         message: str = "", error: bool = False, status_code: int = 200, focus: str = "poll-kind") -> Response[Any]:
    """The New poll card (or, with ``poll``, the card editing that draft): the card alone for htmx, else a page
    with the card (a refused form without JavaScript comes back with the error beside its field)."""
    stage = tracks.stage_by_id(event, stage_id)
    national_day = tracks.is_national_day(event)
    context = {
        "event": event, "staff": staff, "national_day": national_day, "shown": stage if national_day else None,
        "poll_blocks": [row.block for row in event_view(event, home=stage_id).rows],
        "pf": values or _values(poll_service.PollSpec(kind="single", question="")), "edited": poll,
        "errors": errors or {}, "message": message, "message_error": error, "focus": focus}
    name = "polls/poll_swap.html" if is_htmx(request) else "polls/poll_page.html"
    return Template(name, context=context, status_code=status_code)


def _refused(request: Request[Any, Any, Any], event: Event, staff: StaffUser, exc: poll_service.PollError,
             body: CreatePollBody | EditPollBody, stage_id: int | None, poll: Poll | None = None) -> Response[Any]:
    """The form again, with what was typed and the error beside its field."""
    field = exc.field
    values = _values(body)
    if isinstance(body, EditPollBody) and body.kind is UNSET and poll is not None:
        values["kind"] = poll.kind
    return card(request, event, staff, stage_id=stage_id, values=values, poll=poll,
                errors={field: str(exc)} if field else {}, message=str(exc), error=True,
                status_code=exc.status_code if exc.status_code < 500 else 422)


async def _create_poll(request: Request[Any, Any, Any], event: Event, staff: StaffUser, allowed: Permissions,
                       uow: AsyncSession, body: CreatePollBody, form: bool = False) -> Response[Any]:
    spec = _spec_of_body(body, poll_service.PollSpec(kind=body.kind, question=body.question), fit=form)
    stage_id: int | None = None
    try:
        stage_id = _form_stage(event, allowed, body.stage, body.block_id)
        poll_service.check_spec(spec)
    except poll_service.PollError as exc:
        if not form or exc.status_code == 404 and not exc.field:
            raise
        return _refused(request, event, staff, exc, body, stage_id)
    poll = await poll_service.create_poll(uow, event, spec, staff.email, stage_id)
    message = _("The poll “%(question)s” is created (draft).", question=poll.question)
    if form and is_htmx(request):
        return card(request, event, staff, stage_id=stage_id, message=message, status_code=201)
    return reply(request, data={"id": poll.id}, message=message,
                 back=f"/e/{event.slug}/control#mod-polls", status_code=201)


@post("/api/v1/events/{slug:str}/polls", name="api_create_poll", status_code=201, guards=[moderator_guard])
async def api_create_poll(
    request: Request[Any, Any, Any], event: Event, staff: StaffUser, allowed: Permissions, uow: AsyncSession,
    data: Annotated[CreatePollBody, documented("A scale poll", {
        "kind": "scale", "question": "Hur långt har vi kommit?", "scale_min": 1, "scale_max": 5,
        "scale_labels": ["Inte alls", "Mycket långt"]})],
) -> Response[Any]:
    """Create a poll live (staff). It starts as a draft; open it when the panel gets there."""
    return await _create_poll(request, event, staff, allowed, uow, data)


@post("/e/{slug:str}/control/polls", name="form_create_poll", guards=[moderator_guard],
      dependencies={"form": form_of(CreatePollBody)})
async def form_create_poll(request: Request[Any, Any, Any], event: Event, staff: StaffUser, allowed: Permissions,
                           uow: AsyncSession, form: CreatePollBody) -> Response[Any]:
    """The New poll form on the control panel (options one per line; the scale's labels as two ``scale_labels``;
    the fields of other kinds than the chosen one are ignored). htmx gets the card back, empty after a success,
    with the typed values and the error beside its field after a refusal."""
    return await _create_poll(request, event, staff, allowed, uow, form, form=True)


async def _poll_of(uow: AsyncSession, poll_id: int, event_id: int | None = None) -> Poll:
    """The path's poll; with ``event_id``, only if it is of that event (the page's)."""
    poll = await poll_service.poll_by_id(uow, poll_id)
    if event_id is not None and poll.event_id != event_id:
        raise poll_service.PollError(_("No such poll."), 404)
    return poll


async def _event_of(session: AsyncSession, event_id: int) -> Event:
    event = await event_by_id(session, event_id)
    if event is None:
        raise poll_service.PollError(_("No such poll."), 404)
    return event


async def _edit(request: Request[Any, Any, Any], poll: Poll, staff: StaffUser, allowed: Permissions,
                uow: AsyncSession, body: EditPollBody, form: bool) -> tuple[Event, Poll | Response[Any]]:
    event = await _event_of(uow, poll.event_id)
    require_stage(allowed, tracks.stage_of_content(event, poll.stage_id))
    spec = _spec_of_body(body, poll_service.spec_of(poll) if not form else poll_service.PollSpec(
        kind=poll.kind, question=poll.question, block_id=None), fit=form)
    try:
        await poll_service.check_edit(uow, event, poll, spec)
    except poll_service.PollError as exc:
        if not form:
            raise
        return event, _refused(request, event, staff, exc, body, poll.stage_id, poll)
    return event, await poll_service.edit_poll(uow, event, poll, spec, staff.email)


@patch("/api/v1/polls/{poll_id:int}", name="api_edit_poll", guards=[moderator_guard],
       opt={"event_of": poll_event, "stage_of": poll_stage})
async def api_edit_poll(
    request: Request[Any, Any, Any], poll_id: Id, staff: StaffUser, allowed: Permissions, uow: AsyncSession,
    data: Annotated[EditPollBody, documented("A new question", {"question": "Hur långt har vi kommit i dag?"})],
) -> dict[str, Any]:
    """Change a draft poll (the fields given; the others keep their values). A poll that has been opened, or has
    answers, is refused with 409: duplicate it instead."""
    _event, poll = await _edit(request, await _poll_of(uow, poll_id), staff, allowed, uow, data, form=False)
    assert isinstance(poll, Poll)
    return poll_json(poll)


@get("/e/{slug:str}/control/polls/{poll_id:int}/edit", name="form_edit_poll_page", guards=[moderator_guard],
     opt={"event_of": poll_event, "stage_of": poll_stage})
async def form_edit_poll_page(request: Request[Any, Any, Any], event: Event, poll_id: Id, staff: StaffUser,
                              db_session: AsyncSession) -> Response[Any]:
    """The card editing a draft poll (htmx puts it in place of the New poll card; without JavaScript, a page)."""
    poll = await _poll_of(db_session, poll_id, event.id)
    if poll.state != "draft":
        refusal = _("This poll has been opened and may have answers, so it can no longer be edited. "
                    "Duplicate it to make a changed copy.")
        if not is_htmx(request):
            raise poll_service.PollError(refusal, 409)
        return card(request, event, staff, stage_id=poll.stage_id, message=refusal, error=True, status_code=409)
    return card(request, event, staff, stage_id=poll.stage_id, values=_values(poll_service.spec_of(poll)), poll=poll,
                focus="poll-question")


@post("/e/{slug:str}/control/polls/{poll_id:int}/edit", name="form_edit_poll", guards=[moderator_guard],
      opt={"event_of": poll_event, "stage_of": poll_stage}, dependencies={"form": form_of(EditPollBody)})
async def form_edit_poll(request: Request[Any, Any, Any], event: Event, poll_id: Id, staff: StaffUser,
                         allowed: Permissions, uow: AsyncSession, form: EditPollBody) -> Response[Any]:
    """The edit form of a draft poll; htmx gets the empty New poll card back, saying what was saved."""
    _event, poll = await _edit(request, await _poll_of(uow, poll_id, event.id), staff, allowed, uow, form, form=True)
    if not isinstance(poll, Poll):
        return poll
    message = _("The poll “%(question)s” is saved.", question=poll.question)
    if is_htmx(request):
        return card(request, event, staff, stage_id=poll.stage_id, message=message)
    return reply(request, data=poll_json(poll), message=message, back=f"/e/{event.slug}/control#mp-{poll.id}")


async def _duplicate(uow: AsyncSession, poll: Poll, staff: StaffUser, allowed: Permissions) -> tuple[Event, Poll]:
    event = await _event_of(uow, poll.event_id)
    require_stage(allowed, tracks.stage_of_content(event, poll.stage_id))
    return event, await poll_service.duplicate_poll(uow, event, poll, staff.email)


@post("/api/v1/polls/{poll_id:int}/duplicate", name="api_duplicate_poll", status_code=201, guards=[moderator_guard],
      opt={"event_of": poll_event, "stage_of": poll_stage})
async def api_duplicate_poll(poll_id: Id, staff: StaffUser, allowed: Permissions,
                             uow: AsyncSession) -> dict[str, Any]:
    """A new draft with the poll's settings (of any state, closed ones too), without its answers: 201 ``{id}``."""
    _event, copy = await _duplicate(uow, await _poll_of(uow, poll_id), staff, allowed)
    return {"id": copy.id}


@post("/e/{slug:str}/control/polls/{poll_id:int}/duplicate", name="form_duplicate_poll", guards=[moderator_guard],
      opt={"event_of": poll_event, "stage_of": poll_stage})
async def form_duplicate_poll(request: Request[Any, Any, Any], event: Event, poll_id: Id, staff: StaffUser,
                              allowed: Permissions, uow: AsyncSession) -> Response[Any]:
    """The Duplicate button of a poll on the control panel."""
    _event, copy = await _duplicate(uow, await _poll_of(uow, poll_id, event.id), staff, allowed)
    return reply(request, data={"id": copy.id}, status_code=201,
                 message=_("A copy of “%(question)s” is created (draft).", question=copy.question),
                 back=f"/e/{event.slug}/control#mp-{copy.id}")


# --- the question bank: earlier polls to reuse, loaded when asked for (never in the panel's snapshot) ----------


def bank_events(staff: StaffUser, event: Event) -> list[int] | None:
    """The events whose polls this person may reuse: the day they moderate, and the days they organise (an
    admin or an organiser of every event: all days, None)."""
    if any(r.event_id is None and r.role in ("admin", "organiser") for r in staff.roles):
        return None
    return sorted({event.id} | {r.event_id for r in staff.roles
                                if r.event_id is not None and r.role in ("admin", "organiser")})


@get("/e/{slug:str}/control/polls/bank", name="form_poll_bank", guards=[moderator_guard])
async def form_poll_bank(request: Request[Any, Any, Any], event: Event, staff: StaffUser, db_session: AsyncSession,
                         q: Annotated[str, Parameter(max_length=200)] = "") -> Response[Any]:
    """"Reuse an earlier question": the earlier polls whose question contains the words searched for (this day's
    first, then the other days this person organises), each with a button that fills the New poll form."""
    found = await poll_service.question_bank(db_session, bank_events(staff, event), q, first_event=event.id)
    context = {"event": event, "staff": staff, "found": found, "q": q, "stage_query": request.query_params.get(
        "stage", "")}
    name = "polls/bank.html" if is_htmx(request) else "polls/bank_page.html"
    return Template(name, context=context)


@get("/e/{slug:str}/control/polls/new", name="form_new_poll", guards=[moderator_guard])
async def form_new_poll(request: Request[Any, Any, Any], event: Event, staff: StaffUser, allowed: Permissions,
                        db_session: AsyncSession, from_poll: Annotated[int | None, Parameter(
                            query="from", ge=1, le=2**63 - 1)] = None,
                        stage: Annotated[str, Parameter(max_length=64)] = "") -> Response[Any]:
    """The New poll card: empty, or (``?from=``) filled with an earlier poll's question, kind and settings from
    the question bank (a block only when it is this day's)."""
    shown = tracks.stage_by_key(event, stage) or (
        tracks.stage_by_id(event, min(allowed.stages)) if allowed.stages is not None else tracks.main_stage(event))
    values = None
    if from_poll is not None:
        source = await _poll_of(db_session, from_poll)
        visible = bank_events(staff, event)
        if visible is not None and source.event_id not in visible:
            raise poll_service.PollError(_("No such poll."), 404)
        spec = poll_service.spec_of(source)
        if source.event_id != event.id:
            spec.block_id = None
        values = _values(spec)
        message = _("The form is filled in from “%(question)s”: check it, then create the poll.",
                    question=source.question)
        return card(request, event, staff, stage_id=shown.id if shown else None, values=values, message=message,
                    focus="poll-question")
    return card(request, event, staff, stage_id=shown.id if shown else None, values=values)


@post("/api/v1/polls/{poll_id:int}/{action:str}", name="api_poll_action", status_code=200, guards=[moderator_guard],
      opt={"event_of": poll_event, "stage_of": poll_stage})
async def api_poll_action(poll_id: Id, action: str, staff: StaffUser, uow: AsyncSession) -> dict[str, Any]:
    """open | close | reveal | hide_results | reset (erases every answer: the poll is a draft again)."""
    poll = await poll_service.change(uow, await _poll_of(uow, poll_id), action, staff.email)
    return poll_json(poll)


class PollActionBody(msgspec.Struct, forbid_unknown_fields=True):
    """The poll buttons' forms: "reset" erases every answer, so it is sent again with ``confirm`` once asked."""

    confirm: bool = False


@post("/e/{slug:str}/control/polls/{poll_id:int}/{action:str}", name="form_poll_action", guards=[moderator_guard],
      opt={"event_of": poll_event, "stage_of": poll_stage}, dependencies={"form": form_of(PollActionBody)})
async def form_poll_action(request: Request[Any, Any, Any], event: Event, poll_id: Id, action: str,
                           staff: StaffUser, uow: AsyncSession, form: PollActionBody) -> Response[Any]:
    """The poll buttons on the control panel; "reset" asks first (the browser's dialog, or without JavaScript a
    page that says how many answers go)."""
    poll = await _poll_of(uow, poll_id, event.id)
    if action == "reset" and not form.confirm:
        answers = len(await poll_service.answerers(uow, poll.id))
        return Template("polls/confirm_reset.html", context={"event": event, "poll": poll, "answers": answers})
    poll = await poll_service.change(uow, poll, action, staff.email)
    return reply(request, data=poll_json(poll), message=poll_action_message(action, poll),
                 back=f"/e/{event.slug}/control#mp-{poll_id}")


def poll_action_message(action: str, poll: Poll) -> str:
    """What a poll button did, in words that name the poll."""
    question = shorten(poll.question, 60)
    messages = {
        "open": _("The poll “%(question)s” is open.", question=question),
        "close": _("The poll “%(question)s” is closed.", question=question),
        "reveal": _("The results of “%(question)s” are shown.", question=question),
        "hide_results": _("The results of “%(question)s” are hidden.", question=question),
        "reset": _("The poll “%(question)s” is reset: its answers are erased.", question=question),
    }
    return messages.get(action, _("The poll “%(question)s” is updated.", question=question))


@post("/e/{slug:str}/control/polls/{poll_id:int}/wall/{response_id:int}", name="form_wall",
      guards=[moderator_guard], opt={"event_of": poll_event, "stage_of": poll_stage},
      dependencies={"form": form_of(WallBody)})
async def form_wall(request: Request[Any, Any, Any], event: Event, poll_id: Id, response_id: Id, staff: StaffUser,
                    uow: AsyncSession, form: WallBody) -> Response[Any]:
    """Show an open-text answer on the wall, or keep it off."""
    poll = await _poll_of(uow, poll_id, event.id)
    await poll_service.moderate_wall(uow, poll, response_id, form.approve, staff.email)
    message = (_("The answer is on the wall of “%(question)s”.", question=shorten(poll.question, 60)) if form.approve
               else _("The answer is kept off the wall of “%(question)s”.", question=shorten(poll.question, 60)))
    return reply(request, data={}, message=message, back=f"/e/{event.slug}/control#mp-{poll_id}")


routes = [api_polls, api_respond, form_respond, api_create_poll, form_create_poll, api_edit_poll, form_edit_poll_page,
          form_edit_poll, api_duplicate_poll, form_duplicate_poll, form_poll_bank, form_new_poll, api_poll_action,
          form_poll_action, form_wall]
