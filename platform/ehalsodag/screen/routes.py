"""The presenter screen, the stream overlay and the join QR code."""

from __future__ import annotations

import io
from typing import Any

import qrcode
import qrcode.constants
from litestar import Request, get
from litestar.exceptions import NotFoundException
from litestar.response import Response, Template
from qrcode.image.svg import SvgPathImage
from sqlalchemy.ext.asyncio import AsyncSession

from ehalsodag.agenda import tracks
from ehalsodag.agenda.models import Event, Stage
from ehalsodag.agenda.service import load_event
from ehalsodag.fragments import Audience, Viewer
from ehalsodag.i18n import _, current_language
from ehalsodag.web.auth import settings_of


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


routes = [presenter_screen, stream_overlay, join_qr]
