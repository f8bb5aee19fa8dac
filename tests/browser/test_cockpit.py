"""Issue 18, "The moderator's cockpit": the control panel as a moderator works it, in Debian's Chromium (Playwright)
on one served app: one screen at 1366×768 (no page scroll, tabs by keyboard, question search, bulk approve that
keeps its selection through pushes, feedback in the card of the button pressed), the keyboard shortcuts used by
keyboard alone, a phone at 390×844, and the page without JavaScript.

Skipped where /usr/bin/chromium is missing, unless EHALSODAG_TEST_BROWSER=required.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

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

from playwright.sync_api import Browser, Locator, Page, expect  # noqa: E402

pytestmark = pytest.mark.browser

SLUG = "regional"
ADMIN = "admin@example.se"
CONNECTED = "Liveuppdateringar på"
#: How long a push may take on a loaded machine (we assert on states, not on speed).
PUSH = 8000


@dataclass
class Served:
    """The module's server, its admin's bearer token and the event's blocks."""

    server: ServedApp
    staff_token: str
    http: httpx.Client
    blocks: list[dict[str, Any]]

    @property
    def base_url(self) -> str:
        return self.server.base_url

    def api(self, method: str, path: str, *, token: str | None = None, json: Any = None,
            ok: tuple[int, ...] = (200, 201)) -> Any:
        headers = {"Authorization": f"Bearer {token or self.staff_token}"}
        response = self.http.request(method, self.base_url + path, json=json, headers=headers)
        assert response.status_code in ok, f"{method} {path}: {response.status_code} {response.text[:500]}"
        return response.json() if response.content else None

    def join(self) -> str:
        response = self.http.post(f"{self.base_url}/api/v1/events/{SLUG}/join", json={})
        return response.json()["attendee_token"]

    def ask(self, text: str, token: str | None = None) -> int:
        """Ask as ``token`` (default: a newcomer: the rate limit counts per attendee)."""
        token = token or self.join()
        return self.api("POST", f"/api/v1/events/{SLUG}/questions", token=token, json={"text": text})["id"]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    tmp = tmp_path_factory.mktemp("cockpit")
    settings = make_settings(tmp)
    upgrade(settings)
    assert run_sync(load_fixture(settings, "regional.toml")) == SLUG
    token = run_sync(make_staff(settings, ADMIN, "admin"))
    http = httpx.Client(timeout=15)
    state = Served(start_server(settings, tmp / "server.log"), token, http, [])
    state.blocks = state.api("GET", f"/api/v1/events/{SLUG}")["blocks"]
    state.api("POST", f"/api/v1/events/{SLUG}/settings", json={"premoderation": True, "chat_enabled": True})
    try:
        yield state
    finally:
        http.close()
        stop_server(state.server)


def cockpit(browser: Browser, served: Served, width: int = 1366, height: int = 768, **context: Any) -> Page:
    page = browser.new_context(viewport={"width": width, "height": height}, base_url=served.base_url,
                               **context).new_page()
    page.goto(f"/e/{SLUG}/control")
    page.get_by_label("E-postadress").fill(ADMIN)
    page.get_by_label("Lösenord").fill(STAFF_PASSWORD)
    page.get_by_label("Lösenord").press("Enter")
    expect(page).to_have_url(re.compile(f"/e/{SLUG}/control$"))
    if context.get("java_script_enabled", True):
        expect(page.locator("#connection")).to_have_text(CONNECTED, timeout=PUSH)
    return page


def document_scroll(page: Page) -> dict[str, int]:
    return page.evaluate("""() => ({down: document.documentElement.scrollHeight - window.innerHeight,
                                    sideways: document.documentElement.scrollWidth - window.innerWidth})""")


def tab(page: Page, name: str) -> Locator:
    return page.get_by_role("tab", name=re.compile("^" + re.escape(name)))


def count(page: Page, view: str) -> Locator:
    return page.locator(f"#mod-count-{view}")


def gap(a: Locator, b: Locator) -> float:
    """The distance in px between two elements' boxes (0 when they touch or overlap)."""
    box_a, box_b = a.bounding_box(), b.bounding_box()
    assert box_a and box_b
    dx = max(box_a["x"] - (box_b["x"] + box_b["width"]), box_b["x"] - (box_a["x"] + box_a["width"]), 0)
    dy = max(box_a["y"] - (box_b["y"] + box_b["height"]), box_b["y"] - (box_a["y"] + box_a["height"]), 0)
    return max(dx, dy)


