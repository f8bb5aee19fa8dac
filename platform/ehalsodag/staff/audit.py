"""The audit log: every moderator and organiser action, written in the same transaction as the action."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from ehalsodag.staff.models import AuditEntry


def _printable(value: Any) -> Any:
    """Text without control characters (PostgreSQL refuses NUL in text and JSON); other values as they are."""
    if isinstance(value, str):
        return "".join(ch if ch.isprintable() or ch in "\n\t" else "\ufffd" for ch in value)
    return value


def record(session: AsyncSession, *, actor: str, action: str, event_id: int | None, **detail: Any) -> None:
    """Add an audit entry to the session (committed with the action it describes). What an anonymous visitor
    typed (a failed login's address) may hold anything: control characters are replaced."""
    session.add(AuditEntry(actor=_printable(actor)[:254], action=action, event_id=event_id,
                           detail={key: _printable(value) for key, value in detail.items()}))
