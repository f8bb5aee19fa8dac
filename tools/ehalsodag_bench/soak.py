"""``ehalsodag bench --profile soak|soak-tiny``: a steady day-long load, and whether the platform drifts under it.

A short burst shows what the platform does when fresh; a day is hours of the same steady load. Slow growth
(a list pushed whole on every upvote, a cache that only grows, a socket's backlog that never drains) shows only
over time: the review measured the vote p50 rising from 14 to 217 ms over five minutes with 500 sockets. This
profile holds ``attendees`` websockets for ``duration_s`` seconds under a steady mix (votes that change their
answer, upvotes, questions, chat, a moderator's announcement every ``announce_every_s``) and reports each figure
per *minute* of the run (``minute_s`` seconds; 60 in ``soak``) and the **drift**: the last minute's figure over the
first minute's (1.0: no drift; 2.0: twice as slow by the end).

- ``vote_ms``: a vote's request until its answer (the attendee's click to "saved");
- ``announcement_ms``: a moderator's announcement (its request started) until it arrived on each attendee socket;
- ``rss_kib``: the server's resident memory at the end of each minute.

Everything runs on loopback, from one generator process (the sockets and the actors), and stops by itself.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ehalsodag_bench.common import SLUG, HttpPool, connect_all, now_ms, percentiles, rss_kib
from ehalsodag_bench.target import Target, go_live, join_all, start_platform


@dataclass(frozen=True)
class SoakProfile:
    """How big, how long and how busy a soak is."""

    name: str
    attendees: int
    duration_s: float
    #: The length of one "minute" of the per-minute figures (shorter in the tiny profile).
    minute_s: float
    votes_per_s: float
    upvotes_per_s: float
    questions_per_s: float
    chat_per_s: float
    announce_every_s: float
    timeout_s: float = 900.0


SOAK_PROFILES = {
    "soak-tiny": SoakProfile("soak-tiny", attendees=20, duration_s=6, minute_s=2, votes_per_s=10, upvotes_per_s=4,
                             questions_per_s=1, chat_per_s=1, announce_every_s=1, timeout_s=90),
    "soak": SoakProfile("soak", attendees=500, duration_s=600, minute_s=60, votes_per_s=50, upvotes_per_s=10,
                        questions_per_s=0.5, chat_per_s=2, announce_every_s=10),
}

#: The marker of an announcement in a pushed frame: its number.
ANNOUNCEMENT = re.compile(rb"Soak-meddelande (\d+)\b")


@dataclass
class SoakReport:
    """The soak's figures: per minute, and the drift (last minute / first minute)."""

    profile: str
    attendees: int
    sockets: int
    duration_s: float
    minutes: int
    #: Refused or failed requests and handshakes; sockets the server closed.
    errors: int
    disconnects: int
    votes_accepted: int
    #: Distinct voters the results count (each vote after the first replaces the attendee's answer).
    voters_acknowledged: int
    voters_counted: int
    questions: int
    upvotes: int
    chat_messages: int
    announcements: int
    #: Announcement deliveries (socket × announcement) that never arrived.
    announcements_missed: int
    #: Per minute: {"minute", "n", "p50", "p95", "p99"}.
    vote_ms_by_minute: list[dict[str, Any]]
    announcement_ms_by_minute: list[dict[str, Any]]
    rss_kib_by_minute: list[int]
    #: Last minute's p50 over the first minute's (the issue's figure), and the same for the announcements' p99 and
    #: the server's memory. None when a minute had no samples.
    vote_p50_drift: float | None
    announcement_p99_drift: float | None
    rss_drift: float | None
    workers: int = 1
    database: str = "sqlite"
    hub: str = "memory"
    error_kinds: dict[str, int] = field(default_factory=dict)


def _by_minute(samples: list[tuple[float, float]], started: float, minute_s: float, minutes: int) -> list[dict]:
    buckets: list[list[float]] = [[] for _ in range(minutes)]
    for at, value in samples:
        index = int((at - started) / (minute_s * 1000))
        if 0 <= index < minutes:
            buckets[index].append(value)
    return [{"minute": i + 1, "n": len(values), **percentiles(values)} for i, values in enumerate(buckets)]


