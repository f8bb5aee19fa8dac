"""Staff login/logout, the moderator control panel and the run-of-show actions (forms and API)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import msgspec
from litestar import Request, get, post
from litestar.enums import RequestEncodingType
from litestar.exceptions import ClientException
from litestar.params import Body
from litestar.response import Redirect, Response, Template
from sqlalchemy.ext.asyncio import AsyncSession

from ehalsodag.agenda import service as agenda_service
from ehalsodag.agenda.models import Event
from ehalsodag.agenda.routes import load_event
from ehalsodag.agenda.view import event_view
from ehalsodag.i18n import _
from ehalsodag.live.state import load_live_state
from ehalsodag.polls import service as poll_service
from ehalsodag.staff import audit
from ehalsodag.staff.service import SESSION_SECONDS, authenticate, permissions, session_cookie_value
from ehalsodag.web.actions import documented
from ehalsodag.web.auth import STAFF_COOKIE, current_staff, require_staff, settings_of
from ehalsodag.web.responses import cookie, expired_cookie, is_htmx

FormData = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]


def _safe_next(target: str | None) -> str:
    return target if target and target.startswith("/") and not target.startswith("//") else "/"


@get("/login", name="login_page")
async def login_page(request: Request[Any, Any, Any]) -> Template:
    """The staff login form."""
    return Template("staff/login.html", context={"next": _safe_next(request.query_params.get("next")),
                                                 "error": None, "email": ""})


@post("/login", name="login")
async def login(request: Request[Any, Any, Any], data: FormData) -> Response[Any]:
    """Check the password; set the signed session cookie."""
    email = (data.get("email") or "").strip()[:254]
    target = _safe_next(data.get("next"))
    async with request.app.state.db.writer() as session:
        user = await authenticate(session, email, data.get("password") or "")
        if user is None:
            audit.record(session, actor=email or "?", action="login.failed", event_id=None)
            await session.commit()
            return Template(
                "staff/login.html",
                context={"next": target, "error": _("Wrong e-mail address or password."), "email": email},
                status_code=401,
            )
        audit.record(session, actor=user.email, action="login", event_id=None)
        await session.commit()
    response = Redirect(target, status_code=303)
    settings = settings_of(request)
    response.set_cookie(cookie(settings, STAFF_COOKIE, session_cookie_value(settings.secret_key, user),
                               SESSION_SECONDS))
    return response


@post("/logout", name="logout")
async def logout(request: Request[Any, Any, Any]) -> Redirect:
    """Forget the session."""
    response = Redirect("/", status_code=303)
    response.set_cookie(expired_cookie(settings_of(request), STAFF_COOKIE))
    return response


@get("/e/{slug:str}/control", name="control_panel")
async def control_panel(request: Request[Any, Any, Any], slug: str, db_session: AsyncSession) -> Response[Any]:
    """The moderator's run-of-show: planned vs actual, go live, shift, announcement."""
    event = await load_event(db_session, slug)
    user = await current_staff(request, db_session)
    if user is None:
        return Redirect(f"/login?next=/e/{slug}/control", status_code=303)
    if not permissions(user, event.id).moderate:
        await require_staff(request, db_session, event)  # raises the 403
    live = await load_live_state(db_session, event, staff=True)
    return Template("control/panel.html", context={"event": event, "view": event_view(event), "staff": user,
                                                   "live": live})


# --- actions: one implementation, reached from the control panel's forms and from the JSON API ----

Action = Callable[[AsyncSession, Event, str], Awaitable[str]]
#: Taking a block live may open and close its polls as well.
LIVE_TOPICS = ("agenda", "polls")
#: An announcement changes the banner only.
ANNOUNCEMENT_TOPICS = ("announcement",)


async def _run_action(request: Request[Any, Any, Any], slug: str, action: Action,
                      topics: tuple[str, ...] = ("agenda",)) -> str:
    """Authorise, perform and commit the action, then push what changed to everyone."""
    async with request.app.state.db.writer() as session:
        event = await load_event(session, slug)
        user = await require_staff(request, session, event)
        message = await action(session, event, user.email)
    await request.app.state.broadcaster.push(slug, *topics)
    return message


