"""The national e-health day in a real browser (Debian's Chromium via Playwright).

One served national day (tests/support/national_day.py: a national stage, Östergötland and Skåne) and five
browser contexts at once: two attendees in Östergötland (one joins through the region's own /j/{code} link),
one in Skåne, a national moderator and a moderator of Östergötland only, both logged in through /login.

The regional moderator takes Östergötland's block live and ends it from the regional control panel; the
Östergötland pages switch by themselves (no reload) to the region's stream, questions, polls and chat and
back, while Skåne's page stays national and never receives the region's content. A national poll opened in
the national control panel is answered in both regions and shown per region; a region running late moves
only its own block; what an attendee is typing survives both switches.

Skipped where /usr/bin/chromium is missing, unless EHALSODAG_TEST_BROWSER=required (as in .ci/run).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from ehalsodag.agenda.service import event_by_slug
from ehalsodag.db.engine import Database
from ehalsodag.db.migrate import upgrade
from ehalsodag.settings import Settings
from ehalsodag.staff.service import add_user
from tests.browser.conftest import control_tab, go_live, skip_without_chromium
from tests.conftest import (
    STAFF_PASSWORD,
    ServedApp,
    make_settings,
    make_staff,
    run_sync,
    start_server,
    stop_server,
)
from tests.support.national_day import NATIONAL, OSTERGOTLAND, SKANE, SLUG, load_national_day

skip_without_chromium()

from playwright.sync_api import Browser, BrowserContext, Page, expect  # noqa: E402

pytestmark = pytest.mark.browser

NATIONAL_MODERATOR = "nationell.moderator@example.se"
REGIONAL_MODERATOR = "moderator.ostergotland@example.se"
CONNECTED = "Liveuppdateringar på"
WAIT = 5000  # ms: a push reaches a page well within this

NATIONAL_QUESTION = "Hur delar vi journaldata mellan regionerna?"
REGIONAL_QUESTION = "Hur når vi hemtjänsten i Motala?"
NATIONAL_CHAT = "Hej från Malmö och hela Sverige!"
REGIONAL_CHAT = "Hej från Linköping!"
NATIONAL_POLL = "Var arbetar du?"
REGIONAL_POLL = "Hur långt har Östergötland kommit?"
TYPING = "En fråga som jag håller på att skriva"

#: Records on an attendee page whether a text ever arrived over the websocket or ever stood in the page.
SEEN_WATCH = """(marker) => {
  window.__seen = [];
  const note = (where) => { if (!window.__seen.includes(where)) window.__seen.push(where); };
  document.addEventListener("htmx:wsBeforeMessage", (e) => {
    if (String(e.detail.message).includes(marker)) note("frame");
  });
  new MutationObserver(() => {
    if (document.body.textContent.includes(marker)) note("dom");
  }).observe(document.body, {childList: true, subtree: true, characterData: true});
}"""


async def _add_regional_moderator(settings: Settings) -> None:
    """A moderator of Östergötland's stage only, as `ehalsodag user add … --event SLUG --stage ostergotland`."""
    db = Database(settings)
    try:
        async with db.unit_of_work() as session:
            event = await event_by_slug(session, SLUG)
            assert event is not None
            stage = next(s for s in event.stages if s.key == OSTERGOTLAND)
            await add_user(session, REGIONAL_MODERATOR, STAFF_PASSWORD, "moderator", event.id, stage.id)
    finally:
        await db.dispose()


@pytest.fixture(scope="module")
def day(tmp_path_factory) -> Iterator[ServedApp]:
    """The national day served once for the module, with its two moderators."""
    folder = tmp_path_factory.mktemp("national-day")
    settings = make_settings(folder)
    upgrade(settings)
    run_sync(load_national_day(settings, folder))
    run_sync(make_staff(settings, NATIONAL_MODERATOR, "moderator", SLUG))
    run_sync(_add_regional_moderator(settings))
    server = start_server(settings, folder / "server.log")
    try:
        yield server
    finally:
        stop_server(server)


