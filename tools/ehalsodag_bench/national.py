"""``ehalsodag bench --profile national|national-tiny``: a national e-hälsodag under load, stage by stage.

One event with a national stage and N regional stages (a programme written relative to now, so that a
national block is on when the run starts), loaded into the benchmark's database next to the demo event.
Everything runs on this machine's loopback interface and stops by itself. Phases:

1. the platform as in :mod:`ehalsodag_bench.run`; ``regions × per_region`` attendees join with a region
   (and a few with none) and hold a websocket each, from several generator processes, until every socket
   has its snapshot; one more socket per stage (a probe, held by the actors) tells when a phase is over;
2. national: announcements (timed from the moderator's click, and from the publish stamp of the hub
   observer) and a national question with upvotes: every attendee, whatever their region, must get each;
3. switching: each region's regional block is taken live (``/live``), one region after the other: its
   attendees' pages follow their region's stage at once (a fresh snapshot), nobody else's may change;
4. regional, one region after the other: questions and upvotes by the region's attendees, a regional poll
   created, opened and answered by every attendee of the region: each action is timed to every socket of
   the region, and every frame received meanwhile by a socket of another stage is counted (it must be 0).

Frames are attributed to actions by :mod:`ehalsodag_bench.frames` (one recorder per stage in each
generator process). Cross-stage traffic is counted two ways: any frame a socket of another stage received
while a region's window was open (windows follow each other, each one ends once the region's probe saw
all its actions, plus ``settle_s``), and any item of a region's actions (question, upvote, results) that
reached a socket of another region at any time. Both count as errors.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import multiprocessing as mp
import time
from array import array
from bisect import bisect_left, bisect_right
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from ehalsodag_bench.common import (
    HttpPool,
    connect_all,
    cpu_seconds,
    histogram_percentiles,
    now_ms,
    percentiles,
    rss_kib,
    wait_for,
)
from ehalsodag_bench.frames import STAMP, Key, Recorder, SocketState, merge_spans
from ehalsodag_bench.qa import Probe, paced
from ehalsodag_bench.run import vote_latencies
from ehalsodag_bench.target import Platform, Target, _run_cli, start_platform

#: The benchmark's national day (no ``bench-<digits>`` in it: that marks the benchmark's announcements).
SLUG = "nationell-ehalsodag-last"
#: The national stage's key; the regions are ``region-01`` … ``region-NN``.
NATIONAL = "nationell"
TIMEZONE = ZoneInfo("Europe/Stockholm")
STAFF_EMAIL = "nationell-bench@example.se"

#: The targets on this machine (ms, p99).
NATIONAL_BROADCAST_TARGET_MS = 300.0
REGIONAL_ACTION_TARGET_MS = 250.0

#: Kinds of action (:mod:`ehalsodag_bench.frames` keys: question shown, upvote shown, results showing K votes).
QUESTION, UPVOTE, VOTE = "q", "u", "r"
KIND_NAMES = {QUESTION: "question", UPVOTE: "upvote", VOTE: "vote"}


@dataclass(frozen=True)
class NationalProfile:
    """How big a national-day run is."""

    name: str
    regions: int
    per_region: int
    #: Attendees who join without a region (they follow the national stage all day).
    unregioned: int
    processes: int
    announcements: int
    national_upvotes: int
    #: Per region: questions asked, upvotes on them (by the region's attendees, paced), and its poll's votes
    #: (every attendee of the region answers once, paced at ``votes_per_s``).
    regional_questions: int
    regional_upvotes: int
    upvotes_per_s: float
    votes_per_s: float
    #: Seconds to wait after a phase once its probe saw every action of it, for the other sockets.
    settle_s: float
    timeout_s: float = 600.0


PROFILES = {
    "national-tiny": NationalProfile("national-tiny", regions=3, per_region=20, unregioned=3, processes=2,
                                     announcements=3, national_upvotes=5, regional_questions=1, regional_upvotes=5,
                                     upvotes_per_s=10, votes_per_s=40, settle_s=1.0, timeout_s=120),
    "national": NationalProfile("national", regions=10, per_region=500, unregioned=20, processes=4,
                                announcements=5, national_upvotes=20, regional_questions=2, regional_upvotes=20,
                                upvotes_per_s=20, votes_per_s=250, settle_s=2.0),
}


def region_keys(regions: int) -> list[str]:
    """The regional stages' keys."""
    return [f"region-{n:02d}" for n in range(1, regions + 1)]


