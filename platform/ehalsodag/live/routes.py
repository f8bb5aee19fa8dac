"""The event websocket: a snapshot first, then every push for the page it serves."""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Coroutine
from functools import partial
from typing import Any

import msgspec
from litestar import WebSocket, websocket
from litestar.exceptions import WebSocketDisconnect
from litestar.types import Empty
from litestar.utils.scope.state import ScopeState
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ehalsodag.agenda.models import Stage
from ehalsodag.attendees.auth import known_attendee
from ehalsodag.attendees.models import Attendee
from ehalsodag.fragments import Audience, Fragment, Viewer
from ehalsodag.i18n import LANGUAGES
from ehalsodag.live.hub import (
    CLOSE_TOO_SLOW,
    CLOSE_TRY_AGAIN,
    RAW_SEND_KEY,
    Connection,
    HubUnavailable,
    direct_writer,
    text_frame,
)
from ehalsodag.live.snapshots import audience_of
from ehalsodag.staff.auth import staff_permissions
from ehalsodag.staff.service import Permissions
from ehalsodag.web.auth import origin_allowed
from ehalsodag.web.language import LANGUAGE_COOKIE
from ehalsodag.web.outage import is_outage

#: What a page may send over its socket (a vote): carried out, then answered on that socket alone, with fragments
#: or with a frame the action rendered itself (a vote's acknowledgement is rendered once per poll and language).
SocketAction = Callable[[Any, int, int | None, str, dict[str, Any]], Awaitable[list[Fragment] | str]]
#: The largest action frame read (the server closes a socket that sends larger frames anyway).
MAX_ACTION_FRAME = 64 * 1024

#: Close code when a handshake is refused (RFC 6455 policy violation).
CLOSE_POLICY = 1008


@websocket("/e/{slug:str}/ws", name="event_ws")
async def event_ws(socket: WebSocket[Any, Any, Any], slug: str) -> None:
    """Pushes for one event and one page: ``?view=`` attendee (default), control, screen or overlay.

    Attendees authenticate with their token (cookie or ``?token=``), staff with their session or
    bearer token; the screen and the overlay show only public content and need neither. The socket is
    attached to the hub before its snapshot is made, and what is pushed meanwhile follows the snapshot,
    so a push can never fall between the two.
    """
    if not origin_allowed(socket):
        await socket.close(code=CLOSE_POLICY, reason="origin not allowed")
        return
    state = socket.app.state
    try:
        opened = await _open(socket, slug) if state.hub.available else "hub unavailable"
    except Exception as exc:
        if not is_outage(exc):
            raise
        opened = "database unavailable"
    if opened in ("hub unavailable", "database unavailable"):
        await _try_again(socket, str(opened))
        return
    if isinstance(opened, str):
        await socket.close(code=CLOSE_POLICY, reason=opened)
        return
    event_id, connection, viewer = opened
    _forget_handshake_headers(socket)
    holder = _holder(socket, event_id, connection)
    if not socket_caps(state).take(holder):
        await socket.close(code=CLOSE_POLICY, reason="too many sockets")
        return
    try:
        await _serve(socket, state, event_id, connection, viewer)
    finally:
        socket_caps(state).give_back(holder)


def _forget_handshake_headers(socket: WebSocket[Any, Any, Any]) -> None:
    """Let go of the handshake's headers once the socket is let in. The scope and Litestar's parsed copy (and its
    cookies) would keep them for the socket's life: 2–4 KiB a browser sends, times thousands of idle sockets. Every
    check that reads them (host, origin, token, language) has run, and the socket's actions read none."""
    socket.scope["headers"] = []
    state = ScopeState.from_scope(socket.scope)
    state.headers = Empty
    state.cookies = Empty


class SocketCaps:
    """How many sockets each attendee token, and each address's anonymous screens and overlays, hold in this worker:
    a token copied to a script cannot open thousands of sockets (each costs memory and every push), nor can one
    address open endless presenter screens. Staff sockets are not capped."""

    #: An attendee's tabs and devices (a phone, a laptop, the meeting room's screen with the same cookie).
    PER_ATTENDEE = 10
    #: Presenter screens and stream overlays (no token) per address: a care unit's rooms behind one NAT.
    PER_ADDRESS = 40

    def __init__(self) -> None:
        self.held: dict[tuple[Any, ...], int] = {}

    def take(self, holder: tuple[Any, ...] | None) -> bool:
        """Count one more socket for ``holder``; False (nothing counted) when it already holds its cap."""
        if holder is None:
            return True
        cap = self.PER_ATTENDEE if holder[0] == "attendee" else self.PER_ADDRESS
        if self.held.get(holder, 0) >= cap:
            return False
        self.held[holder] = self.held.get(holder, 0) + 1
        return True

    def give_back(self, holder: tuple[Any, ...] | None) -> None:
        """The socket of ``holder`` has closed."""
        if holder is not None:
            left = self.held.get(holder, 0) - 1
            if left > 0:
                self.held[holder] = left
            else:
                self.held.pop(holder, None)


def socket_caps(state: Any) -> SocketCaps:
    """The worker's socket caps (made with the first socket)."""
    caps = getattr(state, "socket_caps", None)
    if caps is None:
        caps = state.socket_caps = SocketCaps()
    return caps


def _holder(socket: WebSocket[Any, Any, Any], event_id: int, connection: Connection) -> tuple[Any, ...] | None:
    """Whose quota a socket counts against: its attendee, or its address for a screen or overlay; None for staff."""
    if connection.is_staff:
        return None
    if connection.attendee_id is not None:
        return ("attendee", connection.attendee_id)
    return ("address", event_id, socket.client.host if socket.client else "unknown")


