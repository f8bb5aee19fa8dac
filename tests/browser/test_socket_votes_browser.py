"""A vote through the real attendee page goes over the websocket (no HTTP POST) and shows its acknowledgement; a
vote whose frame is lost with its socket is sent again after the reconnect and counted once; with the socket
closed, and with JavaScript off, the same form is POSTed and counted. Debian's Chromium driven by Playwright.

Skipped where /usr/bin/chromium is missing, unless EHALSODAG_TEST_BROWSER=required (as in .ci/run).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from ehalsodag.db.engine import Database
from ehalsodag.db.migrate import upgrade
from ehalsodag.polls import service
from ehalsodag.polls.models import Poll
from tests.browser.conftest import skip_without_chromium
from tests.conftest import ServedApp, load_fixture, make_settings, make_staff, run_sync, start_server, stop_server

skip_without_chromium()

from playwright.sync_api import Browser, WebSocketRoute, expect  # noqa: E402

pytestmark = pytest.mark.browser

SLUG = "regional"
CONNECTED = "Liveuppdateringar på"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServedApp, str]]:
    tmp = tmp_path_factory.mktemp("socket-votes")
    settings = make_settings(tmp)
    upgrade(settings)
    run_sync(load_fixture(settings))
    token = run_sync(make_staff(settings, "admin@example.se", "admin"))
    server = start_server(settings, tmp / "server.log")
    try:
        yield server, token
    finally:
        stop_server(server)


def open_poll(server: ServedApp, staff: str) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {staff}"}
    poll_id = httpx.post(f"{server.base_url}/api/v1/events/{SLUG}/polls", headers=headers, timeout=15, json={
        "kind": "single", "question": "Hur följer ni dagen?", "options": ["Ensam", "Med kollegor"]}).json()["id"]
    assert httpx.post(f"{server.base_url}/api/v1/polls/{poll_id}/open", headers=headers, timeout=15).is_success
    return next(p for p in httpx.get(f"{server.base_url}/api/v1/events/{SLUG}/polls", timeout=15).json()
                if p["id"] == poll_id)


def counts(server: ServedApp, staff: str, poll_id: int) -> tuple[int, list[int]]:
    """The poll's number of answers and per-option counts, as the results export of the staff sees them."""
    async def read() -> tuple[int, list[int]]:
        db = Database(server.settings)
        try:
            async with db.reader() as session:
                poll = await session.get(Poll, poll_id)
                result = await service.results(session, poll)
                assert result == await service.recounted_results(session, poll)
                return result.responses, [o.count for o in result.options]
        finally:
            await db.dispose()

    return run_sync(read())


def test_a_vote_goes_over_the_socket_is_resent_after_a_lost_frame_and_falls_back_to_http(
        browser: Browser, served: tuple[ServedApp, str]):
    server, staff = served
    poll = open_poll(server, staff)
    poll_id, options = poll["id"], [o["id"] for o in poll["options"]]
    context = browser.new_context(viewport={"width": 390, "height": 900}, base_url=server.base_url)
    page = context.new_page()
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" and "/respond" in r.url else None)
    sent: list[str] = []
    routing = {"drop_next_vote": False, "close_for_good": False}
    routes: list[WebSocketRoute] = []

    def route(ws: WebSocketRoute) -> None:
        upstream = ws.connect_to_server()
        routes.append(ws)

        def from_page(message: str | bytes) -> None:
            if isinstance(message, str) and '"vote_key"' in message:
                sent.append(message)
                if routing["drop_next_vote"]:  # the frame is lost with its socket: the server never sees it
                    routing["drop_next_vote"] = False
                    ws.close(code=1012, reason="service restart")
                    return
            upstream.send(message)

        ws.on_message(from_page)

    page.route_web_socket("**/ws*", route)
    page.goto(f"/e/{SLUG}")
    page.get_by_role("button", name="Delta").click()
    connection = page.locator("#connection")
    expect(connection).to_have_text(CONNECTED, timeout=10_000)

    # over the socket: no POST, the acknowledgement in the form's status, the answer counted
    page.locator(f"#poll-{poll_id} input[value='{options[0]}']").check()
    page.locator(f"#poll-{poll_id}-send").click()
    expect(page.locator(f"#poll-{poll_id}-message")).to_contain_text("Tack, ditt svar är räknat.", timeout=10_000)
    assert posts == [] and len(sent) == 1
    assert page.evaluate("() => window.ehalsodagVotes.pending()") == []
    assert counts(server, staff, poll_id) == (1, [1, 0])

    # the frame of a changed answer is lost as the socket drops: sent again after the reconnect, counted once
    routing["drop_next_vote"] = True
    page.locator(f"#poll-{poll_id} input[value='{options[1]}']").check()
    page.locator(f"#poll-{poll_id}-send").click()
    expect(page.locator(f"#poll-{poll_id}-message")).to_contain_text("Ditt svar är ändrat.", timeout=15_000)
    assert posts == [] and len(sent) == 3 and sent[0] != sent[1] and sent[1] == sent[2]  # the resend: same key
    assert page.evaluate("() => window.ehalsodagVotes.pending()") == []
    assert counts(server, staff, poll_id) == (1, [0, 1])

    # the socket closed for good (a normal close is not reconnected): the same form is POSTed
    expect(connection).to_have_text(CONNECTED, timeout=10_000)
    routes[-1].close(code=1000, reason="bye")
    expect(connection).not_to_have_text(CONNECTED, timeout=10_000)
    page.locator(f"#poll-{poll_id}-message").evaluate("el => { el.textContent = ''; }")
    page.locator(f"#poll-{poll_id} input[value='{options[0]}']").check()
    with page.expect_response(lambda r: r.request.method == "POST" and "/respond" in r.url, timeout=10_000):
        page.locator(f"#poll-{poll_id}-send").click()
    expect(page.locator(f"#poll-{poll_id}-message")).to_contain_text("Ditt svar är ändrat.", timeout=10_000)
    assert len(posts) == 1 and len(sent) == 3
    assert counts(server, staff, poll_id) == (1, [1, 0])
    context.close()

    # without JavaScript: the plain form
    plain = browser.new_context(java_script_enabled=False, base_url=server.base_url)
    page = plain.new_page()
    page.goto(f"/e/{SLUG}")
    page.get_by_role("button", name="Delta").click()
    page.locator(f"#poll-{poll_id} input[value='{options[1]}']").check()
    with page.expect_navigation(timeout=10_000):
        page.locator(f"#poll-{poll_id}-send").click()
    expect(page).to_have_url(re.compile(f"/e/{SLUG}"))
    assert counts(server, staff, poll_id) == (2, [1, 1])
    plain.close()
