"""Operating the platform on the day (issue 19): configurations that are refused before serving, and the health
(``/healthz``) and readiness (``/readyz``) checks a load balancer polls: false when the database or Redis is down,
when the migrations are behind, and from the start of a graceful shutdown."""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
import websockets
from alembic import command
from litestar.testing import AsyncTestClient

from ehalsodag.app import create_app
from ehalsodag.db.migrate import alembic_config, upgrade
from ehalsodag.operations.readiness import begin_shutdown
from ehalsodag.server import config as uvicorn_config
from tests.conftest import ROOT, free_port, load_fixture, make_settings, run_sync, start_server, stop_server
from tests.support.postgres import fresh_database, plain_dsn

DATABASE_URL = os.environ.get("EHALSODAG_TEST_DATABASE_URL")
REDIS_URL = os.environ.get("EHALSODAG_TEST_REDIS_URL")
needs_postgres = pytest.mark.skipif(not DATABASE_URL, reason="set EHALSODAG_TEST_DATABASE_URL (postgresql+asyncpg://)")
needs_redis = pytest.mark.skipif(not REDIS_URL, reason="set EHALSODAG_TEST_REDIS_URL (redis://...)")
SECRET = "operations-test-secret-key-0123456789abcdef"


def run_cli(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """``ehalsodag ARGS`` in a clean environment (only the variables given, an SQLite file in ``tmp_path``)."""
    clean = {name: value for name, value in os.environ.items() if not name.startswith("EHALSODAG_")}
    clean.update({"EHALSODAG_VAR_DIR": str(tmp_path),
                  "EHALSODAG_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'ops.sqlite3'}", **env})
    return subprocess.run([sys.executable, "-m", "ehalsodag.cli", *args], env=clean, cwd=ROOT,
                          capture_output=True, text=True, timeout=60)


def errors(result: subprocess.CompletedProcess[str]) -> list[str]:
    """The one-line errors a refused start printed."""
    return [line for line in result.stderr.splitlines() if line.startswith("error: ")]


def closed_port() -> int:
    """A loopback port nobody listens on (connections are refused at once)."""
    return free_port()


#: Each case: arguments, environment, the start of its one error line. (SQLite with several workers is accepted in
#: the first two, which are about Redis alone.)
REFUSED = {
    "two workers without Redis": (["--workers", "2"], {"EHALSODAG_ALLOW_SQLITE_WORKERS": "1"},
                                  "EHALSODAG_REDIS_URL is not set but 2 workers"),
    "EHALSODAG_WORKERS without Redis": ([], {"EHALSODAG_WORKERS": "3", "EHALSODAG_ALLOW_SQLITE_WORKERS": "1"},
                                        "EHALSODAG_REDIS_URL is not set but 3 workers"),
    "https behind a proxy without forwarded headers": (
        ["--host", "0.0.0.0"], {"EHALSODAG_BASE_URL": "https://ehalsodag.example.se"},
        "EHALSODAG_FORWARDED_ALLOW_IPS is not set but EHALSODAG_BASE_URL is https"),
    "production without a secret key": ([], {"EHALSODAG_ENV": "production", "EHALSODAG_BASE_URL": "http://x.se"},
                                        "EHALSODAG_SECRET_KEY is not set and EHALSODAG_ENV=production"),
    "production with a short secret key": ([], {"EHALSODAG_ENV": "production", "EHALSODAG_SECRET_KEY": "short",
                                                "EHALSODAG_BASE_URL": "http://x.se"},
                                           "EHALSODAG_SECRET_KEY is shorter than 32 characters"),
    "production without a base URL": ([], {"EHALSODAG_ENV": "production", "EHALSODAG_SECRET_KEY": "s" * 48},
                                      "EHALSODAG_BASE_URL is not set and EHALSODAG_ENV=production"),
    "an unknown mode": ([], {"EHALSODAG_ENV": "prod"}, "EHALSODAG_ENV must be development or production"),
    "an unknown log format": ([], {"EHALSODAG_LOG_FORMAT": "xml"}, "EHALSODAG_LOG_FORMAT must be text or json"),
    "unreachable database": (
        [], {"EHALSODAG_DATABASE_URL": f"postgresql+asyncpg://postgres@127.0.0.1:{closed_port()}/test"},
        "EHALSODAG_DATABASE_URL: cannot reach postgresql+asyncpg://postgres@127.0.0.1:"),
    "SQLite in a folder that does not exist": (
        [], {"EHALSODAG_DATABASE_URL": "sqlite+aiosqlite:////nonexistent-folder/ehalsodag.sqlite3"},
        "EHALSODAG_DATABASE_URL: cannot reach sqlite+aiosqlite:////nonexistent-folder/"),
    "unreachable Redis": ([], {"EHALSODAG_REDIS_URL": f"redis://127.0.0.1:{closed_port()}/0"},
                          "EHALSODAG_REDIS_URL: cannot reach redis://127.0.0.1:"),
    "a number that is not one": ([], {"EHALSODAG_JOIN_LIMIT": "many"}, "EHALSODAG_JOIN_LIMIT must be a number"),
}


@pytest.mark.parametrize("command", ["serve", "check-config"])
@pytest.mark.parametrize("case", sorted(REFUSED))
def test_a_half_right_configuration_is_refused_with_one_line_naming_the_variable(tmp_path, command, case):
    args, env, message = REFUSED[case]
    extra = ["--port", str(free_port())] if command == "serve" else []
    result = run_cli(tmp_path, command, *args, *extra, **env)
    assert result.returncode == 2, result.stdout + result.stderr
    assert len(errors(result)) == 1 and errors(result)[0].startswith(f"error: {message}"), result.stderr
    if command == "serve":
        assert "Started server process" not in result.stderr + result.stdout


@needs_redis
@pytest.mark.parametrize("command", ["serve", "check-config"])
def test_several_workers_on_sqlite_are_refused_unless_the_operator_accepts_them(tmp_path, command):
    extra = ["--port", str(free_port())] if command == "serve" else []
    result = run_cli(tmp_path, command, "--workers", "2", *extra, EHALSODAG_REDIS_URL=REDIS_URL)
    assert result.returncode == 2
    assert errors(result) == [
        "error: EHALSODAG_DATABASE_URL is SQLite but 2 workers were asked for: use PostgreSQL, or set "
        "EHALSODAG_ALLOW_SQLITE_WORKERS=1 to accept several processes writing one SQLite file"]

    accepted = run_cli(tmp_path, "check-config", "--workers", "2", EHALSODAG_REDIS_URL=REDIS_URL,
                       EHALSODAG_ALLOW_SQLITE_WORKERS="1")
    assert accepted.returncode == 0, accepted.stderr
    assert errors(accepted) == []


@pytest.mark.parametrize("env, args", [
    ({}, []),
    ({"EHALSODAG_BASE_URL": "https://ehalsodag.example.se"}, []),  # on loopback: a proxy on this machine
    ({"EHALSODAG_BASE_URL": "https://ehalsodag.example.se", "EHALSODAG_FORWARDED_ALLOW_IPS": "10.0.0.5"},
     ["--host", "0.0.0.0"]),
    ({"EHALSODAG_ENV": "production", "EHALSODAG_SECRET_KEY": SECRET,
      "EHALSODAG_BASE_URL": "https://ehalsodag.example.se"}, []),
])
def test_check_config_passes_a_whole_configuration(tmp_path, env, args):
    result = run_cli(tmp_path, "check-config", *args, **env)
    assert result.returncode == 0, result.stderr
    assert errors(result) == []
    assert result.stdout.splitlines()[-1] == "configuration is fine"


def test_check_config_prints_the_effective_configuration_with_secrets_masked(tmp_path):
    database = f"postgresql+asyncpg://ehalsodag:db-password-123@127.0.0.1:{closed_port()}/ehalsodag"
    redis = f"redis://:redis-password-456@127.0.0.1:{closed_port()}/0"
    result = run_cli(tmp_path, "check-config", EHALSODAG_DATABASE_URL=database, EHALSODAG_REDIS_URL=redis,
                     EHALSODAG_SECRET_KEY=SECRET, EHALSODAG_JOIN_LIMIT="900")
    output = result.stdout + result.stderr
    for secret in ("db-password-123", "redis-password-456", SECRET):
        assert secret not in output
    lines = result.stdout.splitlines()
    assert "EHALSODAG_DATABASE_URL=postgresql+asyncpg://ehalsodag:***@127.0.0.1:" in output
    assert any(line.startswith("EHALSODAG_REDIS_URL=redis://:***@127.0.0.1:") for line in lines)
    assert "EHALSODAG_SECRET_KEY=*** (set)" in lines and "EHALSODAG_JOIN_LIMIT=900" in lines
    # what is wrong: both unreachable, each on its line, and the exit code of a refused configuration
    assert result.returncode == 2
    assert [line.split(":", 2)[1].strip() for line in errors(result)] == ["EHALSODAG_DATABASE_URL",
                                                                          "EHALSODAG_REDIS_URL"]


def test_the_proxy_addresses_reach_uvicorn():
    assert uvicorn_config("0.0.0.0", 8000, 1, forwarded_allow_ips="10.0.0.5").forwarded_allow_ips == "10.0.0.5"
    assert uvicorn_config("127.0.0.1", 8000, 1).proxy_headers


# --- health and readiness ---


def test_healthz_and_readyz_answer_on_a_served_app_and_stay_out_of_the_schema(served):
    health = httpx.get(f"{served.base_url}/healthz")
    assert health.status_code == 200 and health.json() == {"status": "ok"}
    assert "no-store" in health.headers["cache-control"]
    ready = httpx.get(f"{served.base_url}/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json() == {"ready": True, "checks": {"shutdown": "ok", "database": "ok", "migrations": "ok",
                                                      "hub": "ok"}}
    paths = httpx.get(f"{served.base_url}/schema/openapi.json").json()["paths"]
    assert not {"/healthz", "/readyz"} & set(paths)