@dataclass
class People:
    """Everyone's page, each in a browser context of its own; the block ids."""

    ost1: Page
    ost2: Page
    skane: Page
    national: Page
    regional: Page
    blocks: dict[str, int]

    @property
    def attendees(self) -> list[Page]:
        return [self.ost1, self.ost2, self.skane]

    @property
    def ostergotland(self) -> list[Page]:
        return [self.ost1, self.ost2]


def _log_in(page: Page, email: str, stage: str) -> None:
    page.goto("/login")
    page.locator("#email").fill(email)
    page.locator("#password").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Logga in").click()
    expect(page).not_to_have_url(re.compile("/login"))
    page.goto(f"/e/{SLUG}/control?stage={stage}")
    expect(page.locator("#connection")).to_have_text(CONNECTED, timeout=WAIT)


def _join(page: Page, stage: str | None, name: str) -> None:
    """Join through the join form, choosing ``stage`` (None: keep what the page pre-selected)."""
    expect(page.locator("#join-stage")).to_be_visible()
    if stage is not None:
        page.locator("#join-stage").select_option(stage)
    page.locator("#display_name").fill(name)
    page.locator("#join button[type=submit]").click()
    expect(page.locator("#connection")).to_have_text(CONNECTED, timeout=WAIT)


@pytest.fixture(scope="module")
def people(browser: Browser, day: ServedApp) -> Iterator[People]:
    """Three attendees joined with their regions and both moderators logged in, kept through the module (the
    tests run in order, on one day)."""
    contexts: list[BrowserContext] = []

    def page(width: int, height: int) -> Page:
        context = browser.new_context(viewport={"width": width, "height": height}, base_url=day.base_url,
                                      locale="sv-SE")
        context.set_default_timeout(WAIT)
        # No stream host is contacted: the test is about which stream the page shows, not about playing it.
        context.route(re.compile(r"^https?://(?!127\.0\.0\.1)"), lambda route: route.abort())
        contexts.append(context)
        return context.new_page()

    event = httpx.get(f"{day.base_url}/api/v1/events/{SLUG}").json()
    blocks = {b["key"]: b["id"] for b in event["blocks"]}
    codes = {s["key"]: s["join_code"] for s in event["stages"]}
    crowd = People(page(1024, 900), page(1024, 900), page(1024, 900), page(1280, 1000), page(1280, 1000), blocks)

    # 1. Joining with a region: through Östergötland's own link (/j/{code}, its QR), which pre-selects it,
    # and by choosing it in the join form.
    crowd.ost1.goto(f"/j/{codes[OSTERGOTLAND]}")
    expect(crowd.ost1).to_have_url(re.compile(f"/e/{SLUG}\\?stage={OSTERGOTLAND}$"))
    expect(crowd.ost1.locator("#join-stage")).to_have_value(OSTERGOTLAND)
    _join(crowd.ost1, None, "Anna i Linköping")
    crowd.ost2.goto(f"/e/{SLUG}")
    expect(crowd.ost2.locator("#join-stage")).to_have_value(NATIONAL)  # no region until one is chosen
    _join(crowd.ost2, OSTERGOTLAND, "Bertil i Norrköping")
    crowd.skane.goto(f"/e/{SLUG}")
    _join(crowd.skane, SKANE, "Cecilia i Malmö")
    for attendee, region in ((crowd.ost1, OSTERGOTLAND), (crowd.ost2, OSTERGOTLAND), (crowd.skane, SKANE)):
        expect(attendee.locator("#region-select")).to_have_value(region)

    _log_in(crowd.national, NATIONAL_MODERATOR, NATIONAL)
    _log_in(crowd.regional, REGIONAL_MODERATOR, OSTERGOTLAND)
    try:
        yield crowd
    finally:
        for context in contexts:
            context.close()


