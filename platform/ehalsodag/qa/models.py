"""Questions to the panel and their upvotes."""

from __future__ import annotations

import datetime as dt

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ehalsodag.db.base import BigIntAuditBase

#: A question's life: pending (pre-moderation) → approved → answered; or hidden; or merged.
QUESTION_STATES = ("pending", "approved", "answered", "hidden", "merged")


class Question(BigIntAuditBase):
    """One question from an attendee, for a block or (block_id NULL) for the whole event."""

    __tablename__ = "question"

    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"), index=True)
    block_id: Mapped[int | None] = mapped_column(ForeignKey("block.id", ondelete="SET NULL"), nullable=True)
    #: The stage it belongs to (the stage its attendees followed when it was made).
    stage_id: Mapped[int | None] = mapped_column(ForeignKey("stage.id", ondelete="SET NULL"), nullable=True, index=True)
    attendee_id: Mapped[int | None] = mapped_column(ForeignKey("attendee.id", ondelete="SET NULL"), nullable=True)
    text: Mapped[str] = mapped_column(Text)
    #: Shown only when the attendee chose to ask with their name.
    author_name: Mapped[str | None] = mapped_column(String(80), nullable=True)
    status: Mapped[str] = mapped_column(String(12), default="pending", index=True)
    highlighted: Mapped[bool] = mapped_column(Boolean, default=False)
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("question.id", ondelete="SET NULL"), nullable=True)
    upvotes: Mapped[int] = mapped_column(Integer, default=0)
    approved_at: Mapped[dt.datetime | None] = mapped_column(DateTimeUTC(timezone=True), nullable=True)
    answered_at: Mapped[dt.datetime | None] = mapped_column(DateTimeUTC(timezone=True), nullable=True)
    #: A moderator's written reply, shown under the question to attendees (and on the asker's /me page).
    reply_text: Mapped[str | None] = mapped_column(Text, nullable=True)
    replied_at: Mapped[dt.datetime | None] = mapped_column(DateTimeUTC(timezone=True), nullable=True)

    @property
    def visible(self) -> bool:
        """Whether every attendee may see it."""
        return self.status in ("approved", "answered")


class QuestionUpvote(BigIntAuditBase):
    """One attendee's upvote; the unique constraint makes a second one impossible."""

    __tablename__ = "question_upvote"
    __table_args__ = (UniqueConstraint("question_id", "attendee_id"),)

    question_id: Mapped[int] = mapped_column(ForeignKey("question.id", ondelete="CASCADE"), index=True)
    attendee_id: Mapped[int] = mapped_column(ForeignKey("attendee.id", ondelete="CASCADE"), index=True)
