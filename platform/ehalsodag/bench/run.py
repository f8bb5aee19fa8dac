"""``ehalsodag bench --profile smoke|full``: how many attendees one process holds, how fast votes go in
and results come out, measured end to end, and compared with a bare websockets baseline in the same run.

Everything runs on this machine's loopback interface and stops by itself. Phases:

1. the platform (``ehalsodag serve``: SQLite and one process by default; or N workers on PostgreSQL
   and Redis) with the demo programme and fresh polls open;
2. joins over the API and a websocket per attendee, from several generator processes;
3. vote bursts (every attendee answers a fresh scale poll, again and again): latency from the vote
   to the results push on the moderators' screens and on every attendee's, read from the push's marker;
4. broadcasts (announcements) to everyone: latency from the server's publish and from the
   moderator's click, and delivered frames per second;
5. memory (the server's RSS per idle connection), CPU, and every accepted vote must be counted;
6. the calibration baseline: a bare ``websockets`` server broadcasting frames as large as the
   platform's announcement pushes to as many clients, from as many generator processes.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import multiprocessing as mp
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

SLUG = "ostergotland-2021-03-23"
MARK = re.compile(r'data-bench="([0-9.]+)"')
ANNOUNCE = re.compile(r"bench-([0-9.]+)")
#: When the server published a frame (benchmark mode): what the fan-out is timed from.
PUSHED = re.compile(r"bench-push:([0-9.]+)")


@dataclass(frozen=True)
class Profile:
    """How big and how long a run is."""

    name: str
    attendees: int
    processes: int
    vote_bursts: int
    broadcasts: int
    moderators: int = 2
    timeout_s: float = 300.0


PROFILES = {
    "tiny": Profile("tiny", attendees=50, processes=2, vote_bursts=2, broadcasts=3, timeout_s=60),
    "smoke": Profile("smoke", attendees=500, processes=2, vote_bursts=4, broadcasts=5, timeout_s=120),
    "full": Profile("full", attendees=5000, processes=4, vote_bursts=5, broadcasts=10, timeout_s=400),
}


def now_ms() -> float:
    """Wall-clock milliseconds (client and server share this machine's clock)."""
    return time.time() * 1000


def percentiles(values: list[float]) -> dict[str, float | None]:
    """p50, p95 and p99 of ``values`` in ms (None when there are none)."""
    if not values:
        return {"p50": None, "p95": None, "p99": None}
    ordered = sorted(values)

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)

    return {"p50": at(0.50), "p95": at(0.95), "p99": at(0.99)}


def require_loopback(url: str) -> None:
    """The benchmark only ever sends traffic to this machine."""
    host = urlsplit(url).hostname or ""
    if host != "localhost" and not ipaddress.ip_address(host).is_loopback:
        raise SystemExit(f"refusing to load {host}: the benchmark targets loopback addresses only")


# --- a lean HTTP client ---------------------------------------------------------------------------


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
        self._idle: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter] | None] = asyncio.Queue()
        for _ in range(size):
            self._idle.put_nowait(None)  # opened on first use

    async def request(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None,
                      stamp: str | None = None) -> tuple[int, bytes]:
        """Send one request and return (status, body); reconnects once if the socket went stale.

        With ``stamp``, that header carries the time the request is written (after waiting for a
        free socket): latencies are timed from when the vote leaves, not from when it was queued here.
        """
        connection = await self._idle.get()
        payload = json.dumps(body).encode() if body is not None else b""
        head = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}", f"Content-Length: {len(payload)}"]
        if body is not None:
            head.append("Content-Type: application/json")
        head += [f"{k}: {v}" for k, v in (headers or {}).items()]
        if stamp:
            head.append(f"{stamp}: {now_ms():.3f}")
        raw = ("\r\n".join(head) + "\r\n\r\n").encode() + payload
        try:
            for attempt in (1, 2):
                if connection is None:
                    connection = await asyncio.open_connection(self.host, self.port)
                try:
                    result = await self._exchange(connection, raw)
                    return result
                except (ConnectionError, asyncio.IncompleteReadError):
                    connection[1].close()
                    connection = None
                    if attempt == 2:
                        raise
            raise AssertionError("unreachable")
        finally:
            self._idle.put_nowait(connection)

    @staticmethod
    async def _exchange(connection: tuple[asyncio.StreamReader, asyncio.StreamWriter], raw: bytes) -> tuple[int, bytes]:
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

    async def close(self) -> None:
        """Close every open socket."""
        while not self._idle.empty():
            connection = self._idle.get_nowait()
            if connection is not None:
                connection[1].close()


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


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def delivery_rate(spans: dict[str, tuple[int, float]]) -> float:
    """Frames delivered per second while a broadcast is in flight: for each broadcast, the clients it
    reached divided by the time until the last one had it; averaged over the broadcasts."""
    rates = [count / (longest / 1000) for count, longest in spans.values() if longest > 0]
    return statistics.mean(rates) if rates else 0.0


