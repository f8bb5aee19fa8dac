"""Rules for the short free texts people type: trimmed, NFC-normalised, bounded, no control characters."""

from __future__ import annotations

import unicodedata
from typing import Any

from ehalsodag.i18n import _

#: Newlines and tabs, and the joiners that emoji sequences (👩‍⚕️) and some scripts need. Every other
#: control or format character (bidirectional overrides, zero-width spaces, NUL) is refused.
ALLOWED_INVISIBLE = frozenset("\n\t\u200c\u200d")


class TextError(ValueError):
    """Text that cannot be accepted; the message says why, in the current language."""


def clean_text(value: Any, limit: int, *, what: str) -> str:
    """Trim and NFC-normalise ``value``; refuse non-text, empty, too long and control/format characters
    (which include bidirectional overrides and zero-width characters)."""
    if not isinstance(value, str):
        raise TextError(_("%(what)s must be text.", what=what))
    text = unicodedata.normalize("NFC", value).strip()
    if not text:
        raise TextError(_("%(what)s is empty.", what=what))
    if len(text) > limit:
        raise TextError(_("%(what)s is at most %(max)d characters.", what=what, max=limit))
    if any(unicodedata.category(ch) in {"Cc", "Cf"} and ch not in ALLOWED_INVISIBLE for ch in text):
        raise TextError(_("%(what)s contains control characters.", what=what))
    return text


def clean_optional(value: Any, limit: int, *, what: str) -> str | None:
    """Like :func:`clean_text`, but None or blank gives None."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return clean_text(value, limit, what=what)


def shorten(text: str, limit: int) -> str:
    """``text`` on one line, cut at a word boundary to at most ``limit`` characters (an ellipsis marks the cut):
    how a control panel's answer names a question or a poll."""
    line = " ".join(text.split())
    if len(line) <= limit:
        return line
    cut = line[: limit - 1].rsplit(" ", 1)[0] if " " in line[: limit - 1] else line[: limit - 1]
    return cut.rstrip(" ,.;:") + "…"
