"""``ehalsodag bench --profile tiny|smoke|full``: how many attendees one process holds, how fast votes go
in and results come out, measured end to end, and compared with a bare websockets baseline in the same run.

Everything runs on this machine's loopback interface and stops by itself. Phases:

1. the platform (:mod:`ehalsodag_bench.server`: the app of ``ehalsodag serve`` with the benchmark's hub
   observer; SQLite and one process by default, or N workers on PostgreSQL and Redis) with the demo
   programme and fresh polls open;
2. joins over the API and a websocket per attendee, from several generator processes;
3. vote bursts (every attendee answers a fresh scale poll, again and again; every other burst over the
   attendees' websockets, the others over HTTP, reported apart): latency from the vote to
   the results push on the moderators' screens and on every attendee's. No marker is needed: a results
   frame shows the poll's response count K, so it shows the first K votes the server acknowledged;
   each sample is the frame's arrival minus the time the newest of those K votes was sent;
4. broadcasts (announcements) to everyone: latency from the server's publish (the observer's stamp)
   and from the moderator's click, and delivered frames per second;
5. memory (the server's RSS per idle connection), CPU, and every accepted vote must be counted;
6. the calibration baseline (:mod:`ehalsodag_bench.baseline`).
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing as mp
import os
import statistics
import tempfile
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from ehalsodag_bench.baseline import run_baseline
from ehalsodag_bench.common import (
    SLUG,
    HttpPool,
    compression,
    connect_all,
    cpu_seconds,
    now_ms,
    percentiles,
    require_loopback,
    rss_kib,
    table_of,
    wait_for,
)
from ehalsodag_bench.frames import Recorder, SocketState, delivery_rate, merge_spans
from ehalsodag_bench.target import Target, go_live, join_all, start_platform

__all__ = ["PROFILES", "Profile", "Report", "Target", "percentiles", "require_loopback", "run", "run_writer",
           "table"]


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
    #: Websocket votes offered per second, all generator processes together, each burst's votes spread evenly
    #: over it (as a room of people who read the question and answer within seconds); 0: every vote of a burst
    #: sent at once, which measures capacity rather than latency. ``EHALSODAG_BENCH_WS_RATE`` overrides it.
    ws_vote_rate: float = 0.0


PROFILES = {
    "tiny": Profile("tiny", attendees=50, processes=2, vote_bursts=2, broadcasts=3, timeout_s=60),
    "smoke": Profile("smoke", attendees=500, processes=2, vote_bursts=4, broadcasts=5, timeout_s=120),
    "full": Profile("full", attendees=5000, processes=4, vote_bursts=5, broadcasts=10, timeout_s=400,
                    ws_vote_rate=2500),
}


# --- load generator processes ------------------------------------------------------------------


def burst_over_socket(burst: int) -> bool:
    """Whether vote burst ``burst`` (from 0) goes over the attendees' websockets (the page's way: the first, and
    every other one) or over HTTP (``POST /api/v1/polls/{id}/responses``, the JSON API and pages without
    JavaScript). ``EHALSODAG_BENCH_VOTES=http`` sends every burst over HTTP (to profile a platform without socket
    votes)."""
    return burst % 2 == 0 and os.environ.get("EHALSODAG_BENCH_VOTES") != "http"


def attendee_process(base: str, tokens: list[str], poll_ids: list[int], control: Any, out: Any,
                     ws_rate: float = 0.0) -> None:
    """One generator process: hold ``tokens``' websockets, vote in bursts (over the sockets ``ws_rate`` votes a
    second, or all at once when 0), record what arrives."""
    out.put(asyncio.run(_attendees(base, tokens, poll_ids, control, out, ws_rate)))


async def _attendees(base: str, tokens: list[str], poll_ids: list[int], control: Any, out: Any,
                     ws_rate: float = 0.0) -> dict[str, Any]:
    import websockets

    loop = asyncio.get_running_loop()
    ws_base = base.replace("http://", "ws://")
    sockets, failures = await connect_all([f"{ws_base}/e/{SLUG}/ws?token={token}" for token in tokens])
    recorder = Recorder()
    result: dict[str, Any] = {"errors": failures, "disconnects": 0, "votes_accepted": 0, "burst_s": [],
                              "sockets": len(sockets), "votes": {poll_id: [] for poll_id in poll_ids}}

    acks: dict[str, asyncio.Future[bytes]] = {}
    #: Per socket: done once its snapshot (the page) has arrived.
    loaded = [loop.create_future() for _ in sockets]

    async def reader(ws: Any, snapshot: asyncio.Future[None]) -> None:
        state = SocketState()
        try:
            while True:
                frame = await ws.recv(decode=False)
                arrived = now_ms()
                if not snapshot.done():  # the page is loaded: its attendee may vote from now on
                    snapshot.set_result(None)
                if b'data-ack="' in frame:  # a vote's acknowledgement (it carries no results)
                    key = frame.split(b'data-ack="', 1)[1].split(b'"', 1)[0].decode()
                    waiting = acks.pop(key, None)
                    if waiting is not None and not waiting.done():
                        waiting.set_result(frame)
                recorder.frame(state, frame, arrived)
        except websockets.ConnectionClosedOK:
            pass
        except websockets.ConnectionClosed:
            result["disconnects"] += 1

    readers = [asyncio.create_task(reader(ws, snapshot)) for ws, snapshot in zip(sockets, loaded, strict=True)]
    if loaded:  # every page has its snapshot, as a browser has before anyone votes
        await asyncio.wait(loaded, timeout=120)
    out.put(("ready", len(sockets)))
    start_at = await loop.run_in_executor(None, control.get)  # every process starts voting at the same moment
    await asyncio.sleep(max(0.0, start_at - time.time()))
    cpu_started, load_started = time.process_time(), time.monotonic()
    http = HttpPool(base, 64)
    for burst, poll_id in enumerate(poll_ids):  # one fresh poll per burst: every vote is a new row
        over_socket = burst_over_socket(burst)

        async def socket_vote(ws: Any, value: int, at: float, poll_id: int = poll_id) -> None:
            await asyncio.sleep(max(0.0, at - loop.time()))
            key = os.urandom(12).hex()
            acks[key] = loop.create_future()
            sent = now_ms()
            try:
                await ws.send(json.dumps({"action": "vote", "poll_id": poll_id, "vote_key": key,
                                          "value": str(value)}))
                frame = await asyncio.wait_for(acks[key], 60)
            except (OSError, TimeoutError, websockets.ConnectionClosed):
                acks.pop(key, None)
                result["errors"] += 1
                return
            if b"message-ok" in frame:
                result["votes_accepted"] += 1
                result["votes"][poll_id].append((now_ms(), sent))
            else:
                result["errors"] += 1

        async def vote(token: str, value: int, poll_id: int = poll_id) -> None:
            try:
                status, _body, sent = await http.request("POST", f"/api/v1/polls/{poll_id}/responses",
                                                         {"value": value}, {"Authorization": f"Bearer {token}"})
                if status in (200, 201):
                    result["votes_accepted"] += 1
                    result["votes"][poll_id].append((now_ms(), sent))
                else:
                    result["errors"] += 1
            except (OSError, asyncio.IncompleteReadError, ValueError):
                result["errors"] += 1

        started = time.monotonic()
        if over_socket:
            begin = loop.time()
            await asyncio.gather(*(socket_vote(ws, 1 + (i + burst) % 5, begin + (i / ws_rate if ws_rate else 0.0))
                                   for i, ws in enumerate(sockets)))
        else:
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
    result["results_seen"] = {key: list(times) for key, times in recorder.arrivals.items() if key[0] == "r"}
    return {**result, **recorder.summary()}


async def _staff_clients(base: str, token: str, count: int, stop: asyncio.Event, recorder: Recorder) -> None:
    """The moderators' control panels: they record when results reached them."""
    url = f"{base.replace('http://', 'ws://')}/e/{SLUG}/ws?view=control"
    sockets, _failures = await connect_all([url] * count,
                                           {"Authorization": f"Bearer {token}"})

    async def watch(ws: Any) -> None:
        state = SocketState()
        while not stop.is_set():
            try:
                frame = await asyncio.wait_for(ws.recv(decode=False), 0.5)
            except TimeoutError:
                continue
            recorder.frame(state, frame, now_ms())

    await asyncio.gather(*(watch(ws) for ws in sockets))
    for ws in sockets:
        await ws.close()


