"""The platform under test: a fresh database with the demo programme, an organiser's token, and the
benchmark's server (:mod:`ehalsodag_bench.server`) on a loopback port; joins over the API."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from ehalsodag_bench.common import SLUG, HttpPool, free_port, require_loopback


@dataclass(frozen=True)
class Target:
    """Where the platform under test runs: workers, database and hub."""

    workers: int = 1
    database_url: str | None = None  # a PostgreSQL server; a fresh database is made on it and dropped
    redis_url: str | None = None

    def check(self) -> None:
        """Refuse what cannot work: several workers share pushes through Redis only."""
        if self.workers > 1 and not self.redis_url:
            raise SystemExit("several workers need --redis-url: their hub is Redis pub/sub")


@dataclass
class Platform:
    """A running platform: its process, address, organiser token and scratch folder."""

    server: subprocess.Popen[bytes]
    base: str
    token: str
    var_dir: Path
    target: Target
    drop_sql: str = ""
    env: dict[str, str] = field(default_factory=dict)

    @property
    def staff(self) -> dict[str, str]:
        """The organiser's authorisation header."""
        return {"Authorization": f"Bearer {self.token}"}

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL after 30 s) and drop a PostgreSQL database it had."""
        self.server.terminate()
        try:
            self.server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.server.kill()
        if self.drop_sql and self.target.database_url:
            _postgres(self.target.database_url, self.drop_sql)


def _run_cli(env: dict[str, str], *args: str, stdin: bytes | None = None) -> str:
    completed = subprocess.run([sys.executable, "-m", "ehalsodag.cli", *args], env=env, input=stdin,
                               capture_output=True)
    if completed.returncode != 0:
        raise SystemExit(f"ehalsodag {' '.join(args)} failed: {completed.stderr.decode()[-2000:]}")
    return completed.stdout.decode().strip()


def _postgres(url: str, sql: str) -> None:
    import asyncpg

    async def go() -> None:
        connection = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
        try:
            await connection.execute(sql)
        finally:
            await connection.close()

    asyncio.run(go())


def start_platform(target: Target) -> Platform:
    """Migrate a fresh database, load the demo programme, make an organiser, start the server and wait
    until it answers. Rate limits on joins and votes are lifted (thousands come from one address)."""
    from ehalsodag.settings import PROGRAMMES_DIR

    target.check()
    var_dir = Path(tempfile.mkdtemp(prefix="ehalsodag-bench-"))
    port = free_port()
    env = {**os.environ, "EHALSODAG_VAR_DIR": str(var_dir),
           "EHALSODAG_DATABASE_URL": f"sqlite+aiosqlite:///{var_dir / 'bench.sqlite3'}",
           "EHALSODAG_JOIN_LIMIT": "1000000", "EHALSODAG_VOTE_LIMIT": "1000000",
           "EHALSODAG_SECRET_KEY": "bench-secret-key-bench-secret-key",
           "EHALSODAG_CHANNEL_PREFIX": f"bench{os.getpid()}"}
    env.pop("EHALSODAG_REDIS_URL", None)
    drop_sql = ""
    if target.database_url:
        parts = urlsplit(target.database_url)
        require_loopback(f"http://{parts.hostname}")
        name = f"ehalsodag_bench_{os.getpid()}"
        _postgres(target.database_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        _postgres(target.database_url, f'CREATE DATABASE "{name}"')
        env["EHALSODAG_DATABASE_URL"] = parts._replace(path=f"/{name}").geturl()
        drop_sql = f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
    if target.redis_url:
        require_loopback(f"http://{urlsplit(target.redis_url).hostname}")
        env["EHALSODAG_REDIS_URL"] = target.redis_url
    _run_cli(env, "db", "upgrade")
    _run_cli(env, "agenda", "load", str(PROGRAMMES_DIR / f"{SLUG}.toml"))
    _run_cli(env, "user", "add", "bench@example.se", "--role", "organiser", "--event", SLUG,
             stdin=b"a long load-test passphrase\n")
    token = _run_cli(env, "token", "create", "bench@example.se")
    server = subprocess.Popen([sys.executable, "-m", "ehalsodag_bench.server", "--host", "127.0.0.1", "--port",
                               str(port), "--workers", str(target.workers)], env=env,
                              stdout=(var_dir / "server.log").open("wb"), stderr=subprocess.STDOUT)
    platform = Platform(server, f"http://127.0.0.1:{port}", token, var_dir, target, drop_sql, env)
    try:
        _wait_until_up(platform)
    except BaseException:
        platform.stop()
        raise
    return platform


def _wait_until_up(platform: Platform) -> None:
    import httpx

    for _ in range(300):
        if platform.server.poll() is not None:
            log = (platform.var_dir / "server.log").read_text(errors="replace")[-2000:]
            raise SystemExit(f"the platform did not start:\n{log}")
        try:
            if httpx.get(platform.base + "/", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise SystemExit("the platform did not start")


def join_all(base: str, count: int) -> list[str]:
    """``count`` attendees join over the API (100 at a time); their tokens."""

    async def go() -> list[str]:
        http = HttpPool(base, 100)
        gate = asyncio.Semaphore(100)

        async def join(i: int) -> str:
            async with gate:
                status, body, _sent = await http.request("POST", f"/api/v1/events/{SLUG}/join",
                                                         {"group_size": 1 + i % 4})
            if status != 201:
                raise SystemExit(f"join failed with {status}: {body[:200]!r}")
            return json.loads(body)["attendee_token"]

        try:
            return list(await asyncio.gather(*(join(i) for i in range(count))))
        finally:
            await http.close()

    return asyncio.run(go())


def go_live(platform: Platform) -> None:
    """Put the programme's first block live (as a moderator would at the start of the day)."""
    import httpx

    event = httpx.get(f"{platform.base}/api/v1/events/{SLUG}").json()
    block = next(b["id"] for b in event["blocks"] if b["key"] == "block-1")
    httpx.post(f"{platform.base}/api/v1/events/{SLUG}/live", json={"block_id": block}, headers=platform.staff)