def drift(first: float | None, last: float | None) -> float | None:
    """``last`` / ``first`` rounded to two decimals (None without both, or when the first is 0)."""
    if first is None or last is None or first <= 0:
        return None
    return round(last / first, 2)


async def _soak(profile: SoakProfile, platform: Any, tokens: list[str]) -> dict[str, Any]:
    import websockets

    base = platform.base
    http = HttpPool(base, 50)
    errors: Counter[str] = Counter()
    counts: Counter[str] = Counter()
    votes_ms: list[tuple[float, float]] = []
    announced: dict[int, float] = {}
    arrivals: dict[int, list[float]] = {}
    closed = 0

    async def call(what: str, method: str, path: str, body: Any, headers: dict[str, str]) -> Any:
        try:
            status, answer, sent = await http.request(method, path, body, headers)
        except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
            errors[f"{what}: {type(exc).__name__}"] += 1
            return None
        if status not in (200, 201):
            errors[f"{what}: {status}"] += 1
            return None
        counts[what] += 1
        if what == "vote":
            votes_ms.append((sent, now_ms() - sent))
        return json.loads(answer)

    poll = await call("poll", "POST", f"/api/v1/events/{SLUG}/polls", {
        "kind": "scale", "question": "Hur långt har er verksamhet kommit?", "scale_min": 1, "scale_max": 5},
        platform.staff)
    await call("open", "POST", f"/api/v1/polls/{poll['id']}/open", None, platform.staff)

    ws_base = base.replace("http://", "ws://")
    sockets, failures = await connect_all([f"{ws_base}/e/{SLUG}/ws?token={token}" for token in tokens])
    if failures:
        errors["websocket: handshake"] += failures

    async def reader(ws: Any) -> None:
        nonlocal closed
        try:
            while True:
                frame = await ws.recv(decode=False)
                arrived = now_ms()
                for match in ANNOUNCEMENT.finditer(frame):
                    arrivals.setdefault(int(match.group(1)), []).append(arrived)
        except websockets.ConnectionClosedOK:
            pass
        except websockets.ConnectionClosed:
            closed += 1

    readers = [asyncio.create_task(reader(ws)) for ws in sockets]
    await asyncio.sleep(0.5)  # the snapshots are in
    questions: list[int] = []
    voters: set[int] = set()
    tasks: list[asyncio.Task[Any]] = []

    def auth(i: int) -> dict[str, str]:
        return {"Authorization": f"Bearer {tokens[i % len(tokens)]}"}

    async def vote(i: int) -> None:
        if await call("vote", "POST", f"/api/v1/polls/{poll['id']}/responses", {"value": 1 + i % 5}, auth(i)):
            voters.add(i % len(tokens))

    async def upvote(i: int) -> None:
        if questions:
            await call("upvote", "POST", f"/api/v1/questions/{questions[i % len(questions)]}/upvote", None, auth(i))

    async def ask(i: int) -> None:
        answer = await call("question", "POST", f"/api/v1/events/{SLUG}/questions",
                            {"text": f"Fråga {i}: hur når vi fler med digitala vårdmöten?"}, auth(-1 - i))
        if answer and answer.get("status") == "pending":
            await call("approve", "POST", f"/api/v1/questions/{answer['id']}/moderate", {"action": "approve"},
                       platform.staff)
        if answer:
            questions.append(answer["id"])

    async def chat(i: int) -> None:
        await call("chat", "POST", f"/api/v1/events/{SLUG}/chat", {"text": f"Hej från enhet {i}!"}, auth(i * 7))

    async def announce(number: int) -> None:
        announced[number] = now_ms()
        await call("announcement", "POST", f"/api/v1/events/{SLUG}/announcement",
                   {"text": f"Soak-meddelande {number} från moderatorn"}, platform.staff)

    schedule = [(rate, action) for rate, action in (
        (profile.votes_per_s, vote), (profile.upvotes_per_s, upvote), (profile.questions_per_s, ask),
        (profile.chat_per_s, chat), (1 / profile.announce_every_s, announce)) if rate > 0]
    minutes = max(1, int(round(profile.duration_s / profile.minute_s)))
    rss: list[int] = []
    started = now_ms()
    started_mono = time.monotonic()
    next_due = {action: 0.0 for _rate, action in schedule}
    done = {action: 0 for _rate, action in schedule}
    next_minute = 1
    while (elapsed := time.monotonic() - started_mono) < profile.duration_s:
        for rate, action in schedule:  # each action on its own fixed schedule, never catching up in bursts
            if elapsed >= next_due[action]:
                tasks.append(asyncio.create_task(action(done[action])))
                done[action] += 1
                next_due[action] = done[action] / rate
        if elapsed >= next_minute * profile.minute_s:
            rss.append(rss_kib(platform.server.pid))
            next_minute += 1
        await asyncio.sleep(0.005)
    if len(rss) < minutes:
        rss.append(rss_kib(platform.server.pid))
    await asyncio.gather(*tasks, return_exceptions=True)
    await asyncio.sleep(2.0)  # the last announcements reach every socket
    for ws in sockets:
        await ws.close()
    for task in readers:
        task.cancel()
    await http.close()

    results = json.loads(await asyncio.to_thread(_get, f"{base}/api/v1/events/{SLUG}/results", platform.staff))
    counted = next(p["responses"] for p in results["polls"] if p["id"] == poll["id"])
    announcement_ms = [(announced[number], at - announced[number])
                       for number, ats in arrivals.items() if number in announced for at in ats]
    missed = sum(max(0, len(sockets) - len(arrivals.get(number, []))) for number in announced)
    return {"sockets": len(sockets), "errors": sum(errors.values()), "error_kinds": dict(errors),
            "disconnects": closed, "votes_accepted": counts["vote"], "voters_acknowledged": len(voters),
            "voters_counted": counted, "questions": counts["question"], "upvotes": counts["upvote"],
            "chat_messages": counts["chat"], "announcements": counts["announcement"], "announcements_missed": missed,
            "minutes": minutes,
            "vote_ms_by_minute": _by_minute(votes_ms, started, profile.minute_s, minutes),
            "announcement_ms_by_minute": _by_minute(announcement_ms, started, profile.minute_s, minutes),
            "rss_kib_by_minute": rss[:minutes]}


