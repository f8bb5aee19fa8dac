"""``ehalsodag bench --profile qa|qa-tiny``: a panel Q&A under load, with a chat storm and late joiners.

Everything runs on this machine's loopback interface and stops by itself. Phases (``qa``):

1. the platform as in :mod:`ehalsodag_bench.run`; 5,000 attendees join and hold a websocket each,
   from several generator processes; two moderators' control panels are connected too;
2. 100 questions asked through the API by attendees, 5 a second (approved by a moderator if
   pre-moderation is on); then 10 s of 10 upvotes/s on them (the short list);
3. 200 more questions (300 on the list), and again 10 s of 10 upvotes/s on them (the long list): what
   one upvote costs, at a pace the server keeps up with;
4. the storm, 60 s: 50 upvotes/s and 2 questions/s from attendees, a chat storm (every 2 s, 1 % of the
   attendees post a message: 25 messages/s), and a join loop: one newcomer at a time joins over the API
   (``POST /api/v1/events/{slug}/join`` on a new connection, timed to its answer), opens its websocket
   (timed to its snapshot) and leaves, with 0.2 s between newcomers.

Every websocket client counts the bytes of each frame it receives and attributes each item in it to
the action it shows (:mod:`ehalsodag_bench.frames`; one frame may carry several). Actions are timed
from when their request started (the click) to the arrival of the frame that shows them on each
socket: an upvote's answer says the count K it made, and the first frame on a socket whose count for
that question reaches K shows it; a question or a chat message is shown by the first frame with its
id. Bytes per upvote are compared between the short and the long list (item pushes: they should not
depend on the list's length). A phase ends once one more attendee socket held by the actors (the
probe) has seen every action of it, plus a few seconds.
"""

from __future__ import annotations

import asyncio
import json
import math
import multiprocessing as mp
import random
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ehalsodag_bench.common import (
    SLUG,
    HttpPool,
    connect_all,
    cpu_seconds,
    fresh_request,
    histogram_percentiles,
    now_ms,
    percentiles,
    shares,
    wait_for,
)
from ehalsodag_bench.frames import Key, Recorder, SocketState
from ehalsodag_bench.target import Platform, Target, go_live, join_all, start_platform


@dataclass(frozen=True)
class QaProfile:
    """How big and how long a Q&A run is."""

    name: str
    attendees: int
    processes: int
    #: Questions on the list when the storm starts, and on the short list measured first.
    questions: int
    short_list: int
    upvotes_per_s: float
    questions_per_s: float
    storm_s: float
    #: Seconds of upvotes alone on the short and on the long list, and how many a second (a rate the
    #: server keeps up with: these phases measure what one upvote costs, the storm measures the load).
    length_phase_s: float
    length_upvotes_per_s: float
    #: Every ``chat_every_s``, this share of the attendees (at least one) posts a chat message.
    chat_share: float = 0.01
    chat_every_s: float = 2.0
    #: Pause between two newcomers of the join loop.
    join_pause_s: float = 0.2
    #: Questions asked per second while the list is filled before the measurements.
    fill_per_s: float = 20.0
    #: Seconds to wait after each phase once the probe socket saw all its actions, for the other sockets.
    settle_s: float = 5.0
    moderators: int = 2
    timeout_s: float = 600.0


QA_PROFILES = {
    "qa-tiny": QaProfile("qa-tiny", attendees=50, processes=2, questions=30, short_list=10, upvotes_per_s=5,
                         questions_per_s=1, storm_s=6, length_phase_s=3, length_upvotes_per_s=5, chat_share=0.04,
                         settle_s=2, timeout_s=120),
    "qa": QaProfile("qa", attendees=5000, processes=4, questions=300, short_list=100, upvotes_per_s=50,
                    questions_per_s=2, storm_s=60, length_phase_s=10, length_upvotes_per_s=10, fill_per_s=5),
}

#: Kinds of action, as :mod:`ehalsodag_bench.frames` keys them.
UPVOTE, QUESTION, CHAT = "u", "q", "c"
KIND_NAMES = {UPVOTE: "upvote", QUESTION: "question", CHAT: "chat"}