def merge_spans(results: list[dict[str, Any]]) -> dict[str, tuple[int, float]]:
    """Per broadcast: how many clients got it (over every generator process) and the slowest latency."""
    spans: dict[str, tuple[int, float]] = {}
    for result in results:
        for mark, (count, longest) in result["spans"].items():
            total, worst = spans.get(mark, (0, 0.0))
            spans[mark] = (total + count, max(worst, longest))
    return spans


async def _connect_all(urls: list[str], headers: dict[str, str] | None = None) -> tuple[list[Any], int]:
    """Open a websocket per URL, 100 handshakes at a time; returns (sockets, failures)."""
    import websockets

    gate = asyncio.Semaphore(100)
    failures = 0

    async def one(url: str) -> Any:
        nonlocal failures
        async with gate:
            try:
                return await websockets.connect(url, compression=None, max_size=None, open_timeout=60,
                                                ping_interval=None, additional_headers=headers)
            except Exception:
                failures += 1
                return None

    sockets = await asyncio.gather(*(one(url) for url in urls))
    return [s for s in sockets if s is not None], failures


def _wait_for(out: Any, processes: int, kind: str, results: list[dict[str, Any]], timeout: float) -> None:
    """Wait until every generator process has said ``kind`` (or finished: its result goes to ``results``)."""
    seen = 0
    while seen < processes:
        message = out.get(timeout=timeout)
        if isinstance(message, dict):
            results.append(message)
            seen += 1
        elif message[0] == kind:
            seen += 1


# --- baseline ---------------------------------------------------------------------------------


BASELINE_SERVER = r"""
import asyncio, sys, time, websockets
clients = set()
async def handler(ws):
    if ws.request.path == "/control":
        async for message in ws:
            _, count, size = message.split()
            for i in range(int(count)):
                frame = f"bench-{time.time() * 1000:.3f} " + "x" * int(size)
                websockets.broadcast(clients, frame)
                await asyncio.sleep(0.5)
            await ws.send("done")
        return
    clients.add(ws)
    try:
        await ws.wait_closed()
    finally:
        clients.discard(ws)
async def main():
    async with websockets.serve(handler, "127.0.0.1", int(sys.argv[1]), compression=None, max_queue=None,
                                ping_interval=None):
        await asyncio.Future()
asyncio.run(main())
"""


def baseline_process(url: str, clients: int, count: int, out: Any) -> None:
    """One baseline generator process: hold ``clients`` sockets and time ``count`` broadcasts."""
    out.put(asyncio.run(_baseline_clients(url, clients, count, out)))


async def _baseline_clients(url: str, clients: int, count: int, out: Any) -> dict[str, Any]:
    sockets, failures = await _connect_all([url] * clients)
    result: dict[str, Any] = {"broadcast_ms": [], "spans": {}, "frames": 0, "errors": failures}

    async def reader(ws: Any) -> None:
        for _ in range(count):
            frame = await ws.recv()
            _record_broadcast(result, frame, now_ms())

    readers = [asyncio.create_task(reader(ws)) for ws in sockets]
    out.put(("ready", len(sockets)))
    await asyncio.wait(readers, timeout=60 + count)
    for ws in sockets:
        await ws.close()
    return result