def programme(regions: int, now: dt.datetime | None = None) -> str:
    """A national day's programme file: the national opening is on now (it started 30 minutes ago and runs
    two more hours), every region's own block comes after it (so a region follows its stage only once its
    block is taken live), then a national panel. Nothing starts or ends by the clock during a run."""
    now = (now or dt.datetime.now(dt.UTC)).astimezone(TIMEZONE).replace(second=0, microsecond=0, tzinfo=None)
    start = now - dt.timedelta(minutes=30)

    def at(minutes: int) -> str:
        return (start + dt.timedelta(minutes=minutes)).isoformat()

    parts = [f'''[event]
slug = "{SLUG}"
title = "Nationell e-hälsodag (lasttest)"
date = {start.date().isoformat()}
timezone = "Europe/Stockholm"

[[stages]]
id = "{NATIONAL}"
name = "Nationella scenen"
kind = "national"
stream_url = "https://www.youtube.com/watch?v=NATIONAL000"
''']
    for n, key in enumerate(region_keys(regions), 1):
        parts.append(f'''[[stages]]
id = "{key}"
name = "Region {n}"
kind = "regional"
stream_url = "https://www.youtube.com/watch?v=REGION{n:05d}"
''')
    parts.append(f'''[[blocks]]
id = "oppning"
stage = "{NATIONAL}"
kind = "opening"
start = {at(0)}
end = {at(150)}
title = "Nationell öppning"
''')
    for n, key in enumerate(region_keys(regions), 1):
        parts.append(f'''[[blocks]]
id = "sa-gor-vi-{key}"
stage = "{key}"
kind = "talk"
start = {at(150)}
end = {at(180)}
title = "Så gör vi i region {n}"
''')
    parts.append(f'''[[blocks]]
id = "nationell-panel"
stage = "{NATIONAL}"
kind = "panel"
start = {at(180)}
end = {at(240)}
title = "Nationell panel"
''')
    return "\n".join(parts)


@dataclass
class NationalReport:
    """The national-day benchmark's figures."""

    profile: str
    regions: int
    per_region: int
    #: Attendees joined (every region's and those without a region) and websockets the generator held.
    attendees: int
    sockets: int
    duration_s: float
    #: Failed requests and handshakes, deliveries missed, and every cross-stage frame or item.
    errors: int
    disconnects: int
    joins_per_s: float
    #: Announcement, from the moderator's click to each attendee socket (all of them, every region).
    national_broadcast_ms: dict[str, float | None]
    #: The same from the hub's publish (fan-out only).
    national_fanout_ms: dict[str, float | None]
    #: A national question and its upvotes, from the click to each attendee socket.
    national_qa_ms: dict[str, float | None]
    #: Announcement deliveries that did not reach a connected attendee.
    broadcasts_missed: int
    #: Every regional action (questions, upvotes, votes → results), from the click to each socket of its region.
    regional_action_ms: dict[str, float | None]
    regional_by_kind_ms: dict[str, dict[str, float | None]]
    #: A regional block taken live → the region's sockets got their fresh snapshot (from the click).
    switch_ms: dict[str, float | None]
    #: Per stage: its sockets (the national stage: all), click → socket latency of its actions, deliveries
    #: (socket × action shown), frames its sockets received during its regional window, and what was missed.
    per_stage: list[dict[str, Any]]
    #: Frames received by sockets of other stages while one region's window was open (must be 0).
    cross_stage_frames: int
    #: A region's questions, upvotes or results shown on a socket of another stage, at any time (must be 0).
    cross_stage_items: int
    #: What the cross-stage frames were: "phase window-stage → receiving stage: the frame's start" → frames.
    cross_stage_samples: dict[str, int]
    #: Question, upvote, final-results and switch deliveries that should have reached a socket and did not.
    deliveries_missed: int
    #: Upvotes answered with a success; the counts the pages showed in the end (summed over the questions);
    #: and upvotes whose answer gave the same count as another upvote of the same question.
    upvotes_accepted: int
    upvotes_shown: int
    upvote_counts_repeated: int
    votes_accepted: int
    votes_counted: int
    #: Votes acknowledged per second while a region answered (paced: what the server kept up with).
    votes_per_s: float
    rss_per_connection_kib: float
    server_rss_mib: float
    #: Server CPU (all its processes) from the national phase to the end of the regional one, % of one core.
    server_cpu_percent: float
    #: Seconds each phase took (each region's windows added up), settling included.
    phase_s: dict[str, float]
    targets_met: dict[str, bool]
    workers: int = 1
    database: str = "sqlite"
    hub: str = "memory"
    compression: str = "off"
    stages: list[str] = field(default_factory=list)


# --- the generator processes: sockets only, grouped by the stage they belong to -----------------------


def socket_process(base: str, members: list[tuple[str, str]], control: Any, out: Any) -> None:
    """One generator process: hold a websocket per (token, home stage) until told to stop; record every frame,
    per home stage; then time them against the plan of actions it is sent."""
    out.put(asyncio.run(_hold(base, members, control, out)))