async def test_readyz_is_false_while_the_migrations_are_behind(tmp_path):
    settings = make_settings(tmp_path)
    upgrade(settings, "0004")
    async with AsyncTestClient(app=create_app(settings)) as client:
        response = await client.get("/readyz")
        assert response.status_code == 503
        assert response.json()["checks"]["migrations"] == "not current"
        upgrade(settings)
        await asyncio.sleep(2.1)  # the result is kept for 2 s
        assert (await client.get("/readyz")).status_code == 200


async def test_the_kept_tallies_are_rebuilt_once_the_migrations_are_current(tmp_path):
    # A worker started on a database behind its migrations cannot recount the poll tallies at start (their table
    # is not there yet): it does so once the database has been upgraded under it.
    settings = make_settings(tmp_path)
    upgrade(settings)
    await load_fixture(settings, "national-day.toml")  # a programme with polls
    await asyncio.to_thread(command.downgrade, alembic_config(settings.database_url), "0015_presenter")  # no tallies
    async with AsyncTestClient(app=create_app(settings)) as client:
        assert (await client.get("/readyz")).status_code == 503
        upgrade(settings)
        database = sqlite3.connect(tmp_path / "test.sqlite3")
        try:
            polls = {row[0] for row in database.execute("SELECT id FROM poll")}
            counted: set[int] = set()
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and counted != polls:
                await asyncio.sleep(0.2)
                counted = {row[0] for row in database.execute("SELECT poll_id FROM poll_tally WHERE key = 'n'")}
            assert polls and counted == polls
        finally:
            database.close()