def _record_broadcast(result: dict[str, Any], frame: str, arrived: float) -> None:
    """Time a broadcast from when the server sent it (the baseline stamps that in the announcement
    itself; the platform adds the moment it published the push) and, for the platform, also from
    the moderator's click."""
    result["frames"] += 1
    for mark in set(ANNOUNCE.findall(frame)):
        result["broadcast_bytes"] = max(result.get("broadcast_bytes", 0), len(frame.encode()))
        pushed = PUSHED.search(frame)
        latency = arrived - float(pushed.group(1) if pushed else mark)
        result["broadcast_ms"].append(latency)
        if pushed:
            result.setdefault("announcement_ms", []).append(arrived - float(mark))
        count, longest = result["spans"].get(mark, (0, 0.0))
        result["spans"][mark] = (count + 1, max(longest, latency))


def run_baseline(profile: Profile, count: int, size: int) -> dict[str, Any]:
    """A bare websockets server broadcasting ``count`` frames of ``size`` bytes to as many clients as the
    profile has attendees, from as many generator processes."""
    import websockets.sync.client

    port = free_port()
    server = subprocess.Popen([sys.executable, "-c", BASELINE_SERVER, str(port)])
    context = mp.get_context("spawn")
    out = context.Queue()
    url = f"ws://127.0.0.1:{port}/"
    try:
        time.sleep(0.8)
        shares = _shares(profile.attendees, profile.processes)
        workers = [context.Process(target=baseline_process, args=(url, share, count, out)) for share in shares]
        for worker in workers:
            worker.start()
        results: list[dict[str, Any]] = []
        _wait_for(out, len(workers), "ready", results, profile.timeout_s)
        time.sleep(1)
        with websockets.sync.client.connect(url + "control") as control:
            control.send(f"go {count} {size}")
            control.recv(timeout=60 + count)
        while len(results) < len(workers):
            results.append(out.get(timeout=profile.timeout_s))
        for worker in workers:
            worker.join(timeout=30)
    finally:
        server.terminate()
        server.wait(timeout=10)
    latencies = [v for r in results for v in r["broadcast_ms"]]
    return {"deliveries_per_s": delivery_rate(merge_spans(results)), "broadcast_ms": percentiles(latencies),
            "errors": sum(r["errors"] for r in results)}


def _shares(total: int, parts: int) -> list[int]:
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


# --- load generator processes ------------------------------------------------------------------


def attendee_process(base: str, tokens: list[str], poll_ids: list[int], control: Any, out: Any) -> None:
    """One generator process: hold ``tokens``' websockets, vote in bursts, record what arrives."""
    out.put(asyncio.run(_attendees(base, tokens, poll_ids, control, out)))


async def _attendees(base: str, tokens: list[str], poll_ids: list[int], control: Any, out: Any) -> dict[str, Any]:
    import websockets

    loop = asyncio.get_running_loop()
    ws_base = base.replace("http://", "ws://")
    sockets, failures = await _connect_all([f"{ws_base}/e/{SLUG}/ws?token={token}" for token in tokens])
    result: dict[str, Any] = {"errors": failures, "disconnects": 0, "vote_ms": [], "broadcast_ms": [],
                              "frames": 0, "votes_accepted": 0, "spans": {}, "burst_s": [], "sockets": len(sockets)}

    async def reader(ws: Any) -> None:
        try:
            async for frame in ws:
                arrived = now_ms()
                for mark in MARK.findall(frame):
                    result["vote_ms"].append(arrived - float(mark))
                _record_broadcast(result, frame, arrived)
        except websockets.ConnectionClosedOK:
            pass
        except websockets.ConnectionClosed:
            result["disconnects"] += 1

    readers = [asyncio.create_task(reader(ws)) for ws in sockets]
    out.put(("ready", len(sockets)))
    start_at = await loop.run_in_executor(None, control.get)  # every process starts voting at the same moment
    await asyncio.sleep(max(0.0, start_at - time.time()))
    cpu_started, load_started = time.process_time(), time.monotonic()
    http = HttpPool(base, 64)
    for burst, poll_id in enumerate(poll_ids):  # one fresh poll per burst: every vote is a new row
        async def vote(token: str, value: int, poll_id: int = poll_id) -> None:
            try:
                status, _body = await http.request("POST", f"/api/v1/polls/{poll_id}/responses", {"value": value},
                                                    {"Authorization": f"Bearer {token}"}, stamp="X-Bench-Ts")
                result["votes_accepted" if status in (200, 201) else "errors"] += 1
            except (OSError, asyncio.IncompleteReadError, ValueError):
                result["errors"] += 1

        started = time.monotonic()
        await asyncio.gather(*(vote(t, 1 + (i + burst) % 5) for i, t in enumerate(tokens)))
        result["burst_s"].append(time.monotonic() - started)
        await asyncio.sleep(1.0)
    await http.close()
    out.put(("voted", len(tokens)))
    await loop.run_in_executor(None, control.get)  # the broadcasts happen now; wait until they are over
    result["cpu_percent"] = 100 * (time.process_time() - cpu_started) / (time.monotonic() - load_started)
    for ws in sockets:
        await ws.close()
    for task in readers:
        task.cancel()
    return result