def _stream(page: Page) -> str:
    return page.locator("#player iframe").get_attribute("src") or ""


def _expect_national(page: Page) -> None:
    """The page follows the national programme: stream, questions, polls, chat."""
    expect(page.locator("#player iframe")).to_have_attribute("src", re.compile("NATIONAL001"), timeout=WAIT)
    expect(page.locator("#question-list")).to_contain_text(NATIONAL_QUESTION)
    expect(page.locator("#question-list")).not_to_contain_text(REGIONAL_QUESTION)
    expect(page.locator("#poll-list")).to_contain_text(NATIONAL_POLL)
    expect(page.locator("#poll-list")).not_to_contain_text(REGIONAL_POLL)
    expect(page.locator("#chat-log")).to_contain_text(NATIONAL_CHAT)
    expect(page.locator("#chat-log")).not_to_contain_text(REGIONAL_CHAT)
    expect(page.locator("#now-next .now")).not_to_contain_text("Regionalt block")


def _expect_ostergotland(page: Page) -> None:
    """The page follows Östergötland's block: its stream, questions, polls and chat, nothing national."""
    expect(page.locator("#player iframe")).to_have_attribute("src", re.compile("REGIONOST01"), timeout=WAIT)
    expect(page.locator("#now-next .now")).to_contain_text("Regionalt block i Östergötland")
    expect(page.locator("#now-next .now h2")).to_have_text("Så gör vi i Östergötland")
    expect(page.locator("#question-list")).not_to_contain_text(NATIONAL_QUESTION)
    expect(page.locator("#poll-list")).to_contain_text(REGIONAL_POLL)
    expect(page.locator("#poll-list")).not_to_contain_text(NATIONAL_POLL)
    expect(page.locator("#chat-log")).not_to_contain_text(NATIONAL_CHAT)


def _create_poll(panel: Page, question: str, options: list[str]) -> None:
    """Create a single-choice poll in the control panel's new-poll form and open it with its Open button."""
    control_tab(panel, "Omröstningar")
    panel.locator("#poll-kind").select_option("single")
    panel.locator("#poll-question").fill(question)
    panel.locator("#poll-options").fill("\n".join(options))
    panel.get_by_role("button", name="Skapa omröstningen").click()
    item = panel.locator("#mod-poll-list li.mod-poll", has_text=question)
    expect(item).to_be_visible(timeout=WAIT)
    item.locator("button[id$='-state']").click()
    expect(item).to_have_class(re.compile("state-open"), timeout=WAIT)


def _answer(page: Page, question: str, option: str) -> None:
    poll = page.locator("#poll-list article.poll-open", has_text=question)
    poll.get_by_label(option, exact=True).check()
    poll.locator("button[id$='-send']").click()
    expect(poll.locator(".poll-mine")).not_to_be_empty(timeout=WAIT)


def _plus_minutes(clock: str, minutes: int) -> str:
    """A time as the page writes it ("10.01" in Swedish) moved by ``minutes``, written the same way."""
    hours, separator, mins = re.fullmatch(r"(\d{1,2})(\D)(\d{2})", clock.strip()).groups()  # type: ignore[union-attr]
    moved = dt.datetime(2000, 1, 1, int(hours), int(mins)) + dt.timedelta(minutes=minutes)
    return f"{moved.hour:02d}{separator}{moved.minute:02d}"


def _programme_times(page: Page, block: str) -> tuple[str, str]:
    times = page.locator(f"#programme #block-{block} .time time")
    return times.nth(0).inner_text(), times.nth(1).inner_text()


