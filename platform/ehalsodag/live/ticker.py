"""The clock: pushes what changes when the schedule (not a moderator) moves the day on, and what a
programme file loaded by another process (``ehalsodag agenda load`` during the day) changed.

Each worker ticks for its own sockets only, so running several workers sends nothing twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Hashable
from typing import Any

from ehalsodag.changes import Change, Topic
from ehalsodag.live.broadcast import Broadcaster

log = logging.getLogger(__name__)

#: What the clock says of an event: (the block on now, what else the clock decides, a stamp of the programme
#: as stored); any change means a push.
ClockState = Callable[[Any], tuple[int | None, Hashable, Hashable]]

#: Pushed when the block on air changes by the clock (the evaluation opens when the last block ends).
CLOCK_TOPICS = (Topic.AGENDA, Topic.STAGE, Topic.EVALUATION)
#: Pushed when the programme as stored changed (another process loaded a programme file; or a moderator's action,
#: already pushed, which makes this an idempotent repeat). Not the banner: a programme file never sets it.
PROGRAMME_TOPICS = (Topic.AGENDA, Topic.STAGE, Topic.EVALUATION)


class ClockTicker:
    """Every ``interval`` seconds, re-check each event with sockets on this worker."""

    def __init__(self, broadcaster: Broadcaster, clock_state: ClockState, interval: float = 5.0) -> None:
        self.broadcaster = broadcaster
        self.clock_state = clock_state
        self.interval = interval
        self._last: dict[int, tuple[int | None, Hashable, Hashable]] = {}
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
        """Check every event with local sockets once; return how many got a push."""
        broadcaster = self.broadcaster
        due: dict[int, list[Change]] = {}
        async with broadcaster.db.reader() as session:
            for event_id in broadcaster.hub.connected_event_ids():
                event = await broadcaster.load_event(session, event_id)
                if event is None:
                    continue
                state = self.clock_state(event)
                before = self._last.get(event_id)
                self._last[event_id] = state
                if before is None or before == state:
                    continue  # first look (sockets got a fresh snapshot), or nothing moved
                by_clock = before[2] == state[2]
                topics = CLOCK_TOPICS if by_clock else PROGRAMME_TOPICS
                # announce a block the clock put on air; a moderator's go-live was announced by its own push
                now = state[0]
                ids = frozenset({now}) if by_clock and now is not None and now != before[0] else frozenset()
                due[event_id] = [Change(topic, event_id, ids if topic is Topic.AGENDA else frozenset())
                                 for topic in topics]
        for event_id, changes in due.items():
            broadcaster.deliver_local(event_id, await broadcaster.fragments_for(event_id, changes))
        return len(due)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.tick()
            except Exception:  # keep ticking through a passing database error
                log.exception("clock tick failed")
