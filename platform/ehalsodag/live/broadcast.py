"""Render an event's live fragments once per language and push them through the hub.

The same templates render the first page, the snapshot a (re)connecting socket receives and the
live pushes, so all three always agree.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from ehalsodag.agenda.models import Event
from ehalsodag.agenda.service import event_by_slug
from ehalsodag.agenda.view import EventView, event_view
from ehalsodag.db.engine import Database
from ehalsodag.i18n import LANGUAGES, use_language
from ehalsodag.live.hub import PUBLIC, STAFF, Hub
from ehalsodag.web.templating import render

PUBLIC_FRAGMENTS = "partials/event_state.html"
STAFF_FRAGMENTS = "partials/control_state.html"


class Broadcaster:
    """Turns "this event changed" into rendered fragments on the hub."""

    def __init__(self, db: Database, hub: Hub, templates_dir: Path) -> None:
        self.db = db
        self.hub = hub
        self.templates_dir = templates_dir

    def render(self, view: EventView, staff: bool, language: str) -> str:
        """The full live state of the event as out-of-band fragments."""
        with use_language(language):
            html = render(self.templates_dir, PUBLIC_FRAGMENTS, view=view, event=view.event, oob=True)
            if staff:
                html += render(self.templates_dir, STAFF_FRAGMENTS, view=view, event=view.event, oob=True)
        return html

    def by_language(self, view: EventView, template: str) -> dict[str, str]:
        """``template`` rendered once in each language."""
        rendered = {}
        for language in LANGUAGES:
            with use_language(language):
                rendered[language] = render(self.templates_dir, template, view=view, event=view.event, oob=True)
        return rendered

    async def push_event(self, slug: str, at: dt.datetime | None = None) -> None:
        """Read the committed state of the event and push it to everyone connected."""
        async with self.db.reader() as session:
            event = await event_by_slug(session, slug)
            if event is None:
                return
            view = event_view(event, at)
            public = self.by_language(view, PUBLIC_FRAGMENTS)
            staff = self.by_language(view, STAFF_FRAGMENTS)
        await self.hub.publish(event.id, PUBLIC, public)
        await self.hub.publish(event.id, STAFF, staff)

    def snapshot(self, event: Event, staff: bool, language: str) -> str:
        """What a socket gets first on (re)connecting: the whole current state."""
        return self.render(event_view(event), staff, language)
