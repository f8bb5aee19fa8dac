"""The moderators' control panel and its run-of-show actions: go live, shift, the announcement banner.

Each action is one Struct for the panel's form and the JSON API alike. The panel itself is the snapshot
of every domain's control-panel fragments, kept current by the live layer.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Request, get, post
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.response import Redirect, Response, Template
from sqlalchemy.ext.asyncio import AsyncSession

from ehalsodag.agenda import service as agenda_service
from ehalsodag.agenda import tracks
from ehalsodag.agenda.models import Event, Stage
from ehalsodag.agenda.service import load_event
from ehalsodag.agenda.view import event_view
from ehalsodag.fragments import Audience, Viewer
from ehalsodag.i18n import _, current_language
from ehalsodag.polls import service as poll_service
from ehalsodag.staff.auth import current_staff, moderator_guard, require_stage
from ehalsodag.staff.models import StaffUser
from ehalsodag.staff.service import Permissions, permissions
from ehalsodag.web.actions import documented, reply
from ehalsodag.web.bounds import BodyId, Key, SmallInt, Text
from ehalsodag.web.forms import form_of
from ehalsodag.web.responses import is_htmx
from ehalsodag.web.templating import page_context


@get("/e/{slug:str}/control", name="control_panel")
async def control_panel(request: Request[Any, Any, Any], slug: str, db_session: AsyncSession) -> Response[Any]:
    """The moderator's control panel: run-of-show, Q&A, polls, chat and the evaluation, kept live."""
    event = await load_event(db_session, slug)
    user = await current_staff(request, db_session)
    if user is None:
        return Redirect(f"/login?next=/e/{slug}/control", status_code=303)
    allowed = permissions(user, event.id)
    if not allowed.moderate:
        raise PermissionDeniedException(detail=_("You are not staff of this event."))
    # on a national day each stage has its own panel (?stage=); a regional moderator sees only theirs
    mine = [s for s in event.stages if allowed.moderates(s.id)]
    asked = tracks.stage_by_key(event, request.query_params.get("stage"))
    if request.query_params.get("stage") and asked is None:
        raise NotFoundException(detail=_("No such stage in this event."))
    shown = asked if asked is not None else tracks.main_stage(event) if allowed.stages is None else (
        mine[0] if mine else None)
    if shown is not None and not allowed.moderates(shown.id):
        raise PermissionDeniedException(detail=_("You moderate another stage of this event."))
    viewer = Viewer(Audience.STAFF, stage=shown.id if shown else None)
    parts = await request.app.state.snapshots.parts(db_session, event, viewer, current_language(),
                                                    page_context(request))
    national_day = tracks.is_national_day(event)
    return Template("control/panel.html", context={
        "event": event, "view": event_view(event, home=viewer.stage), "staff": user, "parts": parts,
        "national_day": national_day, "shown": shown, "stages": mine if national_day else [],
        "whole_event": allowed.stages is None,
        "stage_query": f"?stage={shown.key}" if national_day and shown is not None else ""})


# --- run-of-show actions: one Struct per action, for the control panel's forms and the JSON API alike ----


class LiveBody(msgspec.Struct, forbid_unknown_fields=True):
    """POST /api/v1/events/{slug}/live and the go-live buttons."""

    block_id: BodyId


class ShiftBody(msgspec.Struct, forbid_unknown_fields=True):
    """POST /api/v1/events/{slug}/shift and the shift form; on a national day for one stage (default: the
    national one)."""

    minutes: SmallInt
    stage: Key | None = None


class EndBody(msgspec.Struct, forbid_unknown_fields=True):
    """POST /api/v1/events/{slug}/end and the "back to the national programme" button: end a region's block."""

    stage: Key


class AnnouncementBody(msgspec.Struct, forbid_unknown_fields=True):
    """POST /api/v1/events/{slug}/announcement and the banner form (empty text, or ``clear``, clears it)."""

    text: Text = ""
    clear: bool = False


def _stage(event: Event, allowed: Permissions, key: str | None) -> Stage | None:
    """The stage an action names (None: the main stage), if this moderator may act on it."""
    stage = tracks.stage_by_key(event, key)
    if key not in (None, "") and stage is None:
        raise NotFoundException(detail=_("No such stage in this event."))
    stage = stage or tracks.main_stage(event)
    require_stage(allowed, stage.id if stage else None)
    return stage


async def _go_live(uow: AsyncSession, event: Event, staff: StaffUser, allowed: Permissions, body: LiveBody) -> str:
    block = next((b for b in event.active_blocks() if b.id == body.block_id), None)
    if block is not None:
        require_stage(allowed, block.stage_id)
    previous = tracks.live_block_id(event, block.stage if block is not None else tracks.main_stage(event))
    block = await agenda_service.go_live(uow, event, body.block_id, staff.email)
    await poll_service.follow_block(uow, event, block.id, previous, staff.email)
    return _("%(title)s is now live.", title=block.title)


async def _shift(uow: AsyncSession, event: Event, staff: StaffUser, allowed: Permissions, body: ShiftBody) -> str:
    stage = _stage(event, allowed, body.stage)
    await agenda_service.shift_later_blocks(uow, event, body.minutes, staff.email, stage)
    if body.minutes >= 0:
        return _("Later blocks moved %(minutes)d min", minutes=body.minutes)
    return _("Later blocks moved %(minutes)d min earlier", minutes=-body.minutes)


