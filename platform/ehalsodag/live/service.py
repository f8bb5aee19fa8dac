"""Attendee services: joining an event and finding an attendee by token."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ehalsodag.agenda.models import Event
from ehalsodag.i18n import _
from ehalsodag.live.models import Attendee
from ehalsodag.staff.service import token_hash
from ehalsodag.text import TextError, clean_optional

MAX_NAME = 80
MAX_ORGANISATION = 120
MAX_GROUP_SIZE = 500


class JoinError(TextError):
    """Bad join input; the message is shown to the attendee."""


@dataclass(frozen=True)
class JoinRequest:
    """What an attendee may tell us when joining. Everything is optional."""

    display_name: str | None = None
    organisation: str | None = None
    group_size: int | None = None


def new_attendee(event_id: int, request: JoinRequest) -> tuple[Attendee, str]:
    """A checked, not yet stored attendee (or a room of them) and its secret token."""
    try:
        name = clean_optional(request.display_name, MAX_NAME, what=_("Name"))
        organisation = clean_optional(request.organisation, MAX_ORGANISATION, what=_("Organisation"))
    except TextError as exc:
        raise JoinError(str(exc)) from exc
    group_size = 1 if request.group_size is None else request.group_size
    if not isinstance(group_size, int) or isinstance(group_size, bool) or not 1 <= group_size <= MAX_GROUP_SIZE:
        raise JoinError(_("The number watching must be a whole number from 1 to %(max)d.", max=MAX_GROUP_SIZE))
    token = "eha_" + secrets.token_urlsafe(24)
    attendee = Attendee(
        event_id=event_id, token_hash=token_hash(token), display_name=name,
        organisation=organisation, group_size=group_size,
    )
    return attendee, token


async def join(session: AsyncSession, event: Event, request: JoinRequest) -> tuple[Attendee, str]:
    """Register an attendee and return it with its secret token. Commits."""
    attendee, token = new_attendee(event.id, request)
    session.add(attendee)
    await session.commit()
    return attendee, token


async def attendee_by_token(session: AsyncSession, event_id: int, token: str) -> Attendee | None:
    """The attendee of ``event_id`` holding ``token``."""
    result = await session.execute(
        select(Attendee).where(Attendee.token_hash == token_hash(token), Attendee.event_id == event_id)
    )
    return result.scalar_one_or_none()
