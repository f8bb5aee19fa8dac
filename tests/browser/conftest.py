"""Shared set-up of the browser tests: Debian's Chromium driven by Playwright, never a downloaded browser."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
REQUIRED = os.environ.get("EHALSODAG_TEST_BROWSER") == "required"
LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--no-first-run"]


def skip_without_chromium() -> None:
    """Skip the calling test module where Chromium is missing, unless the browser tests are required."""
    if not Path(CHROMIUM).exists() and not REQUIRED:
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium); set EHALSODAG_TEST_BROWSER=required to "
                    "fail instead", allow_module_level=True)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One Chromium per test module. Not per session: Playwright's sync API keeps an event loop running
    in this thread while it is open, which the other tests' asyncio.run() must not meet."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        yield instance
        instance.close()


# --- the moderator's cockpit (control/panel.html): its parts sit in tabs, the full run-of-show is folded -----------


def control_tab(page: Any, name: str) -> None:
    """Show a tab of the control panel ("Frågor", "Omröstningar", "Chatt", "Utvärdering", "Mer"), or one of the
    question views ("Inkommande", "Godkända", "På scenen", "Besvarad", "Dolda")."""
    import re

    page.get_by_role("tab", name=re.compile("^" + re.escape(name))).click()


def go_live(page: Any, title: str) -> None:
    """Take a block live from the control panel: the compact "next" button if it is that block, else the button in
    the full run-of-show (unfolded first)."""
    compact = page.locator("#ros-now").get_by_role("button", name=f"Starta: {title}")
    if compact.count():
        compact.click()
        return
    folded = page.locator("#ros-all")
    if folded.get_attribute("open") is None:
        folded.locator("summary").click()
    page.locator("#run-of-show").get_by_role("button", name=f"Starta: {title}").click()
