"""The evaluation question bank: the report's questions and the ones organisers add, shared by every day so
that answers compare year on year and region to region."""

from __future__ import annotations

from advanced_alchemy.types import JsonB
from sqlalchemy import Boolean, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ehalsodag.db.base import BigIntAuditBase


class BankQuestion(BigIntAuditBase):
    """One question of the bank. Its key is what makes answers of different days comparable."""

    __tablename__ = "evaluation_bank_question"

    key: Mapped[str] = mapped_column(String(100), unique=True, index=True)
    kind: Mapped[str] = mapped_column(String(10))
    text: Mapped[str] = mapped_column(Text)
    labels: Mapped[list[str]] = mapped_column(JsonB, default=list)
    optional: Mapped[bool] = mapped_column(Boolean, default=False)
    #: One of the national report's questions (shipped, never removed).
    builtin: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Who added it (an organiser's e-mail), empty for the report's questions.
    added_by: Mapped[str] = mapped_column(String(254), default="")
