"""What each presenter screen is set to show: one row per event and stage, made when a moderator first chooses."""

from __future__ import annotations

from sqlalchemy import Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ehalsodag.db.base import BigIntAuditBase

#: What a screen can show: "auto" (the newest open poll, else the question on stage, else the block on air),
#: one chosen poll, the question on stage, the join code with a large QR code, or the programme (now and next).
SCREEN_SHOWS = ("auto", "poll", "question", "code", "programme")


class ScreenChoice(BigIntAuditBase):
    """A moderator's choice for the screens of one stage (``slot``: the stage's id; 0 for an event without stages).

    No row means the default: automatic, without the participant count."""

    __tablename__ = "screen_choice"
    __table_args__ = (UniqueConstraint("event_id", "slot"),)

    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"), index=True)
    slot: Mapped[int] = mapped_column(Integer, default=0)
    show: Mapped[str] = mapped_column(String(12), default="auto")
    #: The poll shown while ``show`` is "poll" (a deleted poll leaves the screen on automatic).
    poll_id: Mapped[int | None] = mapped_column(ForeignKey("poll.id", ondelete="SET NULL"), nullable=True)
    #: Whether the screen shows how many attendees are connected (sampled once a minute).
    participants: Mapped[bool] = mapped_column(Boolean, default=False)
    changed_by: Mapped[str] = mapped_column(String(254), default="")
