"""What each audience sees of the polls, and how to load just that.

Attendees: ``#poll-list`` holds one article per poll they see (the open polls, then the latest closed poll
whose results are visible), upserted alone when the poll changes and removed when it is no longer shown.
The answer form and the "you have answered" line of an article are the attendee's own: the page keeps
them when the public article is pushed, they arrive in personal frames only, and a poll that (re)opens
reaches those who had answered it with their answer filled in. Results sit in their own element,
replaced by the (coalesced) results pushes.

Moderators: one item per poll (drafts included) with its buttons, results and open-text wall queue.
The presenter screen shows the poll on stage through the ``screen`` domain; its results
(``#poll-N-results-screen``) come from here. A poll opening and results being revealed are announced.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from markupsafe import Markup, escape
from sqlalchemy import ColumnElement, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from ehalsodag.agenda import tracks
from ehalsodag.changes import Change, Topic
from ehalsodag.fragments import Audience, Fragment, Viewer
from ehalsodag.i18n import LazyText, lazy
from ehalsodag.polls import service
from ehalsodag.polls.logic import PollResult
from ehalsodag.polls.models import Poll, PollResponse

#: How many open-text answers waiting for the wall a moderator's queue lists (the rest are counted).
WALL_QUEUE = 20


def form_id(poll: Poll) -> str:
    """The id of a poll's answer form: the same as long as the form would look the same (kind, options,
    scale), so that the page keeps what a person has filled in, and a new one when the poll was changed."""
    shape = repr((poll.kind, [(o.id, o.label) for o in poll.options], poll.scale_min, poll.scale_max))
    return f"poll-{poll.id}-form-{hashlib.blake2s(shape.encode(), digest_size=4).hexdigest()}"


def signal_id(poll: Poll) -> str:
    """The id of a poll's "new poll" signal at the top of the attendee page."""
    return f"sig-poll-{poll.id}"


class Announcement:
    """Several announcements read as one (each translated when rendered)."""

    def __init__(self, texts: Iterable[LazyText]) -> None:
        self.texts = list(texts)

    def __html__(self) -> str:
        return Markup(" ").join(escape(text) for text in self.texts)


def _answer_key(answer: dict[str, Any] | None) -> str:
    return json.dumps(answer, sort_keys=True, ensure_ascii=False)


def _stage(event: Any, poll: Poll) -> int | None:
    return tracks.stage_of_content(event, poll.stage_id)