def test_moderators_see_their_own_stage(people: People, day: ServedApp):
    """The national moderator picks any stage; the regional one has only Östergötland's panel."""
    expect(people.national.locator("nav.stage-nav a")).to_have_count(3)
    expect(people.national.locator("h1")).to_contain_text("Nationella scenen")
    expect(people.regional.locator("h1")).to_contain_text("Östergötland")
    expect(people.regional.locator("nav.stage-nav")).to_have_count(0)
    # Go live only for Östergötland's own blocks
    expect(people.regional.locator(f"#ros-now-live-{people.blocks['sa-gor-vi-ostergotland']}")).to_be_visible()
    expect(people.regional.locator(f"#ros-live-{people.blocks['nationell-panel']}")).to_have_count(0)
    other = people.regional.context.new_page()
    response = other.goto(f"/e/{SLUG}/control?stage={NATIONAL}")
    assert response is not None and response.status == 403
    other.close()


def test_a_national_poll_is_answered_in_both_regions_with_results_per_region(people: People):
    _create_poll(people.national, NATIONAL_POLL, ["Region", "Kommun", "Privat vårdgivare"])
    for attendee in people.attendees:
        expect(attendee.locator("#poll-list")).to_contain_text(NATIONAL_POLL, timeout=WAIT)
    _answer(people.ost1, NATIONAL_POLL, "Region")
    _answer(people.ost2, NATIONAL_POLL, "Kommun")
    _answer(people.skane, NATIONAL_POLL, "Kommun")
    item = people.national.locator("#mod-poll-list li.mod-poll", has_text=NATIONAL_POLL)
    expect(item.locator(".poll-count")).to_contain_text("3 svar", timeout=WAIT)
    table = item.locator("table.by-region")
    ost = table.locator("tbody tr", has=people.national.locator("th", has_text="Östergötland"))
    skane = table.locator("tbody tr", has=people.national.locator("th", has_text="Skåne"))
    expect(ost.locator("td").first).to_have_text("2", timeout=WAIT)
    expect(skane.locator("td").first).to_have_text("1", timeout=WAIT)
    # Östergötland: Region 50 %, Kommun 50 %; Skåne: Kommun 100 %
    expect(ost.locator("td").nth(1)).to_contain_text("50")
    expect(skane.locator("td").nth(2)).to_contain_text("100")


