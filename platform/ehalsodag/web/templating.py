"""The Jinja environment: autoescaped, translated through :mod:`ehalsodag.i18n`, with date filters.

The same environment renders full pages (through Litestar) and the fragments pushed over the
websocket, so a fragment looks the same on first load, on reconnect and on a live push.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time
from babel.numbers import format_decimal
from jinja2 import Environment, FileSystemLoader, select_autoescape
from litestar import Request
from litestar.utils.empty import value_or_default
from litestar.utils.scope.state import ScopeState
from markupsafe import Markup, escape

from ehalsodag import i18n
from ehalsodag.attendees.service import pseudonym
from ehalsodag.i18n import N_
from ehalsodag.web.flash import form_error

BLOCK_KIND_LABELS = {
    "opening": N_("opening"), "talk": N_("talk"), "panel": N_("panel"), "break": N_("break"),
    "lunch": N_("lunch"), "film": N_("film"), "closing": N_("closing"),
}


THEME_LABELS = {
    "individen-som-medskapare": N_("The individual as co-creator"),
    "ratt-information-och-kunskap": N_("The right information and knowledge"),
    "trygg-och-saker-informationshantering": N_("Safe and secure information management"),
    "utveckling-och-digital-transformation-i-samverkan": N_("Development and digital transformation in collaboration"),
}


def theme_label(theme: str) -> str:
    """A strategy goal in the current language."""
    return i18n.gettext(THEME_LABELS.get(theme, theme))


POLL_KIND_LABELS = {
    "single": N_("Single choice"), "multiple": N_("Multiple choice"), "scale": N_("Scale"),
    "wordcloud": N_("Word cloud"), "open_text": N_("Open text"), "ranking": N_("Ranking"),
}
POLL_STATE_LABELS = {"draft": N_("draft"), "open": N_("open"), "closed": N_("closed")}


def poll_kind_label(kind: str) -> str:
    """A poll kind in the current language."""
    return i18n.gettext(POLL_KIND_LABELS.get(kind, kind))


def poll_state_label(state: str) -> str:
    """A poll state in the current language."""
    return i18n.gettext(POLL_STATE_LABELS.get(state, state))


def kind_label(kind: str) -> str:
    """The block kind in the current language."""
    return i18n.gettext(BLOCK_KIND_LABELS.get(kind, kind))


def shown_text(swedish: str | None, english: str | None = None) -> Markup:
    """A text from the programme file in the page's language: on the English page its English text where the file
    gives one, else the Swedish text marked ``lang="sv"`` (WCAG 3.1.2) so that it is read as Swedish."""
    if i18n.current_language() == "en":
        if english:
            return escape(english)
        if swedish:
            return Markup('<span lang="sv">%s</span>') % swedish
    return escape(swedish or "")


def _local(value: dt.datetime, timezone: str) -> dt.datetime:
    return value.astimezone(ZoneInfo(timezone))


def hhmm(value: dt.datetime | None, timezone: str = "Europe/Stockholm") -> str:
    """A time as 09.05 (Swedish) or 09:05 (English) in the event's time zone."""
    if value is None:
        return ""
    local = _local(value, timezone)
    return local.strftime("%H.%M") if i18n.current_language() == "sv" else local.strftime("%H:%M")


def long_date(value: dt.date) -> str:
    """A date spelled out in the current language (e.g. tisdag 23 mars 2021)."""
    return format_date(value, format="full", locale=i18n.current_language())


def iso(value: dt.datetime | None) -> str:
    """Machine-readable time for <time datetime> and scripts."""
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z") if value else ""


def decimal1(value: float | None) -> str:
    """A number with one decimal in the current language (Swedish 90,0; English 90.0)."""
    return "" if value is None else format_decimal(value, format="0.0", locale=i18n.current_language())


def decimal2(value: float | None) -> str:
    """A number with two decimals in the current language (Swedish 4,36; English 4.36)."""
    return "" if value is None else format_decimal(value, format="0.00", locale=i18n.current_language())


def clock(value: dt.datetime, timezone: str = "Europe/Stockholm") -> str:
    """A time with the locale's own format (for screen readers and longer text)."""
    return format_time(_local(value, timezone), format="short", locale=i18n.current_language())


class SteadyLoader(FileSystemLoader):
    """Templates from files, reloaded when a file changes, but its time looked at once a second at most: every
    push renders templates, and a stat call per render was most of a fragment's rendering time under load."""

    #: How long a template counts as up to date after its file was last looked at (seconds).
    CHECK_EVERY = 1.0

    def get_source(self, environment: Environment, template: str) -> tuple[str, str | None, Callable[[], bool] | None]:
        source, filename, uptodate = super().get_source(environment, template)
        if uptodate is None:
            return source, filename, None
        last = [time.monotonic(), True]

        def steady() -> bool:
            now = time.monotonic()
            if now - last[0] >= self.CHECK_EVERY:
                last[0], last[1] = now, uptodate()
            return bool(last[1])

        return source, filename, steady


def spaced_code(code: str | None) -> str:
    """A join code as people read it aloud and type it: six digits in two groups (123 456)."""
    code = code or ""
    return f"{code[:3]} {code[3:]}" if len(code) == 6 and code.isdigit() else code


@cache
def environment(templates_dir: Path) -> Environment:
    """The one Jinja environment for ``templates_dir``."""
    env = Environment(
        loader=SteadyLoader(str(templates_dir)),
        autoescape=select_autoescape(["html", "xml", "svg"], default_for_string=True),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=True,
    )
    env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=lambda message, **kw: i18n.gettext(message, **kw),
        ngettext=lambda s, p, n, **kw: i18n.ngettext(s, p, n, **kw),
        newstyle=False,
    )
    env.globals.update(
        current_language=i18n.current_language,
        LANGUAGES=i18n.LANGUAGES,
        LANGUAGE_NAMES=i18n.LANGUAGE_NAMES,
        kind_label=kind_label,
        poll_kind_label=poll_kind_label,
        poll_state_label=poll_state_label,
        theme_label=theme_label,
        pseudonym=pseudonym,
        shown_text=shown_text,
    )
    env.filters.update(hhmm=hhmm, long_date=long_date, iso=iso, clock=clock, decimal1=decimal1, decimal2=decimal2,
                       spaced_code=spaced_code)
    return env


def page_context(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """What a page's parts need besides their fragment's context: the CSRF field of its forms (as Litestar gives
    full pages), so that they post without JavaScript."""
    token = value_or_default(ScopeState.from_scope(request.scope).csrf_token, "")
    return {"csrf_input": Markup(f'<input type="hidden" name="_csrf_token" value="{escape(token)}" />'),
            "form_error": form_error(request)}


def render(templates_dir: Path, name: str, **context: Any) -> str:
    """Render a template outside a request (fragments for the websocket)."""
    return environment(templates_dir).get_template(name).render(**context)
