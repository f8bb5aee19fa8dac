"""Agenda pages (event list, attendee page with its join form, join by code) and the event JSON."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import msgspec
from litestar import Request, get, post
from litestar.exceptions import NotFoundException
from litestar.response import Redirect, Response, Template
from sqlalchemy.ext.asyncio import AsyncSession

from ehalsodag.agenda import interop, runofshow, tracks
from ehalsodag.agenda.models import Block, Event
from ehalsodag.agenda.service import event_by_code, list_events, load_event, stage_by_code
from ehalsodag.agenda.streams import StreamError, embed_for
from ehalsodag.agenda.view import event_view
from ehalsodag.attendees.auth import (
    ATTENDEE_COOKIE_SECONDS,
    attendee_cookie,
    attendee_token,
    client_address,
    current_attendee,
    enforce_join_limits,
)
from ehalsodag.attendees.models import Attendee
from ehalsodag.attendees.service import JoinError, JoinRequest, join, rejoin
from ehalsodag.fragments import Audience, Viewer
from ehalsodag.i18n import _, current_language
from ehalsodag.qa.service import MAX_QUESTION
from ehalsodag.staff.auth import current_staff
from ehalsodag.staff.service import permissions
from ehalsodag.web.auth import settings_of
from ehalsodag.web.flash import FORM_ERROR_COOKIE, forget_form_error, form_error
from ehalsodag.web.forms import form_of
from ehalsodag.web.ratelimit import TooFast
from ehalsodag.web.responses import cookie
from ehalsodag.web.security import content_security_policy
from ehalsodag.web.templating import iso, page_context

#: What a typed code may contain besides its digits: spaces (123 456), dashes (123-456), dots.
_CODE_SEPARATORS = re.compile(r"[\s\-\u2010-\u2015.]+")


def normalise_code(typed: str) -> str:
    """A join code as typed ("123 456", "123-456", " 123456 ") as stored ("123456"); bounded, whatever was sent."""
    return _CODE_SEPARATORS.sub("", typed[:40])[:20]


async def _code_page(request: Request[Any, Any, Any], session: AsyncSession, code: str | None, *,
                     template: str, action: str, missing_status: int = 200) -> Template | Redirect:
    """The join-by-code form (on ``/`` and ``/kod``): a valid code leads to its attendee page; an unknown, draft or
    refused one shows the form again with what was typed and the error beside the field."""
    status = 200
    error = None
    if code is not None:
        try:
            await request.app.state.rate_limits.enforce("code", client_address(request))
        except TooFast as exc:
            error, status = exc.detail, 429
        else:
            target = await code_target(session, normalise_code(code))
            if target is not None:
                return Redirect(target, status_code=303)
            error, status = _("No event has that code. Check the digits on the screen."), missing_status
    context: dict[str, Any] = {"code": (code or "")[:40], "code_error": error, "code_action": action}
    if template == "attendee/index.html":
        context["events"] = [e for e in await list_events(session) if e.published]  # drafts: in the studio
    return Template(template, context=context, status_code=status)


async def code_target(session: AsyncSession, code: str) -> str | None:
    """Where a join code leads: the event's page, or a region's (its join form pre-selects the region); a draft's
    code leads nowhere (its attendee page is not public yet)."""
    event = await event_by_code(session, code) if code else None
    if event is not None:
        return f"/e/{event.slug}" if event.published else None
    stage = await stage_by_code(session, code) if code else None
    return f"/e/{stage.event.slug}?stage={stage.key}" if stage is not None and stage.event.published else None


@get("/", name="home")
async def home(request: Request[Any, Any, Any], db_session: AsyncSession, code: str | None = None
               ) -> Template | Redirect:
    """The list of events, and the join-by-code form: a valid code (an event's, or a region's on a national
    day) leads to that attendee page; an unknown one shows the form again with the error beside the field."""
    return await _code_page(request, db_session, code, template="attendee/index.html", action="/")


@get("/kod", name="code_form")
async def code_form(request: Request[Any, Any, Any], db_session: AsyncSession, code: str | None = None
                    ) -> Template | Redirect:
    """The short address to join by code (as menti.com): the code form alone, large, for a phone."""
    return await _code_page(request, db_session, code, template="attendee/code.html", action="/kod")


@get("/kod/{code:str}", name="code_direct")
async def code_direct(request: Request[Any, Any, Any], db_session: AsyncSession, code: str) -> Template | Redirect:
    """``/kod/123456`` (or ``/kod/123-456``) lands on the code's attendee page; an unknown code shows the form."""
    return await _code_page(request, db_session, code, template="attendee/code.html", action="/kod",
                            missing_status=404)


