"""A draft is visible only to its staff: every route that names an event by ``{slug}`` answers 404 to anybody
else (the app-wide :func:`draft_guard`). Join codes of a draft lead nowhere and the home page does not list it.

Whether an event is published is remembered per process for a few seconds (the hot paths, joining and the
websocket, ask no extra query each time); this process forgets at once when it publishes or unpublishes.
"""

from __future__ import annotations

import time
from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotFoundException
from litestar.handlers.base import BaseRouteHandler
from sqlalchemy import select

from ehalsodag.agenda.models import Event
from ehalsodag.i18n import _
from ehalsodag.staff.auth import is_staff_of

#: Seconds another worker may still show (or hide) a day after it was unpublished (or published).
TTL_SECONDS = 2.0


class Published:
    """Slug → published (None: no such event), remembered for :data:`TTL_SECONDS`."""

    def __init__(self) -> None:
        self._seen: dict[str, tuple[bool | None, float]] = {}

    async def of(self, db: Any, slug: str) -> bool | None:
        """Whether the event with ``slug`` is published; None if there is none."""
        seen = self._seen.get(slug)
        now = time.monotonic()
        if seen is not None and now - seen[1] < TTL_SECONDS:
            return seen[0]
        async with db.reader() as session:
            value = (await session.execute(select(Event.published).where(Event.slug == slug))).scalar()
        if len(self._seen) > 10_000:
            self._seen.clear()
        self._seen[slug] = (value, now)
        return value

    def forget(self, slug: str) -> None:
        """Ask again next time (after this process published or unpublished ``slug``)."""
        self._seen.pop(slug, None)


def published_cache(app: Any) -> Published:
    """The app's cache (made on first use)."""
    cache = getattr(app.state, "published", None)
    if cache is None:
        cache = Published()
        app.state.published = cache
    return cache


async def draft_guard(connection: ASGIConnection[Any, Any, Any, Any], _handler: BaseRouteHandler) -> None:
    """404 for a draft's pages and API to everybody but its staff (moderators, organisers, admins)."""
    slug = connection.path_params.get("slug")
    if not isinstance(slug, str):
        return
    if await published_cache(connection.app).of(connection.app.state.db, slug) is not False:
        return
    event_id = await connection.app.state.event_ids.id_of(slug)
    async with connection.app.state.db.reader() as session:
        if event_id is not None and await is_staff_of(connection, session, event_id):
            return
    raise NotFoundException(detail=_("No event with that address."))
