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
#: The id prefix of a question's item in each of the moderators' views (qa/mod_item.html).
MOD_PREFIX = {"pending": "mqp", "approved": "mqs", "onstage": "mqo", "answered": "mqd", "hidden": "mqh"}


def own_context(base: dict[str, Any]) -> dict[str, Any]:
    """What the attendee's own list needs besides its questions: may each still be edited, and the length limit."""
    return {**base, "editable": service.editable, "max_question": service.MAX_QUESTION}


class QuestionFragments:
    """The Q&A fragment source."""

    topics = frozenset({Topic.QUESTION})

    async def for_change(self, session: AsyncSession, event: Any, change: Change) -> list[Fragment]:
        questions = await service.questions_by_id(session, change.ids)
        base = {"event": event, "sort_key": service.sort_key, "max_reply": service.MAX_REPLY}
        fragments: list[Fragment] = []
        found = {q.id for q in questions}
        erased = sorted(change.ids - found)  # deleted with the attendee's own data
        # a question waiting for a moderator was never shown to attendees (nothing to take away), unless it was
        # approved before and its asker changed it under pre-moderation (approved_at marks it)
        gone = [f"q-{q.id}" for q in questions if q.status not in (*VISIBLE, "pending") or (
            q.status == "pending" and q.approved_at is not None)] + [f"q-{i}" for i in erased]
        # each question goes to the pages of its own stage only (a region's questions never reach another region);
        # an erased one is removed wherever it was
        for q in questions:
            if q.status in VISIBLE:
                fragments.append(Fragment(Audience.ATTENDEE, "qa/question_item.html",
                                          {**base, "q": q, "upvoted": frozenset()},
                                          stage=tracks.stage_of_content(event, q.stage_id)))
        if gone:
            fragments.append(Fragment(Audience.ATTENDEE, "layout/remove.html", {"ids": gone}))
        fragments += await self._personal(session, event, base, questions, change.attendees, withdrawn=bool(erased))
        fragments += await self._staff(session, event, base, questions, erased)
        return fragments

    async def _staff(self, session: AsyncSession, event: Any, base: dict[str, Any], questions: list[Question],
                     erased: list[int]) -> list[Fragment]:
        """The moderators' side of a change: each question leaves the views it is no longer in and lands (one item)
        in the view of its state; each touched stage's counts follow."""
        fragments: list[Fragment] = []
        if erased:
            fragments.append(Fragment(Audience.STAFF, "layout/remove.html",
                                      {"ids": [f"{MOD_PREFIX[v]}-{i}" for i in erased for v in service.MOD_VIEWS]}))
        stage_ids = sorted({tracks.stage_of_content(event, q.stage_id) or 0 for q in questions})
        for stage_id in stage_ids:
            theirs = [q for q in questions if (tracks.stage_of_content(event, q.stage_id) or 0) == stage_id]
            moved = [f"{MOD_PREFIX[v]}-{q.id}" for q in theirs for v in service.MOD_VIEWS
                     if v != service.mod_view(q.status, q.highlighted)]
            fragments.append(Fragment(Audience.STAFF, "layout/remove.html", {"ids": moved}, stage=stage_id or None))
        for q in questions:
            if service.mod_view(q.status, q.highlighted) is not None:
                fragments.append(Fragment(Audience.STAFF, "qa/mod_item.html", {**base, "q": q},
                                          stage=tracks.stage_of_content(event, q.stage_id)))
        for stage_id in stage_ids or ([0] if erased else []):
            counts = await service.question_counts(session, event, stage_id or None)
            fragments += [Fragment(Audience.STAFF, "qa/mod_count.html", {"view": view, "count": counts[view]},
                                   stage=stage_id or None) for view in service.MOD_VIEWS]
        return fragments

    async def _personal(self, session: AsyncSession, event: Any, base: dict[str, Any], questions: list[Question],
                        attendees: frozenset[int], *, withdrawn: bool = False) -> list[Fragment]:
        """The named attendees' own state: their upvote buttons; and the own list of each changed question's
        author (whether it may still be edited or withdrawn follows its upvotes, stage and reply, whoever changed
        those), and of the named attendee of a withdrawn question (its asker)."""
        authors = {q.attendee_id for q in questions if q.attendee_id is not None}
        if not attendees and not authors:
            return []
        open_for_upvotes = [q for q in questions if q.status == "approved"] if attendees else []
        pressed = await service.upvoters(session, [q.id for q in open_for_upvotes], attendees)
        fragments = []
        for q in open_for_upvotes:
            on = frozenset(a for a in attendees if (q.id, a) in pressed)
            for group, is_pressed in ((on, True), (attendees - on, False)):
                if group:
                    fragments.append(Fragment(Audience.ATTENDEE, "qa/upvote_form.html",
                                              {**base, "q": q, "pressed": is_pressed}, to=group))
        # each author's list of the stage their changed question belongs to, for their page while it follows that
        # stage (a withdrawn question's stage is gone with it: the list of every stage)
        every_stage = {tracks.stage_of_content(event, stage.id) for stage in event.stages} if withdrawn else set()
        for author in sorted(authors | set(every_stage and attendees)):
            stages = {tracks.stage_of_content(event, q.stage_id) for q in questions if q.attendee_id == author}
            for stage in sorted(stages | every_stage, key=lambda s: s or 0):
                own = await service.own_waiting(session, author, event, stage)
                fragments.append(Fragment(Audience.ATTENDEE, "qa/my_questions.html",
                                          {**own_context(base), "own": own}, to=frozenset({author}), stage=stage))
        return fragments

    async def snapshot(self, session: AsyncSession, event: Any, viewer: Viewer) -> list[Fragment]:
        base = {"event": event, "sort_key": service.sort_key, "max_reply": service.MAX_REPLY}
        stage_id = tracks.content_stage_id(event, viewer)
        if viewer.audience is Audience.ATTENDEE:
            questions = await service.visible_questions(session, event, stage_id)
            me = viewer.attendee_id
            upvoted = await service.upvoted_by(session, me) if me else set()
            own = await service.own_waiting(session, me, event, stage_id) if me else []
            return [Fragment(Audience.ATTENDEE, "qa/question_list.html",
                             {**base, "questions": questions, "upvoted": upvoted}, slot="question_list"),
                    Fragment(Audience.ATTENDEE, "qa/my_questions.html", {**own_context(base), "own": own},
                             slot="my_questions")]
        if viewer.audience is Audience.STAFF:
            lists = {"pending": await service.pending_questions(session, event, stage_id),
                     "hidden": await service.hidden_questions(session, event, stage_id),
                     "approved": [], "onstage": [], "answered": []}
            for q in await service.visible_questions(session, event, stage_id):
                lists[service.mod_view(q.status, q.highlighted) or "approved"].append(q)
            counts = await service.question_counts(session, event, stage_id)
            return [*(Fragment(Audience.STAFF, "qa/mod_list.html", {**base, "view": view, "questions": lists[view]},
                               slot=f"mod_list_{view}") for view in service.MOD_VIEWS),
                    *(Fragment(Audience.STAFF, "qa/mod_count.html", {"view": view, "count": counts[view]},
                               slot=f"mod_count_{view}") for view in service.MOD_VIEWS)]
        return []

    async def personal(self, session: AsyncSession, event: Any, viewer: Viewer) -> list[Fragment]:
        if viewer.attendee_id is None:
            return []
        base = {"event": event, "sort_key": service.sort_key, "max_reply": service.MAX_REPLY}
        stage = tracks.content_stage_id(event, viewer)
        upvoted = await service.upvoted_by(session, viewer.attendee_id)
        pressed = [q for q in await service.questions_by_id(session, upvoted)
                   if q.status == "approved" and tracks.stage_of_content(event, q.stage_id) == stage]
        return [*(Fragment(Audience.ATTENDEE, "qa/upvote_form.html", {**base, "q": q, "pressed": True})
                  for q in pressed),
                Fragment(Audience.ATTENDEE, "qa/my_questions.html",
                         {**own_context(base), "own": await service.own_waiting(session, viewer.attendee_id, event,
                                                                                 stage)})]

    def personal_state(self) -> ColumnElement[bool]:
        attendee = bindparam("attendee_id")
        asked = select(Question.id).where(Question.attendee_id == attendee, Question.status.in_(
            ("pending", "approved")), Question.highlighted.is_(False)).exists()
        upvoted = select(QuestionUpvote.id).where(QuestionUpvote.attendee_id == attendee).exists()
        return or_(asked, upvoted)
