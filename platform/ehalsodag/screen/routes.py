"""The presenter screen, the stream overlay, the join QR code, and the moderators' choice of what the screen shows."""

from __future__ import annotations

import io
from typing import Annotated, Any

import msgspec
import qrcode
import qrcode.constants
from litestar import Request, get, post
from litestar.exceptions import NotFoundException
from litestar.response import Response, Template
from qrcode.image.svg import SvgPathImage
from sqlalchemy.ext.asyncio import AsyncSession

from ehalsodag.agenda import tracks
from ehalsodag.agenda.models import Event, Stage
from ehalsodag.agenda.service import load_event
from ehalsodag.fragments import Audience, Viewer
from ehalsodag.i18n import _, current_language
from ehalsodag.screen import service
from ehalsodag.screen.fragments import join_code, on_screen
from ehalsodag.staff.auth import moderator_guard, require_stage
from ehalsodag.staff.models import StaffUser
from ehalsodag.staff.service import Permissions
from ehalsodag.web.actions import documented, reply
from ehalsodag.web.auth import settings_of
from ehalsodag.web.bounds import BodyId, Key
from ehalsodag.web.forms import form_of


def _stage(event: Event, request: Request[Any, Any, Any]) -> Stage | None:
    """The stage a screen, overlay or QR code is for (``?stage=``; default: the main stage)."""
    key = request.query_params.get("stage")
    stage = tracks.stage_by_key(event, key)
    if key and stage is None:
        raise NotFoundException(detail=_("No such stage in this event."))
    return stage or tracks.main_stage(event)


async def _page(request: Request[Any, Any, Any], slug: str, session: AsyncSession, template: str,
                audience: Audience) -> Template:
    event = await load_event(session, slug)
    stage = _stage(event, request)
    viewer = Viewer(audience, stage=stage.id if stage else None)
    parts = await request.app.state.snapshots.parts(session, event, viewer, current_language())
    national_day = tracks.is_national_day(event)
    return Template(template, context={
        "event": event, "parts": parts, "stage": stage if national_day else None,
        "join_code": (stage.join_code if national_day and stage and stage.join_code else event.join_code),
        "stage_query": f"?stage={stage.key}" if national_day and stage else "",
        "stage_param": f"&stage={stage.key}" if national_day and stage else ""})


@get("/e/{slug:str}/screen", name="presenter_screen")
async def presenter_screen(request: Request[Any, Any, Any], slug: str, db_session: AsyncSession) -> Template:
    """The big screen for the studio and meeting rooms: the open poll or the question on stage, and how to join."""
    return await _page(request, slug, db_session, "screen/screen.html", Audience.SCREEN)


@get("/e/{slug:str}/overlay", name="stream_overlay")
async def stream_overlay(request: Request[Any, Any, Any], slug: str, db_session: AsyncSession) -> Template:
    """The question on stage on a transparent background, for streaming software (e.g. OBS browser source)."""
    return await _page(request, slug, db_session, "screen/overlay.html", Audience.OVERLAY)


