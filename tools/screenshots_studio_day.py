"""Screenshots of "Arrange a day" for the README (docs/screenshots/studio-*.png).

Serves a fresh SQLite database with one organiser (``ehalsodag user add``, the only terminal step) and drives
Debian's Chromium (Playwright, the launch settings of tests/browser/conftest.py; never a downloaded browser)
through the organiser's path in the browser:

- ``studio-new-day.png``: New day, from the 2021 framework programme, for Östergötland;
- ``studio-block-problem.png``: the block editor with a problem beside its field (as ``agenda check`` says it);
- ``studio-day.png``: the day's programme with its tools (edit, earlier, later, remove; add a block; download
  and upload the programme file; publish);
- ``studio-upload-problem.png``: an uploaded programme file refused, its problems by line.

Run from the repository root: ``.venv/bin/python tools/screenshots_studio_day.py [--output DIR]``.
Nothing but the local server is contacted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from ehalsodag.db.engine import Database
from ehalsodag.db.migrate import upgrade
from ehalsodag.settings import Settings
from ehalsodag.staff.service import add_user

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"  # as tests/browser/conftest.py
LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--no-first-run"]
ORGANISER = "e-halsa@regionostergotland.se"
PASSWORD = "skarmbilder-studio-dag"


async def prepare(settings: Settings) -> None:
    """The organiser (an organiser of every event may make new days)."""
    db = Database(settings)
    try:
        async with db.unit_of_work() as session:
            await add_user(session, ORGANISER, PASSWORD, "organiser")
    finally:
        await db.dispose()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def served(settings: Settings, folder: Path) -> Iterator[str]:
    """``ehalsodag serve`` on a loopback port; yields its base URL."""
    port = _free_port()
    env = {**os.environ, "EHALSODAG_DATABASE_URL": settings.database_url, "EHALSODAG_SECRET_KEY": settings.secret_key,
           "EHALSODAG_VAR_DIR": str(folder)}
    env.pop("EHALSODAG_REDIS_URL", None)
    env.pop("EHALSODAG_BASE_URL", None)
    log = (folder / "server.log").open("wb")
    process = subprocess.Popen([sys.executable, "-m", "ehalsodag.cli", "serve", "--host", "127.0.0.1",
                                "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the server did not start:\n{(folder / 'server.log').read_text()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(base + "/", timeout=1).status_code == 200:
                    break
            time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def shoot(base: str, output: Path, folder: Path) -> list[Path]:
    """The organiser's path, a screenshot at each step."""
    from playwright.sync_api import expect, sync_playwright

    output.mkdir(parents=True, exist_ok=True)
    shots: list[Path] = []
    day = dt.date.today() + dt.timedelta(days=60)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 1000}, base_url=base, locale="sv-SE",
                                          accept_downloads=True)
            context.route(lambda url: not url.startswith(base), lambda route: route.abort())
            context.set_default_timeout(10_000)
            page = context.new_page()
            page.goto("/login?next=/studio/new")
            page.locator("#email").fill(ORGANISER)
            page.locator("#password").fill(PASSWORD)
            page.locator("form[action='/login'] button[type=submit]").click()
            page.wait_for_url(lambda url: url.endswith("/studio/new"))

            page.get_by_label("Region").fill("Östergötland")
            page.get_by_label("Datum").fill(day.isoformat())
            page.get_by_label("I programmet: {moderator}").fill("Karin Lindqvist")
            shots.append(output / "studio-new-day.png")
            page.screenshot(path=str(shots[-1]))
            page.get_by_role("button", name="Skapa dagen (utkast)").click()
            page.wait_for_url(lambda url: "/studio/e/" in url)
            slug = page.url.rsplit("/", 1)[1]

            page.goto(f"/studio/e/{slug}/blocks/block-1")
            page.locator("#speakers-1-name").fill("Krister Björkegren")
            page.locator("#speakers-1-role").fill("regiondirektör")
            page.locator("#speakers-1-organisation").fill("Region Östergötland")
            page.locator("#end").fill("09:55")
            page.get_by_role("button", name="Spara blocket").click()
            expect(page.locator("#error-end")).to_be_visible()
            page.locator("#end").scroll_into_view_if_needed()
            page.evaluate("window.scrollBy(0, -220)")
            shots.append(output / "studio-block-problem.png")
            page.screenshot(path=str(shots[-1]))
            page.locator("#end").fill("11:00")
            page.get_by_role("button", name="Spara blocket").click()
            expect(page.locator("#block-saved")).to_be_visible()

            page.goto(f"/studio/e/{slug}")
            page.locator("#block-introduktion-block form[action$='/remove'] button").click()
            page.wait_for_url(lambda url: url.endswith(f"/studio/e/{slug}"))
            shots.append(output / "studio-day.png")
            page.screenshot(path=str(shots[-1]), full_page=True)

            with page.expect_download() as download:
                page.locator("#download-programme").click()
            text = Path(download.value.path()).read_text("utf-8")
            broken = folder / f"{slug}.toml"
            broken.write_text(text.replace('title = "Regional', 'retention_days = 0\ntitle = "Regional')
                              .replace('start = "10:00"', 'start = "10.00"'), "utf-8")
            page.locator("#programme-file").set_input_files(str(broken))
            page.get_by_role("button", name="Ladda upp och läs in").click()
            expect(page.locator("#upload-problems")).to_be_visible()
            page.locator("#upload-heading").scroll_into_view_if_needed()
            shots.append(output / "studio-upload-problem.png")
            page.screenshot(path=str(shots[-1]))
        finally:
            browser.close()
    return shots


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "screenshots",
                        help="where the PNG files go (default: docs/screenshots)")
    args = parser.parse_args(argv)
    if not Path(CHROMIUM).exists():
        parser.error(f"{CHROMIUM} is missing (apt-get install chromium)")
    with tempfile.TemporaryDirectory(prefix="ehalsodag-studio-screens-") as tmp:
        folder = Path(tmp)
        settings = Settings(database_url=f"sqlite+aiosqlite:///{folder / 'screens.sqlite3'}", redis_url=None,
                            secret_key="screenshots-only-secret-key-long-enough", base_url=None)
        upgrade(settings)
        asyncio.run(prepare(settings))
        with served(settings, folder) as base:
            for path in shoot(base, args.output, folder):
                print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