@dataclass
class QaReport:
    """The Q&A benchmark's figures."""

    profile: str
    attendees: int
    #: Attendee websockets held by the generator (the late joiners of the join loop apart).
    sockets: int
    duration_s: float
    #: Refused or failed requests and websocket handshakes; sockets closed by the server.
    errors: int
    disconnects: int
    questions_on_list: int
    upvotes: int
    questions_asked: int
    chat_messages: int
    #: Bytes an attendee's socket receives per upvote (the item pushed), with the short list, the long list
    #: and in the storm: independent of the list's length when a push carries the item, not the list.
    upvote_bytes_per_attendee: dict[str, float | None]
    #: The size of one upvote's item (the question's ``<li>``) as an attendee receives it, by list length.
    upvote_item_bytes: dict[str, float | None]
    #: Bytes a moderator's control panel receives per upvote, with the short and with the long list.
    staff_upvote_bytes: dict[str, float | None]
    #: The upvoter's own frame (their button's pressed state), per upvote.
    own_upvote_bytes: float | None
    question_bytes_per_attendee: float | None
    chat_bytes_per_attendee: float | None
    #: Everything an attendee's socket received per second during the storm, and by kind.
    storm_bytes_per_attendee_s: float
    storm_bytes_by_kind: dict[str, float]
    #: Action (its request started) → the frame showing it on each attendee socket, during the storm.
    upvote_to_attendee_ms: dict[str, float | None]
    question_to_attendee_ms: dict[str, float | None]
    chat_to_attendee_ms: dict[str, float | None]
    #: Requests of the storm started, and answered with a success by the time the run ended.
    storm_requests: dict[str, dict[str, int]]
    #: The upvote request's own answer during the storm (click → 200).
    upvote_http_ms: dict[str, float | None]
    #: Per upvote of the storm, until the slowest socket had it (the target: p99 ≤ 1 s).
    upvote_to_every_attendee_ms: dict[str, float | None]
    #: Question items an attendee socket received during the storm showing a LOWER upvote count than one it
    #: had already shown (pushes out of order), and the same count again, per socket.
    stale_upvote_items: float
    repeated_upvote_items: float
    #: Frames (websocket messages) an attendee socket received per second of the storm.
    storm_frames_per_attendee_s: float
    #: Upvote, question and chat deliveries of the storm that never arrived (socket × action).
    storm_deliveries_missed: int
    #: The join loop during the storm: the API's answer to a newcomer (target p99 ≤ 200 ms), and the
    #: newcomer's websocket until its snapshot arrived.
    joins_in_storm: int
    join_ms: dict[str, float | None]
    join_snapshot_ms: dict[str, float | None]
    snapshot_bytes: dict[str, int]
    #: Server and generator CPU during the storm, as % of one core.
    server_cpu_percent: float
    generator_cpu_percent: float
    workers: int = 1
    database: str = "sqlite"
    hub: str = "memory"
    compression: str = "off"
    #: The short and the long list's lengths (the keys of upvote_bytes_per_attendee).
    list_lengths: list[int] = field(default_factory=list)


# --- the generator processes: sockets only ---------------------------------------------------------


def socket_process(base: str, tokens: list[str], control: Any, out: Any) -> None:
    """One generator process: hold ``tokens``' websockets and record every frame until told to stop; then
    time the frames against the actions it is sent."""
    out.put(asyncio.run(_hold(base, tokens, control, out)))


async def _hold(base: str, tokens: list[str], control: Any, out: Any) -> dict[str, Any]:
    import websockets

    loop = asyncio.get_running_loop()
    ws_base = base.replace("http://", "ws://")
    sockets, failures = await connect_all([f"{ws_base}/e/{SLUG}/ws?token={token}" for token in tokens])
    recorder = Recorder()
    closed: Counter[int] = Counter()

    async def reader(ws: Any) -> None:
        state = SocketState()
        try:
            while True:
                frame = await ws.recv(decode=False)
                recorder.frame(state, frame, now_ms())
        except websockets.ConnectionClosedOK:
            pass
        except websockets.ConnectionClosed as exc:
            closed[exc.rcvd.code if exc.rcvd else 1006] += 1

    readers = [asyncio.create_task(reader(ws)) for ws in sockets]
    out.put(("ready", len(sockets)))
    cpu = await loop.run_in_executor(None, control.get)  # "storm" → its start; then the end
    cpu_started = time.process_time() if cpu == "storm" else 0.0
    storm_end = await loop.run_in_executor(None, control.get)
    cpu_percent = 100 * (time.process_time() - cpu_started) / max(0.001, storm_end)
    plan = await loop.run_in_executor(None, control.get)  # the actions, once every push had time to arrive
    for ws in sockets:
        await ws.close()
    for task in readers:
        task.cancel()
    return {**_timed(recorder, plan), "errors": failures, "closed": dict(closed), "sockets": len(sockets),
            "cpu_percent": cpu_percent, "bytes": dict(recorder.bytes), "pieces": dict(recorder.pieces),
            "snapshot_bytes": recorder.snapshot_bytes[:1]}