async def _end(uow: AsyncSession, event: Event, staff: StaffUser, allowed: Permissions, body: EndBody) -> str:
    stage = _stage(event, allowed, body.stage)
    assert stage is not None
    block = await agenda_service.end_regional_block(uow, event, stage, staff.email)
    return _("%(title)s has ended: %(region)s follows the national programme again.", title=block.title,
             region=stage.name)


async def _announce(uow: AsyncSession, event: Event, staff: StaffUser, body: AnnouncementBody) -> str:
    text = "" if body.clear else body.text
    await agenda_service.set_announcement(uow, event, text, staff.email)
    return _("Announcement posted.") if text.strip() else _("Announcement cleared.")


def _answer(request: Request[Any, Any, Any], event: Event, message: str) -> Response[Any]:
    return reply(request, data={"ok": True, "detail": message}, message=message, back=f"/e/{event.slug}/control")


@post("/e/{slug:str}/control/live", name="control_live", guards=[moderator_guard],
      dependencies={"form": form_of(LiveBody)})
async def control_live(request: Request[Any, Any, Any], event: Event, uow: AsyncSession, staff: StaffUser,
                       allowed: Permissions, form: LiveBody) -> Response[Any]:
    """Form: take a block live."""
    return _answer(request, event, await _go_live(uow, event, staff, allowed, form))


@post("/e/{slug:str}/control/shift", name="control_shift", guards=[moderator_guard],
      dependencies={"form": form_of(ShiftBody)})
async def control_shift(request: Request[Any, Any, Any], event: Event, uow: AsyncSession, staff: StaffUser,
                        allowed: Permissions, form: ShiftBody) -> Response[Any]:
    """Form: shift every later block. Without JavaScript the panel comes back with the minutes field empty (a second
    click cannot shift again) and says what moved."""
    message = await _shift(uow, event, staff, allowed, form)
    if not is_htmx(request):
        return Redirect(f"/e/{event.slug}/control?done=shift&minutes={form.minutes}#undo-banner", status_code=303)
    return _answer(request, event, message)


@post("/e/{slug:str}/control/end", name="control_end", guards=[moderator_guard],
      dependencies={"form": form_of(EndBody)})
async def control_end(request: Request[Any, Any, Any], event: Event, uow: AsyncSession, staff: StaffUser,
                      allowed: Permissions, form: EndBody) -> Response[Any]:
    """Form: end a region's block now (back to the national programme)."""
    return _answer(request, event, await _end(uow, event, staff, allowed, form))


@post("/e/{slug:str}/control/announcement", name="control_announcement", guards=[moderator_guard],
      opt={"whole_event": True},
      dependencies={"form": form_of(AnnouncementBody)})
async def control_announcement(request: Request[Any, Any, Any], event: Event, uow: AsyncSession, staff: StaffUser,
                               form: AnnouncementBody) -> Response[Any]:
    """Form: post the banner (the clear button sends ``clear``)."""
    return _answer(request, event, await _announce(uow, event, staff, form))


@post("/api/v1/events/{slug:str}/live", name="api_live", status_code=200, guards=[moderator_guard])
async def api_live(request: Request[Any, Any, Any], event: Event, uow: AsyncSession, staff: StaffUser,
                   allowed: Permissions,
                   data: Annotated[LiveBody, documented("Take a block live", {"block_id": 7})]) -> Response[Any]:
    """Take a block live."""
    return _answer(request, event, await _go_live(uow, event, staff, allowed, data))


@post("/api/v1/events/{slug:str}/shift", name="api_shift", status_code=200, guards=[moderator_guard])
async def api_shift(request: Request[Any, Any, Any], event: Event, uow: AsyncSession, staff: StaffUser,
                    allowed: Permissions,
                    data: Annotated[ShiftBody, documented("Running ten minutes late", {"minutes": 10})]
                    ) -> Response[Any]:
    """Shift every block after the live one by N minutes (negative: earlier); on a national day those of
    ``stage`` only (default: the national stage), so a region running late does not move the national day."""
    return _answer(request, event, await _shift(uow, event, staff, allowed, data))


@post("/api/v1/events/{slug:str}/end", name="api_end", status_code=200, guards=[moderator_guard])
async def api_end(request: Request[Any, Any, Any], event: Event, uow: AsyncSession, staff: StaffUser,
                  allowed: Permissions,
                  data: Annotated[EndBody, documented("End Östergötland's block", {"stage": "ostergotland"})]
                  ) -> Response[Any]:
    """End a region's block now: its attendees go back to the national programme."""
    return _answer(request, event, await _end(uow, event, staff, allowed, data))


@post("/api/v1/events/{slug:str}/announcement", name="api_announcement", status_code=200, guards=[moderator_guard],
      opt={"whole_event": True})
async def api_announcement(
    request: Request[Any, Any, Any], event: Event, uow: AsyncSession, staff: StaffUser,
    data: Annotated[AnnouncementBody, documented("A banner", {"text": "Lunchen förlängs med tio minuter"})],
) -> Response[Any]:
    """Post or clear the announcement banner."""
    return _answer(request, event, await _announce(uow, event, staff, data))


routes = [control_panel, control_live, control_shift, control_end, control_announcement, api_live, api_shift, api_end,
          api_announcement]