def card_of(page: Page, button: Locator) -> Locator:
    """The card (status region's owner) that holds ``button``, marked so that a locator can find it again. A push
    may swap the button just then: try again on its successor."""
    for _attempt in range(20):
        marked = button.evaluate("""(el) => {
            const card = el.isConnected ? el.closest("[data-status-card], .mod-section, .card") : null;
            if (!card) return false;
            document.querySelectorAll("[data-test-card]").forEach((c) => c.removeAttribute("data-test-card"));
            card.setAttribute("data-test-card", "");
            return true;
        }""")
        if marked:
            return page.locator("[data-test-card]")
        page.wait_for_timeout(100)
    raise AssertionError("the button is in no card")


def test_the_common_work_fits_one_screen_and_its_tabs_work_by_keyboard(browser: Browser, served: Served):
    for i in range(30):  # enough to overflow the list: it scrolls inside its panel, never the page
        served.ask(f"Fråga nummer {i + 1} om journalen och vården")
    page = cockpit(browser, served)
    expect(count(page, "pending")).to_have_text("30", timeout=PUSH)
    tabs = page.get_by_role("tablist", name="Kontrollpanelens delar").get_by_role("tab")
    expect(tabs).to_have_text(["Frågor", "Omröstningar", "Chatt", "Utvärdering", "Mer"])
    # one screen: for every tab, the document does not scroll; the long list scrolls inside its own panel
    for name in ("Frågor", "Omröstningar", "Chatt", "Utvärdering", "Mer"):
        tab(page, name).click()
        expect(tab(page, name)).to_have_attribute("aria-selected", "true")
        assert document_scroll(page) == {"down": 0, "sideways": 0}, name
    tab(page, "Frågor").click()
    pending = page.locator("#mod-view-pending")
    expect(pending).to_be_visible()
    assert pending.evaluate("(el) => el.scrollHeight > el.clientHeight"), "the long list does not scroll inside"
    expect(page.locator("#ros-now")).to_be_visible()
    # ARIA tabs: one tab stop, arrow keys move and select, Home and End, the panel follows
    first = tab(page, "Frågor")
    first.focus()
    assert tabs.evaluate_all("(ts) => ts.filter((t) => t.tabIndex === 0).length") == 1
    page.keyboard.press("ArrowRight")
    expect(tab(page, "Omröstningar")).to_be_focused()
    expect(tab(page, "Omröstningar")).to_have_attribute("aria-selected", "true")
    expect(page.locator("#tab-polls")).to_be_visible()
    expect(page.locator("#tab-questions")).to_be_hidden()
    page.keyboard.press("End")
    expect(tab(page, "Mer")).to_be_focused()
    expect(page.get_by_role("heading", name="Kortkommandon")).to_be_visible()
    page.keyboard.press("ArrowRight")  # wraps round
    expect(first).to_be_focused()
    expect(page.locator("#tab-questions")).to_be_visible()
    page.keyboard.press("Tab")  # from the tab to its panel's content, not to the other tabs
    expect(tab(page, "Omröstningar")).not_to_be_focused()
    # the sub-views: each with its count, as tabs of their own
    sub = page.get_by_role("tablist", name="Frågor efter läge").get_by_role("tab")
    expect(sub).to_have_count(5)
    expect(sub.first).to_have_text(re.compile(r"^Inkommande\s*30$"))
    page.context.close()


