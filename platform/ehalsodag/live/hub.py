"""The realtime hub: one subscription per event and worker, fanned out to that worker's sockets.

Services publish a rendered fragment once per language on the event's one channel
(``<prefix>:event:<id>``), marked for everyone or for staff only. Litestar channels carries it to every worker,
in-process by default or over Redis pub/sub. Each worker's hub sends the same bytes to each of its
sockets through a small bounded queue; a socket whose queue is full is too slow and is dropped
rather than waited for, so one bad connection never holds up the rest.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import msgspec
from litestar.channels import ChannelsPlugin

log = logging.getLogger(__name__)

PUBLIC = "public"
STAFF = "staff"
SCREEN = "screen"
#: Who receives what: attendees the public fragments, staff those and their own, screens their own.
AUDIENCES = {"attendee": frozenset({PUBLIC}), "staff": frozenset({PUBLIC, STAFF}), "screen": frozenset({SCREEN})}

#: Close code for sockets dropped because they could not keep up (RFC 6455: try again later).
CLOSE_TOO_SLOW = 1013


def channel_name(prefix: str, event_id: int) -> str:
    """The fixed channel of an event."""
    return f"{prefix}:event:{event_id}"


@dataclass(eq=False)
class Connection:
    """One websocket as the hub sees it."""

    send: Callable[[str], Awaitable[Any]]
    close: Callable[[int, str], Awaitable[Any]]
    language: str
    audiences: frozenset[str]
    queue_limit: int
    #: Set for attendee sockets: who, and how many people watch on that screen (attendance).
    attendee_id: int | None = None
    group_size: int = 1
    queue: asyncio.Queue[str] = field(init=False)
    dropped: bool = False

    def __post_init__(self) -> None:
        self.queue = asyncio.Queue(self.queue_limit)

    async def pump(self) -> None:
        """Send queued frames in order until cancelled."""
        while True:
            frame = await self.queue.get()
            await self.send(frame)


@dataclass
class _EventRoom:
    connections: set[Connection] = field(default_factory=set)
    task: asyncio.Task[None] | None = None
    #: The most attendee sockets and people held at once since the last attendance sample.
    peak_connections: int = 0
    peak_reach: int = 0
    #: Attendees that connected since the last sample (their first_connected_at may need setting).
    seen: set[int] = field(default_factory=set)


@dataclass(frozen=True)
class Attendance:
    """One event's attendance on this worker since the last sample."""

    event_id: int
    peak_connections: int
    peak_reach: int
    connected_attendees: frozenset[int]
    seen_attendees: frozenset[int]


def _presence(connections: set[Connection]) -> tuple[int, int, dict[int, int]]:
    attendees = {c.attendee_id: c.group_size for c in connections if c.attendee_id is not None}
    return sum(1 for c in connections if c.attendee_id is not None), sum(attendees.values()), attendees


#: Every hub of this process, so that a shutdown can say goodbye on every socket.
_HUBS: weakref.WeakSet[Hub] = weakref.WeakSet()
#: Close code on shutdown (RFC 6455 "going away"): clients reconnect to another worker or the restarted one.
CLOSE_GOING_AWAY = 1001


async def close_all_sockets(reason: str = "server shutting down") -> int:
    """Close every websocket of every hub in this process with 1001; return how many."""
    closing = [c for hub in list(_HUBS) for room in hub._rooms.values() for c in list(room.connections)]
    for connection in closing:
        connection.dropped = True
    if closing:
        await asyncio.wait_for(
            asyncio.gather(*(c.close(CLOSE_GOING_AWAY, reason) for c in closing), return_exceptions=True), 10)
    return len(closing)


