"""Shared fixtures: a migrated SQLite database per test, the app in-process, and the real server."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TypeVar

import httpx
import pytest
from litestar.testing import AsyncTestClient

import ehalsodag.models  # noqa: F401
from ehalsodag.agenda.files import load_agenda
from ehalsodag.agenda.service import load_spec
from ehalsodag.app import create_app
from ehalsodag.db.engine import Database
from ehalsodag.db.migrate import upgrade
from ehalsodag.settings import PROGRAMMES_DIR, Settings
from ehalsodag.staff.service import add_user, create_token

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
STAFF_PASSWORD = "correct horse battery"
T = TypeVar("T")


def make_settings(tmp_path: Path, database_url: str | None = None, redis_url: str | None = None) -> Settings:
    """Settings for a test: a fresh SQLite file unless another database is given."""
    return Settings(
        database_url=database_url or f"sqlite+aiosqlite:///{tmp_path / 'test.sqlite3'}",
        redis_url=redis_url,
        secret_key="test-secret-key-that-is-long-enough",
        base_url=None,
        join_limit=100_000,  # every test joins from 127.0.0.1; the join limits' own tests set theirs
    )


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """A migrated SQLite database in the test's temporary folder."""
    value = make_settings(tmp_path)
    upgrade(value)
    return value


async def load_fixture(settings: Settings, name: str = "regional.toml") -> str:
    """Load a programme file from tests/fixtures/agenda (or the demo programmes); return its slug."""
    path = FIXTURES / "agenda" / name
    if not path.exists():
        path = PROGRAMMES_DIR / name
    return await load_programme(settings, path)


async def load_programme(settings: Settings, path: Path) -> str:
    """Load a programme file; return its event's slug."""
    db = Database(settings)
    try:
        async with db.unit_of_work() as session:
            event, _created = await load_spec(session, load_agenda(path))
            return event.slug
    finally:
        await db.dispose()


async def make_staff(settings: Settings, email: str, role: str, slug: str | None = None) -> str:
    """Create a staff user; return a bearer token for it."""
    from ehalsodag.agenda.service import event_by_slug

    db = Database(settings)
    try:
        async with db.unit_of_work() as session:
            event_id = None
            if slug:
                event = await event_by_slug(session, slug)
                assert event is not None
                event_id = event.id
            user = await add_user(session, email, STAFF_PASSWORD, role, event_id)
            return await create_token(session, user)
    finally:
        await db.dispose()


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[AsyncTestClient]:
    """The app in-process (no network), with the test database."""
    app = create_app(settings)
    async with AsyncTestClient(app=app, base_url="http://testserver.local") as test_client:
        yield test_client


def free_port() -> int:
    """A TCP port on the loopback interface that nobody listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class ServedApp:
    """A real server process (uvicorn) on a loopback port."""

    base_url: str
    ws_url: str
    process: subprocess.Popen[bytes]
    settings: Settings
    log_path: Path

    def log(self) -> str:
        """What the server printed so far (for failure messages)."""
        return self.log_path.read_text(errors="replace")


def start_server(settings: Settings, log_path: Path, port: int | None = None, workers: int = 1) -> ServedApp:
    """Start ``ehalsodag serve`` with ``settings`` and wait until it answers.

    A port picked here can be taken by another test's server between the pick and the bind (two test processes
    run side by side): the server is then started again on another port. It counts as up only once the process
    listening on its port is its own, never because another server answered there."""
    for _attempt in range(1 if port else 5):
        served = _start_on(settings, log_path, port or free_port(), workers)
        if served is not None:
            return served
    raise RuntimeError(f"no free port would take the server:\n{log_path.read_text(errors='replace')}")


def _start_on(settings: Settings, log_path: Path, port: int, workers: int) -> ServedApp | None:
    """The server on ``port``, or None when another process holds that port."""
    env = {
        **os.environ,
        "EHALSODAG_DATABASE_URL": settings.database_url,
        "EHALSODAG_SECRET_KEY": settings.secret_key,
        "EHALSODAG_VAR_DIR": str(log_path.parent),
    }
    env.pop("EHALSODAG_REDIS_URL", None)
    if settings.redis_url:
        env["EHALSODAG_REDIS_URL"] = settings.redis_url
    if settings.base_url:
        env["EHALSODAG_BASE_URL"] = settings.base_url
    env["EHALSODAG_CHANNEL_PREFIX"] = settings.channel_prefix
    env["EHALSODAG_ATTENDANCE_SECONDS"] = str(settings.attendance_seconds)
    env["EHALSODAG_JOIN_LIMIT"] = str(settings.join_limit)
    env["EHALSODAG_VOTE_LIMIT"] = str(settings.vote_limit)
    log = log_path.open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "ehalsodag.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
         "--workers", str(workers)],
        env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT,
    )
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            printed = log_path.read_text(errors="replace")
            if "address already in use" in printed.lower():
                return None
            raise RuntimeError(f"server exited early:\n{printed}")
        try:
            if httpx.get(base_url + "/", timeout=1).status_code == 200:
                if listens_on(process.pid, port):
                    break
                time.sleep(0.1)  # someone else answered there: ours is still binding, or failing to
        except httpx.HTTPError:
            time.sleep(0.1)
    else:
        process.kill()
        process.wait()
        if "address already in use" in log_path.read_text(errors="replace").lower():  # it died at the deadline
            return None
        raise RuntimeError(f"server did not answer in 30 s:\n{log_path.read_text(errors='replace')}")
    return ServedApp(base_url, f"ws://127.0.0.1:{port}", process, settings, log_path)


def listens_on(pid: int, port: int) -> bool:
    """Whether process ``pid`` holds the socket listening on loopback ``port`` (Linux's /proc; elsewhere, assumed)."""
    tables = [Path("/proc/net/tcp"), Path("/proc/net/tcp6")]
    if not tables[0].exists():
        return True
    inodes = set()
    for table in tables:
        with contextlib.suppress(OSError):
            for line in table.read_text().splitlines()[1:]:
                fields = line.split()
                if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:  # 0A: LISTEN
                    inodes.add(f"socket:[{fields[9]}]")
    fds = Path(f"/proc/{pid}/fd")
    with contextlib.suppress(OSError):
        for fd in fds.iterdir():
            with contextlib.suppress(OSError):
                if os.readlink(fd) in inodes:
                    return True
    return False


def stop_server(server: ServedApp) -> None:
    """Stop the server process (SIGTERM, then SIGKILL)."""
    server.process.terminate()
    try:
        server.process.wait(timeout=25)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()


@pytest.fixture
def served(settings: Settings, tmp_path: Path) -> Iterator[ServedApp]:
    """The real server on a free loopback port, with the regional fixture event loaded."""
    run_sync(load_fixture(settings))
    server = start_server(settings, tmp_path / "server.log")
    try:
        yield server
    finally:
        stop_server(server)


def run_sync(coroutine: Awaitable[T]) -> T:
    """Run a coroutine to completion from sync code, even where a loop is running (Playwright's)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def with_base_url(settings: Settings, base_url: str) -> Settings:
    """A copy of ``settings`` with a public base URL."""
    return replace(settings, base_url=base_url)
