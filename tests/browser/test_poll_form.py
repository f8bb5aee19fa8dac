"""Issue 18, the cockpit's New poll card in Debian's Chromium (Playwright), one moderator page at 1366×768 for the
whole flow: every poll kind created in a row (only that kind's fields shown, the form empty again after each),
a refusal beside its field, a draft edited, a poll duplicated, an earlier question reused from the bank; the
card's controls reached and worked with the keyboard.

Skipped where /usr/bin/chromium is missing, unless EHALSODAG_TEST_BROWSER=required.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from ehalsodag.db.migrate import upgrade
from tests.browser.conftest import skip_without_chromium
from tests.conftest import (
    STAFF_PASSWORD,
    ServedApp,
    load_fixture,
    make_settings,
    make_staff,
    run_sync,
    start_server,
    stop_server,
)

skip_without_chromium()

from playwright.sync_api import Browser, Page, expect  # noqa: E402

pytestmark = pytest.mark.browser

SLUG = "regional"
MODERATOR = "mod@example.se"
WAIT = 10_000
#: Each kind, what to type into its own fields, and which of the kind fields must show.
KINDS = {
    "single": {"options": "Öst\nVäst"},
    "multiple": {"options": "Tid\nPengar\nKunskap", "max": "2"},
    "scale": {"smin": "0", "smax": "7", "slow": "Inte alls", "shigh": "Helt"},
    "wordcloud": {},
    "open_text": {},
    "ranking": {"options": "Trygghet\nTillgänglighet\nKostnad"},
}
SHOWN = {"#poll-options": ("single", "multiple", "ranking"), "#poll-max": ("multiple",), "#poll-smin": ("scale",),
         "#poll-slow": ("scale",)}


@dataclass
class Served:
    server: ServedApp
    token: str


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    tmp = tmp_path_factory.mktemp("pollform-browser")
    settings = make_settings(tmp)
    upgrade(settings)
    assert run_sync(load_fixture(settings, "regional.toml")) == SLUG
    token = run_sync(make_staff(settings, MODERATOR, "moderator", SLUG))
    server = start_server(settings, tmp / "server.log")
    try:
        yield Served(server, token)
    finally:
        stop_server(server)


def moderator(browser: Browser, served: Served) -> Page:
    page = browser.new_context(viewport={"width": 1366, "height": 768}, base_url=served.server.base_url).new_page()
    page.goto(f"/e/{SLUG}/control")
    page.get_by_label("E-postadress").fill(MODERATOR)
    page.get_by_label("Lösenord").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Logga in").click()
    expect(page).to_have_url(re.compile(f"/e/{SLUG}/control$"))
    expect(page.locator("#connection[data-state=open]")).to_be_attached(timeout=WAIT)
    page.locator("#tab-polls-tab").click()  # the cockpit's polls tab: the list and the New poll card
    return page


def item(page: Page, question: str):
    return page.locator("#mod-poll-list li.mod-poll", has=page.locator("strong", has_text=re.compile(
        "^" + re.escape(question) + "$")))


def test_every_kind_in_a_row_then_edit_duplicate_and_reuse(browser: Browser, served: Served):
    page = moderator(browser, served)
    card = page.locator("#new-poll")
    status = page.locator("#new-poll-status")
    kind = page.locator("#poll-kind")
    question = page.locator("#poll-question")

    # --- every kind in a row: only its fields show (the others disabled), the form empty again after each ------
    for n, (name, typed) in enumerate(KINDS.items()):
        text = f"Fråga {n + 1} ({name})?"
        expect(question).to_have_value("")
        expect(page.locator("#poll-options")).to_have_value("")
        kind.select_option(name)
        for selector, kinds in SHOWN.items():
            if name in kinds:
                expect(page.locator(selector)).to_be_visible()
                expect(page.locator(selector)).to_be_enabled()
            else:
                expect(page.locator(selector)).to_be_hidden()
                expect(page.locator(selector)).to_be_disabled()
        expect(card.locator(f"#poll-kind-hint [data-kinds={name}]")).to_be_visible()
        question.fill(text)
        for field, value in typed.items():
            page.locator(f"#poll-{field}").fill(value)
        if "options" in typed:
            expect(page.locator("#poll-options-count")).to_contain_text(f"{len(typed['options'].splitlines())} av")
        if n % 2:
            question.press("Enter")  # the keyboard's way to send a form
        else:
            page.locator("#poll-submit").click()
        expect(status).to_contain_text(f"Omröstningen ”{text}” är skapad (utkast).", timeout=WAIT)
        expect(item(page, text)).to_have_count(1, timeout=WAIT)
        expect(question).to_have_value("")
        expect(kind).to_have_value("single")
        expect(kind).to_be_focused()  # back at the start of the empty form
    polls = httpx.get(f"{served.server.base_url}/api/v1/events/{SLUG}/polls").json()
    made = {p["kind"]: p for p in polls if p["question"].startswith("Fråga ")}
    assert made["scale"]["options"] == [] and made["scale"]["scale_labels"] == ["Inte alls", "Helt"]
    assert made["scale"]["max_picks"] is None and made["multiple"]["max_picks"] == 2
    assert made["open_text"]["options"] == [] and made["open_text"]["scale_min"] is None
    assert [o["label"] for o in made["ranking"]["options"]] == ["Trygghet", "Tillgänglighet", "Kostnad"]

    # --- a refusal: said beside its field, what was typed kept, the focus on it --------------------------------
    kind.select_option("single")
    question.fill("Bara ett?")
    page.locator("#poll-options").fill("Ensam")
    page.locator("#poll-submit").click()  # refused before it is sent
    expect(page.locator("#poll-err-options")).to_be_visible()
    expect(page.locator("#poll-options")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#poll-options")).to_be_focused()
    expect(status.get_by_role("alert")).to_be_visible()
    kind.select_option("multiple")
    page.locator("#poll-options").fill("Ja\nNej")
    page.locator("#poll-max").fill("5")
    page.locator("#poll-submit").click()  # refused by the server: the fields come back with the error beside
    expect(page.locator("#poll-err-max_picks")).to_contain_text("Högst antal val", timeout=WAIT)
    expect(page.locator("#poll-max")).to_have_attribute("aria-invalid", "true")
    assert "poll-err-max_picks" in (page.locator("#poll-max").get_attribute("aria-describedby") or "").split()
    expect(page.locator("#poll-max")).to_be_focused()
    expect(question).to_have_value("Bara ett?")
    expect(page.locator("#poll-options")).to_have_value("Ja\nNej")
    expect(kind).to_have_value("multiple")
    page.locator("#poll-max").fill("")
    page.locator("#poll-submit").click()
    expect(status).to_contain_text("”Bara ett?” är skapad", timeout=WAIT)
    expect(page.locator("#poll-max")).not_to_have_attribute("aria-invalid", "true")

    # --- edit a draft, from the keyboard: its values in the form, saved, pushed into the list ---------------------
    scale = made["scale"]["id"]
    # the new poll's own push has reached the list (a push arriving between focus and Enter would be another test)
    expect(page.locator("#mod-poll-list li", has_text="Bara ett?")).to_have_count(1, timeout=WAIT)
    edit = page.locator(f"#mp-{scale}-edit")
    edit.focus()
    page.keyboard.press("Enter")
    expect(page.locator("#new-poll-heading")).to_have_text("Redigera omröstningen", timeout=WAIT)
    expect(question).to_have_value("Fråga 3 (scale)?")
    expect(question).to_be_focused()
    expect(kind).to_have_value("scale")
    expect(page.locator("#poll-slow")).to_have_value("Inte alls")
    expect(page.locator("#poll-smax")).to_have_value("7")
    expect(page.locator("#poll-options")).to_be_hidden()
    question.fill("Hur långt har vi kommit?")
    page.locator("#poll-smax").fill("5")
    page.locator("#poll-submit").click()
    expect(status).to_contain_text("Omröstningen ”Hur långt har vi kommit?” är sparad.", timeout=WAIT)
    expect(page.locator("#new-poll-heading")).to_have_text("Ny omröstning")
    expect(question).to_have_value("")
    expect(page.locator(f"#mp-{scale}")).to_contain_text("Hur långt har vi kommit?", timeout=WAIT)  # the push
    expect(page.locator("#mod-poll-list li.mod-poll")).to_have_count(len(KINDS) + 1)
    # Cancelling an edit brings the empty New poll form back.
    page.locator(f"#mp-{made['wordcloud']['id']}-edit").click()
    expect(question).to_have_value("Fråga 4 (wordcloud)?", timeout=WAIT)
    page.locator("#poll-cancel").click()
    expect(page.locator("#new-poll-heading")).to_have_text("Ny omröstning", timeout=WAIT)
    expect(question).to_have_value("")
    # An opened poll has no Edit any more (the push takes it away), but can still be duplicated.
    page.locator(f"#mp-{made['single']['id']}-state").click()
    expect(page.locator(f"#mp-{made['single']['id']}-edit")).to_have_count(0, timeout=WAIT)

    # --- duplicate: a new draft with the same settings, said beside the button ------------------------------------
    page.locator(f"#mp-{made['single']['id']}-duplicate").click()
    expect(item(page, "Fråga 1 (single)?")).to_have_count(2, timeout=WAIT)
    expect(page.locator(f"form:has(#mp-{made['single']['id']}-duplicate) .form-status")).to_contain_text(
        "En kopia av ”Fråga 1 (single)?” är skapad (utkast).")
    expect(item(page, "Fråga 1 (single)?").nth(1)).to_have_class(re.compile("state-draft"))

    # --- reuse from the question bank, from the keyboard: the form filled, then created -------------------------
    page.locator("#poll-bank summary").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#poll-bank-results li").first).to_be_visible(timeout=WAIT)
    page.locator("#poll-bank-q").fill("ranking")
    expect(page.locator("#poll-bank-results li")).to_have_count(1, timeout=WAIT)
    use = page.locator("#poll-bank-results a", has_text="Använd")
    use.focus()
    page.keyboard.press("Enter")
    expect(status).to_contain_text("Formuläret är ifyllt från ”Fråga 6 (ranking)?”", timeout=WAIT)
    expect(kind).to_have_value("ranking")
    expect(page.locator("#poll-options")).to_have_value("Trygghet\nTillgänglighet\nKostnad")
    expect(question).to_be_focused()
    question.fill("Rangordna igen?")
    page.keyboard.press("Enter")
    expect(status).to_contain_text("”Rangordna igen?” är skapad (utkast).", timeout=WAIT)
    expect(item(page, "Rangordna igen?")).to_have_count(1, timeout=WAIT)
    expect(page.locator("#control-message")).to_be_empty()
    page.context.close()
