"""The clock: pushes a new now/next when the schedule (not a moderator) moves the day on.

Each worker ticks for its own sockets only, so running several workers sends nothing twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from sqlalchemy import select

from ehalsodag.agenda.models import Event
from ehalsodag.agenda.view import event_view
from ehalsodag.live.broadcast import Broadcaster
from ehalsodag.live.state import load_live_state

log = logging.getLogger(__name__)


class ClockTicker:
    """Every ``interval`` seconds, re-check which block the clock says is on."""

    def __init__(self, broadcaster: Broadcaster, interval: float = 15.0) -> None:
        self.broadcaster = broadcaster
        self.interval = interval
        self._last: dict[int, tuple[int | None, int | None, bool]] = {}
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Run in the background until :meth:`stop`."""
        self._task = asyncio.create_task(self._run(), name="clock-ticker")

    async def stop(self) -> None:
        """Stop ticking."""
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def tick(self) -> int:
        """Check every event with local sockets once; return how many got a new now/next."""
        hub = self.broadcaster.hub
        event_ids = hub.connected_event_ids()
        if not event_ids:
            return 0
        pushed = 0
        async with self.broadcaster.db.reader() as session:
            events = (await session.execute(select(Event).where(Event.id.in_(event_ids)))).scalars().all()
            for event in events:
                view = event_view(event)
                key = (view.now.id if view.now else None, view.next.id if view.next else None, view.day_over)
                if self._last.get(event.id) == key:
                    continue
                first_look = event.id not in self._last
                self._last[event.id] = key
                if first_look:
                    continue  # sockets got a fresh snapshot when they connected
                live = await load_live_state(session, event, staff=True)
                for audience, frame in self.broadcaster.frames_for(event, view, live, ("agenda", "evaluation")).items():
                    hub.deliver_local(event.id, audience, frame)
                pushed += 1
        return pushed

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.tick()
            except Exception:  # keep ticking through a passing database error
                log.exception("clock tick failed")