# --- the run ------------------------------------------------------------------------------------


@dataclass
class Report:
    """The benchmark JSON of CONTRACT.md, plus the baseline's own figures and the server's CPU."""

    profile: str
    attendees: int
    duration_s: float
    errors: int
    disconnects: int
    votes_accepted: int
    votes_counted: int
    votes_per_s: float
    vote_to_staff_ms: dict[str, float | None]
    vote_to_attendee_ms: dict[str, float | None]
    broadcast_ms: dict[str, float | None]
    #: From the moderator's click (POST) to each attendee: the action, the database and the render too.
    announcement_ms: dict[str, float | None]
    baseline_deliveries_per_s: float
    deliveries_per_s: float
    delivery_ratio_to_baseline: float
    rss_per_connection_kib: float
    joins_per_s: float
    baseline_broadcast_ms: dict[str, float | None]
    #: Broadcast frames that did not reach a connected attendee (0 when every socket got every one).
    broadcasts_missed: int
    #: Server CPU (all its processes) while the attendees voted and were broadcast to, as % of one core.
    server_cpu_percent: float
    #: The load generator's CPU over the same time (its processes share this machine's cores).
    generator_cpu_percent: float
    #: Size of the platform's announcement pushes, which the baseline's frames copy.
    broadcast_bytes: int = 0
    workers: int = 1
    database: str = "sqlite"
    hub: str = "memory"
    compression: str = "off"


@dataclass(frozen=True)
class Target:
    """Where the platform under test runs: workers, database and hub."""

    workers: int = 1
    database_url: str | None = None  # a PostgreSQL server; a fresh database is made on it and dropped
    redis_url: str | None = None


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


