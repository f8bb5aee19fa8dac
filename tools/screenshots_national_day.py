"""Screenshots of the national e-health day for the README (docs/screenshots/national-*.png).

Loads the national day of ``programmes/nationell-ehalsodag-2022.toml`` (with its region files) into a fresh
SQLite database, moved in time so that Östergötland's "Så gör vi i Östergötland" is on now, serves it on a
loopback port and fills it through the JSON API: attendees join in every region (some as care units
watching together) and hold a websocket each, ask questions and chat in Östergötland, answer a national
poll and Östergötland's own poll, and answer the evaluation once a moderator has opened it. Then Debian's
Chromium (Playwright, the launch settings of tests/browser/conftest.py; never a downloaded browser) takes:

- ``national-attendee-regional.png``: an attendee who joined through Östergötland's own link, during the
  region's block (its stream, questions, poll and chat);
- ``national-control-panel-regional.png``: the control panel of Östergötland's moderator;
- ``national-results-regions.png``: the organisers' results page, region by region.

Run from the repository root: ``.venv/bin/python tools/screenshots_national_day.py [--output DIR]``.
Nothing but the local server is contacted (the stream frames stay empty).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import websockets

from ehalsodag.agenda.files import AgendaSpec, load_agenda
from ehalsodag.agenda.service import event_by_slug, load_spec
from ehalsodag.db.engine import Database
from ehalsodag.db.migrate import upgrade
from ehalsodag.settings import Settings
from ehalsodag.staff.service import add_user, create_token

ROOT = Path(__file__).resolve().parents[1]
PROGRAMME = ROOT / "agenda" / "nationell-ehalsodag-2022.toml"
SLUG = "nationell-ehalsodag-2022"
REGION = "ostergotland"
#: The block on now, and where in it "now" falls (planned 14:10–15:00; the national stage pauses meanwhile).
BLOCK = "snack-till-verkstad-ostergotland"
NOW_IN_PLAN = dt.time(14, 20)

CHROMIUM = "/usr/bin/chromium"  # as tests/browser/conftest.py
LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--no-first-run"]

ORGANISER = "arrangor@example.se"
MODERATOR = "moderator.ostergotland@example.se"
PASSWORD = "skarmbilder-nationell-dag"

#: Who joins from where: (region, group sizes of those who join). None: the national programme only.
CROWD: list[tuple[str | None, list[int]]] = [
    ("ostergotland", [1, 1, 1, 6, 1, 1, 12, 1, 1, 4, 1, 1, 1, 8]),
    ("vastra-gotaland", [1, 1, 9, 1, 1, 1, 15, 1, 1, 1, 3]),
    ("jamtland-harjedalen", [1, 5, 1, 1, 1, 7]),
    ("skane", [1, 1, 1, 10, 1, 1, 1, 1, 2]),
    ("norrbotten", [1, 1, 6, 1, 1]),
    (None, [1, 1, 1, 1]),
]
#: How each region tends to rate the day (1–5) and answer "should it come back?".
MOODS = {"ostergotland": (4.4, 0.9), "vastra-gotaland": (4.0, 0.85), "jamtland-harjedalen": (4.6, 0.95),
         "skane": (3.7, 0.75), "norrbotten": (4.2, 0.9), None: (3.9, 0.8)}
QUESTIONS = ["Hur når vi kommunernas hemtjänst med egenmonitoreringen?",
             "Vem i länet äger frågan om gemensam informationsförsörjning?",
             "Hur följer vi upp att invånarna känner sig delaktiga?"]
REGIONAL_POLL = {"kind": "single", "question": "Vad ska vi samverka om först i Östergötland?",
                 "options": ["Egenmonitorering", "Informationsdelning region–kommun", "Kompetens", "Gemensam e-tjänst"],
                 "stage": REGION}
CHAT = ["Hej från vårdcentralen i Motala!", "Vi tittar tolv stycken från hemtjänsten i Norrköping",
        "Bra exempel, det vill vi också prova"]


def moved_programme(now: dt.datetime) -> AgendaSpec:
    """The national day as written, on the date and shifted by whole five minutes so that ``now`` falls
    10–15 minutes into Östergötland's afternoon block."""
    spec = load_agenda(PROGRAMME)
    planned = dt.datetime.combine(spec.date, NOW_IN_PLAN)
    local_now = now.astimezone(ZoneInfo(spec.timezone)).replace(tzinfo=None, second=0, microsecond=0)
    delta = local_now - planned
    delta -= dt.timedelta(minutes=delta.total_seconds() // 60 % 5)
    blocks = [replace(b, start=b.start + delta, end=b.end + delta) for b in spec.blocks]
    first = min(b.start for b in blocks)
    return replace(spec, blocks=blocks, date=first.date())


async def prepare(settings: Settings) -> str:
    """Load the day and its staff; return the organiser's API token."""
    db = Database(settings)
    try:
        async with db.unit_of_work() as session:
            await load_spec(session, moved_programme(dt.datetime.now(dt.UTC)))
        async with db.unit_of_work() as session:
            event = await event_by_slug(session, SLUG)
            assert event is not None
            stage = next(s for s in event.stages if s.key == REGION)
            await add_user(session, MODERATOR, PASSWORD, "moderator", event.id, stage.id)
            organiser = await add_user(session, ORGANISER, PASSWORD, "organiser", event.id)
            return await create_token(session, organiser)
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
           "EHALSODAG_VAR_DIR": str(folder), "EHALSODAG_ATTENDANCE_SECONDS": "1",
           "EHALSODAG_JOIN_LIMIT": "10000", "EHALSODAG_VOTE_LIMIT": "10000"}
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


