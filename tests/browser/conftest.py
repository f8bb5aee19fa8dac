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
