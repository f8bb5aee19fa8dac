"""Joining an event over the JSON API, choosing one's region (national day), and the language switch (the join
form is on the attendee page)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, get, patch, post
from litestar.exceptions import ClientException, NotFoundException
from litestar.response import Redirect, Response
from sqlalchemy.ext.asyncio import AsyncSession

from ehalsodag import metrics
from ehalsodag.attendees.auth import ATTENDEE_COOKIE_SECONDS, attendee_cookie, attendee_token, enforce_join_limits
from ehalsodag.attendees.models import Attendee
from ehalsodag.attendees.service import HomeRequest, JoinError, JoinRequest, move_home, new_attendee
from ehalsodag.i18n import LANGUAGES, _
from ehalsodag.web.actions import documented, reply
from ehalsodag.web.auth import settings_of
from ehalsodag.web.forms import form_of
from ehalsodag.web.language import LANGUAGE_COOKIE
from ehalsodag.web.responses import cookie


@post("/api/v1/events/{slug:str}/join", name="api_join", status_code=201)
async def api_join(
    request: Request[Any, Any, Any], slug: str,
    data: Annotated[JoinRequest, documented("A care unit watching together", {"organisation": "Hemtjänst Öst",
                                                                              "group_size": 8})],
) -> Response[dict[str, Any]]:
    """Join as an attendee; returns the token for the Authorization header (also set as a cookie). A client that
    already holds an attendee of the event (its bearer token or cookie) gets that attendee back (200; change its
    region with PATCH /me): joining again never makes a second attendee."""
    state = request.app.state
    event_id = await state.event_ids.id_of(slug)
    if event_id is None:
        raise NotFoundException(detail=_("No event with that address."))
    held = attendee_token(request, event_id)
    known = await state.attendee_tokens.lookup(event_id, held) if held else None
    if known is not None:
        return Response({"attendee_id": known.id, "attendee_token": held}, status_code=200)
    await enforce_join_limits(request)
    stage_id = await state.event_ids.stage_id_of(event_id, data.stage)
    if data.stage not in (None, "") and stage_id is None:
        raise ClientException(detail=_("No such region in this event."), status_code=422)
    try:
        attendee, token = new_attendee(event_id, data, stage_id, settings_of(request).max_group_size)
    except JoinError as exc:
        raise ClientException(detail=str(exc), status_code=422) from exc
    attendee = await state.inserter.insert(attendee)  # group commit: many joins, one fsync
    metrics.count_join()
    state.attendee_tokens.remember(token, attendee)
    response = Response({"attendee_id": attendee.id, "attendee_token": token}, status_code=201)
    response.set_cookie(cookie(settings_of(request), attendee_cookie(event_id), token, ATTENDEE_COOKIE_SECONDS))
    return response


async def _move(request: Request[Any, Any, Any], attendee: Attendee, uow: AsyncSession, body: HomeRequest) -> str:
    stage_id = await request.app.state.event_ids.stage_id_of(attendee.event_id, body.stage)
    if stage_id is None:
        raise ClientException(detail=_("No such region in this event."), status_code=422)
    move_home(uow, attendee, stage_id)
    return _("Your region is changed. The page follows your region's programme.")


@patch("/api/v1/events/{slug:str}/me", name="api_me", status_code=200)
async def api_me(request: Request[Any, Any, Any], attendee: Attendee, uow: AsyncSession,
                 data: Annotated[HomeRequest, documented("Follow Östergötland's regional blocks",
                                                         {"stage": "ostergotland"})]) -> dict[str, Any]:
    """Change the attendee's region (their stage on a national day): their open pages switch with it."""
    await _move(request, attendee, uow, data)
    return {"attendee_id": attendee.id, "stage": data.stage}


@post("/e/{slug:str}/region", name="form_region", dependencies={"form": form_of(HomeRequest)})
async def form_region(request: Request[Any, Any, Any], slug: str, attendee: Attendee, uow: AsyncSession,
                      form: HomeRequest) -> Response[Any]:
    """The region picker on the attendee page."""
    message = await _move(request, attendee, uow, form)
    return reply(request, data={"ok": True, "detail": message}, message=message, back=f"/e/{slug}")


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


routes = [api_join, api_me, form_region, set_language]
