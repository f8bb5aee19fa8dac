"""WCAG 2.1 AA in a real browser: axe-core on every page in Swedish and English, the keyboard alone,
live updates that do not steal focus, reduced motion, 200 % text, pages without JavaScript, and a
reconnect after the server restarts.

Skipped where /usr/bin/chromium is missing, unless EHALSODAG_TEST_BROWSER=required (as in .ci/run).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest

from tests.browser.conftest import skip_without_chromium
from tests.conftest import (
    STAFF_PASSWORD,
    ServedApp,
    load_fixture,
    make_staff,
    run_sync,
    start_server,
    stop_server,
)

AXE = Path(__file__).parent / "vendor" / "axe-4.14.1.min.js"
SLUG = "ostergotland-2021-03-23"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots" / "pages"

skip_without_chromium()

from playwright.sync_api import Browser, Page, expect  # noqa: E402

pytestmark = pytest.mark.browser


@pytest.fixture
def day(settings, tmp_path) -> Iterator[tuple[ServedApp, dict[str, str]]]:
    settings = replace(settings, attendance_seconds=1.0)
    run_sync(load_fixture(settings, f"{SLUG}.toml"))
    token = run_sync(make_staff(settings, "organiser@example.se", "organiser", SLUG))
    server = start_server(settings, tmp_path / "server.log")
    try:
        yield server, {"Authorization": f"Bearer {token}"}
    finally:
        stop_server(server)


def axe_violations(page: Page) -> list[str]:
    """Run axe-core on the page for WCAG 2.0/2.1 A and AA and axe's best practices; return readable violations."""
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("""async () => {
        const tags = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'];
        const r = await axe.run(document, {runOnly: {type: 'tag', values: tags}});
        return r.violations.map(v => v.id + ': ' + v.help + ' → ' + v.nodes.map(n => n.target.join(' ')).join(', '));
    }""")
    return result


