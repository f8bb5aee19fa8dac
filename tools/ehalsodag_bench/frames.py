"""What a generator's websocket client makes of each frame it receives.

Frames are HTML (see the frame protocol in static/js/live.js): each top-level element with an id is
one instruction, and one frame may carry many (the platform pushes an event's changes together, each
changed item once). The benchmark's hub observer (:mod:`ehalsodag_bench.server`) appends the moment the
frame was published, ``<!--bench-push:TS-->``; that comment is not counted in a frame's bytes.

A frame is cut into pieces at each item it carries, and each piece's bytes go to what it shows:

- ``<li id="q-N">`` with its upvote count ``id="q-N-count">K``: the question's first appearance on
  this socket (asked, or approved) is a ``question``; a count above the last one this socket saw is an
  ``upvote`` piece showing upvotes K' … K; the same count again an ``upvote_repeat``, a lower one an
  ``upvote_stale`` (an older state after a newer one: the page shows a stale count until the next push);
- ``<li id="chat-N">``: a ``chat`` message;
- the rest of the frame (before the first item, or a frame without items): ``results`` if it holds poll
  results (``id="poll-N-results"``, ``-staff`` on the control panel, with the response count),
  ``announcement`` if it holds one of the benchmark's announcements (``bench-TS``, TS: the click),
  ``own_upvote`` if it is an upvoter's own button (``id="q-N-upvote"``), else ``other``.

The first frame of a socket is its snapshot: it sets what the socket has seen and is counted apart.
Arrivals are recorded by what became visible, so that the run can time them against the actions
afterwards: ``("q", id, 0)`` question shown, ``("u", id, K)`` K-th upvote shown, ``("c", id, 0)`` chat
message shown, ``("r", poll, K)`` / ``("s", poll, K)`` results showing K responses to attendees / staff.
"""

from __future__ import annotations

import re
from array import array
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

STAMP = re.compile(rb"<!--bench-push:([0-9.]+)-->")
ANNOUNCE = re.compile(rb"bench-([0-9.]+)")
#: Where an item starts: a question's or a chat message's element.
ITEM = re.compile(rb'<li id="(q|chat)-(\d+)"')
UPVOTES = re.compile(rb'id="q-(\d+)-count"[^>]*>\s*(\d+)')
CHAT = re.compile(rb'id="chat-(\d+)"')
#: An upvoter's own button (a personal frame).
OWN_UPVOTE = re.compile(rb'id="q-\d+-upvote"')
RESULTS = re.compile(rb'id="poll-(\d+)-results(-staff)?"')
#: The response count inside a results element (the first number of its ``poll-count`` line).
RESPONSES = re.compile(rb'poll-count"[^>]*>\s*(\d+)')

Key = tuple[str, int, int]


@dataclass
class SocketState:
    """What one websocket has seen so far."""

    snapshot_seen: bool = False
    upvotes: dict[int, int] = field(default_factory=dict)
    chat: set[int] = field(default_factory=set)
    responses: dict[tuple[int, bool], int] = field(default_factory=dict)
    announcements: set[bytes] = field(default_factory=set)


def results_counts(frame: bytes) -> list[tuple[int, bool, int]]:
    """(poll id, staff?, responses) of every results element in ``frame``."""
    found = []
    matches = list(RESULTS.finditer(frame))
    for i, match in enumerate(matches):
        end = matches[i + 1].start() if i + 1 < len(matches) else len(frame)
        count = RESPONSES.search(frame, match.end(), end)
        if count:
            found.append((int(match.group(1)), bool(match.group(2)), int(count.group(1))))
    return found