def test_search_and_bulk_approve_keep_the_selection_through_pushes(browser: Browser, served: Served):
    page = cockpit(browser, served)
    tab(page, "Frågor").click()
    page.get_by_role("tab", name=re.compile("^Inkommande")).click()
    before = int(count(page, "pending").inner_text())
    served.ask("Hur fungerar e-tjänsten för receptförnyelse?")
    served.ask("Kan receptförnyelse göras av anhöriga?")
    served.ask("När öppnar den nya vårdcentralen?")
    expect(count(page, "pending")).to_have_text(str(before + 3), timeout=PUSH)
    expect(page.locator("#mod-list-pending")).to_contain_text("vårdcentralen", timeout=PUSH)
    # the search filters the list as one types
    search = page.get_by_label("Sök bland frågorna")
    search.fill("receptförnyelse")
    shown = page.locator("#mod-list-pending > li:visible")
    expect(shown).to_have_count(2)
    expect(page.locator("#mod-q-search-result")).to_have_text("2 frågor matchar.")
    # one ticked box, then pushes: another question, an approval elsewhere; the tick, the search and the focus stay
    first = shown.first.get_by_role("checkbox")
    first.check()
    search.focus()
    page.keyboard.press("End")
    served.ask("Ännu en fråga om receptförnyelse via 1177")
    expect(count(page, "pending")).to_have_text(str(before + 4), timeout=PUSH)
    expect(shown).to_have_count(3)
    served.ask("En fråga som sökningen döljer")
    expect(count(page, "pending")).to_have_text(str(before + 5), timeout=PUSH)
    expect(shown).to_have_count(3)  # the newcomer that does not match stays hidden
    expect(first).to_be_checked()
    expect(search).to_be_focused()
    expect(search).to_have_value("receptförnyelse")
    # approve the one ticked: it moves to "approved", its count follows, the answer stands beside the button
    page.get_by_role("button", name="Godkänn markerade").click()
    status = page.locator("#mod-bulk .form-status")
    expect(status).to_have_text("1 fråga är godkänd.", timeout=PUSH)
    expect(count(page, "pending")).to_have_text(str(before + 4), timeout=PUSH)
    expect(shown).to_have_count(2)
    # approve all that the search shows: exactly those, not the hidden one
    page.get_by_role("button", name="Godkänn alla som visas").click()
    expect(status).to_have_text("2 frågor är godkända.", timeout=PUSH)
    expect(count(page, "pending")).to_have_text(str(before + 2), timeout=PUSH)
    expect(shown).to_have_count(0)
    assert gap(status, page.locator("#mod-bulk-approve")) < 60, "the answer is not beside the button"
    search.fill("")
    expect(page.locator("#mod-list-pending")).to_contain_text("En fråga som sökningen döljer")
    page.get_by_role("tab", name=re.compile("^Godkända")).click()
    expect(page.locator("#mod-list-approved")).to_contain_text("Ännu en fråga om receptförnyelse via 1177")
    page.context.close()


def answered(page: Page, button: Locator, says: str) -> None:
    """Press ``button``: its answer names the thing (``says``) in the card of the button, not at the top."""
    expect(button).to_be_visible(timeout=PUSH)  # where the last push put it
    card = card_of(page, button)
    button.click()
    expect(card.locator(".form-status, .card-status").filter(has_text=says)).not_to_have_count(0, timeout=PUSH)
    expect(page.locator("#control-message")).to_be_empty()


