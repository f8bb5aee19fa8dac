"""Screenshots of joining by code for the README (docs/screenshots/code-entry-*.png).

Drives Debian's Chromium (Playwright, the launch settings of tests/browser/conftest.py; never a downloaded browser)
at phone size against a running ``ehalsodag serve --demo``:

- ``code-entry-phone.png``: ``/kod`` with a code typed the way people read it aloud ("882 803");
- ``code-entry-attendee-phone.png``: the attendee page it lands on, the join code large at the top.

Run from the repository root, with ``make run`` (or ``ehalsodag serve --demo``) answering on BASE:
``.venv/bin/python tools/screenshots_code_entry.py --base http://127.0.0.1:8000 [--slug SLUG] [--output DIR]``.
Nothing but the local server is contacted.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"  # as tests/browser/conftest.py
LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--no-first-run"]


def shoot(base: str, slug: str, output: Path) -> list[Path]:
    """The two screenshots; returns their paths."""
    from playwright.sync_api import sync_playwright

    code = httpx.get(f"{base}/api/v1/events/{slug}", timeout=10).raise_for_status().json()["join_code"]
    output.mkdir(parents=True, exist_ok=True)
    shots = [output / "code-entry-phone.png", output / "code-entry-attendee-phone.png"]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        try:
            context = browser.new_context(viewport={"width": 390, "height": 844}, base_url=base, locale="sv-SE",
                                          device_scale_factor=1, is_mobile=True, has_touch=True)
            context.route(lambda url: not url.startswith(base), lambda route: route.abort())
            context.set_default_timeout(10_000)
            page = context.new_page()
            page.goto("/kod")
            page.locator("input[name=code]").fill(f"{code[:3]} {code[3:]}")
            page.screenshot(path=str(shots[0]))
            page.locator("input[name=code]").press("Enter")
            page.wait_for_url(lambda url: f"/e/{slug}" in url)
            page.wait_for_load_state("networkidle")
            page.screenshot(path=str(shots[1]))
        finally:
            browser.close()
    return shots


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="http://127.0.0.1:8000")
    parser.add_argument("--slug", default="ostergotland-2021-03-23")
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args()
    for path in shoot(args.base.rstrip("/"), args.slug, args.output):
        print(path)


if __name__ == "__main__":
    main()
