"""Chat services: post, delete, mute, switch the chat on or off; and the queries the chat's views need.

They change rows in the caller's unit of work and record what changed (:func:`ehalsodag.changes.changed`);
they never commit. The per-attendee rate limit is the route's (it must not count refusals).
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from ehalsodag.agenda import tracks
from ehalsodag.agenda.models import Event
from ehalsodag.attendees.models import Attendee
from ehalsodag.changes import Topic, changed
from ehalsodag.chat.models import ChatMessage
from ehalsodag.errors import RefusedError
from ehalsodag.i18n import _
from ehalsodag.qa.models import Question
from ehalsodag.staff import audit
from ehalsodag.text import TextError, clean_text

MAX_MESSAGE = 1000
#: Messages on the attendee page (the newest; older ones are loaded on demand).
HISTORY = 100
#: Messages on the moderators' list (the newest, newest first).
MODERATED = 50


class Setting(enum.IntEnum):
    """Which switch a ``Topic.SETTINGS`` change concerns (its ids). A change without ids (pre-moderation,
    a reloaded programme) leaves the attendees' chat form alone: only the chat switch changes it."""

    CHAT = 1


class ChatError(RefusedError):
    """A chat action that cannot be done; ``status_code`` is the HTTP answer."""


def newest_first(message_id: int) -> str:
    """A message's place in the moderators' list, as a string that sorts ascending: newest first."""
    return f"{9_999_999_999_999_999_999 - message_id:019d}"


async def post(session: AsyncSession, event: Event, attendee: Attendee, text: str, *,
               anonymous: bool = True) -> ChatMessage:
    """Post a message as the attendee: anonymous unless they choose to show their name (as with questions);
    moderators tell anonymous writers apart by :func:`~ehalsodag.attendees.service.pseudonym`."""
    if not event.chat_enabled:
        raise ChatError(_("The chat is switched off."), 409)
    if attendee.muted_at is not None:
        raise ChatError(_("A moderator has muted you for the rest of the day."), 403)
    try:
        cleaned = clean_text(text, MAX_MESSAGE, what=_("The message"))
    except TextError as exc:
        raise ChatError(str(exc)) from exc
    if not anonymous and not attendee.display_name:
        raise ChatError(_("You joined without a name, so your messages can only be anonymous."), 422)
    # a message goes to the stage the attendee follows now: their region's chat during its own block
    followed = tracks.track_of(event, tracks.home_of(event, attendee.stage_id), dt.datetime.now(dt.UTC))
    message = ChatMessage(event_id=event.id, attendee_id=attendee.id,
                          author_name=None if anonymous else attendee.display_name, text=cleaned,
                          deleted=False, stage_id=followed.id if followed else None)
    session.add(message)
    await session.flush()
    changed(session, Topic.CHAT, event.id, message.id)
    return message


async def recent(session: AsyncSession, event_id: int, before_id: int | None = None,
                 limit: int = HISTORY, on: ColumnElement[bool] | None = None) -> list[ChatMessage]:
    """Up to ``limit`` visible messages before ``before_id`` (or the latest), oldest first; ``on``: of one stage
    (:func:`ehalsodag.agenda.tracks.on_stage`)."""
    query = select(ChatMessage).where(ChatMessage.event_id == event_id, ChatMessage.deleted.is_(False), *_on(on))
    if before_id is not None:
        query = query.where(ChatMessage.id < before_id)
    rows = (await session.execute(query.order_by(ChatMessage.id.desc()).limit(limit))).scalars().all()
    return list(reversed(rows))


async def has_older(session: AsyncSession, event_id: int, message_id: int,
                    on: ColumnElement[bool] | None = None) -> bool:
    """Whether a visible message older than ``message_id`` exists (the "show older" link)."""
    row = (await session.execute(select(ChatMessage.id).where(
        ChatMessage.event_id == event_id, ChatMessage.deleted.is_(False), ChatMessage.id < message_id, *_on(on)
    ).limit(1))).first()
    return row is not None


def _on(on: ColumnElement[bool] | None) -> tuple[ColumnElement[bool], ...]:
    return () if on is None else (on,)


async def newest_ids(session: AsyncSession, event_id: int, limit: int,
                     on: ColumnElement[bool] | None = None) -> list[int]:
    """The ids of the newest ``limit`` visible messages, newest first."""
    return list((await session.execute(
        select(ChatMessage.id).where(ChatMessage.event_id == event_id, ChatMessage.deleted.is_(False), *_on(on))
        .order_by(ChatMessage.id.desc()).limit(limit))).scalars())


async def messages_by_id(session: AsyncSession, ids: Iterable[int]) -> list[ChatMessage]:
    """The messages with these ids (deleted ones too), oldest first."""
    wanted = list(ids)
    if not wanted:
        return []
    return list((await session.execute(
        select(ChatMessage).where(ChatMessage.id.in_(wanted)).order_by(ChatMessage.id))).scalars())


