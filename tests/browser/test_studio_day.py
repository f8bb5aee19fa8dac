"""The organiser's path in a real browser: log in → New day from the framework → edit a block (a problem shown
beside its field, inline with htmx; then saved) → download the programme file → upload it back (first with a
problem, shown by line; then changed) → publish, after which an anonymous visitor sees the day."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator

import pytest

from tests.browser.conftest import CHROMIUM, LAUNCH_ARGS, skip_without_chromium
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

from playwright.sync_api import Browser, expect, sync_playwright  # noqa: E402

from tests.browser.test_accessibility import axe_violations  # noqa: E402

pytestmark = pytest.mark.browser

ORGANISER = "arrangor@example.se"
SLUG = "ostergotland-2027-03-23"
WAIT = 15_000


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[ServedApp]:
    from ehalsodag.db.migrate import upgrade

    folder = tmp_path_factory.mktemp("studio-day")
    settings = make_settings(folder)
    upgrade(settings)
    run_sync(load_fixture(settings, "ostergotland-2021-03-23.toml"))
    run_sync(make_staff(settings, ORGANISER, "organiser", "ostergotland-2021-03-23"))
    server = start_server(settings, folder / "server.log")
    try:
        yield server
    finally:
        stop_server(server)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        yield instance
        instance.close()


def test_new_day_edit_download_upload_publish(browser: Browser, served: ServedApp, tmp_path):
    # bypass_csp lets the test inject axe-core (WCAG 2.1 AA) into each studio page it passes
    context = browser.new_context(base_url=served.base_url, locale="sv-SE", accept_downloads=True, bypass_csp=True)
    context.set_default_timeout(WAIT)
    context.route(re.compile(r"^https?://(?!127\.0\.0\.1)"), lambda route: route.abort())
    page = context.new_page()
    page.goto("/login?next=/studio")
    page.locator("#email").fill(ORGANISER)
    page.locator("#password").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Logga in").click()
    expect(page).to_have_url(re.compile("/studio$"))
    page.get_by_role("link", name="Ny dag från ramprogrammet").click()
    expect(page).to_have_url(re.compile("/studio/new$"))
    violations = {"new day": axe_violations(page)}

    # New day: the framework, the region, the date; the moderator placeholder filled in too
    page.get_by_label("Ramprogram").select_option("ramprogram-2021.toml")
    page.get_by_label("Region").fill("Östergötland")
    page.get_by_label("Datum").fill("2027-03-23")
    page.get_by_label("I programmet: {moderator}").fill("Karin Moderatorsson")
    page.get_by_role("button", name="Skapa dagen (utkast)").click()
    expect(page).to_have_url(re.compile(f"/studio/e/{SLUG}$"))
    expect(page.locator("#day-status")).to_contain_text("Utkast")
    expect(page.locator("#block-oppning")).to_contain_text("Karin Moderatorsson")
    violations["day"] = axe_violations(page)

    # edit a block: a problem appears beside its field without leaving the page, then a good save
    page.get_by_role("link", name="Redigera Block 1: Individen som medskapare").click()
    expect(page).to_have_url(re.compile("/blocks/block-1$"))
    page.locator("#end").fill("09:30")
    page.evaluate("window.stillThisPage = true")  # gone if the browser loaded a new page instead of htmx swapping
    page.evaluate("document.getElementById('block-form-status').dataset.kept = 'yes'")
    page.get_by_role("button", name="Spara blocket").click()
    expect(page.locator("#error-end")).to_contain_text("before or when it starts")
    assert page.evaluate("window.stillThisPage === true"), "the problem appears in place (htmx)"
    expect(page.locator("#block-form-status[data-kept=yes]")).to_contain_text("Inte sparat"), \
        "the polite live region stays in the page (so it is announced); only its text changes"
    expect(page.locator("#end")).to_have_attribute("aria-invalid", "true")
    expect(page).to_have_url(re.compile("/blocks/block-1$"))
    violations["block with a problem"] = axe_violations(page)
    page.locator("#end").fill("11:00")
    page.locator("#title").fill("Block 1: Invånaren som medskapare i Östergötland")
    page.locator("#speakers-1-name").fill("Krister Björkegren")
    page.locator("#speakers-1-role").fill("regiondirektör")
    page.locator("#speakers-1-organisation").fill("Region Östergötland")
    page.get_by_role("button", name="Spara blocket").click()
    expect(page.locator("#block-saved")).to_be_visible()
    expect(page.locator("#error-end")).to_have_count(0)

    # download the day as a programme file
    page.get_by_role("link", name=re.compile("Tillbaka till programmet")).click()
    expect(page.locator("#block-block-1")).to_contain_text("Invånaren som medskapare i Östergötland")
    with page.expect_download() as download:
        page.locator("#download-programme").click()
    path = tmp_path / "downloaded.toml"
    download.value.save_as(path)
    text = path.read_text("utf-8")
    doc = tomllib.loads(text)
    assert doc["event"]["extends"] == "ramprogram-2021.toml"
    assert doc["placeholders"] == {"region": "Östergötland", "moderator": "Karin Moderatorsson"}
    assert doc["blocks"][0]["speakers"][1]["name"] == "Krister Björkegren"

    # upload: first with a problem (shown by line, nothing changed), then changed
    broken = tmp_path / "broken.toml"
    broken.write_text(text.replace('date = 2027-03-23', 'date = 2027-03-23\nretention_days = 0'), "utf-8")
    page.locator("#programme-file").set_input_files(str(broken))
    page.get_by_role("button", name="Ladda upp och läs in").click()
    expect(page.locator("#upload-problems")).to_contain_text("event.retention_days")
    line = text.splitlines().index("date = 2027-03-23") + 2
    expect(page.locator("#upload-problems")).to_contain_text(f"rad {line}")
    violations["upload with a problem"] = axe_violations(page)
    changed = tmp_path / "changed.toml"
    changed.write_text(text.replace('title = "Regional e-hälsokonferens Östergötland"',
                                    'title = "E-hälsodagen i Östergötland"'), "utf-8")
    page.locator("#programme-file").set_input_files(str(changed))
    page.get_by_role("button", name="Ladda upp och läs in").click()
    expect(page).to_have_url(re.compile(f"/studio/e/{SLUG}$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("E-hälsodagen i Östergötland")

    # publish: now anybody finds it
    visitor = browser.new_context(base_url=served.base_url, locale="sv-SE").new_page()
    assert visitor.goto(f"/e/{SLUG}").status == 404
    page.get_by_role("button", name="Publicera").click()
    expect(page.locator("#day-status")).to_contain_text("Publicerad")
    assert visitor.goto(f"/e/{SLUG}").status == 200
    expect(visitor.get_by_role("heading", level=1)).to_contain_text("E-hälsodagen i Östergötland")
    page.goto("/studio")  # the day in the organiser's studio home, no longer a draft
    expect(page.locator(f"#studio-event-{SLUG}")).to_contain_text("Program och publicering")
    expect(page.locator(f"#studio-event-{SLUG}")).not_to_contain_text("utkast")
    visitor.context.close()
    page.goto(f"/studio/e/{SLUG}/evaluation")
    violations["evaluation questions"] = axe_violations(page)
    for path in ("/studio/new", f"/studio/e/{SLUG}", f"/studio/e/{SLUG}/blocks/block-1"):  # and in English
        page.goto(f"/lang/en?next={path}")
        expect(page.locator("html")).to_have_attribute("lang", "en")
        violations[f"{path} (en)"] = axe_violations(page)
    context.close()
    assert {name: found for name, found in violations.items() if found} == {}
