"""Presenter control in a real browser (Debian's Chromium via Playwright): a moderator chooses on the control panel
what the screen shows, and an open presenter screen changes accordingly without a reload; the participant count is
turned on and off. Each state of the screen fits 1080p and 720p and passes axe. With
EHALSODAG_UPDATE_SCREENSHOTS=1 the README's presenter-control screenshots are refreshed (docs/screenshots/).

Skipped where /usr/bin/chromium is missing, unless EHALSODAG_TEST_BROWSER=required (as in .ci/run).
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import replace

import httpx
import pytest

from tests.browser.conftest import skip_without_chromium
from tests.conftest import (
    ROOT,
    STAFF_PASSWORD,
    ServedApp,
    load_fixture,
    make_staff,
    run_sync,
    start_server,
    stop_server,
)

skip_without_chromium()

from playwright.sync_api import Browser, Page, expect  # noqa: E402

from tests.browser.test_accessibility import axe_violations  # noqa: E402

pytestmark = pytest.mark.browser
SLUG = "ostergotland-2021-03-23"
ARTIFACTS = ROOT / "test-artifacts" / "screenshots"
README_SHOTS = ROOT / "docs" / "screenshots"
SIZES = ({"width": 1920, "height": 1080}, {"width": 1280, "height": 720})


@pytest.fixture
def day(settings, tmp_path) -> Iterator[tuple[ServedApp, dict[str, str]]]:
    settings = replace(settings, attendance_seconds=1.0)
    run_sync(load_fixture(settings, f"{SLUG}.toml"))
    token = run_sync(make_staff(settings, "moderator@example.se", "moderator", SLUG))
    server = start_server(settings, tmp_path / "server.log")
    try:
        yield server, {"Authorization": f"Bearer {token}"}
    finally:
        stop_server(server)


def shoot(page: Page, name: str, selector: str | None = None) -> None:
    """A test artifact; with EHALSODAG_UPDATE_SCREENSHOTS=1 also the README's copy."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    if selector:
        page.locator(selector).screenshot(path=str(path))
    else:
        page.screenshot(path=str(path), full_page=False)
    if os.environ.get("EHALSODAG_UPDATE_SCREENSHOTS") == "1":
        README_SHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, README_SHOTS / path.name)


def fits(screen: Page) -> list[str]:
    """Whatever runs off the screen at 1080p or 720p (nothing scrolls on a presenter screen)."""
    problems = []
    for size in SIZES:
        screen.set_viewport_size(size)
        screen.wait_for_timeout(150)  # the question's text is fitted on resize
        overflow = screen.evaluate("""() => {
            const root = document.documentElement;
            return [root.scrollHeight - window.innerHeight, root.scrollWidth - window.innerWidth];
        }""")
        if overflow[0] > 1 or overflow[1] > 1:
            problems.append(f"{size['width']}x{size['height']}: {overflow[0]} px too tall, {overflow[1]} px too wide")
    screen.set_viewport_size(SIZES[0])
    return problems


