"""Materials of a framework programme and when each staff user last looked at them."""

from __future__ import annotations

import datetime as dt

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import BigInteger, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ehalsodag.db.base import BigIntAuditBase


class Material(BigIntAuditBase):
    """One file (stored under the upload directory with a name the server chose) or one video link, kept on a
    framework's landing place (the framework event)."""

    __tablename__ = "material"

    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"), index=True)
    #: ``file`` or ``link``.
    kind: Mapped[str] = mapped_column(String(8))
    title: Mapped[str] = mapped_column(String(200))
    #: The uploader's file name, cleaned (shown and offered on download); never used on disk.
    filename: Mapped[str | None] = mapped_column(String(200), nullable=True)
    #: The server's own name on disk (random hex and the type's extension).
    stored_name: Mapped[str | None] = mapped_column(String(64), nullable=True, unique=True)
    content_type: Mapped[str | None] = mapped_column(String(120), nullable=True)
    size_bytes: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), default=0)
    url: Mapped[str | None] = mapped_column(String(500), nullable=True)
    uploaded_by: Mapped[str] = mapped_column(String(254), default="")


class MaterialVisit(BigIntAuditBase):
    """When a staff user last opened a framework's landing place: what came after is "new" to them."""

    __tablename__ = "material_visit"
    __table_args__ = (UniqueConstraint("user_id", "event_id"),)

    user_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id", ondelete="CASCADE"), index=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"), index=True)
    seen_at: Mapped[dt.datetime] = mapped_column(DateTimeUTC(timezone=True))
