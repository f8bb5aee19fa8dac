"""Polls, their options and the attendees' responses (one per attendee per poll)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from advanced_alchemy.types import DateTimeUTC, JsonB
from sqlalchemy import BigInteger, Boolean, Column, ForeignKey, Integer, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ehalsodag.db.base import BigIntAuditBase, metadata

POLL_KINDS = ("single", "multiple", "scale", "wordcloud", "open_text", "ranking")
POLL_STATES = ("draft", "open", "closed")


class Poll(BigIntAuditBase):
    """A question to the audience."""

    __tablename__ = "poll"
    __table_args__ = (UniqueConstraint("event_id", "key"),)

    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"), index=True)
    block_id: Mapped[int | None] = mapped_column(ForeignKey("block.id", ondelete="SET NULL"), nullable=True)
    #: The stage it belongs to (the stage its attendees followed when it was made).
    stage_id: Mapped[int | None] = mapped_column(ForeignKey("stage.id", ondelete="SET NULL"), nullable=True, index=True)
    #: Id in the programme file, for polls prepared there (NULL for polls made live).
    key: Mapped[str | None] = mapped_column(String(100), nullable=True)
    kind: Mapped[str] = mapped_column(String(12))
    question: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(8), default="draft")
    #: "live": results visible while voting; "on_reveal": hidden until a moderator reveals them.
    results: Mapped[str] = mapped_column(String(10), default="live")
    revealed: Mapped[bool] = mapped_column(Boolean, default=False)
    max_picks: Mapped[int | None] = mapped_column(Integer, nullable=True)
    scale_min: Mapped[int | None] = mapped_column(Integer, nullable=True)
    scale_max: Mapped[int | None] = mapped_column(Integer, nullable=True)
    scale_labels: Mapped[list[str]] = mapped_column(JsonB, default=list)
    auto_open: Mapped[bool] = mapped_column(Boolean, default=False)
    auto_close: Mapped[bool] = mapped_column(Boolean, default=False)
    opened_at: Mapped[dt.datetime | None] = mapped_column(DateTimeUTC(timezone=True), nullable=True)
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTimeUTC(timezone=True), nullable=True)
    #: The organiser chose to show its results on the archive page after the day.
    published: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")

    options: Mapped[list[PollOption]] = relationship(
        order_by="PollOption.position", cascade="all, delete-orphan", lazy="selectin"
    )

    @property
    def results_visible(self) -> bool:
        """Whether attendees may see the results now."""
        return self.results == "live" or self.revealed


class PollOption(BigIntAuditBase):
    """A choice in a single, multiple-choice or ranking poll."""

    __tablename__ = "poll_option"

    poll_id: Mapped[int] = mapped_column(ForeignKey("poll.id", ondelete="CASCADE"), index=True)
    label: Mapped[str] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(Integer, default=0)


class PollResponse(BigIntAuditBase):
    """An attendee's answer. The unique constraint is the one-vote rule; a new answer replaces it."""

    __tablename__ = "poll_response"
    __table_args__ = (UniqueConstraint("poll_id", "attendee_id"),)

    poll_id: Mapped[int] = mapped_column(ForeignKey("poll.id", ondelete="CASCADE"), index=True)
    attendee_id: Mapped[int] = mapped_column(ForeignKey("attendee.id", ondelete="CASCADE"), index=True)
    #: The normalised answer: {"option_ids": [...]}, {"value": n}, {"words": [...]}, {"text": s}, {"ranking": [...]}.
    answer: Mapped[dict[str, Any]] = mapped_column(JsonB)
    #: Open-text answers go on the wall only once approved ("pending", "approved", "hidden").
    wall_status: Mapped[str | None] = mapped_column(String(10), nullable=True)
    wall_text: Mapped[str | None] = mapped_column(Text, nullable=True)
    #: The idempotency key of the websocket vote that stored this answer last (a resent vote is answered, not
    #: stored again); NULL for answers sent over HTTP.
    vote_key: Mapped[str | None] = mapped_column(String(64), nullable=True)


#: The kept tally of each poll (see :mod:`ehalsodag.polls.tally`): per poll, a count per key ("n" answers,
#: "o:<option>" picks, "v:<value>" scale values, "w:<word>" words, "r:<option>:<place>" ranking places). Changed
#: in the transaction that changes the answers, so it equals a recount of them at every commit.
poll_tally = Table(
    "poll_tally", metadata,
    Column("poll_id", ForeignKey("poll.id", ondelete="CASCADE"), primary_key=True),
    Column("key", String(64), primary_key=True),
    Column("count", BigInteger, nullable=False),
)
