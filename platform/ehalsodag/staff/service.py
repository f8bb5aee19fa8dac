"""Staff accounts: argon2 passwords, roles per event, bearer tokens and signed session cookies."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import secrets
import unicodedata
from dataclasses import dataclass

import anyio
import anyio.to_thread
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ehalsodag.i18n import N_, gettext
from ehalsodag.staff import audit, passwords
from ehalsodag.staff.models import ROLES, ApiToken, StaffRole, StaffSession, StaffUser
from ehalsodag.tokens import token_hash

SESSION_SECONDS = 12 * 3600
#: How long an API token lives unless its owner chooses otherwise (``token create --days``, the studio).
TOKEN_DAYS = 90
MAX_TOKEN_DAYS = 366
_hasher = PasswordHasher()
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
#: Checked against when the e-mail is unknown, so a wrong address costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash("not a real password")
#: Password checks run in worker threads, two at a time: each takes ~50 ms of CPU and 64 MiB, and on the event loop
#: it would stall every socket and request of the worker meanwhile.
_PASSWORD_CHECKS = anyio.CapacityLimiter(2)


def is_email(text: str) -> bool:
    """Whether ``text`` looks like an e-mail address (and holds no control or format characters)."""
    return len(text) <= 254 and bool(_EMAIL.match(text)) and not any(
        unicodedata.category(ch) in ("Cc", "Cf") for ch in text)


class StaffError(ValueError):
    """Bad input for a staff command; ``field`` names the form field it belongs beside."""

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.field = field


async def user_by_email(session: AsyncSession, email: str) -> StaffUser | None:
    """The staff user with this e-mail (case-insensitive); None for text no address can be (PostgreSQL refuses NUL)."""
    email = email.strip().lower()
    if not email or len(email) > 254 or any(unicodedata.category(ch) in ("Cc", "Cf") for ch in email):
        return None
    result = await session.execute(select(StaffUser).where(StaffUser.email == email))
    return result.scalar_one_or_none()


async def add_user(
    session: AsyncSession, email: str, password: str, role: str, event_id: int | None = None,
    stage_id: int | None = None,
) -> StaffUser:
    """Create the user (or update the password) and grant ``role``, for one event or all. Commits."""
    email = email.strip().lower()
    if not is_email(email):
        raise StaffError(f"{email!r} is not an e-mail address")
    if role not in ROLES:
        raise StaffError(f"role must be one of {', '.join(ROLES)}")
    problem = passwords.problem(password, email)
    if problem:
        raise StaffError(problem)
    user = await user_by_email(session, email)
    if user is None:
        user = StaffUser(email=email, password_hash=_hasher.hash(password), roles=[])
        session.add(user)
    elif not await _same_password(user.password_hash, password):  # granting a role with the same password
        user.password_hash = _hasher.hash(password)                   # keeps the person's sessions
        await end_everything(session, user.id)  # a new password logs every browser and script out
    if stage_id is not None and (role != "moderator" or event_id is None):
        raise StaffError("only a moderator of one event can be limited to one of its stages (--stage needs --event)")
    existing = next((r for r in user.roles if r.role == role and r.event_id == event_id), None)
    if existing is None:
        user.roles.append(StaffRole(role=role, event_id=None if role == "admin" else event_id, stage_id=stage_id))
    elif role == "moderator":
        existing.stage_id = stage_id
    audit.record(session, actor="cli", action="user.add", event_id=event_id, email=email, role=role)
    await session.flush()
    return user


async def _same_password(password_hash: str, password: str) -> bool:
    try:
        return await anyio.to_thread.run_sync(_hasher.verify, password_hash, password, limiter=_PASSWORD_CHECKS)
    except (VerificationError, InvalidHashError):
        return False


async def authenticate(session: AsyncSession, email: str, password: str) -> StaffUser | None:
    """The user if the password is right, else None (same cost either way)."""
    user = await user_by_email(session, email)
    try:
        await anyio.to_thread.run_sync(_hasher.verify, user.password_hash if user else _DUMMY_HASH, password,
                                       limiter=_PASSWORD_CHECKS)
    except (VerificationError, InvalidHashError):
        return None
    return user


async def create_token(session: AsyncSession, user: StaffUser, name: str = "", days: int = TOKEN_DAYS) -> str:
    """A new bearer token for scripts, valid for ``days`` days; only its hash is kept."""
    if not 1 <= days <= MAX_TOKEN_DAYS:
        raise StaffError(N_("A token lives between 1 and 366 days."), "days")
    name = "".join(ch for ch in name if unicodedata.category(ch) not in ("Cc", "Cf")).strip()[:100]
    token = "ehs_" + secrets.token_urlsafe(32)
    session.add(ApiToken(user_id=user.id, token_hash=token_hash(token), name=name,
                         expires_at=_now() + dt.timedelta(days=days)))
    audit.record(session, actor=user.email, action="token.create", event_id=None, name=name)
    await session.flush()
    return token


async def token_by_secret(session: AsyncSession, token: str) -> tuple[StaffUser, ApiToken] | None:
    """The staff user a live (unexpired, unrevoked) bearer token belongs to, with the token's row."""
    if len(token) > 100:
        return None
    result = await session.execute(
        select(StaffUser, ApiToken).join(ApiToken, ApiToken.user_id == StaffUser.id).where(
            ApiToken.token_hash == token_hash(token), ApiToken.expires_at > _now()
        )
    )
    row = result.one_or_none()
    return None if row is None else (row[0], row[1])


