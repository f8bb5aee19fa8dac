"""What the presenter screen and the stream overlay show, and how to load just that.

The screen shows the most recently opened open poll with its results, else the question on stage,
else the block on air; the overlay shows the question on stage only. Both change on
:attr:`~ehalsodag.changes.Topic.STAGE` (recorded by Q&A, polls and the programme when what is on
stage may change) and when the programme moves on. Results of the poll on screen arrive through the
polls domain's results pushes (``#poll-N-results-screen``).
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


class ScreenFragments:
    """The presenter screen's and the overlay's fragment source."""

    topics = frozenset({Topic.STAGE, Topic.ON_STAGE, Topic.AGENDA, Topic.REGION})

    async def _fragments(self, session: AsyncSession, event: Any, audiences: tuple[Audience, ...],
                         stage_id: int | None = None) -> list[Fragment]:
        """What the screens of one stage show (each stage's studio has its own screen and overlay)."""
        on_stage = await highlighted(session, event, stage_id)
        fragments = []
        if Audience.SCREEN in audiences:
            fragments.append(Fragment(Audience.SCREEN, "screen/screen_main.html", {
                "event": event, "view": event_view(event, home=stage_id),
                "screen_poll": await screen_poll(session, event, stage_id), "highlighted": on_stage},
                slot="screen_main", stage=stage_id))
        if Audience.OVERLAY in audiences:
            fragments.append(Fragment(Audience.OVERLAY, "screen/overlay_question.html",
                                      {"event": event, "highlighted": on_stage}, slot="overlay_question",
                                      stage=stage_id))
        return fragments

    async def for_change(self, session: AsyncSession, event: Any, change: Change) -> list[Fragment]:
        if change.topic is Topic.ON_STAGE:
            return await self._went_on_stage(session, event, change.ids)
        stage_ids = [s.id for s in event.stages] if tracks.is_national_day(event) else [None]
        if change.topic is Topic.STAGE:
            scope = frozenset(change.ids) or None
        else:
            scope = tracks.agenda_scope(event, change.topic is Topic.REGION, change.ids)
        fragments = []
        for stage_id in stage_ids:
            if scope is not None and stage_id is not None and stage_id not in scope:
                continue  # another stage's screens show nothing of this
            if change.topic is Topic.STAGE:
                fragments += await self._fragments(session, event, (Audience.SCREEN, Audience.OVERLAY), stage_id)
            else:  # the block's title, when nothing else is on screen
                fragments += await self._fragments(session, event, (Audience.SCREEN,), stage_id)
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
        if viewer.audience in (Audience.SCREEN, Audience.OVERLAY):
            return await self._fragments(session, event, (viewer.audience,),
                                         tracks.shown_stage(event, viewer.stage).id if event.stages else None)
        return []

    async def personal(self, session: AsyncSession, event: Any, viewer: Viewer) -> list[Fragment]:
        return []

    def personal_state(self) -> ColumnElement[bool] | None:
        return None
