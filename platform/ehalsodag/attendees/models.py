"""Attendees: anonymous by default, identified by a random token whose hash is stored."""

from __future__ import annotations

import datetime as dt

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ehalsodag.db.base import BigIntAuditBase


class Attendee(BigIntAuditBase):
    """Somebody (or a room of people: ``group_size``) following an event."""

    __tablename__ = "attendee"

    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    display_name: Mapped[str | None] = mapped_column(String(80), nullable=True)
    organisation: Mapped[str | None] = mapped_column(String(120), nullable=True)
    group_size: Mapped[int] = mapped_column(Integer, default=1)
    #: The attendee's stage on a national day (their region); NULL: the event's main stage.
    stage_id: Mapped[int | None] = mapped_column(ForeignKey("stage.id", ondelete="SET NULL"), nullable=True, index=True)
    #: Muted by a moderator: may no longer chat or ask (for the rest of the day).
    muted_at: Mapped[dt.datetime | None] = mapped_column(DateTimeUTC(timezone=True), nullable=True)
    #: First time a live connection was made: who really followed the day, not just joined.
    first_connected_at: Mapped[dt.datetime | None] = mapped_column(DateTimeUTC(timezone=True), nullable=True)
    last_seen_at: Mapped[dt.datetime | None] = mapped_column(DateTimeUTC(timezone=True), nullable=True)
