"""Litestar dependencies for the event a request is about."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from ehalsodag.agenda.models import Event
from ehalsodag.agenda.service import load_event


async def provide_event(slug: str, uow: AsyncSession) -> Event:
    """The ``event`` dependency: the path's event, loaded in the request's unit of work (404 if none)."""
    return await load_event(uow, slug)