def _get(url: str, headers: dict[str, str]) -> str:
    import httpx

    return httpx.get(url, headers=headers, timeout=30).text


def run_soak(profile_name: str, json_path: str | None = None, target: Target | None = None,
             attendees: int | None = None) -> SoakReport:
    """Run a soak profile and return (and optionally write) its report."""
    profile = SOAK_PROFILES[profile_name]
    if attendees:
        profile = SoakProfile(**{**asdict(profile), "attendees": attendees})
    target = target or Target()
    started = time.monotonic()
    platform = start_platform(target)
    try:
        go_live(platform)
        tokens = join_all(platform.base, profile.attendees)
        figures = asyncio.run(asyncio.wait_for(_soak(profile, platform, tokens), profile.timeout_s))
    finally:
        platform.stop()
    votes, announcements, rss = (figures["vote_ms_by_minute"], figures["announcement_ms_by_minute"],
                                 figures["rss_kib_by_minute"])
    report = SoakReport(
        profile=profile.name, attendees=profile.attendees, duration_s=round(time.monotonic() - started, 1),
        vote_p50_drift=drift(votes[0]["p50"], votes[-1]["p50"]),
        announcement_p99_drift=drift(announcements[0]["p99"], announcements[-1]["p99"]),
        rss_drift=drift(rss[0], rss[-1]) if rss else None,
        workers=target.workers, database="postgresql" if target.database_url else "sqlite",
        hub="redis" if target.redis_url else "memory", **figures)
    if json_path:
        Path(json_path).write_text(json.dumps(asdict(report), indent=2))
    return report
