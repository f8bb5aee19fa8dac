"""What each audience sees of the chat, and how to load just that.

Attendees: the chat log (``#chat-log``, the newest :data:`~ehalsodag.chat.service.HISTORY` messages, oldest
first; a message is pushed alone and lands in its place by id, a deleted one is removed) and the chat form
area (``#chat-form-area``: the form, "switched off", or — personal — "you are muted"). The form area is pushed
only when the chat is switched on or off, or to an attendee who was just muted; its form is kept by the
page (``data-keep``) with what the person typed.

Moderators: the switches (``#mod-settings``: chat on/off, pre-moderation of questions) and the newest
:data:`~ehalsodag.chat.service.MODERATED` messages, newest first (``#mod-chat-list``), one item at a time:
a posted message is inserted in order and the one it pushes out of the list removed; a deleted one is
removed and the next older one inserted at the end, so the list agrees with a fresh snapshot at any length.

Beyond 100 messages the attendee log is kept at the newest 100 by the page (``data-max``): a page kept
current by pushes then drops its "show older" link (a fresh page or reconnect brings it back), and a deleted
message is not replaced by the one before the window. Up to 100 messages, pushes and snapshot agree exactly.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from ehalsodag.agenda import tracks
from ehalsodag.attendees.models import Attendee
from ehalsodag.changes import Change, Topic
from ehalsodag.chat import service
from ehalsodag.chat.models import ChatMessage
from ehalsodag.fragments import Audience, Fragment, Viewer
from ehalsodag.i18n import lazy

#: How many messages the moderators' list reads, and clears, beyond those a change names and those committed
#: after it was formed: a margin for deletions and undos committed meanwhile, which no id betrays.
LATER = 20


def form_context(event: Any, muted: bool) -> dict[str, Any]:
    """The chat form's context: the event, whether this attendee is muted, and the server's length limit."""
    return {"event": event, "muted": muted, "max_message": service.MAX_MESSAGE}


class ChatFragments:
    """The chat's fragment source (chat messages, the event's switches, muted attendees)."""

    topics = frozenset({Topic.CHAT, Topic.SETTINGS, Topic.ATTENDEE})

    async def for_change(self, session: AsyncSession, event: Any, change: Change) -> list[Fragment]:
        if change.topic is Topic.CHAT:
            return await self._messages(session, event, change.ids)
        if change.topic is Topic.SETTINGS:
            return await self._settings(session, event, change)
        if change.topic is Topic.ATTENDEE:
            return await self._muted(session, event, change.attendees)
        return []

    async def _messages(self, session: AsyncSession, event: Any, ids: frozenset[int]) -> list[Fragment]:
        """Per stage (a region's chat never reaches another region): attendees get posted messages appended and
        deleted ones removed; moderators the list's items that changed, and the messages that fall out of (or
        move up into) the newest :data:`service.MODERATED`."""
        if not ids:
            return []
        messages = await service.messages_by_id(session, ids)
        fragments: list[Fragment] = []
        erased = ids - {m.id for m in messages}  # deleted with the attendee's own data: gone from every page
        if erased:
            fragments.append(Fragment(Audience.ATTENDEE, "layout/remove.html",
                                      {"ids": [f"chat-{i}" for i in sorted(erased)]}))
            fragments.append(Fragment(Audience.STAFF, "layout/remove.html",
                                      {"ids": [f"mc-{i}" for i in sorted(erased)]}))
        by_stage: dict[int | None, list[Any]] = {}
        for message in messages:
            if message.event_id == event.id:
                by_stage.setdefault(tracks.stage_of_content(event, message.stage_id), []).append(message)
        for stage_id, theirs in by_stage.items():
            fragments += await self._stage_messages(session, event, stage_id, theirs)
        return fragments

    async def _stage_messages(self, session: AsyncSession, event: Any, stage_id: int | None,
                              messages: list[Any]) -> list[Fragment]:
        ids = {m.id for m in messages}
        shown = [m for m in messages if not m.deleted]
        gone = ids - {m.id for m in shown}
        base = {"event": event, "newest_first": service.newest_first}
        fragments: list[Fragment] = []
        if gone:
            fragments.append(Fragment(Audience.ATTENDEE, "layout/remove.html",
                                      {"ids": [f"chat-{i}" for i in sorted(gone)]}, stage=stage_id))
        # Attendees: each message put in its place by id (a posted one lands last, one put back by an undo among
        # the others); the page keeps the newest HISTORY.
        fragments += [Fragment(Audience.ATTENDEE, "chat/message.html", {**base, "message": m}, stage=stage_id)
                      for m in shown]
        # Moderators: the list after the change, and a little beyond. A message posted alone, with nothing committed
        # since, is inserted and the one it pushes out removed. Otherwise the page may differ from what this change
        # alone would make of it near the list's end: messages committed after this change was formed already count
        # here (their own changes wait behind this one), a deletion moves an older message up, an undo puts one
        # back. Then the end of the list is sent again and what lies just beyond it removed, as wide as the
        # changes allow for: sending an item the page has, or removing one it lacks, changes nothing.
        on = tracks.on_stage(ChatMessage.stage_id, event, stage_id)
        limit = service.MODERATED + len(ids) + LATER
        while True:  # read far enough beyond the list for every change since, however many there were
            newest = await service.newest_ids(session, event.id, limit, on)
            later = sum(1 for i in newest if i > max(ids))
            if len(newest) < limit or limit >= service.MODERATED + len(ids) + later + LATER:
                break
            limit = service.MODERATED + len(ids) + later + LATER
        listed = newest[:service.MODERATED]
        plain = not gone and not later and all(not newest or m.id >= newest[0] for m in shown)
        width = len(ids) if plain else len(ids) + later + LATER
        out = sorted(gone | set(newest[service.MODERATED:service.MODERATED + width]))
        if out:
            fragments.append(Fragment(Audience.STAFF, "layout/remove.html", {"ids": [f"mc-{i}" for i in out]},
                                      stage=stage_id))
        again = [] if plain else [i for i in listed[-width:] if i not in ids]
        items = [m for m in shown if m.id in listed] + await service.messages_by_id(session, again)
        muted = await service.muted_among(session, [m.attendee_id for m in items])
        fragments += [Fragment(Audience.STAFF, "chat/mod_item.html", {**base, "message": m, "muted": muted},
                               stage=stage_id) for m in items]
        return fragments

    async def _settings(self, session: AsyncSession, event: Any, change: Change) -> list[Fragment]:
        """The moderators' switches; the attendees' chat form area only when the chat itself was switched."""
        fragments = [Fragment(Audience.STAFF, "chat/mod_settings.html", {"event": event})]
        if service.Setting.CHAT not in change.ids:
            return fragments  # pre-moderation: nothing of the chat changed (a half-typed message stays)
        muted = await service.muted_attendees(session, event.id)  # their area says "muted" either way
        text = lazy("The chat is switched on.") if event.chat_enabled else lazy(
            "The broadcast has ended and the chat is closed. Thank you for taking part – tell us what you thought in "
            "the evaluation!") if event.broadcast_ended_at else lazy("The chat is switched off.")
        return [*fragments,
                Fragment(Audience.ATTENDEE, "chat/chat_form.html", form_context(event, False), exclude=muted),
                Fragment(Audience.ATTENDEE, "layout/announce.html", {"text": text}, exclude=muted)]

    async def _muted(self, session: AsyncSession, event: Any, attendees: frozenset[int]) -> list[Fragment]:
        """A muted (or unmuted) attendee's own form area (and a word for their screen reader); the moderators see
        "muted" on that attendee's messages in their list, and the muted list gains (or loses) them."""
        muted = await service.muted_among(session, attendees)
        unmuted = frozenset(attendees - muted)
        fragments: list[Fragment] = []
        if muted:
            fragments += [
                Fragment(Audience.ATTENDEE, "chat/chat_form.html", form_context(event, True), to=muted),
                Fragment(Audience.ATTENDEE, "layout/announce.html",
                         {"text": lazy("A moderator has muted you for the rest of the day.")}, to=muted)]
        if unmuted:
            fragments += [
                Fragment(Audience.ATTENDEE, "chat/chat_form.html", form_context(event, False), to=unmuted),
                Fragment(Audience.ATTENDEE, "layout/announce.html",
                         {"text": lazy("You can write in the chat and ask questions again.")}, to=unmuted)]
        if not attendees:
            return fragments
        for stage in event.stages or [None]:
            stage_id = stage.id if stage else None
            on = tracks.on_stage(ChatMessage.stage_id, event, stage_id) if stage else None
            listed = await service.newest_ids(session, event.id, service.MODERATED, on)
            theirs = [m for m in await service.messages_by_id(session, listed) if m.attendee_id in attendees]
            fragments += [Fragment(Audience.STAFF, "chat/mod_item.html", {
                "event": event, "newest_first": service.newest_first, "message": m, "muted": muted},
                stage=stage_id) for m in theirs]
        for person in await service.muted_list(session, event.id, muted):
            fragments.append(Fragment(Audience.STAFF, "chat/mod_muted_item.html", {"event": event, "person": person},
                                      stage=tracks.stage_of_content(event, person.stage_id)))
        if unmuted:
            fragments.append(Fragment(Audience.STAFF, "layout/remove.html",
                                      {"ids": [f"mm-{i}" for i in sorted(unmuted)]}))
        return fragments

    async def snapshot(self, session: AsyncSession, event: Any, viewer: Viewer) -> list[Fragment]:
        on = tracks.on_stage(ChatMessage.stage_id, event, tracks.content_stage_id(event, viewer))
        if viewer.audience is Audience.ATTENDEE:
            messages = await service.recent(session, event.id, on=on)
            more = bool(messages) and await service.has_older(session, event.id, messages[0].id, on)
            muted = viewer.attendee_id is not None and await service.is_muted(session, viewer.attendee_id)
            return [Fragment(Audience.ATTENDEE, "chat/chat_log.html",
                             {"event": event, "messages": messages, "more": more}, slot="chat_log"),
                    Fragment(Audience.ATTENDEE, "chat/chat_form.html", form_context(event, muted),
                             slot="chat_form")]
        if viewer.audience is Audience.STAFF:
            messages = list(reversed(await service.recent(session, event.id, limit=service.MODERATED, on=on)))
            muted = await service.muted_among(session, [m.attendee_id for m in messages])
            shown = tracks.shown_stage(event, viewer.stage)
            people = [p for p in await service.muted_list(session, event.id)
                      if shown is None or tracks.stage_of_content(event, p.stage_id) == shown.id]
            return [Fragment(Audience.STAFF, "chat/mod_chat.html", {
                "event": event, "newest_first": service.newest_first, "messages": messages, "muted": muted,
                "muted_people": people}, slot="mod_chat")]
        return []

    async def personal(self, session: AsyncSession, event: Any, viewer: Viewer) -> list[Fragment]:
        if viewer.attendee_id and await service.is_muted(session, viewer.attendee_id):
            return [Fragment(Audience.ATTENDEE, "chat/chat_form.html", form_context(event, True))]
        return []

    def personal_state(self) -> ColumnElement[bool]:
        """A muted attendee's chat form says so."""
        return select(Attendee.id).where(Attendee.id == bindparam("attendee_id"),
                                         Attendee.muted_at.is_not(None)).exists()

