"""The audit log: every moderator and organiser action, written in the same transaction as the action.

An entry keeps who did what, when and to which thing (ids, keys, counts), never what a person wrote: free text
in an entry's detail (a deleted chat message, a question before and after an edit, an announcement) is stored as
its length only (``text_chars``), so deleting or purging the text itself leaves no copy here. Entries written
before this rule are scrubbed the same way by the purge and by an attendee deleting their own data
(:func:`scrub`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ehalsodag.staff.models import AuditEntry

#: Detail keys whose text names a thing (a block's key, a programme file, a role, an export format, a staff
#: account), never what an attendee wrote; every other text is kept as its length.
NAMES = frozenset({"block", "blocks", "slug", "file", "kind", "format", "email", "role", "overrun"})


def _is_number(value: Any) -> bool:
    return value is None or isinstance(value, bool | int | float)


def safe_detail(detail: dict[str, Any]) -> dict[str, Any]:
    """``detail`` without personal text: numbers and the names of things kept, other text as its length."""
    kept: dict[str, Any] = {}
    for key, value in detail.items():
        if _is_number(value) or (key in NAMES and isinstance(value, str | list)):
            kept[key] = value
        elif isinstance(value, str):
            kept[f"{key}_chars"] = len(value)
        elif isinstance(value, list | tuple) and all(_is_number(v) for v in value):
            kept[key] = list(value)
        else:
            kept[f"{key}_items"] = len(value) if isinstance(value, list | tuple | dict) else 1
    return kept


def _printable(value: Any) -> Any:
    """Text without control characters (PostgreSQL refuses NUL in text and JSON); other values as they are."""
    if isinstance(value, str):
        return "".join(ch if ch.isprintable() or ch in "\n\t" else "\ufffd" for ch in value)
    return value


def record(session: AsyncSession, *, actor: str, action: str, event_id: int | None, **detail: Any) -> None:
    """Add an audit entry to the session (committed with the action it describes), without personal text. What an
    anonymous visitor typed (a failed login's address) may hold anything: control characters are replaced."""
    session.add(AuditEntry(actor=_printable(actor)[:254], action=action, event_id=event_id,
                           detail=safe_detail({key: _printable(value) for key, value in detail.items()})))


async def scrub(session: AsyncSession, event_id: int, *, messages: Iterable[int] | None = None,
                questions: Iterable[int] | None = None) -> int:
    """Remove personal text from the event's audit entries (all of them, or only those about these chat messages
    and questions); return how many entries changed."""
    wanted_messages = None if messages is None else set(messages)
    wanted_questions = None if questions is None else set(questions)
    changed = 0
    for entry in (await session.execute(select(AuditEntry).where(AuditEntry.event_id == event_id))).scalars():
        detail = dict(entry.detail or {})
        if wanted_messages is not None or wanted_questions is not None:
            about = (detail.get("message") in (wanted_messages or ()) or detail.get("question") in (
                wanted_questions or ()))
            if not about:
                continue
        cleaned = safe_detail(detail)
        if cleaned != detail:
            entry.detail = cleaned
            changed += 1
    return changed