async def test_readiness_turns_false_when_the_app_shuts_down(settings):
    # The in-process half of the shutdown: the lifespan's shutdown sets the flag first, and begin_shutdown() (what
    # the served process calls on SIGTERM, before closing any socket) turns /readyz false at once. The served half
    # is test_readyz_is_false_during_a_graceful_shutdown_before_the_sockets_close.
    app = create_app(settings)
    readiness = app.state.readiness
    async with AsyncTestClient(app=app) as client:
        assert (await client.get("/readyz")).status_code == 200
        begin_shutdown()
        response = await client.get("/readyz")
        assert response.status_code == 503 and response.json()["checks"]["shutdown"] == "shutting down"
        assert (await client.get("/healthz")).status_code == 200  # the process still answers
        readiness.shutting_down = False
    assert readiness.shutting_down  # set again by the lifespan's shutdown


def test_readyz_is_false_during_a_graceful_shutdown_before_the_sockets_close(settings, tmp_path, monkeypatch):
    # A real served process and SIGTERM, not only the flag: the drain time (3 s here) makes the order observable
    # without racing, since /readyz must turn 503 while the attendee's websocket is still open, and the socket
    # closes with 1001 only afterwards.
    monkeypatch.setenv("EHALSODAG_SHUTDOWN_DRAIN_SECONDS", "3")
    slug = run_sync(load_fixture(settings))
    server = start_server(settings, tmp_path / "server.log")
    try:
        token = httpx.post(f"{server.base_url}/api/v1/events/{slug}/join", json={}).json()["attendee_token"]

        async def scenario() -> tuple[list[int], int | None, float]:
            async with websockets.connect(f"{server.ws_url}/e/{slug}/ws?token={token}") as ws, \
                    httpx.AsyncClient(base_url=server.base_url) as http:
                await asyncio.wait_for(ws.recv(), 5)  # the snapshot: attached
                statuses = [(await http.get("/readyz")).status_code]
                server.process.terminate()
                deadline = time.monotonic() + 2.5
                while statuses[-1] == 200 and time.monotonic() < deadline:
                    await asyncio.sleep(0.05)
                    statuses.append((await http.get("/readyz")).status_code)
                assert ws.close_code is None, "the socket was closed before /readyz turned false"
                started = time.monotonic()
                with pytest.raises(websockets.ConnectionClosed):
                    while True:
                        await asyncio.wait_for(ws.recv(), 10)
                return statuses, ws.close_code, time.monotonic() - started

        statuses, close_code, waited = asyncio.run(scenario())
        assert statuses[0] == 200 and statuses[-1] == 503, statuses
        assert close_code == 1001 and waited > 0.3  # the drain time passed with the socket open
        assert server.process.wait(timeout=25) in (0, -signal.SIGTERM)  # uvicorn re-raises the signal it handled
    finally:
        stop_server(server)


