"""Joining an event over the JSON API, and the language switch (the join form is on the attendee page)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, get, post
from litestar.exceptions import ClientException, NotFoundException
from litestar.response import Redirect, Response

from ehalsodag.attendees.auth import ATTENDEE_COOKIE_SECONDS, attendee_cookie, client_address
from ehalsodag.attendees.service import JoinError, JoinRequest, new_attendee
from ehalsodag.i18n import LANGUAGES, _
from ehalsodag.web.actions import documented
from ehalsodag.web.auth import settings_of
from ehalsodag.web.language import LANGUAGE_COOKIE
from ehalsodag.web.responses import cookie


@post("/api/v1/events/{slug:str}/join", name="api_join", status_code=201)
async def api_join(
    request: Request[Any, Any, Any], slug: str,
    data: Annotated[JoinRequest, documented("A care unit watching together", {"organisation": "Hemtjänst Öst",
                                                                              "group_size": 8})],
) -> Response[dict[str, Any]]:
    """Join as an attendee; returns the token for the Authorization header (also set as a cookie)."""
    state = request.app.state
    await state.rate_limits.enforce("join", client_address(request))
    event_id = await state.event_ids.id_of(slug)
    if event_id is None:
        raise NotFoundException(detail=_("No event with that address."))
    try:
        attendee, token = new_attendee(event_id, data)
    except JoinError as exc:
        raise ClientException(detail=str(exc), status_code=422) from exc
    attendee = await state.inserter.insert(attendee)  # group commit: many joins, one fsync
    state.attendee_tokens.remember(token, attendee)
    response = Response({"attendee_id": attendee.id, "attendee_token": token}, status_code=201)
    response.set_cookie(cookie(settings_of(request), attendee_cookie(event_id), token, ATTENDEE_COOKIE_SECONDS))
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


routes = [api_join, set_language]
