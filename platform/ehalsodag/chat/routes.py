"""Chat over HTTP: post, scroll back, and the moderators' delete, mute and on/off switches — each action one
Struct for the JSON API and the form alike. What changed reaches the pages through the change feed."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Request, delete, get, post
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.params import Parameter
from litestar.response import Response, Template
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ehalsodag.agenda import stages, tracks
from ehalsodag.agenda.models import Event
from ehalsodag.agenda.service import load_event
from ehalsodag.attendees.auth import current_attendee
from ehalsodag.attendees.models import Attendee
from ehalsodag.chat import service as chat_service
from ehalsodag.chat.models import ChatMessage
from ehalsodag.fragments import Audience, Viewer
from ehalsodag.i18n import _
from ehalsodag.qa.service import set_premoderation
from ehalsodag.safety import service as safety_service
from ehalsodag.safety.models import UndoAction
from ehalsodag.safety.replies import undo_data, undo_reply
from ehalsodag.staff.auth import has_staff_credentials, is_staff_of, moderator_guard
from ehalsodag.staff.models import StaffUser
from ehalsodag.web.actions import Id, documented, reply
from ehalsodag.web.bounds import Text
from ehalsodag.web.forms import form_of
from ehalsodag.web.responses import is_htmx

HISTORY_PAGE = 50
#: The largest id a row can have (a bigger one in a path cannot name a message).
MAX_ID = 2**63 - 1


class ChatBody(msgspec.Struct, forbid_unknown_fields=True):
    """POST /api/v1/events/{slug}/chat and the chat form: anonymous unless ``anonymous`` is false (the form's
    "show my name" box), the same choice as a question's."""

    text: Text
    anonymous: bool = True


class SettingsBody(msgspec.Struct, forbid_unknown_fields=True):
    """POST /api/v1/events/{slug}/settings and the switches on the control panel (a form sends 1 or 0)."""

    chat_enabled: bool | None = None
    premoderation: bool | None = None


#: The home stage of the path's attendee (a region's moderator mutes that region's attendees only).
attendee_stage = stages.stage_of_path(Attendee, "attendee_id")

#: The stage of the path's chat message (for a moderator of one stage).
message_stage = stages.stage_of_path(ChatMessage, "message_id")


async def message_event(connection: ASGIConnection[Any, Any, Any, Any]) -> int | None:
    """The event of the path's chat message (for the staff guard)."""
    message_id = connection.path_params["message_id"]
    if not 1 <= message_id <= MAX_ID:
        return None
    async with connection.app.state.db.reader() as session:
        return (await session.execute(select(ChatMessage.event_id).where(ChatMessage.id == message_id))).scalar()


async def _chat_post(request: Request[Any, Any, Any], event: Event, attendee: Attendee, body: ChatBody,
                     uow: AsyncSession) -> Response[Any]:
    if event.chat_enabled and attendee.muted_at is None:  # refusals first, so they never count
        await request.app.state.rate_limits.enforce("chat", attendee.id)
    message = await chat_service.post(uow, event, attendee, body.text, anonymous=body.anonymous)
    return reply(request, data={"id": message.id}, message=_("Sent."), back=f"/e/{event.slug}#chat",
                 status_code=201)


@post("/api/v1/events/{slug:str}/chat", name="api_chat_post", status_code=201)
async def api_chat_post(
    request: Request[Any, Any, Any], event: Event, attendee: Attendee, uow: AsyncSession,
    data: Annotated[ChatBody, documented("A chat message", {"text": "Hej från vårdcentralen i Motala!"})],
) -> Response[Any]:
    """Write in the chat (5 messages per 10 s and 1000 characters per attendee); anonymous unless ``anonymous`` is
    false."""
    return await _chat_post(request, event, attendee, data, uow)


@post("/e/{slug:str}/chat", name="form_chat_post", dependencies={"form": form_of(ChatBody)})
async def form_chat_post(request: Request[Any, Any, Any], event: Event, attendee: Attendee, uow: AsyncSession,
                         form: ChatBody) -> Response[Any]:
    """The chat form on the attendee page."""
    return await _chat_post(request, event, attendee, form, uow)


@get("/e/{slug:str}/chat", name="chat_history")
async def chat_history(request: Request[Any, Any, Any], slug: str, db_session: AsyncSession,
                       before: Annotated[int | None, Parameter(ge=1, le=MAX_ID)] = None) -> Template:
    """Older messages, for scrolling back (htmx puts them in place of the "show older" link)."""
    event = await load_event(db_session, slug)
    attendee = await require_attendee_or_staff(request, db_session, event)
    # the history of the stage this page shows: an attendee's the one they follow now, staff the one they ask for
    viewer = Viewer(Audience.ATTENDEE, stage=attendee.stage_id) if attendee is not None else Viewer(
        Audience.STAFF, stage=getattr(tracks.stage_by_key(event, request.query_params.get("stage")), "id", None))
    on = tracks.on_stage(ChatMessage.stage_id, event, tracks.content_stage_id(event, viewer))
    messages = await chat_service.recent(db_session, event.id, before_id=before, limit=HISTORY_PAGE, on=on)
    template = "chat/history.html" if is_htmx(request) else "chat/history_page.html"
    return Template(template, context={"event": event, "messages": messages, "more": len(messages) == HISTORY_PAGE})


