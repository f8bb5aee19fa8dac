"""What the presenter screen and the stream overlay show, and how to load just that.

A moderator chooses per stage what its screens show (:mod:`ehalsodag.screen.service`): automatic (the most recently
opened open poll with its results, else the question on stage, else the block on air), one chosen poll, the question
on stage, the join code with a large QR code, or the programme (now and next). The overlay follows the choice in its
own small card. Both change on :attr:`~ehalsodag.changes.Topic.STAGE` (recorded by Q&A, polls and the programme when
what is on stage may change), on :attr:`~ehalsodag.changes.Topic.SCREEN` (the choice), when the chosen poll changes and
when the programme moves on. Results of the poll on screen arrive through the polls domain's results pushes
(``#poll-N-results-screen``; while they are hidden, the number of answers only). The participant count
(``#screen-participants``) follows the attendance sampler (:attr:`~ehalsodag.changes.Topic.PRESENCE`, once a minute).
Control panels get the choice as a card (``#screen-control``) that says what their stage's screens show now.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from ehalsodag.agenda import tracks
from ehalsodag.agenda.view import event_view
from ehalsodag.changes import Change, Topic
from ehalsodag.fragments import Audience, Fragment, Viewer
from ehalsodag.i18n import lazy
from ehalsodag.polls import service as poll_service
from ehalsodag.polls.logic import PollResult
from ehalsodag.polls.models import Poll
from ehalsodag.qa import service as qa_service
from ehalsodag.qa.models import Question
from ehalsodag.screen import service
from ehalsodag.screen.service import Choice


@dataclass(frozen=True)
class ScreenPoll:
    """The poll on screen with its results, and whether the results may be shown."""

    poll: Poll
    result: PollResult
    show: bool


async def screen_poll(session: AsyncSession, event: Any, stage_id: int | None = None) -> ScreenPoll | None:
    """The most recently opened poll of the stage (None: the main one) that is open now."""
    poll = (await session.execute(
        select(Poll).where(Poll.event_id == event.id, Poll.state == "open", Poll.opened_at.is_not(None),
                           tracks.on_stage(Poll.stage_id, event, stage_id))
        .order_by(Poll.opened_at.desc(), Poll.id.desc()).limit(1))).scalar_one_or_none()
    if poll is None:
        return None
    return ScreenPoll(poll, await poll_service.results(session, poll), poll.results_visible)


async def chosen_poll(session: AsyncSession, event: Any, poll_id: int | None) -> ScreenPoll | None:
    """The poll a moderator chose for the screen, in whatever state it is (a draft shows its question only)."""
    poll = await session.get(Poll, poll_id) if poll_id is not None else None
    if poll is None or poll.event_id != event.id:
        return None
    return ScreenPoll(poll, await poll_service.results(session, poll), poll.results_visible)


async def highlighted(session: AsyncSession, event: Any, stage_id: int | None = None) -> Question | None:
    """The question on stage (of the stage ``stage_id``; None: the main one)."""
    return (await session.execute(select(Question).where(
        Question.event_id == event.id, Question.highlighted.is_(True),
        tracks.on_stage(Question.stage_id, event, stage_id)).limit(1))).scalar_one_or_none()


def truncate(text: str, length: int) -> str:
    """``text`` cut to ``length`` characters at a word, with an ellipsis (an announcement stays short)."""
    if len(text) <= length:
        return text
    return text[:length].rsplit(" ", 1)[0].rstrip(",.;:") + "…"


def join_code(event: Any, stage_id: int | None) -> str:
    """The code shown on the screens of ``stage_id``: a region's own code on a national day, else the event's."""
    stage = tracks.shown_stage(event, stage_id) if tracks.is_national_day(event) else None
    return stage.join_code if stage is not None and stage.join_code else event.join_code


@dataclass(frozen=True)
class OnScreen:
    """What the screens of one stage show now: the choice, and what it comes to."""

    choice: Choice
    #: What is shown in fact: "poll", "question", "code", "programme" or "now" (the block on air, automatic's last
    #: resort), or "nothing" (the question on stage was chosen and there is none).
    shows: str
    poll: ScreenPoll | None
    question: Question | None


async def on_screen(session: AsyncSession, event: Any, stage_id: int | None) -> OnScreen:
    """What the screens of ``stage_id`` show now."""
    choice = await service.choice_of(session, event, stage_id)
    question = await highlighted(session, event, stage_id)
    if choice.show == "poll":
        chosen = await chosen_poll(session, event, choice.poll_id)
        if chosen is not None:
            return OnScreen(choice, "poll", chosen, question)
    if choice.show in ("code", "programme"):
        return OnScreen(choice, choice.show, None, question)
    if choice.show == "question":
        return OnScreen(choice, "question" if question is not None else "nothing", None, question)
    auto = await screen_poll(session, event, stage_id)
    if auto is not None:
        return OnScreen(choice, "poll", auto, question)
    return OnScreen(choice, "question" if question is not None else "now", None, question)


class ScreenFragments:
    """The presenter screen's, the overlay's and the control panel's screen card fragment source."""

    topics = frozenset({Topic.STAGE, Topic.ON_STAGE, Topic.AGENDA, Topic.REGION, Topic.SCREEN, Topic.PRESENCE,
                        Topic.POLL})

    async def _fragments(self, session: AsyncSession, event: Any, audiences: tuple[Audience, ...],
                         stage_id: int | None = None) -> list[Fragment]:
        """What the screens of one stage show (each stage's studio has its own screen and overlay), and the control
        panel's card that says so."""
        now = await on_screen(session, event, stage_id)
        view = event_view(event, home=stage_id)
        context = {"event": event, "view": view, "screen_poll": now.poll if now.shows == "poll" else None,
                   "highlighted": now.question, "on_screen": now, "join_code": join_code(event, stage_id),
                   "tz": event.timezone}
        fragments = []
        if Audience.SCREEN in audiences:
            fragments.append(Fragment(Audience.SCREEN, "screen/screen_main.html", context, slot="screen_main",
                                      stage=stage_id))
            fragments.append(await self._participants(session, event, stage_id, now.choice))
        if Audience.OVERLAY in audiences:
            fragments.append(Fragment(Audience.OVERLAY, "screen/overlay_question.html", context,
                                      slot="overlay_question", stage=stage_id))
        if Audience.STAFF in audiences:
            fragments.append(await self._card(session, event, stage_id, context))
        return fragments

    async def _participants(self, session: AsyncSession, event: Any, stage_id: int | None,
                            choice: Choice) -> Fragment:
        count = await service.participant_count(session, event, stage_id) if choice.participants else None
        return Fragment(Audience.SCREEN, "screen/participants.html", {"count": count}, slot="screen_participants",
                        stage=stage_id)

    async def _card(self, session: AsyncSession, event: Any, stage_id: int | None,
                    context: dict[str, Any]) -> Fragment:
        """The control panel's screen card: what the screens show now, and the form that changes it."""
        stage = tracks.shown_stage(event, stage_id) if tracks.is_national_day(event) else None
        polls = [p for p in await poll_service.event_polls(session, event.id)
                 if stage is None or tracks.stage_of_content(event, p.stage_id) == stage.id]
        return Fragment(Audience.STAFF, "screen/control_card.html", {
            **context, "polls": sorted(polls, key=lambda p: p.id), "stage": stage}, slot="screen_control",
            stage=stage_id)

    def _stages(self, event: Any) -> list[int | None]:
        return [s.id for s in event.stages] if tracks.is_national_day(event) else [None]

    async def for_change(self, session: AsyncSession, event: Any, change: Change) -> list[Fragment]:
        if change.topic is Topic.ON_STAGE:
            return await self._went_on_stage(session, event, change.ids)
        if change.topic is Topic.PRESENCE:
            return await self._presence(session, event)
        if change.topic is Topic.POLL:
            return await self._polls(session, event, change.ids)
        if change.topic in (Topic.STAGE, Topic.SCREEN):
            scope = frozenset(change.ids) or None
        else:
            scope = tracks.agenda_scope(event, change.topic is Topic.REGION, change.ids)
        everything = (Audience.SCREEN, Audience.OVERLAY, Audience.STAFF)
        fragments = []
        for stage_id in self._stages(event):
            if scope is not None and stage_id is not None and stage_id not in scope:
                continue  # another stage's screens show nothing of this
            if change.topic in (Topic.STAGE, Topic.SCREEN):
                fragments += await self._fragments(session, event, everything, stage_id)
            else:  # the block's title and the programme, when that is on screen
                fragments += await self._fragments(session, event, (Audience.SCREEN, Audience.OVERLAY), stage_id)
        return fragments

    async def _polls(self, session: AsyncSession, event: Any, ids: frozenset[int]) -> list[Fragment]:
        """Polls changed (made, opened, closed, revealed): the panels' list of polls to choose from, and the screens
        that show one of them by choice (a closed poll's results revealed)."""
        polls = [p for p in await poll_service.polls_by_id(session, ids) if p.event_id == event.id]
        national = tracks.is_national_day(event)
        fragments = []
        for stage_id in self._stages(event):
            mine = [p for p in polls if not national or tracks.stage_of_content(event, p.stage_id) == stage_id]
            if not mine:
                continue
            choice = await service.choice_of(session, event, stage_id)
            if choice.show == "poll" and choice.poll_id in {p.id for p in mine}:
                fragments += await self._fragments(session, event, (Audience.SCREEN, Audience.OVERLAY, Audience.STAFF),
                                                   stage_id)
            else:
                fragments += await self._fragments(session, event, (Audience.STAFF,), stage_id)
        return fragments

    async def _presence(self, session: AsyncSession, event: Any) -> list[Fragment]:
        """The participant count, on the screens that show it."""
        fragments = []
        for stage_id in self._stages(event):
            choice = await service.choice_of(session, event, stage_id)
            if choice.participants:
                fragments.append(await self._participants(session, event, stage_id, choice))
        return fragments

    async def _went_on_stage(self, session: AsyncSession, event: Any, ids: frozenset[int]) -> list[Fragment]:
        """Say once, on the pages of its stage, that a question is on stage now."""
        fragments = []
        for question in await qa_service.questions_by_id(session, ids):
            if question.highlighted and question.event_id == event.id:
                text = lazy("On stage now: %(question)s", question=truncate(question.text, 100))
                stage = tracks.stage_of_content(event, question.stage_id) if tracks.is_national_day(event) else None
                fragments += [Fragment(audience, "layout/announce.html", {"text": text}, stage=stage)
                              for audience in (Audience.ATTENDEE, Audience.STAFF)]
        return fragments

    async def snapshot(self, session: AsyncSession, event: Any, viewer: Viewer) -> list[Fragment]:
        if viewer.audience in (Audience.SCREEN, Audience.OVERLAY, Audience.STAFF):
            return await self._fragments(session, event, (viewer.audience,),
                                         tracks.shown_stage(event, viewer.stage).id if event.stages else None)
        return []

    async def personal(self, session: AsyncSession, event: Any, viewer: Viewer) -> list[Fragment]:
        return []

    def personal_state(self) -> ColumnElement[bool] | None:
        return None
