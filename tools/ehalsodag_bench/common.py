"""What every profile of the benchmark shares: time, percentiles, a lean HTTP client, websockets,
the server's process figures, and the loopback rule."""

from __future__ import annotations

import asyncio
import ipaddress
import json
import os
import socket
import time
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

#: The demo event every profile runs on.
SLUG = "ostergotland-2021-03-23"


def now_ms() -> float:
    """Wall-clock milliseconds (the server, its observer and every generator share this machine's clock)."""
    return time.time() * 1000


def percentiles(values: Iterable[float]) -> dict[str, float | None]:
    """p50, p95 and p99 of ``values`` in ms (None when there are none)."""
    ordered = sorted(values)
    if not ordered:
        return {"p50": None, "p95": None, "p99": None}

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)

    return {"p50": at(0.50), "p95": at(0.95), "p99": at(0.99)}


def histogram_percentiles(histogram: Counter[int]) -> dict[str, float | None]:
    """p50, p95 and p99 of latencies counted per whole millisecond (as :func:`percentiles` would give for the
    values themselves, to the millisecond): millions of deliveries are counted, never listed."""
    total = sum(histogram.values())
    if not total:
        return {"p50": None, "p95": None, "p99": None}
    bins = sorted(histogram.items())
    figures: dict[str, float | None] = {}
    for name, q in (("p50", 0.50), ("p95", 0.95), ("p99", 0.99)):
        rank, seen = min(total - 1, int(q * total)), 0
        for value, count in bins:
            seen += count
            if seen > rank:
                figures[name] = float(value)
                break
    return figures


def require_loopback(url: str) -> None:
    """The benchmark only ever sends traffic to this machine."""
    host = urlsplit(url).hostname or ""
    if host != "localhost" and not ipaddress.ip_address(host).is_loopback:
        raise SystemExit(f"refusing to load {host}: the benchmark targets loopback addresses only")


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def shares(total: int, parts: int) -> list[int]:
    """``total`` split into ``parts`` nearly equal shares."""
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


def table_of(figures: dict[str, Any]) -> str:
    """Figures as a readable two-column table."""
    width = max(len(k) for k in figures)
    return "\n".join(f"{key.ljust(width)}  {value}" for key, value in figures.items())


# --- a lean HTTP client ---------------------------------------------------------------------------


Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]


class HttpPool:
    """A minimal HTTP/1.1 keep-alive client over a few sockets.

    The generator shares the machine's cores with the server it loads, so each request must cost it
    far less CPU than it costs the server; a general-purpose client (httpx) costs about as much.
    Only what the benchmark needs: JSON bodies, Content-Length responses.
    """

    def __init__(self, base: str, size: int) -> None:
        parts = urlsplit(base)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.size = size
        self._idle: asyncio.Queue[Connection | None] = asyncio.Queue()
        for _ in range(size):
            self._idle.put_nowait(None)  # opened on first use

    async def request(self, method: str, path: str, body: Any = None,
                      headers: dict[str, str] | None = None) -> tuple[int, bytes, float]:
        """Send one request; return (status, body, sent): ``sent`` is when the request was written (after
        waiting for a free socket), so latencies are timed from when an action leaves, not from when it
        was queued here. Reconnects once if the socket went stale."""
        connection = await self._idle.get()
        raw = _request_bytes(self.host, self.port, method, path, body, headers)
        try:
            for attempt in (1, 2):
                if connection is None:
                    connection = await asyncio.open_connection(self.host, self.port)
                try:
                    sent = now_ms()
                    status, answer = await _exchange(connection, raw)
                    return status, answer, sent
                except (ConnectionError, asyncio.IncompleteReadError):
                    connection[1].close()
                    connection = None
                    if attempt == 2:
                        raise
            raise AssertionError("unreachable")
        finally:
            self._idle.put_nowait(connection)

    async def close(self) -> None:
        """Close every open socket."""
        while not self._idle.empty():
            connection = self._idle.get_nowait()
            if connection is not None:
                connection[1].close()