def test_every_control_action_says_what_it_did_in_the_card_of_its_button(browser: Browser, served: Served):
    panel_block, last_block = served.blocks[0], served.blocks[-1]
    page = cockpit(browser, served)
    # run-of-show: the full list (collapsed), then the compact "next" button
    page.get_by_text("Hela körschemat").click()
    answered(page, page.locator(f"#ros-live-{panel_block['id']}"), f"{panel_block['title']} sänds nu")
    expect(page.locator("#ros-now-current")).to_contain_text(panel_block["title"], timeout=PUSH)
    page.get_by_text("Hela körschemat").click()
    answered(page, page.locator("#ros-now").get_by_role("button", name=f"Starta: {last_block['title']}"),
             f"{last_block['title']} sänds nu")
    # questions: each moderation names the question
    first = served.ask("Hur når vi dem som inte är digitala?")
    second = served.ask("Vem betalar för plattformen?")
    tab(page, "Frågor").click()
    page.get_by_role("tab", name=re.compile("^Inkommande")).click()
    expect(page.locator(f"#mqp-{second}")).to_be_visible(timeout=PUSH)
    answered(page, page.locator(f"#mq-{first}-approve"), "Frågan ”Hur når vi dem som inte är digitala?” är godkänd.")
    answered(page, page.locator(f"#mq-{second}-hide"), "Frågan ”Vem betalar för plattformen?” är dold.")
    page.get_by_role("tab", name=re.compile("^Godkända")).click()
    answered(page, page.locator(f"#mq-{first}-highlight"), "är på scenen nu.")
    page.get_by_role("tab", name=re.compile("^På scenen")).click()
    answered(page, page.locator(f"#mq-{first}-unhighlight"), "är borttagen från scenen.")
    page.get_by_role("tab", name=re.compile("^Godkända")).click()
    answered(page, page.locator(f"#mq-{first}-answer"), "Frågan ”Hur når vi dem som inte är digitala?” är markerad")
    page.get_by_role("tab", name=re.compile("^Dolda")).click()
    answered(page, page.locator(f"#mq-{second}-approve"), "Frågan ”Vem betalar för plattformen?” är godkänd.")
    # polls: each button names the poll
    poll = served.api("POST", f"/api/v1/events/{SLUG}/polls",
                      json={"kind": "single", "question": "Var arbetar du?", "options": ["Region", "Kommun"]})["id"]
    tab(page, "Omröstningar").click()
    state = page.locator(f"#mp-{poll}-state")
    answered(page, state, "Omröstningen ”Var arbetar du?” är öppen.")
    expect(state).to_have_text("Stäng", timeout=PUSH)  # the push redrew the button
    answered(page, state, "Omröstningen ”Var arbetar du?” är stängd.")
    # chat: the switch says what it switched; delete and mute say whom they touched
    token = served.join()
    message = served.api("POST", f"/api/v1/events/{SLUG}/chat", token=token, json={"text": "Hej från Motala"})["id"]
    served.api("POST", f"/api/v1/events/{SLUG}/chat", token=token, json={"text": "Hej igen"})
    tab(page, "Chatt").click()
    expect(page.locator(f"#mc-{message}")).to_be_visible(timeout=PUSH)
    answered(page, page.locator(f"#mc-{message}-mute"), "Deltagaren är avstängd")
    answered(page, page.locator(f"#mc-{message}-delete"), "Chattmeddelandet är raderat.")
    # a switch's form says the state it sets: press it again only once the push has redrawn it
    chat, premoderation = "#mod-settings-chat", "#mod-settings-premoderation"
    switches = ((chat, "Chatten är av.", "Sätt på chatten"), (chat, "Chatten är på.", "Stäng av chatten"),
                (premoderation, "Nya frågor visas nu direkt.", "Granska frågor innan de visas"),
                (premoderation, "Nya frågor väntar nu på godkännande.", "Sluta granska frågor i förväg"))
    for switch, says, then in switches:
        answered(page, page.locator(switch), says)
        expect(page.locator(switch)).to_have_text(then, timeout=PUSH)
    # the evaluation and the "More" tab
    tab(page, "Utvärdering").click()
    answered(page, page.locator("#mod-eval-open-send"), "Utvärderingen är öppen.")
    tab(page, "Mer").click()
    page.get_by_label("Text som visas för alla deltagare").fill("Kaffe i foajén")
    answered(page, page.get_by_role("button", name="Publicera meddelandet"), "Meddelandet är publicerat.")
    served.api("POST", f"/api/v1/events/{SLUG}/live", json={"block_id": panel_block["id"]})  # a block follows
    page.locator("#shift-minutes").fill("5")
    answered(page, page.get_by_role("button", name="Flytta senare programpunkter"), "Senare block flyttade 5 min")
    page.context.close()


