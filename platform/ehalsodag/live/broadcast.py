"""From committed changes to frames on the hub.

The broadcaster subscribes to the change feed (:mod:`ehalsodag.changes`). For each committed change
it asks the domains' fragment sources for the smallest fragments that show it (one question's
``<li>``, one chat message, one poll), renders each once per language and publishes identical bytes
for every socket of an audience, or for the few attendees a personal fragment is for.

Fan-out costs attendees × pushes, never attendees × actions: an event's changes go out at once when
nothing was pushed a moment ago, and otherwise together, at most once per push interval (100 ms, or
longer when a fan-out to thousands of sockets takes longer), each changed item once, as it is then.
Fifty upvotes a second to 5,000 phones are then a few frames a second each, not fifty.

Poll results keep a beat of their own, which keeps a vote burst cheap: a vote only marks its poll; a
ticker pushes each marked poll's results at most every 100 ms to moderators and screens, and to
attendees paced by how long a fan-out to them takes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from itertools import groupby
from pathlib import Path
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ehalsodag import metrics
from ehalsodag.attendees.models import Attendee
from ehalsodag.changes import Change, Topic, merge
from ehalsodag.db.engine import Database
from ehalsodag.fragments import Audience, Fragment, FragmentSource
from ehalsodag.i18n import LANGUAGES, use_language
from ehalsodag.live.hub import Hub
from ehalsodag.web.templating import render

log = logging.getLogger(__name__)

#: Loads an event with its stages and blocks (given by the app, so that live/ imports no domain).
EventLoader = Callable[[AsyncSession, int], Awaitable[Any]]
#: Which sockets' stages a fragment of an event goes to (None: every socket of its audience); given by the app.
StageRouter = Callable[[Any, Fragment], frozenset[int | None] | None]


def _everywhere(event: Any, fragment: Fragment) -> frozenset[int | None] | None:
    return None

#: Seconds between results pushes to attendees, at least (see :meth:`Broadcaster.results_interval`).
RESULTS_INTERVAL = 0.25
#: Seconds between results pushes to the moderators' panels and the presenter screens: a vote shows there within
#: a quarter of a second (these sockets are few, so the beat costs little).
FAST_RESULTS_INTERVAL = 0.1
#: The shortest time between two pushes of one event's changes (see :meth:`Broadcaster.push_interval`).
PUSH_INTERVAL = 0.1
#: A push that failed (Redis or the database briefly away) is tried again this often, after 0.2 s, 0.4 s, ... at
#: most 5 s apart; the action itself was committed and answered success. Pages that reconnect meanwhile resync anyway.
PUSH_RETRIES = 8
#: Who gets results on the fast beat: the few moderators' and presenter screens' sockets.
FAST_AUDIENCES = frozenset({Audience.STAFF, Audience.SCREEN, Audience.OVERLAY})


class ResultsClaims:
    """Which worker pushes a poll's results next: with several workers, each would otherwise push the
    results of the votes it took to every socket on every worker, once per worker and interval.

    A worker claims (poll, beat) for one interval with Redis ``SET NX PX``; a worker that loses keeps
    the poll marked and tries again at its next tick. The push reads the committed answers, so it
    shows the votes of every worker. One process (no Redis) always wins.
    """

    def __init__(self, redis: Redis | None = None, prefix: str = "ehalsodag") -> None:
        self.redis = redis
        self.prefix = prefix

    async def claim(self, poll_id: int, beat: str, seconds: float) -> bool:
        """True if this worker is to push now."""
        if self.redis is None:
            return True
        key = f"{self.prefix}:results:{poll_id}:{beat}"
        try:
            return bool(await self.redis.set(key, "1", nx=True, px=max(1, int(seconds * 1000))))
        except (RedisConnectionError, RedisTimeoutError):
            metrics.redis_error("results_claim")
            raise


class Renderer:
    """Renders fragments in every language (shared by pushes and snapshots)."""

    def __init__(self, templates_dir: Path) -> None:
        self.templates_dir = templates_dir

    def one(self, fragment: Fragment, language: str) -> str:
        """``fragment`` in ``language``."""
        with use_language(language):
            return render(self.templates_dir, fragment.template, **fragment.context)

    def joined(self, fragments: Iterable[Fragment], language: str) -> str:
        """Several fragments in ``language``, one after the other."""
        with use_language(language):
            return "".join(render(self.templates_dir, f.template, **f.context) for f in fragments)

    def by_language(self, fragments: list[Fragment]) -> dict[str, str]:
        """``fragments`` rendered once in each language."""
        return {language: self.joined(fragments, language) for language in LANGUAGES}


@dataclass(frozen=True)
class Routed:
    """A fragment and the stages of the sockets it goes to (None: all of its audience)."""

    fragment: Fragment
    stages: frozenset[int | None] | None


def _recipients(routed: Routed) -> tuple[Audience, frozenset[int] | None, frozenset[int], frozenset[int | None] | None]:
    fragment = routed.fragment
    return fragment.audience, fragment.to, fragment.exclude, routed.stages


class Broadcaster:
    """Turns committed changes into published fragments."""

    def __init__(self, db: Database, hub: Hub, renderer: Renderer, sources: list[FragmentSource],
                 load_event: EventLoader, claims: ResultsClaims | None = None,
                 route: StageRouter = _everywhere) -> None:
        self.db = db
        self.hub = hub
        self.renderer = renderer
        self.load_event = load_event
        self.route = route
        self.claims = claims or ResultsClaims()
        self.by_topic: dict[Topic, list[FragmentSource]] = {}
        for source in sources:
            for topic in source.topics:
                self.by_topic.setdefault(topic, []).append(source)
        #: Polls answered since their last results push: poll id → event id, per beat.
        self._dirty_fast: dict[int, int] = {}
        self._dirty_public: dict[int, int] = {}
        self._results_task: asyncio.Task[None] | None = None
        #: Bytes published per topic (the benchmark reports cost per action).
        self.published_bytes: dict[str, int] = {}
        #: Changes of each event waiting for its next push, the task pushing them, and when it last pushed.
        self._pending: dict[int, list[Change]] = {}
        self._pushers: dict[int, asyncio.Task[None]] = {}
        self._last_push: dict[int, float] = {}
        #: Failed pushes in a row per event (see :data:`PUSH_RETRIES`), and whether the app is stopping.
        self._failures: dict[int, int] = {}
        self._stopping = False
        #: Pushes given up after every retry failed (tests, logs).
        self.pushes_abandoned = 0

    async def on_changes(self, changes: list[Change]) -> None:
        """The change feed's subscriber: queue what changed for its event's next push (poll results: mark them
        for the results ticker). Never waits for a push: the request that committed answers at once."""
        for change in changes:
            if change.topic is Topic.POLL_RESULTS:
                for poll_id in change.ids:
                    self._dirty_fast[poll_id] = change.event_id
                    self._dirty_public[poll_id] = change.event_id
                continue
            self._pending.setdefault(change.event_id, []).append(change)
            pusher = self._pushers.get(change.event_id)
            if pusher is None or pusher.done():
                self._pushers[change.event_id] = asyncio.create_task(
                    self._push_pending(change.event_id), name=f"push-event-{change.event_id}")

    def push_interval(self) -> float:
        """Seconds between two pushes of one event: 100 ms, or three times what a fan-out to this worker's
        sockets takes, so that pushing never takes more than about a third of the time."""
        return max(PUSH_INTERVAL, 3 * self.hub.fanout_seconds)

    async def _push_pending(self, event_id: int) -> None:
        """Push the event's queued changes, merged, until none are left; at most once per push interval."""
        while self._pending.get(event_id):
            wait = self._last_push.get(event_id, 0.0) + self.push_interval() - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            changes = merge(self._pending.pop(event_id, []))
            self._last_push[event_id] = time.monotonic()
            try:
                await self.push(event_id, changes)
                self._failures.pop(event_id, None)
            except Exception as exc:  # the changes are committed (and answered): push them again in a moment
                failures = self._failures.get(event_id, 0) + 1
                if failures > PUSH_RETRIES or self._stopping:
                    self._failures.pop(event_id, None)
                    self.pushes_abandoned += 1
                    log.exception("pushing the changes of event %s failed %d times; pages resync on reconnect",
                                  event_id, failures)
                    continue
                self._failures[event_id] = failures
                log.warning("pushing the changes of event %s failed (%s); trying again", event_id, exc)
                # again with whatever was committed meanwhile, each item once, as it is then
                self._pending[event_id] = merge([*changes, *self._pending.get(event_id, [])])
                await asyncio.sleep(min(0.1 * 2 ** failures, 5.0))

    async def settled(self) -> None:
        """Wait until every queued change has been pushed (tests, shutdown)."""
        while running := [t for t in self._pushers.values() if not t.done()]:
            await asyncio.gather(*running, return_exceptions=True)

    async def fragments_for(self, event_id: int, changes: list[Change]) -> list[Routed]:
        """What the sources make of ``changes``, each with the stages it goes to (one read session, the
        event loaded once)."""
        routed: list[Routed] = []
        async with self.db.reader() as session:
            event = await self.load_event(session, event_id)
            if event is None:
                return []
            for change in changes:
                for source in self.by_topic.get(change.topic, ()):
                    routed += [Routed(f, self.route(event, f)) for f in await source.for_change(session, event, change)]
        return routed

    async def push(self, event_id: int, changes: list[Change]) -> None:
        """Read the committed state and publish the fragments that show ``changes``."""
        routed = await self.fragments_for(event_id, changes)
        await self.publish(event_id, routed, topic=",".join(c.topic.value for c in changes))
        if any(c.topic in (Topic.AGENDA, Topic.REGION) for c in changes):
            # a moderator's go-live, end or shift may switch a region onto or off its own stage: each worker
            # checks its own sockets at once rather than at the clock's next tick
            await self.hub.control(event_id, {"c": "recheck", "s": []})
        for change in changes:
            if change.topic is Topic.HOME:
                for attendee_id, stage_id in await self._homes(change.attendees):
                    await self.hub.control(event_id, {"c": "home", "t": attendee_id, "s": stage_id})

    async def _homes(self, attendee_ids: frozenset[int]) -> list[tuple[int, int | None]]:
        """The attendees' home stages as committed."""
        async with self.db.reader() as session:
            rows = await session.execute(select(Attendee.id, Attendee.stage_id).where(Attendee.id.in_(attendee_ids)))
            return [(row[0], row[1]) for row in rows]

    async def publish(self, event_id: int, routed: list[Routed], topic: str = "") -> None:
        """Render and publish fragments; neighbours for the same recipients go out as one frame."""
        for (audience, to, exclude, stages), group in groupby(routed, key=_recipients):
            if (to is not None and not to) or (stages is not None and not stages):
                continue
            by_language = self.renderer.by_language([r.fragment for r in group])
            if topic:
                self.published_bytes[topic] = self.published_bytes.get(topic, 0) + len(by_language["sv"])
            metrics.published(audience, len(by_language["sv"].encode()))
            await self.hub.publish(event_id, audience, by_language, to=to, exclude=exclude, stages=stages)

    def deliver_local(self, event_id: int, routed: list[Routed]) -> None:
        """Render fragments and deliver them to this worker's sockets only (the clock ticker)."""
        for (audience, to, exclude, stages), group in groupby(routed, key=_recipients):
            if stages is not None and not stages:
                continue
            self.hub.deliver_local(event_id, audience, self.renderer.by_language([r.fragment for r in group]),
                                   to, exclude, stages)

    # --- poll results: coalesced; moderators and screens every 100 ms, attendees paced by load -----

    def start(self) -> None:
        """Start the results ticker."""
        self._results_task = asyncio.create_task(self._results_loop(), name="poll-results")

    async def stop(self) -> None:
        """Push what is queued (no more retries), then stop the results ticker."""
        self._stopping = True
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.settled(), 5)
        if self._results_task:
            self._results_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._results_task

    async def flush_results(self, public: bool = True) -> int:
        """Push the results of the polls answered since their last push: to moderators and screens and,
        with ``public``, to attendees. Returns how many polls were pushed. With several workers, a poll
        another worker is pushing right now stays marked for the next tick."""
        fast = await self._claimed(self._dirty_fast, "fast", FAST_RESULTS_INTERVAL)
        slow = await self._claimed(self._dirty_public, "public", self.results_interval()) if public else {}
        for poll_id in fast:
            del self._dirty_fast[poll_id]
        for poll_id in slow:
            del self._dirty_public[poll_id]
        # the few moderators' and screens' sockets first: they must not wait behind thousands
        for dirty, audiences in ((fast, FAST_AUDIENCES), (slow, frozenset({Audience.ATTENDEE}))):
            by_event: dict[int, set[int]] = {}
            for poll_id, event_id in dirty.items():
                by_event.setdefault(event_id, set()).add(poll_id)
            for event_id, poll_ids in by_event.items():
                change = Change(Topic.POLL_RESULTS, event_id, frozenset(poll_ids))
                routed = [r for r in await self.fragments_for(event_id, [change]) if r.fragment.audience in audiences]
                await self.publish(event_id, routed, topic=Topic.POLL_RESULTS.value)
        return len(fast.keys() | slow.keys())

    async def _claimed(self, dirty: dict[int, int], beat: str, seconds: float) -> dict[int, int]:
        return {poll_id: event_id for poll_id, event_id in list(dirty.items())
                if await self.claims.claim(poll_id, beat, seconds)}

    def results_interval(self) -> float:
        """Seconds between results pushes to attendees: 250 ms, or longer when a fan-out takes long
        (thousands of sockets on this worker), so that those pushes never take more than about a
        third of the time and the votes themselves keep flowing in."""
        return max(RESULTS_INTERVAL, 3 * self.hub.fanout_seconds)

    async def _results_loop(self) -> None:
        last_public = 0.0
        while True:
            await asyncio.sleep(FAST_RESULTS_INTERVAL)
            public = time.monotonic() - last_public >= self.results_interval()
            if not self._dirty_fast and not (public and self._dirty_public):
                continue
            if not self.hub.available:  # Redis is away: keep the polls marked, push them once it is back
                continue
            if public:
                last_public = time.monotonic()
            try:
                await self.flush_results(public)
            except Exception:  # keep pushing results through a passing database error
                log.exception("poll results push failed")
