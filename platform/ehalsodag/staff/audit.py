"""The audit log: every moderator and organiser action, written in the same transaction as the action."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from ehalsodag.staff.models import AuditEntry


def record(session: AsyncSession, *, actor: str, action: str, event_id: int | None, **detail: Any) -> None:
    """Add an audit entry to the session (committed with the action it describes)."""
    session.add(AuditEntry(actor=actor, action=action, event_id=event_id, detail=detail))
