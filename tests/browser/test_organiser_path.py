"""The organiser's whole path in a real browser, nobody at a terminal after the first admin: the admin (as the
national organiser) uploads a material to the framework's landing place and invites an organiser → the organiser
accepts, makes the Östergötland day from the framework, changes a block, finds the material new on the landing place
and downloads it, and invites a moderator → the moderator accepts, rehearses the day as if today, deletes the
rehearsal and goes live with a block on the draft day → the organiser publishes, and an attendee who joins sees the
changed block live; the programme file the organiser downloads loads with ``ehalsodag agenda load`` into an
identical event."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ehalsodag.settings import PROGRAMMES_DIR
from tests.browser.conftest import CHROMIUM, LAUNCH_ARGS, control_tab, go_live, skip_without_chromium
from tests.conftest import (
    ROOT,
    STAFF_PASSWORD,
    ServedApp,
    load_fixture,
    make_settings,
    make_staff,
    run_sync,
    start_server,
    stop_server,
)
from tests.support.days import dump

skip_without_chromium()

from playwright.sync_api import Browser, Page, expect, sync_playwright  # noqa: E402

pytestmark = pytest.mark.browser

ADMIN, ORGANISER, MODERATOR = "admin@example.se", "e-halsa@regionostergotland.se", "moderator@example.se"
FILE_EVENT = "ostergotland-2021-03-23"
SLUG = "ostergotland-2027-03-23"
FRAMEWORK = "ramprogram-2021"
PDF = b"%PDF-1.4\n% ehalsodag test\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
WAIT = 15_000
NEW_PASSWORD = "ett långt nytt lösenord för dagen"


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[ServedApp]:
    from ehalsodag.db.migrate import upgrade

    folder = tmp_path_factory.mktemp("organiser-path")
    settings = make_settings(folder)
    upgrade(settings)
    run_sync(load_fixture(settings, f"{FILE_EVENT}.toml"))
    run_sync(load_fixture(settings, f"{FRAMEWORK}.toml"))
    run_sync(make_staff(settings, ADMIN, "admin"))  # the first admin: the only terminal step
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


def _page(browser: Browser, served: ServedApp) -> Page:
    context = browser.new_context(base_url=served.base_url, locale="sv-SE", accept_downloads=True)
    context.set_default_timeout(WAIT)
    context.route(re.compile(r"^https?://(?!127\.0\.0\.1)"), lambda route: route.abort())
    return context.new_page()


def _invite(page: Page, email: str, role: str, event: str) -> str:
    page.goto("/studio/staff")
    page.locator("#invite-email").fill(email)
    page.locator("#invite-role").select_option(role)
    page.locator("#invite-event").select_option(event)
    page.locator("form[action='/studio/staff/invitations'] button[type=submit]").click()
    link = page.locator("#invite-link").input_value()
    assert "/invite/" in link
    return link


def _accept(page: Page, link: str) -> None:
    page.goto(link)
    page.locator("#invite-password").fill(NEW_PASSWORD)
    page.locator("#invite-again").fill(NEW_PASSWORD)
    page.locator("form[action^='/invite/'] button[type=submit]").click()
    expect(page).to_have_url(re.compile("/studio$"))


def test_admin_invites_organiser_who_makes_and_publishes_the_day_that_a_moderator_runs(browser, served, tmp_path):
    admin = _page(browser, served)
    admin.goto("/login?next=/studio")
    admin.locator("#email").fill(ADMIN)
    admin.locator("#password").fill(STAFF_PASSWORD)
    admin.locator("form[action='/login'] button[type=submit]").click()
    expect(admin).to_have_url(re.compile("/studio$"))
    # the national organiser's landing place: a material for every region's day
    admin.goto(f"/e/{FRAMEWORK}/framework")
    material = tmp_path / "Körschema.pdf"
    material.write_bytes(PDF)
    admin.locator("#material-title").fill("Körschema för dagen")
    admin.locator("#material-file").set_input_files(str(material))
    admin.get_by_role("button", name="Ladda upp", exact=True).click()
    expect(admin.locator("#materials")).to_contain_text("Körschema för dagen")
    organiser_link = _invite(admin, ORGANISER, "organiser", FILE_EVENT)

    # the organiser accepts, and makes the day from the framework
    organiser = _page(browser, served)
    _accept(organiser, organiser_link)
    organiser.locator("#new-day-link").click()
    organiser.get_by_label("Region").fill("Östergötland")
    organiser.get_by_label("Datum").fill("2027-03-23")
    organiser.get_by_role("button", name="Skapa dagen (utkast)").click()
    expect(organiser).to_have_url(re.compile(f"/studio/e/{SLUG}$"))

    # ... changes a block ...
    organiser.get_by_role("link", name="Redigera Block 1: Individen som medskapare").click()
    organiser.locator("#title").fill("Block 1: Egenmonitorering i Östergötland")
    organiser.locator("#speakers-1-name").fill("Krister Björkegren")
    organiser.get_by_role("button", name="Spara blocket").click()
    expect(organiser.locator("#block-saved")).to_be_visible()

    # ... opens the framework's materials from the day: the run sheet is new, and downloads as it was uploaded
    organiser.goto(f"/e/{SLUG}/framework")
    item = organiser.locator("#materials li").first
    expect(item.locator(".badge")).to_have_text("Ny")
    with organiser.expect_download() as info:
        item.get_by_role("link", name="Körschema för dagen").click()
    assert Path(info.value.path()).read_bytes() == PDF

    # ... and invites a moderator for the day
    moderator_link = _invite(organiser, MODERATOR, "moderator", SLUG)

    # the moderator accepts and goes live with the changed block, on the day still in draft
    moderator = _page(browser, served)
    _accept(moderator, moderator_link)
    expect(moderator.locator(f"#studio-event-{SLUG}")).to_be_visible()
    moderator.goto(f"/e/{SLUG}/control")
    # a rehearsal first, as if today, then deleted with everything in it
    control_tab(moderator, "Mer")
    moderator.get_by_role("button", name="Repetera som om det vore i dag").click()
    expect(moderator).to_have_url(re.compile(f"/e/{SLUG}-repetition-[0-9a-f]+/control$"))
    expect(moderator.locator(".rehearsal-banner")).to_contain_text("Repetition")
    go_live(moderator, "Block 1: Egenmonitorering i Östergötland")
    expect(moderator.locator("#run-of-show tr[aria-current=true]")).to_have_count(1)
    control_tab(moderator, "Mer")
    moderator.get_by_role("button", name="Radera repetitionen och allt i den").click()
    expect(moderator).to_have_url(re.compile(f"/e/{SLUG}/control$"))
    go_live(moderator, "Block 1: Egenmonitorering i Östergötland")
    expect(moderator.locator("#run-of-show tr[aria-current=true]")).to_contain_text(
        "Block 1: Egenmonitorering i Östergötland")

    # nobody else sees the draft until the organiser publishes it; then an attendee finds the block live
    attendee = _page(browser, served)
    assert attendee.goto(f"/e/{SLUG}").status == 404
    organiser.goto(f"/studio/e/{SLUG}")
    organiser.get_by_role("button", name="Publicera").click()
    expect(organiser.locator("#day-status")).to_contain_text("Publicerad")
    assert attendee.goto(f"/e/{SLUG}").status == 200
    attendee.locator("#join form button[type=submit], form[action$='/join'] button[type=submit]").first.click()
    expect(attendee.locator("#now-next")).to_contain_text("Block 1: Egenmonitorering i Östergötland")
    expect(attendee.locator("#now-next")).to_contain_text("Krister Björkegren")

    # the day's programme file, downloaded in the browser, loads into an identical event in a fresh database
    download = organiser.request.get(f"/e/{SLUG}/programme.toml")
    assert download.status == 200
    folder = tmp_path / "git"
    folder.mkdir()
    shutil.copy(PROGRAMMES_DIR / f"{FRAMEWORK}.toml", folder / f"{FRAMEWORK}.toml")
    (folder / "ostergotland.toml").write_bytes(download.body())
    (tmp_path / "fresh").mkdir()
    fresh = make_settings(tmp_path / "fresh")
    env = {**os.environ, "EHALSODAG_DATABASE_URL": fresh.database_url, "EHALSODAG_SECRET_KEY": fresh.secret_key}
    command = [sys.executable, "-m", "ehalsodag.cli", "agenda", "load", str(folder / "ostergotland.toml")]
    loaded = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.splitlines()[-1] == SLUG
    assert run_sync(dump(fresh, SLUG)) == run_sync(dump(served.settings, SLUG))
