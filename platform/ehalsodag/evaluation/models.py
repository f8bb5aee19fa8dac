"""Evaluation questions and answers. Answers are not linked to attendees: a separate table only
records *that* an attendee has answered, which enforces "once per attendee" and keeps them anonymous."""

from __future__ import annotations

from advanced_alchemy.types import JsonB
from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ehalsodag.db.base import BigIntAuditBase, BigIntBase

EVALUATION_KINDS = ("scale", "yesno", "choice", "text", "nps")
YESNO_VALUES = ("yes", "no", "dont_know")


class EvaluationQuestion(BigIntAuditBase):
    """One question of an event's evaluation form."""

    __tablename__ = "evaluation_question"
    __table_args__ = (UniqueConstraint("event_id", "key"),)

    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(10))
    text: Mapped[str] = mapped_column(Text)
    #: Scale step labels (first = 1), or the choices of a choice question.
    labels: Mapped[list[str]] = mapped_column(JsonB, default=list)
    #: Optional English text and labels from the programme file (the English page shows them).
    text_en: Mapped[str | None] = mapped_column(Text, nullable=True)
    labels_en: Mapped[list[str] | None] = mapped_column(JsonB, nullable=True)
    optional: Mapped[bool] = mapped_column(Boolean, default=False)
    position: Mapped[int] = mapped_column(Integer, default=0)
    #: Dropped from the programme file: kept for the answers it has.
    removed: Mapped[bool] = mapped_column(Boolean, default=False)


class EvaluationSubmission(BigIntAuditBase):
    """That an attendee has answered (not what): the unique constraint is the once-per-attendee rule."""

    __tablename__ = "evaluation_submission"
    __table_args__ = (UniqueConstraint("event_id", "attendee_id"),)

    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"), index=True)
    attendee_id: Mapped[int] = mapped_column(ForeignKey("attendee.id", ondelete="CASCADE"))


class EvaluationAnswer(BigIntBase):
    """One answer to one question. ``response`` groups one person's answers without saying whose; no
    timestamps are kept, so the answers cannot be matched to submissions by time."""

    __tablename__ = "evaluation_answer"

    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"), index=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("evaluation_question.id", ondelete="CASCADE"), index=True)
    response: Mapped[str] = mapped_column(String(32), index=True)
    #: The respondent's stage (their region on the national day), for results per region.
    stage_id: Mapped[int | None] = mapped_column(ForeignKey("stage.id", ondelete="SET NULL"), nullable=True)
    #: Scale step (1-based) or NPS score; NULL for text answers.
    number: Mapped[int | None] = mapped_column(Integer, nullable=True)
    #: yes/no/dont_know, the chosen label, or free text.
    text: Mapped[str | None] = mapped_column(Text, nullable=True)
