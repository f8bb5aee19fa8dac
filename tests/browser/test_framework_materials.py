"""A real browser (Debian's Chromium via Playwright): the national organiser uploads a material to the framework's
landing place; a regional organiser opens it from their day's control panel, sees it marked new, downloads it
(an attachment, byte for byte) and on the next visit it is no longer new. The pages pass axe (WCAG 2.1 AA);
a moderator rehearses the day and deletes the rehearsal with one click.

Skipped where /usr/bin/chromium is missing, unless EHALSODAG_TEST_BROWSER=required (as in .ci/run).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.browser.conftest import control_tab, skip_without_chromium
from tests.conftest import STAFF_PASSWORD, ServedApp, load_fixture, make_staff, run_sync, start_server, stop_server

skip_without_chromium()

from playwright.sync_api import Browser, Page, expect  # noqa: E402

from tests.browser.test_accessibility import axe_violations  # noqa: E402

pytestmark = pytest.mark.browser
FRAMEWORK = "ramprogram-2021"
DAY = "ostergotland-2021-03-23"
PDF = b"%PDF-1.4\n% ehalsodag test\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def days(settings, tmp_path) -> Iterator[ServedApp]:
    for name in (FRAMEWORK, DAY):
        run_sync(load_fixture(settings, f"{name}.toml"))
    run_sync(make_staff(settings, "national@example.se", "organiser", FRAMEWORK))
    run_sync(make_staff(settings, "region@example.se", "organiser", DAY))
    run_sync(make_staff(settings, "moderator@example.se", "moderator", DAY))
    server = start_server(settings, tmp_path / "server.log")
    try:
        yield server
    finally:
        stop_server(server)


def login(page: Page, email: str, target: str) -> None:
    page.goto(f"/login?next={target}")
    page.locator("#email").fill(email)
    page.locator("#password").fill(STAFF_PASSWORD)
    page.locator("form.stack button[type=submit]").click()
    expect(page).to_have_url(re.compile(re.escape(target) + "$"))


def test_upload_then_a_regional_organiser_sees_it_new_and_downloads_it(browser: Browser, days: ServedApp,
                                                                        tmp_path: Path):
    national = browser.new_context(base_url=days.base_url, bypass_csp=True).new_page()
    login(national, "national@example.se", f"/e/{FRAMEWORK}/framework")
    assert axe_violations(national) == []
    material = tmp_path / "Körschema Östergötland.pdf"
    material.write_bytes(PDF)
    national.locator("#material-title").fill("Körschema för dagen")
    national.locator("#material-file").set_input_files(str(material))
    national.get_by_role("button", name="Ladda upp", exact=True).click()
    expect(national.locator("#materials")).to_contain_text("Körschema för dagen")
    # a disguised page is refused with the reason beside the field, and nothing is added
    fake = tmp_path / "broschyr.pdf"
    fake.write_bytes(b"<!doctype html><script>alert(1)</script>")
    national.locator("#material-file").set_input_files(str(fake))
    national.get_by_role("button", name="Ladda upp", exact=True).click()
    expect(national.locator("#material-error")).to_contain_text("PDF")
    expect(national.locator("#material-file")).to_have_attribute("aria-invalid", "true")
    expect(national.locator("#materials li")).to_have_count(1)

    region = browser.new_context(base_url=days.base_url, accept_downloads=True, bypass_csp=True).new_page()
    login(region, "region@example.se", f"/e/{DAY}/control")
    control_tab(region, "Mer")
    region.get_by_role("link", name="Material från ramprogrammet").click()
    expect(region).to_have_url(re.compile(f"/e/{DAY}/framework$"))
    item = region.locator("#materials li").first
    expect(item.locator(".badge")).to_have_text("Ny")
    expect(region.locator("#new-count")).to_contain_text("1 ny sedan ditt senaste besök")
    expect(region.locator("#material-file")).to_have_count(0)  # a region does not upload to the framework
    assert axe_violations(region) == []
    with region.expect_download() as info:
        item.get_by_role("link", name="Körschema för dagen").click()
    download = info.value
    assert download.suggested_filename == "Körschema Östergötland.pdf"
    assert Path(download.path()).read_bytes() == PDF
    region.reload()
    expect(region.locator("#materials li").first.locator(".badge")).to_have_count(0)
    expect(region.locator("#new-count")).to_contain_text("Inget nytt")


def test_a_moderator_rehearses_the_day_and_deletes_the_rehearsal(browser: Browser, days: ServedApp):
    page = browser.new_context(base_url=days.base_url).new_page()
    login(page, "moderator@example.se", f"/e/{DAY}/control")
    control_tab(page, "Mer")
    page.get_by_role("button", name="Repetera som om det vore i dag").click()
    expect(page).to_have_url(re.compile(f"/e/{DAY}-repetition-[0-9a-f]+/control$"))
    expect(page.locator(".rehearsal-banner")).to_contain_text("Repetition")
    copy = page.url.split("/e/")[1].split("/")[0]
    page.get_by_text("Hela körschemat").click()
    page.locator("#run-of-show button").nth(1).click()  # go live with a block, as on the day
    expect(page.locator("#run-of-show tr[aria-current=true]")).to_have_count(1, timeout=5000)
    control_tab(page, "Mer")
    page.get_by_role("button", name="Radera repetitionen och allt i den").click()
    expect(page).to_have_url(re.compile(f"/e/{DAY}/control$"))
    expect(page.locator(".rehearsal-banner")).to_have_count(0)
    assert httpx.get(f"{days.base_url}/api/v1/events/{copy}").status_code == 404


def test_the_organiser_publishes_a_poll_to_the_archive_and_attendees_see_it(browser: Browser, days: ServedApp):
    organiser = browser.new_context(base_url=days.base_url, bypass_csp=True).new_page()
    login(organiser, "region@example.se", f"/e/{DAY}/control")
    control_tab(organiser, "Mer")
    organiser.get_by_role("link", name="Arkiv", exact=True).click()
    expect(organiser).to_have_url(re.compile(f"/e/{DAY}/archive$"))
    expect(organiser.locator("#archive-chapters li").first).to_contain_text("Se från 0:00:00")
    assert axe_violations(organiser) == []
    organiser.locator("[id^=publish-poll-]").first.click()
    expect(organiser.locator("[id^=archive-poll-]")).to_have_count(1)
    organiser.locator("#publish-evaluation").click()
    expect(organiser.locator("#evaluation-summary-link")).to_be_visible()

    visitor = browser.new_context(base_url=days.base_url, bypass_csp=True).new_page()
    visitor.goto(f"/e/{DAY}/archive")
    expect(visitor.locator("[id^=archive-poll-]")).to_have_count(1)
    expect(visitor.locator("[id^=publish-poll-]")).to_have_count(0)  # the switches are the organiser's
    assert axe_violations(visitor) == []
    visitor.locator("#evaluation-summary-link").click()
    expect(visitor).to_have_url(re.compile(f"/e/{DAY}/archive/evaluation$"))
    assert axe_violations(visitor) == []
