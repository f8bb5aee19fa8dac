"""Without JavaScript, a refused form comes back to the page it was sent from, with the error beside its field and
what was typed still in it (never a bare error page).

The error and the typed text travel in a short-lived cookie (one minute, HttpOnly, this browser only); the page
that sent the form reads it (:func:`form_error`) and deletes it (:func:`forget_form_error`).
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from litestar import Request
from litestar.datastructures import Cookie
from litestar.response import Redirect
from litestar.utils.empty import value_or_default
from litestar.utils.scope.state import ScopeState

FORM_ERROR_COOKIE = "ehd_form_error"
#: The typed fields that come back (never the CSRF token or a password).
KEPT_FIELDS = ("text", "name")
MAX_COOKIE = 3800
#: The attendee page, the one page whose forms show a carried error.
_EVENT_PAGE = re.compile(r"^/e/[^/]+/?$")
#: The forms it shows one for, and where the page scrolls to for each (its section's id).
_ANCHORS = ((re.compile(r"/questions$"), "qa"), (re.compile(r"/chat$"), "chat"),
            (re.compile(r"/questions/(\d+)/edit$"), "myq-{0}"), (re.compile(r"/questions/\d+/withdraw$"), "qa"),
            (re.compile(r"/polls/(\d+)/respond$"), "poll-{0}"))


def _encode(payload: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload, ensure_ascii=False).encode()).decode()


def _sent_form(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """The form the request sent, as far as it was read (the parsed form, else the received body)."""
    state = ScopeState.from_scope(request.scope)
    form = value_or_default(state.form, None)
    if isinstance(form, dict) and form:
        return form
    body = value_or_default(state.body, b"")
    if isinstance(body, bytes) and body and "x-www-form-urlencoded" in request.headers.get("content-type", ""):
        return dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    return {}


def back_to_form(request: Request[Any, Any, Any], status: int, detail: str) -> Redirect | None:
    """For a refused form sent without JavaScript from one of the event's pages: a redirect back to that page,
    carrying the error and the typed text; None where that does not apply (API, htmx, other origin)."""
    if request.method != "POST" or not 400 <= status < 500 or status in (401, 403):
        return None
    referer = urlsplit(request.headers.get("referer", ""))
    if referer.netloc != request.url.netloc or not _EVENT_PAGE.match(referer.path):
        return None
    anchor = next((name.format(*m.groups()) for pattern, name in _ANCHORS if (m := pattern.search(request.url.path))),
                  None)
    if anchor is None or not request.url.path.startswith(referer.path.rstrip("/") + "/"):
        return None  # only the attendee page's own forms show a carried error; others keep the error page
    form = _sent_form(request)
    values = {k: v for k, v in form.items() if k in KEPT_FIELDS and isinstance(v, str)}
    payload = {"action": request.url.path, "message": str(detail), "typed": values}
    value = _encode(payload)
    if len(value) > MAX_COOKIE:
        value = _encode({**payload, "typed": {}})
    target = referer.path + (f"?{referer.query}" if referer.query else "") + f"#{anchor}"
    response = Redirect(target, status_code=303)
    response.set_cookie(Cookie(key=FORM_ERROR_COOKIE, value=value, max_age=60, httponly=True, samesite="lax",
                               path="/e/", secure=request.url.scheme == "https"))
    return response


def form_error(request: Request[Any, Any, Any]) -> dict[str, Any] | None:
    """The refused form's ``{action, message, typed}`` this browser carries, if any."""
    raw = request.cookies.get(FORM_ERROR_COOKIE)
    if not raw:
        return None
    try:
        payload = json.loads(base64.urlsafe_b64decode(raw.encode()).decode())
    except (ValueError, UnicodeError):
        return None
    if not isinstance(payload, dict) or not isinstance(payload.get("action"), str):
        return None
    values = payload.get("typed") if isinstance(payload.get("typed"), dict) else {}
    return {"action": payload["action"], "message": str(payload.get("message", "")),
            "typed": {k: v for k, v in values.items() if k in KEPT_FIELDS and isinstance(v, str)}}


def forget_form_error() -> Cookie:
    """The cookie that deletes the carried error once its page has shown it."""
    return Cookie(key=FORM_ERROR_COOKIE, value="", max_age=0, httponly=True, samesite="lax", path="/e/")
