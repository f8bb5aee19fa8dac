"""What the studio shows a staff member: their events and their role on each."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ehalsodag.agenda.models import Event
from ehalsodag.staff.models import StaffUser

#: The strongest role first.
RANK = {"admin": 0, "organiser": 1, "moderator": 2}


@dataclass(frozen=True)
class MyEvent:
    """One event in a staff member's studio and the strongest role they hold on it."""

    event: Event
    role: str

    @property
    def organises(self) -> bool:
        """Whether they may organise it (admins and organisers)."""
        return self.role in ("admin", "organiser")


def strongest_role(user: StaffUser, event_id: int) -> str | None:
    """The user's strongest role on ``event_id`` (a role for every event counts), or None."""
    held = [r.role for r in user.roles if r.event_id in (None, event_id)]
    return min(held, key=RANK.__getitem__) if held else None


async def my_events(session: AsyncSession, user: StaffUser) -> list[MyEvent]:
    """The events the user is staff of, newest day first."""
    everywhere = any(r.event_id is None for r in user.roles)
    query = select(Event).order_by(Event.date.desc(), Event.title)
    if not everywhere:
        ids = {r.event_id for r in user.roles if r.event_id is not None}
        if not ids:
            return []
        query = query.where(Event.id.in_(ids))
    events = (await session.execute(query)).scalars().all()
    found = []
    for event in events:
        role = strongest_role(user, event.id)
        if role is not None:
            found.append(MyEvent(event, role))
    return found


def studio_context(user: StaffUser, section: str, **extra: object) -> dict[str, object]:
    """What every studio page's template needs: the user (the header's log-out button), which navigation item is
    current, whether the staff page is theirs to see, and the role labels."""
    from ehalsodag.staff.service import may_manage_staff, role_label

    return {"staff": user, "section": section, "manages_staff": may_manage_staff(user), "role_label": role_label,
            **extra}
