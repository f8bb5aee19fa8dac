"""What each audience sees of Q&A, and how to load just that.

Attendees: the question list (one ``<li>`` per question, pushed alone when it changes), their own
upvote buttons' state and their questions waiting for a moderator (personal). Moderators: the queue
and the shown list, one item at a time. The presenter screen and the overlay show the question on
stage through the ``screen`` domain.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, bindparam, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from ehalsodag.agenda import tracks
from ehalsodag.changes import Change, Topic
from ehalsodag.fragments import Audience, Fragment, Viewer
from ehalsodag.qa import service
from ehalsodag.qa.models import Question, QuestionUpvote

VISIBLE = ("approved", "answered")


class QuestionFragments:
    """The Q&A fragment source."""

    topics = frozenset({Topic.QUESTION})

    async def for_change(self, session: AsyncSession, event: Any, change: Change) -> list[Fragment]:
        questions = await service.questions_by_id(session, change.ids)
        base = {"event": event, "sort_key": service.sort_key}
        fragments: list[Fragment] = []
        found = {q.id for q in questions}
        erased = sorted(change.ids - found)  # deleted with the attendee's own data
        # a question waiting for a moderator was never shown to attendees: nothing to take away
        gone = [f"q-{q.id}" for q in questions if q.status not in (*VISIBLE, "pending")] + [f"q-{i}" for i in erased]
        # each question goes to the pages of its own stage only (a region's questions never reach another region);
        # an erased one is removed wherever it was
        for q in questions:
            if q.status in VISIBLE:
                fragments.append(Fragment(Audience.ATTENDEE, "qa/question_item.html",
                                          {**base, "q": q, "upvoted": frozenset()},
                                          stage=tracks.stage_of_content(event, q.stage_id)))
        if gone:
            fragments.append(Fragment(Audience.ATTENDEE, "layout/remove.html", {"ids": gone}))
        fragments += await self._personal(session, base, questions, change.attendees)
        if erased:
            fragments.append(Fragment(Audience.STAFF, "layout/remove.html",
                                      {"ids": [f"{prefix}-{i}" for i in erased for prefix in ("mqp", "mqs")]}))
        for stage_id in sorted({tracks.stage_of_content(event, q.stage_id) or 0 for q in questions}):
            theirs = [q for q in questions if (tracks.stage_of_content(event, q.stage_id) or 0) == stage_id]
            moved = [f"mqs-{q.id}" if q.status == "pending" else f"mqp-{q.id}" for q in theirs]
            moved += [f"mqs-{q.id}" for q in theirs if q.status not in VISIBLE and q.status != "pending"]
            fragments.append(Fragment(Audience.STAFF, "layout/remove.html", {"ids": moved}, stage=stage_id or None))
        for q in questions:
            if q.status in (*VISIBLE, "pending"):
                fragments.append(Fragment(Audience.STAFF, "qa/mod_item.html", {**base, "q": q},
                                          stage=tracks.stage_of_content(event, q.stage_id)))
        for stage_id in sorted({tracks.stage_of_content(event, q.stage_id) or 0 for q in questions}):
            fragments.append(Fragment(Audience.STAFF, "qa/mod_pending_count.html",
                                      {"pending_count": await service.pending_count(session, event, stage_id or None)},
                                      stage=stage_id or None))
        if erased and not questions:
            fragments.append(Fragment(Audience.STAFF, "qa/mod_pending_count.html",
                                      {"pending_count": await service.pending_count(session, event)}))
        return fragments

    async def _personal(self, session: AsyncSession, base: dict[str, Any], questions: list[Question],
                        attendees: frozenset[int]) -> list[Fragment]:
        """The named attendees' own state: their upvote buttons, and the waiting list of each author."""
        if not attendees:
            return []
        open_for_upvotes = [q for q in questions if q.status == "approved"]
        pressed = await service.upvoters(session, [q.id for q in open_for_upvotes], attendees)
        fragments = []
        for q in open_for_upvotes:
            on = frozenset(a for a in attendees if (q.id, a) in pressed)
            for group, is_pressed in ((on, True), (attendees - on, False)):
                if group:
                    fragments.append(Fragment(Audience.ATTENDEE, "qa/upvote_form.html",
                                              {**base, "q": q, "pressed": is_pressed}, to=group))
        for author in {q.attendee_id for q in questions} & attendees:
            own = await service.own_pending(session, author)
            fragments.append(Fragment(Audience.ATTENDEE, "qa/my_questions.html", {"own_pending": own},
                                      to=frozenset({author})))
        return fragments

    async def snapshot(self, session: AsyncSession, event: Any, viewer: Viewer) -> list[Fragment]:
        base = {"event": event, "sort_key": service.sort_key}
        stage_id = tracks.content_stage_id(event, viewer)
        if viewer.audience is Audience.ATTENDEE:
            questions = await service.visible_questions(session, event, stage_id)
            me = viewer.attendee_id
            upvoted = await service.upvoted_by(session, me) if me else set()
            own = await service.own_pending(session, me) if me else []
            return [Fragment(Audience.ATTENDEE, "qa/question_list.html",
                             {**base, "questions": questions, "upvoted": upvoted}, slot="question_list"),
                    Fragment(Audience.ATTENDEE, "qa/my_questions.html", {"own_pending": own}, slot="my_questions")]
        if viewer.audience is Audience.STAFF:
            return [Fragment(Audience.STAFF, "qa/mod_questions.html", {
                **base, "questions": await service.visible_questions(session, event, stage_id),
                "pending": await service.pending_questions(session, event, stage_id)}, slot="mod_questions")]
        return []

    async def personal(self, session: AsyncSession, event: Any, viewer: Viewer) -> list[Fragment]:
        if viewer.attendee_id is None:
            return []
        base = {"event": event, "sort_key": service.sort_key}
        stage = tracks.content_stage_id(event, viewer)
        upvoted = await service.upvoted_by(session, viewer.attendee_id)
        pressed = [q for q in await service.questions_by_id(session, upvoted)
                   if q.status == "approved" and tracks.stage_of_content(event, q.stage_id) == stage]
        return [*(Fragment(Audience.ATTENDEE, "qa/upvote_form.html", {**base, "q": q, "pressed": True})
                  for q in pressed),
                Fragment(Audience.ATTENDEE, "qa/my_questions.html",
                         {"own_pending": await service.own_pending(session, viewer.attendee_id)})]

    def personal_state(self) -> ColumnElement[bool]:
        attendee = bindparam("attendee_id")
        asked = select(Question.id).where(Question.attendee_id == attendee, Question.status == "pending").exists()
        upvoted = select(QuestionUpvote.id).where(QuestionUpvote.attendee_id == attendee).exists()
        return or_(asked, upvoted)
