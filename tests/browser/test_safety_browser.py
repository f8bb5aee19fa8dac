"""The moderator's safety nets in Debian's Chromium at 1366×768: hide and "Ångra", mute and unmute from the muted
list, delete a chat message and "Ångra", reset a poll only after confirming, the shift field that clears after use,
and "Avsluta sändningen". One served app, one moderator page.

Skipped where /usr/bin/chromium is missing, unless EHALSODAG_TEST_BROWSER=required (as in .ci/run).
"""

from __future__ import annotations

import re

import httpx
import pytest

from tests.browser.conftest import control_tab, skip_without_chromium
from tests.conftest import STAFF_PASSWORD, make_staff, run_sync

skip_without_chromium()

from playwright.sync_api import Browser, Page, expect  # noqa: E402

pytestmark = pytest.mark.browser

SLUG = "regional"
WAIT = 15_000


def _login(page: Page, email: str) -> None:
    page.goto(f"/login?next=/e/{SLUG}/control")
    page.locator("#email").fill(email)
    page.locator("#password").fill(STAFF_PASSWORD)
    page.locator("form.stack button[type=submit]").click()
    expect(page).to_have_url(re.compile("/control$"))
    expect(page.locator("#connection")).to_have_text("Liveuppdateringar på", timeout=WAIT)


def test_a_moderator_undoes_confirms_and_ends_the_broadcast(browser: Browser, served):
    base = served.base_url
    email = "safety@example.se"
    staff = {"Authorization": f"Bearer {run_sync(make_staff(served.settings, email, 'moderator', SLUG))}"}

    def call(method: str, path: str, headers: dict[str, str] | None = None, **body: object) -> dict:
        response = httpx.request(method, base + path, headers=headers or staff, json=body or None, timeout=15)
        assert response.status_code < 400, response.text
        return response.json()

    joined = call("POST", f"/api/v1/events/{SLUG}/join", {}, display_name="Eva Hemlig")
    eva = {"Authorization": f"Bearer {joined['attendee_token']}"}
    first_block = call("GET", f"/api/v1/events/{SLUG}", {})["blocks"][0]["id"]
    call("POST", f"/api/v1/events/{SLUG}/live", block_id=first_block)
    question = call("POST", f"/api/v1/events/{SLUG}/questions", eva, text="Varför dröjer journalen?")["id"]
    message = call("POST", f"/api/v1/events/{SLUG}/chat", eva, text="Köp billiga klockor här")["id"]
    poll = call("POST", f"/api/v1/events/{SLUG}/polls", kind="scale", question="Hur nöjd är du?", scale_min=1,
                scale_max=5)["id"]
    call("POST", f"/api/v1/polls/{poll}/open")
    call("POST", f"/api/v1/polls/{poll}/responses", eva, value=5)

    context = browser.new_context(viewport={"width": 1366, "height": 768}, base_url=base)
    page = context.new_page()
    _login(page, email)

    # hide, then "Ångra" beside where it happened: the question comes back
    page.locator(f"#mq-{question}-hide").click()
    expect(page.locator(f"#mqs-{question}")).to_have_count(0, timeout=WAIT)
    undo = page.locator("#mod-questions .undo-box button")
    expect(undo).to_be_visible(timeout=WAIT)
    expect(undo).to_have_text("Ångra")
    undo.click()
    expect(page.locator(f"#mqs-{question}")).to_be_visible(timeout=WAIT)
    expect(page.locator("#mod-questions")).to_contain_text("Ångrat: frågan visas igen", timeout=WAIT)

    # delete a chat message, then "Ångra": it is back in the list
    control_tab(page, "Chatt")
    page.locator(f"#mc-{message}-delete").click()
    expect(page.locator(f"#mc-{message}")).to_have_count(0, timeout=WAIT)
    undo = page.locator("#mod-chat .undo-box button")
    expect(undo).to_be_visible(timeout=WAIT)
    undo.click()
    expect(page.locator(f"#mc-{message}")).to_be_visible(timeout=WAIT)

    # mute for the day: the muted list shows the pseudonym (never the name she did not show); unmute from it
    page.locator(f"#mc-{message}-mute").click()
    muted = page.locator(f"#mm-{joined['attendee_id']}")
    expect(muted).to_be_visible(timeout=WAIT)
    expect(muted).not_to_contain_text("Eva")
    refused = httpx.post(f"{base}/api/v1/events/{SLUG}/chat", headers=eva, json={"text": "Igen"})
    assert refused.status_code == 403
    page.locator(f"#mm-{joined['attendee_id']}-unmute").click()
    expect(muted).to_have_count(0, timeout=WAIT)
    assert httpx.post(f"{base}/api/v1/events/{SLUG}/chat", headers=eva, json={"text": "Förlåt"}).status_code == 201

    # reset asks first: "Avbryt" keeps the answers, "OK" resets
    control_tab(page, "Omröstningar")
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.locator(f"#mp-{poll}-reset").click()
    page.wait_for_timeout(500)
    assert next(p for p in call("GET", f"/api/v1/events/{SLUG}/polls", {}) if p["id"] == poll)["state"] == "open"
    expect(page.locator(f"#mp-{poll}")).to_have_class(re.compile("state-open"))
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator(f"#mp-{poll}-reset").click()
    expect(page.locator(f"#mp-{poll}")).to_have_class(re.compile("state-draft"), timeout=WAIT)

    # the shift field clears after use: a second click cannot shift again
    control_tab(page, "Mer")
    minutes = page.locator("#shift-minutes")
    minutes.fill("10")
    minutes.press("Enter")
    expect(page.get_by_text("Senare block flyttade 10 min")).to_be_visible(timeout=WAIT)
    expect(minutes).to_have_value("")
    before = call("GET", f"/api/v1/events/{SLUG}", {})
    page.locator("#shift-minutes ~ button[type=submit]").click()
    page.wait_for_timeout(500)
    assert call("GET", f"/api/v1/events/{SLUG}", {}) == before

    # end the broadcast, after confirming; a second press changes nothing and says so
    call("POST", f"/api/v1/polls/{poll}/open")
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("#end-broadcast").click()
    expect(page.get_by_text("Sändningen är avslutad.")).to_be_visible(timeout=WAIT)
    expect(page.locator(f"#mp-{poll}")).to_have_class(re.compile("state-closed"), timeout=WAIT)
    attendee = context.new_page()
    attendee.set_extra_http_headers(eva)
    attendee.goto(f"/e/{SLUG}")
    expect(attendee.locator("#chat-form-area")).to_contain_text("Sändningen är slut och chatten är stängd")
    expect(attendee.locator("#evaluation")).to_be_visible()
    attendee.close()
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("#end-broadcast").click()
    expect(page.get_by_text("Sändningen är redan avslutad – inget ändrades.")).to_be_visible(timeout=WAIT)
    context.close()
