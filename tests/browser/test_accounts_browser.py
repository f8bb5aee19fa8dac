"""Accounts in a real browser, with nobody at a terminal after the first admin: the admin invites an organiser,
the organiser accepts and sets a password (without JavaScript), invites a moderator, and the moderator logs in and
opens the control panel. Every account page passes axe (WCAG 2.1 AA).

Skipped where /usr/bin/chromium is missing, unless EHALSODAG_TEST_BROWSER=required.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.browser.conftest import skip_without_chromium
from tests.conftest import STAFF_PASSWORD, ServedApp, load_fixture, make_staff, run_sync, start_server, stop_server

SLUG = "ostergotland-2021-03-23"

skip_without_chromium()

from playwright.sync_api import Browser, Page, expect  # noqa: E402

from tests.browser.test_accessibility import axe_violations  # noqa: E402

pytestmark = pytest.mark.browser


@pytest.fixture
def served_day(settings, tmp_path) -> Iterator[ServedApp]:
    run_sync(load_fixture(settings, f"{SLUG}.toml"))
    run_sync(load_fixture(settings, "other.toml"))
    run_sync(make_staff(settings, "admin@example.se", "admin"))  # the first admin, from the command line
    server = start_server(settings, tmp_path / "server.log")
    try:
        yield server
    finally:
        stop_server(server)


def log_in(page: Page, base: str, email: str, password: str) -> None:
    page.goto(f"{base}/studio")  # sent to the login form, and back afterwards
    page.get_by_label("E-postadress").fill(email)
    page.get_by_label("Lösenord").fill(password)
    page.get_by_role("button", name="Logga in").click()
    expect(page).to_have_url(f"{base}/studio")


def no_violations(page: Page) -> None:
    assert axe_violations(page) == [], page.url


def test_admin_invites_organiser_who_invites_a_moderator_who_logs_in(browser: Browser, served_day: ServedApp):
    base = served_day.base_url
    # bypass_csp lets the test inject axe-core; the pages themselves allow scripts from the server only
    admin = browser.new_context(base_url=base, bypass_csp=True).new_page()
    log_in(admin, base, "admin@example.se", STAFF_PASSWORD)
    no_violations(admin)
    admin.get_by_role("link", name="Personal och inbjudningar").click()
    no_violations(admin)
    admin.get_by_label("E-postadress", exact=True).fill("samordnare@regionostergotland.se")
    admin.get_by_label("Roll", exact=True).select_option("organiser")
    admin.get_by_label("Evenemang", exact=True).select_option(SLUG)
    admin.get_by_role("button", name="Skapa inbjudningslänk").click()
    link = admin.get_by_label("Inbjudningslänk").input_value()
    assert link.startswith(f"{base}/invite/")
    no_violations(admin)

    # the organiser, in a browser without JavaScript
    organiser_context = browser.new_context(base_url=base, java_script_enabled=False)
    organiser = organiser_context.new_page()
    organiser.goto(link)
    expect(organiser.get_by_text("inbjuden som Arrangör")).to_be_visible()
    organiser.get_by_label("Lösenord", exact=True).fill("sommar2024")
    organiser.get_by_label("Lösenord igen").fill("sommar2024")
    organiser.get_by_role("button", name="Tacka ja till inbjudan").click()
    expect(organiser.get_by_role("alert")).to_contain_text("för lätt att gissa")
    organiser.get_by_label("Lösenord", exact=True).fill("Vätternrundan i motvind 1966")
    organiser.get_by_label("Lösenord igen").fill("Vätternrundan i motvind 1966")
    organiser.get_by_role("button", name="Tacka ja till inbjudan").click()
    expect(organiser).to_have_url(f"{base}/studio")
    expect(organiser.locator(f"#studio-event-{SLUG}")).to_contain_text("Arrangör")
    assert organiser.locator("#studio-event-other").count() == 0
    organiser.get_by_role("link", name="Personal och inbjudningar").click()
    assert organiser.get_by_label("Roll", exact=True).locator("option").all_inner_texts() == ["Moderator"]
    organiser.get_by_label("E-postadress", exact=True).fill("moderator@regionostergotland.se")
    organiser.get_by_role("button", name="Skapa inbjudningslänk").click()
    moderator_link = organiser.get_by_label("Inbjudningslänk").input_value()
    expect(organiser.locator("#pending-invitations")).to_contain_text("moderator@regionostergotland.se")

    moderator_context = browser.new_context(base_url=base, bypass_csp=True)
    moderator = moderator_context.new_page()
    moderator.goto(moderator_link)
    no_violations(moderator)
    moderator.get_by_label("Lösenord", exact=True).fill("Roxen och Glan en tisdag")
    moderator.get_by_label("Lösenord igen").fill("Roxen och Glan en tisdag")
    moderator.get_by_role("button", name="Tacka ja till inbjudan").click()
    expect(moderator).to_have_url(f"{base}/studio")
    moderator.get_by_role("button", name="Logga ut").click()
    # the link is spent; the moderator logs in with the password they chose
    moderator.goto(moderator_link)
    expect(moderator.locator("#invitation-problem")).to_contain_text("redan använts")
    log_in(moderator, base, "moderator@regionostergotland.se", "Roxen och Glan en tisdag")
    expect(moderator.locator(f"#studio-event-{SLUG}")).to_contain_text("Moderator")
    moderator.locator(f"#studio-event-{SLUG}").get_by_role("link", name="Kontrollpanel").click()
    expect(moderator.locator("#ros-now")).to_be_visible()
    moderator.goto(f"{base}/studio/tokens")
    no_violations(moderator)
    moderator.goto(f"{base}/studio/password")
    no_violations(moderator)

    # the organiser sees the new moderator on the staff page and can remove the role
    organiser.goto(f"{base}/studio/staff")
    row = organiser.locator("#staff-roles tr", has_text="moderator@regionostergotland.se")
    row.get_by_role("button", name="Ta bort").click()
    expect(organiser.get_by_role("status")).to_contain_text("Rollen togs bort")
    moderator.goto(f"{base}/e/{SLUG}/control")
    expect(moderator).to_have_url(f"{base}/login?next=/e/{SLUG}/control")
    for context in (organiser_context, moderator_context, admin.context):
        context.close()
