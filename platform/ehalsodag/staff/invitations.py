"""Invitations and who may grant, change and remove which role.

Admins invite organisers (for one event or every event) and anybody else; organisers invite moderators for the
events they organise. An invitation is a single-use link that expires after seven days; only the hash of its
secret is kept. Accepting it creates the account with the password the invitee chooses, or, for an address that
already has an account, adds the role to it (the link never changes an existing password).
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ehalsodag.i18n import N_
from ehalsodag.staff import audit, passwords
from ehalsodag.staff.models import ROLES, StaffInvitation, StaffRole, StaffUser
from ehalsodag.staff.service import StaffError, end_everything, hash_password, is_email, permissions, user_by_email
from ehalsodag.tokens import token_hash

INVITATION_DAYS = 7
PREFIX = "ehi_"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def is_admin(user: StaffUser) -> bool:
    """Whether the user is an administrator (always for every event)."""
    return any(r.role == "admin" for r in user.roles)


def may_grant(actor: StaffUser, role: str, event_id: int | None) -> bool:
    """Whether ``actor`` may give someone ``role`` on ``event_id`` (None: every event)."""
    if role not in ROLES:
        return False
    if is_admin(actor):
        return role != "admin" or event_id is None
    return role == "moderator" and event_id is not None and permissions(actor, event_id).organise


def may_manage(actor: StaffUser, role: StaffRole) -> bool:
    """Whether ``actor`` may change or remove ``role`` (never their own: nobody locks themselves out)."""
    if role.user_id == actor.id:
        return False
    if is_admin(actor):
        return True
    return role.role == "moderator" and role.event_id is not None and permissions(actor, role.event_id).organise


def may_see(actor: StaffUser, event_id: int | None) -> bool:
    """Whether ``actor`` sees the roles and invitations of ``event_id`` on the staff page."""
    return is_admin(actor) or (event_id is not None and permissions(actor, event_id).organise)


def _check(email: str, role: str, event_id: int | None) -> str:
    email = email.strip().lower()
    if not is_email(email):
        raise StaffError(N_("Enter an e-mail address such as name@region.se."), "email")
    if role not in ROLES:
        raise StaffError(N_("Choose a role."), "role")
    if role == "admin" and event_id is not None:
        raise StaffError(N_("An administrator is one for every event."), "event")
    return email


async def create_invitation(session: AsyncSession, *, email: str, role: str, event_id: int | None,
                            invited_by: StaffUser | None) -> str:
    """A new invitation; returns its secret (put it in the link, it is not stored). The caller checks
    :func:`may_grant` first (the command line may grant anything)."""
    email = _check(email, role, event_id)
    secret = PREFIX + secrets.token_urlsafe(32)
    session.add(StaffInvitation(token_hash=token_hash(secret), email=email, role=role, event_id=event_id,
                                invited_by_id=invited_by.id if invited_by else None,
                                expires_at=_now() + dt.timedelta(days=INVITATION_DAYS)))
    audit.record(session, actor=invited_by.email if invited_by else "cli", action="invitation.create",
                 event_id=event_id, email=email, role=role)
    await session.flush()
    return secret


class InvitationState(StrEnum):
    """What a link is worth."""

    OPEN = "open"
    UNKNOWN = "unknown"
    USED = "used"
    EXPIRED = "expired"


STATE_MESSAGES = {
    InvitationState.UNKNOWN: N_("This invitation link is not valid. Ask whoever invited you for a new one."),
    InvitationState.USED: N_("This invitation has already been used. Log in, or ask for a new invitation."),
    InvitationState.EXPIRED: N_("This invitation has expired. Ask whoever invited you for a new one."),
}


async def find_invitation(session: AsyncSession, secret: str) -> tuple[StaffInvitation | None, InvitationState]:
    """The invitation behind a link and whether it can still be accepted."""
    if not secret.startswith(PREFIX) or len(secret) > 100:
        return None, InvitationState.UNKNOWN
    found = (await session.execute(select(StaffInvitation).where(
        StaffInvitation.token_hash == token_hash(secret)))).scalar_one_or_none()
    if found is None:
        return None, InvitationState.UNKNOWN
    if found.accepted_at is not None:
        return found, InvitationState.USED
    if found.expires_at <= _now():
        return found, InvitationState.EXPIRED
    return found, InvitationState.OPEN


async def accept_invitation(session: AsyncSession, invitation: StaffInvitation, password: str,
                            again: str) -> StaffUser:
    """Accept: create the account (or add the role to the existing one). Exactly once, even when two browsers
    send the same link at the same moment. Raises StaffError with a translatable message."""
    user = await user_by_email(session, invitation.email)
    if user is None:
        if password != again:
            raise StaffError(N_("The two passwords differ."), "again")
        problem = passwords.problem(password, invitation.email)
        if problem:
            raise StaffError(problem, "password")
    claimed = await session.execute(
        update(StaffInvitation).where(StaffInvitation.id == invitation.id, StaffInvitation.accepted_at.is_(None),
                                      StaffInvitation.expires_at > _now()).values(accepted_at=_now()))
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        raise StaffError(STATE_MESSAGES[InvitationState.USED])
    if user is None:
        user = StaffUser(email=invitation.email, password_hash=await hash_password(password), roles=[])
        session.add(user)
    event_id = None if invitation.role == "admin" else invitation.event_id
    if not any(r.role == invitation.role and r.event_id == event_id for r in user.roles):
        user.roles.append(StaffRole(role=invitation.role, event_id=event_id))
    audit.record(session, actor=invitation.email, action="invitation.accept", event_id=event_id,
                 role=invitation.role)
    await session.flush()
    return user


async def pending_invitations(session: AsyncSession, actor: StaffUser) -> list[StaffInvitation]:
    """Open invitations the actor may see, newest first."""
    rows = (await session.execute(select(StaffInvitation).where(
        StaffInvitation.accepted_at.is_(None), StaffInvitation.expires_at > _now()).order_by(
        StaffInvitation.id.desc()))).scalars()
    return [i for i in rows if may_see(actor, i.event_id)]


async def withdraw_invitation(session: AsyncSession, actor: StaffUser, invitation: StaffInvitation) -> None:
    """Make an open invitation's link worthless."""
    if not may_grant(actor, invitation.role, invitation.event_id):
        raise PermissionError
    invitation.expires_at = _now()
    audit.record(session, actor=actor.email, action="invitation.withdraw", event_id=invitation.event_id,
                 email=invitation.email, role=invitation.role)


