"""Who the attendee of a request is: their token from the Authorization header, ``?token=`` (websockets)
or the event's cookie; and the ``attendee`` dependency for routes that need one."""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ehalsodag.attendees.models import Attendee
from ehalsodag.attendees.service import AttendeeRef
from ehalsodag.i18n import _
from ehalsodag.tokens import token_hash
from ehalsodag.web.auth import bearer, cookie_auth_allowed

#: How long the attendee cookie lasts (a whole day with margin; rejoining is one click).
ATTENDEE_COOKIE_SECONDS = 7 * 24 * 3600


def client_address(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    """The client's address (uvicorn resolves X-Forwarded-For from trusted proxies)."""
    return connection.client.host if connection.client else "unknown"


async def enforce_join_limits(connection: ASGIConnection[Any, Any, Any, Any]) -> None:
    """429 when the client's address made too many new attendees this minute or hour (the numbers are in
    :class:`ehalsodag.settings.Settings`: ``join_limit`` and ``joins_per_hour``)."""
    limits = connection.app.state.rate_limits
    address = client_address(connection)
    await limits.enforce("join", address)  # first: a refusal here must not use up the hour's allowance
    await limits.enforce("join_hour", address)


def attendee_cookie(event_id: int) -> str:
    """One attendee cookie per event, so that a browser can follow two events."""
    return f"ehd_a{event_id}"


def attendee_token(connection: ASGIConnection[Any, Any, Any, Any], event_id: int) -> str | None:
    """The attendee token the request carries for ``event_id``: bearer, the cookie, or ``?token=`` on the websocket
    only (a token in a page's address would end up in histories, proxy logs and Referer headers)."""
    token = bearer(connection) or (
        connection.query_params.get("token") if connection.scope["type"] == "websocket" else None)
    if not token and cookie_auth_allowed(connection):
        token = connection.cookies.get(attendee_cookie(event_id))
    return token if token and token.startswith("eha_") else None


async def current_attendee(connection: ASGIConnection[Any, Any, Any, Any], session: AsyncSession,
                           event_id: int) -> Attendee | None:
    """The attendee of ``event_id`` behind the request's token, if any."""
    token = attendee_token(connection, event_id)
    if not token:
        return None
    result = await session.execute(
        select(Attendee).where(Attendee.token_hash == token_hash(token), Attendee.event_id == event_id))
    return result.scalar_one_or_none()


async def known_attendee(connection: ASGIConnection[Any, Any, Any, Any], event_id: int) -> AttendeeRef | None:
    """Like :func:`current_attendee`, but from the in-memory token cache (no query once seen)."""
    token = attendee_token(connection, event_id)
    return await connection.app.state.attendee_tokens.lookup(event_id, token) if token else None


async def require_attendee(connection: ASGIConnection[Any, Any, Any, Any], session: AsyncSession,
                           event_id: int) -> Attendee:
    """The attendee of ``event_id``, or 401 telling them to join first."""
    attendee = await current_attendee(connection, session, event_id)
    if attendee is None:
        raise NotAuthorizedException(detail=_("Join the event first."))
    return attendee
