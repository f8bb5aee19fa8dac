"""A real browser (Debian's Chromium via Playwright): an attendee follows the day while a moderator
drives it from the control panel in a second browser context. Screenshots are saved as artifacts.

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

from tests.browser.conftest import control_tab, go_live, skip_without_chromium
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

ARTIFACTS = ROOT / "test-artifacts" / "screenshots"
README_SHOTS = ROOT / "docs" / "screenshots"

skip_without_chromium()

from playwright.sync_api import Browser, Page, expect  # noqa: E402

pytestmark = pytest.mark.browser
SLUG = "ostergotland-2021-03-23"


@pytest.fixture
def day(settings, tmp_path) -> Iterator[ServedApp]:
    run_sync(load_fixture(settings, "ostergotland-2021-03-23.toml"))
    run_sync(make_staff(settings, "moderator@example.se", "moderator", SLUG))
    server = start_server(settings, tmp_path / "server.log")
    try:
        yield server
    finally:
        stop_server(server)


def shoot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=False)
    if os.environ.get("EHALSODAG_UPDATE_SCREENSHOTS") == "1":
        README_SHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, README_SHOTS / path.name)


def test_attendee_follows_the_day_while_a_moderator_drives_it(browser: Browser, day: ServedApp):
    attendee_context = browser.new_context(viewport={"width": 390, "height": 844}, base_url=day.base_url)
    moderator_context = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=day.base_url)
    attendee = attendee_context.new_page()
    moderator = moderator_context.new_page()
    external: list[str] = []
    attendee.on("request", lambda r: None if r.url.startswith(day.base_url) else external.append(r.url))

    # The attendee joins with the short code from the shared screen, as a group of five.
    code = httpx.get(f"{day.base_url}/api/v1/events/{SLUG}").json()["join_code"]
    attendee.goto(f"/j/{code}")
    expect(attendee).to_have_url(re.compile(f"/e/{SLUG}$"))
    expect(attendee.locator("html")).to_have_attribute("lang", "sv")
    attendee.get_by_label("Hur många av er tittar på den här skärmen?").fill("5")
    shoot(attendee, "attendee-join-phone")
    attendee.get_by_role("button", name="Delta").click()
    expect(attendee.locator("#connection")).to_have_text("Liveuppdateringar på", timeout=5000)
    expect(attendee.locator("#programme")).to_contain_text("Block 1: Individen som medskapare")

    # The moderator logs in and opens the control panel.
    moderator.goto(f"/e/{SLUG}/control")
    expect(moderator).to_have_url(re.compile("/login"))
    moderator.get_by_label("E-postadress").fill("moderator@example.se")
    moderator.get_by_label("Lösenord").fill(STAFF_PASSWORD)
    moderator.get_by_role("button", name="Logga in").click()
    expect(moderator).to_have_url(re.compile(f"/e/{SLUG}/control$"))
    expect(moderator.locator("#connection")).to_have_text("Liveuppdateringar på", timeout=5000)

    # Go live with block 1: the attendee's page follows within 2 s, without a reload.
    attendee.evaluate("window.__noReload = true")
    go_live(moderator, "Block 1: Individen som medskapare")
    expect(moderator.locator(".form-status", has_text="sänds nu")).to_be_visible()
    expect(attendee.locator("#now-next .now h2")).to_have_text("Block 1: Individen som medskapare", timeout=2000)
    expect(attendee.locator("#programme [aria-current=true]")).to_contain_text("Block 1")

    # Announcement banner.
    control_tab(moderator, "Mer")
    moderator.get_by_label("Text som visas för alla deltagare").fill("Lunchen är förlängd med tio minuter")
    moderator.get_by_role("button", name="Publicera meddelandet").click()
    expect(attendee.locator("#announcement")).to_contain_text("Lunchen är förlängd", timeout=2000)

    # Running late: shift every later block by 10 minutes.
    moderator.get_by_label("Flytta alla senare programpunkter så många minuter (negativt: tidigare)").fill("10")
    moderator.get_by_role("button", name="Flytta senare programpunkter").click()
    expect(attendee.locator("#programme")).to_contain_text("flyttad +10 min", timeout=2000)
    expect(moderator.locator("#run-of-show")).to_contain_text("(+10)")
    expect(moderator.locator("#lateness")).to_have_text("10 min försenat")
    assert attendee.evaluate("window.__noReload") is True  # the page was never reloaded

    shoot(attendee, "attendee-live-phone")
    moderator.set_viewport_size({"width": 1366, "height": 768})
    control_tab(moderator, "Frågor")
    shoot(moderator, "control-panel-desktop")
    desktop = attendee_context.new_page()
    desktop.set_viewport_size({"width": 1280, "height": 900})
    desktop.goto(f"/e/{SLUG}")
    expect(desktop.locator("#connection")).to_have_text("Liveuppdateringar på", timeout=5000)
    shoot(desktop, "attendee-live-desktop")

    # English is one click away, and the live page stays live in English.
    desktop.get_by_role("link", name="English").click()
    expect(desktop.locator("html")).to_have_attribute("lang", "en")
    expect(desktop.locator("#programme h2")).to_have_text("Programme")
    expect(desktop.locator("#connection")).to_have_text("Live updates on", timeout=5000)

    # Nothing but our own server (and the event's stream host, when a stream plays) was contacted.
    assert all("youtube" in url or "vimeo" in url for url in external), external
    attendee_context.close()
    moderator_context.close()


def login(page: Page) -> None:
    page.goto(f"/e/{SLUG}/control")
    page.get_by_label("E-postadress").fill("moderator@example.se")
    page.get_by_label("Lösenord").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Logga in").click()
    expect(page.locator("#connection")).to_have_text("Liveuppdateringar på", timeout=5000)


def test_poll_questions_and_chat_in_the_browser(browser: Browser, day: ServedApp):
    moderator = browser.new_context(viewport={"width": 1280, "height": 1000}, base_url=day.base_url).new_page()
    attendee = browser.new_context(viewport={"width": 390, "height": 844}, base_url=day.base_url).new_page()
    screen = browser.new_context(viewport={"width": 1280, "height": 720}, base_url=day.base_url).new_page()
    login(moderator)
    control_tab(moderator, "Chatt")
    moderator.get_by_role("button", name="Granska frågor innan de visas").click()
    expect(moderator.locator(".form-status", has_text="Nya frågor väntar nu på godkännande")).to_be_visible()

    # Block 3 goes live and its poll from the programme file opens by itself.
    go_live(moderator, "Block 3: Trygg och säker informationshantering")
    expect(moderator.locator("#mod-polls")).to_contain_text("öppen")
    screen.goto(f"/e/{SLUG}/screen")
    expect(screen.locator("#screen-main")).to_contain_text("största utmaningen", timeout=3000)

    attendee.goto(f"/e/{SLUG}")
    attendee.get_by_role("button", name="Delta").click()
    expect(attendee.locator("#connection")).to_have_text("Liveuppdateringar på", timeout=5000)
    poll = attendee.locator("#polls article.poll-open")
    expect(poll).to_contain_text("Vad är den största utmaningen")
    # A few colleagues elsewhere answer through the API, then this attendee answers in the page.
    polls = httpx.get(f"{day.base_url}/api/v1/events/{SLUG}/polls").json()
    single = next(p for p in polls if p["kind"] == "single")
    for pick in (0, 0, 1, 3, 0, 2):
        token = httpx.post(f"{day.base_url}/api/v1/events/{SLUG}/join", json={}).json()["attendee_token"]
        httpx.post(f"{day.base_url}/api/v1/polls/{single['id']}/responses",
                   json={"option_ids": [single["options"][pick]["id"]]},
                   headers={"Authorization": f"Bearer {token}"})
    poll.get_by_label("Kompetens").check()
    poll.get_by_role("button", name="Skicka svaret").click()
    expect(poll.locator(".poll-results")).to_contain_text("7 svar", timeout=2000)
    expect(poll.locator(".poll-results")).to_contain_text("Kompetens")
    expect(screen.locator("#screen-main")).to_contain_text("7 svar", timeout=2000)
    attendee.evaluate("document.getElementById('polls').scrollIntoView()")
    shoot(attendee, "attendee-poll-phone")
    shoot(screen, "presenter-screen-poll")

    # A question waits for approval: only its author sees it until the moderator approves it.
    attendee.get_by_label("Din fråga").fill("Hur delar vi information säkert mellan region och kommun?")
    attendee.get_by_role("button", name="Ställ frågan").click()
    expect(attendee.locator("#my-questions")).to_contain_text("Hur delar vi information säkert")
    expect(attendee.locator("#question-list")).not_to_contain_text("Hur delar vi information säkert")
    queue = moderator.locator("#mod-questions")
    expect(queue).to_contain_text("Hur delar vi information säkert", timeout=2000)
    control_tab(moderator, "Frågor")
    control_tab(moderator, "Inkommande")
    queue.get_by_role("button", name=re.compile("^Godkänn Hur delar vi")).click()
    expect(attendee.locator("#question-list")).to_contain_text("Hur delar vi information säkert", timeout=2000)
    # approved: still the asker's own (to withdraw until it is on stage), now shown to everyone
    expect(attendee.locator("#my-questions li", has_text="Hur delar vi information säkert")).to_contain_text(
        "Visas för alla")
    attendee.locator("#question-list .upvote").first.click()
    expect(attendee.locator("#question-list .upvote").first).to_have_attribute("aria-pressed", "true")
    expect(attendee.locator("#question-list .upvote-count").first).to_have_text("1 röst", timeout=2000)

    # Close the poll: the screen shows the question on stage instead.
    control_tab(moderator, "Omröstningar")
    moderator.locator("#mod-polls").get_by_role("button", name=re.compile("^Stäng: Vad är den största")).click()
    control_tab(moderator, "Frågor")
    control_tab(moderator, "Godkända")
    queue.get_by_role("button", name=re.compile("^Lyft fram på scen Hur delar vi")).click()
    expect(screen.locator("#screen-main")).to_contain_text("Hur delar vi information säkert", timeout=2000)
    expect(attendee.locator("#question-list .highlighted")).to_contain_text("På scen nu", timeout=2000)
    shoot(screen, "presenter-screen-question")

    # Chat, with the moderator's view.
    attendee.get_by_label("Skriv i chatten").fill("Hej från hemtjänsten i Norrköping!")
    attendee.get_by_role("button", name="Skicka", exact=True).click()
    expect(attendee.locator("#chat-log")).to_contain_text("Hej från hemtjänsten i Norrköping!", timeout=2000)
    expect(moderator.locator("#mod-chat")).to_contain_text("Hej från hemtjänsten i Norrköping!", timeout=2000)
    if moderator.locator("#ros-all").get_attribute("open") is not None:
        moderator.locator("#ros-all summary").click()  # fold the full run-of-show again
    control_tab(moderator, "På scenen")
    shoot(moderator, "control-panel-interaction")
    desktop = browser.new_context(viewport={"width": 1280, "height": 1000}, base_url=day.base_url).new_page()
    desktop.goto(f"/e/{SLUG}")
    desktop.get_by_role("button", name="Delta").click()
    expect(desktop.locator("#connection")).to_have_text("Liveuppdateringar på", timeout=5000)
    desktop.evaluate("document.getElementById('polls').scrollIntoView()")
    shoot(desktop, "attendee-interaction-desktop")


def test_evaluation_and_results_in_the_browser(browser: Browser, settings, tmp_path):
    slug = "jamtland-harjedalen-2021-05-25"
    settings = replace(settings, attendance_seconds=1.0)
    run_sync(load_fixture(settings, f"{slug}.toml"))
    run_sync(make_staff(settings, "moderator@example.se", "organiser", slug))
    server = start_server(settings, tmp_path / "server-eval.log")
    try:
        organiser = browser.new_context(viewport={"width": 1280, "height": 1000}, base_url=server.base_url).new_page()
        organiser.goto(f"/e/{slug}/control")
        organiser.get_by_label("E-postadress").fill("moderator@example.se")
        organiser.get_by_label("Lösenord").fill(STAFF_PASSWORD)
        organiser.get_by_role("button", name="Logga in").click()
        expect(organiser.locator("#connection")).to_have_text("Liveuppdateringar på", timeout=5000)

        attendees = []
        for group in (8, 1, 3):
            page = browser.new_context(viewport={"width": 390, "height": 844}, base_url=server.base_url).new_page()
            page.goto(f"/e/{slug}")
            page.get_by_label("Hur många av er tittar på den här skärmen?").fill(str(group))
            page.get_by_role("button", name="Delta").click()
            expect(page.locator("#connection")).to_have_text("Liveuppdateringar på", timeout=5000)
            attendees.append(page)
        # "connected" shows when the socket opens; the server counts it once the hub has it (just after): on a
        # loaded machine give the last one a moment, or it is not yet present when the evaluation opens
        organiser.wait_for_timeout(1000)

        control_tab(organiser, "Utvärdering")
        organiser.get_by_role("button", name="Öppna utvärderingen").click()
        expect(organiser.locator(".form-status", has_text="Utvärderingen är öppen")).to_be_visible()
        for page, (overall, recur) in zip(attendees, (("Mycket bra", "Ja"), ("Bra", "Ja"), ("Dålig", "Vet inte")),
                                          strict=True):
            form = page.locator("#evaluation")
            expect(form).to_contain_text("Vad tyckte du om den regionala e-hälsokonferensen", timeout=2000)
            form.get_by_role("group", name=re.compile("i sin helhet")).get_by_label(overall, exact=True).check()
            form.get_by_role("group", name=re.compile("återkommande")).get_by_label(recur, exact=True).check()
            if page is attendees[0]:
                shoot(page, "attendee-evaluation-phone")
            form.get_by_role("button", name="Skicka mina svar").click()
            expect(page.locator("#evaluation")).to_contain_text("Tack för dina svar!", timeout=2000)

        organiser.goto(f"/e/{slug}/results")
        expect(organiser.locator("dl.figures")).to_contain_text("66,7 %")  # 2 of 3 good or very good
        expect(organiser.locator("dl.figures")).to_contain_text("100,0 % av de 3 som var med")
        expect(organiser.locator("dl.figures > div").nth(2)).to_contain_text("12")  # 8 + 1 + 3 people
        expect(organiser.locator("#chart-eval-helhet")).to_be_visible()
        expect(organiser.locator("#chart-eval-helhet title")).to_have_text(
            "Vad tyckte du om den regionala e-hälsokonferensen i sin helhet?")
        shoot(organiser, "results-desktop")
    finally:
        stop_server(server)