@dataclass
class _Socket:
    stage: str
    state: SocketState = field(default_factory=SocketState)
    #: Arrival of every frame after the first snapshot (ms), and what it began with (see :data:`HEADS`).
    frames: array[float] = field(default_factory=lambda: array("d"))
    heads: array[int] = field(default_factory=lambda: array("I"))


#: How much of a frame's start is kept to say what a cross-stage frame was.
HEAD_BYTES = 120


async def _hold(base: str, members: list[tuple[str, str]], control: Any, out: Any) -> dict[str, Any]:
    import websockets

    loop = asyncio.get_running_loop()
    url = f"{base.replace('http://', 'ws://')}/e/{SLUG}/ws?token="
    by_stage: dict[str, list[str]] = {}
    for token, stage in members:
        by_stage.setdefault(stage, []).append(token)
    recorders = {stage: Recorder() for stage in by_stage}
    held: list[tuple[Any, _Socket]] = []
    failures = 0
    for stage, tokens in by_stage.items():  # one stage at a time: which socket belongs where stays known
        sockets, failed = await connect_all([url + token for token in tokens])
        failures += failed
        held += [(ws, _Socket(stage)) for ws in sockets]
    closed: Counter[int] = Counter()
    heads: dict[bytes, int] = {}  # each different frame start once; sockets keep its number

    async def reader(ws: Any, sock: _Socket) -> None:
        recorder = recorders[sock.stage]
        try:
            while True:
                frame = await ws.recv(decode=False)
                arrived = now_ms()
                if recorder.frame(sock.state, frame, arrived) != "snapshot":
                    sock.frames.append(arrived)
                    sock.heads.append(heads.setdefault(STAMP.sub(b"", frame[:HEAD_BYTES]), len(heads)))
        except websockets.ConnectionClosedOK:
            pass
        except websockets.ConnectionClosed as exc:
            closed[exc.rcvd.code if exc.rcvd else 1006] += 1

    readers = [asyncio.create_task(reader(ws, sock)) for ws, sock in held]
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not all(sock.state.snapshot_seen for _ws, sock in held):
        await asyncio.sleep(0.1)
    snapshots = sum(sock.state.snapshot_seen for _ws, sock in held)
    out.put(("ready", len(held)))
    cpu_started, started = time.process_time(), time.monotonic()
    plan = await loop.run_in_executor(None, control.get)  # every phase is over
    cpu_percent = 100 * (time.process_time() - cpu_started) / max(0.001, time.monotonic() - started)
    for ws, _sock in held:
        await ws.close()
    for task in readers:
        task.cancel()
    figures = _timed([sock for _ws, sock in held], recorders, plan, list(heads))
    return {**figures, "errors": failures + len(held) - snapshots,
            "closed": dict(closed), "sockets": Counter(sock.stage for _ws, sock in held), "cpu_percent": cpu_percent}


def _timed(sockets: list[_Socket], recorders: dict[str, Recorder], plan: dict[str, Any],
           heads: list[bytes]) -> dict[str, Any]:
    """This process's figures against the plan: latencies counted per millisecond by (stage, kind), deliveries
    per action, cross-stage frames (and how each began) and items, switch latencies, announcement latencies."""
    actions: dict[Key, tuple[float, str]] = plan["actions"]
    histograms: dict[str, Counter[int]] = {}
    reached: Counter[Key] = Counter()
    cross_items: Counter[str] = Counter()
    for home, recorder in recorders.items():
        for key, arrivals in recorder.arrivals.items():
            action = actions.get(key)
            if action is None or key[0] == VOTE:
                continue
            sent, stage = action
            if stage != NATIONAL and stage != home:
                cross_items[stage] += len(arrivals)
                continue
            reached[key] += len(arrivals)
            histogram = histograms.setdefault(f"{stage}:{key[0]}", Counter())
            for arrived in arrivals:
                histogram[round(arrived - sent)] += 1
        for poll, (stage, votes) in plan["polls"].items():
            seen = {key: list(times) for key, times in recorder.arrivals.items() if key[:2] == (VOTE, poll)}
            if not seen:
                continue
            if stage != home:
                cross_items[stage] += sum(len(times) for times in seen.values())
                continue
            histogram = histograms.setdefault(f"{stage}:{VOTE}", Counter())
            histogram.update(round(latency) for latency in vote_latencies({poll: votes}, seen, VOTE))
            reached[VOTE, poll, len(votes)] += len(seen.get((VOTE, poll, len(votes)), []))
    windows: list[tuple[str, str, float, float]] = plan["windows"]
    cross_frames: Counter[str] = Counter()
    cross_heads: Counter[str] = Counter()
    own_frames: Counter[str] = Counter()
    switch: Counter[int] = Counter()
    switched: Counter[str] = Counter()
    for sock in sockets:
        times = sock.frames
        for stage, phase, begun, ended in windows:
            first, last = bisect_left(times, begun), bisect_right(times, ended)
            if stage == NATIONAL:
                continue
            if stage != sock.stage:
                cross_frames[stage] += last - first
                for i in range(first, last):
                    cross_heads[f"{phase} {stage} → {sock.stage}: {heads[sock.heads[i]].decode(errors='replace')}"] += 1
            elif phase == "regional":
                own_frames[stage] += last - first
        clicked = plan["switches"].get(sock.stage)
        if clicked is not None:
            first = bisect_left(times, clicked)
            if first < len(times):
                switch[round(times[first] - clicked)] += 1
                switched[sock.stage] += 1
    return {"histograms": histograms, "reached": reached, "cross_items": cross_items, "cross_frames": cross_frames,
            "cross_heads": cross_heads,
            "own_frames": own_frames, "switch": switch, "switched": switched,
            "announcement_ms": [v for r in recorders.values() for v in r.announcement_ms],
            "broadcast_ms": [v for r in recorders.values() for v in r.broadcast_ms],
            "spans": [r.summary()["spans"] for r in recorders.values()]}


