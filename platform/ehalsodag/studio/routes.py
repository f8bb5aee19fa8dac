"""The studio home: the staff member's events and their role on each, the entry to everything they may do."""

from __future__ import annotations

from typing import Any

from litestar import Request, get
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from ehalsodag.staff.auth import staff_guard
from ehalsodag.staff.models import StaffUser
from ehalsodag.studio.service import my_events, studio_context


@get("/studio", name="studio_home", guards=[staff_guard])
async def studio_home(request: Request[Any, Any, Any], staff: StaffUser, db_session: AsyncSession) -> Template:
    """The staff member's events, each with their role and links to its pages."""
    events = await my_events(db_session, staff)
    return Template("studio/home.html", context=studio_context(staff, "home", events=events))


routes = [studio_home]