def test_a_region_switches_by_itself_at_both_boundaries(people: People, day: ServedApp):
    ost1, ost2, skane = people.ost1, people.ost2, people.skane
    # National content first: a question and a chat message from Skåne, which every region sees.
    skane.locator("#question-text").fill(NATIONAL_QUESTION)
    skane.get_by_role("button", name="Ställ frågan").click()
    skane.locator("#chat-text").fill(NATIONAL_CHAT)
    skane.locator("#chat-send").click()
    # The regional moderator prepares a poll for Östergötland: its attendees do not see it yet.
    _create_poll(people.regional, REGIONAL_POLL, ["Långt", "En bit på väg"])
    for attendee in people.attendees:
        _expect_national(attendee)
    expect(ost1.locator("#now-next .next")).to_contain_text("Härnäst: Regionalt block i Östergötland")
    expect(skane.locator("#programme details.other-regions")).to_contain_text("Så gör vi i Östergötland")

    # 6. Someone in Östergötland is typing a question; Skåne's page watches for Östergötland's question.
    ost2.locator("#question-text").fill(TYPING)
    for attendee in (ost2, skane):  # ost2 shows that the watch sees the question where it does arrive
        attendee.evaluate(SEEN_WATCH, REGIONAL_QUESTION)
    for attendee in people.attendees:
        attendee.evaluate("window.__noReload = true")

    # 2. The regional moderator takes Östergötland's block live: its pages switch, Skåne's stay national.
    go_live(people.regional, "Så gör vi i Östergötland")
    for attendee in people.ostergotland:
        _expect_ostergotland(attendee)
    _expect_national(skane)
    assert "REGIONOST01" not in _stream(skane)
    expect(ost2.locator("#question-text")).to_have_value(TYPING)

    # 3. A regional question and chat message: the other Östergötland attendee and panel, never Skåne.
    ost1.locator("#question-text").fill(REGIONAL_QUESTION)
    ost1.get_by_role("button", name="Ställ frågan").click()
    ost1.locator("#chat-text").fill(REGIONAL_CHAT)
    ost1.locator("#chat-send").click()
    for attendee in people.ostergotland:
        expect(attendee.locator("#question-list")).to_contain_text(REGIONAL_QUESTION, timeout=WAIT)
        expect(attendee.locator("#chat-log")).to_contain_text(REGIONAL_CHAT, timeout=WAIT)
    expect(people.regional.locator("#mod-questions")).to_contain_text(REGIONAL_QUESTION, timeout=WAIT)
    expect(people.regional.locator("#mod-questions")).not_to_contain_text(NATIONAL_QUESTION)
    expect(people.national.locator("#mod-questions")).to_contain_text(NATIONAL_QUESTION)
    expect(people.national.locator("#mod-questions")).not_to_contain_text(REGIONAL_QUESTION)
    expect(people.national.locator("#mod-chat")).not_to_contain_text(REGIONAL_CHAT)
    expect(skane.locator("#question-list")).not_to_contain_text(REGIONAL_QUESTION)
    expect(skane.locator("#chat-log")).not_to_contain_text(REGIONAL_CHAT)
    expect(ost2.locator("#question-text")).to_have_value(TYPING)

    # 5. Östergötland runs 10 minutes late: its block on air ends later (its start stays), the national programme
    #    does not move.
    ost_start, ost_end = _programme_times(ost1, "sa-gor-vi-ostergotland")
    panel_in_skane = _programme_times(skane, "nationell-panel")
    panel_in_ost = _programme_times(ost1, "nationell-panel")
    later = _plus_minutes(ost_end, 10)
    control_tab(people.regional, "Mer")
    people.regional.locator("#shift-minutes").fill("10")
    people.regional.get_by_role("button", name="Flytta senare programpunkter").click()
    expect(people.regional.locator("#run-of-show")).to_contain_text("(+10)", timeout=WAIT)
    for attendee in people.ostergotland:
        block = attendee.locator("#programme #block-sa-gor-vi-ostergotland .time time")
        expect(block.nth(1)).to_have_text(later, timeout=WAIT)
        expect(block.nth(0)).to_have_text(ost_start)  # the block on air keeps its start: it runs longer
        expect(attendee.locator("#now-next .now .when time").nth(1)).to_have_text(later)
    assert _programme_times(skane, "nationell-panel") == panel_in_skane
    assert _programme_times(ost1, "nationell-panel") == panel_in_ost
    expect(skane.locator("#programme")).not_to_contain_text("flyttad")
    expect(people.national.locator("#lateness")).not_to_contain_text("försenat")

    # 2. The regional moderator ends the block: Östergötland's pages come back to the national programme.
    people.regional.get_by_role("button", name=re.compile("^Avsluta det regionala blocket nu")).click()
    for attendee in people.ostergotland:
        _expect_national(attendee)
        # and a screen reader hears it (the polite announcer)
        expect(attendee.locator("#live-announcer")).to_contain_text("Ert regionala block är slut", timeout=WAIT)
    _expect_national(skane)
    expect(skane.locator("#live-announcer")).not_to_contain_text("Ert regionala block är slut")
    # 6. What was being typed survived both switches.
    expect(ost2.locator("#question-text")).to_have_value(TYPING)

    # The national poll comes back with the answer given before the switch.
    expect(ost1.locator("#poll-list article", has_text=NATIONAL_POLL).locator(".poll-mine")).not_to_be_empty()
    # 3. Skåne never received Östergötland's question, in the page or over its websocket.
    assert sorted(ost2.evaluate("window.__seen")) == ["dom", "frame"]
    assert skane.evaluate("window.__seen") == []
    for attendee in people.attendees:
        assert attendee.evaluate("window.__noReload") is True  # no page was reloaded
