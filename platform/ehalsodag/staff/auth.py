"""Who the staff user of a request is (bearer token or signed session cookie), and the guards that let
moderators and organisers act on their own events only.

A guarded handler finds its event from the path: ``{slug}``, or an object id resolved by the
function in the handler's ``opt["event_of"]`` (a question, a poll, a chat message). A moderator of one
stage (a region on the national day) passes only for objects of that stage (``opt["stage_of"]``
finds the object's stage) and never for what reaches every stage (``opt["whole_event"]``). The
guard leaves the user in ``connection.state.staff`` for the ``staff`` dependency, and what they may
do in ``connection.state.allowed`` for the ``allowed`` dependency (handlers that act on a stage
named in the body check it there).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, NotFoundException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from sqlalchemy.ext.asyncio import AsyncSession

from ehalsodag.i18n import _
from ehalsodag.staff import service as staff_service
from ehalsodag.staff.models import ApiToken, StaffUser
from ehalsodag.web.auth import bearer, cookie_auth_allowed

STAFF_COOKIE = "ehd_staff"
logger = logging.getLogger(__name__)

#: Finds the event id of the object a path names (None: no such object).
EventOf = Callable[[ASGIConnection[Any, Any, Any, Any]], Awaitable[int | None]]


def has_staff_credentials(connection: ASGIConnection[Any, Any, Any, Any]) -> bool:
    """Whether the request carries a staff token or session cookie at all (no query needed to know)."""
    token = bearer(connection)
    return bool(token and token.startswith("ehs_")) or STAFF_COOKIE in connection.cookies


async def current_staff(connection: ASGIConnection[Any, Any, Any, Any], session: AsyncSession) -> StaffUser | None:
    """The staff user behind a live bearer token or a live server-side session cookie."""
    token = bearer(connection)
    if token and token.startswith("ehs_"):
        found = await staff_service.token_by_secret(session, token)
        if found is None:
            return None
        user, row = found
        _note_token_use(connection, row)
        return user
    cookie = connection.cookies.get(STAFF_COOKIE)
    if not cookie or not cookie_auth_allowed(connection):
        return None
    return await staff_service.user_by_session(session, cookie)


#: How stale a token's "last used" may get before a request refreshes it (one write a minute at most).
LAST_USED_EVERY = dt.timedelta(seconds=60)
_pending: set[asyncio.Task[None]] = set()


def _note_token_use(connection: ASGIConnection[Any, Any, Any, Any], row: ApiToken) -> None:
    """Refresh the token's "last used" in a write of its own, outside the request (it may hold the write lock)."""
    now = dt.datetime.now(dt.UTC)
    if row.last_used_at is not None and now - row.last_used_at < LAST_USED_EVERY:
        return
    db = connection.app.state.db

    async def write() -> None:
        try:
            async with db.unit_of_work() as session:
                await staff_service.mark_token_used(session, row.id)
        except Exception:  # only bookkeeping: never fail anything for it
            logger.warning("could not record a token's use", exc_info=True)

    task = asyncio.create_task(write())
    _pending.add(task)
    task.add_done_callback(_pending.discard)


class LoginRequired(NotAuthorizedException):
    """401 for scripts and htmx; a browser asking for a page is sent to the login form (see the error handler)."""

    login_redirect = True


async def staff_guard(connection: ASGIConnection[Any, Any, Any, Any], _handler: BaseRouteHandler) -> None:
    """Anyone with a staff role passes (the studio's own pages: home, tokens, password); the user is left in
    ``connection.state.staff``."""
    async with connection.app.state.db.reader() as session:
        user = await current_staff(connection, session)
    if user is None:
        raise LoginRequired(detail=_("Log in as staff first."))
    if not user.roles:
        raise PermissionDeniedException(detail=_("You have no staff role any more."))
    connection.state.staff = user


async def organiser_anywhere_guard(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    """Admins and organisers (of any event, or of every event) pass: the staff page, creating a new day. What each
    may do on a given event is checked there (``permissions``)."""
    await staff_guard(connection, handler)
    if not staff_service.may_manage_staff(connection.state.staff):
        raise PermissionDeniedException(detail=_("Only organisers and administrators can do this."))


async def event_of_slug(connection: ASGIConnection[Any, Any, Any, Any]) -> int | None:
    """The event id of the path's ``{slug}``."""
    return await connection.app.state.event_ids.id_of(connection.path_params["slug"])


async def _guard(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler, *, organise: bool) -> None:
    event_of: EventOf = handler.opt.get("event_of", event_of_slug)
    async with connection.app.state.db.reader() as session:
        user = await current_staff(connection, session)
    if user is None:
        raise NotAuthorizedException(detail=_("Log in as staff first."))
    event_id = await event_of(connection)
    if event_id is None:
        raise NotFoundException(detail=_("Not found."))
    allowed = staff_service.permissions(user, event_id)
    if not (allowed.organise if organise else allowed.moderate):
        raise PermissionDeniedException(detail=_("You are not staff of this event."))
    if handler.opt.get("whole_event") and allowed.stages is not None:  # the banner, the event's switches
        raise PermissionDeniedException(detail=_("Only a moderator of the whole event can do this."))
    stage_of: EventOf | None = handler.opt.get("stage_of")
    if stage_of is not None and allowed.stages is not None and await stage_of(connection) not in allowed.stages:
        raise PermissionDeniedException(detail=_("You moderate another stage of this event."))
    connection.state.staff = user
    connection.state.event_id = event_id
    connection.state.allowed = allowed


async def moderator_guard(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    """Only the event's moderators, organisers and admins pass."""
    await _guard(connection, handler, organise=False)


async def organiser_guard(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    """Only the event's organisers and admins pass."""
    await _guard(connection, handler, organise=True)


async def provide_staff(request: Any) -> StaffUser:
    """The ``staff`` dependency: the user a staff guard let through."""
    return request.state.staff


async def provide_allowed(request: Any) -> staff_service.Permissions:
    """The ``allowed`` dependency: what the user a staff guard let through may do on this event."""
    return request.state.allowed


def require_stage(allowed: staff_service.Permissions, stage_id: int | None) -> None:
    """Refuse a moderator of another stage (403)."""
    if not allowed.moderates(stage_id):
        raise PermissionDeniedException(detail=_("You moderate another stage of this event."))


async def is_staff_of(connection: ASGIConnection[Any, Any, Any, Any], session: AsyncSession, event_id: int) -> bool:
    """Whether the request comes from a moderator (or more) of ``event_id``; no query without credentials."""
    return await staff_permissions(connection, session, event_id) is not None


async def staff_permissions(connection: ASGIConnection[Any, Any, Any, Any], session: AsyncSession,
                            event_id: int) -> staff_service.Permissions | None:
    """What the request's moderator (or more) may do on ``event_id``; None for anybody else (no query
    without credentials)."""
    if not has_staff_credentials(connection):
        return None
    user = await current_staff(connection, session)
    if user is None:
        return None
    allowed = staff_service.permissions(user, event_id)
    return allowed if allowed.moderate else None
