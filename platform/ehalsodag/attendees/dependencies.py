"""Litestar dependencies for the attendee a request comes from."""

from __future__ import annotations

from typing import Any

from litestar import Request
from sqlalchemy.ext.asyncio import AsyncSession

from ehalsodag.attendees.auth import require_attendee
from ehalsodag.attendees.models import Attendee


async def provide_attendee(request: Request[Any, Any, Any], uow: AsyncSession, event: Any) -> Attendee:
    """The ``attendee`` dependency: the attendee of the path's event (401 "join first" if none)."""
    return await require_attendee(request, uow, event.id)
