"""Polls over HTTP: list, answer, create, open/close/reveal/reset, moderate the open-text wall — each input one
Struct for the JSON API and the form alike."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Request, get, post
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException
from litestar.response import Response
from sqlalchemy.ext.asyncio import AsyncSession

from ehalsodag.agenda import stages, tracks
from ehalsodag.agenda.models import Event
from ehalsodag.agenda.service import load_event
from ehalsodag.attendees.auth import current_attendee, known_attendee
from ehalsodag.i18n import _, current_language
from ehalsodag.polls import service as poll_service
from ehalsodag.polls.batch import Vote
from ehalsodag.polls.models import Poll
from ehalsodag.staff.auth import moderator_guard, require_stage
from ehalsodag.staff.models import StaffUser
from ehalsodag.staff.service import Permissions
from ehalsodag.web.actions import Id, documented, reply
from ehalsodag.web.bounds import BodyId, IdList, Key, LabelList, SmallInt, Text, TextList, WordList
from ehalsodag.web.forms import form_of


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
    await state.rate_limits.enforce("vote", attendee.id)
    answer = {k: v for k, v in msgspec.structs.asdict(body).items() if v is not None}
    return await state.vote_writer.write(Vote(poll_id, attendee.id, event_id, answer, current_language()))


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


async def _create_poll(request: Request[Any, Any, Any], event: Event, staff: StaffUser, allowed: Permissions,
                       uow: AsyncSession, body: CreatePollBody) -> Response[Any]:
    fields = msgspec.structs.asdict(body)
    key = fields.pop("stage")
    stage = tracks.stage_by_key(event, key)
    if key not in (None, "") and stage is None:
        raise poll_service.PollError(_("No such stage in this event."), 404)
    block = next((b for b in event.active_blocks() if b.id == body.block_id), None)
    if stage is None and block is None and allowed.stages is not None:
        stage = tracks.stage_by_id(event, min(allowed.stages))  # a region's moderator makes their region's polls
    if stage is not None and block is not None and block.stage_id != stage.id:
        raise poll_service.PollError(_("That block is on another stage than the poll."), 422)
    stage_id = stage.id if stage else block.stage_id if block else tracks.main_stage_id(event)
    require_stage(allowed, stage_id)
    poll = await poll_service.create_poll(uow, event, poll_service.PollSpec(**fields), staff.email, stage_id)
    return reply(request, data={"id": poll.id}, message=_("Poll created as a draft."),
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
    """The new-poll form on the control panel (options one per line; the scale's labels as two ``scale_labels``)."""
    return await _create_poll(request, event, staff, allowed, uow, form)


async def _poll_of(uow: AsyncSession, poll_id: int, event_id: int | None = None) -> Poll:
    """The path's poll; with ``event_id``, only if it is of that event (the page's)."""
    poll = await poll_service.poll_by_id(uow, poll_id)
    if event_id is not None and poll.event_id != event_id:
        raise poll_service.PollError(_("No such poll."), 404)
    return poll


@post("/api/v1/polls/{poll_id:int}/{action:str}", name="api_poll_action", status_code=200, guards=[moderator_guard],
      opt={"event_of": poll_event, "stage_of": poll_stage})
async def api_poll_action(poll_id: Id, action: str, staff: StaffUser, uow: AsyncSession) -> dict[str, Any]:
    """open | close | reveal | hide_results | reset (erases every answer: the poll is a draft again)."""
    poll = await poll_service.change(uow, await _poll_of(uow, poll_id), action, staff.email)
    return poll_json(poll)


@post("/e/{slug:str}/control/polls/{poll_id:int}/{action:str}", name="form_poll_action", guards=[moderator_guard],
      opt={"event_of": poll_event, "stage_of": poll_stage})
async def form_poll_action(request: Request[Any, Any, Any], event: Event, poll_id: Id, action: str,
                           staff: StaffUser, uow: AsyncSession) -> Response[Any]:
    """The poll buttons on the control panel."""
    poll = await poll_service.change(uow, await _poll_of(uow, poll_id, event.id), action, staff.email)
    return reply(request, data=poll_json(poll), message=_("Done."), back=f"/e/{event.slug}/control#mp-{poll_id}")


@post("/e/{slug:str}/control/polls/{poll_id:int}/wall/{response_id:int}", name="form_wall",
      guards=[moderator_guard], opt={"event_of": poll_event, "stage_of": poll_stage},
      dependencies={"form": form_of(WallBody)})
async def form_wall(request: Request[Any, Any, Any], event: Event, poll_id: Id, response_id: Id, staff: StaffUser,
                    uow: AsyncSession, form: WallBody) -> Response[Any]:
    """Show an open-text answer on the wall, or keep it off."""
    poll = await _poll_of(uow, poll_id, event.id)
    await poll_service.moderate_wall(uow, poll, response_id, form.approve, staff.email)
    return reply(request, data={}, message=_("Done."), back=f"/e/{event.slug}/control#mp-{poll_id}")


routes = [api_polls, api_respond, form_respond, api_create_poll, form_create_poll, api_poll_action, form_poll_action,
          form_wall]
