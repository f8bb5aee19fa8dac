"""Polls over HTTP: list, answer, create, open/close/reveal/reset, moderate the open-text wall."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Request, get, post
from litestar.exceptions import ClientException, NotAuthorizedException
from litestar.response import Response
from sqlalchemy.ext.asyncio import AsyncSession

from ehalsodag.agenda.models import Event
from ehalsodag.agenda.routes import load_event
from ehalsodag.i18n import _, current_language
from ehalsodag.polls import service as poll_service
from ehalsodag.polls.batch import Vote
from ehalsodag.polls.models import Poll
from ehalsodag.web.actions import Id, documented, first, form_fields, int_field, reply
from ehalsodag.web.auth import known_attendee, require_staff


class CreatePollBody(msgspec.Struct, forbid_unknown_fields=True):
    """POST /api/v1/events/{slug}/polls"""

    kind: str
    question: str
    options: list[str] = []
    block_id: int | None = None
    max_picks: int | None = None
    scale_min: int = 1
    scale_max: int = 5
    scale_labels: list[str] = []
    results: str = "live"
    auto_open: bool = False
    auto_close: bool = False


class ResponseBody(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """POST /api/v1/polls/{id}/responses: the one field that fits the poll's kind."""

    option_ids: list[int] | None = None
    value: int | None = None
    words: list[str] | None = None
    text: str | None = None
    ranking: list[int] | None = None



def poll_json(poll: Poll) -> dict[str, Any]:
    """A poll as the JSON API shows it."""
    return {
        "id": poll.id, "kind": poll.kind, "question": poll.question, "state": poll.state, "block_id": poll.block_id,
        "results": poll.results, "revealed": poll.revealed, "max_picks": poll.max_picks,
        "scale_min": poll.scale_min, "scale_max": poll.scale_max, "scale_labels": poll.scale_labels,
        "options": [{"id": o.id, "label": o.label} for o in poll.options],
    }


@get("/api/v1/events/{slug:str}/polls", name="api_polls")
async def api_polls(slug: str, db_session: AsyncSession) -> list[dict[str, Any]]:
    """Every poll of the event with its options (drafts included: they hold no answers yet)."""
    event = await load_event(db_session, slug)
    return [poll_json(p) for p in await poll_service.event_polls(db_session, event.id)]


def _answer_from_form(poll: Poll, fields: dict[str, list[str]]) -> dict[str, Any]:
    def ints(values: list[str]) -> list[int]:
        try:
            return [int(v) for v in values]
        except ValueError as exc:
            raise ClientException(detail=_("Pick an option."), status_code=422) from exc

    if poll.kind in ("single", "multiple"):
        return {"option_ids": ints(fields.get("option_ids", []))}
    if poll.kind == "scale":
        return {"value": int_field(fields, "value")} if first(fields, "value") else {}
    if poll.kind == "wordcloud":
        return {"words": fields.get("words", [])}
    if poll.kind == "open_text":
        return {"text": first(fields, "text")}
    places = {}
    for option in poll.options:  # ranking: a place number per option → option ids best first
        try:
            places[option.id] = int(first(fields, f"rank_{option.id}"))
        except ValueError as exc:
            raise ClientException(detail=_("Rank every option exactly once."), status_code=422) from exc
    if sorted(places.values()) != list(range(1, len(poll.options) + 1)):
        raise ClientException(detail=_("Rank every option exactly once."), status_code=422)
    return {"ranking": sorted(places, key=places.__getitem__)}


async def _respond(request: Request[Any, Any, Any], poll_id: Id, raw_json: dict[str, Any] | None) -> bool:
    """The hot path of a vote burst: no query here once the poll and the token have been seen; the vote
    writer checks the answer against the poll and stores it in one transaction with many others."""
    state = request.app.state
    event_id = await state.poll_events.event_of(poll_id)
    attendee = await known_attendee(request, event_id)
    if attendee is None:
        raise NotAuthorizedException(detail=_("Join the event first."))
    await state.rate_limits.enforce("vote", attendee.id)
    if raw_json is None:  # the browser form: its fields depend on the poll's kind and options
        fields = await form_fields(request)
        async with state.db.reader() as session:
            answer = _answer_from_form(await poll_service.poll_by_id(session, poll_id), fields)
    else:
        answer = raw_json
    created = await state.vote_writer.write(Vote(poll_id, attendee.id, event_id, answer, current_language()))
    mark = request.headers.get("x-bench-ts")
    state.broadcaster.poll_dirty(poll_id, _float_or_none(mark))
    return created


def _float_or_none(value: str | None) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None


@post("/api/v1/polls/{poll_id:int}/responses", name="api_respond", status_code=201)
async def api_respond(
    request: Request[Any, Any, Any], poll_id: Id,
    data: Annotated[ResponseBody, documented("A single-choice answer", {"option_ids": [12]})],
) -> Response[dict[str, Any]]:
    """Answer a poll: 201 the first time, 200 when the answer replaces an earlier one.

    Single or multiple choice ``{"option_ids": [...]}``, scale ``{"value": 4}``, word cloud
    ``{"words": ["samverkan"]}``, open text ``{"text": "..."}``, ranking ``{"ranking": [all option ids]}``.
    """
    created = await _respond(
        request, poll_id, {k: v for k, v in msgspec.structs.asdict(data).items() if v is not None})
    return Response({"poll_id": poll_id, "replaced": not created}, status_code=201 if created else 200)