@dataclass(frozen=True)
class RoleRow:
    """One line of the staff page."""

    role: StaffRole
    email: str
    manageable: bool


async def visible_roles(session: AsyncSession, actor: StaffUser) -> list[RoleRow]:
    """The roles the actor may see, with whether they may change or remove each."""
    rows = (await session.execute(select(StaffRole, StaffUser.email).join(
        StaffUser, StaffUser.id == StaffRole.user_id).order_by(StaffRole.event_id, StaffUser.email))).all()
    return [RoleRow(role, email, may_manage(actor, role)) for role, email in rows if may_see(actor, role.event_id)]


async def change_role(session: AsyncSession, actor: StaffUser, role: StaffRole, new_role: str) -> None:
    """Give the holder of ``role`` ``new_role`` instead (same event). Their sessions and tokens end: what they
    were allowed to do has changed. Raises PermissionError or StaffError."""
    if not may_manage(actor, role) or not may_grant(actor, new_role, role.event_id):
        raise PermissionError
    if new_role == role.role:
        return
    holder = await session.get(StaffUser, role.user_id)
    assert holder is not None
    if any(r.role == new_role and r.event_id == role.event_id for r in holder.roles):
        await session.delete(role)  # they hold the new role already: this one goes
    else:
        role.role = new_role
        role.stage_id = None
    await end_everything(session, role.user_id)
    audit.record(session, actor=actor.email, action="role.change", event_id=role.event_id, email=holder.email,
                 role=new_role)


async def remove_role(session: AsyncSession, actor: StaffUser, role: StaffRole) -> None:
    """Take a role away; every session and token of its holder ends. Raises PermissionError."""
    if not may_manage(actor, role):
        raise PermissionError
    holder = await session.get(StaffUser, role.user_id)
    assert holder is not None
    await session.delete(role)
    await end_everything(session, role.user_id)
    audit.record(session, actor=actor.email, action="role.remove", event_id=role.event_id, email=holder.email,
                 role=role.role)
