"""Joining an event (form and API), the event websocket and the language switch."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Coroutine
from functools import partial
from typing import Annotated, Any

import msgspec
import qrcode
import qrcode.constants
from litestar import Request, WebSocket, get, post, websocket
from litestar.enums import RequestEncodingType
from litestar.exceptions import ClientException, NotFoundException, WebSocketDisconnect
from litestar.params import Body
from litestar.response import Redirect, Response, Template
from qrcode.image.svg import SvgPathImage
from sqlalchemy.ext.asyncio import AsyncSession

from ehalsodag.agenda.routes import load_event
from ehalsodag.agenda.view import event_view
from ehalsodag.i18n import LANGUAGES, _
from ehalsodag.live.hub import AUDIENCES, PUBLIC, RAW_SEND_KEY, SCREEN, STAFF, Connection
from ehalsodag.live.service import JoinError, JoinRequest, join, new_attendee
from ehalsodag.live.state import load_live_state
from ehalsodag.staff.service import permissions
from ehalsodag.web.actions import documented
from ehalsodag.web.auth import (
    attendee_cookie,
    current_staff,
    has_staff_credentials,
    known_attendee,
    origin_allowed,
    settings_of,
)
from ehalsodag.web.language import LANGUAGE_COOKIE
from ehalsodag.web.responses import cookie

ATTENDEE_COOKIE_SECONDS = 7 * 24 * 3600
#: Close code when a handshake is refused (RFC 6455 policy violation).
CLOSE_POLICY = 1008


class JoinBody(msgspec.Struct, forbid_unknown_fields=True):
    """JSON body of POST /api/v1/events/{slug}/join."""

    display_name: str | None = None
    organisation: str | None = None
    group_size: int | None = None


def client_address(request: Request[Any, Any, Any]) -> str:
    """The client's address (uvicorn resolves X-Forwarded-For from trusted proxies)."""
    return request.client.host if request.client else "unknown"


@post("/api/v1/events/{slug:str}/join", name="api_join", status_code=201)
async def api_join(
    request: Request[Any, Any, Any], slug: str,
    data: Annotated[JoinBody, documented("A care unit watching together", {"organisation": "Hemtjänst Öst",
                                                                              "group_size": 8})],
) -> Response[dict[str, Any]]:
    """Join as an attendee; returns the token for the Authorization header (also set as a cookie)."""
    state = request.app.state
    await state.rate_limits.enforce("join", client_address(request))
    event_id = await state.event_ids.id_of(slug)
    if event_id is None:
        raise NotFoundException(detail=_("No event with that address."))
    try:
        attendee, token = new_attendee(event_id, JoinRequest(data.display_name, data.organisation, data.group_size))
    except JoinError as exc:
        raise ClientException(detail=str(exc), status_code=422) from exc
    attendee = await state.inserter.insert(attendee)  # group commit: many joins, one fsync
    state.attendee_tokens.remember(token, attendee)
    response = Response({"attendee_id": attendee.id, "attendee_token": token}, status_code=201)
    response.set_cookie(cookie(settings_of(request), attendee_cookie(event_id), token, ATTENDEE_COOKIE_SECONDS))
    return response


@post("/e/{slug:str}/join", name="join_form")
async def join_form(
    request: Request[Any, Any, Any],
    slug: str,
    data: Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)],
) -> Response[Any]:
    """The join form on the attendee page (works without JavaScript)."""
    await request.app.state.rate_limits.enforce("join", client_address(request))
    db = request.app.state.db
    raw_size = (data.get("group_size") or "1").strip()
    async with db.writer() as session:
        event = await load_event(session, slug)
        try:
            size = int(raw_size)
        except ValueError:
            size = -1
        try:
            _attendee, token = await join(
                session, event, JoinRequest(data.get("display_name"), data.get("organisation"), size)
            )
        except JoinError as exc:
            return Template(
                "attendee/event.html", status_code=422,
                context={"event": event, "view": event_view(event), "attendee": None, "staff": None,
                         "join_error": str(exc), "join_values": data},
            )
    response = Redirect(f"/e/{slug}", status_code=303)
    response.set_cookie(cookie(settings_of(request), attendee_cookie(event), token, ATTENDEE_COOKIE_SECONDS))
    return response


@get("/lang/{code:str}", name="set_language")
async def set_language(request: Request[Any, Any, Any], code: str) -> Redirect:
    """Switch between Swedish and English and go back to the page."""
    target = request.query_params.get("next", "/")
    if not target.startswith("/") or target.startswith("//"):
        target = "/"
    response = Redirect(target, status_code=303)
    if code in LANGUAGES:
        response.set_cookie(cookie(settings_of(request), LANGUAGE_COOKIE, code, 365 * 24 * 3600))
    return response