@dataclass
class Recorder:
    """One generator process's record of every frame its sockets received."""

    #: Bytes per (kind, whole second of arrival), and pieces of that kind (``frame``: whole frames).
    bytes: Counter[tuple[str, int]] = field(default_factory=Counter)
    pieces: Counter[tuple[str, int]] = field(default_factory=Counter)
    #: When each thing became visible, one arrival per socket (see the module docstring).
    arrivals: dict[Key, array[float]] = field(default_factory=dict)
    #: Announcements: latency from the publish stamp and from the click, per delivery.
    broadcast_ms: list[float] = field(default_factory=list)
    announcement_ms: list[float] = field(default_factory=list)
    #: Per announcement: sockets reached and the slowest delivery (ms from its publish).
    spans: dict[str, tuple[int, float]] = field(default_factory=dict)
    #: The largest announcement frame, stamp included (the baseline's frames copy its size).
    broadcast_bytes: int = 0
    snapshot_bytes: list[int] = field(default_factory=list)

    def _arrived(self, key: Key, arrived: float) -> None:
        times = self.arrivals.get(key)
        if times is None:
            times = self.arrivals[key] = array("d")
        times.append(arrived)

    def _count(self, kind: str, second: int, size: int) -> None:
        self.bytes[kind, second] += size
        self.pieces[kind, second] += 1

    def frame(self, state: SocketState, frame: bytes, arrived: float) -> str:
        """Record one frame received by the socket of ``state`` at ``arrived`` (ms); returns what it held:
        its one kind, or ``mixed``."""
        stamp = STAMP.search(frame)
        body = frame[:stamp.start()] + frame[stamp.end():] if stamp else frame
        second = int(arrived // 1000)
        self.pieces["frame", second] += 1
        if not state.snapshot_seen:
            self._snapshot(state, body)
            self._count("snapshot", second, len(body))
            return "snapshot"
        kinds: set[str] = set()
        items = list(ITEM.finditer(body))
        for i, item in enumerate(items):
            end = items[i + 1].start() if i + 1 < len(items) else len(body)
            kind = self._item(state, body, item, end, arrived)
            self._count(kind, second, end - item.start())
            kinds.add(kind)
        kind = self._rest(state, frame, body, arrived, stamp)  # results and announcements anywhere in it
        rest = items[0].start() if items else len(body)
        if rest or not items:
            self._count(kind, second, rest)
            kinds.add(kind)
        return kinds.pop() if len(kinds) == 1 else "mixed"

    def _snapshot(self, state: SocketState, body: bytes) -> None:
        state.snapshot_seen = True
        self.snapshot_bytes.append(len(body))
        for match in UPVOTES.finditer(body):
            state.upvotes[int(match.group(1))] = int(match.group(2))
        state.chat.update(int(m) for m in CHAT.findall(body))
        for poll, staff, count in results_counts(body):
            state.responses[poll, staff] = count

    def _item(self, state: SocketState, body: bytes, item: re.Match[bytes], end: int, arrived: float) -> str:
        number = int(item.group(2))
        if item.group(1) == b"chat":
            if number not in state.chat:
                state.chat.add(number)
                self._arrived(("c", number, 0), arrived)
            return "chat"
        counted = UPVOTES.search(body, item.end(), end)
        count = int(counted.group(2)) if counted else 0
        last = state.upvotes.get(number)
        if last is None:
            self._arrived(("q", number, 0), arrived)
            kind, last = "question", 0
        elif count > last:
            kind = "upvote"
        else:
            return "upvote_repeat" if count == last else "upvote_stale"
        for upvote in range(last + 1, count + 1):
            self._arrived(("u", number, upvote), arrived)
        state.upvotes[number] = count
        return kind

    def _rest(self, state: SocketState, frame: bytes, body: bytes, arrived: float,
              stamp: re.Match[bytes] | None) -> str:
        """What the frame holds besides items (recorded wherever it is); the kind of the bytes before its first item."""
        results = results_counts(body)
        for poll, staff, count in results:
            if count > state.responses.get((poll, staff), 0):
                state.responses[poll, staff] = count
                self._arrived(("s" if staff else "r", poll, count), arrived)
        marks = set(ANNOUNCE.findall(body))
        for mark in marks - state.announcements:
            state.announcements.add(mark)
            self._broadcast(mark.decode(), frame, arrived, stamp)
        if results:
            return "results"
        if marks:
            return "announcement"
        return "own_upvote" if OWN_UPVOTE.search(body) else "other"

    def _broadcast(self, mark: str, frame: bytes, arrived: float, stamp: re.Match[bytes] | None) -> None:
        """An announcement (or a baseline frame) reached a socket: time it from its publish and its click."""
        self.broadcast_bytes = max(self.broadcast_bytes, len(frame))
        latency = arrived - float(stamp.group(1) if stamp else mark)
        self.broadcast_ms.append(latency)
        if stamp:
            self.announcement_ms.append(arrived - float(mark))
        count, longest = self.spans.get(mark, (0, 0.0))
        self.spans[mark] = (count + 1, max(longest, latency))

    def baseline_frame(self, state: SocketState, frame: bytes, arrived: float) -> None:
        """A frame of the bare websockets baseline: an announcement stamped by its server only."""
        for mark in set(ANNOUNCE.findall(frame)) - state.announcements:
            state.announcements.add(mark)
            self._broadcast(mark.decode(), frame, arrived, None)

    def summary(self) -> dict[str, Any]:
        """What the process sends back."""
        return {"bytes": dict(self.bytes), "pieces": dict(self.pieces), "broadcast_ms": self.broadcast_ms,
                "announcement_ms": self.announcement_ms, "spans": self.spans,
                "broadcast_bytes": self.broadcast_bytes, "snapshot_bytes": self.snapshot_bytes}


def merge_spans(results: list[dict[str, Any]]) -> dict[str, tuple[int, float]]:
    """Per broadcast: how many clients got it (over every generator process) and the slowest latency."""
    spans: dict[str, tuple[int, float]] = {}
    for result in results:
        for mark, (count, longest) in result["spans"].items():
            total, worst = spans.get(mark, (0, 0.0))
            spans[mark] = (total + count, max(worst, longest))
    return spans


def delivery_rate(spans: dict[str, tuple[int, float]]) -> float:
    """Frames delivered per second while a broadcast is in flight: for each broadcast, the clients it
    reached divided by the time until the last one had it; averaged over the broadcasts."""
    rates = [count / (longest / 1000) for count, longest in spans.values() if longest > 0]
    return sum(rates) / len(rates) if rates else 0.0
