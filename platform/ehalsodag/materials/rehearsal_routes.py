"""Rehearse a day "as if today" and delete the rehearsal with one click (the control panel's buttons)."""

from __future__ import annotations

from typing import Any

from litestar import Request, post
from litestar.exceptions import ClientException
from litestar.response import Redirect
from sqlalchemy.ext.asyncio import AsyncSession

from ehalsodag.agenda.models import Event
from ehalsodag.i18n import _
from ehalsodag.materials import rehearsal
from ehalsodag.staff.auth import moderator_guard
from ehalsodag.staff.models import StaffUser


@post("/e/{slug:str}/rehearsal", name="rehearsal_create", guards=[moderator_guard], opt={"whole_event": True})
async def create_rehearsal(request: Request[Any, Any, Any], event: Event, staff: StaffUser,
                           uow: AsyncSession) -> Redirect:
    """Make a rehearsal copy of this day at today's date; open its control panel."""
    try:
        copy = await rehearsal.rehearse(uow, event, staff.email)
    except rehearsal.RehearsalError:
        raise ClientException(detail=_("A rehearsal cannot be rehearsed; rehearse the day itself."),
                              status_code=409) from None
    return Redirect(f"/e/{copy.slug}/control", status_code=303)


@post("/e/{slug:str}/rehearsal/delete", name="rehearsal_delete", guards=[moderator_guard],
      opt={"whole_event": True})
async def delete_rehearsal(request: Request[Any, Any, Any], event: Event, staff: StaffUser,
                           uow: AsyncSession) -> Redirect:
    """Delete this rehearsal copy and everything in it; back to the day's control panel."""
    try:
        original = await rehearsal.remove(uow, event, staff.email)
    except rehearsal.RehearsalError:
        raise ClientException(detail=_("Only a rehearsal can be deleted."), status_code=409) from None
    return Redirect(f"/e/{original.slug}/control" if original else "/", status_code=303)


routes = [create_rehearsal, delete_rehearsal]
