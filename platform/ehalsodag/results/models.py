"""Attendance samples: how many were connected, minute by minute, per worker process."""

from __future__ import annotations

import datetime as dt

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ehalsodag.db.base import BigIntAuditBase


class AttendanceSample(BigIntAuditBase):
    """The most attendees (and the most people, counting group sizes) one worker held in one minute, in the
    whole event (``stage_id`` NULL) and, on a national day, per stage."""

    __tablename__ = "attendance_sample"
    __table_args__ = (UniqueConstraint("event_id", "minute", "worker", "stage_id"),)

    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"), index=True)
    minute: Mapped[dt.datetime] = mapped_column(DateTimeUTC(timezone=True))
    worker: Mapped[str] = mapped_column(String(64))
    connections: Mapped[int] = mapped_column(Integer, default=0)
    reach: Mapped[int] = mapped_column(Integer, default=0)
    #: NULL: the whole event; else the attendees whose stage (region) this is.
    stage_id: Mapped[int | None] = mapped_column(ForeignKey("stage.id", ondelete="CASCADE"), nullable=True)


class AttendanceSpan(BigIntAuditBase):
    """Minutes ``first_minute``..``last_minute`` (both included) during which one attendee was present: with a
    live connection (``live``), or, for a browser without JavaScript, after loading the attendee page (a page
    view counts for :data:`ehalsodag.live.attendance.PAGE_MINUTES`). Every attendance figure is counted from these
    spans by attendee, so a restart, a second worker or a second tab never counts anyone twice
    (docs/results.md)."""

    __tablename__ = "attendance_span"
    __table_args__ = (Index("ix_attendance_span_event_attendee", "event_id", "attendee_id"),)

    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"))
    attendee_id: Mapped[int] = mapped_column(ForeignKey("attendee.id", ondelete="CASCADE"))
    first_minute: Mapped[dt.datetime] = mapped_column(DateTimeUTC(timezone=True))
    last_minute: Mapped[dt.datetime] = mapped_column(DateTimeUTC(timezone=True))
    live: Mapped[bool] = mapped_column(Boolean, default=True)
