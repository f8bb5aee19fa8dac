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

from ehalsodag.agenda.view import event_view
from ehalsodag.changes import Change, Topic
from ehalsodag.fragments import Audience, Fragment, Viewer
from ehalsodag.i18n import lazy
from ehalsodag.polls import service as poll_service
from ehalsodag.polls.logic import PollResult
from ehalsodag.polls.models import Poll
from ehalsodag.qa.models import Question


@dataclass(frozen=True)
class ScreenPoll:
    """The poll on screen with its results, and whether the results may be shown."""

    poll: Poll
    result: PollResult
    show: bool


async def screen_poll(session: AsyncSession, event_id: int) -> ScreenPoll | None:
    """The most recently opened poll that is open now."""
    poll = (await session.execute(
        select(Poll).where(Poll.event_id == event_id, Poll.state == "open", Poll.opened_at.is_not(None))
        .order_by(Poll.opened_at.desc(), Poll.id.desc()).limit(1))).scalar_one_or_none()
    if poll is None:
        return None
    return ScreenPoll(poll, await poll_service.results(session, poll), poll.results_visible)


async def highlighted(session: AsyncSession, event_id: int) -> Question | None:
    """The question on stage."""
    return (await session.execute(select(Question).where(
        Question.event_id == event_id, Question.highlighted.is_(True)).limit(1))).scalar_one_or_none()


def truncate(text: str, length: int) -> str:
    """``text`` cut to ``length`` characters at a word, with an ellipsis (an announcement stays short)."""
    if len(text) <= length:
        return text
    return text[:length].rsplit(" ", 1)[0].rstrip(",.;:") + "…"


class ScreenFragments:
    """The presenter screen's and the overlay's fragment source."""

    topics = frozenset({Topic.STAGE, Topic.AGENDA})

    async def _fragments(self, session: AsyncSession, event: Any, audiences: tuple[Audience, ...]) -> list[Fragment]:
        on_stage = await highlighted(session, event.id)
        fragments = []
        if Audience.SCREEN in audiences:
            fragments.append(Fragment(Audience.SCREEN, "screen/screen_main.html", {
                "event": event, "view": event_view(event), "screen_poll": await screen_poll(session, event.id),
                "highlighted": on_stage}, slot="screen_main"))
        if Audience.OVERLAY in audiences:
            fragments.append(Fragment(Audience.OVERLAY, "screen/overlay_question.html",
                                      {"event": event, "highlighted": on_stage}, slot="overlay_question"))
        return fragments

    async def for_change(self, session: AsyncSession, event: Any, change: Change) -> list[Fragment]:
        if change.topic is Topic.AGENDA:  # the block's title, when nothing else is on screen
            return await self._fragments(session, event, (Audience.SCREEN,))
        fragments = await self._fragments(session, event, (Audience.SCREEN, Audience.OVERLAY))
        on_stage = await highlighted(session, event.id)
        if on_stage is not None and on_stage.id in change.ids:  # a question just went on stage: say so, once
            text = lazy("On stage now: %(question)s", question=truncate(on_stage.text, 100))
            fragments += [Fragment(audience, "layout/announce.html", {"text": text})
                          for audience in (Audience.ATTENDEE, Audience.STAFF)]
        return fragments

    async def snapshot(self, session: AsyncSession, event: Any, viewer: Viewer) -> list[Fragment]:
        if viewer.audience in (Audience.SCREEN, Audience.OVERLAY):
            return await self._fragments(session, event, (viewer.audience,))
        return []

    async def personal(self, session: AsyncSession, event: Any, attendee_id: int) -> list[Fragment]:
        return []

    def personal_state(self) -> ColumnElement[bool] | None:
        return None