@websocket("/e/{slug:str}/ws", name="event_ws")
async def event_ws(socket: WebSocket[Any, Any, Any], slug: str) -> None:
    """Pushes for one event. The first frame is the full snapshot; then live fragments follow.

    Attendees authenticate with their token (cookie or ``?token=``), staff with their session or
    bearer token; ``?view=screen`` opens a presenter screen or overlay, which shows only public content.
    """
    if not origin_allowed(socket):
        await socket.close(code=CLOSE_POLICY, reason="origin not allowed")
        return
    opened = await _open(socket, slug)
    if isinstance(opened, str):
        await socket.close(code=CLOSE_POLICY, reason=opened)
        return
    event_id, connection, snapshot = opened
    await socket.accept()
    connection.offer(snapshot)
    del snapshot  # thousands of sockets wait below: none of them may keep its snapshot alive
    hub = socket.app.state.hub
    await hub.attach(event_id, connection)
    try:
        while True:  # clients have nothing to say; reading is how we notice they left
            await socket.receive_data("text")
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        connection.stop()
        await hub.detach(event_id, connection)


async def _open(socket: WebSocket[Any, Any, Any], slug: str) -> tuple[int, Connection, str] | str:
    """Who is connecting, as a hub connection, and their snapshot (or why they are refused).

    A separate function so that nothing it loads stays referenced for the socket's lifetime: thousands
    of sockets are held at once, and each keeps only its small :class:`Connection`. No query is needed
    for an attendee without anything of their own once their token has been seen (see the caches).
    """
    state = socket.app.state
    event_id = await state.event_ids.id_of(slug)
    if event_id is None:
        return "no such event"
    staff = False
    if has_staff_credentials(socket):
        async with state.db.reader() as session:
            staff_user = await current_staff(socket, session)
        staff = staff_user is not None and permissions(staff_user, event_id).moderate
    attendee = None if staff else await known_attendee(socket, event_id)
    if socket.query_params.get("view") == "screen":
        kind = "screen"
    elif staff:
        kind = "staff"
    elif attendee is not None:
        kind = "attendee"
    else:
        return "join the event first"
    language = socket.cookies.get(LANGUAGE_COOKIE) or socket.query_params.get("lang") or "sv"
    language = language if language in LANGUAGES else "sv"
    snapshot_audience = SCREEN if kind == "screen" else STAFF if kind == "staff" else PUBLIC

    async def close(code: int, reason: str) -> None:
        with contextlib.suppress(Exception):
            await socket.close(code=code, reason=reason)

    raw_send = socket.scope.get(RAW_SEND_KEY)  # type: ignore[call-overload]
    connection = Connection(
        send=partial(_send_raw, raw_send) if raw_send else socket.send_text, close=close, language=language,
        audiences=AUDIENCES[kind],
        queue_limit=state.settings.socket_queue_limit,
        attendee_id=attendee.id if kind == "attendee" and attendee else None,
        group_size=attendee.group_size if attendee else 1,
    )
    snapshot = await state.broadcaster.snapshot_for(
        event_id, snapshot_audience, language, attendee.id if kind == "attendee" and attendee else None)
    return event_id, connection, snapshot


def _send_raw(raw_send: Any, frame: str) -> Coroutine[Any, Any, None]:
    """A text frame through the server's own send (see ``app.create_served_app``)."""
    return raw_send({"type": "websocket.send", "text": frame})


@get("/e/{slug:str}/screen", name="presenter_screen")
async def presenter_screen(slug: str, db_session: AsyncSession) -> Template:
    """The big screen for the studio and meeting rooms: the open poll or the question on stage, and how to join."""
    event = await load_event(db_session, slug)
    live = await load_live_state(db_session, event)
    return Template("screen/screen.html", context={"event": event, "view": event_view(event), "live": live})


@get("/e/{slug:str}/overlay", name="stream_overlay")
async def stream_overlay(slug: str, db_session: AsyncSession) -> Template:
    """The question on stage on a transparent background, for streaming software (e.g. OBS browser source)."""
    event = await load_event(db_session, slug)
    live = await load_live_state(db_session, event)
    return Template("screen/overlay.html", context={"event": event, "view": event_view(event), "live": live})


@get("/e/{slug:str}/qr.svg", name="join_qr", media_type="image/svg+xml")
async def join_qr(request: Request[Any, Any, Any], slug: str, db_session: AsyncSession) -> Response[bytes]:
    """A QR code (SVG) for the event's join link /j/{code}."""
    event = await load_event(db_session, slug)
    return Response(qr_svg(join_url(request, event.join_code)), media_type="image/svg+xml",
                    headers={"Cache-Control": "public, max-age=3600"})


def join_url(request: Request[Any, Any, Any], code: str) -> str:
    """The absolute join link: the configured public URL, else the address the request came to."""
    base = settings_of(request).base_url or str(request.base_url)
    return f"{base.rstrip('/')}/j/{code}"


def qr_svg(text: str) -> bytes:
    """``text`` as a QR code in SVG (dark modules on white, with a quiet zone)."""
    image = qrcode.make(text, image_factory=SvgPathImage, box_size=10, border=4,
                        error_correction=qrcode.constants.ERROR_CORRECT_M)
    buffer = io.BytesIO()
    image.save(buffer)
    return buffer.getvalue()


routes = [api_join, join_form, set_language, event_ws, presenter_screen, stream_overlay, join_qr]
