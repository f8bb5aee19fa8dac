"""The password policy: a minimum length, not the e-mail address, and not on the list of common passwords
(``common_passwords.txt``, one a line, compared case-insensitively and without spaces)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from ehalsodag.i18n import N_

MIN_LENGTH = 10
MAX_LENGTH = 200
COMMON_FILE = Path(__file__).resolve().parent / "common_passwords.txt"


@cache
def common_passwords() -> frozenset[str]:
    """The shipped list, normalised."""
    lines = COMMON_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(_normal(line) for line in lines if line.strip() and not line.startswith("#"))


def _normal(password: str) -> str:
    return "".join(password.split()).casefold()


def problem(password: str, email: str = "") -> str | None:
    """What is wrong with ``password`` (an untranslated message id), or None when it may be used."""
    if len(password) < MIN_LENGTH:
        return N_("The password must be at least 10 characters long.")
    if len(password) > MAX_LENGTH:
        return N_("The password may be at most 200 characters long.")
    normal = _normal(password)
    local = _normal(email.split("@")[0]) if email else ""
    if normal in common_passwords() or len(set(normal)) < 4 or (local and len(local) >= 4 and local in normal):
        return N_("This password is too easy to guess (it is common or contains your e-mail address).")
    return None
