"""Chat services: post (rate-limited), delete, mute, switch the chat on or off."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ehalsodag.agenda.models import Event
from ehalsodag.chat.models import ChatMessage
from ehalsodag.errors import RefusedError
from ehalsodag.i18n import _
from ehalsodag.live.models import Attendee
from ehalsodag.staff import audit
from ehalsodag.text import TextError, clean_text

MAX_MESSAGE = 1000
HISTORY = 100


class ChatError(RefusedError):
    """A chat action that cannot be done; ``status_code`` is the HTTP answer."""


async def post(session: AsyncSession, event: Event, attendee: Attendee, text: str) -> ChatMessage:
    """Post a message as the attendee (their display name, if they gave one)."""
    if not event.chat_enabled:
        raise ChatError(_("The chat is switched off."), 409)
    if attendee.muted_at is not None:
        raise ChatError(_("A moderator has muted you for the rest of the day."), 403)
    try:
        cleaned = clean_text(text, MAX_MESSAGE, what=_("The message"))
    except TextError as exc:
        raise ChatError(str(exc)) from exc
    message = ChatMessage(event_id=event.id, attendee_id=attendee.id, author_name=attendee.display_name,
                          text=cleaned, deleted=False)
    session.add(message)
    await session.commit()
    return message


async def recent(session: AsyncSession, event_id: int, before_id: int | None = None,
                 limit: int = HISTORY) -> list[ChatMessage]:
    """Up to ``limit`` visible messages before ``before_id`` (or the latest), oldest first."""
    query = select(ChatMessage).where(ChatMessage.event_id == event_id, ChatMessage.deleted.is_(False))
    if before_id is not None:
        query = query.where(ChatMessage.id < before_id)
    rows = (await session.execute(query.order_by(ChatMessage.id.desc()).limit(limit))).scalars().all()
    return list(reversed(rows))


async def delete_message(session: AsyncSession, message_id: int, event: Event, actor: str) -> ChatMessage:
    """Remove a message from the chat (kept, marked deleted, for the audit trail)."""
    message = await session.get(ChatMessage, message_id)
    if message is None or message.event_id != event.id:
        raise ChatError(_("No such message."), 404)
    message.deleted = True
    audit.record(session, actor=actor, action="chat.delete", event_id=event.id, message=message.id,
                 text=message.text)
    await session.commit()
    return message


async def mute(session: AsyncSession, attendee_id: int, event: Event, actor: str) -> Attendee:
    """Mute an attendee for the rest of the day: no more chat messages or questions."""
    attendee = await session.get(Attendee, attendee_id)
    if attendee is None or attendee.event_id != event.id:
        raise ChatError(_("No such attendee."), 404)
    attendee.muted_at = dt.datetime.now(dt.UTC)
    audit.record(session, actor=actor, action="attendee.mute", event_id=event.id, attendee=attendee.id)
    await session.commit()
    return attendee


async def set_chat_enabled(session: AsyncSession, event: Event, enabled: bool, actor: str) -> None:
    """Switch the event's chat on or off."""
    event.chat_enabled = enabled
    audit.record(session, actor=actor, action="chat.on" if enabled else "chat.off", event_id=event.id)
    await session.commit()
