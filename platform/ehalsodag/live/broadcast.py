"""Render an event's live fragments once per language and push them through the hub.

The same templates render the first page, the snapshot a (re)connecting socket receives and the
live pushes, so all three always agree. A push names the topics that changed ("agenda",
"questions", "polls", "chat"); each audience (attendees, staff, presenter screens) gets the
fragments of those topics that it shows, rendered once and sent as the same bytes to every socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
from pathlib import Path
from typing import Any

from redis.asyncio import Redis

from ehalsodag.agenda.models import Event
from ehalsodag.agenda.service import event_by_slug
from ehalsodag.agenda.view import EventView, event_view
from ehalsodag.chat.models import ChatMessage
from ehalsodag.db.engine import Database
from ehalsodag.i18n import LANGUAGES, use_language
from ehalsodag.live.hub import PUBLIC, SCREEN, STAFF, Hub
from ehalsodag.live.models import Attendee
from ehalsodag.live.state import LiveState, has_personal_state, load_live_state
from ehalsodag.polls import service as poll_service
from ehalsodag.polls.models import Poll
from ehalsodag.web.templating import render

log = logging.getLogger(__name__)

#: Which templates show which topic to which audience.
FRAGMENTS: dict[str, dict[str, tuple[str, ...]]] = {
    "agenda": {PUBLIC: ("partials/event_state.html",), STAFF: ("partials/control_state.html",),
               SCREEN: ("partials/screen_main.html",)},
    "questions": {PUBLIC: ("partials/question_list.html",), STAFF: ("partials/control_qa.html",),
                  SCREEN: ("partials/screen_main.html",)},
    "polls": {PUBLIC: ("partials/polls.html",), STAFF: ("partials/control_polls.html",),
              SCREEN: ("partials/screen_main.html",)},
    "chat": {STAFF: ("partials/control_chat.html",)},
    "settings": {PUBLIC: ("partials/chat_form.html",), STAFF: ("partials/control_chat.html",)},
    "evaluation": {PUBLIC: ("partials/evaluation.html",), STAFF: ("partials/control_evaluation.html",)},
    # The banner alone (staff get it as attendees do, plus their own line), not the whole programme.
    "announcement": {PUBLIC: ("partials/announcement.html",), STAFF: ("partials/control_state.html",)},
}
#: Topics whose fragments show nothing but the event itself: no questions, polls or chat to load.
EVENT_ONLY_TOPICS = frozenset({"announcement"})
TOPICS = tuple(FRAGMENTS)
#: What a (re)connecting socket gets first, per audience: the whole state.
SNAPSHOT: dict[str, tuple[str, ...]] = {
    PUBLIC: ("partials/event_state.html", "partials/question_list.html", "partials/my_questions.html",
             "partials/polls.html", "partials/chat_log.html", "partials/chat_form.html", "partials/evaluation.html"),
    STAFF: ("partials/event_state.html", "partials/control_state.html", "partials/control_qa.html",
            "partials/control_polls.html", "partials/control_chat.html", "partials/control_evaluation.html"),
    SCREEN: ("partials/screen_main.html",),
}
RESULTS_INTERVAL = 0.25
#: How long a shared snapshot may be handed out (it shows the time left in the block, so not forever).
SNAPSHOT_SECONDS = 2.0


class ResultsClaims:
    """Which worker pushes a poll's results next: with several workers, each would otherwise push the
    results of the votes it took to every socket on every worker, once per worker and interval.

    A worker claims (poll, audience) for one interval with Redis ``SET NX PX``; a worker that loses
    keeps the poll marked and tries again at its next tick. The push reads the committed answers,
    so it shows the votes of every worker, and each vote is pushed at most about one interval later.
    One process (no Redis) always wins.
    """

    def __init__(self, redis: Redis | None = None, prefix: str = "ehalsodag") -> None:
        self.redis = redis
        self.prefix = prefix

    async def claim(self, poll_id: int, audience: str, seconds: float) -> bool:
        """True if this worker is to push now."""
        if self.redis is None:
            return True
        key = f"{self.prefix}:results:{poll_id}:{audience}"
        return bool(await self.redis.set(key, "1", nx=True, px=max(1, int(seconds * 1000))))


class Broadcaster:
    """Turns "this part of the event changed" into rendered fragments on the hub."""

    def __init__(self, db: Database, hub: Hub, templates_dir: Path, bench: bool = False,
                 claims: ResultsClaims | None = None) -> None:
        self.db = db
        self.claims = claims or ResultsClaims()
        self.hub = hub
        self.templates_dir = templates_dir
        self.bench = bench
        #: Benchmark mode: the newest action time (client clock, ms) each pending results push includes.
        self._bench_marks: dict[int, float] = {}
        self._bench_marks_public: dict[int, float] = {}
        #: Polls answered since the last push to moderators and screens, and to attendees.
        self._dirty_polls: set[int] = set()
        self._dirty_public: set[int] = set()
        self._results_task: asyncio.Task[None] | None = None
        #: Shared snapshots per (event, audience, language): (good until, html), and the renders under way.
        self._snapshots: dict[tuple[int, str, str], tuple[float, str]] = {}
        self._rendering: dict[tuple[int, str, str], asyncio.Future[str]] = {}
        self._generation: dict[int, int] = {}
        hub.on_deliver = self.forget_snapshots

    def render(self, templates: tuple[str, ...], language: str, **context: Any) -> str:
        """Render ``templates`` one after the other in ``language``."""
        with use_language(language):
            return "".join(render(self.templates_dir, name, oob=True, **context) for name in dict.fromkeys(templates))

    def by_language(self, templates: tuple[str, ...], **context: Any) -> dict[str, str]:
        """``templates`` rendered once in each language."""
        return {language: self.render(templates, language, **context) for language in LANGUAGES}

    async def push(self, slug: str, *topics: str, at: dt.datetime | None = None) -> None:
        """Read the committed state and push the fragments of ``topics`` to every audience."""
        async with self.db.reader() as session:
            event = await event_by_slug(session, slug)
            if event is None:
                return
            view = event_view(event, at)
            live = LiveState() if EVENT_ONLY_TOPICS.issuperset(topics) else await load_live_state(
                session, event, staff=True)
            frames = self.frames_for(event, view, live, topics)
        for audience, by_language in frames.items():
            await self.hub.publish(event.id, audience, by_language)

    def frames_for(
        self, event: Event, view: EventView, live: LiveState, topics: tuple[str, ...]
    ) -> dict[str, dict[str, str]]:
        """The rendered frames per audience for ``topics``."""
        frames: dict[str, dict[str, str]] = {}
        for audience in (PUBLIC, STAFF, SCREEN):
            templates = tuple(t for topic in topics for t in FRAGMENTS[topic].get(audience, ()))
            if templates:
                frames[audience] = self.by_language(templates, event=event, view=view, live=live)
        return frames

    async def push_chat_message(self, event: Event, message: ChatMessage) -> None:
        """Append one new message to every chat log; refresh the moderators' list."""
        fragment = self.by_language(("partials/chat_append.html",), event=event, message=message)
        await self.hub.publish(event.id, PUBLIC, fragment)
        await self.push(event.slug, "chat")

    async def push_chat_log(self, slug: str) -> None:
        """Re-send the whole chat log (after messages were deleted in bulk)."""
        async with self.db.reader() as session:
            event = await event_by_slug(session, slug)
            if event is None:
                return
            live = await load_live_state(session, event)
            view = event_view(event)
        await self.hub.publish(event.id, PUBLIC, self.by_language(("partials/chat_log.html",), event=event,
                                                                  view=view, live=live))

    async def push_chat_removed(self, event: Event, message_id: int) -> None:
        """Take a deleted message out of every chat log."""
        removal = f'<li id="chat-{message_id}" hx-swap-oob="delete"></li>'
        await self.hub.publish(event.id, PUBLIC, dict.fromkeys(LANGUAGES, removal))
        await self.push(event.slug, "chat")

    async def snapshot(self, event: Event, audience: str, language: str, attendee: Attendee | None = None) -> str:
        """What a socket gets first on (re)connecting: the whole current state, with what is the attendee's."""
        async with self.db.reader() as session:
            live = await load_live_state(session, event, attendee=attendee, staff=audience == STAFF)
        return self.render(SNAPSHOT[audience], language, event=event, view=event_view(event), live=live)

    async def snapshot_for(self, event_id: int, audience: str, language: str, attendee_id: int | None = None) -> str:
        """The snapshot for a connecting socket. Everyone without anything of their own (staff, screens,
        attendees who have not asked, upvoted or answered) shares one render per audience and language,
        made once however many sockets connect at the same moment."""
        if attendee_id is not None:
            async with self.db.reader() as session:
                if await has_personal_state(session, event_id, attendee_id):
                    event = await session.get(Event, event_id)
                    attendee = await session.get(Attendee, attendee_id)
                    if event is not None and attendee is not None:
                        return await self.snapshot(event, audience, language, attendee)
        key = (event_id, audience, language)
        cached = self._snapshots.get(key)
        if cached and cached[0] > time.monotonic():
            return cached[1]
        under_way = self._rendering.get(key)
        if under_way is not None:
            return await asyncio.shield(under_way)
        rendering: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._rendering[key] = rendering
        generation = self._generation.get(event_id, 0)
        try:
            async with self.db.reader() as session:
                event = await session.get(Event, event_id)
            if event is None:
                raise LookupError(f"no event {event_id}")
            html = await self.snapshot(event, audience, language)
            if self._generation.get(event_id, 0) == generation:  # nothing was pushed meanwhile
                self._snapshots[key] = (time.monotonic() + SNAPSHOT_SECONDS, html)
            rendering.set_result(html)
            return html
        except BaseException as exc:
            rendering.set_exception(exc)
            rendering.exception()  # retrieved: waiters get it raised, nobody else needs to
            raise
        finally:
            del self._rendering[key]

    def forget_snapshots(self, event_id: int) -> None:
        """Something of the event was pushed: its shared snapshots are out of date."""
        self._generation[event_id] = self._generation.get(event_id, 0) + 1
        for key in [k for k in self._snapshots if k[0] == event_id]:
            del self._snapshots[key]

    # --- poll results: coalesced; moderators and screens every 250 ms, attendees paced by load -----

    def poll_dirty(self, poll_id: int, bench_mark: float | None = None) -> None:
        """Note that a poll got an answer; the results ticker pushes it soon, once."""
        self._dirty_polls.add(poll_id)
        self._dirty_public.add(poll_id)
        if self.bench and bench_mark is not None:
            for marks in (self._bench_marks, self._bench_marks_public):
                marks[poll_id] = max(bench_mark, marks.get(poll_id, 0.0))

    def start(self) -> None:
        """Start the results ticker."""
        self._results_task = asyncio.create_task(self._results_loop(), name="poll-results")

    async def stop(self) -> None:
        """Stop the results ticker."""
        if self._results_task:
            self._results_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._results_task

    async def flush_results(self, public: bool = True) -> int:
        """Push the results of every poll answered since the last flush to moderators and screens and,
        with ``public``, to attendees (of the polls answered since their last push); return how many.

        With several workers, a poll another worker is pushing right now stays marked for the next tick.
        """
        staff_dirty = await self._claimed(self._dirty_polls, STAFF, RESULTS_INTERVAL)
        public_dirty = await self._claimed(self._dirty_public, PUBLIC, self.results_interval()) if public else set()
        self._dirty_polls -= staff_dirty
        self._dirty_public -= public_dirty
        staff_marks = {p: self._bench_marks.pop(p) for p in staff_dirty if p in self._bench_marks}
        public_marks = {p: self._bench_marks_public.pop(p) for p in public_dirty if p in self._bench_marks_public}
        for poll_id in sorted(staff_dirty | public_dirty):
            async with self.db.reader() as session:
                poll = await session.get(Poll, poll_id)
                if poll is None:
                    continue
                result = await poll_service.results(session, poll)
            pushes: list[tuple[str, str, bool, dict[int, float]]] = []
            if poll_id in staff_dirty:
                pushes += [(STAFF, "-staff", True, staff_marks), (SCREEN, "-screen", poll.results_visible, staff_marks)]
            if poll_id in public_dirty:  # last: the few moderators' and screens' sockets must not wait for thousands
                pushes.append((PUBLIC, "", poll.results_visible, public_marks))
            for audience, suffix, show, marks in pushes:
                frame = self.by_language(("partials/poll_results.html",), poll=poll, result=result, show=show,
                                         suffix=suffix, bench_marker=marks.get(poll_id))
                await self.hub.publish(poll.event_id, audience, frame)
        return len(staff_dirty | public_dirty)

    async def _claimed(self, dirty: set[int], audience: str, seconds: float) -> set[int]:
        return {poll_id for poll_id in list(dirty) if await self.claims.claim(poll_id, audience, seconds)}

    def results_interval(self) -> float:
        """Seconds between results pushes to attendees: 250 ms, or longer when a fan-out takes long
        (thousands of sockets on this worker), so that those pushes never take more than about a
        third of the time and the votes themselves keep flowing in."""
        return max(RESULTS_INTERVAL, 3 * self.hub.fanout_seconds)

    async def _results_loop(self) -> None:
        last_public = 0.0
        while True:
            await asyncio.sleep(RESULTS_INTERVAL)
            public = time.monotonic() - last_public >= self.results_interval()
            if not self._dirty_polls and not (public and self._dirty_public):
                continue
            if public:
                last_public = time.monotonic()
            try:
                await self.flush_results(public)
            except Exception:  # keep pushing results through a passing database error
                log.exception("poll results push failed")
