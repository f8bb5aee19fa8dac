"""The attendance recorder: once a minute each worker writes how many it held, and who was there.

Samples are per worker and minute (summed across workers when reporting), so several processes
never overwrite each other. On an event with several stages (the national day) each sample also has one
row per stage: the attendees connected at that moment whose home stage (region) it is, and the people
they reach. Attendees' ``last_seen_at`` is refreshed in the same batch, which is
how "present when the evaluation opened" is known. It lives with the live layer because it reads the
hub's presence; what it writes belongs to the results domain.

Besides the per-worker samples it keeps, per attendee, the spans of minutes they were present
(:class:`~ehalsodag.results.models.AttendanceSpan`): every published figure is counted from those, by attendee, so
a restart or a second worker never counts anyone twice (docs/results.md). A browser without JavaScript has no
socket: its attendee page views (:meth:`AttendanceRecorder.saw`) count as presence for :data:`PAGE_MINUTES`.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import os
import socket
from collections.abc import Iterable

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ehalsodag.agenda import tracks
from ehalsodag.agenda.models import Event
from ehalsodag.attendees.models import Attendee
from ehalsodag.changes import Topic, changed
from ehalsodag.db.engine import Database
from ehalsodag.evaluation.service import note_automatic_opening
from ehalsodag.live.hub import Hub
from ehalsodag.results.models import AttendanceSample, AttendanceSpan

log = logging.getLogger(__name__)


#: How long a page view of a browser without a live connection (no JavaScript) counts as presence: it cannot tell
#: us when it leaves, and a care unit watching the stream does not reload the page.
PAGE_MINUTES = 30
#: A live span continues when its attendee is seen again within this gap (a reconnect, a restart, a late sample).
GAP = dt.timedelta(minutes=2)
#: Attendees per query when writing spans.
CHUNK = 500


async def record_presence(session: AsyncSession, event_id: int, attendees: Iterable[int], minute: dt.datetime,
                          *, live: bool) -> None:
    """Extend (or start) the attendees' presence spans to cover ``minute`` (a page view: the next
    :data:`PAGE_MINUTES`). Two workers may both start a span for one attendee: the report merges them."""
    end = minute if live else minute + dt.timedelta(minutes=PAGE_MINUTES - 1)
    wanted = sorted(set(attendees))
    for start in range(0, len(wanted), CHUNK):
        chunk = wanted[start:start + CHUNK]
        mine = (AttendanceSpan.event_id == event_id, AttendanceSpan.live.is_(live),
                AttendanceSpan.attendee_id.in_(chunk))
        await session.execute(update(AttendanceSpan).where(
            *mine, AttendanceSpan.last_minute >= minute - GAP, AttendanceSpan.last_minute < end,
            AttendanceSpan.first_minute <= minute).values(last_minute=end))
        covered = set((await session.execute(select(AttendanceSpan.attendee_id).where(
            *mine, AttendanceSpan.last_minute >= minute, AttendanceSpan.first_minute <= minute))).scalars())
        missing = [a for a in chunk if a not in covered]
        if missing:
            now = dt.datetime.now(dt.UTC)
            await session.execute(insert(AttendanceSpan), [
                {"event_id": event_id, "attendee_id": a, "first_minute": minute, "last_minute": end, "live": live,
                 "created_at": now, "updated_at": now} for a in missing])


def minute_of(at: dt.datetime) -> dt.datetime:
    """The start of the minute ``at`` falls in."""
    return at.replace(second=0, microsecond=0)


class AttendanceRecorder:
    """Samples the hub's attendance every ``interval`` seconds into the database."""

    def __init__(self, db: Database, hub: Hub, interval: float = 60.0) -> None:
        self.db = db
        self.hub = hub
        self.interval = interval
        self.worker = f"{socket.gethostname()}:{os.getpid()}"
        self._task: asyncio.Task[None] | None = None
        #: Attendee page views since the last sample: event id → attendee ids.
        self._pages: dict[int, set[int]] = {}

    def saw(self, event_id: int, attendee_id: int) -> None:
        """An attendee loaded the attendee page (a browser without JavaScript has no other sign of presence)."""
        self._pages.setdefault(event_id, set()).add(attendee_id)

    def start(self) -> None:
        """Sample in the background until :meth:`stop`."""
        self._task = asyncio.create_task(self._run(), name="attendance")

    async def stop(self) -> None:
        """Stop, writing one last sample so that nothing seen is lost."""
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        with contextlib.suppress(Exception):
            await self.sample()

    async def sample(self, at: dt.datetime | None = None) -> int:
        """Write one sample per event with sockets on this worker (and, on an event with several stages, one per
        stage); return how many events."""
        at = at or dt.datetime.now(dt.UTC)
        report = self.hub.take_attendance()
        pages, self._pages = self._pages, {}
        if not report and not pages:
            return 0
        minute = minute_of(at)
        async with self.db.unit_of_work() as session:
            for event_id, seen in pages.items():
                await record_presence(session, event_id, seen, minute, live=False)
                await session.execute(update(Attendee).where(Attendee.id.in_(seen)).values(last_seen_at=at))
                await session.execute(update(Attendee).where(
                    Attendee.id.in_(seen), Attendee.first_connected_at.is_(None)).values(first_connected_at=at))
            for item in report:
                event = await session.get(Event, item.event_id)
                if event is None:  # deleted while sockets were open (a rehearsal copy): nothing to record
                    continue
                rows = {row.stage_id: row for row in (await session.execute(select(AttendanceSample).where(
                    AttendanceSample.event_id == item.event_id, AttendanceSample.minute == minute,
                    AttendanceSample.worker == self.worker))).scalars()}
                figures: dict[int | None, tuple[int, int]] = {None: (item.peak_connections, item.peak_reach)}
                if event is not None and len(event.stages) > 1:
                    figures.update(await self._per_stage(session, event, item.connected_attendees))
                for stage_id, (connections, reach) in figures.items():
                    row = rows.get(stage_id)
                    if row is None:
                        session.add(AttendanceSample(event_id=item.event_id, minute=minute, worker=self.worker,
                                                     stage_id=stage_id, connections=connections, reach=reach))
                    else:
                        row.connections = max(row.connections, connections)
                        row.reach = max(row.reach, reach)
                present = item.connected_attendees | item.seen_attendees
                # the presenter screens that show the participant count follow, once per sample (not per join)
                changed(session, Topic.PRESENCE, item.event_id)
                if present:
                    await record_presence(session, item.event_id, present, minute, live=True)
                    await session.execute(update(Attendee).where(Attendee.id.in_(present)).values(last_seen_at=at))
                    await session.execute(
                        update(Attendee).where(Attendee.id.in_(item.seen_attendees),
                                               Attendee.first_connected_at.is_(None))
                        .values(first_connected_at=at)
                    )
            for item in report:  # the evaluation may have opened by itself after the last block
                event = await session.get(Event, item.event_id)
                if event is not None and item.connected_attendees:
                    await note_automatic_opening(session, event)
        return len(report) + len(set(pages) - {item.event_id for item in report})

    @staticmethod
    async def _per_stage(session: AsyncSession, event: Event,
                         connected: frozenset[int]) -> dict[int | None, tuple[int, int]]:
        """Connected attendees and the people they reach (group sizes) per home stage: every stage of the event,
        an attendee without a stage (or with one no longer the event's) counted on the main stage."""
        figures: dict[int | None, tuple[int, int]] = {stage.id: (0, 0) for stage in event.stages}
        if connected:
            rows = (await session.execute(select(Attendee.stage_id, Attendee.group_size).where(
                Attendee.id.in_(connected)))).all()
            for stage_id, group_size in rows:
                home = tracks.home_of(event, stage_id)
                if home is not None:
                    count, reach = figures[home.id]
                    figures[home.id] = (count + 1, reach + (group_size or 1))
        return figures

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.sample()
            except Exception:  # keep sampling through a passing database error
                log.exception("attendance sample failed")
