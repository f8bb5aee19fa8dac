"""Chat over HTTP: post, scroll back, and the moderators' delete, mute and on/off switches."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Request, delete, get, post
from litestar.exceptions import ClientException
from litestar.response import Response, Template
from sqlalchemy.ext.asyncio import AsyncSession

from ehalsodag.agenda.models import Event
from ehalsodag.agenda.routes import load_event
from ehalsodag.chat import service as chat_service
from ehalsodag.chat.models import ChatMessage
from ehalsodag.i18n import _
from ehalsodag.qa.service import set_premoderation
from ehalsodag.web.actions import Id, documented, first, form_fields, reply, require_attendee
from ehalsodag.web.auth import current_attendee, require_staff
from ehalsodag.web.responses import is_htmx

HISTORY_PAGE = 50


class ChatBody(msgspec.Struct, forbid_unknown_fields=True):
    """POST /api/v1/events/{slug}/chat"""

    text: str


class SettingsBody(msgspec.Struct, forbid_unknown_fields=True):
    """POST /api/v1/events/{slug}/settings"""

    chat_enabled: bool | None = None
    premoderation: bool | None = None



@post("/api/v1/events/{slug:str}/chat", name="api_chat_post", status_code=201)
async def api_chat_post(
    request: Request[Any, Any, Any], slug: str,
    data: Annotated[ChatBody, documented("A chat message", {"text": "Hej från vårdcentralen i Motala!"})],
) -> Response[Any]:
    """Write in the chat (5 messages per 10 s and 1000 characters per attendee)."""
    return await _chat_post(request, slug, data.text)


@post("/e/{slug:str}/chat", name="form_chat_post", include_in_schema=False)
async def form_chat_post(request: Request[Any, Any, Any], slug: str) -> Response[Any]:
    """The chat form on the attendee page."""
    return await _chat_post(request, slug, first(await form_fields(request), "text"))


async def _chat_post(request: Request[Any, Any, Any], slug: str, text: str) -> Response[Any]:
    state = request.app.state
    async with state.db.writer() as session:
        event = await load_event(session, slug)
        attendee = await require_attendee(request, session, event)
        if event.chat_enabled and attendee.muted_at is None:  # refusals first, so they never count
            await state.rate_limits.enforce("chat", attendee.id)
        message = await chat_service.post(session, event, attendee, text)
    await state.broadcaster.push_chat_message(event, message)
    return reply(request, data={"id": message.id}, message=_("Sent."), back=f"/e/{slug}#chat", status_code=201)


@get("/e/{slug:str}/chat", name="chat_history", include_in_schema=False)
async def chat_history(request: Request[Any, Any, Any], slug: str, db_session: AsyncSession,
                       before: int | None = None) -> Template:
    """Older messages, for scrolling back (htmx puts them above the ones shown)."""
    event = await load_event(db_session, slug)
    await require_attendee_or_staff(request, db_session, event)
    messages = await chat_service.recent(db_session, event.id, before_id=before, limit=HISTORY_PAGE)
    template = "partials/chat_history.html" if is_htmx(request) else "attendee/chat_history.html"
    return Template(template, context={"event": event, "messages": messages, "more": len(messages) == HISTORY_PAGE})


async def require_attendee_or_staff(request: Request[Any, Any, Any], session: AsyncSession, event: Event) -> None:
    """Chat history is for people in the event: attendees or its staff."""
    if await current_attendee(request, session, event) is None:
        await require_staff(request, session, event)


async def _delete(request: Request[Any, Any, Any], message_id: Id) -> None:
    state = request.app.state
    async with state.db.writer() as session:
        message = await session.get(ChatMessage, message_id)
        if message is None:
            raise ClientException(detail=_("No such message."), status_code=404)
        event = await session.get(Event, message.event_id)
        assert event is not None
        user = await require_staff(request, session, event)
        await chat_service.delete_message(session, message_id, event, user.email)
    await state.broadcaster.push_chat_removed(event, message_id)


@delete("/api/v1/chat/{message_id:int}", name="api_chat_delete", status_code=200)
async def api_chat_delete(request: Request[Any, Any, Any], message_id: Id) -> dict[str, Any]:
    """Remove a message from the chat."""
    await _delete(request, message_id)
    return {"id": message_id, "deleted": True}


@post("/e/{slug:str}/control/chat/{message_id:int}/delete", name="form_chat_delete", include_in_schema=False)
async def form_chat_delete(request: Request[Any, Any, Any], slug: str, message_id: Id) -> Response[Any]:
    """The delete button on the control panel."""
    await _delete(request, message_id)
    return reply(request, data={}, message=_("Message deleted."), back=f"/e/{slug}/control#mod-chat")


@post(["/api/v1/events/{slug:str}/attendees/{attendee_id:int}/mute",
       "/e/{slug:str}/control/attendees/{attendee_id:int}/mute"], name="mute", status_code=200)
async def mute(request: Request[Any, Any, Any], slug: str, attendee_id: Id) -> Response[Any]:
    """Mute an attendee for the rest of the day."""
    state = request.app.state
    async with state.db.writer() as session:
        event = await load_event(session, slug)
        user = await require_staff(request, session, event)
        await chat_service.mute(session, attendee_id, event, user.email)
    return reply(request, data={"attendee_id": attendee_id, "muted": True},
                 message=_("The attendee is muted for the rest of the day."), back=f"/e/{slug}/control#mod-chat")


@post("/api/v1/events/{slug:str}/settings", name="api_event_settings", status_code=200)
async def api_event_settings(
    request: Request[Any, Any, Any], slug: str,
    data: Annotated[SettingsBody, documented("Pre-moderate questions", {"premoderation": True})],
) -> Response[Any]:
    """Switch the chat and the pre-moderation of questions on or off (staff)."""
    return await _event_settings(request, slug, data)


@post("/e/{slug:str}/control/settings", name="form_event_settings", include_in_schema=False)
async def form_event_settings(request: Request[Any, Any, Any], slug: str) -> Response[Any]:
    """The switches on the control panel."""
    fields = await form_fields(request)
    flags = {k: first(fields, k) == "1" for k in ("chat_enabled", "premoderation") if k in fields}
    return await _event_settings(request, slug, SettingsBody(**flags))


async def _event_settings(request: Request[Any, Any, Any], slug: str, body: SettingsBody) -> Response[Any]:
    state = request.app.state
    async with state.db.writer() as session:
        event = await load_event(session, slug)
        user = await require_staff(request, session, event)
        if body.chat_enabled is not None:
            await chat_service.set_chat_enabled(session, event, body.chat_enabled, user.email)
        if body.premoderation is not None:
            await set_premoderation(session, event, body.premoderation, user.email)
        settings = {"chat_enabled": event.chat_enabled, "premoderation": event.premoderation}
    await state.broadcaster.push(slug, "settings", "questions")
    return reply(request, data=settings, message=_("Settings saved."), back=f"/e/{slug}/control")


routes = [api_chat_post, form_chat_post, chat_history, api_chat_delete, form_chat_delete, mute, api_event_settings,
          form_event_settings]