@needs_postgres
def test_readyz_is_false_when_the_database_goes_away(tmp_path):
    assert DATABASE_URL
    with fresh_database(DATABASE_URL, "ehalsodag_ops") as url:
        settings = make_settings(tmp_path, database_url=url)
        upgrade(settings)
        run_sync(load_fixture(settings))
        server = start_server(settings, tmp_path / "server.log")
        try:
            assert httpx.get(f"{server.base_url}/readyz").status_code == 200

            async def drop() -> None:
                import asyncpg

                connection = await asyncpg.connect(plain_dsn(DATABASE_URL), timeout=10)
                try:  # ends the server's pooled connections too
                    await connection.execute(f'DROP DATABASE "{urlsplit(url).path[1:]}" WITH (FORCE)')
                finally:
                    await connection.close()

            asyncio.run(drop())
            response = poll_until_not_ready(server.base_url)
            assert response.json()["checks"]["database"] == "unreachable", response.text
            assert httpx.get(f"{server.base_url}/healthz").status_code == 200
        finally:
            stop_server(server)


class TcpProxy:
    """A loopback TCP proxy to Redis that the test can take away (as a Redis restart or a network cut would)."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.1)
        self.port = self.listener.getsockname()[1]
        self.connections: list[socket.socket] = []
        self.running = True
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while self.running:
            try:
                client, _address = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            client.settimeout(None)
            upstream = socket.create_connection(self.target)
            self.connections += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                try:
                    end.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self) -> None:
        """Refuse new connections and cut the open ones."""
        self.running = False
        self.thread.join()
        self.listener.close()
        for connection in self.connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            connection.close()


def poll_until_not_ready(base_url: str, seconds: float = 15.0) -> httpx.Response:
    """GET /readyz until it answers 503 (readiness is kept for 2 s; a probe may take a few seconds)."""
    deadline = time.monotonic() + seconds
    while True:
        response = httpx.get(f"{base_url}/readyz", timeout=10)
        if response.status_code == 503 or time.monotonic() > deadline:
            assert response.status_code == 503, response.text
            return response
        time.sleep(0.2)


@needs_redis
def test_readyz_is_false_when_redis_goes_away(settings, tmp_path):
    assert REDIS_URL
    parts = urlsplit(REDIS_URL)
    proxy = TcpProxy(parts.hostname or "127.0.0.1", parts.port or 6379)
    run_sync(load_fixture(settings))
    proxied = parts._replace(netloc=f"127.0.0.1:{proxy.port}").geturl()
    with_redis = replace(make_settings(tmp_path, database_url=settings.database_url, redis_url=proxied),
                         channel_prefix=f"test-{secrets.token_hex(4)}")
    server = start_server(with_redis, tmp_path / "server.log")
    try:
        ready = httpx.get(f"{server.base_url}/readyz")
        assert ready.status_code == 200, ready.text
        proxy.close()
        response = poll_until_not_ready(server.base_url)
        assert response.json()["checks"]["hub"] != "ok", response.text
        assert response.json()["checks"]["database"] == "ok"
    finally:
        stop_server(server)
        if proxy.running:
            proxy.close()