@get("/e/{slug:str}/qr.svg", name="join_qr", media_type="image/svg+xml")
async def join_qr(request: Request[Any, Any, Any], slug: str, db_session: AsyncSession) -> Response[bytes]:
    """A QR code (SVG) for the event's join link /j/{code} (``?stage=``: the region's own code)."""
    event = await load_event(db_session, slug)
    stage = _stage(event, request)
    code = stage.join_code if stage is not None and stage.join_code and tracks.is_national_day(event) else (
        event.join_code)
    return Response(qr_svg(join_url(request, code)), media_type="image/svg+xml",
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


# --- what the screen shows: one Struct for the control panel's form and the JSON API alike -----------------------


class ScreenBody(msgspec.Struct, forbid_unknown_fields=True):
    """POST /api/v1/events/{slug}/screen and the panel's "Show on the screen" form.

    ``show``: auto | poll | question | code | programme; ``poll_id`` with "poll"; ``stage`` on a national day (default:
    the national stage, for a region's moderator their region); ``participants`` turns the participant count on or
    off (left as it is when not given)."""

    show: Key
    poll_id: BodyId | None = None
    stage: Key | None = None
    participants: bool | None = None


def _chosen_stage(event: Event, allowed: Permissions, key: str | None) -> Stage | None:
    """The stage whose screens an action sets, if this moderator may act on it."""
    stage = tracks.stage_by_key(event, key)
    if key not in (None, "") and stage is None:
        raise NotFoundException(detail=_("No such stage in this event."))
    if stage is None and allowed.stages is not None and event.stages:
        stage = tracks.stage_by_id(event, min(allowed.stages))  # a region's moderator sets their region's screen
    stage = stage or tracks.main_stage(event)
    require_stage(allowed, stage.id if stage else None)
    return stage


def _described(shows: str, question: str | None, code: str) -> str:
    """What the screen shows, as the panel's feedback says it."""
    if shows == "poll" and question:
        return _("The screen shows the poll “%(question)s”.", question=question)
    return {
        "question": _("The screen shows the question on stage."),
        "nothing": _("The screen shows the question on stage (none on stage right now)."),
        "code": _("The screen shows the join code %(code)s.", code=code),
        "programme": _("The screen shows the programme."),
    }.get(shows, _("The screen is on automatic."))


async def _set_screen(request: Request[Any, Any, Any], event: Event, staff: StaffUser, allowed: Permissions,
                      uow: AsyncSession, body: ScreenBody) -> Response[Any]:
    stage = _chosen_stage(event, allowed, body.stage)
    stage_id = stage.id if stage else None
    choice = await service.set_choice(uow, event, stage_id, body.show, body.poll_id, body.participants, staff.email)
    now = await on_screen(uow, event, stage_id)
    code = join_code(event, stage_id)
    message = _described(now.shows, now.poll.poll.question if now.poll else None, code)
    if body.participants is not None:
        message += " " + (_("The participant count is shown.") if choice.participants
                          else _("The participant count is hidden."))
    data = {"show": choice.show, "poll_id": choice.poll_id, "participants": choice.participants, "shows": now.shows,
            "stage": stage.key if stage and tracks.is_national_day(event) else None, "detail": message}
    query = f"?stage={stage.key}" if stage and tracks.is_national_day(event) else ""
    return reply(request, data=data, message=message, back=f"/e/{event.slug}/control{query}#screen-control")


@post("/e/{slug:str}/control/screen", name="control_screen", guards=[moderator_guard],
      dependencies={"form": form_of(ScreenBody)})
async def control_screen(request: Request[Any, Any, Any], event: Event, uow: AsyncSession, staff: StaffUser,
                         allowed: Permissions, form: ScreenBody) -> Response[Any]:
    """Form: choose what the presenter screens of the panel's stage show."""
    return await _set_screen(request, event, staff, allowed, uow, form)


@post("/api/v1/events/{slug:str}/screen", name="api_screen", status_code=200, guards=[moderator_guard])
async def api_screen(
    request: Request[Any, Any, Any], event: Event, uow: AsyncSession, staff: StaffUser, allowed: Permissions,
    data: Annotated[ScreenBody, documented("Show a poll on the screen", {"show": "poll", "poll_id": 12})],
) -> Response[Any]:
    """Choose what the presenter screens (and the overlay) show: ``auto`` (the newest open poll, else the question on
    stage, else the block on air), ``poll`` (with ``poll_id``), ``question``, ``code`` (the join code with a large QR
    code) or ``programme``; ``participants`` shows or hides the number of connected attendees."""
    return await _set_screen(request, event, staff, allowed, uow, data)


@get("/api/v1/events/{slug:str}/screen", name="api_screen_state")
async def api_screen_state(request: Request[Any, Any, Any], slug: str, db_session: AsyncSession) -> dict[str, Any]:
    """What the presenter screens of a stage (``?stage=``) are set to show, and what that comes to now."""
    event = await load_event(db_session, slug)
    stage = _stage(event, request)
    now = await on_screen(db_session, event, stage.id if stage else None)
    return {"show": now.choice.show, "poll_id": now.choice.poll_id, "participants": now.choice.participants,
            "shows": now.shows}


routes = [presenter_screen, stream_overlay, join_qr, control_screen, api_screen, api_screen_state]