# --- the actors ------------------------------------------------------------------------------------------


class StageProbe(Probe):
    """One more attendee socket of a stage, held by the actors (:class:`ehalsodag_bench.qa.Probe` on the
    national day's event)."""

    async def open(self, base: str, token: str) -> None:
        """Connect and read in the background."""
        [ws], _failures = await connect_all([f"{base.replace('http://', 'ws://')}/e/{SLUG}/ws?token={token}"])
        self.task = asyncio.create_task(self._read(ws))

    def frames(self) -> int:
        """Frames received so far (the snapshot included)."""
        return sum(count for (kind, _second), count in self.recorder.pieces.items() if kind == "frame")

    async def until(self, test: Any, timeout: float = 60.0) -> bool:
        """Wait until ``test()`` holds (at most ``timeout`` seconds)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if test():
                return True
            await asyncio.sleep(0.05)
        return False


@dataclass
class Day:
    """The national day as the actors see it: who is where, the staff's header, the blocks."""

    platform: Platform
    staff: dict[str, str]
    tokens: dict[str, list[str]]
    blocks: dict[str, int]
    http: HttpPool
    #: Action key → (clicked, stage); a region's poll → (stage, [(acknowledged, sent)] per vote).
    actions: dict[Key, tuple[float, str]] = field(default_factory=dict)
    polls: dict[int, tuple[str, list[tuple[float, float]]]] = field(default_factory=dict)
    errors: Counter[str] = field(default_factory=Counter)
    windows: list[tuple[str, str, float, float]] = field(default_factory=list)
    switches: dict[str, float] = field(default_factory=dict)
    vote_seconds: list[float] = field(default_factory=list)
    #: Upvotes answered with a success, per question, and each question's stage.
    upvoted: Counter[int] = field(default_factory=Counter)
    question_stage: dict[int, str] = field(default_factory=dict)
    #: Per question, the highest upvote count its stage's probe was shown (after the run).
    shown: dict[int, int] = field(default_factory=dict)

    async def call(self, what: str, method: str, path: str, body: Any = None,
                   headers: dict[str, str] | None = None) -> tuple[Any, float]:
        """One request; (its JSON answer, or None if it failed, and when it was clicked)."""
        clicked = now_ms()
        try:
            status, answer, _sent = await self.http.request(method, path, body, headers or self.staff)
        except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
            self.errors[f"{what}: {type(exc).__name__}"] += 1
            return None, clicked
        if status not in (200, 201):
            self.errors[f"{what}: {status} {answer[:120]!r}"] += 1
            return None, clicked
        return (json.loads(answer) if answer else {}), clicked

    def as_attendee(self, stage: str, index: int) -> dict[str, str]:
        """The authorisation header of a stage's ``index``-th attendee."""
        tokens = self.tokens[stage]
        return {"Authorization": f"Bearer {tokens[index % len(tokens)]}"}

    async def ask(self, stage: str, asker: str, index: int, text: str) -> int | None:
        """An attendee of ``asker`` asks a question on ``stage`` (approved if it waits for a moderator)."""
        answer, clicked = await self.call("question", "POST", f"/api/v1/events/{SLUG}/questions", {"text": text},
                                          self.as_attendee(asker, index))
        if answer is None:
            return None
        if answer.get("status") == "pending":
            approved, clicked = await self.call("approve", "POST", f"/api/v1/questions/{answer['id']}/moderate",
                                                {"action": "approve"})
            if approved is None:
                return None
        self.actions[QUESTION, answer["id"], 0] = (clicked, stage)
        self.question_stage[int(answer["id"])] = stage
        return int(answer["id"])

    async def upvote(self, stage: str, voter: str, index: int, question: int) -> None:
        """An attendee of ``voter`` upvotes ``question`` (of ``stage``)."""
        answer, clicked = await self.call("upvote", "POST", f"/api/v1/questions/{question}/upvote", None,
                                          self.as_attendee(voter, index))
        if answer is not None:
            self.actions[UPVOTE, question, answer["upvotes"]] = (clicked, stage)
            self.upvoted[question] += 1

    async def window(self, stage: str, phase: str, body: Any) -> None:
        """Run ``body()`` as one window of ``stage``: from just before it until its probe saw it all, plus settling."""
        begun = now_ms()
        await body()
        self.windows.append((stage, phase, begun, now_ms()))


