"""``ehalsodag bench --profile smoke|full``: how many attendees one process holds, how fast votes go in
and results come out, measured end to end, and compared with a bare websockets baseline in the same run.

Everything runs on this machine's loopback interface and stops by itself. Phases:

1. baseline: a bare ``websockets`` server broadcasting a fragment of the same size to as many clients;
2. the platform (``ehalsodag serve``, SQLite, one process) with the demo programme and a poll open;
3. joins over the API and a websocket per attendee, from several generator processes;
4. vote bursts (every attendee answers the scale poll, again and again): latency from the vote to the
   results push on the moderators' screens and on every attendee's, read from the push's marker;
5. broadcasts (announcements) to everyone: latency and delivered frames per second;
6. memory: the server's RSS per idle connection; and every accepted vote must be counted.
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


def rss_kib(pid: int) -> int:
    """Resident memory of a process, in KiB (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- baseline ---------------------------------------------------------------------------------


BASELINE_SERVER = r"""
import asyncio, sys, time, websockets
clients = set()
async def handler(ws):
    clients.add(ws)
    try:
        async for message in ws:
            if message.startswith("go"):
                _, count, size = message.split()
                for i in range(int(count)):
                    frame = f"{time.time() * 1000:.3f} " + "x" * int(size)
                    websockets.broadcast(clients, frame)
                    await asyncio.sleep(0.01)
    finally:
        clients.discard(ws)
async def main():
    async with websockets.serve(handler, "127.0.0.1", int(sys.argv[1]), compression=None, max_queue=None):
        await asyncio.Future()
asyncio.run(main())
"""


async def _baseline_clients(url: str, clients: int, count: int, size: int) -> dict[str, float]:
    import websockets

    latencies: list[float] = []
    spans: dict[str, list[float]] = {}
    received = 0
    done = asyncio.Event()
    sockets = [await websockets.connect(url, compression=None, max_size=None) for _ in range(clients)]

    async def reader(ws: Any) -> None:
        nonlocal received
        for _ in range(count):
            frame = await ws.recv()
            sent = frame.split(" ", 1)[0]
            latency = now_ms() - float(sent)
            latencies.append(latency)
            spans.setdefault(sent, []).append(latency)
            received += 1
        if received >= clients * count:
            done.set()

    tasks = [asyncio.create_task(reader(ws)) for ws in sockets]
    started = time.monotonic()
    await sockets[0].send(f"go {count} {size}")
    await asyncio.wait_for(done.wait(), 120)
    elapsed = time.monotonic() - started
    for task in tasks:
        task.cancel()
    for ws in sockets:
        await ws.close()
    del elapsed
    return {"deliveries_per_s": delivery_rate({k: (len(v), max(v)) for k, v in spans.items()}),
            **{f"broadcast_{k}": v for k, v in percentiles(latencies).items()}}


def delivery_rate(spans: dict[str, tuple[int, float]]) -> float:
    """Frames delivered per second while a broadcast is in flight: for each broadcast, the clients it
    reached divided by the time until the last one had it; averaged over the broadcasts."""
    rates = [count / (longest / 1000) for count, longest in spans.values() if longest > 0]
    return statistics.mean(rates) if rates else 0.0


def run_baseline(clients: int, count: int, size: int) -> dict[str, float]:
    """A bare websockets server broadcasting ``count`` frames of ``size`` bytes to ``clients`` clients."""
    port = free_port()
    server = subprocess.Popen([sys.executable, "-c", BASELINE_SERVER, str(port)])
    try:
        time.sleep(0.8)
        return asyncio.run(_baseline_clients(f"ws://127.0.0.1:{port}", clients, count, size))
    finally:
        server.terminate()
        server.wait(timeout=10)


# --- load generator processes ------------------------------------------------------------------


def attendee_process(base: str, tokens: list[str], poll_ids: list[int], broadcasts: int,
                     start_at: float, out: Any) -> None:
    """One generator process: hold ``tokens``' websockets, vote in bursts, record what arrives."""
    out.put(asyncio.run(_attendees(base, tokens, poll_ids, broadcasts, start_at)))


async def _attendees(base: str, tokens: list[str], poll_ids: list[int], broadcasts: int,
                     start_at: float) -> dict[str, Any]:
    import httpx
    import websockets

    ws_base = base.replace("http://", "ws://")
    result: dict[str, Any] = {"errors": 0, "disconnects": 0, "vote_ms": [], "broadcast_ms": [], "frames": 0,
                              "votes_accepted": 0, "spans": {}}
    sockets = []
    for token in tokens:
        try:
            sockets.append(await websockets.connect(f"{ws_base}/e/{SLUG}/ws?token={token}", compression=None,
                                                    max_size=None, open_timeout=30))
        except Exception:
            result["errors"] += 1

    async def reader(ws: Any) -> None:
        try:
            async for frame in ws:
                result["frames"] += 1
                arrived = now_ms()
                for mark in MARK.findall(frame):
                    result["vote_ms"].append(arrived - float(mark))
                for mark in set(ANNOUNCE.findall(frame)):
                    latency = arrived - float(mark)
                    result["broadcast_ms"].append(latency)
                    count, longest = result["spans"].get(mark, (0, 0.0))
                    result["spans"][mark] = (count + 1, max(longest, latency))
        except websockets.ConnectionClosedOK:
            pass
        except websockets.ConnectionClosed:
            result["disconnects"] += 1

    readers = [asyncio.create_task(reader(ws)) for ws in sockets]
    while time.time() < start_at:  # every process starts voting at the same moment
        await asyncio.sleep(0.01)
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as http:
        for burst, poll_id in enumerate(poll_ids):  # one fresh poll per burst: every vote is a new row
            async def vote(token: str, value: int, poll_id: int = poll_id) -> None:
                try:
                    response = await http.post(f"/api/v1/polls/{poll_id}/responses", json={"value": value},
                                               headers={"Authorization": f"Bearer {token}",
                                                        "X-Bench-Ts": f"{now_ms():.3f}"})
                    if response.status_code in (200, 201):
                        result["votes_accepted"] += 1
                    else:
                        result["errors"] += 1
                except httpx.HTTPError:
                    result["errors"] += 1

            started = time.monotonic()
            await asyncio.gather(*(vote(t, 1 + (i + burst) % 5) for i, t in enumerate(tokens)))
            result.setdefault("burst_s", []).append(time.monotonic() - started)
            await asyncio.sleep(1.0)
    await asyncio.sleep(broadcasts * 0.6 + 3)  # the broadcasts happen now; wait for them to arrive
    for ws in sockets:
        await ws.close()
    for task in readers:
        task.cancel()
    return result


# --- the run ------------------------------------------------------------------------------------


@dataclass
class Report:
    """The benchmark JSON of CONTRACT.md, plus the baseline's own figures."""

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
    baseline_deliveries_per_s: float
    deliveries_per_s: float
    delivery_ratio_to_baseline: float
    rss_per_connection_kib: float
    joins_per_s: float
    baseline_broadcast_ms: dict[str, float | None]
    compression: str = "off"


def _start_platform(var_dir: Path, port: int) -> tuple[subprocess.Popen[bytes], dict[str, str]]:
    env = {**os.environ, "EHALSODAG_VAR_DIR": str(var_dir), "EHALSODAG_BENCH": "1",
           "EHALSODAG_DATABASE_URL": f"sqlite+aiosqlite:///{var_dir / 'bench.sqlite3'}",
           "EHALSODAG_JOIN_LIMIT": "1000000", "EHALSODAG_VOTE_LIMIT": "1000000",
           "EHALSODAG_SECRET_KEY": "bench-secret-key-bench-secret-key"}
    env.pop("EHALSODAG_REDIS_URL", None)
    cli = [sys.executable, "-m", "ehalsodag.cli"]
    agenda = Path(__file__).resolve().parents[3] / "agenda" / f"{SLUG}.toml"
    subprocess.run([*cli, "agenda", "load", str(agenda)], env=env, check=True, capture_output=True)
    subprocess.run([*cli, "user", "add", "bench@example.se", "--role", "moderator", "--event", SLUG],
                   input=b"bench password\n", env=env, check=True, capture_output=True)
    token = subprocess.run([*cli, "token", "create", "bench@example.se"], env=env, check=True,
                           capture_output=True).stdout.decode().strip()
    server = subprocess.Popen([*cli, "serve", "--host", "127.0.0.1", "--port", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return server, {"token": token, "database_url": env["EHALSODAG_DATABASE_URL"]}


async def _staff_clients(base: str, token: str, count: int, stop: asyncio.Event, out: dict[str, Any]) -> None:
    import websockets

    async def one() -> None:
        async with websockets.connect(f"{base.replace('http://', 'ws://')}/e/{SLUG}/ws", compression=None,
                                      max_size=None, additional_headers={"Authorization": f"Bearer {token}"}) as ws:
            while not stop.is_set():
                try:
                    frame = await asyncio.wait_for(ws.recv(), 0.5)
                except TimeoutError:
                    continue
                arrived = now_ms()
                out["vote_ms"].extend(arrived - float(m) for m in MARK.findall(frame) if "-staff" in frame)

    await asyncio.gather(*(one() for _ in range(count)))


def run(profile_name: str, json_path: str | None = None, base_url: str | None = None) -> Report:
    """Run one profile and return (and optionally write) the report."""
    import httpx

    profile = PROFILES[profile_name]
    started = time.monotonic()
    fragment_size = 1200  # about one results push
    baseline = run_baseline(profile.attendees, profile.broadcasts, fragment_size)

    var_dir = Path(tempfile.mkdtemp(prefix="ehalsodag-bench-"))
    port = free_port()
    server, info = _start_platform(var_dir, port)
    base = base_url or f"http://127.0.0.1:{port}"
    require_loopback(base)
    staff = {"Authorization": f"Bearer {info['token']}"}
    try:
        for _ in range(100):
            try:
                if httpx.get(base + "/", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        event = httpx.get(f"{base}/api/v1/events/{SLUG}").json()
        block = next(b["id"] for b in event["blocks"] if b["key"] == "block-1")
        httpx.post(f"{base}/api/v1/events/{SLUG}/live", json={"block_id": block}, headers=staff)
        poll_ids = []
        for burst in range(profile.vote_bursts):
            created = httpx.post(f"{base}/api/v1/events/{SLUG}/polls", headers=staff, json={
                "kind": "scale", "question": f"Benchmark {burst + 1}", "scale_min": 1, "scale_max": 5}).json()
            httpx.post(f"{base}/api/v1/polls/{created['id']}/open", headers=staff)
            poll_ids.append(created["id"])
        idle_rss = rss_kib(server.pid)

        async def join_all() -> list[str]:
            limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
            async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as http:
                async def join(i: int) -> str:
                    response = await http.post(f"/api/v1/events/{SLUG}/join", json={"group_size": 1 + i % 4})
                    response.raise_for_status()
                    return response.json()["attendee_token"]
                return list(await asyncio.gather(*(join(i) for i in range(profile.attendees))))

        join_started = time.monotonic()
        tokens = asyncio.run(join_all())
        joins_per_s = len(tokens) / (time.monotonic() - join_started)

        out: mp.Queue[Any] = mp.get_context("spawn").Queue()
        start_at = time.time() + 8 + profile.attendees / 400  # time for every socket to connect first
        shares = [tokens[i::profile.processes] for i in range(profile.processes)]
        workers = [mp.get_context("spawn").Process(
            target=attendee_process, args=(base, share, poll_ids, profile.broadcasts, start_at, out))
            for share in shares]
        for worker in workers:
            worker.start()

        staff_out: dict[str, Any] = {"vote_ms": []}

        async def moderate() -> float:
            stop = asyncio.Event()
            watchers = asyncio.create_task(_staff_clients(base, info["token"], profile.moderators, stop, staff_out))
            while time.time() < start_at - 1:
                await asyncio.sleep(0.05)
            connected_rss = rss_kib(server.pid)
            await asyncio.sleep(profile.vote_bursts * 3.0 + 2)
            async with httpx.AsyncClient(base_url=base, timeout=30) as http:
                for _ in range(profile.broadcasts):
                    await http.post(f"/api/v1/events/{SLUG}/announcement", json={"text": f"bench-{now_ms():.3f}"},
                                    headers=staff)
                    await asyncio.sleep(0.5)
            await asyncio.sleep(3)
            stop.set()
            watchers.cancel()
            return connected_rss

        connected_rss = asyncio.run(moderate())
        results = [out.get(timeout=profile.timeout_s) for _ in workers]
        for worker in workers:
            worker.join(timeout=30)

        db_count = _count_votes(info["database_url"], poll_ids)
        accepted = sum(r["votes_accepted"] for r in results)
        burst_seconds = [s for r in results for s in r.get("burst_s", [])]
        spans: dict[str, tuple[int, float]] = {}
        for r in results:
            for mark, (count, longest) in r["spans"].items():
                total, worst = spans.get(mark, (0, 0.0))
                spans[mark] = (total + count, max(worst, longest))
        deliveries = delivery_rate(spans)
        report = Report(
            profile=profile.name, attendees=profile.attendees, duration_s=round(time.monotonic() - started, 1),
            errors=sum(r["errors"] for r in results), disconnects=sum(r["disconnects"] for r in results),
            votes_accepted=accepted, votes_counted=db_count,
            votes_per_s=round(profile.attendees / statistics.mean(burst_seconds), 1) if burst_seconds else 0.0,
            vote_to_staff_ms=percentiles(staff_out["vote_ms"]),
            vote_to_attendee_ms=percentiles([v for r in results for v in r["vote_ms"]]),
            broadcast_ms=percentiles([v for r in results for v in r["broadcast_ms"]]),
            baseline_deliveries_per_s=round(baseline["deliveries_per_s"], 1),
            deliveries_per_s=round(deliveries, 1),
            delivery_ratio_to_baseline=round(deliveries / baseline["deliveries_per_s"], 3)
            if baseline["deliveries_per_s"] else 0.0,
            rss_per_connection_kib=round((connected_rss - idle_rss) / max(1, profile.attendees), 1),
            joins_per_s=round(joins_per_s, 1),
            baseline_broadcast_ms={k.removeprefix("broadcast_"): v for k, v in baseline.items()
                                   if k.startswith("broadcast_")},
        )
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
    if json_path:
        Path(json_path).write_text(json.dumps(asdict(report), indent=2) + "\n")
    return report


def _count_votes(database_url: str, poll_ids: list[int]) -> int:
    import sqlite3

    path = database_url.split("///", 1)[1]
    marks = ",".join("?" * len(poll_ids))
    with sqlite3.connect(path) as connection:
        return connection.execute(f"SELECT count(*) FROM poll_response WHERE poll_id IN ({marks})",
                                  poll_ids).fetchone()[0]


def table(report: Report) -> str:
    """The report as a readable table."""
    rows = [(key, value) for key, value in asdict(report).items()]
    width = max(len(k) for k, _v in rows)
    return "\n".join(f"{key.ljust(width)}  {value}" for key, value in rows)