async def require_attendee_or_staff(request: Request[Any, Any, Any], session: AsyncSession,
                                    event: Event) -> Attendee | None:
    """Chat history is for people in the event: its attendees (returned) or its staff (None)."""
    attendee = await current_attendee(request, session, event.id)
    if attendee is not None:
        return attendee
    if await is_staff_of(request, session, event.id):
        return None
    if has_staff_credentials(request):
        raise PermissionDeniedException(detail=_("You are not staff of this event."))
    raise NotAuthorizedException(detail=_("Join the event first."))


async def _delete(uow: AsyncSession, staff: StaffUser, message_id: int) -> UndoAction | None:
    message = await uow.get(ChatMessage, message_id)
    event = await uow.get(Event, message.event_id) if message is not None else None
    if message is None or event is None:
        raise chat_service.ChatError(_("No such message."), 404)
    return await safety_service.delete_message(uow, message_id, event, staff.email)


@delete("/api/v1/chat/{message_id:int}", name="api_chat_delete", status_code=200, guards=[moderator_guard],
        opt={"event_of": message_event, "stage_of": message_stage})
async def api_chat_delete(message_id: Id, uow: AsyncSession, staff: StaffUser) -> dict[str, Any]:
    """Remove a message from the chat; the answer's ``undo: {id, until}`` puts it back (POST /api/v1/undo/{id}
    within 10 s)."""
    undo = await _delete(uow, staff, message_id)
    return {"id": message_id, "deleted": True, "undo": undo_data(undo)}


@post("/e/{slug:str}/control/chat/{message_id:int}/delete", name="form_chat_delete", guards=[moderator_guard],
      opt={"event_of": message_event, "stage_of": message_stage})
async def form_chat_delete(request: Request[Any, Any, Any], slug: str, message_id: Id, uow: AsyncSession,
                           staff: StaffUser) -> Response[Any]:
    """The delete button on the control panel."""
    undo = await _delete(uow, staff, message_id)
    return undo_reply(request, slug=slug, action=undo, data={"id": message_id, "deleted": True},
                      message=_("The chat message is deleted."), back=f"/e/{slug}/control#mod-chat")


@post(["/api/v1/events/{slug:str}/attendees/{attendee_id:int}/mute",
       "/e/{slug:str}/control/attendees/{attendee_id:int}/mute"], name="mute", status_code=200,
      guards=[moderator_guard], opt={"stage_of": attendee_stage})
async def mute(request: Request[Any, Any, Any], event: Event, attendee_id: Id, uow: AsyncSession,
               staff: StaffUser) -> Response[Any]:
    """Mute an attendee for the rest of the day: no more chat messages or questions. The answer's
    ``undo: {id, until}`` takes it back within 10 s; later, unmute them (``…/unmute``)."""
    undo = await safety_service.mute(uow, attendee_id, event, staff.email)
    return undo_reply(request, slug=event.slug, action=undo, data={"attendee_id": attendee_id, "muted": True},
                      message=_("The attendee is muted for the rest of the day."),
                      back=f"/e/{event.slug}/control#mod-chat")


async def _event_settings(request: Request[Any, Any, Any], event: Event, body: SettingsBody, uow: AsyncSession,
                          staff: StaffUser) -> Response[Any]:
    if body.chat_enabled is not None:
        await chat_service.set_chat_enabled(uow, event, body.chat_enabled, staff.email)
    if body.premoderation is not None:
        await set_premoderation(uow, event, body.premoderation, staff.email)
    settings = {"chat_enabled": event.chat_enabled, "premoderation": event.premoderation}
    said = []
    if body.chat_enabled is not None:
        said.append(_("The chat is on.") if event.chat_enabled else _("The chat is off."))
    if body.premoderation is not None:
        said.append(_("New questions wait for approval.") if event.premoderation
                    else _("New questions are shown at once."))
    return reply(request, data=settings, message=" ".join(said) or _("Settings saved."),
                 back=f"/e/{event.slug}/control")


@post("/api/v1/events/{slug:str}/settings", name="api_event_settings", status_code=200, guards=[moderator_guard],
      opt={"whole_event": True})
async def api_event_settings(
    request: Request[Any, Any, Any], event: Event, uow: AsyncSession, staff: StaffUser,
    data: Annotated[SettingsBody, documented("Pre-moderate questions", {"premoderation": True})],
) -> Response[Any]:
    """Switch the chat and the pre-moderation of questions on or off (staff)."""
    return await _event_settings(request, event, data, uow, staff)


@post("/e/{slug:str}/control/settings", name="form_event_settings", guards=[moderator_guard],
      opt={"whole_event": True},
      dependencies={"form": form_of(SettingsBody)})
async def form_event_settings(request: Request[Any, Any, Any], event: Event, uow: AsyncSession, staff: StaffUser,
                              form: SettingsBody) -> Response[Any]:
    """The switches on the control panel."""
    return await _event_settings(request, event, form, uow, staff)


routes = [api_chat_post, form_chat_post, chat_history, api_chat_delete, form_chat_delete, mute, api_event_settings,
          form_event_settings]