async def fresh_request(base: str, method: str, path: str, body: Any = None,
                        headers: dict[str, str] | None = None) -> tuple[int, bytes, float]:
    """One request on a new connection, as a newcomer's browser would make it; (status, body, started)."""
    parts = urlsplit(base)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    started = now_ms()
    connection = await asyncio.open_connection(host, port)
    try:
        status, answer = await _exchange(connection, _request_bytes(host, port, method, path, body, headers))
        return status, answer, started
    finally:
        connection[1].close()


def _request_bytes(host: str, port: int, method: str, path: str, body: Any,
                   headers: dict[str, str] | None) -> bytes:
    payload = json.dumps(body).encode() if body is not None else b""
    head = [f"{method} {path} HTTP/1.1", f"Host: {host}:{port}", f"Content-Length: {len(payload)}"]
    if body is not None:
        head.append("Content-Type: application/json")
    head += [f"{k}: {v}" for k, v in (headers or {}).items()]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + payload


async def _exchange(connection: Connection, raw: bytes) -> tuple[int, bytes]:
    reader, writer = connection
    writer.write(raw)
    status_line = await reader.readuntil(b"\r\n")
    if not status_line:
        raise ConnectionError("closed")
    status = int(status_line.split(b" ", 2)[1])
    length = 0
    while (line := await reader.readuntil(b"\r\n")) != b"\r\n":
        name, _sep, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    return status, await reader.readexactly(length)


# --- websockets -----------------------------------------------------------------------------------


def compression() -> str | None:
    """What the generator's sockets offer: nothing, or permessage-deflate as browsers do with
    ``EHALSODAG_BENCH_COMPRESSION=deflate`` (the server must allow it: ``EHALSODAG_WS_COMPRESSION=1``)."""
    return "deflate" if os.environ.get("EHALSODAG_BENCH_COMPRESSION") == "deflate" else None


async def connect_all(urls: list[str], headers: dict[str, str] | None = None) -> tuple[list[Any], int]:
    """Open a websocket per URL, 100 handshakes at a time; returns (sockets, failures)."""
    import websockets

    gate = asyncio.Semaphore(100)
    failures = 0

    async def one(url: str) -> Any:
        nonlocal failures
        async with gate:
            try:
                return await websockets.connect(url, compression=compression(), max_size=None, open_timeout=60,
                                                ping_interval=None, additional_headers=headers)
            except Exception:
                failures += 1
                return None

    sockets = await asyncio.gather(*(one(url) for url in urls))
    return [s for s in sockets if s is not None], failures


def wait_for(out: Any, processes: int, kind: str, results: list[dict[str, Any]], timeout: float) -> None:
    """Wait until every generator process has said ``kind`` (or finished: its result goes to ``results``)."""
    seen = 0
    while seen < processes:
        message = out.get(timeout=timeout)
        if isinstance(message, dict):
            results.append(message)
            seen += 1
        elif message[0] == kind:
            seen += 1


# --- process tree figures ----------------------------------------------------------------------


def process_tree(pid: int) -> list[int]:
    """``pid`` and all its descendants (uvicorn's worker processes)."""
    pids, index = [pid], 0
    while index < len(pids):
        current = pids[index]
        index += 1
        try:
            for task in Path(f"/proc/{current}/task").iterdir():
                children = (task / "children").read_text().split()
                pids.extend(int(child) for child in children)
        except OSError:
            continue
    return pids


def rss_kib(pid: int) -> int:
    """Resident memory of a process and its children, in KiB (Linux)."""
    total = 0
    for member in process_tree(pid):
        try:
            for line in Path(f"/proc/{member}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) used so far by a process and its children, in seconds (Linux)."""
    ticks = 0
    for member in process_tree(pid):
        try:
            fields = Path(f"/proc/{member}/stat").read_text().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])
        except (OSError, IndexError, ValueError):
            continue
    return ticks / os.sysconf("SC_CLK_TCK")
