"""Staff users, their roles per event, API tokens and the audit log."""

from __future__ import annotations

import datetime as dt
from typing import Any

from advanced_alchemy.types import DateTimeUTC, JsonB
from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ehalsodag.db.base import BigIntAuditBase

ROLES = ("admin", "organiser", "moderator")


class StaffUser(BigIntAuditBase):
    """A person who runs events. Passwords are argon2 hashes."""

    __tablename__ = "staff_user"

    email: Mapped[str] = mapped_column(String(254), unique=True, index=True)
    password_hash: Mapped[str] = mapped_column(String(200))

    roles: Mapped[list[StaffRole]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin"
    )


class StaffRole(BigIntAuditBase):
    """A role, either for one event or (``event_id`` NULL) for every event."""

    __tablename__ = "staff_role"
    __table_args__ = (UniqueConstraint("user_id", "event_id", "role"),)

    user_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id", ondelete="CASCADE"), index=True)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"), nullable=True)
    role: Mapped[str] = mapped_column(String(20))
    #: A moderator of one stage (a region on the national day) only; NULL: every stage of the event.
    stage_id: Mapped[int | None] = mapped_column(ForeignKey("stage.id", ondelete="CASCADE"), nullable=True)

    user: Mapped[StaffUser] = relationship(back_populates="roles")


class ApiToken(BigIntAuditBase):
    """A bearer token for scripts (``ehalsodag token create``); only its hash is stored."""

    __tablename__ = "api_token"

    user_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    #: What the token is for, as its owner named it in the studio ("" for tokens from the command line).
    name: Mapped[str] = mapped_column(String(100), default="", server_default="")
    #: After this the token is refused; NULL only for tokens made before tokens expired (migration 0007).
    expires_at: Mapped[dt.datetime | None] = mapped_column(DateTimeUTC(timezone=True), nullable=True)
    #: When the token last authenticated a request (updated at most once a minute).
    last_used_at: Mapped[dt.datetime | None] = mapped_column(DateTimeUTC(timezone=True), nullable=True)


class StaffSession(BigIntAuditBase):
    """A logged-in browser. The cookie carries a random secret whose hash is kept here; logging out, a
    password change or a role removal deletes the row, so a copied cookie stops working at once."""

    __tablename__ = "staff_session"

    user_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTimeUTC(timezone=True))


class StaffInvitation(BigIntAuditBase):
    """A single-use link that makes its holder ``role`` (for one event or, ``event_id`` NULL, for all)."""

    __tablename__ = "staff_invitation"

    token_hash: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    email: Mapped[str] = mapped_column(String(254), index=True)
    role: Mapped[str] = mapped_column(String(20))
    event_id: Mapped[int | None] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"), nullable=True)
    #: Who invited (NULL: the command line, or a deleted user).
    invited_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_user.id", ondelete="SET NULL"), nullable=True)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTimeUTC(timezone=True))
    accepted_at: Mapped[dt.datetime | None] = mapped_column(DateTimeUTC(timezone=True), nullable=True)


class AuditEntry(BigIntAuditBase):
    """Who did what, when (``created_at``), on which event."""

    __tablename__ = "audit_entry"

    event_id: Mapped[int | None] = mapped_column(
        ForeignKey("event.id", ondelete="SET NULL"), nullable=True, index=True
    )
    actor: Mapped[str] = mapped_column(String(254))
    action: Mapped[str] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(JsonB, default=dict)