async def _serve(socket: WebSocket[Any, Any, Any], state: Any, event_id: int, connection: Connection,
                 viewer: Viewer) -> None:
    """Accept the socket, attach it to the hub, send its snapshot, then wait until it goes."""
    await socket.accept()
    connection.hold()
    try:
        await state.hub.attach(event_id, connection)
    except HubUnavailable:
        await _try_again(socket, "hub unavailable", accepted=True)
        return
    try:
        snapshot = await state.snapshots.for_socket(event_id, viewer, connection.language, connection.attached_at,
                                                    connection)
        if not connection.release(snapshot):
            await socket.close(code=CLOSE_TOO_SLOW, reason="too slow")
            return
        del snapshot  # thousands of sockets wait below: none of them may keep its snapshot alive
        actions = getattr(state, "socket_actions", {})
        while True:  # reading is how we notice they left; what an attendee's page says is an action (a vote)
            message = await socket.receive_data("text")
            if isinstance(message, str) and connection.audience == Audience.ATTENDEE.value:
                await _act(state, actions, event_id, connection, message)
    except (WebSocketDisconnect, RuntimeError):
        pass
    except Exception as exc:  # the snapshot could not be read: the database is away, come back later
        if not is_outage(exc):
            raise
        with contextlib.suppress(Exception):
            await socket.close(code=CLOSE_TRY_AGAIN, reason="database unavailable")
    finally:
        connection.stop()
        await state.hub.detach(event_id, connection)


async def _act(state: Any, actions: dict[str, SocketAction], event_id: int, connection: Connection,
               message: str) -> None:
    """Carry out what the page sent (``{"action": ..., ...}``, a form sent with htmx's ``ws-send``), then send
    the reply on this socket alone, behind the pushes already queued for it. Anything else is ignored: a
    socket is no place for errors about frames nobody's page sends."""
    if len(message) > MAX_ACTION_FRAME:
        return
    try:
        fields = msgspec.json.decode(message)
    except msgspec.DecodeError:
        return
    name = fields.get("action") if isinstance(fields, dict) else None
    action = actions.get(name) if isinstance(name, str) else None
    if action is None:
        return
    fragments = await action(state, event_id, connection.attendee_id if not connection.is_staff else None,
                             connection.language, fields)
    if isinstance(fragments, str):
        connection.offer(fragments, text_frame(fragments) if connection.write else None)
    elif fragments:
        connection.offer(state.broadcaster.renderer.joined(fragments, connection.language))


async def _try_again(socket: WebSocket[Any, Any, Any], reason: str, accepted: bool = False) -> None:
    """Refuse a socket with 1013 "try again later" (a service is briefly away). A close before the handshake
    would reach the browser as HTTP 403, which says "not allowed": accept first, then close."""
    with contextlib.suppress(Exception):
        if not accepted:
            await socket.accept()
        await socket.close(code=CLOSE_TRY_AGAIN, reason=reason)


async def _open(socket: WebSocket[Any, Any, Any], slug: str) -> tuple[int, Connection, Viewer] | str:
    """Who is connecting, to which page, as a hub connection (or why they are refused).

    A separate function so that nothing it loads stays referenced for the socket's lifetime. No query
    is needed for an attendee once their token has been seen (see the token cache).
    """
    state = socket.app.state
    event_id = await state.event_ids.id_of(slug)
    if event_id is None:
        return "no such event"
    view = socket.query_params.get("view")
    staff: Permissions | None = None
    async with state.db.reader() as session:
        if view != "screen" and view != "overlay":
            staff = await staff_permissions(socket, session, event_id)
        audience = audience_of(view, staff is not None)
        if audience is None:
            return "log in as staff first"
        attendee = await known_attendee(socket, event_id) if audience is Audience.ATTENDEE else None
        if audience is Audience.ATTENDEE and attendee is None and staff is None:
            return "join the event first"
        if attendee is not None:
            stage = (await session.execute(select(Attendee.stage_id).where(Attendee.id == attendee.id))).scalar()
        else:  # the stage a control panel, screen or staff member's attendee page shows
            stage = await stage_of_event(session, event_id, socket.query_params.get("stage"))
            if stage is None and staff is not None and staff.stages:
                stage = min(staff.stages)
            if audience is Audience.STAFF and staff is not None and not staff.moderates(stage) and stage is not None:
                return "you moderate another stage"
    language = socket.cookies.get(LANGUAGE_COOKIE) or socket.query_params.get("lang") or "sv"
    language = language if language in LANGUAGES else "sv"

    async def close(code: int, reason: str) -> None:
        with contextlib.suppress(Exception):
            await socket.close(code=code, reason=reason)

    raw_send = socket.scope.get(RAW_SEND_KEY)  # type: ignore[call-overload]
    connection = Connection(
        send=partial(_send_raw, raw_send) if raw_send else socket.send_text, close=close, language=language,
        write=direct_writer(raw_send) if raw_send else None,
        audience=audience.value, queue_limit=state.settings.socket_queue_limit,
        attendee_id=attendee.id if attendee else None, group_size=attendee.group_size if attendee else 1,
        stage=stage, is_staff=staff is not None,
    )
    return event_id, connection, Viewer(audience, attendee.id if attendee else None, staff is not None, stage)


async def stage_of_event(session: AsyncSession, event_id: int, key: str | None) -> int | None:
    """The id of the event's stage named by ``key`` (its key, or its id), or None."""
    if not key:
        return None
    rows = await session.execute(select(Stage.id, Stage.key).where(Stage.event_id == event_id))
    return next((stage_id for stage_id, stage_key in rows if key in (stage_key, str(stage_id))), None)


def _send_raw(raw_send: Any, frame: str) -> Coroutine[Any, Any, None]:
    """A text frame through the server's own send (see ``app.create_served_app``)."""
    return raw_send({"type": "websocket.send", "text": frame})


routes = [event_ws]
