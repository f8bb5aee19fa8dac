"""Issue 18, "The attendee's phone", in Debian's Chromium at 390×844 on one served app: joining by code on / and
/kod, the open-poll and open-evaluation signal (seen and said without losing a half-typed question), the
character counters, editing and withdrawing one's own question, a written reply appearing under it, and an
answered question moving to the "Answered" tab.

Skipped where /usr/bin/chromium is missing, unless EHALSODAG_TEST_BROWSER=required.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from ehalsodag.chat.service import MAX_MESSAGE
from ehalsodag.db.migrate import upgrade
from ehalsodag.qa.service import MAX_QUESTION
from tests.browser.conftest import skip_without_chromium
from tests.conftest import load_fixture, make_settings, make_staff, run_sync, start_server, stop_server

skip_without_chromium()

from playwright.sync_api import Browser, Page, expect  # noqa: E402

pytestmark = pytest.mark.browser

SLUG = "regional"
CONNECTED = "Liveuppdateringar på"
PHONE = {"width": 390, "height": 844}


class Site:
    """The module's server, an admin's token and an HTTP client for the staff's side of each flow."""

    def __init__(self, server: Any, token: str) -> None:
        self.server = server
        self.http = httpx.Client(base_url=server.base_url, timeout=15,
                                 headers={"Authorization": f"Bearer {token}"})

    def api(self, method: str, path: str, **body: Any) -> Any:
        response = self.http.request(method, f"/api/v1{path}", json=body or None)
        assert response.status_code in (200, 201), f"{method} {path}: {response.status_code} {response.text[:300]}"
        return response.json()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    tmp = tmp_path_factory.mktemp("phone-browser")
    settings = make_settings(tmp)
    upgrade(settings)
    assert run_sync(load_fixture(settings, "regional.toml")) == SLUG
    token = run_sync(make_staff(settings, "admin@example.se", "admin"))
    server = start_server(settings, tmp / "server.log")
    state = Site(server, token)
    state.api("POST", f"/events/{SLUG}/settings", premoderation=False, chat_enabled=True)
    try:
        yield state
    finally:
        state.http.close()
        stop_server(server)


def phone(browser: Browser, site: Site) -> Page:
    return browser.new_context(viewport=PHONE, base_url=site.server.base_url).new_page()


def test_joining_by_code_on_the_home_page_and_at_kod(browser: Browser, site: Site):
    code = site.api("GET", f"/events/{SLUG}")["join_code"]
    page = phone(browser, site)
    page.goto("/")
    field = page.get_by_label("Delta med en kod")
    expect(field).to_be_visible()
    field.fill(f"{code[:3]} {code[3:]}")
    field.press("Enter")
    expect(page).to_have_url(re.compile(f"/e/{SLUG}$"))
    page.goto("/kod")
    field = page.get_by_label("Delta med en kod")
    field.fill("999-999")
    page.get_by_role("button", name="Delta").click()
    expect(page.locator("#join-code-error")).to_contain_text("Inget evenemang har den koden")
    field = page.get_by_label("Delta med en kod")
    expect(field).to_have_value("999-999")  # what was typed stays, the error is tied to the field
    expect(field).to_have_attribute("aria-invalid", "true")
    assert "join-code-error" in (field.get_attribute("aria-describedby") or "")
    field.fill(f"{code[:3]}-{code[3:]}")
    field.press("Enter")
    expect(page).to_have_url(re.compile(f"/e/{SLUG}$"))
    page.get_by_role("button", name="Delta").click()
    expect(page.locator(".join-code-big")).to_have_text(f"{code[:3]} {code[3:]}")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.context.close()


def ask_own_question(page: Page, text: str) -> str:
    page.locator("#question-text").fill(text)
    page.locator("form.ask-form button[type=submit]").click()
    own = page.locator("#my-questions li.my-question", has_text=text)
    expect(own).to_be_visible(timeout=8000)
    return (own.get_attribute("id") or "").removeprefix("myq-")


def test_an_edit_box_is_never_written_into_once_the_person_types(browser: Browser, site: Site):
    """The pushed edit box is filled with the words to correct when it opens. Typing straight after opening it
    (in the same task as the click, before "toggle" is dispatched) must replace those words, never be appended to
    them: the fill happens as the summary is activated, and never into a focused field."""
    page = phone(browser, site)
    page.goto(f"/e/{SLUG}")
    page.get_by_role("button", name="Delta").click()
    expect(page.locator("#connection")).to_have_text(CONNECTED, timeout=8000)
    for attempt in range(3):
        original = f"Vem äger journalen ({attempt})?"
        corrected = f"Vem äger patientjournalen ({attempt})?"
        qid = ask_own_question(page, original)
        field = page.locator(f"#myq-{qid}-field")
        expect(field).to_have_value("")  # the pushed box starts empty
        page.evaluate("""id => {
            document.getElementById(`myq-${id}-edit-summary`).click();
            const field = document.getElementById(`myq-${id}-field`);
            field.focus();
            field.select();
        }""", qid)
        page.keyboard.insert_text(corrected)
        page.evaluate("() => new Promise(done => setTimeout(done, 50))")  # any queued toggle has run
        expect(field).to_have_value(corrected)
        page.locator(f"#myq-{qid}-edit button[type=submit]").click()
        expect(page.locator(f"#q-{qid}-text")).to_have_text(corrected, timeout=8000)
        expect(page.locator(f"#myq-{qid}-text")).to_have_text(corrected)
    # opened without typing, the box holds the words to correct
    qid = ask_own_question(page, "Hur delar vi bilder säkert?")
    page.locator(f"#myq-{qid}-edit-summary").press("Enter")
    expect(page.locator(f"#myq-{qid}-field")).to_have_value("Hur delar vi bilder säkert?")
    expect(page.locator(f"#myq-{qid}-field-counter")).to_have_text(f"{MAX_QUESTION - 27} tecken kvar")
    page.context.close()


