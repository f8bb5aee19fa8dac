"""Undo, unmute, the muted list and the end of the broadcast over HTTP — the control panel's forms and the JSON API.

An undoable action's answer carries its undo: ``{"undo": {"id", "until"}}`` for the API, an "Undo" button beside
the message for htmx, and without JavaScript the control panel shows the button (``?undo=``). Who may undo: staff
of the event who moderate the stage of what was acted on; for "delete everything I wrote", that attendee alone.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

import msgspec
from litestar import Request, get, post
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.response import Redirect, Response, Template
from sqlalchemy.ext.asyncio import AsyncSession

from ehalsodag.agenda import stages, tracks
from ehalsodag.agenda.models import Event
from ehalsodag.agenda.service import load_event
from ehalsodag.attendees.auth import current_attendee
from ehalsodag.attendees.models import Attendee
from ehalsodag.attendees.service import pseudonym
from ehalsodag.chat import service as chat_service
from ehalsodag.i18n import _
from ehalsodag.safety import broadcast
from ehalsodag.safety import service as safety_service
from ehalsodag.safety.models import UndoAction
from ehalsodag.staff.auth import current_staff, has_staff_credentials, moderator_guard, require_stage
from ehalsodag.staff.models import StaffUser
from ehalsodag.staff.service import Permissions, permissions
from ehalsodag.web.actions import Id, documented, is_api
from ehalsodag.web.bounds import Key
from ehalsodag.web.forms import form_of
from ehalsodag.web.responses import is_htmx
from ehalsodag.web.templating import iso

#: The home stage of the path's attendee (a region's moderator unmutes that region's attendees only).
attendee_stage = stages.stage_of_path(Attendee, "attendee_id")


async def _authorise(request: Request[Any, Any, Any], session: AsyncSession, action: UndoAction) -> str:
    """Who undoes ``action`` (the audit's actor), or a refusal."""
    if action.kind == "erase":
        attendee = await current_attendee(request, session, action.event_id)
        if attendee is None:
            raise NotAuthorizedException(detail=_("Join the event first."))
        if attendee.id != action.attendee_id:
            raise PermissionDeniedException(detail=_("Only the person who deleted it can undo that."))
        return f"attendee:{attendee.id}"
    user = await current_staff(request, session) if has_staff_credentials(request) else None
    if user is None:
        raise NotAuthorizedException(detail=_("Log in as staff first."))
    allowed = permissions(user, action.event_id)
    if not allowed.moderate:
        raise PermissionDeniedException(detail=_("You are not staff of this event."))
    require_stage(allowed, action.stage_id)
    return user.email


async def _undo(request: Request[Any, Any, Any], uow: AsyncSession, undo_id: int, event: Event | None = None
                ) -> tuple[UndoAction, str]:
    action = await safety_service.load(uow, undo_id)
    if event is not None and action.event_id != event.id:
        raise safety_service.UndoError(_("There is nothing to undo."), 404)
    actor = await _authorise(request, uow, action)
    return action, await safety_service.undo(uow, action, actor)


@post("/api/v1/undo/{undo_id:int}", name="api_undo", status_code=200)
async def api_undo(request: Request[Any, Any, Any], undo_id: Id, uow: AsyncSession) -> dict[str, Any]:
    """Undo an action within its 10 seconds (the ``undo.id`` of its answer): staff of the event for hide, mute
    and delete; the attendee for their own "delete everything I wrote". 409 once too late or undone already."""
    action, message = await _undo(request, uow, undo_id)
    return {"id": action.id, "kind": action.kind, "undone": True, "detail": message}


@post("/e/{slug:str}/control/undo/{undo_id:int}", name="form_undo")
async def form_undo(request: Request[Any, Any, Any], event: Event, undo_id: Id, uow: AsyncSession) -> Response[Any]:
    """The control panel's "Undo" button."""
    _action, message = await _undo(request, uow, undo_id, event)
    if is_htmx(request):
        return Template("layout/message.html", context={"message": message, "error": False})
    return Redirect(f"/e/{event.slug}/control?{urlencode({'done': 'undone'})}#undo-banner", status_code=303)


@post("/e/{slug:str}/me/undo/{undo_id:int}", name="own_data_undo")
async def own_data_undo(request: Request[Any, Any, Any], slug: str, undo_id: Id, uow: AsyncSession) -> Response[Any]:
    """The "Undo" button after "Delete everything I wrote" (the attendee's own; works without JavaScript)."""
    event = await load_event(uow, slug)
    try:
        await _undo(request, uow, undo_id, event)
    except safety_service.UndoError as exc:
        if exc.status_code != 409:
            raise
        return Redirect(f"/e/{slug}/me?too_late=1", status_code=303)
    return Redirect(f"/e/{slug}/me?restored=1", status_code=303)


# --- mute list -----------------------------------------------------------------------------------------------


@post(["/api/v1/events/{slug:str}/attendees/{attendee_id:int}/unmute",
       "/e/{slug:str}/control/attendees/{attendee_id:int}/unmute"], name="unmute", status_code=200,
      guards=[moderator_guard], opt={"stage_of": attendee_stage})
async def unmute(request: Request[Any, Any, Any], event: Event, attendee_id: Id, uow: AsyncSession,
                 staff: StaffUser) -> Response[Any]:
    """Let a muted attendee write in the chat and ask questions again."""
    await chat_service.unmute(uow, attendee_id, event, staff.email)
    message = _("The attendee can write again.")
    if is_api(request):
        return Response({"attendee_id": attendee_id, "muted": False})
    if is_htmx(request):
        return Template("layout/message.html", context={"message": message, "error": False})
    return Redirect(f"/e/{event.slug}/control#mod-muted-heading", status_code=303)


@get("/api/v1/events/{slug:str}/muted", name="api_muted", guards=[moderator_guard])
async def api_muted(event: Event, db_session: AsyncSession, allowed: Permissions) -> list[dict[str, Any]]:
    """The attendees muted for the day (on a national day: of the stages you moderate): pseudonym, and the name
    only where the attendee chose to show it."""
    people = await chat_service.muted_list(db_session, event.id)
    return [{"attendee_id": p.attendee_id, "pseudonym": pseudonym(event.id, p.attendee_id), "name": p.shown_name,
             "muted_at": iso(p.muted_at)} for p in people
            if allowed.moderates(tracks.stage_of_content(event, p.stage_id))]


# --- the end of the broadcast ----------------------------------------------------------------------------------


class EndBroadcastBody(msgspec.Struct, forbid_unknown_fields=True):
    """POST /api/v1/events/{slug}/broadcast/end and the "End broadcast" form: on a national day for one stage
    (default: the national one). The form asks first: without ``confirm`` it answers with the question."""

    stage: Key | None = None
    confirm: bool = False


def _end_message(result: broadcast.Ended) -> str:
    if not result.changed:
        return _("The broadcast has already ended: nothing changed.")
    if result.region is not None:
        return _("The broadcast in %(region)s has ended: its attendees follow the national programme again.",
                 region=result.region.name)
    parts = [_("The broadcast has ended.")]
    if result.polls:
        parts.append(_("Polls closed: %(count)d.", count=len(result.polls)))
    if result.chat:
        parts.append(_("The chat is closed."))
    if result.evaluation:
        parts.append(_("The evaluation is open."))
    return " ".join(parts)


async def _end(event: Event, uow: AsyncSession, staff: StaffUser, allowed: Permissions,
               body: EndBroadcastBody) -> broadcast.Ended:
    stage = tracks.stage_by_key(event, body.stage)
    if body.stage not in (None, "") and stage is None:
        raise safety_service.UndoError(_("No such stage in this event."), 404)
    stage = stage or tracks.main_stage(event)
    require_stage(allowed, stage.id if stage else None)
    return await broadcast.end_broadcast(uow, event, stage, staff.email, whole_event=allowed.stages is None)


def _end_data(result: broadcast.Ended) -> dict[str, Any]:
    return {"changed": result.changed, "block_ended": result.block, "polls_closed": result.polls,
            "chat_closed": result.chat, "evaluation_opened": result.evaluation, "detail": _end_message(result)}


@post("/api/v1/events/{slug:str}/broadcast/end", name="api_end_broadcast", status_code=200,
      guards=[moderator_guard])
async def api_end_broadcast(
    event: Event, uow: AsyncSession, staff: StaffUser, allowed: Permissions,
    data: Annotated[EndBroadcastBody | None, documented("End the day's broadcast", {})] = None,
) -> dict[str, Any]:
    """End the broadcast: no block live, open polls closed, the chat closed with a word of thanks, the evaluation
    open. On a national day, of ``stage`` (a region's moderator: their region's block and polls). A second call
    changes nothing (``changed: false``)."""
    return _end_data(await _end(event, uow, staff, allowed, data or EndBroadcastBody()))


@post("/e/{slug:str}/control/broadcast/end", name="form_end_broadcast", guards=[moderator_guard],
      dependencies={"form": form_of(EndBroadcastBody)})
async def form_end_broadcast(request: Request[Any, Any, Any], event: Event, uow: AsyncSession, staff: StaffUser,
                             allowed: Permissions, form: EndBroadcastBody) -> Response[Any]:
    """The "End broadcast" button: asks first (the browser's dialog, or without JavaScript this page), then ends."""
    if not form.confirm:
        return Template("safety/confirm_end.html", context={"event": event, "stage_key": form.stage or ""})
    result = await _end(event, uow, staff, allowed, form)
    message = _end_message(result)
    if is_htmx(request):
        return Template("layout/message.html", context={"message": message, "error": False})
    done = "broadcast_ended" if result.changed else "broadcast_unchanged"
    return Redirect(f"/e/{event.slug}/control?{urlencode({'done': done})}#undo-banner", status_code=303)


routes = [api_undo, form_undo, own_data_undo, unmute, api_muted, api_end_broadcast,
          form_end_broadcast]
