"""The presenter screen, the stream overlay and the join QR code."""

from __future__ import annotations

import io
from typing import Any

import qrcode
import qrcode.constants
from litestar import Request, get
from litestar.response import Response, Template
from qrcode.image.svg import SvgPathImage
from sqlalchemy.ext.asyncio import AsyncSession

from ehalsodag.agenda.service import load_event
from ehalsodag.fragments import Audience, Viewer
from ehalsodag.i18n import current_language
from ehalsodag.web.auth import settings_of


async def _page(request: Request[Any, Any, Any], slug: str, session: AsyncSession, template: str,
                audience: Audience) -> Template:
    event = await load_event(session, slug)
    parts = await request.app.state.snapshots.parts(session, event, Viewer(audience), current_language())
    return Template(template, context={"event": event, "parts": parts})


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


routes = [presenter_screen, stream_overlay, join_qr]
