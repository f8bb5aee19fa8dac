"""The whole state of a page: what a (re)connecting socket gets first, and what the page itself shows.

Both come from the domains' :meth:`~ehalsodag.fragments.FragmentSource.snapshot`, rendered with the
same templates as the pushes, so a page, a snapshot and a page kept current by pushes agree.

A reconnect storm (a restart, a worker lost) brings thousands of sockets at once. Every socket of a
page shares one render per event, audience and language; a shared render is handed only to sockets
attached before it started reading, so none can miss a push that went out meanwhile. An attendee with
something of their own (an upvote, an answer) gets the shared render followed by their own fragments
(:meth:`~ehalsodag.fragments.FragmentSource.personal`): a few small queries, one session, only a few
at a time, so a storm queues rather than takes every pooled connection.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from markupsafe import Markup
from sqlalchemy import ColumnElement, Select, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from ehalsodag.db.engine import Database
from ehalsodag.fragments import Audience, Fragment, FragmentSource, Viewer
from ehalsodag.live.broadcast import EventLoader, Renderer
from ehalsodag.live.hub import CLOSE_TOO_SLOW, Connection, Hub

#: How long a shared snapshot may be handed out (it shows the minutes left in the block).
SNAPSHOT_SECONDS = 2.0


@dataclass
class _Shared:
    """A shared render: done or under way, and the event's delivery count when it started reading."""

    started_at: int
    expires: float
    #: The render, and which stage each home followed when it was made.
    html: asyncio.Future[tuple[str, Mapping[int | None, int | None]]]


class Snapshots:
    """Renders snapshots for sockets and pages."""

    def __init__(self, db: Database, hub: Hub, renderer: Renderer, sources: list[FragmentSource],
                 load_event: EventLoader, personal_at_once: int = 4,
                 follows: Callable[[Any], Mapping[int | None, int | None]] | None = None) -> None:
        self.follows = follows
        self.db = db
        self.hub = hub
        self.renderer = renderer
        self.sources = sources
        self.load_event = load_event
        self._personal = asyncio.Semaphore(personal_at_once)
        self._shared: dict[tuple[int, str, str, int | None], _Shared] = {}
        conditions: list[ColumnElement[bool]] = [c for c in (s.personal_state() for s in sources) if c is not None]
        #: Built once: every attendee's connect asks it.
        self._personal_query: Select[Any] | None = select(or_(*conditions)) if conditions else None

    async def fragments(self, session: AsyncSession, event: Any, viewer: Viewer) -> list[Fragment]:
        """Every source's snapshot fragments for ``viewer``, in the sources' order."""
        fragments: list[Fragment] = []
        for source in self.sources:
            fragments += await source.snapshot(session, event, viewer)
        return fragments

    async def parts(self, session: AsyncSession, event: Any, viewer: Viewer, language: str,
                    page: dict[str, Any] | None = None) -> dict[str, Markup]:
        """The snapshot's fragments rendered for a page, by slot (``{{ parts.question_list }}``). ``page`` adds
        what only a page has (the CSRF field its forms need without JavaScript)."""
        parts = {}
        for fragment in await self.fragments(session, event, viewer):
            if page:
                fragment = replace(fragment, context={**fragment.context, **page})
            parts[fragment.slot or fragment.template] = Markup(self.renderer.one(fragment, language))  # noqa: S704
        return parts

    async def has_personal_state(self, session: AsyncSession, event_id: int, attendee_id: int) -> bool:
        """Whether the attendee has anything of their own to see (their own fragments follow the shared snapshot)."""
        if self._personal_query is None:
            return False
        result = await session.execute(self._personal_query, {"attendee_id": attendee_id, "event_id": event_id})
        return bool(result.scalar())

    async def for_socket(self, event_id: int, viewer: Viewer, language: str, attached_at: int,
                         connection: Connection | None = None) -> str:
        """The snapshot for a socket attached to the hub when the event's delivery count was ``attached_at``
        (``connection`` learns which stage its page follows)."""
        shared, followed = await self._shared_render(event_id, Viewer(viewer.audience, stage=viewer.stage), language,
                                                     attached_at)
        if connection is not None and viewer.audience is Audience.ATTENDEE:
            connection.track = followed.get(viewer.stage)
        if viewer.attendee_id is None:
            return shared
        async with self._personal, self.db.reader() as session:
            if not await self.has_personal_state(session, event_id, viewer.attendee_id):
                return shared
            event = await self.load_event(session, event_id)
            own: list[Fragment] = []
            for source in self.sources:
                own += await source.personal(session, event, viewer)
        return shared + self.renderer.joined(own, language)

    async def _render(self, session: AsyncSession, event_id: int, viewer: Viewer,
                      language: str) -> tuple[str, Mapping[int | None, int | None]]:
        event = await self.load_event(session, event_id)
        if event is None:
            raise LookupError(f"no event {event_id}")
        followed = self.follows(event) if self.follows is not None else {}
        return self.renderer.joined(await self.fragments(session, event, viewer), language), followed

    async def _shared_render(self, event_id: int, viewer: Viewer, language: str,
                             attached_at: int) -> tuple[str, Mapping[int | None, int | None]]:
        key = (event_id, viewer.audience.value, language, viewer.stage)
        shared = self._shared.get(key)
        if shared is None or shared.started_at < attached_at or shared.expires < time.monotonic() or (
                shared.html.done() and shared.html.exception() is not None):
            # a task, not this socket's coroutine: a socket that goes away must not cancel the others' render
            shared = _Shared(self.hub.deliveries(event_id), time.monotonic() + SNAPSHOT_SECONDS,
                             asyncio.ensure_future(self._render_alone(event_id, viewer, language)))
            self._shared[key] = shared
        return await asyncio.shield(shared.html)

    def forget(self, event_id: int) -> None:
        """Render the event's snapshots anew from now on (a region switched stage: the clock, not a push,
        changed what they show)."""
        for key in [k for k in self._shared if k[0] == event_id]:
            del self._shared[key]

    async def resend(self, event_id: int, connections: list[Connection]) -> None:
        """Send each socket a fresh snapshot, pushes made meanwhile after it (as on connect): its region
        switched stage or its attendee chose another region."""
        self.forget(event_id)

        async def one(connection: Connection) -> None:
            if connection.dropped:
                return
            connection.hold()
            viewer = Viewer(Audience(connection.audience), connection.attendee_id, connection.is_staff,
                            connection.stage)
            try:
                snapshot = await self.for_socket(event_id, viewer, connection.language, self.hub.deliveries(event_id),
                                                 connection)
            except Exception:
                connection.release("")
                raise
            if not connection.release(snapshot):
                connection.dropped = True
                await connection.close(CLOSE_TOO_SLOW, "too slow")

        await asyncio.gather(*(one(c) for c in connections))

    async def _render_alone(self, event_id: int, viewer: Viewer,
                            language: str) -> tuple[str, Mapping[int | None, int | None]]:
        async with self.db.reader() as session:
            return await self._render(session, event_id, viewer, language)


def audience_of(view: str | None, is_staff: bool) -> Audience | None:
    """The page a socket serves, from its ``?view=``; None if that view is not allowed for this visitor."""
    if view in ("screen", "overlay"):
        return Audience(view)
    if view == "control":
        return Audience.STAFF if is_staff else None
    return Audience.ATTENDEE
