"""Faults a test can inject: a throwaway Redis it kills and restarts, and a TCP proxy it cuts.

Both run on their own loopback port, so a test never disturbs the shared Redis or PostgreSQL.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path

from tests.conftest import free_port, listens_on

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


def redis_server_missing() -> str | None:
    """Why the fault tests cannot run here, or None. Where the service tests are mandatory
    (EHALSODAG_TEST_REDIS_URL set, as in .ci/run) a missing redis-server is a failure, not a skip."""
    if Path(REDIS_SERVER).exists():
        return None
    if os.environ.get("EHALSODAG_TEST_REDIS_URL"):
        raise RuntimeError("redis-server is not installed but EHALSODAG_TEST_REDIS_URL is set: install redis-server")
    return "redis-server is not installed (the fault tests start their own)"


class ThrowawayRedis:
    """``redis-server`` on a port of its own, without persistence; :meth:`kill` and :meth:`start` again."""

    def __init__(self, folder: Path, port: int | None = None) -> None:
        self.folder = folder
        self.port = port or free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self._started_before = port is not None  # a port given by the caller is never swapped for another

    @property
    def url(self) -> str:
        """The URL of database 0 on this server."""
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> ThrowawayRedis:
        """Start (or restart) the server and wait until it answers PING. A first start on a port another test's
        server took meanwhile moves to another port; only this server's own answer counts."""
        for _attempt in range(5):
            if self._start_once():
                return self
            if self._started_before:
                break
            self.port = free_port()
        raise RuntimeError(f"redis-server did not start on port {self.port}")

    def _start_once(self) -> bool:
        log = (self.folder / f"redis-{self.port}.log").open("ab")
        self.process = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.folder)], stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG") and listens_on(self.process.pid, self.port):
                        self._started_before = True
                        return True
            except OSError:
                pass
            time.sleep(0.05)
        self.process.kill()
        self.process.wait(timeout=10)
        self.process = None
        return False

    def kill(self) -> None:
        """SIGKILL: every connection drops at once, as when the Redis host dies."""
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None

    def __enter__(self) -> ThrowawayRedis:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.kill()


class TcpProxy:
    """A TCP proxy on a loopback port of its own to ``target``, run in a thread.

    :meth:`cut` closes the listener and every connection through it (the service is unreachable:
    connection refused); :meth:`restore` listens again on the same port.
    """

    def __init__(self, target_host: str, target_port: int, port: int | None = None) -> None:
        self.target = (target_host, target_port)
        self.port = port or free_port()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._thread.start()

    def _call(self, coroutine: object) -> object:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(10)  # type: ignore[arg-type]

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (OSError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        self._writers |= {writer, upstream_writer}
        await asyncio.gather(self._pipe(reader, upstream_writer), self._pipe(upstream_reader, writer))
        self._writers -= {writer, upstream_writer}

    async def _start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port, reuse_address=True)

    async def _cut(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for writer in list(self._writers):
            transport = writer.transport
            transport.abort()
        self._writers.clear()

    def start(self) -> TcpProxy:
        """Listen and forward."""
        self._call(self._start())
        return self

    def cut(self) -> None:
        """Refuse new connections and drop the open ones."""
        self._call(self._cut())

    def restore(self) -> None:
        """Listen again on the same port."""
        self._call(self._start())

    def close(self) -> None:
        """Cut and stop the thread."""
        self._call(self._cut())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