class PollFragments:
    """The polls' fragment source."""

    topics = frozenset({Topic.POLL, Topic.POLL_RESULTS, Topic.POLL_ANSWER})

    def _base(self, event: Any) -> dict[str, Any]:
        return {"event": event, "form_id": form_id, "attendee_sort_key": service.attendee_sort_key,
                "staff_sort_key": service.staff_sort_key,
                "block_titles": {b.id: b.title for b in event.blocks}}

    async def for_change(self, session: AsyncSession, event: Any, change: Change) -> list[Fragment]:
        if change.topic is Topic.POLL_RESULTS:
            return await self._results(session, event, change.ids)
        if change.topic is Topic.POLL_ANSWER:
            return await self._answers(session, event, change)
        return await self._polls(session, event, change)

    # --- results: one poll's results element per audience that shows them -------------------------

    async def _results(self, session: AsyncSession, event: Any, poll_ids: frozenset[int]) -> list[Fragment]:
        """The new results of the answered polls (and the wall queues of open-text polls)."""
        polls = [p for p in await service.polls_by_id(session, poll_ids) if p.event_id == event.id]
        latest: dict[int | None, Poll | None] = {}
        if any(p.state == "closed" for p in polls):  # a closed poll's wall moderated: is it the one shown?
            every = await service.event_polls(session, event.id)
            for stage_id in {_stage(event, p) for p in polls}:
                latest[stage_id] = service.latest_closed(p for p in every if _stage(event, p) == stage_id)
        base = self._base(event)
        staff: list[Fragment] = []
        screen: list[Fragment] = []
        public: list[Fragment] = []
        for poll in polls:
            stage = _stage(event, poll)
            context = {**base, "poll": poll, "result": await service.results(session, poll), "show": True}
            staff.append(Fragment(Audience.STAFF, "polls/results.html",
                                  {**context, "suffix": "-staff", **await self._regions(session, event, poll)},
                                  stage=stage))
            if poll.kind == "open_text":
                staff.append(Fragment(Audience.STAFF, "polls/wall_queue.html",
                                      {**context, **await self._queue(session, poll)}, stage=stage))
            # the screen shows an open poll, or any poll a moderator chose for it (its wall may still be moderated)
            if poll.state != "draft":
                screen.append(Fragment(Audience.SCREEN, "polls/results.html", {
                    **context, "suffix": "-screen", "show": poll.results_visible}, stage=stage))
            if not poll.results_visible:  # attendees see "shown when revealed" (the screen the number of answers)
                continue
            shown_latest = latest.get(stage)
            if poll.state == "open" or (shown_latest is not None and shown_latest.id == poll.id):
                public.append(Fragment(Audience.ATTENDEE, "polls/results.html", {**context, "suffix": ""}, stage=stage))
        return staff + screen + public

    async def _regions(self, session: AsyncSession, event: Any, poll: Poll) -> dict[str, Any]:
        """A national poll's results per region, beside the total (a national day's moderators and screen)."""
        if not tracks.is_national_day(event) or _stage(event, poll) != tracks.main_stage_id(event):
            return {"by_region": []}
        return {"by_region": [(stage, result) for stage, result in await service.results_by_stage(session, poll, event)
                              if result.responses]}

    async def _queue(self, session: AsyncSession, poll: Poll) -> dict[str, Any]:
        """The first answers waiting for the wall, and how many wait."""
        queue = await service.wall_queue(session, poll, limit=WALL_QUEUE)
        waiting = len(queue) if len(queue) < WALL_QUEUE else await service.wall_waiting(session, poll.id)
        return {"queue": queue, "waiting": waiting}

    # --- an attendee's own answer --------------------------------------------------------------------

    async def _answers(self, session: AsyncSession, event: Any, change: Change) -> list[Fragment]:
        """The named attendees' own state of these polls: their form with their answer, the "you have
        answered" line, and a short announcement that the answer is counted."""
        if not change.attendees:
            return []
        polls = [p for p in await service.polls_by_id(session, change.ids)
                 if p.event_id == event.id and p.state != "draft"]
        answers = await service.answers_of(session, [p.id for p in polls], change.attendees)
        base = self._base(event)
        fragments: list[Fragment] = []
        for poll in polls:
            groups: dict[str, tuple[dict[str, Any] | None, set[int]]] = {}
            for attendee in change.attendees:
                answer = answers.get((poll.id, attendee))
                groups.setdefault(_answer_key(answer), (answer, set()))[1].add(attendee)
            for answer, group in groups.values():
                context = {**base, "poll": poll, "mine": answer, "answered": answer is not None}
                to = frozenset(group)
                if poll.state == "open":
                    fragments.append(Fragment(Audience.ATTENDEE, "polls/form.html", context, to=to))
                fragments.append(Fragment(Audience.ATTENDEE, "polls/mine.html", context, to=to))
                if answer is not None:
                    fragments.append(Fragment(Audience.ATTENDEE, "layout/announce.html",
                                              {"text": lazy("Your answer is counted.")}, to=to))
                    fragments.append(Fragment(Audience.ATTENDEE, "layout/remove.html",
                                              {"ids": [signal_id(poll)]}, to=to))
                elif poll.state == "open":  # an answer taken back (erased): the poll waits for them again
                    fragments.append(Fragment(Audience.ATTENDEE, "polls/signal.html", {**base, "poll": poll}, to=to))
        return fragments

    # --- the polls themselves: created, opened, closed, revealed, reset --------------------------------

    async def _polls(self, session: AsyncSession, event: Any, change: Change) -> list[Fragment]:
        """The changed polls for every audience, and the one other poll whose place on the attendee page a
        change can move: the latest closed poll (shown unless a changed poll closed later)."""
        everything = await service.event_polls(session, event.id)
        fragments: list[Fragment] = []
        for stage in sorted({_stage(event, p) or 0 for p in everything if p.id in change.ids}):
            every = [p for p in everything if (_stage(event, p) or 0) == stage]
            fragments += await self._stage_polls(session, event, change, every, stage or None)
        return fragments

    async def _stage_polls(self, session: AsyncSession, event: Any, change: Change, every: list[Poll],
                           stage: int | None) -> list[Fragment]:
        """:meth:`_polls` for the polls of one stage (each stage's pages show its own polls)."""
        changed = [p for p in every if p.id in change.ids]
        if not changed:
            return []
        shown = {p.id for p in service.shown_to_attendees(every)}
        runner_up = service.latest_closed(p for p in every if p.id not in change.ids)
        base = self._base(event)
        results: dict[int, PollResult] = {}

        async def result_of(poll: Poll) -> PollResult:
            if poll.id not in results:
                results[poll.id] = await service.results(session, poll)
            return results[poll.id]

        staff = [Fragment(Audience.STAFF, "polls/mod_item.html", {
            **base, "poll": poll, "result": await result_of(poll), **await self._regions(session, event, poll),
            **(await self._queue(session, poll) if poll.kind == "open_text" else {})}, stage=stage)
            for poll in changed]

        attendee_polls = [*changed, *([runner_up] if runner_up is not None else [])]
        gone = [f"poll-{p.id}" for p in attendee_polls if p.id not in shown]
        public: list[Fragment] = [Fragment(Audience.ATTENDEE, "layout/remove.html", {"ids": gone}, stage=stage)
                                  ] if gone else []
        personal: list[Fragment] = []
        for poll in attendee_polls:
            if poll.id in shown:
                article, own = await self._article(session, base, poll, await result_of(poll), change)
                public.append(replace(article, stage=stage))
                personal += own

        signals = await self._signals(session, base, changed, shown)
        announce = await self._announcements(session, event, changed, shown, service.on_screen(every))
        return staff + public + personal + [replace(f, stage=stage) for f in signals + announce]

    async def _signals(self, session: AsyncSession, base: dict[str, Any], changed: list[Poll],
                       shown: set[int]) -> list[Fragment]:
        """The "new poll" signal at the top of the attendee page: one item per open poll, for those who have not
        answered it; taken away when the poll is no longer open."""
        fragments: list[Fragment] = []
        gone = [signal_id(p) for p in changed if p.state != "open" or p.id not in shown]
        if gone:
            fragments.append(Fragment(Audience.ATTENDEE, "layout/remove.html", {"ids": gone}))
        for poll in changed:
            if poll.state == "open" and poll.id in shown:
                fragments.append(Fragment(Audience.ATTENDEE, "polls/signal.html", {**base, "poll": poll},
                                          exclude=frozenset(await service.answerers(session, poll.id))))
        return fragments

    async def _article(self, session: AsyncSession, base: dict[str, Any], poll: Poll, result: PollResult,
                       change: Change) -> tuple[Fragment, list[Fragment]]:
        """A shown poll's public article, and what those who answered it get of their own.

        An open poll reaches the attendees the change names (those who had answered it when it opened)
        with their answer in its form: the public article would bring them an empty one. Of a closed
        poll, everyone who answered gets the "you have answered" line (the article may be new to them)."""
        context = {**base, "poll": poll, "result": result, "mine": None}
        if poll.state == "open":
            answers = await service.answers_of(session, [poll.id], change.attendees) if change.attendees else {}
            groups: dict[str, tuple[dict[str, Any], set[int]]] = {}
            for (_poll_id, attendee), answer in answers.items():
                groups.setdefault(_answer_key(answer), (answer, set()))[1].add(attendee)
            own = [Fragment(Audience.ATTENDEE, "polls/article.html", {**context, "mine": answer},
                            to=frozenset(group)) for answer, group in groups.values()]
            excluded = frozenset(a for _answer, group in groups.values() for a in group)
            return Fragment(Audience.ATTENDEE, "polls/article.html", context, exclude=excluded), own
        answered = frozenset(await service.answerers(session, poll.id))
        own = [Fragment(Audience.ATTENDEE, "polls/mine.html", {**context, "answered": True}, to=answered)]
        return Fragment(Audience.ATTENDEE, "polls/article.html", context), own if answered else []

    async def _announcements(self, session: AsyncSession, event: Any, changed: list[Poll], shown: set[int],
                             on_screen: Poll | None) -> list[Fragment]:
        """"Poll opened" and "results revealed", said once, when that is what just happened."""
        done = await service.just_done(session, event.id, [p.id for p in changed])
        public: list[LazyText] = []
        screen: list[LazyText] = []
        for poll in changed:
            action = done.get(poll.id)
            if action in ("open", "auto_open") and poll.state == "open":
                text = lazy("Poll opened: %(question)s", question=poll.question)
                public.append(text)
                if on_screen is not None and on_screen.id == poll.id:
                    screen.append(text)
            elif action == "reveal" and poll.revealed:
                text = lazy("Results revealed: %(question)s", question=poll.question)
                if poll.id in shown:
                    public.append(text)
                if on_screen is not None and on_screen.id == poll.id:
                    screen.append(text)
        fragments = []
        if screen:
            fragments.append(Fragment(Audience.SCREEN, "layout/announce.html", {"text": Announcement(screen)}))
        if public:
            fragments.append(Fragment(Audience.ATTENDEE, "layout/announce.html", {"text": Announcement(public)}))
        return fragments

    # --- whole pages -------------------------------------------------------------------------------------

    async def snapshot(self, session: AsyncSession, event: Any, viewer: Viewer) -> list[Fragment]:
        base = self._base(event)
        stage = tracks.content_stage_id(event, viewer)
        if viewer.audience is Audience.ATTENDEE:
            polls = service.shown_to_attendees(
                [p for p in await service.event_polls(session, event.id) if _stage(event, p) == stage])
            me = viewer.attendee_id
            answers = await service.answers_of(session, [p.id for p in polls], [me]) if me and polls else {}
            waiting = [p for p in polls if p.state == "open" and (p.id, me) not in answers]
            return [Fragment(Audience.ATTENDEE, "polls/polls.html", {
                **base, "polls": polls, "results": {p.id: await service.results(session, p) for p in polls},
                "own": {poll_id: answer for (poll_id, _me), answer in answers.items()}}, slot="polls"),
                Fragment(Audience.ATTENDEE, "polls/signals.html", {**base, "open_polls": waiting},
                         slot="poll_signals")]
        if viewer.audience is Audience.STAFF:
            polls = [p for p in await service.event_polls(session, event.id) if _stage(event, p) == stage]
            queues = {}
            for poll in polls:
                if poll.kind == "open_text":
                    queue = await self._queue(session, poll)
                    queues[poll.id] = (queue["queue"], queue["waiting"])
            return [Fragment(Audience.STAFF, "polls/mod_polls.html", {
                **base, "polls": polls, "results": {p.id: await service.results(session, p) for p in polls},
                "regions": {p.id: (await self._regions(session, event, p))["by_region"] for p in polls},
                "queues": queues}, slot="mod_polls")]
        return []

    async def personal(self, session: AsyncSession, event: Any, viewer: Viewer) -> list[Fragment]:
        """Of every poll shown, whether this attendee has answered it, and the open ones' forms with their answer
        (the page keeps forms and these lines while it is pushed to, so a reconnect states them outright)."""
        attendee_id = viewer.attendee_id
        if attendee_id is None:
            return []
        stage = tracks.content_stage_id(event, viewer)
        polls = service.shown_to_attendees(
            [p for p in await service.event_polls(session, event.id) if _stage(event, p) == stage])
        answers = await service.answers_of(session, [p.id for p in polls], [attendee_id]) if polls else {}
        base = self._base(event)
        fragments = []
        for poll in polls:
            answer = answers.get((poll.id, attendee_id))
            context = {**base, "poll": poll, "mine": answer, "answered": answer is not None}
            if answer is not None and poll.state == "open":
                fragments.append(Fragment(Audience.ATTENDEE, "polls/form.html", context))
            fragments.append(Fragment(Audience.ATTENDEE, "polls/mine.html", context))
        answered = [signal_id(p) for p in polls if p.state == "open" and (p.id, attendee_id) in answers]
        if answered:
            fragments.append(Fragment(Audience.ATTENDEE, "layout/remove.html", {"ids": answered}))
        return fragments

    def personal_state(self) -> ColumnElement[bool]:
        return select(PollResponse.id).where(PollResponse.attendee_id == bindparam("attendee_id")).exists()