async def attendee_page_context(request: Request[Any, Any, Any], session: AsyncSession, event: Event,
                                attendee: Attendee | None = None) -> dict[str, Any]:
    """What the attendee page shows: the snapshot's parts (the same fragments the websocket pushes)."""
    staff = await current_staff(request, session)
    is_staff = staff is not None and permissions(staff, event.id).moderate
    # an attendee's region; staff may look at any region's page (?stage=), a visitor's join form pre-selects it
    asked = tracks.stage_by_key(event, request.query_params.get("stage"))
    home = attendee.stage_id if attendee is not None else asked.id if asked else None
    viewer = Viewer(Audience.ATTENDEE, attendee.id if attendee else None, is_staff, home)
    parts = await request.app.state.snapshots.parts(session, event, viewer, current_language(),
                                                       page_context(request))
    national_day = tracks.is_national_day(event)
    return {"event": event, "view": event_view(event, home=home), "attendee": attendee, "staff": staff,
            "parts": parts, "national_day": national_day, "home": tracks.home_of(event, home),
            "regions": tracks.regional_stages(event) if national_day else [], "main_stage": tracks.main_stage(event),
            "stage_query": f"?stage={asked.key}" if asked is not None and attendee is None else "",
            "max_group_size": settings_of(request).max_group_size, "form_error": form_error(request),
            "max_question": MAX_QUESTION, "code_address": code_address(request)}


def code_address(request: Request[Any, Any, Any]) -> str:
    """Where people type a join code, as shown beside it ("ehalsodag.example.se/kod"): the configured public URL,
    else the address the request came to."""
    base = settings_of(request).base_url or str(request.base_url)
    return f"{base.split('://', 1)[-1].rstrip('/')}/kod"


@get("/e/{slug:str}", name="attendee_page")
async def attendee_page(request: Request[Any, Any, Any], slug: str, db_session: AsyncSession) -> Template:
    """The attendee page: join form, live block with its stream, now/next, programme, announcement."""
    event = await load_event(db_session, slug)
    attendee = await current_attendee(request, db_session, event.id)
    if attendee is not None:  # presence of a browser without JavaScript (it opens no socket): docs/results.md
        request.app.state.attendance.saw(event.id, attendee.id)
    return Template("attendee/event.html", context=await attendee_page_context(request, db_session, event, attendee),
                    headers={"Content-Security-Policy": event_csp(event)},
                    cookies=[forget_form_error()] if FORM_ERROR_COOKIE in request.cookies else [])


@post("/e/{slug:str}/join", name="join_form", dependencies={"form": form_of(JoinRequest)})
async def join_form(request: Request[Any, Any, Any], slug: str, event: Event, uow: AsyncSession,
                    form: JoinRequest) -> Response[Any]:
    """The join form on the attendee page (works without JavaScript). A browser that joins again (it still has
    the event's cookie) gets its own attendee back, with what it says now; it never makes a second one."""
    stage = tracks.stage_by_key(event, form.stage)
    ceiling = settings_of(request).max_group_size
    existing = await current_attendee(request, uow, event.id)
    if existing is None:
        await enforce_join_limits(request)
    try:
        if form.stage not in (None, "") and stage is None:
            raise JoinError(_("No such region in this event."))
        if existing is not None:
            rejoin(uow, existing, form, stage.id if stage else None, ceiling)
            held = attendee_token(request, event.id)
            if held:  # the in-memory token cache carries the group size the hub counts
                request.app.state.attendee_tokens.remember(held, existing)
            return Redirect(f"/e/{slug}", status_code=303)
        _attendee, token = await join(uow, event.id, form, stage.id if stage else None, ceiling)
    except JoinError as exc:
        context = await attendee_page_context(request, uow, event)
        return Template("attendee/event.html", status_code=422, context={
            **context, "join_error": str(exc), "join_values": msgspec.structs.asdict(form)})
    response = Redirect(f"/e/{slug}", status_code=303)
    response.set_cookie(cookie(settings_of(request), attendee_cookie(event.id), token, ATTENDEE_COOKIE_SECONDS))
    return response


def event_csp(event: Event) -> str:
    """The attendee page may frame (or play HLS from) exactly the stream hosts its blocks embed."""
    frames: set[str] = set()
    media: set[str] = set()
    for url in [s.stream_url for s in event.stages] + [u for b in event.active_blocks()
                                                        for u in (b.stream_url, b.film_url)]:
        if not url:
            continue
        try:
            embed = embed_for(url, event.allowed_stream_hosts)
        except StreamError:
            continue
        (media if embed.kind == "hls" else frames).add(embed.host)
    return content_security_policy(frames, media)