async def muted_among(session: AsyncSession, attendee_ids: Iterable[int | None]) -> frozenset[int]:
    """Which of ``attendee_ids`` a moderator has muted."""
    wanted = [a for a in set(attendee_ids) if a is not None]
    if not wanted:
        return frozenset()
    return frozenset((await session.execute(
        select(Attendee.id).where(Attendee.id.in_(wanted), Attendee.muted_at.is_not(None)))).scalars())


async def muted_attendees(session: AsyncSession, event_id: int) -> frozenset[int]:
    """Every muted attendee of the event (few: moderators mute one at a time)."""
    return frozenset((await session.execute(
        select(Attendee.id).where(Attendee.event_id == event_id, Attendee.muted_at.is_not(None)))).scalars())


async def is_muted(session: AsyncSession, attendee_id: int) -> bool:
    """Whether a moderator has muted this attendee."""
    return bool(await muted_among(session, [attendee_id]))


async def delete_message(session: AsyncSession, message_id: int, event: Event, actor: str) -> ChatMessage:
    """Remove a message from the chat (kept, marked deleted, for the audit trail)."""
    message = await session.get(ChatMessage, message_id)
    if message is None or message.event_id != event.id:
        raise ChatError(_("No such message."), 404)
    message.deleted = True
    audit.record(session, actor=actor, action="chat.delete", event_id=event.id, message=message.id,
                 text=message.text)
    changed(session, Topic.CHAT, event.id, message.id)
    return message


async def mute(session: AsyncSession, attendee_id: int, event: Event, actor: str) -> Attendee:
    """Mute an attendee for the rest of the day: no more chat messages or questions."""
    attendee = await session.get(Attendee, attendee_id)
    if attendee is None or attendee.event_id != event.id:
        raise ChatError(_("No such attendee."), 404)
    attendee.muted_at = attendee.muted_at or dt.datetime.now(dt.UTC)
    audit.record(session, actor=actor, action="attendee.mute", event_id=event.id, attendee=attendee.id)
    changed(session, Topic.ATTENDEE, event.id, attendees=[attendee.id])
    return attendee


async def unmute(session: AsyncSession, attendee_id: int, event: Event, actor: str) -> Attendee:
    """Let a muted attendee chat and ask again."""
    attendee = await session.get(Attendee, attendee_id)
    if attendee is None or attendee.event_id != event.id:
        raise ChatError(_("No such attendee."), 404)
    attendee.muted_at = None
    audit.record(session, actor=actor, action="attendee.unmute", event_id=event.id, attendee=attendee.id)
    changed(session, Topic.ATTENDEE, event.id, attendees=[attendee.id])
    return attendee


async def undelete_message(session: AsyncSession, message: ChatMessage, actor: str) -> None:
    """Put a deleted message back in the chat (undo)."""
    message.deleted = False
    audit.record(session, actor=actor, action="chat.undelete", event_id=message.event_id, message=message.id)
    changed(session, Topic.CHAT, message.event_id, message.id)


@dataclass(frozen=True)
class Muted:
    """A muted attendee as moderators see them: never a name they did not choose to show."""

    attendee_id: int
    event_id: int
    muted_at: dt.datetime
    #: The name the attendee showed with their latest message or question (None: they stayed anonymous).
    shown_name: str | None
    #: The home stage (their region), for the panel that lists them.
    stage_id: int | None


async def muted_list(session: AsyncSession, event_id: int, attendee_ids: Iterable[int] | None = None) -> list[Muted]:
    """The event's muted attendees (or those of ``attendee_ids`` that are muted), longest muted first."""
    query = select(Attendee).where(Attendee.event_id == event_id, Attendee.muted_at.is_not(None))
    if attendee_ids is not None:
        query = query.where(Attendee.id.in_(list(attendee_ids)))
    rows = list((await session.execute(query.order_by(Attendee.muted_at, Attendee.id))).scalars())
    names: dict[int, str] = {}
    if rows:
        ids = [a.id for a in rows]
        shown = await session.execute(
            select(ChatMessage.attendee_id, ChatMessage.author_name).where(
                ChatMessage.attendee_id.in_(ids), ChatMessage.author_name.is_not(None)).order_by(ChatMessage.id))
        names.update({attendee: name for attendee, name in shown.tuples() if attendee is not None and name})
        asked = await session.execute(
            select(Question.attendee_id, Question.author_name).where(
                Question.attendee_id.in_(ids), Question.author_name.is_not(None)).order_by(Question.id))
        for attendee, name in asked.tuples():
            if attendee is not None and name:
                names.setdefault(attendee, name)
    return [Muted(a.id, a.event_id, a.muted_at, names.get(a.id), a.stage_id) for a in rows if a.muted_at]


async def set_chat_enabled(session: AsyncSession, event: Event, enabled: bool, actor: str) -> None:
    """Switch the event's chat on or off."""
    event.chat_enabled = enabled
    audit.record(session, actor=actor, action="chat.on" if enabled else "chat.off", event_id=event.id)
    changed(session, Topic.SETTINGS, event.id, Setting.CHAT)