def _start_platform(var_dir: Path, port: int, target: Target) -> tuple[subprocess.Popen[bytes], dict[str, str]]:
    env = {**os.environ, "EHALSODAG_VAR_DIR": str(var_dir), "EHALSODAG_BENCH": "1",
           "EHALSODAG_DATABASE_URL": f"sqlite+aiosqlite:///{var_dir / 'bench.sqlite3'}",
           "EHALSODAG_JOIN_LIMIT": "1000000", "EHALSODAG_VOTE_LIMIT": "1000000",
           "EHALSODAG_SECRET_KEY": "bench-secret-key-bench-secret-key",
           "EHALSODAG_CHANNEL_PREFIX": f"bench{os.getpid()}"}
    env.pop("EHALSODAG_REDIS_URL", None)
    info = {"drop": ""}
    if target.database_url:
        parts = urlsplit(target.database_url)
        require_loopback(f"http://{parts.hostname}")
        name = f"ehalsodag_bench_{os.getpid()}"
        _postgres(target.database_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        _postgres(target.database_url, f'CREATE DATABASE "{name}"')
        env["EHALSODAG_DATABASE_URL"] = parts._replace(path=f"/{name}").geturl()
        info["drop"] = f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
    if target.redis_url:
        require_loopback(f"http://{urlsplit(target.redis_url).hostname}")
        env["EHALSODAG_REDIS_URL"] = target.redis_url
    agenda = Path(__file__).resolve().parents[3] / "agenda" / f"{SLUG}.toml"
    _run_cli(env, "db", "upgrade")
    _run_cli(env, "agenda", "load", str(agenda))
    _run_cli(env, "user", "add", "bench@example.se", "--role", "organiser", "--event", SLUG,
             stdin=b"bench password\n")
    info["token"] = _run_cli(env, "token", "create", "bench@example.se")
    server = subprocess.Popen([sys.executable, "-m", "ehalsodag.cli", "serve", "--host", "127.0.0.1", "--port",
                               str(port), "--workers", str(target.workers)], env=env,
                              stdout=(var_dir / "server.log").open("wb"), stderr=subprocess.STDOUT)
    return server, info


async def _staff_clients(base: str, token: str, count: int, stop: asyncio.Event, out: dict[str, Any]) -> None:
    sockets, _failures = await _connect_all([f"{base.replace('http://', 'ws://')}/e/{SLUG}/ws"] * count,
                                            {"Authorization": f"Bearer {token}"})

    async def watch(ws: Any) -> None:
        while not stop.is_set():
            try:
                frame = await asyncio.wait_for(ws.recv(), 0.5)
            except TimeoutError:
                continue
            arrived = now_ms()
            out["vote_ms"].extend(arrived - float(m) for m in MARK.findall(frame) if "-staff" in frame)

    await asyncio.gather(*(watch(ws) for ws in sockets))
    for ws in sockets:
        await ws.close()


def _wait_until_up(base: str) -> None:
    import httpx

    for _ in range(300):
        try:
            if httpx.get(base + "/", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise SystemExit("the platform did not start")


def _join_all(base: str, count: int) -> list[str]:
    async def go() -> list[str]:
        http = HttpPool(base, 100)
        gate = asyncio.Semaphore(100)

        async def join(i: int) -> str:
            async with gate:
                status, body = await http.request("POST", f"/api/v1/events/{SLUG}/join", {"group_size": 1 + i % 4})
            if status != 201:
                raise SystemExit(f"join failed with {status}: {body[:200]!r}")
            return json.loads(body)["attendee_token"]

        try:
            return list(await asyncio.gather(*(join(i) for i in range(count))))
        finally:
            await http.close()

    return asyncio.run(go())


def run(profile_name: str, json_path: str | None = None, base_url: str | None = None,
        target: Target | None = None, attendees: int | None = None) -> Report:
    """Run one profile and return (and optionally write) the report."""
    import httpx

    target = target or Target()
    if target.workers > 1 and not target.redis_url:
        raise SystemExit("several workers need --redis-url: their hub is Redis pub/sub")
    profile = PROFILES[profile_name]
    if attendees:
        profile = Profile(profile.name, attendees, max(profile.processes, attendees // 1250), profile.vote_bursts,
                          profile.broadcasts, profile.moderators, profile.timeout_s)
    started = time.monotonic()
    var_dir = Path(tempfile.mkdtemp(prefix="ehalsodag-bench-"))
    port = free_port()
    server, info = _start_platform(var_dir, port, target)
    base = base_url or f"http://127.0.0.1:{port}"
    require_loopback(base)
    staff = {"Authorization": f"Bearer {info['token']}"}
    context = mp.get_context("spawn")
    workers: list[Any] = []
    try:
        _wait_until_up(base)
        event = httpx.get(f"{base}/api/v1/events/{SLUG}").json()
        block = next(b["id"] for b in event["blocks"] if b["key"] == "block-1")
        httpx.post(f"{base}/api/v1/events/{SLUG}/live", json={"block_id": block}, headers=staff)
        poll_ids = []
        for burst in range(profile.vote_bursts):
            created = httpx.post(f"{base}/api/v1/events/{SLUG}/polls", headers=staff, json={
                "kind": "scale", "question": f"Benchmark {burst + 1}", "scale_min": 1, "scale_max": 5}).json()
            httpx.post(f"{base}/api/v1/polls/{created['id']}/open", headers=staff)
            poll_ids.append(created["id"])

        join_started = time.monotonic()
        tokens = _join_all(base, profile.attendees)
        joins_per_s = len(tokens) / (time.monotonic() - join_started)
        time.sleep(1)
        idle_rss = rss_kib(server.pid)

        out = context.Queue()
        controls = [context.Queue() for _ in range(profile.processes)]
        workers = [context.Process(target=attendee_process, args=(base, tokens[i::profile.processes], poll_ids,
                                                                  controls[i], out))
                   for i in range(profile.processes)]
        for worker in workers:
            worker.start()
        results: list[dict[str, Any]] = []
        _wait_for(out, len(workers), "ready", results, profile.timeout_s)
        time.sleep(2)  # let the last snapshots go out: the sockets are idle now
        connected_rss = rss_kib(server.pid)
        staff_out: dict[str, Any] = {"vote_ms": []}

        async def moderate() -> float:
            stop = asyncio.Event()
            watchers = asyncio.create_task(_staff_clients(base, info["token"], profile.moderators, stop, staff_out))
            await asyncio.sleep(1)
            cpu_before, load_started = cpu_seconds(server.pid), time.monotonic()
            start_at = time.time() + 0.5
            for control in controls:
                control.put(start_at)
            await asyncio.get_running_loop().run_in_executor(
                None, _wait_for, out, len(workers), "voted", results, profile.timeout_s)
            async with httpx.AsyncClient(base_url=base, timeout=30) as http:
                for _ in range(profile.broadcasts):
                    await http.post(f"/api/v1/events/{SLUG}/announcement", json={"text": f"bench-{now_ms():.3f}"},
                                    headers=staff)
                    await asyncio.sleep(0.5)
            await asyncio.sleep(3)
            cpu_percent = 100 * (cpu_seconds(server.pid) - cpu_before) / (time.monotonic() - load_started)
            stop.set()
            await watchers
            return cpu_percent

        cpu_percent = asyncio.run(moderate())
        for control in controls:
            control.put("stop")
        while len(results) < len(workers):
            results.append(out.get(timeout=profile.timeout_s))
        for worker in workers:
            worker.join(timeout=30)

        counted = _count_votes(base, staff, poll_ids)
    finally:
        for worker in workers:
            if worker.is_alive():
                worker.kill()
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        if info.get("drop") and target.database_url:
            _postgres(target.database_url, info["drop"])
    # The calibration baseline broadcasts frames as large as the platform's announcement pushes were.
    broadcast_bytes = max((r.get("broadcast_bytes", 0) for r in results), default=0) or 1200
    baseline = run_baseline(profile, profile.broadcasts, broadcast_bytes)
    connected = sum(r["sockets"] for r in results)
    spans = merge_spans(results)
    deliveries = delivery_rate(spans)
    burst_seconds = [max(r["burst_s"][i] for r in results) for i in range(len(poll_ids))]
    report = Report(
        profile=profile.name, attendees=profile.attendees, duration_s=round(time.monotonic() - started, 1),
        errors=sum(r["errors"] for r in results), disconnects=sum(r["disconnects"] for r in results),
        votes_accepted=sum(r["votes_accepted"] for r in results), votes_counted=counted,
        votes_per_s=round(profile.attendees / statistics.mean(burst_seconds), 1) if burst_seconds else 0.0,
        vote_to_staff_ms=percentiles(staff_out["vote_ms"]),
        vote_to_attendee_ms=percentiles([v for r in results for v in r["vote_ms"]]),
        broadcast_ms=percentiles([v for r in results for v in r["broadcast_ms"]]),
        announcement_ms=percentiles([v for r in results for v in r.get("announcement_ms", [])]),
        baseline_deliveries_per_s=round(baseline["deliveries_per_s"], 1),
        deliveries_per_s=round(deliveries, 1),
        delivery_ratio_to_baseline=round(deliveries / baseline["deliveries_per_s"], 3)
        if baseline["deliveries_per_s"] else 0.0,
        rss_per_connection_kib=round((connected_rss - idle_rss) / max(1, connected), 1),
        joins_per_s=round(joins_per_s, 1),
        baseline_broadcast_ms=baseline["broadcast_ms"],
        broadcasts_missed=profile.broadcasts * connected - sum(count for count, _ in spans.values()),
        server_cpu_percent=round(cpu_percent, 1),
        generator_cpu_percent=round(sum(r.get("cpu_percent", 0.0) for r in results), 1),
        workers=target.workers, database="postgresql" if target.database_url else "sqlite",
        hub="redis" if target.redis_url else "memory", broadcast_bytes=broadcast_bytes,
    )
    if json_path:
        Path(json_path).write_text(json.dumps(asdict(report), indent=2) + "\n")
    return report


def _count_votes(base: str, staff: dict[str, str], poll_ids: list[int]) -> int:
    """Stored answers of the benchmark's polls, as the organisers' results JSON counts them."""
    import httpx

    results = httpx.get(f"{base}/api/v1/events/{SLUG}/results", headers=staff, timeout=60).json()
    return sum(p["responses"] for p in results["polls"] if p["id"] in poll_ids)


def table(report: Report) -> str:
    """The report as a readable table."""
    return table_of(asdict(report))


def table_of(figures: dict[str, Any]) -> str:
    """Figures as a readable two-column table."""
    width = max(len(k) for k in figures)
    return "\n".join(f"{key.ljust(width)}  {value}" for key, value in figures.items())


# --- the vote writer alone ---------------------------------------------------------------------


def run_writer(votes: int = 20_000) -> dict[str, Any]:
    """How fast the vote writer alone stores votes, without HTTP: ``votes`` attendees each answer one
    open scale poll in a fresh SQLite database (WAL, ``synchronous=FULL``), 2,000 at a time in flight.
    Shows what the storage side can take, apart from the event loop's HTTP work."""
    var_dir = Path(tempfile.mkdtemp(prefix="ehalsodag-writer-"))
    env = {**os.environ, "EHALSODAG_VAR_DIR": str(var_dir),
           "EHALSODAG_DATABASE_URL": f"sqlite+aiosqlite:///{var_dir / 'writer.sqlite3'}"}
    _run_cli(env, "db", "upgrade")
    _run_cli(env, "agenda", "load", str(Path(__file__).resolve().parents[3] / "agenda" / f"{SLUG}.toml"))
    return asyncio.run(_write_votes(env["EHALSODAG_DATABASE_URL"], votes))


async def _write_votes(database_url: str, votes: int) -> dict[str, Any]:
    from dataclasses import replace

    from ehalsodag.agenda.service import event_by_slug
    from ehalsodag.db.engine import Database
    from ehalsodag.live.service import JoinRequest, new_attendee
    from ehalsodag.polls import service as poll_service
    from ehalsodag.polls.batch import Vote, VoteWriter
    from ehalsodag.settings import load_settings

    db = Database(replace(load_settings(), database_url=database_url))
    try:
        async with db.writer() as session:
            event = await event_by_slug(session, SLUG)
            assert event is not None
            poll = await poll_service.create_poll(session, event, poll_service.PollSpec(
                kind="scale", question="Benchmark"), actor="bench")
            await poll_service.change(session, poll, "open", "bench")
            attendees = [new_attendee(event.id, JoinRequest())[0] for _ in range(votes)]
            session.add_all(attendees)
            await session.commit()
            ids, event_id, poll_id = [a.id for a in attendees], event.id, poll.id
        writer = VoteWriter(db)
        writer.start()
        gate = asyncio.Semaphore(2000)

        async def vote(i: int) -> bool:
            async with gate:
                return await writer.write(Vote(poll_id, ids[i], event_id, {"value": 1 + i % 5}, "sv"))

        started = time.perf_counter()
        firsts = await asyncio.gather(*(vote(i) for i in range(votes)))
        seconds = time.perf_counter() - started
        await writer.stop()
        async with db.reader() as session:
            stored = (await poll_service.results(session, await poll_service.poll_by_id(session, poll_id))).responses
    finally:
        await db.dispose()
    return {"votes": votes, "stored": stored, "first_answers": sum(firsts), "seconds": round(seconds, 2),
            "votes_per_s": round(votes / seconds, 1), "batches": writer.batches}
