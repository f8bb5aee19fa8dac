"""The realtime hub: one subscription per event and worker, fanned out to that worker's sockets.

The live layer publishes a rendered fragment once per language on the event's one channel
(``<prefix>:event:<id>``), marked with its audience (attendee page, control panel, presenter screen,
overlay) and, for personal state, the attendees it is for. Litestar channels carries it to every worker,
in-process by default or over Redis pub/sub. Each worker's hub sends the same bytes to each of its
sockets, written at once when the socket can take them (see :class:`Connection`), else queued behind
the send under way; a socket with too many frames waiting is too slow and is dropped
rather than waited for, so one bad connection never holds up the rest.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import weakref
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from dataclasses import dataclass, field
from typing import Any

import msgspec
from litestar.channels import ChannelsPlugin

from ehalsodag import metrics
from ehalsodag.fragments import Audience

log = logging.getLogger(__name__)

#: Called with (event id, audience, frames by language) for every publish, before it is sent (the benchmark
#: stamps frames here); returns the frames to send.
Observer = Callable[[int, str, dict[str, str]], dict[str, str]]

#: Handles a control message on every worker (see :meth:`Hub.control`): (event id, message, this worker's
#: sockets it concerns).
ControlHandler = Callable[[int, dict[str, Any], list["Connection"]], Awaitable[None]]

#: Where a websocket scope carries the server's own ASGI send (set by ``app.create_served_app``).
RAW_SEND_KEY = "ehalsodag.raw_send"

#: Close code for sockets dropped because they could not keep up (RFC 6455: try again later).
CLOSE_TOO_SLOW = 1013
#: Close code of a handshake the hub cannot serve right now (Redis or the database is away): try again later.
CLOSE_TRY_AGAIN = 1013
#: Close code for every socket when the hub loses its Redis connection (RFC 6455 "service restart"): clients
#: reconnect with backoff and get a fresh snapshot once the hub is back, rather than look connected while frozen.
CLOSE_HUB_DOWN = 1012
#: Longest wait for an event's subscription when its first socket attaches (seconds).
ATTACH_TIMEOUT = 5.0


class HubUnavailable(ConnectionError):
    """The hub cannot deliver pushes right now: refuse the socket with :data:`CLOSE_TRY_AGAIN`."""


class HubHealth:
    """What the hub needs to know of its transport: whether it delivers, and when that changes.

    The in-process transport always delivers; :class:`ehalsodag.live.redis_channels.ResilientRedisChannels`
    implements this for Redis."""

    available: bool = True

    def on_change(self, listener: Callable[[bool], None]) -> None:
        """Call ``listener`` on each change of :attr:`available` (never, here)."""


def channel_name(prefix: str, event_id: int) -> str:
    """The fixed channel of an event."""
    return f"{prefix}:event:{event_id}"


def text_frame(text: str) -> bytes:
    """``text`` as one whole websocket text frame from a server (RFC 6455 5.2: FIN, opcode 1, unmasked, no
    extension), made once and written to every socket of a fan-out."""
    payload = text.encode()
    size = len(payload)
    if size < 126:
        header = bytes((0x81, size))
    elif size < 1 << 16:
        header = bytes((0x81, 126)) + size.to_bytes(2, "big")
    else:
        header = bytes((0x81, 127)) + size.to_bytes(8, "big")
    return header + payload


def direct_writer(server_send: Any) -> Callable[[bytes], bool] | None:
    """A writer of whole frames for a socket served by uvicorn's websockets-sansio protocol (``server_send`` is
    that protocol's ``send``), or None for any other server.

    The protocol's own send encodes the text, frames it and writes it, for every socket of a fan-out: most of a
    push to thousands. The frame is the same bytes for all of them, so it is made once (:func:`text_frame`) and
    written here, on exactly the conditions under which the protocol would write it at once: the handshake done,
    the connection open, no close sent, no extension negotiated (compression would change the bytes) and the
    transport taking data without waiting. Otherwise the caller sends the usual way.
    """
    from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
    from websockets.protocol import State

    protocol = getattr(server_send, "__self__", None)
    if not isinstance(protocol, WebSocketsSansIOProtocol):
        return None

    def write(wire: bytes) -> bool:
        transport = protocol.transport
        if (not protocol.handshake_complete or protocol.close_sent or protocol.conn.state is not State.OPEN
                or protocol.conn.extensions or not protocol.writable.is_set() or transport.is_closing()):
            return False
        transport.write(wire)
        return True

    return write


@dataclass(eq=False, slots=True)
class Connection:
    """One websocket as the hub sees it.

    A frame is sent at once, inside the fan-out loop, when the socket can take it: writing to a
    healthy socket never has to wait, and a task per socket and frame would cost the fan-out more
    than the write itself (with thousands of sockets, that is most of a broadcast). Only when a send
    must wait (the client reads slowly) does the rest of it move to a task, and later frames queue
    behind it, at most ``queue_limit`` of them.
    """

    send: Callable[[str], Coroutine[Any, Any, Any]]
    close: Callable[[int, str], Awaitable[Any]]
    language: str
    #: Which page this socket serves (an :class:`ehalsodag.fragments.Audience` value).
    audience: str
    queue_limit: int
    #: Set for attendee sockets: who, and how many people watch on that screen (attendance).
    attendee_id: int | None = None
    group_size: int = 1
    #: Attendee page: the attendee's home stage; control panel and screens: the stage shown (None: the main one).
    stage: int | None = None
    #: A staff member looking at the attendee page (sees no personal state).
    is_staff: bool = False
    #: Attendee page: the stage its last snapshot followed (a region switching stage needs a new one).
    track: int | None = None
    #: Frames waiting behind a send that could not finish at once (None: nothing is waiting).
    backlog: deque[str] | None = None
    sender: asyncio.Task[None] | None = None
    dropped: bool = False
    #: While the first snapshot is being made, pushes wait here (see :meth:`release`).
    held: list[str] | None = None
    #: The event's delivery count when this socket was attached: a snapshot rendered from an older
    #: state could miss a push that reached the other sockets before this one was attached.
    attached_at: int = 0
    #: Writes a whole websocket frame (:func:`text_frame`) straight to the socket when it can take it at once;
    #: False when it cannot (then :attr:`send` does it). None: not served by a server that allows it.
    write: Callable[[bytes], bool] | None = None

    def hold(self) -> None:
        """Keep pushes back until :meth:`release` (the snapshot has to go first)."""
        if self.held is None:
            self.held = []

    def release(self, snapshot: str) -> bool:
        """Send the snapshot, then every push held meanwhile (pushes are idempotent, so one that the
        snapshot already shows does no harm); False if too many were held."""
        held, self.held = self.held or [], None
        if not self.offer(snapshot):
            return False
        return all(self.offer(frame) for frame in held)

    def offer(self, frame: str, wire: bytes | None = None) -> bool:
        """Send ``frame`` now, or queue it behind a send under way; False if too many are waiting. ``wire``: the
        same frame as :func:`text_frame` made it, once for every socket of a fan-out."""
        if self.held is not None:
            if len(self.held) >= self.queue_limit:
                return False
            self.held.append(frame)
            return True
        if self.backlog is not None:
            if len(self.backlog) >= self.queue_limit:
                return False
            self.backlog.append(frame)
            return True
        if wire is not None and self.write is not None and self.write(wire):
            return True
        sending = self.send(frame)
        try:
            awaited = sending.send(None)  # run the send until it finishes or must wait
        except StopIteration:
            return True
        except Exception:  # the socket is gone: its reader notices and detaches it
            self.dropped = True
            return True
        self.backlog = deque()
        self.sender = asyncio.get_running_loop().create_task(self._finish(sending, awaited))
        return True

    async def _finish(self, sending: Coroutine[Any, Any, Any], awaited: Any) -> None:
        """Carry on a send that had to wait, as a task would have, then send what queued up meanwhile."""
        try:
            while True:
                await _settled(awaited)
                try:
                    awaited = sending.send(None)
                except StopIteration:
                    break
            while self.backlog:
                await self.send(self.backlog.popleft())
        except Exception:  # the socket is gone: its reader notices and detaches it
            self.dropped = True
        finally:
            sending.close()
            self.backlog = None
            self.sender = None

    def stop(self) -> None:
        """Abandon a send under way (the socket is being detached)."""
        if self.sender is not None:
            self.sender.cancel()


async def _settled(awaited: Any) -> None:
    """Wait until what a suspended coroutine awaits is done, leaving its outcome for the coroutine."""
    if awaited is None:  # a bare yield (asyncio.sleep(0)): just let the loop run once
        await asyncio.sleep(0)
        return
    awaited._asyncio_future_blocking = False  # noqa: SLF001  (what asyncio's Task does before waiting)
    waiter = asyncio.get_running_loop().create_future()
    awaited.add_done_callback(lambda _done: waiter.done() or waiter.set_result(None))
    await waiter


@dataclass
class _EventRoom:
    connections: set[Connection] = field(default_factory=set)
    #: The same connections by audience, so that a staff-only frame does not walk every attendee's socket.
    by_audience: dict[str, set[Connection]] = field(default_factory=dict)
    #: And by audience and stage, so that a region's push walks only that region's sockets.
    by_stage: dict[tuple[str, int | None], set[Connection]] = field(default_factory=dict)
    #: Attendee sockets by attendee, for personal frames.
    by_attendee: dict[int, set[Connection]] = field(default_factory=dict)
    task: asyncio.Task[None] | None = None
    #: Presence, kept up to date on attach and detach (thousands of sockets: never recounted).
    attendee_sockets: int = 0
    reach: int = 0
    #: Attendee id → (sockets open, group size).
    present: dict[int, tuple[int, int]] = field(default_factory=dict)
    #: The most attendee sockets and people held at once since the last attendance sample.
    peak_connections: int = 0
    peak_reach: int = 0
    #: Attendees that connected since the last sample (their first_connected_at may need setting).
    seen: set[int] = field(default_factory=set)

    def add(self, connection: Connection) -> None:
        self.connections.add(connection)
        self.by_audience.setdefault(connection.audience, set()).add(connection)
        self.by_stage.setdefault((connection.audience, connection.stage), set()).add(connection)
        attendee = connection.attendee_id
        if attendee is None:
            return
        self.by_attendee.setdefault(attendee, set()).add(connection)
        self.seen.add(attendee)
        self.attendee_sockets += 1
        sockets, size = self.present.get(attendee, (0, connection.group_size))
        if sockets == 0:
            self.reach += size
        self.present[attendee] = (sockets + 1, size)
        self.peak_connections = max(self.peak_connections, self.attendee_sockets)
        self.peak_reach = max(self.peak_reach, self.reach)

    def move(self, connection: Connection, stage: int | None) -> None:
        """Put a socket on another stage (its attendee chose another region)."""
        if connection not in self.connections:
            return
        self.by_stage.get((connection.audience, connection.stage), set()).discard(connection)
        connection.stage = stage
        self.by_stage.setdefault((connection.audience, stage), set()).add(connection)

    def remove(self, connection: Connection) -> None:
        if connection not in self.connections:
            return
        self.connections.discard(connection)
        self.by_audience.get(connection.audience, set()).discard(connection)
        self.by_stage.get((connection.audience, connection.stage), set()).discard(connection)
        attendee = connection.attendee_id
        if attendee is None:
            return
        sockets_of = self.by_attendee.get(attendee)
        if sockets_of is not None:
            sockets_of.discard(connection)
            if not sockets_of:
                del self.by_attendee[attendee]
        if attendee not in self.present:
            return
        self.attendee_sockets -= 1
        sockets, size = self.present[attendee]
        if sockets <= 1:
            del self.present[attendee]
            self.reach -= size
        else:
            self.present[attendee] = (sockets - 1, size)


@dataclass(frozen=True)
class Attendance:
    """One event's attendance on this worker since the last sample."""

    event_id: int
    peak_connections: int
    peak_reach: int
    connected_attendees: frozenset[int]
    seen_attendees: frozenset[int]


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

    def __init__(self, channels: ChannelsPlugin, queue_limit: int = 256, prefix: str = "ehalsodag",
                 health: HubHealth | None = None) -> None:
        _HUBS.add(self)
        #: Whether the transport delivers (Redis reachable); see :meth:`_on_health`.
        self.health = health or HubHealth()
        self.health.on_change(self._on_health)
        self._closing: set[asyncio.Task[Any]] = set()
        #: See :data:`Observer` (the benchmark installs one; nothing else does).
        self.observers: list[Observer] = []
        #: Handles control messages (set by the app: re-send snapshots when a region switches stage).
        self.on_control: ControlHandler | None = None
        self.channels = channels
        self.prefix = prefix
        self.queue_limit = queue_limit
        self._rooms: dict[int, _EventRoom] = {}
        self._lock = asyncio.Lock()
        self.sent_frames = 0
        self.dropped_sockets = 0
        #: Seconds a fan-out to this worker's sockets recently took (smoothed).
        self.fanout_seconds = 0.0
        #: Frames of each event delivered on this worker so far (see :attr:`Connection.attached_at`).
        self._deliveries: dict[int, int] = {}

    async def publish(self, event_id: int, audience: str, by_language: dict[str, str], *,
                      to: frozenset[int] | None = None, exclude: frozenset[int] = frozenset(),
                      stages: frozenset[int | None] | None = None) -> None:
        """Send one rendered fragment (one string per language) to every socket of the audience, or, with
        ``to``, only to those attendees' sockets; never to the attendees in ``exclude``; with ``stages``,
        only to sockets of those stages (see :attr:`Connection.stage`)."""
        for observe in self.observers:
            by_language = observe(event_id, audience, by_language)
        message: dict[str, Any] = {"a": audience, "f": by_language}
        if to is not None:
            message["t"] = sorted(to)
        if exclude:
            message["x"] = sorted(exclude)
        if stages is not None:
            message["s"] = sorted(stages, key=lambda s: -1 if s is None else s)
        payload = msgspec.json.encode(message)
        await self.channels.wait_published(payload, channels=[channel_name(self.prefix, event_id)])

    async def control(self, event_id: int, message: dict[str, Any]) -> None:
        """Send a control message to every worker's :attr:`on_control` (``{"c": kind, ...}``): ``"stages"``
        with ``"s"``: the stages whose attendee sockets must be sent a new snapshot; ``"home"`` with ``"t"``
        (an attendee) and ``"s"`` (their new home stage): move that attendee's sockets there."""
        payload = msgspec.json.encode({**message, "a": "", "f": {}})
        await self.channels.wait_published(payload, channels=[channel_name(self.prefix, event_id)])

    def deliveries(self, event_id: int) -> int:
        """How many frames of the event this worker has delivered (grows with every push)."""
        return self._deliveries.get(event_id, 0)

    def local_connections(self, event_id: int) -> int:
        """How many sockets of the event this worker holds."""
        room = self._rooms.get(event_id)
        return len(room.connections) if room else 0

    def socket_counts(self) -> dict[tuple[int, str], int]:
        """Open sockets per (event id, audience) on this worker (read by the metrics at scrape time)."""
        return {(event_id, audience): len(sockets) for event_id, room in list(self._rooms.items())
                for audience, sockets in list(room.by_audience.items()) if sockets}

    def connected_event_ids(self) -> list[int]:
        """Events with at least one socket on this worker."""
        return [event_id for event_id, room in self._rooms.items() if room.connections]

    @property
    def available(self) -> bool:
        """True while pushes can be delivered (always in one process; with Redis, while it is reachable)."""
        return self.health.available

    def _on_health(self, available: bool) -> None:
        """The transport came back (nothing to do: clients reconnect) or was lost: close every socket with
        :data:`CLOSE_HUB_DOWN`, so that pages show they are reconnecting and resync once the hub is back."""
        if available:
            return
        closing = [c for room in self._rooms.values() for c in room.connections if not c.dropped]
        for connection in closing:
            connection.dropped = True
        if closing:
            log.warning("live updates interrupted: closing %d websockets with %d", len(closing), CLOSE_HUB_DOWN)
            task = asyncio.get_running_loop().create_task(self._close_all(closing))
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)

    @staticmethod
    async def _close_all(connections: list[Connection]) -> None:
        await asyncio.gather(*(c.close(CLOSE_HUB_DOWN, "live updates interrupted, reconnect") for c in connections),
                             return_exceptions=True)

    async def attach(self, event_id: int, connection: Connection) -> None:
        """Start delivering the event's pushes to ``connection`` (subscribed once this returns).

        Raises :class:`HubUnavailable` at once while the transport is down, and when the event's subscription
        cannot be made within :data:`ATTACH_TIMEOUT` (the lock is never held longer than that)."""
        if not self.available:
            raise HubUnavailable("live updates are interrupted")
        connection.attached_at = self.deliveries(event_id)
        async with self._lock:
            room = self._rooms.setdefault(event_id, _EventRoom())
            room.add(connection)
            if room.task is None or room.task.done():
                ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
                room.task = asyncio.create_task(self._listen(event_id, ready), name=f"hub-event-{event_id}")
                try:
                    await asyncio.wait_for(asyncio.shield(ready), ATTACH_TIMEOUT)
                except (Exception, asyncio.CancelledError) as exc:
                    room.remove(connection)
                    room.task.cancel()
                    room.task = None
                    if not room.connections and not room.seen:
                        del self._rooms[event_id]
                    if isinstance(exc, asyncio.CancelledError):
                        raise
                    raise HubUnavailable(f"could not subscribe to event {event_id}") from exc
        if not self.available:  # lost while subscribing: the close-all above missed this socket
            await self.detach(event_id, connection)
            raise HubUnavailable("live updates are interrupted")

    async def detach(self, event_id: int, connection: Connection) -> None:
        """Stop delivering to ``connection``; the last one out ends the subscription."""
        async with self._lock:
            room = self._rooms.get(event_id)
            if room is None:
                return
            room.remove(connection)
            if not room.connections and not room.seen and room.task is not None:
                room.task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await room.task
                del self._rooms[event_id]

    def take_attendance(self) -> list[Attendance]:
        """Peaks and presence per event since the last call; peaks restart from the current numbers."""
        report = []
        for event_id, room in list(self._rooms.items()):
            count, reach = room.attendee_sockets, room.reach
            report.append(Attendance(event_id, max(room.peak_connections, count), max(room.peak_reach, reach),
                                     frozenset(room.present), frozenset(room.seen)))
            room.peak_connections, room.peak_reach, room.seen = count, reach, set()
            if not room.connections and room.task is not None:
                room.task.cancel()
                del self._rooms[event_id]
        return report

    def local_sockets(self, event_id: int, audience: str, stages: Iterable[int | None] | None = None,
                      attendee: int | None = None) -> list[Connection]:
        """This worker's sockets of the event and audience, of ``stages`` (None: all) or of ``attendee``."""
        room = self._rooms.get(event_id)
        if room is None:
            return []
        if attendee is not None:
            return [c for c in room.by_attendee.get(attendee, ()) if c.audience == audience]
        if stages is None:
            return list(room.by_audience.get(audience, ()))
        return [c for stage in stages for c in room.by_stage.get((audience, stage), ())]

    def move(self, event_id: int, connection: Connection, stage: int | None) -> None:
        """Put a local socket on another stage."""
        room = self._rooms.get(event_id)
        if room is not None:
            room.move(connection, stage)

    def deliver_local(self, event_id: int, audience: str, by_language: dict[str, str],
                      to: Iterable[int] | None = None, exclude: Iterable[int] = (),
                      stages: Iterable[int | None] | None = None) -> None:
        """Queue a fragment for this worker's sockets only (used by the clock ticker)."""
        self._deliveries[event_id] = self._deliveries.get(event_id, 0) + 1
        room = self._rooms.get(event_id)
        if room is None:
            return
        started = time.perf_counter()
        fallback = next(iter(by_language.values()))
        wires: dict[str, bytes] = {}  # each language's frame made once for every socket
        if to is None and stages is None:
            receivers = list(room.by_audience.get(audience, ()))
        elif to is None:
            receivers = [c for stage in stages or () for c in room.by_stage.get((audience, stage), ())]
        else:
            receivers = [c for attendee in to for c in room.by_attendee.get(attendee, ()) if c.audience == audience]
            if stages is not None:
                allowed = set(stages)
                receivers = [c for c in receivers if c.stage in allowed]
        skip = frozenset(exclude)
        for connection in receivers:
            if skip and connection.attendee_id in skip:
                continue
            frame = by_language.get(connection.language) or fallback
            wire = wires.get(connection.language)
            if wire is None:
                wire = wires[connection.language] = text_frame(frame)
            self._offer(connection, frame, wire)
        if not receivers:
            return
        took = time.perf_counter() - started
        if len(receivers) > 100:  # how long a fan-out to many takes, smoothed (the results ticker paces by it)
            self.fanout_seconds = 0.8 * self.fanout_seconds + 0.2 * took
        metrics.fanout(audience, took, len(fallback.encode()), len(receivers))

    def _offer(self, connection: Connection, frame: str, wire: bytes | None = None) -> None:
        if connection.dropped:
            return
        if connection.offer(frame, wire):
            self.sent_frames += 1
        else:
            connection.dropped = True
            self.dropped_sockets += 1
            metrics.dropped(connection.audience)
            log.info("dropping a websocket that fell %d frames behind", self.queue_limit)
            asyncio.create_task(connection.close(CLOSE_TOO_SLOW, "too slow"))

    async def _control_local(self, event_id: int, message: dict[str, Any]) -> None:
        if message["c"] == "home":
            sockets = self.local_sockets(event_id, Audience.ATTENDEE, attendee=message["t"])
            for connection in sockets:
                self.move(event_id, connection, message["s"])
        else:
            sockets = self.local_sockets(event_id, Audience.ATTENDEE, stages=message["s"])
        if (sockets or message["c"] == "recheck") and self.on_control is not None:
            await self.on_control(event_id, message, sockets)

    async def _listen(self, event_id: int, ready: asyncio.Future[None]) -> None:
        try:
            subscriber = await self.channels.subscribe([channel_name(self.prefix, event_id)])
        except Exception as exc:
            if not ready.done():
                ready.set_exception(exc)
            return
        if not ready.done():
            ready.set_result(None)
        try:
            async for raw in subscriber.iter_events():
                try:
                    message = msgspec.json.decode(raw)
                    if "c" in message:
                        await self._control_local(event_id, message)
                        continue
                    self.deliver_local(event_id, message["a"], message["f"], message.get("t"), message.get("x", ()),
                                       message.get("s"))
                except Exception:  # a bad message must not end the subscription
                    log.exception("could not deliver a message on event %s", event_id)
        finally:
            await self.channels.unsubscribe(subscriber)
