"""The attendance recorder: once a minute each worker writes how many it held, and who was there.

Samples are per worker and minute (summed across workers when reporting), so several processes
never overwrite each other. On an event with several stages (the national day) each sample also has one
row per stage: the attendees connected at that moment whose home stage (region) it is, and the people
they reach. Attendees' ``last_seen_at`` is refreshed in the same batch, which is
how "present when the evaluation opened" is known. It lives with the live layer because it reads the
hub's presence; what it writes belongs to the results domain.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import os
import socket

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ehalsodag.agenda import tracks
from ehalsodag.agenda.models import Event
from ehalsodag.attendees.models import Attendee
from ehalsodag.db.engine import Database
from ehalsodag.evaluation.service import note_automatic_opening
from ehalsodag.live.hub import Hub
from ehalsodag.results.models import AttendanceSample

log = logging.getLogger(__name__)


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
        if not report:
            return 0
        minute = minute_of(at)
        async with self.db.unit_of_work() as session:
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
                if present:
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
        return len(report)

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