def test_the_attendees_phone_signals_counts_edits_withdraws_and_shows_replies(browser: Browser, site: Site):
    page = phone(browser, site)
    page.goto(f"/e/{SLUG}")
    page.get_by_role("button", name="Delta").click()
    expect(page.locator("#connection")).to_have_text(CONNECTED, timeout=8000)
    question = page.locator("#question-text")
    counter = page.locator("#question-text-counter")
    expect(counter).to_have_text(f"{MAX_QUESTION} tecken kvar")
    expect(page.locator("#chat-text-counter")).to_have_text(f"{MAX_MESSAGE} tecken kvar")

    # counters: current while typing, said aloud only near the limit
    question.fill("Hur")
    expect(counter).to_have_text(f"{MAX_QUESTION - 3} tecken kvar")
    expect(page.locator("#counter-announcer")).to_have_count(0)
    question.fill("x" * (MAX_QUESTION - 30))
    expect(counter).to_have_text("30 tecken kvar")
    expect(page.locator("#counter-announcer")).to_have_text("30 tecken kvar")
    assert "near-limit" in (counter.get_attribute("class") or "")

    # ask, then edit one's own question while nobody has upvoted it
    question.fill("Hur når vi de som inte är digitala?")
    page.locator("form.ask-form button[type=submit]").click()
    own = page.locator("#my-questions li.my-question").first
    expect(own).to_be_visible(timeout=8000)
    expect(counter).to_have_text(f"{MAX_QUESTION} tecken kvar")  # the form was reset, and its counter with it
    qid = own.get_attribute("id").removeprefix("myq-")
    page.locator(f"#myq-{qid}-edit-summary").click()
    page.locator(f"#myq-{qid}-field").fill("Hur når vi dem som inte är digitala?")
    page.locator(f"#myq-{qid}-edit button[type=submit]").click()
    expect(page.locator(f"#q-{qid}-text")).to_have_text("Hur når vi dem som inte är digitala?", timeout=8000)
    expect(page.locator(f"#myq-{qid}-text")).to_have_text("Hur når vi dem som inte är digitala?")

    # a written reply appears under the question, pushed
    site.api("POST", f"/questions/{qid}/reply", text="Genom ombud och telefon – mer i block 3.")
    expect(page.locator(f"#q-{qid} .question-reply")).to_contain_text("Genom ombud och telefon", timeout=8000)
    expect(page.locator(f"#myq-{qid}-edit")).to_have_count(0)  # replied to: its words stay

    # answered: it leaves the open questions and shows under "Besvarade"
    site.api("POST", f"/questions/{qid}/moderate", action="answer")
    expect(page.locator(f"#q-{qid}")).to_be_hidden(timeout=8000)
    page.get_by_role("button", name="Besvarade").click()
    expect(page.locator(f"#q-{qid}")).to_be_visible()
    expect(page.get_by_role("button", name="Besvarade")).to_have_attribute("aria-pressed", "true")
    page.get_by_role("button", name="Flest röster").click()
    expect(page.locator(f"#q-{qid}")).to_be_hidden()

    # withdraw one's own question: gone from every list
    question.fill("Fel fråga, tar tillbaka")
    page.locator("form.ask-form button[type=submit]").click()
    second = page.locator("#my-questions li.my-question", has_text="Fel fråga")
    expect(second).to_be_visible(timeout=8000)
    second_id = second.get_attribute("id").removeprefix("myq-")
    expect(page.locator(f"#q-{second_id}")).to_be_visible(timeout=8000)
    page.locator(f"#myq-{second_id}-withdraw").click()
    expect(page.locator(f"#myq-{second_id}")).to_have_count(0, timeout=8000)
    expect(page.locator(f"#q-{second_id}")).to_have_count(0)

    # a poll opens while a question is half typed: seen and said, the typing and the focus stay
    question.fill("Halvskriven fråga om")
    question.focus()
    poll = site.api("POST", f"/events/{SLUG}/polls", kind="single", question="Var arbetar du?",
                    options=["Region", "Kommun"])["id"]
    site.api("POST", f"/polls/{poll}/open")
    signal = page.locator(f"#sig-poll-{poll} a")
    expect(signal).to_be_visible(timeout=8000)
    expect(signal).to_contain_text("Ny omröstning")
    expect(page.locator("#live-announcer")).to_contain_text("Ny omröstning: Var arbetar du?")
    expect(question).to_have_value("Halvskriven fråga om")
    assert page.evaluate("document.activeElement.id") == "question-text"
    assert signal.bounding_box()["y"] >= 0  # sticky: on screen wherever the reader is
    # the signal leads to the poll; answering takes it away
    signal.click()
    page.locator(f"#poll-{poll} input[type=radio]").first.check()
    page.locator(f"#poll-{poll}-send").click()
    expect(page.locator(f"#sig-poll-{poll}")).to_have_count(0, timeout=8000)
    expect(question).to_have_value("Halvskriven fråga om")

    # the evaluation opens: its signal, present after a reload too
    site.api("POST", f"/events/{SLUG}/evaluation/open", minutes=30)
    expect(page.locator("#evaluation-signal a")).to_be_visible(timeout=8000)
    page.reload()
    expect(page.locator("#evaluation-signal a")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.context.close()
