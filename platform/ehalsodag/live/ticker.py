"""The clock: pushes what changes when the schedule (not a moderator) moves the day on, and what a
programme file loaded by another process (``ehalsodag agenda load`` during the day) changed.

On a national day the clock also moves regions between stages: when a regional block starts, its
region's attendee pages get a fresh snapshot of their region's stage (stream, Q&A, polls, chat), and
of the national stage again when it ends. A moderator's go-live, end or shift triggers the same check
at once (:meth:`ClockTicker.recheck`) instead of at the next tick.

Each worker ticks for its own sockets only, so running several workers sends nothing twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from ehalsodag.changes import Change, Topic
from ehalsodag.fragments import Audience, ClockState
from ehalsodag.live.broadcast import Broadcaster
from ehalsodag.live.hub import Connection

log = logging.getLogger(__name__)


#: Computes an event's :class:`ClockState` (given by the app: live/ knows no programme).
ClockReader = Callable[[Any], ClockState]
#: Sends fresh snapshots to sockets (given by the app: the snapshots).
Resender = Callable[[int, list[Connection]], Awaitable[None]]
#: Told which blocks the clock moved on air in an event, ``(previous, now)`` per stage (given by the app: the polls
#: of blocks nobody drives by hand follow the clock). Writes through a unit of work, so its changes are pushed.
ClockFollower = Callable[[int, set[tuple[int | None, int | None]]], Awaitable[None]]

#: Pushed when the block on air changes by the clock (the evaluation opens when the last block ends).
CLOCK_TOPICS = (Topic.AGENDA, Topic.STAGE, Topic.EVALUATION)
#: Pushed when the programme as stored changed (another process loaded a programme file; or a moderator's action,
#: already pushed, which makes this an idempotent repeat). Not the banner: a programme file never sets it.
PROGRAMME_TOPICS = (Topic.AGENDA, Topic.STAGE, Topic.EVALUATION)


class ClockTicker:
    """Every ``interval`` seconds, re-check each event with sockets on this worker."""

    def __init__(self, broadcaster: Broadcaster, clock_state: ClockReader, interval: float = 5.0,
                 resend: Resender | None = None, follow: ClockFollower | None = None) -> None:
        self.broadcaster = broadcaster
        self.follow = follow
        self.clock_state = clock_state
        self.interval = interval
        self.resend = resend
        self._last: dict[int, ClockState] = {}
        self._task: asyncio.Task[None] | None = None
        self._resends: set[asyncio.Task[None]] = set()

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
        moves: dict[int, set[tuple[int | None, int | None]]] = {}
        async with broadcaster.db.reader() as session:
            for event_id in broadcaster.hub.connected_event_ids():
                event = await broadcaster.load_event(session, event_id)
                if event is None:
                    continue
                state = self.clock_state(event)
                before = self._last.get(event_id)
                self._last[event_id] = state
                self._switch_tracks(event_id, state)
                moved = {(before.nows.get(home) if before else None, now) for home, now in state.nows.items()
                         if before is None or before.nows.get(home) != now}
                if moved := {m for m in moved if m != (None, None)}:
                    moves[event_id] = moved
                if before is None:
                    continue  # first look: sockets got a fresh snapshot
                if ((before.nows, before.other, before.stamp, before.evaluation)
                        == (state.nows, state.other, state.stamp, state.evaluation)):
                    continue  # nothing moved
                by_clock = before.stamp == state.stamp
                topics = CLOCK_TOPICS if by_clock else PROGRAMME_TOPICS
                if (before.nows, before.other, before.stamp) == (state.nows, state.other, state.stamp):
                    topics = (Topic.EVALUATION,)  # only the evaluation's window opened or closed by the clock
                if by_clock and before.day_over == state.day_over and before.evaluation == state.evaluation:
                    # the evaluation reaches every page: only when the day just ended or its window opened or closed
                    # (a block moving on in one region, or a moderator's go-live seen by the clock first, must not
                    # reach the others)
                    topics = tuple(t for t in topics if t is not Topic.EVALUATION)
                # announce a block the clock put on air; a moderator's go-live was announced by its own push
                ids = frozenset(now for home, now in state.nows.items()
                                if by_clock and now is not None and now != before.nows.get(home))
                due[event_id] = [Change(topic, event_id, ids if topic is Topic.AGENDA else frozenset())
                                 for topic in topics]
        for event_id, changes in due.items():
            broadcaster.deliver_local(event_id, await broadcaster.fragments_for(event_id, changes))
        if self.follow is not None:
            for event_id, moved in moves.items():
                try:
                    await self.follow(event_id, moved)
                except Exception:  # the next move tries again; the day goes on
                    log.exception("polls could not follow the clock in event %s", event_id)
        return len(due)

    async def recheck(self, event_id: int) -> None:
        """A moderator changed the programme (already pushed): move regions whose stage that switched now."""
        async with self.broadcaster.db.reader() as session:
            event = await self.broadcaster.load_event(session, event_id)
        if event is None:
            return
        state = self.clock_state(event)
        self._last[event_id] = state
        self._switch_tracks(event_id, state)

    def _switch_tracks(self, event_id: int, state: ClockState) -> None:
        """Send a new snapshot to each local attendee page that follows another stage than its region does now."""
        if self.resend is None:
            return
        sockets = [c for c in self.broadcaster.hub.local_sockets(event_id, Audience.ATTENDEE)
                   if c.track is not None and c.track != state.tracks.get(c.stage, c.track)]
        if sockets:
            task = asyncio.create_task(self.resend(event_id, sockets), name=f"switch-stage-{event_id}")
            self._resends.add(task)
            task.add_done_callback(self._resends.discard)

    async def switched(self) -> None:
        """Wait until every snapshot sent for a switch of stage has gone out (tests)."""
        while self._resends:
            await asyncio.gather(*list(self._resends), return_exceptions=True)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.tick()
            except Exception:  # keep ticking through a passing database error
                log.exception("clock tick failed")