def screenshots(page: Page, name: str) -> None:
    """Save the page at desktop (1280 px) and phone (390 px) widths as test artifacts."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    page.screenshot(path=str(ARTIFACTS / f"{slug}-1280.png"))
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(ARTIFACTS / f"{slug}-390.png"))
    page.set_viewport_size({"width": 1280, "height": 900})


def login(page: Page) -> None:
    page.goto(f"/login?next=/e/{SLUG}/control")
    page.locator("#email").fill("organiser@example.se")
    page.locator("#password").fill(STAFF_PASSWORD)
    page.locator("form.stack button[type=submit]").click()
    expect(page).to_have_url(re.compile("/control$"))


def api(server: ServedApp, method: str, path: str, headers: dict[str, str], **body) -> httpx.Response:
    response = httpx.request(method, f"{server.base_url}{path}", headers=headers, json=body or None)
    assert response.status_code < 400, response.text
    return response


@pytest.mark.parametrize("language", ["sv", "en"])
def test_axe_finds_no_wcag_violations_on_any_page(browser: Browser, day, language):
    server, staff = day
    event = httpx.get(f"{server.base_url}/api/v1/events/{SLUG}").json()
    block_1 = next(b["id"] for b in event["blocks"] if b["key"] == "block-1")
    # bypass_csp lets the test inject axe-core; the pages themselves allow scripts from the server only.
    context = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=server.base_url, bypass_csp=True)
    page = context.new_page()
    page.goto(f"/lang/{language}?next=/")
    checked: dict[str, list[str]] = {}

    def check(name: str, path: str | None = None, wait_for: str | None = None, target: Page | None = None) -> None:
        target = target or page
        if path:
            target.goto(path)
        if wait_for:
            expect(target.locator(wait_for).first).to_be_visible(timeout=5000)
        checked[name] = axe_violations(target)
        screenshots(target, f"{language}-{name}")

    check("start page", "/")
    check("accessibility statement", "/accessibility")
    check("login page", "/login")
    check("attendee page before joining", f"/e/{SLUG}")
    page.locator("#group_size").fill("4")
    page.locator("#join form button[type=submit], form[action$='/join'] button[type=submit]").first.click()
    expect(page.locator("#connection[data-state=open]")).to_be_attached(timeout=5000)
    check("attendee page, joined")
    api(server, "POST", f"/api/v1/events/{SLUG}/live", staff, block_id=block_1)  # its poll opens by itself
    check("attendee page during a poll", wait_for="#polls form.poll-form")
    page.locator("#polls input[name=value]").first.check()
    page.locator("#polls form.poll-form button[type=submit]").click()
    expect(page.locator("#polls .poll-results .bars")).to_be_visible(timeout=3000)
    page.locator("#question-text").fill("Hur når vi dem som inte använder digitala tjänster?")
    page.locator(".ask-form button[type=submit]").click()
    page.locator("#chat-text").fill("Hej från Motala!")
    page.locator(".chat-form button[type=submit]").click()
    check("attendee page during Q&A", wait_for="#question-list .question")
    api(server, "POST", f"/api/v1/events/{SLUG}/evaluation/open", staff, minutes=30)
    check("attendee page with the evaluation", wait_for="#evaluation form")

    staff_page = context.new_page()
    staff_page.goto(f"/lang/{language}?next=/")
    login(staff_page)
    expect(staff_page.locator("#connection[data-state=open]")).to_be_attached(timeout=5000)
    check("control panel", target=staff_page)
    check("presenter screen", f"/e/{SLUG}/screen", "#screen-main .poll-results", target=staff_page)
    check("results page", f"/e/{SLUG}/results", target=staff_page)
    check("printable report", f"/e/{SLUG}/results/report", target=staff_page)
    context.close()
    assert {name: found for name, found in checked.items() if found} == {}
    assert len(checked) == 12


def test_the_day_works_with_the_keyboard_alone(browser: Browser, day):
    server, staff = day
    event = httpx.get(f"{server.base_url}/api/v1/events/{SLUG}").json()
    api(server, "POST", f"/api/v1/events/{SLUG}/live", staff,
        block_id=next(b["id"] for b in event["blocks"] if b["key"] == "block-3"))
    page = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=server.base_url).new_page()
    page.goto(f"/e/{SLUG}")

    def tab_to(selector: str, limit: int = 80) -> None:
        for _ in range(limit):
            page.keyboard.press("Tab")
            if page.evaluate("(s) => document.activeElement && document.activeElement.matches(s)", selector):
                outline = page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
                assert outline != "none", f"no visible focus on {selector}"
                return
        raise AssertionError(f"could not reach {selector} with Tab")

    tab_to("a.skip-link")
    tab_to("#group_size")
    page.keyboard.press("Control+A")
    page.keyboard.type("3")
    tab_to("form[action$='/join'] button")
    page.keyboard.press("Enter")
    expect(page.locator("#connection[data-state=open]")).to_be_attached(timeout=5000)

    tab_to("#polls input[type=radio]")
    page.keyboard.press("ArrowDown")  # radios: arrow keys move and select
    page.keyboard.press("Space")
    tab_to("#polls form.poll-form button[type=submit]")
    page.keyboard.press("Enter")
    expect(page.locator("#polls .poll-results")).to_contain_text("1 svar", timeout=3000)

    tab_to("#question-text")
    page.keyboard.type("Vem ansvarar för säkerheten?")
    tab_to(".ask-form button[type=submit]")
    page.keyboard.press("Enter")
    expect(page.locator("#question-list")).to_contain_text("Vem ansvarar för säkerheten?", timeout=3000)
    tab_to("#question-list .upvote")
    page.keyboard.press("Enter")
    expect(page.locator("#question-list .upvote-count").first).to_have_text("1 röst", timeout=3000)

    tab_to("#chat-text")
    page.keyboard.type("Hej!")
    page.keyboard.press("Enter")
    expect(page.locator("#chat-log")).to_contain_text("Hej!", timeout=3000)

    # A live update is announced politely and does not move the focus.
    assert page.evaluate("() => document.activeElement.id") == "chat-text"
    api(server, "POST", f"/api/v1/events/{SLUG}/announcement", staff, text="Paus om fem minuter")
    expect(page.locator("#announcement")).to_contain_text("Paus om fem minuter", timeout=3000)
    assert page.locator("#announcement").get_attribute("aria-live") == "polite"
    assert page.evaluate("() => document.activeElement.id") == "chat-text"

    # No focus trap: Tab goes all the way round the page, twice, through every control.
    seen: set[str] = set()
    rounds = 0
    for _ in range(600):
        page.keyboard.press("Tab")
        seen.add(page.evaluate("() => document.activeElement.outerHTML.slice(0, 80)"))
        if page.evaluate("() => document.activeElement.classList.contains('skip-link')"):
            rounds += 1
            if rounds == 2:
                break
    else:
        raise AssertionError("Tab never came back round to the top of the page")
    assert len(seen) > 20


def test_reduced_motion_and_text_at_200_percent(browser: Browser, day):
    server, staff = day
    event = httpx.get(f"{server.base_url}/api/v1/events/{SLUG}").json()
    api(server, "POST", f"/api/v1/events/{SLUG}/live", staff, block_id=event["blocks"][0]["id"])
    context = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=server.base_url,
                                  reduced_motion="reduce")
    page = context.new_page()
    page.goto(f"/e/{SLUG}")
    page.locator("form[action$='/join'] button").click()
    expect(page.locator(".live-dot")).to_be_visible(timeout=5000)
    assert page.evaluate("() => getComputedStyle(document.querySelector('.live-dot')).animationName") == "none"
    normal = context.new_page()
    normal.emulate_media(reduced_motion="no-preference")
    normal.goto(f"/e/{SLUG}")
    assert normal.evaluate("() => getComputedStyle(document.querySelector('.live-dot')).animationName") == "pulse"

    for width in (1280, 640):
        page.set_viewport_size({"width": width, "height": 900})
        page.evaluate("() => { document.documentElement.style.fontSize = '200%'; }")
        overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, f"horizontal scrolling at {width}px with 200 % text: {overflow}px"
        assert page.locator("#now-next h2").first.is_visible() and page.locator("#chat-text").is_visible()


def test_joining_asking_voting_and_evaluation_without_javascript(browser: Browser, day):
    server, staff = day
    event = httpx.get(f"{server.base_url}/api/v1/events/{SLUG}").json()
    api(server, "POST", f"/api/v1/events/{SLUG}/live", staff,
        block_id=next(b["id"] for b in event["blocks"] if b["key"] == "block-3"))
    api(server, "POST", f"/api/v1/events/{SLUG}/evaluation/open", staff, minutes=30)
    page = browser.new_context(java_script_enabled=False, base_url=server.base_url).new_page()
    page.goto(f"/e/{SLUG}")
    page.locator("#group_size").fill("2")
    page.locator("form[action$='/join'] button").click()
    expect(page.locator("#polls")).to_contain_text("Vad är den största utmaningen")
    page.get_by_label("Kompetens").check()
    page.locator("#polls form.poll-form button[type=submit]").click()
    expect(page.locator("#polls .poll-results")).to_contain_text("1 svar")
    page.locator("#question-text").fill("Utan JavaScript?")
    page.locator(".ask-form button[type=submit]").click()
    expect(page.locator("#question-list")).to_contain_text("Utan JavaScript?")
    page.locator("input[name=q_helhet][value='5']").check()
    page.locator("input[name=q_aterkommande][value='yes']").check()
    page.locator("#evaluation button[type=submit]").click()
    expect(page.locator("#evaluation")).to_contain_text("Tack för dina svar!")
    report = httpx.get(f"{server.base_url}/api/v1/events/{SLUG}/results", headers=staff).json()
    assert report["evaluation"]["respondents"] == 1 and report["questions"]["asked"] == 1


def test_the_page_reconnects_after_a_server_restart(browser: Browser, settings, tmp_path):
    run_sync(load_fixture(settings, f"{SLUG}.toml"))
    token = run_sync(make_staff(settings, "organiser@example.se", "organiser", SLUG))
    staff = {"Authorization": f"Bearer {token}"}
    server = start_server(settings, tmp_path / "first.log")
    port = int(server.base_url.rsplit(":", 1)[1])
    page = browser.new_context(base_url=server.base_url).new_page()
    page.goto(f"/e/{SLUG}")
    page.locator("form[action$='/join'] button").click()
    expect(page.locator("#connection[data-state=open]")).to_be_attached(timeout=5000)
    api(server, "POST", f"/api/v1/events/{SLUG}/announcement", staff, text="Före omstarten")
    expect(page.locator("#announcement")).to_contain_text("Före omstarten", timeout=3000)

    stop_server(server)
    expect(page.locator("#connection[data-state=closed]")).to_be_attached(timeout=5000)
    server = start_server(settings, tmp_path / "second.log", port=port)
    try:
        expect(page.locator("#connection[data-state=open]")).to_be_attached(timeout=30000)
        expect(page.locator("#announcement")).to_contain_text("Före omstarten")  # the snapshot restored the state
        api(server, "POST", f"/api/v1/events/{SLUG}/announcement", staff, text="Efter omstarten")
        expect(page.locator("#announcement")).to_contain_text("Efter omstarten", timeout=3000)
    finally:
        stop_server(server)
