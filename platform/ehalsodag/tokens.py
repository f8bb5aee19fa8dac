"""How secret tokens (staff API tokens, attendee tokens) are stored: as a SHA-256 digest, never in the clear."""

from __future__ import annotations

import hashlib


def token_hash(token: str) -> str:
    """The stored form of ``token``."""
    return hashlib.sha256(token.encode()).hexdigest()