def test_the_panel_chooses_what_an_open_screen_shows_without_a_reload(browser: Browser, day):
    server, staff = day
    api = httpx.Client(base_url=server.base_url, headers=staff, timeout=10)
    created = api.post(f"/api/v1/events/{SLUG}/polls", json={
        "kind": "scale", "question": "Hur långt har vi kommit med digitala vårdmöten i din verksamhet?",
        "scale_min": 1, "scale_max": 5, "scale_labels": ["Inte alls", "Mycket långt"]})
    assert created.status_code == 201, created.text
    scale = created.json()["id"]
    assert api.post(f"/api/v1/polls/{scale}/open").status_code == 200
    attendees = [httpx.post(f"{server.base_url}/api/v1/events/{SLUG}/join", json={}).json() for _ in range(5)]
    for attendee, value in zip(attendees, (5, 4, 4, 3, 2), strict=True):
        answer = httpx.post(f"{server.base_url}/api/v1/polls/{scale}/responses", json={"value": value},
                            headers={"Authorization": f"Bearer {attendee['attendee_token']}"})
        assert answer.status_code == 201, answer.text

    context = browser.new_context(viewport={"width": 1366, "height": 768}, base_url=server.base_url, bypass_csp=True)
    panel = context.new_page()
    panel.goto(f"/login?next=/e/{SLUG}/control")
    panel.locator("#email").fill("moderator@example.se")
    panel.locator("#password").fill(STAFF_PASSWORD)
    panel.locator("form.stack button[type=submit]").click()
    expect(panel).to_have_url(re.compile("/control$"))
    expect(panel.locator("#connection[data-state=open]")).to_be_attached(timeout=10000)
    panel.locator("#tab-polls-tab").click()  # the cockpit's polls tab holds the presenter control

    screen = context.new_page()
    screen.set_viewport_size(SIZES[0])
    screen.goto(f"/e/{SLUG}/screen")
    expect(screen.locator("#connection[data-state=open]")).to_be_attached(timeout=10000)
    screen.evaluate("window.sameScreen = true")  # gone if the page reloads
    attendee = browser.new_context(viewport={"width": 390, "height": 844}, base_url=server.base_url).new_page()
    attendee.goto(f"/e/{SLUG}")
    attendee.locator("form[action$='/join'] button[type=submit]").first.click()
    expect(attendee.locator("#connection[data-state=open]")).to_be_attached(timeout=10000)

    problems: dict[str, list[str]] = {}

    def choose(value: str, shows: str, text: str, said: str, poll: int | None = None) -> None:
        panel.locator(f"#screen-show-{value}").check()
        if poll is not None:
            panel.locator("#screen-poll").select_option(str(poll))
        with panel.expect_response(re.compile("/control/screen$")) as posted:
            panel.locator("#screen-submit").click()
        assert posted.value.status == 200, posted.value.text()
        expect(panel.locator("#screen-control .form-status").last).to_contain_text("Skärmen", timeout=10000)
        expect(screen.locator("#screen-main")).to_have_attribute("data-shows", shows, timeout=10000)
        expect(screen.locator("#screen-main")).to_contain_text(text, timeout=10000)
        expect(panel.locator("#screen-now")).to_contain_text(said, timeout=10000)  # every panel says what it shows
        assert screen.evaluate("window.sameScreen") is True, "the screen reloaded"
        problems[value] = axe_violations(screen) + fits(screen)

    # the newest open poll (automatic) is the scale: its end labels stand beside 1 and 5
    expect(screen.locator("#screen-main .scale-end")).to_have_count(2, timeout=10000)
    expect(screen.locator("#screen-main")).to_contain_text("Inte alls")
    expect(screen.locator("#screen-main")).to_contain_text("Mycket långt")
    code = api.get(f"/api/v1/events/{SLUG}").json()["join_code"]
    choose("code", "code", code, f"koden {code} med stor QR-kod")
    choose("programme", "programme", "Nu", "programmet (nu och härnäst)")
    choose("question", "nothing", "Ingen fråga på scenen", "ingen på scenen just nu")
    choose("poll", "poll", "Hur långt har vi kommit", "omröstningen ”Hur långt", poll=scale)
    choose("auto", "poll", "Hur långt har vi kommit", "Automatiskt – omröstningen")

    # the participant count: off by default, on with the toggle, updated by the sampler (not per join)
    expect(screen.locator("#screen-participants")).to_be_empty()
    panel.locator("#screen-participants-on").check()
    panel.locator("#screen-submit").click()
    expect(screen.locator("#screen-participants")).to_have_text(re.compile(r"^\d+ deltagare$"), timeout=15000)
    expect(screen.locator("#screen-participants")).to_have_text("1 deltagare", timeout=15000)  # the attendee page
    expect(panel.locator("#screen-now")).to_contain_text("antal deltagare visas")
    assert screen.evaluate("window.sameScreen") is True
    problems["participants"] = axe_violations(screen) + fits(screen)

    shoot(screen, "presenter-screen-scale-labels")
    panel.locator("#screen-control-heading").scroll_into_view_if_needed()
    shoot(panel, "presenter-control-panel", ".screen-control-card")

    panel.locator("#screen-participants-on").uncheck()
    panel.locator("#screen-submit").click()
    expect(screen.locator("#screen-participants")).to_be_empty(timeout=10000)
    problems["panel"] = axe_violations(panel)
    context.close()
    assert {name: found for name, found in problems.items() if found} == {}