class Hub:
    """Per-worker fan-out of published fragments to local sockets."""

    def __init__(self, channels: ChannelsPlugin, queue_limit: int = 256, prefix: str = "ehalsodag") -> None:
        _HUBS.add(self)
        self.channels = channels
        self.prefix = prefix
        self.queue_limit = queue_limit
        self._rooms: dict[int, _EventRoom] = {}
        self._lock = asyncio.Lock()
        self.sent_frames = 0
        self.dropped_sockets = 0
        #: Called with the event id whenever a frame of that event is delivered (snapshot caches listen).
        self.on_deliver: Callable[[int], None] | None = None

    async def publish(self, event_id: int, audience: str, by_language: dict[str, str]) -> None:
        """Send one rendered fragment (one string per language) to every socket of the audience."""
        payload = msgspec.json.encode({"a": audience, "f": by_language})
        await self.channels.wait_published(payload, channels=[channel_name(self.prefix, event_id)])

    def local_connections(self, event_id: int) -> int:
        """How many sockets of the event this worker holds."""
        room = self._rooms.get(event_id)
        return len(room.connections) if room else 0

    def connected_event_ids(self) -> list[int]:
        """Events with at least one socket on this worker."""
        return [event_id for event_id, room in self._rooms.items() if room.connections]

    async def attach(self, event_id: int, connection: Connection) -> None:
        """Start delivering the event's pushes to ``connection``."""
        async with self._lock:
            room = self._rooms.setdefault(event_id, _EventRoom())
            room.connections.add(connection)
            if connection.attendee_id is not None:
                room.seen.add(connection.attendee_id)
                count, reach, _attendees = _presence(room.connections)
                room.peak_connections = max(room.peak_connections, count)
                room.peak_reach = max(room.peak_reach, reach)
            if room.task is None or room.task.done():
                ready = asyncio.Event()
                room.task = asyncio.create_task(self._listen(event_id, ready), name=f"hub-event-{event_id}")
                await ready.wait()

    async def detach(self, event_id: int, connection: Connection) -> None:
        """Stop delivering to ``connection``; the last one out ends the subscription."""
        async with self._lock:
            room = self._rooms.get(event_id)
            if room is None:
                return
            room.connections.discard(connection)
            if not room.connections and not room.seen and room.task is not None:
                room.task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await room.task
                del self._rooms[event_id]

    def take_attendance(self) -> list[Attendance]:
        """Peaks and presence per event since the last call; peaks restart from the current numbers."""
        report = []
        for event_id, room in list(self._rooms.items()):
            count, reach, attendees = _presence(room.connections)
            report.append(Attendance(event_id, max(room.peak_connections, count), max(room.peak_reach, reach),
                                     frozenset(attendees), frozenset(room.seen)))
            room.peak_connections, room.peak_reach, room.seen = count, reach, set()
            if not room.connections and room.task is not None:
                room.task.cancel()
                del self._rooms[event_id]
        return report

    def deliver_local(self, event_id: int, audience: str, by_language: dict[str, str]) -> None:
        """Queue a fragment for this worker's sockets only (used by the clock ticker)."""
        if self.on_deliver is not None:
            self.on_deliver(event_id)
        room = self._rooms.get(event_id)
        if room is None:
            return
        for connection in list(room.connections):
            if audience not in connection.audiences:
                continue
            frame = by_language.get(connection.language) or next(iter(by_language.values()))
            self._offer(connection, frame)

    def _offer(self, connection: Connection, frame: str) -> None:
        if connection.dropped:
            return
        try:
            connection.queue.put_nowait(frame)
            self.sent_frames += 1
        except asyncio.QueueFull:
            connection.dropped = True
            self.dropped_sockets += 1
            log.info("dropping a websocket that fell %d frames behind", self.queue_limit)
            asyncio.create_task(connection.close(CLOSE_TOO_SLOW, "too slow"))

    async def _listen(self, event_id: int, ready: asyncio.Event) -> None:
        subscriber = await self.channels.subscribe([channel_name(self.prefix, event_id)])
        ready.set()
        try:
            async for raw in subscriber.iter_events():
                try:
                    message = msgspec.json.decode(raw)
                    self.deliver_local(event_id, message["a"], message["f"])
                except Exception:  # a bad message must not end the subscription
                    log.exception("could not deliver a message on event %s", event_id)
        finally:
            await self.channels.unsubscribe(subscriber)