@post("/e/{slug:str}/polls/{poll_id:int}/respond", name="form_respond", include_in_schema=False)
async def form_respond(request: Request[Any, Any, Any], slug: str, poll_id: Id) -> Response[Any]:
    """The answer form on the attendee page."""
    created = await _respond(request, poll_id, None)
    message = _("Thank you, your answer is counted.") if created else _("Your answer is changed.")
    return reply(request, data={}, message=message, back=f"/e/{slug}#poll-{poll_id}")


def _spec_from_form(fields: dict[str, list[str]]) -> poll_service.PollSpec:
    def optional_int(key: str) -> int | None:
        value = first(fields, key).strip()
        return int(value) if value.lstrip("-").isdigit() else None

    options = [line.strip() for line in first(fields, "options").splitlines() if line.strip()]
    labels = [label for label in (first(fields, "scale_low").strip(), first(fields, "scale_high").strip()) if label]
    return poll_service.PollSpec(
        kind=first(fields, "kind"), question=first(fields, "question"), options=options,
        block_id=optional_int("block_id"), max_picks=optional_int("max_picks"),
        scale_min=optional_int("scale_min") if optional_int("scale_min") is not None else 1,
        scale_max=optional_int("scale_max") or 5, scale_labels=labels,
        results=first(fields, "results", "live"), auto_open=first(fields, "auto_open") == "1",
        auto_close=first(fields, "auto_close") == "1",
    )


@post("/api/v1/events/{slug:str}/polls", name="api_create_poll", status_code=201)
async def api_create_poll(
    request: Request[Any, Any, Any], slug: str,
    data: Annotated[CreatePollBody, documented("A scale poll", {
        "kind": "scale", "question": "Hur långt har vi kommit?", "scale_min": 1, "scale_max": 5,
        "scale_labels": ["Inte alls", "Mycket långt"]})],
) -> Response[Any]:
    """Create a poll live (staff). It starts as a draft; open it when the panel gets there."""
    return await _create_poll(request, slug, poll_service.PollSpec(**msgspec.structs.asdict(data)))


@post("/e/{slug:str}/control/polls", name="form_create_poll", include_in_schema=False)
async def form_create_poll(request: Request[Any, Any, Any], slug: str) -> Response[Any]:
    """The new-poll form on the control panel."""
    return await _create_poll(request, slug, _spec_from_form(await form_fields(request)))


async def _create_poll(request: Request[Any, Any, Any], slug: str, spec: poll_service.PollSpec) -> Response[Any]:
    state = request.app.state
    async with state.db.writer() as session:
        event = await load_event(session, slug)
        user = await require_staff(request, session, event)
        poll = await poll_service.create_poll(session, event, spec, user.email)
    await state.broadcaster.push(slug, "polls")
    return reply(request, data={"id": poll.id}, message=_("Poll created as a draft."),
                 back=f"/e/{slug}/control#mod-polls", status_code=201)


async def _change(request: Request[Any, Any, Any], poll_id: Id, action: str) -> Poll:
    state = request.app.state
    async with state.db.writer() as session:
        poll = await poll_service.poll_by_id(session, poll_id)
        event = await session.get(Event, poll.event_id)
        assert event is not None
        user = await require_staff(request, session, event)
        poll = await poll_service.change(session, poll, action, user.email)
        slug = event.slug
    await state.broadcaster.push(slug, "polls")
    state.broadcaster.poll_dirty(poll_id)
    return poll


@post("/api/v1/polls/{poll_id:int}/{action:str}", name="api_poll_action", status_code=200)
async def api_poll_action(request: Request[Any, Any, Any], poll_id: Id, action: str) -> dict[str, Any]:
    """open | close | reveal | hide_results | reset"""
    poll = await _change(request, poll_id, action)
    return poll_json(poll)


@post("/e/{slug:str}/control/polls/{poll_id:int}/{action:str}", name="form_poll_action", include_in_schema=False)
async def form_poll_action(request: Request[Any, Any, Any], slug: str, poll_id: Id, action: str) -> Response[Any]:
    """The poll buttons on the control panel."""
    poll = await _change(request, poll_id, action)
    return reply(request, data=poll_json(poll), message=_("Done."), back=f"/e/{slug}/control#mod-polls")


@post("/e/{slug:str}/control/polls/{poll_id:int}/wall/{response_id:int}", name="form_wall",
      include_in_schema=False)
async def form_wall(request: Request[Any, Any, Any], slug: str, poll_id: Id, response_id: Id) -> Response[Any]:
    """Show an open-text answer on the wall, or keep it off."""
    approve = first(await form_fields(request), "approve") == "1"
    state = request.app.state
    async with state.db.writer() as session:
        event = await load_event(session, slug)
        user = await require_staff(request, session, event)
        poll = await poll_service.poll_by_id(session, poll_id)
        if poll.event_id != event.id:
            raise poll_service.PollError(_("No such poll."), 404)
        await poll_service.moderate_wall(session, poll, response_id, approve, user.email)
    await state.broadcaster.push(slug, "polls")
    state.broadcaster.poll_dirty(poll_id)
    return reply(request, data={}, message=_("Done."), back=f"/e/{slug}/control#mod-polls")


routes = [api_polls, api_respond, form_respond, api_create_poll, form_create_poll, api_poll_action, form_poll_action,
          form_wall]
