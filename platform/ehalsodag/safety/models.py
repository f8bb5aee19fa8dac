"""What an action changed, kept for the few seconds in which it can be undone."""

from __future__ import annotations

import datetime as dt
from typing import Any

from advanced_alchemy.types import DateTimeUTC, JsonB
from sqlalchemy import BigInteger, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from ehalsodag.db.base import BigIntAuditBase


class UndoAction(BigIntAuditBase):
    """One undoable action: what it was done to and the state before it. Committed with the action, so that a
    restart inside the window loses nothing; ``before`` (for an erasure: the erased rows) is emptied once the
    window has passed (``finished_at``), so erased data really goes."""

    __tablename__ = "undo_action"

    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"), index=True)
    #: hide (a question), mute (an attendee), chat_delete (a message), erase (an attendee's own data).
    kind: Mapped[str] = mapped_column(String(20))
    #: The row acted on: a question, an attendee or a chat message.
    target_id: Mapped[int] = mapped_column(BigInteger)
    #: Who may undo it: staff of the event (moderating ``stage_id``), or for an erasure this attendee only.
    attendee_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    stage_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    actor: Mapped[str] = mapped_column(String(254))
    before: Mapped[dict[str, Any] | None] = mapped_column(JsonB, nullable=True)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTimeUTC(timezone=True), index=True)
    undone_at: Mapped[dt.datetime | None] = mapped_column(DateTimeUTC(timezone=True), nullable=True)
    #: The window passed and ``before`` was emptied.
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTimeUTC(timezone=True), nullable=True, index=True)
