"""Translations: Swedish (default) and English, from Babel catalogs.

Message ids are English; ``translations/sv/LC_MESSAGES/messages.po`` holds the Swedish text. The
catalogs are compiled in memory at start-up, so there is no build step. The current language is
a context variable: set it per request (or around a broadcast render) with :func:`use_language`.
"""

from __future__ import annotations

import gettext as _gettext
import io
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from markupsafe import escape

LANGUAGES = ("sv", "en")
DEFAULT_LANGUAGE = "sv"
LANGUAGE_NAMES = {"sv": "Svenska", "en": "English"}
TRANSLATIONS_DIR = Path(__file__).resolve().parent.parent / "translations"

_current: ContextVar[str] = ContextVar("ehalsodag_language", default=DEFAULT_LANGUAGE)


@cache
def translations(language: str) -> _gettext.NullTranslations:
    """The compiled catalog for ``language`` (English is the message ids themselves)."""
    po = TRANSLATIONS_DIR / language / "LC_MESSAGES" / "messages.po"
    if language == "en" or not po.exists():
        return _gettext.NullTranslations()
    with po.open("rb") as handle:
        catalog = read_po(handle, locale=language)
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return _gettext.GNUTranslations(buffer)


def current_language() -> str:
    """The language of the request or render in progress."""
    return _current.get()


def pick_language(requested: str | None) -> str:
    """A supported language code, falling back to Swedish."""
    if requested and requested.lower()[:2] in LANGUAGES:
        return requested.lower()[:2]
    return DEFAULT_LANGUAGE


@contextmanager
def use_language(language: str) -> Iterator[None]:
    """Render in ``language`` inside the block."""
    token = _current.set(pick_language(language))
    try:
        yield
    finally:
        _current.reset(token)


def set_language(language: str) -> None:
    """Set the language for the rest of this request's context."""
    _current.set(pick_language(language))


def gettext(message: str, **values: object) -> str:
    """Translate ``message`` into the current language, then fill ``%(name)s`` values."""
    text = translations(current_language()).gettext(message)
    return text % values if values else text


def ngettext(singular: str, plural: str, n: int, **values: object) -> str:
    """Translate with a plural form chosen by ``n``; ``%(num)d`` is filled with ``n``."""
    text = translations(current_language()).ngettext(singular, plural, n)
    return text % {"num": n, **values}


def N_(message: str) -> str:  # noqa: N802  (the conventional marker for Babel's extractor)
    """Mark a string for translation without translating it yet (translate it where it is shown)."""
    return message


_ = gettext


class LazyText:
    """A message translated only when it is shown: a pushed fragment is built once and rendered once per
    language, so text made in code (an announcement) must wait for the language. ``gettext`` marks it."""

    def __init__(self, message: str, **values: object) -> None:
        self.message = message
        self.values = values

    def __str__(self) -> str:
        return gettext(self.message, **self.values)

    def __html__(self) -> str:
        return str(escape(str(self)))


def lazy(message: str, **values: object) -> LazyText:
    """``message`` (with ``values``), translated when rendered. Babel extracts it like ``_``."""
    return LazyText(message, **values)
