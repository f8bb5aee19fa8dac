"""Without JavaScript a refused form of the attendee page comes back to that page with its error and its text
(issue 18, broken 6); every other refused form keeps the error page."""

from __future__ import annotations

from typing import Any

import pytest
from litestar import Request
from litestar.utils.scope.state import ScopeState

from ehalsodag.web.flash import FORM_ERROR_COOKIE, back_to_form, form_error


def request(path: str, referer: str, body: bytes = b"text=Hall%C3%A5+d%C3%A4r&_csrf_token=x",
            cookie: str | None = None) -> Request[Any, Any, Any]:
    headers = [(b"host", b"dag.example.se"), (b"referer", referer.encode()),
               (b"content-type", b"application/x-www-form-urlencoded")]
    if cookie:
        headers.append((b"cookie", cookie.encode()))
    scope = {"type": "http", "method": "POST", "path": path, "raw_path": path.encode(), "query_string": b"",
             "headers": headers, "scheme": "http", "server": ("dag.example.se", 80), "root_path": "",
             "app": None, "state": {}}
    req: Request[Any, Any, Any] = Request(scope)  # type: ignore[arg-type]
    ScopeState.from_scope(scope).body = body
    return req


@pytest.mark.parametrize(("path", "anchor"), [("/e/dag/questions", "qa"), ("/e/dag/chat", "chat"),
                                              ("/e/dag/polls/7/respond", "poll-7")])
def test_the_attendee_pages_forms_come_back_with_error_and_text(path: str, anchor: str):
    response = back_to_form(request(path, "http://dag.example.se/e/dag"), 429, "Du skriver snabbt")
    assert response is not None and response.status_code == 303
    assert response.url == f"/e/dag#{anchor}"
    cookie = next(c for c in response.cookies if c.key == FORM_ERROR_COOKIE)
    carried = form_error(request("/e/dag", "", cookie=f"{FORM_ERROR_COOKIE}={cookie.value}"))
    assert carried == {"action": path, "message": "Du skriver snabbt", "typed": {"text": "Hallå där"}}


@pytest.mark.parametrize(("path", "referer", "status"), [
    ("/e/dag/control/polls", "http://dag.example.se/e/dag/control", 422),  # the control panel: the error page
    ("/e/dag/questions", "http://other.example/e/dag", 422),  # another site
    ("/e/dag/questions", "http://dag.example.se/e/dag", 401),  # not joined: the error page says so
    ("/e/dag/questions", "http://dag.example.se/e/dag", 500),
    ("/e/dag/me/delete", "http://dag.example.se/e/dag/me", 422),
])
def test_other_refusals_keep_the_error_page(path: str, referer: str, status: int):
    assert back_to_form(request(path, referer), status, "Fel") is None


def test_a_forged_or_broken_cookie_is_ignored():
    assert form_error(request("/e/dag", "", cookie=f"{FORM_ERROR_COOKIE}=%%%notbase64")) is None