def _timed(recorder: Recorder, plan: dict[str, Any]) -> dict[str, Any]:
    """Latencies of this process's deliveries, counted per millisecond by (kind, phase), and per action
    the slowest delivery and how many sockets had it."""
    sent: dict[Key, tuple[float, str]] = plan["actions"]
    histograms: dict[str, Counter[int]] = {}
    per_action: dict[Key, tuple[float, int]] = {}
    for key, arrivals in recorder.arrivals.items():
        action = sent.get(key)
        if action is None:
            continue
        at, phase = action
        histogram = histograms.setdefault(f"{key[0]}:{phase}", Counter())
        slowest = 0.0
        for arrived in arrivals:
            latency = arrived - at
            histogram[round(latency)] += 1
            slowest = max(slowest, latency)
        per_action[key] = (slowest, len(arrivals))
    return {"histograms": histograms, "per_action": per_action}


# --- the actors: attendees and moderators over HTTP -------------------------------------------------


@dataclass
class Actors:
    """Everything the run does over HTTP, and what each action was."""

    platform: Platform
    tokens: list[str]
    http: HttpPool
    rng: random.Random = field(default_factory=lambda: random.Random(20210323))
    #: Action key → (started, phase); see :mod:`ehalsodag_bench.frames` for the keys.
    actions: dict[Key, tuple[float, str]] = field(default_factory=dict)
    #: Request → answer, per "kind:phase".
    http_ms: dict[str, list[float]] = field(default_factory=dict)
    counts: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    questions: list[int] = field(default_factory=list)
    upvoted: set[tuple[int, int]] = field(default_factory=set)
    phase: str = "setup"
    _voter: int = 0
    _asker: int = 0
    _chatter: int = 0

    def _auth(self, index: int) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[index % len(self.tokens)]}"}

    async def _call(self, what: str, method: str, path: str, body: Any, headers: dict[str, str]) -> tuple[Any, float]:
        """One request; (its JSON answer or None if refused, when it was started). Actions are timed from the
        moment they start, as a person's click would be: the pool is large enough that a request rarely waits
        for a connection, and when the server is slow to answer, that is part of what the person waits for."""
        clicked = now_ms()
        self.counts[f"started:{what}:{self.phase}"] += 1
        try:
            status, answer, _sent = await self.http.request(method, path, body, headers)
        except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
            self.errors[f"{what}: {type(exc).__name__}"] += 1
            return None, clicked
        self.http_ms.setdefault(f"{what}:{self.phase}", []).append(now_ms() - clicked)
        if status not in (200, 201):
            self.errors[f"{what}: {status}"] += 1
            return None, clicked
        return json.loads(answer), clicked

    async def ask(self, number: int) -> None:
        """An attendee asks a question (approved by a moderator when it waits for one)."""
        asker = len(self.tokens) - 1 - self._asker  # askers from the end, voters and chatters from the start
        self._asker += 1
        text = (f"Fråga {number}: hur kan vi använda digitala vårdmöten för fler patientgrupper i regionen, "
                f"och vad krävs av {['primärvården', 'specialistvården', 'kommunerna'][number % 3]}?")
        answer, sent = await self._call("question", "POST", f"/api/v1/events/{SLUG}/questions", {"text": text},
                                        self._auth(asker))
        if answer is None:
            return
        if answer["status"] == "pending":
            approved, sent = await self._call("approve", "POST", f"/api/v1/questions/{answer['id']}/moderate",
                                              {"action": "approve"}, self.platform.staff)
            if approved is None:
                return
        self.questions.append(answer["id"])
        self.actions[QUESTION, answer["id"], 0] = (sent, self.phase)
        self.counts[QUESTION] += 1
        self.counts[f"{QUESTION}:{self.phase}"] += 1

    async def upvote(self, among: list[int]) -> None:
        """The next attendee upvotes a question of ``among`` they have not upvoted yet."""
        voter = self._voter % len(self.tokens)
        self._voter += 1
        choices = [q for q in among if (voter, q) not in self.upvoted] or among
        question = self.rng.choice(choices)
        self.upvoted.add((voter, question))
        answer, sent = await self._call("upvote", "POST", f"/api/v1/questions/{question}/upvote", None,
                                        self._auth(voter))
        if answer is not None:
            self.actions[UPVOTE, question, answer["upvotes"]] = (sent, self.phase)
            self.counts[UPVOTE] += 1
            self.counts[f"{UPVOTE}:{self.phase}"] += 1

    async def chat(self) -> None:
        """The next attendee of the chat storm posts a message."""
        chatter = len(self.tokens) // 2 + self._chatter
        self._chatter += 1
        answer, sent = await self._call("chat", "POST", f"/api/v1/events/{SLUG}/chat",
                                        {"text": f"Hej från vårdcentral {chatter}! Bra panel, vi tittar tillsammans."},
                                        self._auth(chatter))
        if answer is not None:
            self.actions[CHAT, answer["id"], 0] = (sent, self.phase)
            self.counts[CHAT] += 1
            self.counts[f"{CHAT}:{self.phase}"] += 1