@get("/j/{code:str}", name="join_by_code")
async def join_by_code(request: Request[Any, Any, Any], code: str, db_session: AsyncSession) -> Redirect:
    """Short numeric code (shown on the shared screen and as a QR code) to the event page."""
    await request.app.state.rate_limits.enforce("code", client_address(request))
    # a region's own code: its attendees join that region
    target = await code_target(db_session, normalise_code(code))
    if target is None:
        raise NotFoundException(detail=_("No event has that code. Check the digits on the screen."))
    return Redirect(target, status_code=303)


#: When the platform's accessibility was last assessed, and the statement last updated (Digg asks for both).
ACCESSIBILITY_ASSESSED = dt.date(2026, 11, 24)
ACCESSIBILITY_UPDATED = dt.date(2026, 11, 24)


@get(["/accessibility", "/tillganglighet"], name="accessibility_statement")
async def accessibility_statement(request: Request[Any, Any, Any], db_session: AsyncSession) -> Template:
    """The accessibility statement (tillgänglighetsredogörelse), in Swedish and English, with what Digg's rules
    ask of it: the public body, compliance status, shortcomings, assessment date and method, contact, and the
    link to Digg's notification form."""
    settings = settings_of(request)
    operators = [settings.operator] if settings.operator else sorted(
        {e.organiser for e in await list_events(db_session) if e.organiser})
    contact = settings.accessibility_contact or ""
    contact_href = contact if contact.startswith(("https://", "http://")) else f"mailto:{contact}" if "@" in contact \
        else ""
    return Template("about/accessibility.html", context={
        "operators": operators, "contact": contact, "contact_href": contact_href,
        "assessed": ACCESSIBILITY_ASSESSED, "updated": ACCESSIBILITY_UPDATED})


def block_json(block: Block) -> dict[str, Any]:
    """A block as the JSON API shows it."""
    return {
        "id": block.id, "key": block.key, "stage": block.stage.key, "kind": block.kind, "title": block.title,
        "description": block.description, "theme": block.theme,
        "planned_start": iso(block.planned_start), "planned_end": iso(block.planned_end),
        "start": iso(block.starts_at), "end": iso(block.ends_at), "shift_minutes": block.shift_minutes,
        "went_live_at": iso(block.went_live_at) or None, "speakers": block.speakers,
        "stream_url": block.stream_url, "film_url": block.film_url, "recording_url": block.recording_url,
    }


@get("/api/v1/events/{slug:str}", name="api_event")
async def api_event(slug: str, db_session: AsyncSession) -> dict[str, Any]:
    """The event with its stages, blocks and the live block."""
    event = await load_event(db_session, slug)
    view = event_view(event)
    return {
        "slug": event.slug, "title": event.title, "description": event.description,
        "organiser": event.organiser, "date": event.date.isoformat(), "timezone": event.timezone,
        "join_code": event.join_code, "announcement": event.announcement, "recording_url": event.recording_url,
        "live_block_id": view.now.id if view.now else None,
        "next_block_id": view.next.id if view.next else None,
        "stages": [
            {"id": s.key, "key": s.key, "name": s.name, "kind": s.kind, "join_code": s.join_code or event.join_code,
             "stream_url": s.stream_url} for s in event.stages
        ],
        "blocks": [block_json(b) for b in runofshow.ordered(event.active_blocks()) if isinstance(b, Block)],
    }


def _public_base(request: Request[Any, Any, Any]) -> str:
    return request.app.state.settings.base_url or str(request.base_url)


@get("/e/{slug:str}/schedule.json", name="schedule_json", media_type="application/json")
async def schedule_json_export(request: Request[Any, Any, Any], slug: str, db_session: AsyncSession) -> dict[str, Any]:
    """The programme as a voc/pretalx schedule.json (for schedule apps such as Giggity or ConfClerk)."""
    return interop.schedule_json(await load_event(db_session, slug), _public_base(request))


@get("/e/{slug:str}/schedule.xml", name="schedule_xml", media_type="application/xml")
async def schedule_xml_export(request: Request[Any, Any, Any], slug: str, db_session: AsyncSession) -> Response[bytes]:
    """The programme as a frab schedule.xml."""
    event = await load_event(db_session, slug)
    return Response(interop.frab_xml(interop.schedule_json(event, _public_base(request))),
                    media_type="application/xml; charset=utf-8")


@get("/e/{slug:str}/schedule.ics", name="schedule_ics", media_type="text/calendar")
async def schedule_ics_export(request: Request[Any, Any, Any], slug: str, db_session: AsyncSession) -> Response[bytes]:
    """The programme as an iCalendar file, one event per block, in the event's zone."""
    event = await load_event(db_session, slug)
    return Response(interop.ics(event, _public_base(request)), media_type="text/calendar",
                    headers={"Content-Disposition": f'attachment; filename="{slug}.ics"'})


routes = [home, code_form, code_direct, accessibility_statement, attendee_page, join_form, join_by_code, api_event,
          schedule_json_export,
          schedule_xml_export, schedule_ics_export]
