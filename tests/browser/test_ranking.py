"""Issue 18, the attendee's phone: a ranking poll is ordered by dragging (mouse, touch) or with the keyboard alone,
and nothing counts until the attendee has ordered it. In Debian's Chromium on one served app, at 390 px.

Skipped where /usr/bin/chromium is missing, unless EHALSODAG_TEST_BROWSER=required.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from ehalsodag.db.migrate import upgrade
from tests.browser.conftest import skip_without_chromium
from tests.conftest import ServedApp, load_fixture, make_settings, make_staff, run_sync, start_server, stop_server

skip_without_chromium()

from playwright.sync_api import Browser, Locator, Page, expect  # noqa: E402

pytestmark = pytest.mark.browser

SLUG = "regional"
OPTIONS = ["Journal", "Recept", "Tidbok", "Vårdpersonal"]
REFUSED = "Ordna alternativen först"


@dataclass
class Served:
    server: ServedApp
    staff: dict[str, str]
    http: httpx.Client

    def api(self, method: str, path: str, json: Any = None) -> Any:
        response = self.http.request(method, self.server.base_url + path, json=json, headers=self.staff)
        assert response.status_code < 400, response.text
        return response.json() if response.content else None

    def ranking(self, question: str, results: str = "live") -> int:
        poll_id = self.api("POST", f"/api/v1/events/{SLUG}/polls",
                           {"kind": "ranking", "question": question, "options": OPTIONS, "results": results})["id"]
        self.api("POST", f"/api/v1/polls/{poll_id}/open")
        return poll_id


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    tmp = tmp_path_factory.mktemp("ranking")
    settings = make_settings(tmp)
    upgrade(settings)
    run_sync(load_fixture(settings, "regional.toml"))
    token = run_sync(make_staff(settings, "admin@example.se", "admin"))
    state = Served(start_server(settings, tmp / "server.log"), {"Authorization": f"Bearer {token}"},
                   httpx.Client(timeout=15))
    try:
        yield state
    finally:
        state.http.close()
        stop_server(state.server)


def phone(browser: Browser, served: Served, **context: Any) -> Page:
    page = browser.new_context(viewport={"width": 390, "height": 844}, base_url=served.server.base_url,
                               **context).new_page()
    page.goto(f"/e/{SLUG}")
    page.get_by_role("button", name="Delta").click()
    if context.get("java_script_enabled", True):
        expect(page.locator("#connection[data-state=open]")).to_be_attached(timeout=10000)
    return page


def order_of(poll: Locator) -> list[str]:
    return poll.locator(".rank-item .rank-label").all_inner_texts()


def my_answers(page: Page) -> str:
    mine = page.context.new_page()
    mine.goto(f"/e/{SLUG}/me")
    text = mine.locator("section[aria-labelledby=me-polls]").inner_text()
    mine.close()
    return text


def send(poll: Locator) -> None:
    poll.get_by_role("button", name="Skicka svaret").click()


def centre(locator: Locator) -> tuple[float, float]:
    box = locator.bounding_box()
    assert box is not None
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def test_dragging_with_the_mouse_orders_and_an_untouched_list_is_refused(browser: Browser, served: Served):
    question = "Rangordna med musen"
    served.ranking(question)
    page = phone(browser, served)
    poll = page.locator("article", has_text=question)
    expect(poll.locator(".rank-item")).to_have_count(4, timeout=10000)
    assert order_of(poll) == OPTIONS
    assert poll.locator("select[name=ranking]").first.is_hidden()
    # Untouched: the send button says why and nothing is counted. (It is aria-disabled, so Playwright would wait.)
    poll.get_by_role("button", name="Skicka svaret").click(force=True)
    expect(poll.locator(".poll-message")).to_contain_text(REFUSED)
    assert poll.get_by_role("button", name="Skicka svaret").get_attribute("aria-disabled") == "true"
    assert question not in my_answers(page)
    # Drag "Vårdpersonal" (last) to the top with the mouse, in small steps.
    x, y = centre(poll.locator(".rank-item", has_text="Vårdpersonal").locator(".rank-label"))
    _, top = centre(poll.locator(".rank-item").first)
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x, top - 10, steps=15)
    page.mouse.up()
    assert order_of(poll) == ["Vårdpersonal", "Journal", "Recept", "Tidbok"]
    expect(poll.locator(".rank-live")).to_have_text("Vårdpersonal, plats 1 av 4")
    expect(poll.locator(".poll-message")).not_to_contain_text(REFUSED)
    send(poll)
    expect(poll.locator(".poll-message")).to_contain_text("Tack, ditt svar är räknat.", timeout=10000)
    assert "1. Vårdpersonal, 2. Journal, 3. Recept, 4. Tidbok" in my_answers(page)
    # The form the server sends back with the stored answer shows that order, ready to change.
    expect(poll.get_by_role("button", name="Ändra svaret")).to_be_visible(timeout=10000)
    expect(poll.locator(".rank-item")).to_have_count(4)
    assert order_of(poll) == ["Vårdpersonal", "Journal", "Recept", "Tidbok"]
    assert poll.get_by_role("button", name="Ändra svaret").get_attribute("aria-disabled") is None
    page.context.close()


def test_dragging_by_touch_on_the_grip_orders_the_list(browser: Browser, served: Served):
    question = "Rangordna med fingret"
    served.ranking(question)
    page = phone(browser, served, has_touch=True, is_mobile=True)
    poll = page.locator("article", has_text=question)
    expect(poll.locator(".rank-item")).to_have_count(4, timeout=10000)
    # Real touch input through the DevTools protocol: Chromium makes touch pointer events of it.
    cdp = page.context.new_cdp_session(page)
    poll.locator(".rank-item").first.scroll_into_view_if_needed()
    x, y = centre(poll.locator(".rank-item", has_text="Journal").locator(".rank-grip"))
    _, third = centre(poll.locator(".rank-item", has_text="Tidbok"))
    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": x, "y": y}]})
    steps = 12
    for i in range(1, steps + 1):
        cdp.send("Input.dispatchTouchEvent", {"type": "touchMove",
                                              "touchPoints": [{"x": x, "y": y + (third + 12 - y) * i / steps}]})
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    expect(poll.locator(".rank-item .rank-label").first).to_have_text("Recept")
    assert order_of(poll) == ["Recept", "Tidbok", "Journal", "Vårdpersonal"]
    send(poll)
    expect(poll.locator(".poll-message")).to_contain_text("Tack, ditt svar är räknat.", timeout=10000)
    assert "1. Recept, 2. Tidbok, 3. Journal, 4. Vårdpersonal" in my_answers(page)
    page.context.close()


def test_the_keyboard_alone_orders_announces_and_sends(browser: Browser, served: Served):
    question = "Rangordna med tangentbordet"
    served.ranking(question)
    page = phone(browser, served)
    poll = page.locator("article", has_text=question)
    expect(poll.locator(".rank-item")).to_have_count(4, timeout=10000)

    def tab_to(name: str) -> None:
        for _ in range(120):
            page.keyboard.press("Tab")
            if page.evaluate("""([name, question]) => {
                    const el = document.activeElement, article = el.closest('article');
                    return (el.textContent || '').includes(name) && !!article && article.textContent.includes(question);
                }""", [name, question]):
                assert page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle") != "none"
                return
        raise AssertionError(f"could not reach {name!r} with Tab")

    tab_to("Flytta ned: Journal")
    page.keyboard.press("Enter")
    page.keyboard.press("Enter")  # the focus stayed on Journal's button, which moved with it
    expect(poll.locator(".rank-live")).to_have_text("Journal, plats 3 av 4")
    assert order_of(poll) == ["Recept", "Tidbok", "Journal", "Vårdpersonal"]
    page.keyboard.press("Space")
    expect(poll.locator(".rank-live")).to_have_text("Journal, plats 4 av 4")
    page.keyboard.press("Enter")  # already last: nothing moves
    assert order_of(poll) == ["Recept", "Tidbok", "Vårdpersonal", "Journal"]
    assert poll.get_by_role("button", name="Flytta ned: Journal").get_attribute("aria-disabled") == "true"
    tab_to("Skicka svaret")
    page.keyboard.press("Enter")
    expect(poll.locator(".poll-message")).to_contain_text("Tack, ditt svar är räknat.", timeout=10000)
    assert "1. Recept, 2. Tidbok, 3. Vårdpersonal, 4. Journal" in my_answers(page)
    page.context.close()


def test_agreeing_with_the_shown_order_is_a_vote_but_only_when_said(browser: Browser, served: Served):
    question = "Rangordna som den står"
    served.ranking(question)
    page = phone(browser, served)
    poll = page.locator("article", has_text=question)
    expect(poll.locator(".rank-item")).to_have_count(4, timeout=10000)
    poll.get_by_role("button", name="Skicka svaret").focus()  # the send button refuses from the keyboard too
    page.keyboard.press("Enter")
    expect(poll.locator(".poll-message [role=alert]")).to_contain_text(REFUSED)
    ok = poll.get_by_role("button", name="Jag är nöjd med ordningen")
    assert ok.get_attribute("aria-pressed") == "false"
    ok.click()
    assert ok.get_attribute("aria-pressed") == "true"
    send(poll)
    expect(poll.locator(".poll-message")).to_contain_text("Tack, ditt svar är räknat.", timeout=10000)
    assert "1. Journal, 2. Recept, 3. Tidbok, 4. Vårdpersonal" in my_answers(page)
    page.context.close()


def test_a_push_never_resets_the_order_being_made(browser: Browser, served: Served):
    question = "Rangordna under liveuppdateringar"
    poll_id = served.ranking(question)
    page = phone(browser, served)
    poll = page.locator("article", has_text=question)
    expect(poll.locator(".rank-item")).to_have_count(4, timeout=10000)
    poll.get_by_role("button", name="Flytta upp: Tidbok").click()
    poll.get_by_role("button", name="Flytta upp: Tidbok").click()
    assert order_of(poll) == ["Tidbok", "Journal", "Recept", "Vårdpersonal"]
    # Another attendee answers (the results are pushed), another poll opens, the results are hidden and shown.
    other = served.http.post(f"{served.server.base_url}/api/v1/events/{SLUG}/join", json={}).json()["attendee_token"]
    ids = [o["id"] for p in served.api("GET", f"/api/v1/events/{SLUG}/polls") if p["id"] == poll_id
           for o in p["options"]]
    served.http.post(f"{served.server.base_url}/api/v1/polls/{poll_id}/responses",
                     headers={"Authorization": f"Bearer {other}"}, json={"ranking": ids[::-1]})
    expect(poll.locator(".poll-results")).to_contain_text("1 svar", timeout=10000)
    served.ranking("En annan omröstning under tiden")
    expect(page.locator("article", has_text="En annan omröstning under tiden")).to_be_visible(timeout=10000)
    served.api("POST", f"/api/v1/polls/{poll_id}/hide_results")
    served.api("POST", f"/api/v1/polls/{poll_id}/reveal")
    expect(poll.locator(".poll-results")).to_contain_text("1 svar", timeout=10000)
    assert order_of(poll) == ["Tidbok", "Journal", "Recept", "Vårdpersonal"]
    assert poll.get_by_role("button", name="Jag är nöjd med ordningen").get_attribute("aria-pressed") == "true"
    send(poll)
    expect(poll.locator(".poll-message")).to_contain_text("Tack, ditt svar är räknat.", timeout=10000)
    assert "1. Tidbok, 2. Journal, 3. Recept, 4. Vårdpersonal" in my_answers(page)
    page.context.close()


def test_without_javascript_empty_drop_downs_refuse_an_untouched_or_duplicate_ranking(browser: Browser,
                                                                                      served: Served):
    question = "Rangordna utan JavaScript"
    served.ranking(question)
    page = phone(browser, served, java_script_enabled=False)
    poll = page.locator("article", has_text=question)
    for place in range(1, 5):
        expect(poll.get_by_label(f"Plats {place}", exact=True)).to_have_value("")
    send(poll)
    poll = page.locator("article", has_text=question)
    expect(poll.locator(".poll-message")).to_contain_text("Rangordna varje alternativ exakt en gång.")
    expect(poll.locator("fieldset")).to_have_attribute("aria-invalid", "true")
    for place, label in enumerate(["Tidbok", "Tidbok", "Journal", "Recept"], start=1):
        poll.get_by_label(f"Plats {place}", exact=True).select_option(label=label)
    send(poll)
    poll = page.locator("article", has_text=question)
    expect(poll.locator(".poll-message")).to_contain_text("Rangordna varje alternativ exakt en gång.")
    assert question not in my_answers(page)
    for place, label in enumerate(["Tidbok", "Vårdpersonal", "Journal", "Recept"], start=1):
        poll.get_by_label(f"Plats {place}", exact=True).select_option(label=label)
    send(poll)
    assert "1. Tidbok, 2. Vårdpersonal, 3. Journal, 4. Recept" in my_answers(page)
    page.context.close()