def vote_latencies(votes: dict[int, list[tuple[float, float]]], seen: dict[tuple[str, int, int], list[float]],
                   kind: str) -> list[float]:
    """Vote → screen latencies, counted: a frame showing K responses to a poll shows the first K votes the
    server acknowledged; its sample is its arrival minus when the newest of those K was sent."""
    newest: dict[int, list[float]] = {}
    for poll_id, acknowledged in votes.items():
        prefix, latest = [], 0.0
        for _ack, sent in sorted(acknowledged):
            latest = max(latest, sent)
            prefix.append(latest)
        newest[poll_id] = prefix
    samples = []
    for (what, poll_id, count), arrivals in seen.items():
        prefix = newest.get(poll_id)
        if what != kind or not prefix or count < 1:
            continue
        sent = prefix[min(count, len(prefix)) - 1]
        samples.extend(arrived - sent for arrived in arrivals)
    return samples


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
    #: The headline: votes over the websocket (the page's way), as ``votes_ws_per_s``.
    votes_per_s: float
    #: Vote → screen latencies of the websocket votes (the HTTP votes' are ``*_http``).
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
    #: Baseline clients that could not connect (the baseline's rate is only comparable when this is 0).
    baseline_errors: int
    #: Broadcast frames that did not reach a connected attendee (0 when every socket got every one).
    broadcasts_missed: int
    #: Server CPU (all its processes) while the attendees voted and were broadcast to, as % of one core.
    server_cpu_percent: float
    #: The load generator's CPU over the same time (its processes share this machine's cores).
    generator_cpu_percent: float
    #: Size of the platform's announcement frames (the observer's stamp included), which the baseline copies.
    broadcast_bytes: int = 0
    #: Votes over the websocket and over HTTP, each per second of their bursts (every other burst each way).
    votes_ws_per_s: float = 0.0
    votes_http_per_s: float = 0.0
    votes_ws_accepted: int = 0
    votes_http_accepted: int = 0
    vote_to_staff_ms_http: dict[str, float | None] | None = None
    vote_to_attendee_ms_http: dict[str, float | None] | None = None
    workers: int = 1
    database: str = "sqlite"
    hub: str = "memory"
    compression: str = "off"
    #: Websocket votes offered per second (0: each burst's all at once).
    ws_vote_rate_offered: float = 0.0
    #: Seconds each vote burst took (until its last vote was acknowledged), in order: websocket, HTTP, ...
    burst_s: list[float] | None = None