class Sockets:
    """Every attendee's websocket, held open (and read) in a thread of its own until :meth:`close`."""

    def __init__(self, ws_base: str, tokens: list[str]) -> None:
        self.connected = threading.Event()
        self.people: list[tuple[str | None, str]] = []
        self._stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = threading.Thread(target=asyncio.run, args=(self._hold(ws_base, tokens),), daemon=True)
        self._thread.start()
        if not self.connected.wait(30):
            raise RuntimeError("the attendees' websockets did not connect")

    async def _hold(self, ws_base: str, tokens: list[str]) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        sockets = [await websockets.connect(f"{ws_base}/e/{SLUG}/ws?token={t}", max_size=None) for t in tokens]
        readers = [asyncio.create_task(self._drain(s)) for s in sockets]
        self.connected.set()
        await self._stop.wait()
        for reader in readers:
            reader.cancel()
        for sock in sockets:
            await sock.close()

    @staticmethod
    async def _drain(sock: Any) -> None:
        with contextlib.suppress(Exception):
            async for _frame in sock:
                pass

    def close(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)


def _ok(response: httpx.Response) -> Any:
    if response.status_code not in (200, 201):
        raise RuntimeError(f"{response.request.method} {response.request.url}: {response.status_code} "
                           f"{response.text}")
    return response.json() if response.content else None


def fill_the_day(http: httpx.Client, ws_base: str, staff: dict[str, str]) -> Sockets:
    """Joins and websockets (kept in the result, with who joined where), questions, chat, a national and a
    regional poll with votes."""
    rng = random.Random(20220510)
    api = f"/api/v1/events/{SLUG}"
    people: list[tuple[str | None, str]] = []
    for region, groups in CROWD:
        for size in groups:
            body: dict[str, Any] = {"group_size": size, **({"stage": region} if region else {})}
            people.append((region, _ok(http.post(f"{api}/join", json=body))["attendee_token"]))
    sockets = Sockets(ws_base, [token for _region, token in people])
    as_ = {token: {"Authorization": f"Bearer {token}"} for _region, token in people}
    ost = [token for region, token in people if region == REGION]

    # Östergötland's block is on: its questions, upvotes and chat are the region's own.
    asked = [_ok(http.post(f"{api}/questions", json={"text": text}, headers=as_[ost[i]]))["id"]
             for i, text in enumerate(QUESTIONS)]
    for i, token in enumerate(ost[3:]):
        http.post(f"/api/v1/questions/{asked[i % 2]}/upvote", headers=as_[token])
    for i, text in enumerate(CHAT):
        _ok(http.post(f"{api}/chat", json={"text": text}, headers=as_[ost[i + 4]]))

    # The national poll of the morning panel, answered in every region; a poll of Östergötland's own block.
    blocks = {b["key"]: b["id"] for b in _ok(http.get(api))["blocks"]}
    _ok(http.post(f"{api}/polls", json={**REGIONAL_POLL, "block_id": blocks[BLOCK]}, headers=staff))
    polls = _ok(http.get(f"{api}/polls", headers=staff))
    national = next(p for p in polls if p["question"].startswith("Vilket stöd från nationellt håll"))
    regional = next(p for p in polls if p["question"] == REGIONAL_POLL["question"])
    for poll in (national, regional):
        if poll.get("state") != "open":
            _ok(http.post(f"/api/v1/polls/{poll['id']}/open", headers=staff))
    options = [o["id"] for o in national["options"]]
    leaning = {"ostergotland": 0, "vastra-gotaland": 2, "jamtland-harjedalen": 3, "skane": 2, "norrbotten": 3,
               None: 1}
    for region, token in people:
        pick = leaning[region] if rng.random() < 0.55 else rng.randrange(len(options))
        _ok(http.post(f"/api/v1/polls/{national['id']}/responses", json={"option_ids": [options[pick]]},
                      headers=as_[token]))
    choices = [o["id"] for o in regional["options"]]
    for token in ost[:-3]:
        pick = choices[min(len(choices) - 1, int(abs(rng.gauss(0, 1.3))))]
        _ok(http.post(f"/api/v1/polls/{regional['id']}/responses", json={"option_ids": [pick]}, headers=as_[token]))
    sockets.people = people
    return sockets