def _go_live(block_id: int) -> Action:
    async def act(session: AsyncSession, event: Event, actor: str) -> str:
        previous = event.live_block_id
        block = await agenda_service.go_live(session, event, block_id, actor)
        if await poll_service.follow_block(session, event, block.id, previous, actor):
            await session.commit()
        return _("%(title)s is now live.", title=block.title)

    return act


def _shift(minutes: int) -> Action:
    async def act(session: AsyncSession, event: Event, actor: str) -> str:
        moved = await agenda_service.shift_later_blocks(session, event, minutes, actor)
        return _("Moved %(count)d blocks by %(minutes)d minutes.", count=len(moved), minutes=minutes)

    return act


def _announce(text: str | None) -> Action:
    async def act(session: AsyncSession, event: Event, actor: str) -> str:
        await agenda_service.set_announcement(session, event, text, actor)
        return _("Announcement posted.") if (text or "").strip() else _("Announcement cleared.")

    return act


def _int_field(data: dict[str, str], key: str) -> int:
    try:
        return int((data.get(key) or "").strip())
    except ValueError as exc:
        raise ClientException(detail=_("Enter a whole number."), status_code=422) from exc


def _form_reply(request: Request[Any, Any, Any], slug: str, message: str) -> Response[Any]:
    if is_htmx(request):
        return Template("partials/message.html", context={"message": message, "error": False})
    return Redirect(f"/e/{slug}/control", status_code=303)


@post("/e/{slug:str}/control/live", name="control_live")
async def control_live(request: Request[Any, Any, Any], slug: str, data: FormData) -> Response[Any]:
    """Form: take a block live."""
    message = await _run_action(request, slug, _go_live(_int_field(data, "block_id")), LIVE_TOPICS)
    return _form_reply(request, slug, message)


@post("/e/{slug:str}/control/shift", name="control_shift")
async def control_shift(request: Request[Any, Any, Any], slug: str, data: FormData) -> Response[Any]:
    """Form: shift every later block."""
    return _form_reply(request, slug, await _run_action(request, slug, _shift(_int_field(data, "minutes"))))


@post("/e/{slug:str}/control/announcement", name="control_announcement")
async def control_announcement(request: Request[Any, Any, Any], slug: str, data: FormData) -> Response[Any]:
    """Form: post the banner (the clear button sends an empty text)."""
    text = "" if data.get("clear") else data.get("text", "")
    return _form_reply(request, slug, await _run_action(request, slug, _announce(text), ANNOUNCEMENT_TOPICS))


class LiveBody(msgspec.Struct, forbid_unknown_fields=True):
    """POST /api/v1/events/{slug}/live"""

    block_id: int


class ShiftBody(msgspec.Struct, forbid_unknown_fields=True):
    """POST /api/v1/events/{slug}/shift"""

    minutes: int


class AnnouncementBody(msgspec.Struct, forbid_unknown_fields=True):
    """POST /api/v1/events/{slug}/announcement (empty text clears the banner)"""

    text: str = ""


@post("/api/v1/events/{slug:str}/live", name="api_live", status_code=200)
async def api_live(request: Request[Any, Any, Any], slug: str,
                   data: Annotated[LiveBody, documented("Take a block live", {"block_id": 7})]) -> dict[str, Any]:
    """Take a block live."""
    return {"ok": True, "detail": await _run_action(request, slug, _go_live(data.block_id), LIVE_TOPICS)}


@post("/api/v1/events/{slug:str}/shift", name="api_shift", status_code=200)
async def api_shift(request: Request[Any, Any, Any], slug: str,
                    data: Annotated[ShiftBody, documented("Running ten minutes late", {"minutes": 10})]
                    ) -> dict[str, Any]:
    """Shift every block after the live one by N minutes (negative: earlier)."""
    return {"ok": True, "detail": await _run_action(request, slug, _shift(data.minutes))}


@post("/api/v1/events/{slug:str}/announcement", name="api_announcement", status_code=200)
async def api_announcement(
    request: Request[Any, Any, Any], slug: str,
    data: Annotated[AnnouncementBody, documented("A banner", {"text": "Lunchen förlängs med tio minuter"})],
) -> dict[str, Any]:
    """Post or clear the announcement banner."""
    return {"ok": True, "detail": await _run_action(request, slug, _announce(data.text), ANNOUNCEMENT_TOPICS)}


routes = [
    login_page, login, logout, control_panel, control_live, control_shift, control_announcement,
    api_live, api_shift, api_announcement,
]
