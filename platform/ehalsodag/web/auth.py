"""Who is asking: attendees (token cookie or bearer) and staff (session cookie or bearer token)."""

from __future__ import annotations

import hmac
from typing import Any
from urllib.parse import urlsplit

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from sqlalchemy.ext.asyncio import AsyncSession

from ehalsodag.agenda.models import Event
from ehalsodag.i18n import _
from ehalsodag.live.models import Attendee
from ehalsodag.live.service import AttendeeRef, attendee_by_token
from ehalsodag.settings import Settings
from ehalsodag.staff import service as staff_service
from ehalsodag.staff.models import StaffUser

STAFF_COOKIE = "ehd_staff"


def attendee_cookie(event: Event | int) -> str:
    """One attendee cookie per event, so that a browser can follow two events."""
    return f"ehd_a{event if isinstance(event, int) else event.id}"


def bearer(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    """The bearer token of the Authorization header, if any."""
    header = connection.headers.get("authorization", "")
    scheme, _sep, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


CSRF_COOKIE = "csrftoken"
CSRF_HEADER = "x-csrftoken"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def cookie_auth_allowed(connection: ASGIConnection[Any, Any, Any, Any]) -> bool:
    """Whether a session or attendee cookie may authenticate this request.

    Forms are covered by the CSRF middleware and websockets by the Origin check; an unsafe JSON API
    request that relies on a cookie must also carry the CSRF token in its header (as htmx does), so
    another site can never make a browser act through the API. Bearer tokens need no such token.
    """
    if connection.scope["type"] != "http" or connection.scope.get("method", "GET") in SAFE_METHODS:
        return True
    if not connection.scope["path"].startswith("/api/"):
        return True
    token = connection.cookies.get(CSRF_COOKIE)
    return bool(token) and hmac.compare_digest(token, connection.headers.get(CSRF_HEADER, ""))


def settings_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Settings:
    """The app's settings."""
    return connection.app.state.settings


def has_staff_credentials(connection: ASGIConnection[Any, Any, Any, Any]) -> bool:
    """Whether the request carries a staff token or session cookie at all (no query needed to know)."""
    token = bearer(connection)
    return bool(token and token.startswith("ehs_")) or STAFF_COOKIE in connection.cookies


async def current_staff(connection: ASGIConnection[Any, Any, Any, Any], session: AsyncSession) -> StaffUser | None:
    """The staff user behind a bearer token or a valid session cookie."""
    token = bearer(connection)
    if token and token.startswith("ehs_"):
        return await staff_service.user_by_token(session, token)
    cookie = connection.cookies.get(STAFF_COOKIE)
    if not cookie or not cookie_auth_allowed(connection):
        return None
    secret = settings_of(connection).secret_key
    parsed = staff_service.parse_session_cookie(secret, cookie)
    if parsed is None:
        return None
    user_id, expires, signature = parsed
    user = await staff_service.user_by_id(session, user_id)
    if user is None or not staff_service.session_matches(secret, user, expires, signature):
        return None
    return user


async def require_staff(
    connection: ASGIConnection[Any, Any, Any, Any], session: AsyncSession, event: Event, *, organise: bool = False
) -> StaffUser:
    """The staff user, if allowed to moderate (or organise) ``event``; else 401/403."""
    user = await current_staff(connection, session)
    if user is None:
        raise NotAuthorizedException(detail=_("Log in as staff first."))
    allowed = staff_service.permissions(user, event.id)
    if not (allowed.organise if organise else allowed.moderate):
        raise PermissionDeniedException(detail=_("You are not staff of this event."))
    return user


async def current_attendee(
    connection: ASGIConnection[Any, Any, Any, Any], session: AsyncSession, event: Event | int
) -> Attendee | None:
    """The attendee of ``event`` (or of the event with that id) behind a bearer token, ``?token=``
    (websockets) or the cookie."""
    event_id = event if isinstance(event, int) else event.id
    token = attendee_token(connection, event_id)
    return await attendee_by_token(session, event_id, token) if token else None


def attendee_token(connection: ASGIConnection[Any, Any, Any, Any], event_id: int) -> str | None:
    """The attendee token the request carries for ``event_id``: bearer, ``?token=`` or the cookie."""
    token = bearer(connection) or connection.query_params.get("token")
    if not token and cookie_auth_allowed(connection):
        token = connection.cookies.get(attendee_cookie(event_id))
    return token if token and token.startswith("eha_") else None


async def known_attendee(connection: ASGIConnection[Any, Any, Any, Any], event_id: int) -> AttendeeRef | None:
    """Like :func:`current_attendee`, but from the in-memory token cache (no query once seen)."""
    token = attendee_token(connection, event_id)
    return await connection.app.state.attendee_tokens.lookup(event_id, token) if token else None


def origin_allowed(connection: ASGIConnection[Any, Any, Any, Any]) -> bool:
    """Websocket handshakes from a browser must come from our own pages (no cross-site hijacking).

    Clients that send no Origin (scripts, the load generator) authenticate with a token instead.
    """
    origin = connection.headers.get("origin")
    if origin is None:
        return True
    origin_host = urlsplit(origin).netloc.lower()
    base_url = settings_of(connection).base_url
    allowed = {connection.headers.get("host", "").lower()}
    if base_url:
        allowed.add(urlsplit(base_url).netloc.lower())
    return origin_host in allowed