def evaluate(http: httpx.Client, staff: dict[str, str], people: list[tuple[str | None, str]]) -> None:
    """The evaluation: opened by the organiser while everyone is connected; most answer."""
    rng = random.Random(20220511)
    api = f"/api/v1/events/{SLUG}"
    time.sleep(2.5)  # attendance is sampled every second: the peak and who was present count
    _ok(http.post(f"{api}/evaluation/open", headers=staff))
    for region, token in people:
        if rng.random() > 0.8:
            continue
        mean, yes = MOODS[region]
        answers: dict[str, Any] = {"helhet": min(5, max(1, round(rng.gauss(mean, 0.7)))),
                                   "aterkommande": "yes" if rng.random() < yes else rng.choice(["no", "dont_know"])}
        _ok(http.post(f"{api}/evaluation", json={"answers": answers}, headers={"Authorization": f"Bearer {token}"}))


def _log_in(page: Any, email: str) -> None:
    page.goto("/login")
    page.locator("#email").fill(email)
    page.locator("#password").fill(PASSWORD)
    page.locator("form[action='/login'] button[type=submit]").click()
    page.wait_for_url(lambda url: "/login" not in url)


def shoot(base: str, output: Path, then: Callable[[], None]) -> list[Path]:
    """The attendee's page and the regional control panel, ``then`` (the evaluation), the results."""
    from playwright.sync_api import expect, sync_playwright

    output.mkdir(parents=True, exist_ok=True)
    shots: list[Path] = []
    event = httpx.get(f"{base}/api/v1/events/{SLUG}").json()
    code = next(s["join_code"] for s in event["stages"] if s["key"] == REGION)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        try:
            def context(width: int, height: int) -> Any:
                made = browser.new_context(viewport={"width": width, "height": height}, base_url=base,
                                           locale="sv-SE")
                # The stream host is never contacted: its frame shows an empty, dark player instead.
                made.route(lambda url: not url.startswith(base),
                           lambda route: route.fulfill(status=200, content_type="text/html",
                                                       body="<body style='margin:0;background:#1b1f24'></body>"))
                made.set_default_timeout(10_000)
                return made

            # An attendee of Östergötland, joined through the region's own link, during its block.
            attendee = context(1280, 1500).new_page()  # its block, stream, poll and questions at once
            attendee.goto(f"/j/{code}")
            expect(attendee.locator("#join-stage")).to_have_value(REGION)
            attendee.locator("#display_name").fill("Maria Lind")
            attendee.locator("#organisation").fill("Vårdcentralen Kungsgatan, Linköping")
            attendee.locator("#join button[type=submit]").click()
            expect(attendee.locator("#connection")).to_have_text("Liveuppdateringar på")
            expect(attendee.locator("#now-next .now")).to_contain_text("Regionalt block i Östergötland")
            expect(attendee.locator("#question-list")).to_contain_text(QUESTIONS[0])
            attendee.locator("#question-text").fill("Hur kommer kommunerna åt mätvärdena?")
            attendee.locator("#question-text").blur()
            attendee.evaluate("window.scrollTo(0, 0)")
            shots.append(output / "national-attendee-regional.png")
            attendee.screenshot(path=str(shots[-1]))

            # The control panel of Östergötland's moderator.
            moderator = context(1280, 1000).new_page()
            _log_in(moderator, MODERATOR)
            moderator.goto(f"/e/{SLUG}/control?stage={REGION}")
            expect(moderator.locator("#connection")).to_have_text("Liveuppdateringar på")
            expect(moderator.locator("#mod-questions")).to_contain_text(QUESTIONS[0])
            shots.append(output / "national-control-panel-regional.png")
            moderator.screenshot(path=str(shots[-1]))

            # The organisers' results, region by region, once the evaluation is answered.
            then()
            organiser = context(1280, 1000).new_page()
            _log_in(organiser, ORGANISER)
            organiser.goto(f"/e/{SLUG}/results")
            expect(organiser.locator("#regions-table")).to_contain_text("Östergötland")
            organiser.evaluate("document.getElementById('regions-heading').scrollIntoView()")
            shots.append(output / "national-results-regions.png")
            organiser.screenshot(path=str(shots[-1]))
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
    with tempfile.TemporaryDirectory(prefix="ehalsodag-screens-") as tmp:
        folder = Path(tmp)
        settings = Settings(database_url=f"sqlite+aiosqlite:///{folder / 'screens.sqlite3'}", redis_url=None,
                            secret_key="screenshots-only-secret-key-long-enough", base_url=None)
        upgrade(settings)
        staff_token = asyncio.run(prepare(settings))
        with served(settings, folder) as base, httpx.Client(base_url=base, timeout=15) as http:
            staff = {"Authorization": f"Bearer {staff_token}"}
            sockets = fill_the_day(http, base.replace("http://", "ws://"), staff)
            try:
                for path in shoot(base, args.output, lambda: evaluate(http, staff, sockets.people)):
                    print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)
            finally:
                sockets.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
