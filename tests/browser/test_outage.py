"""A real browser through a Redis outage (issue 15, item 17): the attendee page says it is reconnecting instead of
looking connected while frozen, comes back by itself once Redis is back, shows what happened meanwhile (the
snapshot) and gets pushes again.

Skipped where /usr/bin/chromium or redis-server is missing, unless the service and browser tests are required.
"""

from __future__ import annotations

from dataclasses import replace

import httpx
import pytest

from tests.browser.conftest import skip_without_chromium
from tests.conftest import load_fixture, make_staff, run_sync, start_server, stop_server
from tests.support.faults import ThrowawayRedis, redis_server_missing

skip_without_chromium()

from playwright.sync_api import Browser, expect  # noqa: E402

pytestmark = pytest.mark.browser
SLUG = "ostergotland-2021-03-23"


def test_the_page_rides_out_a_redis_restart(browser: Browser, settings, tmp_path):
    missing = redis_server_missing()
    if missing:
        pytest.skip(missing)
    redis = ThrowawayRedis(tmp_path).start()
    settings = replace(settings, redis_url=redis.url)
    run_sync(load_fixture(settings, f"{SLUG}.toml"))
    staff = {"Authorization": f"Bearer {run_sync(make_staff(settings, 'organiser@example.se', 'organiser', SLUG))}"}
    server = start_server(settings, tmp_path / "server.log")

    def announce(text: str) -> int:
        return httpx.post(f"{server.base_url}/api/v1/events/{SLUG}/announcement", json={"text": text},
                          headers=staff).status_code

    try:
        page = browser.new_context(base_url=server.base_url).new_page()
        page.goto(f"/e/{SLUG}")
        page.locator("form[action$='/join'] button").click()
        expect(page.locator("#connection[data-state=open]")).to_be_attached(timeout=5000)
        assert announce("Före avbrottet") == 200
        expect(page.locator("#announcement")).to_contain_text("Före avbrottet", timeout=3000)

        redis.kill()
        expect(page.locator("#connection[data-state=closed]")).to_be_attached(timeout=5000)
        expect(page.locator("#connection")).to_have_text("Anslutningen bröts – ansluter igen…")
        assert announce("Under avbrottet") == 200  # the moderator's action is saved and answered

        redis.start()
        expect(page.locator("#connection[data-state=open]")).to_be_attached(timeout=15000)
        expect(page.locator("#announcement")).to_contain_text("Under avbrottet")  # the snapshot caught up
        assert announce("Efter avbrottet") == 200
        expect(page.locator("#announcement")).to_contain_text("Efter avbrottet", timeout=3000)
    finally:
        stop_server(server)
        redis.kill()