async def _act(day: Day, profile: NationalProfile, probes: dict[str, StageProbe]) -> float:
    """The phases, from the actors' side; returns the server's CPU % over them."""
    platform = day.platform
    regions = [stage for stage in day.tokens if stage != NATIONAL]
    cpu_before, load_started = cpu_seconds(platform.server.pid), time.monotonic()

    async def settled(probe: StageProbe, keys: list[Key]) -> None:
        await probe.saw(keys)
        await asyncio.sleep(profile.settle_s)

    async def national() -> None:
        marks = []  # as the recorder keys them: the click's time
        for _ in range(profile.announcements):
            mark = f"{now_ms():.3f}"
            marks.append(mark)
            await day.call("announcement", "POST", f"/api/v1/events/{SLUG}/announcement", {"text": f"bench-{mark}"})
            await asyncio.sleep(0.5)
        question = await day.ask(NATIONAL, regions[0], 0, "Hur delar vi journaldata mellan regionerna, nationellt?")
        if question is not None:
            upvoters = iter(range(profile.national_upvotes))

            async def one() -> None:  # attendees of every region upvote the national question
                n = next(upvoters)
                await day.upvote(NATIONAL, regions[n % len(regions)], 1 + n // len(regions), question)

            tasks = await paced(profile.upvotes_per_s, profile.national_upvotes / profile.upvotes_per_s, one)
            if tasks:
                await asyncio.wait(tasks, timeout=60)
        probe = probes[NATIONAL]
        await probe.until(lambda: all(mark in probe.recorder.spans for mark in marks))
        await settled(probe, [key for key, (_at, stage) in day.actions.items() if stage == NATIONAL])

    await asyncio.sleep(1)
    await day.window(NATIONAL, "national", national)

    for stage in regions:  # every region onto its own stage, one after the other
        async def switch(stage: str = stage) -> None:
            probe = probes[stage]
            before = probe.frames()
            answer, clicked = await day.call("live", "POST", f"/api/v1/events/{SLUG}/live",
                                             {"block_id": day.blocks[f"sa-gor-vi-{stage}"]})
            if answer is not None:
                day.switches[stage] = clicked
            await probe.until(lambda: probe.frames() > before)
            await asyncio.sleep(profile.settle_s)

        await day.window(stage, "switch", switch)

    for number, stage in enumerate(regions, 1):
        async def regional(stage: str = stage, number: int = number) -> None:
            questions = []
            for q in range(profile.regional_questions):
                asked = await day.ask(stage, stage, q, f"Fråga {q + 1} i region {number}: hur når vi patienterna "
                                                       f"i glesbygden med digitala vårdmöten?")
                if asked is not None:
                    questions.append(asked)
            if questions:
                upvoters = iter(range(profile.regional_upvotes))

                async def one() -> None:
                    n = next(upvoters)
                    await day.upvote(stage, stage, profile.regional_questions + n, questions[n % len(questions)])

                tasks = await paced(profile.upvotes_per_s, profile.regional_upvotes / profile.upvotes_per_s, one)
                if tasks:
                    await asyncio.wait(tasks, timeout=60)
            poll = await _regional_poll(day, profile, stage, number)
            keys = [key for key, (_at, of) in day.actions.items() if of == stage]
            if poll is not None:
                votes = day.polls[poll][1]
                keys.append((VOTE, poll, len(votes)))
            await settled(probes[stage], keys)

        await day.window(stage, "regional", regional)
    return 100 * (cpu_seconds(platform.server.pid) - cpu_before) / (time.monotonic() - load_started)


async def _regional_poll(day: Day, profile: NationalProfile, stage: str, number: int) -> int | None:
    """A region's poll: created for its stage, opened, and answered once by every attendee of the region (paced)."""
    created, _clicked = await day.call("poll", "POST", f"/api/v1/events/{SLUG}/polls", {
        "kind": "single", "question": f"Hur långt har region {number} kommit med digitala vårdmöten?",
        "options": ["Långt", "En bit på väg", "Vi har börjat"], "stage": stage})
    if created is None:
        return None
    poll = int(created["id"])
    listed, _clicked = await day.call("polls", "GET", f"/api/v1/events/{SLUG}/polls")
    options = next((p["options"] for p in listed or [] if p["id"] == poll), [])
    opened, _clicked = await day.call("open", "POST", f"/api/v1/polls/{poll}/open")
    if opened is None or not options:
        return None
    votes: list[tuple[float, float]] = []
    day.polls[poll] = (stage, votes)
    voters = iter(range(len(day.tokens[stage])))

    async def vote() -> None:
        n = next(voters)
        answer, clicked = await day.call("vote", "POST", f"/api/v1/polls/{poll}/responses",
                                         {"option_ids": [options[n % len(options)]["id"]]}, day.as_attendee(stage, n))
        if answer is not None:
            votes.append((now_ms(), clicked))

    rate = profile.votes_per_s
    started = time.monotonic()
    tasks = await paced(rate, len(day.tokens[stage]) / rate, vote)
    if tasks:
        await asyncio.wait(tasks, timeout=60)
    if votes:
        day.vote_seconds.append((max(ack for ack, _ in votes) - min(sent for _, sent in votes)) / 1000 or
                                time.monotonic() - started)
    return poll



# --- the run ------------------------------------------------------------------------------------------


def load_day(platform: Platform, regions: int) -> tuple[dict[str, str], dict[str, int]]:
    """Load the national day into the running platform's database (as ``ehalsodag agenda load`` during the
    day would) with an organiser of it; (the organiser's header, block key → id)."""
    import httpx

    path = platform.var_dir / f"{SLUG}.toml"
    path.write_text(programme(regions), encoding="utf-8")
    _run_cli(platform.env, "agenda", "load", str(path))
    _run_cli(platform.env, "user", "add", STAFF_EMAIL, "--role", "organiser", "--event", SLUG,
             stdin=b"a long load-test passphrase\n")
    token = _run_cli(platform.env, "token", "create", STAFF_EMAIL)
    event = httpx.get(f"{platform.base}/api/v1/events/{SLUG}", timeout=30).json()
    return {"Authorization": f"Bearer {token}"}, {b["key"]: b["id"] for b in event["blocks"]}


def join_day(base: str, homes: list[str]) -> list[str]:
    """One attendee per entry of ``homes`` joins the national day with that region (none for the national
    stage), 100 at a time; their tokens, in the same order."""

    async def go() -> list[str]:
        http = HttpPool(base, 100)

        async def join(home: str) -> str:
            body: dict[str, Any] = {"group_size": 1}
            if home != NATIONAL:
                body["stage"] = home
            status, answer, _sent = await http.request("POST", f"/api/v1/events/{SLUG}/join", body)
            if status != 201:
                raise SystemExit(f"join failed with {status}: {answer[:200]!r}")
            return str(json.loads(answer)["attendee_token"])

        gate = asyncio.Semaphore(100)

        async def gated(home: str) -> str:
            async with gate:
                return await join(home)

        try:
            return list(await asyncio.gather(*(gated(home) for home in homes)))
        finally:
            await http.close()

    return asyncio.run(go())


def run_national(profile_name: str, json_path: str | None = None, target: Target | None = None,
                 attendees: int | None = None) -> NationalReport:
    """Run a national-day profile and return (and optionally write) its report. ``attendees``: the regions'
    attendees in all (split evenly over the regions)."""
    profile = PROFILES[profile_name]
    if attendees:
        profile = NationalProfile(**{**asdict(profile), "per_region": max(1, attendees // profile.regions),
                                     "processes": max(profile.processes, attendees // 1250)})
    target = target or Target()
    started = time.monotonic()
    platform = start_platform(target)
    context = mp.get_context("spawn")
    workers: list[Any] = []
    results: list[dict[str, Any]] = []
    regions = region_keys(profile.regions)
    try:
        staff, blocks = load_day(platform, profile.regions)
        homes = [stage for stage in regions for _ in range(profile.per_region)] + [NATIONAL] * profile.unregioned
        probe_homes = [*regions, NATIONAL]
        join_started = time.monotonic()
        joined = join_day(platform.base, homes + probe_homes)
        joins_per_s = len(joined) / (time.monotonic() - join_started)
        members, probe_tokens = list(zip(joined, homes, strict=False)), dict(zip(probe_homes, joined[len(homes):],
                                                                                 strict=True))
        tokens: dict[str, list[str]] = {}
        for token, home in members:
            tokens.setdefault(home, []).append(token)
        time.sleep(1)
        idle_rss = rss_kib(platform.server.pid)

        out = context.Queue()
        controls = [context.Queue() for _ in range(profile.processes)]
        workers = [context.Process(target=socket_process, args=(platform.base, members[i::profile.processes],
                                                                 controls[i], out))
                   for i in range(profile.processes)]
        for worker in workers:
            worker.start()
        wait_for(out, len(workers), "ready", results, profile.timeout_s)
        time.sleep(1)
        connected_rss = rss_kib(platform.server.pid)

        async def act() -> tuple[Day, float]:
            http = HttpPool(platform.base, 128)
            day = Day(platform, staff, tokens, blocks, http)
            probes = {stage: StageProbe() for stage in probe_homes}
            try:
                for stage, probe in probes.items():
                    await probe.open(platform.base, probe_tokens[stage])
                cpu = await _act(day, profile, probes)
                for question, stage in day.question_stage.items():
                    day.shown[question] = max((k for kind, q, k in probes[stage].recorder.arrivals
                                               if kind == UPVOTE and q == question), default=0)
                return day, cpu
            finally:
                for probe in probes.values():
                    probe.stop()
                await http.close()

        day, cpu_percent = asyncio.run(act())
        plan = {"actions": day.actions, "polls": day.polls, "windows": day.windows, "switches": day.switches}
        for control in controls:
            control.put(plan)
        while len(results) < len(workers):
            results.append(out.get(timeout=profile.timeout_s))
        for worker in workers:
            worker.join(timeout=30)
        counted = _count_votes(platform, staff, list(day.polls))
        final_rss = rss_kib(platform.server.pid)
    finally:
        for worker in workers:
            if worker.is_alive():
                worker.kill()
        platform.stop()
    report = _report(profile, target, results, day, {
        "joins_per_s": joins_per_s, "idle_rss": idle_rss, "connected_rss": connected_rss, "final_rss": final_rss,
        "cpu_percent": cpu_percent, "votes_counted": counted, "seconds": time.monotonic() - started})
    if json_path:
        Path(json_path).write_text(json.dumps(asdict(report), indent=2) + "\n")
    return report


def _count_votes(platform: Platform, staff: dict[str, str], poll_ids: list[int]) -> int:
    """Stored answers of the regions' polls, as the organisers' results JSON counts them."""
    import httpx

    results = httpx.get(f"{platform.base}/api/v1/events/{SLUG}/results", headers=staff, timeout=60).json()
    return sum(p["responses"] for p in results["polls"] if p["id"] in poll_ids)


def _report(profile: NationalProfile, target: Target, results: list[dict[str, Any]], day: Day,
            measured: dict[str, Any]) -> NationalReport:
    histograms: dict[str, Counter[int]] = {}
    reached: Counter[Key] = Counter()
    cross_items: Counter[str] = Counter()
    cross_frames: Counter[str] = Counter()
    cross_heads: Counter[str] = Counter()
    own_frames: Counter[str] = Counter()
    switch: Counter[int] = Counter()
    switched: Counter[str] = Counter()
    sockets: Counter[str] = Counter()
    closed: Counter[int] = Counter()
    for result in results:
        for name, histogram in result["histograms"].items():
            histograms.setdefault(name, Counter()).update(histogram)
        for tally, part in ((reached, "reached"), (cross_items, "cross_items"), (cross_frames, "cross_frames"),
                            (own_frames, "own_frames"), (cross_heads, "cross_heads"), (switch, "switch"),
                            (switched, "switched"), (sockets, "sockets"), (closed, "closed")):
            tally.update(result[part])
    total = sum(sockets.values())
    regions = [stage for stage in day.tokens if stage != NATIONAL]
    announcement = [v for r in results for v in r["announcement_ms"]]
    spans = merge_spans([{"spans": spans} for r in results for spans in r["spans"]])
    broadcasts_missed = profile.announcements * total - sum(count for count, _longest in spans.values())

    missed: Counter[str] = Counter()
    for key, (_clicked, stage) in day.actions.items():
        missed[stage] += max(0, (total if stage == NATIONAL else sockets[stage]) - reached[key])
    for poll, (stage, votes) in day.polls.items():
        if votes:
            missed[stage] += max(0, sockets[stage] - reached[VOTE, poll, len(votes)])
    for stage in day.switches:
        missed[stage] += max(0, sockets[stage] - switched[stage])

    def merged(names: list[str]) -> Counter[int]:
        together: Counter[int] = Counter()
        for name in names:
            together.update(histograms.get(name, Counter()))
        return together

    national_qa = merged([f"{NATIONAL}:{QUESTION}", f"{NATIONAL}:{UPVOTE}"])
    per_stage = [{"stage": NATIONAL, "attendees": total,
                  "action_to_attendee_ms": histogram_percentiles(national_qa + Counter(round(v) for v in announcement)),
                  "deliveries": sum(national_qa.values()) + len(announcement), "missed": missed[NATIONAL] +
                  broadcasts_missed}]
    regional_all: Counter[int] = Counter()
    for stage in regions:
        of_stage = merged([f"{stage}:{kind}" for kind in KIND_NAMES])
        regional_all.update(of_stage)
        per_stage.append({"stage": stage, "attendees": sockets[stage],
                          "action_to_attendee_ms": histogram_percentiles(of_stage),
                          "deliveries": sum(of_stage.values()), "frames": own_frames[stage],
                          "missed": missed[stage], "cross_stage_frames": cross_frames[stage],
                          "cross_stage_items": cross_items[stage]})
    national_broadcast = percentiles(announcement)
    regional = histogram_percentiles(regional_all)
    cross = sum(cross_frames.values())
    errors = (sum(r["errors"] for r in results) + sum(day.errors.values()) + cross + sum(cross_items.values()))
    votes_accepted = sum(len(votes) for _stage, votes in day.polls.values())
    report = NationalReport(
        profile=profile.name, regions=profile.regions, per_region=profile.per_region,
        attendees=profile.regions * profile.per_region + profile.unregioned, sockets=total,
        duration_s=round(measured["seconds"], 1), errors=errors, disconnects=sum(closed.values()),
        joins_per_s=round(measured["joins_per_s"], 1),
        national_broadcast_ms=national_broadcast,
        national_fanout_ms=percentiles([v for r in results for v in r["broadcast_ms"]]),
        national_qa_ms=histogram_percentiles(national_qa), broadcasts_missed=broadcasts_missed,
        regional_action_ms=regional,
        regional_by_kind_ms={name: histogram_percentiles(merged([f"{stage}:{kind}" for stage in regions]))
                             for kind, name in KIND_NAMES.items()},
        switch_ms=histogram_percentiles(switch), per_stage=per_stage, cross_stage_frames=cross,
        cross_stage_items=sum(cross_items.values()),
        cross_stage_samples=_samples(cross_heads), deliveries_missed=sum(missed.values()) + broadcasts_missed,
        upvotes_accepted=sum(day.upvoted.values()), upvotes_shown=sum(day.shown.values()),
        upvote_counts_repeated=sum(day.upvoted.values()) - sum(1 for key in day.actions if key[0] == UPVOTE),
        votes_accepted=votes_accepted, votes_counted=measured["votes_counted"],
        votes_per_s=round(votes_accepted / sum(day.vote_seconds), 1) if day.vote_seconds else 0.0,
        rss_per_connection_kib=round((measured["connected_rss"] - measured["idle_rss"]) / max(1, total), 1),
        server_rss_mib=round(measured["final_rss"] / 1024, 1),
        server_cpu_percent=round(measured["cpu_percent"], 1),
        phase_s={phase: round(sum(end - begin for _stage, of, begin, end in day.windows if of == phase) / 1000, 1)
                 for phase in ("national", "switch", "regional")},
        targets_met={
            "national_broadcast_p99_le_300ms": (national_broadcast["p99"] or 1e9) <= NATIONAL_BROADCAST_TARGET_MS,
            "regional_action_p99_le_250ms": (regional["p99"] or 1e9) <= REGIONAL_ACTION_TARGET_MS,
            "no_cross_stage_frames": cross == 0 and not cross_items,
            "nothing_missed": not sum(missed.values()) and not broadcasts_missed,
            "every_upvote_shown": sum(day.shown.values()) == sum(day.upvoted.values()),
            "no_errors": errors == 0,
        },
        workers=target.workers, database="postgresql" if target.database_url else "sqlite",
        hub="redis" if target.redis_url else "memory", stages=[NATIONAL, *regions],
    )
    return report


def _samples(heads: Counter[str], keep: int = 12) -> dict[str, int]:
    """The commonest cross-stage frames, grouped by (window, receiving region's kind: national or regional)."""
    grouped: Counter[str] = Counter()
    for name, count in heads.items():
        window, _sep, rest = name.partition(" → ")
        receiver, _sep, head = rest.partition(": ")
        grouped[f"{window} → {'national' if receiver == NATIONAL else 'another region'}: {head}"] += count
    return dict(grouped.most_common(keep))
