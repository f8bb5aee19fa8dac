"""The moderators' control panel and its run-of-show actions: go live, shift, the announcement banner.

Each action is one Struct for the panel's form and the JSON API alike. The panel itself is the snapshot
of every domain's control-panel fragments, kept current by the live layer.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Request, get, post
from litestar.exceptions import PermissionDeniedException
from litestar.response import Redirect, Response, Template
from sqlalchemy.ext.asyncio import AsyncSession

from ehalsodag.agenda import service as agenda_service
from ehalsodag.agenda.models import Event
from ehalsodag.agenda.service import load_event
from ehalsodag.agenda.view import event_view
from ehalsodag.fragments import Audience, Viewer
from ehalsodag.i18n import _, current_language
from ehalsodag.polls import service as poll_service
from ehalsodag.staff.auth import current_staff, moderator_guard
from ehalsodag.staff.models import StaffUser
from ehalsodag.staff.service import permissions
from ehalsodag.web.actions import documented, reply
from ehalsodag.web.forms import form_of
from ehalsodag.web.templating import page_context


@get("/e/{slug:str}/control", name="control_panel")
async def control_panel(request: Request[Any, Any, Any], slug: str, db_session: AsyncSession) -> Response[Any]:
    """The moderator's control panel: run-of-show, Q&A, polls, chat and the evaluation, kept live."""
    event = await load_event(db_session, slug)
    user = await current_staff(request, db_session)
    if user is None:
        return Redirect(f"/login?next=/e/{slug}/control", status_code=303)
    if not permissions(user, event.id).moderate:
        raise PermissionDeniedException(detail=_("You are not staff of this event."))
    parts = await request.app.state.snapshots.parts(db_session, event, Viewer(Audience.STAFF), current_language(),
                                                    page_context(request))
    return Template("control/panel.html", context={"event": event, "view": event_view(event), "staff": user,
                                                   "parts": parts})


# --- run-of-show actions: one Struct per action, for the control panel's forms and the JSON API alike ----


class LiveBody(msgspec.Struct, forbid_unknown_fields=True):
    """POST /api/v1/events/{slug}/live and the go-live buttons."""

    block_id: int


class ShiftBody(msgspec.Struct, forbid_unknown_fields=True):
    """POST /api/v1/events/{slug}/shift and the shift form."""

    minutes: int


class AnnouncementBody(msgspec.Struct, forbid_unknown_fields=True):
    """POST /api/v1/events/{slug}/announcement and the banner form (empty text, or ``clear``, clears it)."""

    text: str = ""
    clear: bool = False


async def _go_live(uow: AsyncSession, event: Event, staff: StaffUser, body: LiveBody) -> str:
    previous = event.live_block_id
    block = await agenda_service.go_live(uow, event, body.block_id, staff.email)
    await poll_service.follow_block(uow, event, block.id, previous, staff.email)
    return _("%(title)s is now live.", title=block.title)


async def _shift(uow: AsyncSession, event: Event, staff: StaffUser, body: ShiftBody) -> str:
    moved = await agenda_service.shift_later_blocks(uow, event, body.minutes, staff.email)
    return _("Moved %(count)d blocks by %(minutes)d minutes.", count=len(moved), minutes=body.minutes)


async def _announce(uow: AsyncSession, event: Event, staff: StaffUser, body: AnnouncementBody) -> str:
    text = "" if body.clear else body.text
    await agenda_service.set_announcement(uow, event, text, staff.email)
    return _("Announcement posted.") if text.strip() else _("Announcement cleared.")


def _answer(request: Request[Any, Any, Any], event: Event, message: str) -> Response[Any]:
    return reply(request, data={"ok": True, "detail": message}, message=message, back=f"/e/{event.slug}/control")


@post("/e/{slug:str}/control/live", name="control_live", guards=[moderator_guard],
      dependencies={"form": form_of(LiveBody)})
async def control_live(request: Request[Any, Any, Any], event: Event, uow: AsyncSession, staff: StaffUser,
                       form: LiveBody) -> Response[Any]:
    """Form: take a block live."""
    return _answer(request, event, await _go_live(uow, event, staff, form))


@post("/e/{slug:str}/control/shift", name="control_shift", guards=[moderator_guard],
      dependencies={"form": form_of(ShiftBody)})
async def control_shift(request: Request[Any, Any, Any], event: Event, uow: AsyncSession, staff: StaffUser,
                        form: ShiftBody) -> Response[Any]:
    """Form: shift every later block."""
    return _answer(request, event, await _shift(uow, event, staff, form))


@post("/e/{slug:str}/control/announcement", name="control_announcement", guards=[moderator_guard],
      dependencies={"form": form_of(AnnouncementBody)})
async def control_announcement(request: Request[Any, Any, Any], event: Event, uow: AsyncSession, staff: StaffUser,
                               form: AnnouncementBody) -> Response[Any]:
    """Form: post the banner (the clear button sends ``clear``)."""
    return _answer(request, event, await _announce(uow, event, staff, form))


@post("/api/v1/events/{slug:str}/live", name="api_live", status_code=200, guards=[moderator_guard])
async def api_live(request: Request[Any, Any, Any], event: Event, uow: AsyncSession, staff: StaffUser,
                   data: Annotated[LiveBody, documented("Take a block live", {"block_id": 7})]) -> Response[Any]:
    """Take a block live."""
    return _answer(request, event, await _go_live(uow, event, staff, data))


@post("/api/v1/events/{slug:str}/shift", name="api_shift", status_code=200, guards=[moderator_guard])
async def api_shift(request: Request[Any, Any, Any], event: Event, uow: AsyncSession, staff: StaffUser,
                    data: Annotated[ShiftBody, documented("Running ten minutes late", {"minutes": 10})]
                    ) -> Response[Any]:
    """Shift every block after the live one by N minutes (negative: earlier)."""
    return _answer(request, event, await _shift(uow, event, staff, data))


@post("/api/v1/events/{slug:str}/announcement", name="api_announcement", status_code=200, guards=[moderator_guard])
async def api_announcement(
    request: Request[Any, Any, Any], event: Event, uow: AsyncSession, staff: StaffUser,
    data: Annotated[AnnouncementBody, documented("A banner", {"text": "Lunchen förlängs med tio minuter"})],
) -> Response[Any]:
    """Post or clear the announcement banner."""
    return _answer(request, event, await _announce(uow, event, staff, data))


routes = [control_panel, control_live, control_shift, control_announcement, api_live, api_shift, api_announcement]