async def paced(rate: float, seconds: float, action: Any) -> list[asyncio.Task[None]]:
    """Start ``action()`` ``rate`` times a second for ``seconds``, on a fixed schedule (never catching up
    in bursts after a slow start: each start is due at its own time)."""
    tasks: list[asyncio.Task[None]] = []
    count = int(round(rate * seconds))
    if count == 0:
        return tasks
    started = time.monotonic()
    for k in range(count):
        await asyncio.sleep(max(0.0, started + k / rate - time.monotonic()))
        tasks.append(asyncio.create_task(action()))
    await asyncio.sleep(max(0.0, started + seconds - time.monotonic()))
    return tasks


class Probe:
    """One more attendee's websocket, held by the actors: a phase is over once the probe has seen every
    action of it (the server may still be pushing the last ones to the other sockets; ``settle_s`` more
    seconds are given for those)."""

    def __init__(self) -> None:
        self.recorder = Recorder()
        self.task: asyncio.Task[None] | None = None

    async def start(self, base: str, token: str) -> None:
        """Connect and read in the background."""
        [ws], _failures = await connect_all([f"{base.replace('http://', 'ws://')}/e/{SLUG}/ws?token={token}"])
        self.task = asyncio.create_task(self._read(ws))

    async def _read(self, ws: Any) -> None:
        state = SocketState()
        try:
            while True:
                self.recorder.frame(state, await ws.recv(decode=False), now_ms())
        except Exception:
            return
        finally:
            await ws.close()

    async def saw(self, keys: list[Key], timeout: float = 60.0) -> None:
        """Wait until every one of ``keys`` reached the probe (at most ``timeout`` seconds)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not all(key in self.recorder.arrivals for key in keys):
            await asyncio.sleep(0.1)

    def stop(self) -> None:
        """Close the probe's socket."""
        if self.task:
            self.task.cancel()


async def join_loop(base: str, until: float, pause: float, joins: list[float], snapshots: list[float],
                    snapshot_bytes: list[int], errors: Counter[str]) -> None:
    """Newcomers one at a time until ``until`` (monotonic): join on a new connection, open the websocket
    and wait for the snapshot, leave."""
    import websockets

    ws_base = base.replace("http://", "ws://")
    while time.monotonic() < until:
        try:
            status, answer, started = await fresh_request(base, "POST", f"/api/v1/events/{SLUG}/join",
                                                          {"group_size": 1})
            joins.append(now_ms() - started)
            if status != 201:
                errors[f"join: {status}"] += 1
                continue
            token = json.loads(answer)["attendee_token"]
            opened = now_ms()
            async with websockets.connect(f"{ws_base}/e/{SLUG}/ws?token={token}", compression=None, max_size=None,
                                          open_timeout=30, ping_interval=None) as ws:
                snapshot = await asyncio.wait_for(ws.recv(decode=False), 30)
                snapshots.append(now_ms() - opened)
                snapshot_bytes.append(len(snapshot))
        except (OSError, asyncio.IncompleteReadError, TimeoutError, websockets.WebSocketException) as exc:
            errors[f"join: {type(exc).__name__}"] += 1
        await asyncio.sleep(pause)


