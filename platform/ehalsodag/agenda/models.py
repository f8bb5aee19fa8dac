"""Events, their stages and the blocks of the programme."""

from __future__ import annotations

import datetime as dt
from typing import Any

from advanced_alchemy.types import DateTimeUTC, JsonB
from sqlalchemy import Boolean, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ehalsodag.db.base import BigIntAuditBase


class Event(BigIntAuditBase):
    """One e-health day (or webinar): what attendees join."""

    __tablename__ = "event"

    slug: Mapped[str] = mapped_column(String(100), unique=True, index=True)
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    organiser: Mapped[str] = mapped_column(String(300), default="")
    date: Mapped[dt.date] = mapped_column(Date)
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Stockholm")
    #: Short numeric code for joining from a phone: /j/{code}.
    join_code: Mapped[str] = mapped_column(String(12), unique=True, index=True)
    recording_url: Mapped[str | None] = mapped_column(String(500), nullable=True)
    allowed_stream_hosts: Mapped[list[str]] = mapped_column(JsonB, default=list)
    source_file: Mapped[str] = mapped_column(String(500), default="")
    announcement: Mapped[str | None] = mapped_column(Text, nullable=True)
    announcement_at: Mapped[dt.datetime | None] = mapped_column(DateTimeUTC(timezone=True), nullable=True)
    #: The block a moderator took live. Not a foreign key: event and block would reference each other.
    live_block_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    #: Questions wait for a moderator's approval before anyone else sees them.
    premoderation: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    chat_enabled: Mapped[bool] = mapped_column(Boolean, default=True, server_default="1")
    #: When the evaluation opened (by a moderator, or when the last block ended) and for how long.
    evaluation_opened_at: Mapped[dt.datetime | None] = mapped_column(DateTimeUTC(timezone=True), nullable=True)
    evaluation_minutes: Mapped[int] = mapped_column(Integer, default=60, server_default="60")
    #: Days after the event until names and free text are erased by ``ehalsodag purge`` (aggregates stay).
    retention_days: Mapped[int] = mapped_column(Integer, default=90, server_default="90")
    purged_at: Mapped[dt.datetime | None] = mapped_column(DateTimeUTC(timezone=True), nullable=True)
    #: Attendees connected when the evaluation opened: the base of the response rate.
    evaluation_present: Mapped[int | None] = mapped_column(Integer, nullable=True)
    #: A rehearsal copy "as if today" of that event (deleted with everything in it in one click). Not a foreign
    #: key: the copy is deleted explicitly (``ehalsodag.materials.rehearsal``).
    rehearsal_of_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    #: The organiser published the evaluation summary on the archive page.
    evaluation_published: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    #: Set by an organiser: an attendee declaring a larger group than this counts as one person in the reach
    #: (an outlier the organiser does not believe); NULL: every declared group size counts.
    reach_max_group_size: Mapped[int | None] = mapped_column(Integer, nullable=True)
    #: A draft (made in the studio, not yet published) is seen by its staff only; files load published.
    published: Mapped[bool] = mapped_column(Boolean, default=True, server_default="1")
    #: The programme file the day was last loaded from (its exact text), when the studio can edit it: a file
    #: that stands alone or extends a framework programme of the server. Downloaded as programme.toml.
    programme_text: Mapped[str | None] = mapped_column(Text, nullable=True)
    #: A moderator ended the broadcast (the main stage's): no block is on until one is taken live again.
    broadcast_ended_at: Mapped[dt.datetime | None] = mapped_column(DateTimeUTC(timezone=True), nullable=True)

    stages: Mapped[list[Stage]] = relationship(
        back_populates="event", order_by="Stage.position", cascade="all, delete-orphan", lazy="selectin"
    )
    blocks: Mapped[list[Block]] = relationship(
        back_populates="event",
        order_by="Block.planned_start",
        cascade="all, delete-orphan",
        lazy="selectin",
        foreign_keys="Block.event_id",
    )

    def active_blocks(self) -> list[Block]:
        """Blocks still in the programme (removed ones are kept only for their data)."""
        return [b for b in self.blocks if not b.removed]


class Stage(BigIntAuditBase):
    """A stream within an event: the national stage or a regional one."""

    __tablename__ = "stage"
    __table_args__ = (UniqueConstraint("event_id", "key"),)

    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20), default="regional")
    position: Mapped[int] = mapped_column(Integer, default=0)
    stream_url: Mapped[str | None] = mapped_column(String(500), nullable=True)
    #: Joining by this code (/j/{code}, the stage's QR) puts the attendee on this stage (their region).
    join_code: Mapped[str | None] = mapped_column(String(12), unique=True, index=True, nullable=True)
    #: The block this stage's moderator took live (the main stage uses ``Event.live_block_id``).
    live_block_id: Mapped[int | None] = mapped_column(Integer, nullable=True)

    event: Mapped[Event] = relationship(back_populates="stages")

    @property
    def is_national(self) -> bool:
        """Whether this is the national stage of a national day."""
        return self.kind == "national"


class Block(BigIntAuditBase):
    """One item of the programme. Times are stored in UTC; ``shift_minutes`` moves it on the day."""

    __tablename__ = "block"
    __table_args__ = (UniqueConstraint("event_id", "key"),)

    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"), index=True)
    stage_id: Mapped[int] = mapped_column(ForeignKey("stage.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    #: Optional English texts from the programme file (shown on the English page; else the Swedish, marked so).
    title_en: Mapped[str | None] = mapped_column(String(300), nullable=True)
    description_en: Mapped[str | None] = mapped_column(Text, nullable=True)
    theme: Mapped[str | None] = mapped_column(String(100), nullable=True)
    planned_start: Mapped[dt.datetime] = mapped_column(DateTimeUTC(timezone=True))
    planned_end: Mapped[dt.datetime] = mapped_column(DateTimeUTC(timezone=True))
    shift_minutes: Mapped[int] = mapped_column(Integer, default=0)
    #: Minutes a regional block on air runs longer than planned (its start stays; a region running late).
    overrun_minutes: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    #: When a moderator actually took the block live (planned vs actual on the control panel).
    went_live_at: Mapped[dt.datetime | None] = mapped_column(DateTimeUTC(timezone=True), nullable=True)
    speakers: Mapped[list[dict[str, Any]]] = mapped_column(JsonB, default=list)
    stream_url: Mapped[str | None] = mapped_column(String(500), nullable=True)
    film_url: Mapped[str | None] = mapped_column(String(500), nullable=True)
    recording_url: Mapped[str | None] = mapped_column(String(500), nullable=True)
    #: Dropped from the programme file; kept so that its questions and votes survive.
    removed: Mapped[bool] = mapped_column(Boolean, default=False)
    #: When a moderator ended a regional block early: its attendees go back to the main stage.
    ended_at: Mapped[dt.datetime | None] = mapped_column(DateTimeUTC(timezone=True), nullable=True)

    event: Mapped[Event] = relationship(back_populates="blocks", foreign_keys=[event_id])
    stage: Mapped[Stage] = relationship(lazy="selectin")

    @property
    def starts_at(self) -> dt.datetime:
        """Start on the day, after shifts."""
        return self.planned_start + dt.timedelta(minutes=self.shift_minutes)

    @property
    def ends_at(self) -> dt.datetime:
        """End on the day, after shifts and a regional block's overrun."""
        return self.planned_end + dt.timedelta(minutes=self.shift_minutes + (self.overrun_minutes or 0))