def test_the_shortcuts_by_keyboard_alone(browser: Browser, served: Served):
    block = served.blocks[0]
    served.api("POST", f"/api/v1/events/{SLUG}/live", json={"block_id": block["id"]})
    poll = served.api("POST", f"/api/v1/events/{SLUG}/polls", json={
        "kind": "single", "question": "Hur långt har vi kommit?", "options": ["Långt", "Kort"],
        "block_id": block["id"]})["id"]
    first = served.ask("Tangentbordsfråga ett om journalen")
    second = served.ask("Tangentbordsfråga två om journalen")
    page = cockpit(browser, served)
    status = page.locator("#mod-questions-status")
    keys = page.keyboard
    keys.press("1")  # the incoming questions
    expect(page.get_by_role("tab", name=re.compile("^Inkommande"))).to_have_attribute("aria-selected", "true")
    keys.press("/")
    expect(page.get_by_label("Sök bland frågorna")).to_be_focused()
    keys.type("Tangentbordsfråga")  # letters typed in a field are text, never shortcuts
    expect(page.get_by_label("Sök bland frågorna")).to_have_value("Tangentbordsfråga")
    expect(page.locator("#mod-list-pending > li:visible")).to_have_count(2)
    expect(page.locator(f"#mqp-{first}")).to_be_visible()
    keys.press("Tab")  # out of the field
    keys.press("j")
    expect(page.locator(f"#mqp-{first}")).to_be_focused()
    keys.press("j")
    expect(page.locator(f"#mqp-{second}")).to_be_focused()
    keys.press("k")
    expect(page.locator(f"#mqp-{first}")).to_be_focused()
    keys.press("a")
    expect(status).to_have_text("Frågan ”Tangentbordsfråga ett om journalen” är godkänd.", timeout=PUSH)
    expect(page.locator(f"#mqp-{second}")).to_be_focused()  # the focus went on to the next one
    keys.press("h")
    expect(status).to_contain_text("Frågan ”Tangentbordsfråga två om journalen” är dold.", timeout=PUSH)
    keys.press("2")
    expect(page.get_by_role("tab", name=re.compile("^Godkända"))).to_have_attribute("aria-selected", "true")
    keys.press("s")  # nothing chosen in this view: the top approved question (the search shows only ours)
    expect(status).to_have_text("Frågan ”Tangentbordsfråga ett om journalen” är på scenen nu.", timeout=PUSH)
    expect(count(page, "onstage")).to_have_text("1", timeout=PUSH)
    # "d" acts on the item in the on-stage view: its pushed item (with its answer button) is there first
    expect(page.locator("#mod-list-onstage > li.mod-question [data-shortcut-action=answer]")).to_have_count(
        1, timeout=PUSH)
    keys.press("d")
    expect(status).to_have_text("Frågan ”Tangentbordsfråga ett om journalen” är markerad som besvarad.", timeout=PUSH)
    expect(count(page, "onstage")).to_have_text("0", timeout=PUSH)
    # the poll of the block on air: its card is in another tab, so the tab bar says what happened
    keys.press("o")
    expect(page.locator("#shortcut-status")).to_have_text("Omröstningen ”Hur långt har vi kommit?” är öppen.",
                                                          timeout=PUSH)
    expect(page.locator(f"#mp-{poll}")).to_have_class(re.compile("state-open"), timeout=PUSH)
    keys.press("o")
    expect(page.locator("#shortcut-status")).to_have_text("Omröstningen ”Hur långt har vi kommit?” är stängd.",
                                                          timeout=PUSH)
    # the list of shortcuts
    keys.press("?")
    dialog = page.get_by_role("dialog", name="Kortkommandon")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Godkänn den valda frågan")
    keys.press("Escape")
    expect(dialog).to_be_hidden()
    page.context.close()


def test_on_a_phone_and_without_javascript(browser: Browser, served: Served):
    page = cockpit(browser, served, width=390, height=844)
    for name in ("Frågor", "Omröstningar", "Chatt", "Utvärdering", "Mer"):
        tab(page, name).click()
        expect(tab(page, name)).to_have_attribute("aria-selected", "true")
        assert document_scroll(page)["sideways"] <= 0, f"the page scrolls sideways in {name}"
    page.context.close()
    # without JavaScript: the tabs are anchor links to sections that all show, every form still works
    page = cockpit(browser, served, java_script_enabled=False)
    expect(page.get_by_role("tab")).to_have_count(0)
    for name, panel in (("Frågor", "#tab-questions"), ("Omröstningar", "#tab-polls"), ("Chatt", "#tab-chat"),
                        ("Utvärdering", "#tab-evaluation"), ("Mer", "#tab-more")):
        link = page.get_by_role("list", name="Kontrollpanelens delar").get_by_role("link", name=name)
        expect(link).to_have_attribute("href", panel)
        expect(page.locator(panel)).to_be_visible()
    page.get_by_label("Text som visas för alla deltagare").fill("Utan skript")
    page.get_by_role("button", name="Publicera meddelandet").click()
    expect(page.get_by_label("Text som visas för alla deltagare")).to_have_value("Utan skript")
    page.context.close()