async def user_by_token(session: AsyncSession, token: str) -> StaffUser | None:
    """The staff user a live bearer token belongs to."""
    found = await token_by_secret(session, token)
    return None if found is None else found[0]


async def mark_token_used(session: AsyncSession, token_id: int) -> None:
    """Remember when a token was last used (shown in the studio)."""
    await session.execute(update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=_now()))


async def tokens_of(session: AsyncSession, user: StaffUser) -> list[ApiToken]:
    """The user's live tokens, newest first."""
    result = await session.execute(select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.expires_at > _now())
                                   .order_by(ApiToken.id.desc()))
    return list(result.scalars())


async def revoke_token(session: AsyncSession, user: StaffUser, token_id: int) -> bool:
    """Revoke one of the user's own tokens; False if they have no such token."""
    result = await session.execute(delete(ApiToken).where(ApiToken.id == token_id, ApiToken.user_id == user.id))
    if not result.rowcount:  # type: ignore[attr-defined]
        return False
    audit.record(session, actor=user.email, action="token.revoke", event_id=None, token_id=token_id)
    return True


async def user_by_id(session: AsyncSession, user_id: int) -> StaffUser | None:
    """The staff user with this id."""
    return await session.get(StaffUser, user_id)


@dataclass(frozen=True)
class Permissions:
    """What one staff user may do on one event."""

    moderate: bool
    organise: bool
    #: The stages they moderate (a regional moderator on the national day); None: every stage.
    stages: frozenset[int] | None = None

    def moderates(self, stage_id: int | None) -> bool:
        """Whether they may moderate what belongs to ``stage_id``."""
        return self.moderate and (self.stages is None or stage_id in self.stages)


def permissions(user: StaffUser, event_id: int) -> Permissions:
    """Admins may do everything; organisers moderate too; roles are per event or for all events; a
    moderator's role may be for one stage of the event only."""
    roles = [r for r in user.roles if r.event_id in (None, event_id)]
    held = {r.role for r in roles}
    if "admin" in held:
        return Permissions(moderate=True, organise=True)
    moderating = [r for r in roles if r.role in ("organiser", "moderator")]
    stages = None if any(r.stage_id is None or r.role == "organiser" for r in moderating) else frozenset(
        r.stage_id for r in moderating if r.stage_id is not None)
    return Permissions(moderate=bool(moderating), organise="organiser" in held, stages=stages)


# --- sessions ---------------------------------------------------------------------------------


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


async def create_session(session: AsyncSession, user: StaffUser) -> str:
    """A new server-side session for ``user``; returns the cookie value (only its hash is kept)."""
    await session.execute(delete(StaffSession).where(StaffSession.user_id == user.id,
                                                     StaffSession.expires_at < _now()))
    value = "ehss_" + secrets.token_urlsafe(32)
    session.add(StaffSession(user_id=user.id, token_hash=token_hash(value),
                             expires_at=_now() + dt.timedelta(seconds=SESSION_SECONDS)))
    await session.flush()
    return value


async def user_by_session(session: AsyncSession, value: str) -> StaffUser | None:
    """The staff user of a live session cookie (None once it was ended or expired)."""
    if not value.startswith("ehss_") or len(value) > 100:
        return None
    result = await session.execute(
        select(StaffUser).join(StaffSession, StaffSession.user_id == StaffUser.id).where(
            StaffSession.token_hash == token_hash(value), StaffSession.expires_at > _now()))
    return result.scalar_one_or_none()


async def end_session(session: AsyncSession, value: str) -> None:
    """Log one browser out: its session row is deleted, so a copy of the cookie is refused too."""
    await session.execute(delete(StaffSession).where(StaffSession.token_hash == token_hash(value)))


async def end_everything(session: AsyncSession, user_id: int) -> None:
    """End every session and revoke every API token of one person (password change, role removed)."""
    await session.execute(delete(StaffSession).where(StaffSession.user_id == user_id))
    await session.execute(delete(ApiToken).where(ApiToken.user_id == user_id))


async def change_password(session: AsyncSession, user: StaffUser, current: str, new: str, again: str) -> None:
    """Set a new password after checking the current one and the policy; ends every session and token of the
    user (the caller starts a fresh session for the browser that made the change). Raises StaffError with a
    translatable message id."""
    try:
        _hasher.verify(user.password_hash, current)
    except (VerificationError, InvalidHashError) as exc:
        raise StaffError(N_("The current password is wrong."), "current") from exc
    if new != again:
        raise StaffError(N_("The two new passwords differ."), "again")
    problem = passwords.problem(new, user.email)
    if problem:
        raise StaffError(problem, "new")
    user.password_hash = await hash_password(new)
    await end_everything(session, user.id)
    audit.record(session, actor=user.email, action="password.change", event_id=None)
    await session.flush()


async def hash_password(password: str) -> str:
    """The argon2 hash, computed in a thread (it takes tens of milliseconds of CPU)."""
    return await asyncio.to_thread(_hasher.hash, password)


ROLE_LABELS = {"admin": N_("Administrator"), "organiser": N_("Organiser"), "moderator": N_("Moderator")}


def role_label(role: str) -> str:
    """A role in the current language."""
    return gettext(ROLE_LABELS.get(role, role))


def may_manage_staff(user: StaffUser) -> bool:
    """Admins and organisers (of any event) see the staff page and may invite."""
    return any(r.role in ("admin", "organiser") for r in user.roles)