def run(profile_name: str, json_path: str | None = None, base_url: str | None = None,
        target: Target | None = None, attendees: int | None = None) -> Report:
    """Run one profile and return (and optionally write) the report."""
    import httpx

    target = target or Target()
    target.check()
    profile = PROFILES[profile_name]
    if attendees:
        profile = replace(profile, attendees=attendees, processes=max(profile.processes, attendees // 1250))
    if os.environ.get("EHALSODAG_BENCH_WS_RATE"):
        profile = replace(profile, ws_vote_rate=float(os.environ["EHALSODAG_BENCH_WS_RATE"]))
    started = time.monotonic()
    platform = start_platform(target)
    base = base_url or platform.base
    require_loopback(base)
    staff = platform.staff
    context = mp.get_context("spawn")
    workers: list[Any] = []
    staff_recorder = Recorder()
    try:
        go_live(platform)
        poll_ids = []
        for burst in range(profile.vote_bursts):
            created = httpx.post(f"{base}/api/v1/events/{SLUG}/polls", headers=staff, json={
                "kind": "scale", "question": f"Benchmark {burst + 1}", "scale_min": 1, "scale_max": 5}).json()
            httpx.post(f"{base}/api/v1/polls/{created['id']}/open", headers=staff)
            poll_ids.append(created["id"])

        join_started = time.monotonic()
        tokens = join_all(base, profile.attendees)
        joins_per_s = len(tokens) / (time.monotonic() - join_started)
        time.sleep(1)
        idle_rss = rss_kib(platform.server.pid)

        out = context.Queue()
        controls = [context.Queue() for _ in range(profile.processes)]
        workers = [context.Process(target=attendee_process, args=(base, tokens[i::profile.processes], poll_ids,
                                                                  controls[i], out,
                                                                  profile.ws_vote_rate / profile.processes))
                   for i in range(profile.processes)]
        for worker in workers:
            worker.start()
        results: list[dict[str, Any]] = []
        wait_for(out, len(workers), "ready", results, profile.timeout_s)
        time.sleep(2)  # let the last snapshots go out: the sockets are idle now
        connected_rss = rss_kib(platform.server.pid)

        async def moderate() -> float:
            stop = asyncio.Event()
            watchers = asyncio.create_task(_staff_clients(base, platform.token, profile.moderators, stop,
                                                          staff_recorder))
            await asyncio.sleep(1)
            cpu_before, load_started = cpu_seconds(platform.server.pid), time.monotonic()
            start_at = time.time() + 0.5
            for control in controls:
                control.put(start_at)
            await asyncio.get_running_loop().run_in_executor(
                None, wait_for, out, len(workers), "voted", results, profile.timeout_s)
            async with httpx.AsyncClient(base_url=base, timeout=30) as http:
                for _ in range(profile.broadcasts):
                    await http.post(f"/api/v1/events/{SLUG}/announcement", json={"text": f"bench-{now_ms():.3f}"},
                                    headers=staff)
                    await asyncio.sleep(0.5)
            await asyncio.sleep(3)
            cpu_percent = 100 * (cpu_seconds(platform.server.pid) - cpu_before) / (time.monotonic() - load_started)
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
        platform.stop()
    # The calibration baseline broadcasts frames as large as the platform's announcement pushes were.
    broadcast_bytes = max((r.get("broadcast_bytes", 0) for r in results), default=0) or 1200
    baseline = run_baseline(profile.attendees, profile.processes, profile.broadcasts, broadcast_bytes,
                            profile.timeout_s)
    connected = sum(r["sockets"] for r in results)
    spans = merge_spans(results)
    deliveries = delivery_rate(spans)
    burst_seconds = [max(r["burst_s"][i] for r in results) for i in range(len(poll_ids))]
    ws_polls = {poll_id for i, poll_id in enumerate(poll_ids) if burst_over_socket(i)}
    ws_seconds = [t for i, t in enumerate(burst_seconds) if burst_over_socket(i)]
    http_seconds = [t for i, t in enumerate(burst_seconds) if not burst_over_socket(i)]
    votes: dict[int, list[tuple[float, float]]] = {poll_id: [] for poll_id in poll_ids}
    seen: dict[tuple[str, int, int], list[float]] = {}
    for r in results:
        for poll_id, acknowledged in r["votes"].items():
            votes[poll_id] += acknowledged
        for key, arrivals in r["results_seen"].items():
            seen.setdefault(key, []).extend(arrivals)
    staff_seen = {key: list(times) for key, times in staff_recorder.arrivals.items()}
    ws_votes = {poll_id: v for poll_id, v in votes.items() if poll_id in ws_polls}
    http_votes = {poll_id: v for poll_id, v in votes.items() if poll_id not in ws_polls}
    ws_per_s = round(profile.attendees / statistics.mean(ws_seconds), 1) if ws_seconds else 0.0
    report = Report(
        profile=profile.name, attendees=profile.attendees, duration_s=round(time.monotonic() - started, 1),
        errors=sum(r["errors"] for r in results), disconnects=sum(r["disconnects"] for r in results),
        votes_accepted=sum(r["votes_accepted"] for r in results), votes_counted=counted,
        votes_per_s=ws_per_s, votes_ws_per_s=ws_per_s,
        votes_http_per_s=round(profile.attendees / statistics.mean(http_seconds), 1) if http_seconds else 0.0,
        votes_ws_accepted=sum(len(v) for v in ws_votes.values()),
        votes_http_accepted=sum(len(v) for v in http_votes.values()),
        vote_to_staff_ms=percentiles(vote_latencies(ws_votes, staff_seen, "s")),
        vote_to_attendee_ms=percentiles(vote_latencies(ws_votes, seen, "r")),
        vote_to_staff_ms_http=percentiles(vote_latencies(http_votes, staff_seen, "s")),
        vote_to_attendee_ms_http=percentiles(vote_latencies(http_votes, seen, "r")),
        broadcast_ms=percentiles([v for r in results for v in r["broadcast_ms"]]),
        announcement_ms=percentiles([v for r in results for v in r["announcement_ms"]]),
        baseline_deliveries_per_s=round(baseline["deliveries_per_s"], 1),
        deliveries_per_s=round(deliveries, 1),
        delivery_ratio_to_baseline=round(deliveries / baseline["deliveries_per_s"], 3)
        if baseline["deliveries_per_s"] else 0.0,
        rss_per_connection_kib=round((connected_rss - idle_rss) / max(1, connected), 1),
        joins_per_s=round(joins_per_s, 1),
        baseline_broadcast_ms=baseline["broadcast_ms"], baseline_errors=baseline["errors"],
        broadcasts_missed=profile.broadcasts * connected - sum(count for count, _ in spans.values()),
        server_cpu_percent=round(cpu_percent, 1),
        generator_cpu_percent=round(sum(r.get("cpu_percent", 0.0) for r in results), 1),
        workers=target.workers, database="postgresql" if target.database_url else "sqlite",
        hub="redis" if target.redis_url else "memory", broadcast_bytes=broadcast_bytes,
        burst_s=[round(t, 2) for t in burst_seconds], ws_vote_rate_offered=profile.ws_vote_rate,
        compression="deflate" if compression() and os.environ.get("EHALSODAG_WS_COMPRESSION") == "1" else "off",
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


# --- the vote writer alone ---------------------------------------------------------------------


def run_writer(votes: int = 20_000) -> dict[str, Any]:
    """How fast the vote writer alone stores votes, without HTTP: ``votes`` attendees each answer one
    open scale poll in a fresh SQLite database (WAL, ``synchronous=FULL``), 2,000 at a time in flight.
    Shows what the storage side can take, apart from the event loop's HTTP work."""
    from ehalsodag.settings import PROGRAMMES_DIR
    from ehalsodag_bench.target import _run_cli

    var_dir = Path(tempfile.mkdtemp(prefix="ehalsodag-writer-"))
    env = {**os.environ, "EHALSODAG_VAR_DIR": str(var_dir),
           "EHALSODAG_DATABASE_URL": f"sqlite+aiosqlite:///{var_dir / 'writer.sqlite3'}"}
    _run_cli(env, "db", "upgrade")
    _run_cli(env, "agenda", "load", str(PROGRAMMES_DIR / f"{SLUG}.toml"))
    return asyncio.run(_write_votes(env["EHALSODAG_DATABASE_URL"], votes))


async def _write_votes(database_url: str, votes: int) -> dict[str, Any]:
    from dataclasses import replace

    from ehalsodag.agenda.service import event_by_slug
    from ehalsodag.attendees.service import JoinRequest, new_attendee
    from ehalsodag.db.engine import Database
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
