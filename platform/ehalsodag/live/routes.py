"""The event websocket: a snapshot first, then every push for the page it serves."""

from __future__ import annotations

import contextlib
from collections.abc import Coroutine
from functools import partial
from typing import Any

from litestar import WebSocket, websocket
from litestar.exceptions import WebSocketDisconnect

from ehalsodag.attendees.auth import known_attendee
from ehalsodag.fragments import Audience, Viewer
from ehalsodag.i18n import LANGUAGES
from ehalsodag.live.hub import CLOSE_TOO_SLOW, RAW_SEND_KEY, Connection
from ehalsodag.live.snapshots import audience_of
from ehalsodag.staff.auth import is_staff_of
from ehalsodag.web.auth import origin_allowed
from ehalsodag.web.language import LANGUAGE_COOKIE

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
    opened = await _open(socket, slug)
    if isinstance(opened, str):
        await socket.close(code=CLOSE_POLICY, reason=opened)
        return
    event_id, connection, viewer = opened
    state = socket.app.state
    await socket.accept()
    connection.hold()
    await state.hub.attach(event_id, connection)
    try:
        snapshot = await state.snapshots.for_socket(event_id, viewer, connection.language, connection.attached_at)
        if not connection.release(snapshot):
            await socket.close(code=CLOSE_TOO_SLOW, reason="too slow")
            return
        del snapshot  # thousands of sockets wait below: none of them may keep its snapshot alive
        while True:  # clients have nothing to say; reading is how we notice they left
            await socket.receive_data("text")
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        connection.stop()
        await state.hub.detach(event_id, connection)


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
    staff = False
    if view != "screen" and view != "overlay":
        async with state.db.reader() as session:
            staff = await is_staff_of(socket, session, event_id)
    audience = audience_of(view, staff)
    if audience is None:
        return "log in as staff first"
    attendee = await known_attendee(socket, event_id) if audience is Audience.ATTENDEE else None
    if audience is Audience.ATTENDEE and attendee is None and not staff:
        return "join the event first"
    language = socket.cookies.get(LANGUAGE_COOKIE) or socket.query_params.get("lang") or "sv"
    language = language if language in LANGUAGES else "sv"

    async def close(code: int, reason: str) -> None:
        with contextlib.suppress(Exception):
            await socket.close(code=code, reason=reason)

    raw_send = socket.scope.get(RAW_SEND_KEY)  # type: ignore[call-overload]
    connection = Connection(
        send=partial(_send_raw, raw_send) if raw_send else socket.send_text, close=close, language=language,
        audience=audience.value, queue_limit=state.settings.socket_queue_limit,
        attendee_id=attendee.id if attendee else None, group_size=attendee.group_size if attendee else 1,
    )
    return event_id, connection, Viewer(audience, attendee.id if attendee else None, staff)


def _send_raw(raw_send: Any, frame: str) -> Coroutine[Any, Any, None]:
    """A text frame through the server's own send (see ``app.create_served_app``)."""
    return raw_send({"type": "websocket.send", "text": frame})


routes = [event_ws]
