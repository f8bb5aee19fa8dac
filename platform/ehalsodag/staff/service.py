"""Staff accounts: argon2 passwords, roles per event, bearer tokens and signed session cookies."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import time
from dataclasses import dataclass

import anyio
import anyio.to_thread
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ehalsodag.staff import audit
from ehalsodag.staff.models import ROLES, ApiToken, StaffRole, StaffUser
from ehalsodag.tokens import token_hash

SESSION_SECONDS = 12 * 3600
_hasher = PasswordHasher()
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
#: Checked against when the e-mail is unknown, so a wrong address costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash("not a real password")
#: Password checks run in worker threads, two at a time: each takes ~50 ms of CPU and 64 MiB, and on the event loop
#: it would stall every socket and request of the worker meanwhile.
_PASSWORD_CHECKS = anyio.CapacityLimiter(2)


class StaffError(ValueError):
    """Bad input for a staff command."""


async def user_by_email(session: AsyncSession, email: str) -> StaffUser | None:
    """The staff user with this e-mail (case-insensitive)."""
    result = await session.execute(select(StaffUser).where(StaffUser.email == email.strip().lower()))
    return result.scalar_one_or_none()


async def add_user(
    session: AsyncSession, email: str, password: str, role: str, event_id: int | None = None,
    stage_id: int | None = None,
) -> StaffUser:
    """Create the user (or update the password) and grant ``role``, for one event or all. Commits."""
    email = email.strip().lower()
    if not _EMAIL.match(email):
        raise StaffError(f"{email!r} is not an e-mail address")
    if role not in ROLES:
        raise StaffError(f"role must be one of {', '.join(ROLES)}")
    if len(password) < 10:
        raise StaffError("the password must be at least 10 characters")
    user = await user_by_email(session, email)
    if user is None:
        user = StaffUser(email=email, password_hash=_hasher.hash(password), roles=[])
        session.add(user)
    else:
        user.password_hash = _hasher.hash(password)
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


async def authenticate(session: AsyncSession, email: str, password: str) -> StaffUser | None:
    """The user if the password is right, else None (same cost either way)."""
    user = await user_by_email(session, email)
    try:
        await anyio.to_thread.run_sync(_hasher.verify, user.password_hash if user else _DUMMY_HASH, password,
                                       limiter=_PASSWORD_CHECKS)
    except (VerificationError, InvalidHashError):
        return None
    return user


async def create_token(session: AsyncSession, user: StaffUser) -> str:
    """A new bearer token for scripts; only its hash is kept."""
    token = "ehs_" + secrets.token_urlsafe(32)
    session.add(ApiToken(user_id=user.id, token_hash=token_hash(token)))
    audit.record(session, actor=user.email, action="token.create", event_id=None)
    await session.flush()
    return token


async def user_by_token(session: AsyncSession, token: str) -> StaffUser | None:
    """The staff user a bearer token belongs to."""
    result = await session.execute(
        select(StaffUser).join(ApiToken, ApiToken.user_id == StaffUser.id).where(
            ApiToken.token_hash == token_hash(token)
        )
    )
    return result.scalar_one_or_none()


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


# --- session cookies -------------------------------------------------------------------------


def _sign(secret: str, payload: str) -> str:
    mac = hmac.new(secret.encode(), payload.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


def session_cookie_value(secret: str, user: StaffUser, now: float | None = None) -> str:
    """A signed, expiring cookie value naming the user. The password hash's tail is bound in, so a
    password change logs out every other session."""
    expires = int((now or time.time()) + SESSION_SECONDS)
    payload = f"{user.id}.{expires}.{user.password_hash[-16:]}"
    return f"{user.id}.{expires}.{_sign(secret, payload)}"


def parse_session_cookie(secret: str, value: str, now: float | None = None) -> tuple[int, int, str] | None:
    """(user id, expiry, signature) when the cookie is well-formed and unexpired; verify with
    :func:`session_matches` once the user is loaded."""
    parts = value.split(".")
    if len(parts) != 3 or not parts[0].isdigit() or not parts[1].isdigit():
        return None
    if int(parts[1]) < (now or time.time()):
        return None
    return int(parts[0]), int(parts[1]), parts[2]


def session_matches(secret: str, user: StaffUser, expires: int, signature: str) -> bool:
    """Whether the signature was made by us for this user and password."""
    expected = _sign(secret, f"{user.id}.{expires}.{user.password_hash[-16:]}")
    return hmac.compare_digest(expected, signature)