async def _staff_sockets(base: str, token: str, count: int, stop: asyncio.Event, received: Counter[int]) -> None:
    """The moderators' control panels, connected and read throughout: bytes received per second of arrival
    (the observer's stamp not counted; their snapshots apart)."""
    from ehalsodag_bench.frames import STAMP

    url = f"{base.replace('http://', 'ws://')}/e/{SLUG}/ws?view=control"
    sockets, _failures = await connect_all([url] * count, {"Authorization": f"Bearer {token}"})

    async def drain(ws: Any) -> None:
        await ws.recv(decode=False)  # the snapshot
        while not stop.is_set():
            try:
                frame = await asyncio.wait_for(ws.recv(decode=False), 0.5)
            except TimeoutError:
                continue
            except Exception:
                return
            stamp = STAMP.search(frame)
            received[int(now_ms() // 1000)] += len(frame) - (len(stamp.group(0)) if stamp else 0)

    await asyncio.gather(*(drain(ws) for ws in sockets))
    for ws in sockets:
        await ws.close()


# --- the run ------------------------------------------------------------------------------------


def run_qa(profile_name: str, json_path: str | None = None, target: Target | None = None,
           attendees: int | None = None) -> QaReport:
    """Run a Q&A profile and return (and optionally write) its report."""
    profile = QA_PROFILES[profile_name]
    if attendees:
        profile = QaProfile(**{**asdict(profile), "attendees": attendees,
                               "processes": max(profile.processes, attendees // 1250)})
    target = target or Target()
    started = time.monotonic()
    platform = start_platform(target)
    context = mp.get_context("spawn")
    workers: list[Any] = []
    results: list[dict[str, Any]] = []
    try:
        go_live(platform)
        tokens = join_all(platform.base, profile.attendees + 1)
        tokens, probe_token = tokens[:-1], tokens[-1]
        out = context.Queue()
        controls = [context.Queue() for _ in range(profile.processes)]
        parts = shares(profile.attendees, profile.processes)
        offsets = [sum(parts[:i]) for i in range(len(parts))]
        workers = [context.Process(target=socket_process, args=(
            platform.base, tokens[offsets[i]:offsets[i] + parts[i]], controls[i], out))
            for i in range(profile.processes)]
        for worker in workers:
            worker.start()
        wait_for(out, len(workers), "ready", results, profile.timeout_s)
        outcome = asyncio.run(_act(platform, profile, tokens, probe_token, controls))
        for control in controls:
            control.put({"actions": outcome["actions"]})
        while len(results) < len(workers):
            results.append(out.get(timeout=profile.timeout_s))
        for worker in workers:
            worker.join(timeout=30)
    finally:
        for worker in workers:
            if worker.is_alive():
                worker.kill()
        platform.stop()
    report = _report(profile, target, results, outcome, time.monotonic() - started)
    if json_path:
        Path(json_path).write_text(json.dumps(asdict(report), indent=2) + "\n")
    return report


async def _act(platform: Platform, profile: QaProfile, tokens: list[str], probe_token: str,
               controls: list[Any]) -> dict[str, Any]:
    """The phases, from the actors' side; returns the actions and what the actors measured."""
    http = HttpPool(platform.base, 256)  # opened as needed: up to 256 requests in flight
    actors = Actors(platform, tokens, http)
    probe = Probe()
    await probe.start(platform.base, probe_token)
    stop = asyncio.Event()
    staff_bytes: Counter[int] = Counter()
    moderators = asyncio.create_task(_staff_sockets(platform.base, platform.token, profile.moderators, stop,
                                                    staff_bytes))
    windows: dict[str, tuple[float, float]] = {}
    numbers = iter(range(1, 1_000_000))

    async def settle(tasks: list[asyncio.Task[None]]) -> None:
        """Wait for the actions under way (at most a minute), until the probe saw them all, then settle_s."""
        if tasks:
            await asyncio.wait(tasks, timeout=60)
        await probe.saw([key for key, (_sent, phase) in actors.actions.items() if phase == actors.phase])
        await asyncio.sleep(profile.settle_s)

    async def measured(phase: str, seconds: float, *rates: tuple[float, Any]) -> list[asyncio.Task[None]]:
        await asyncio.sleep(1.001 - time.time() % 1)  # frames are counted per whole second: phases never share one
        actors.phase = phase
        begun = now_ms()
        batches = await asyncio.gather(*(paced(rate, seconds, action) for rate, action in rates))
        tasks = [task for batch in batches for task in batch]
        await settle(tasks)
        await asyncio.sleep(1.001 - time.time() % 1)
        windows[phase] = (begun, math.floor(time.time()) * 1000 - 1)  # whole seconds: the next phase has its own
        return tasks

    try:
        await asyncio.sleep(1)
        actors.phase = "fill"
        await settle(await paced(profile.fill_per_s, profile.short_list / profile.fill_per_s,
                                 lambda: actors.ask(next(numbers))))
        short = list(actors.questions)
        await measured("short", profile.length_phase_s, (profile.length_upvotes_per_s, lambda: actors.upvote(short)))
        actors.phase = "fill"
        await settle(await paced(profile.fill_per_s, (profile.questions - profile.short_list) / profile.fill_per_s,
                                 lambda: actors.ask(next(numbers))))
        long = list(actors.questions)
        await measured("long", profile.length_phase_s, (profile.length_upvotes_per_s, lambda: actors.upvote(long)))
        on_list = len(actors.questions)

        chatters = max(1, math.ceil(profile.chat_share * profile.attendees))
        joins: list[float] = []
        snapshots: list[float] = []
        snapshot_sizes: list[int] = []
        for control in controls:
            control.put("storm")
        cpu_before, storm_started = cpu_seconds(platform.server.pid), time.monotonic()
        joiner = asyncio.create_task(join_loop(platform.base, storm_started + profile.storm_s, profile.join_pause_s,
                                               joins, snapshots, snapshot_sizes, actors.errors))
        await measured("storm", profile.storm_s,
                       (profile.upvotes_per_s, lambda: actors.upvote(actors.questions)),
                       (profile.questions_per_s, lambda: actors.ask(next(numbers))),
                       (chatters / profile.chat_every_s, actors.chat))
        await joiner
        storm_seconds = windows["storm"][1] / 1000 - windows["storm"][0] / 1000
        server_cpu = 100 * (cpu_seconds(platform.server.pid) - cpu_before) / storm_seconds
        for control in controls:
            control.put(storm_seconds)
    finally:
        stop.set()
        probe.stop()
        await moderators
        await http.close()
    return {"actions": actors.actions, "counts": actors.counts, "errors": actors.errors, "windows": windows,
            "http_ms": actors.http_ms,
            "on_list": on_list, "short": len(short), "long": len(long), "joins": joins, "snapshots": snapshots,
            "snapshot_sizes": snapshot_sizes, "server_cpu": server_cpu, "staff_bytes": staff_bytes}


def _report(profile: QaProfile, target: Target, results: list[dict[str, Any]], outcome: dict[str, Any],
            seconds: float) -> QaReport:
    histograms: dict[str, Counter[int]] = {}
    reached: dict[Key, list[float]] = {}
    for result in results:
        for name, histogram in result["histograms"].items():
            histograms.setdefault(name, Counter()).update(histogram)
        for key, (slowest, count) in result["per_action"].items():
            worst, total = reached.get(key, [0.0, 0])
            reached[key] = [max(worst, slowest), total + count]
    sockets = sum(r["sockets"] for r in results)
    actions: dict[Key, tuple[float, str]] = outcome["actions"]
    storm = [key for key, (_sent, phase) in actions.items() if phase == "storm"]
    every = [reached[key][0] for key in storm if key[0] == UPVOTE and reached.get(key, [0, 0])[1] >= sockets]
    missed = sum(sockets - reached.get(key, [0.0, 0])[1] for key in storm)
    windows = outcome["windows"]

    def delivered(kind: str, phase: str) -> int:
        return sum(histograms.get(f"{kind}:{phase}", Counter()).values())

    def received(kinds: tuple[str, ...], phase: str) -> int:
        begun, ended = windows[phase]
        return sum(size for result in results for (what, second), size in result["bytes"].items()
                   if what in kinds and begun // 1000 <= second <= ended // 1000)

    def pieces_of(kind: str, phase: str) -> int:
        begun, ended = windows[phase]
        return sum(count for result in results for (what, second), count in result["pieces"].items()
                   if what == kind and begun // 1000 <= second <= ended // 1000)

    def item_size(phase: str) -> float | None:
        count = pieces_of("upvote", phase)
        return round(received(("upvote",), phase) / count, 1) if count else None

    def per_delivery(kinds: tuple[str, ...], phase: str, kind: str) -> float | None:
        count = delivered(kind, phase)
        return round(received(kinds, phase) / count, 1) if count else None

    def staff_per_upvote(phase: str) -> float | None:
        begun, ended = windows[phase]
        upvotes = outcome["counts"][f"{UPVOTE}:{phase}"]
        staff = sum(size for second, size in outcome["staff_bytes"].items() if begun // 1000 <= second <= ended // 1000)
        return round(staff / upvotes / profile.moderators, 1) if upvotes else None

    storm_s = profile.storm_s  # the window also holds the settling seconds after it: rates are per storm second
    by_kind = Counter[str]()
    begun, ended = windows["storm"]
    for result in results:
        for (what, second), size in result["bytes"].items():
            if begun // 1000 <= second <= ended // 1000 and what != "snapshot":
                by_kind[what] += size
    own = outcome["counts"][f"{UPVOTE}:storm"]
    closed = Counter[int]()
    for result in results:
        closed.update(result["closed"])
    sizes = outcome["snapshot_sizes"]
    return QaReport(
        profile=profile.name, attendees=profile.attendees, sockets=sockets, duration_s=round(seconds, 1),
        errors=sum(r["errors"] for r in results) + sum(outcome["errors"].values()),
        disconnects=sum(closed.values()),
        questions_on_list=outcome["on_list"], upvotes=outcome["counts"][UPVOTE],
        questions_asked=outcome["counts"][QUESTION], chat_messages=outcome["counts"][CHAT],
        upvote_bytes_per_attendee={
            f"{outcome['short']}_questions": per_delivery(("upvote",), "short", UPVOTE),
            f"{outcome['long']}_questions": per_delivery(("upvote",), "long", UPVOTE),
            "storm": per_delivery(("upvote",), "storm", UPVOTE)},
        upvote_item_bytes={f"{outcome['short']}_questions": item_size("short"),
                           f"{outcome['long']}_questions": item_size("long"), "storm": item_size("storm")},
        staff_upvote_bytes={f"{outcome[length]}_questions": staff_per_upvote(length) for length in ("short", "long")},
        own_upvote_bytes=round(received(("own_upvote",), "storm") / own, 1) if own else None,
        question_bytes_per_attendee=per_delivery(("question",), "storm", QUESTION),
        chat_bytes_per_attendee=per_delivery(("chat",), "storm", CHAT),
        storm_bytes_per_attendee_s=round(sum(by_kind.values()) / max(1, sockets) / storm_s, 1),
        storm_bytes_by_kind={k: round(v / max(1, sockets) / storm_s, 1) for k, v in sorted(by_kind.items())},
        upvote_to_attendee_ms=histogram_percentiles(histograms.get(f"{UPVOTE}:storm", Counter())),
        question_to_attendee_ms=histogram_percentiles(histograms.get(f"{QUESTION}:storm", Counter())),
        chat_to_attendee_ms=histogram_percentiles(histograms.get(f"{CHAT}:storm", Counter())),
        storm_requests={name: {"started": outcome["counts"][f"started:{name}:storm"],
                               "answered": outcome["counts"][f"{kind}:storm"]}
                        for kind, name in KIND_NAMES.items()},
        upvote_http_ms=percentiles(outcome["http_ms"].get("upvote:storm", [])),
        upvote_to_every_attendee_ms=percentiles(every),
        stale_upvote_items=round(pieces_of("upvote_stale", "storm") / max(1, sockets), 1),
        repeated_upvote_items=round(pieces_of("upvote_repeat", "storm") / max(1, sockets), 1),
        storm_frames_per_attendee_s=round(pieces_of("frame", "storm") / max(1, sockets) / storm_s, 1),
        storm_deliveries_missed=missed,
        joins_in_storm=len(outcome["joins"]), join_ms=percentiles(outcome["joins"]),
        join_snapshot_ms=percentiles(outcome["snapshots"]),
        snapshot_bytes={"at_start": max((s for r in results for s in r["snapshot_bytes"]), default=0),
                        "in_storm": max(sizes, default=0)},
        server_cpu_percent=round(outcome["server_cpu"], 1),
        generator_cpu_percent=round(sum(r["cpu_percent"] for r in results), 1),
        workers=target.workers, database="postgresql" if target.database_url else "sqlite",
        hub="redis" if target.redis_url else "memory", list_lengths=[outcome["short"], outcome["long"]],
    )
