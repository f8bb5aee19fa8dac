"""Q&A over HTTP: ask, upvote, moderate — each action one Struct for the JSON API and the form alike."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Request, delete, get, patch, post
from litestar.connection import ASGIConnection
from litestar.response import Response, Template
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ehalsodag.agenda import stages
from ehalsodag.agenda.models import Event
from ehalsodag.agenda.service import load_event
from ehalsodag.attendees.auth import require_attendee
from ehalsodag.attendees.models import Attendee
from ehalsodag.i18n import _, ngettext
from ehalsodag.qa import service as qa_service
from ehalsodag.qa.models import Question
from ehalsodag.safety import service as safety_service
from ehalsodag.safety.models import UndoAction
from ehalsodag.safety.replies import undo_data, undo_reply
from ehalsodag.staff.auth import moderator_guard
from ehalsodag.staff.models import StaffUser
from ehalsodag.staff.service import Permissions
from ehalsodag.text import shorten
from ehalsodag.web.actions import BodyId, Id, documented, reply
from ehalsodag.web.bounds import Key, ShortText, Text
from ehalsodag.web.forms import form_of
from ehalsodag.web.responses import is_htmx


class AskBody(msgspec.Struct, forbid_unknown_fields=True):
    """POST /api/v1/events/{slug}/questions and the question form."""

    text: Text
    anonymous: bool = True
    block_id: BodyId | None = None
    name: ShortText | None = None


#: The most questions one bulk approve takes (below the form's own cap on repeated fields, so that a longer form is
#: refused rather than cut short).
MAX_BULK = 80


class BulkApproveBody(msgspec.Struct, forbid_unknown_fields=True):
    """POST /api/v1/events/{slug}/questions/approve and the bulk approve form: the waiting questions to approve."""

    ids: Annotated[list[BodyId], msgspec.Meta(max_length=MAX_BULK)] = msgspec.field(default_factory=list)


class ModerateBody(msgspec.Struct, forbid_unknown_fields=True):
    """POST /api/v1/questions/{id}/moderate and the moderation buttons."""

    action: Key
    text: Text | None = None
    into_id: BodyId | None = None


class EditBody(msgspec.Struct, forbid_unknown_fields=True):
    """PATCH /api/v1/questions/{id} and the edit form under one's own waiting question."""

    text: Text


class ReplyBody(msgspec.Struct, forbid_unknown_fields=True):
    """POST /api/v1/questions/{id}/reply and the reply form on the control panel (empty: remove the reply)."""

    text: Text | None = None


async def question_event(connection: ASGIConnection[Any, Any, Any, Any]) -> int | None:
    """The event of the path's question (for the staff guard)."""
    async with connection.app.state.db.reader() as session:
        return (await session.execute(
            select(Question.event_id).where(Question.id == connection.path_params["question_id"]))).scalar()


#: The stage of the path's question (for a moderator of one stage).
question_stage = stages.stage_of_path(Question, "question_id")


async def _ask(request: Request[Any, Any, Any], event: Event, attendee: Attendee, body: AskBody,
               uow: AsyncSession) -> Response[Any]:
    await request.app.state.rate_limits.enforce("question", attendee.id)
    question = await qa_service.ask(uow, event, attendee, body.text, anonymous=body.anonymous,
                                    block_id=body.block_id, name=body.name)
    message = _("Thank you! A moderator will look at your question first.") if question.status == "pending" else _(
        "Thank you! Your question is on the list.")
    return reply(request, data={"id": question.id, "status": question.status}, message=message,
                 back=f"/e/{event.slug}#qa", status_code=201)


@post("/api/v1/events/{slug:str}/questions", name="api_ask", status_code=201)
async def api_ask(
    request: Request[Any, Any, Any], event: Event, attendee: Attendee, uow: AsyncSession,
    data: Annotated[AskBody, documented("An anonymous question", {"text": "Hur når vi dem som inte är digitala?"})],
) -> Response[Any]:
    """Ask the panel a question as the attendee of the bearer token (anonymous unless ``anonymous`` is false)."""
    return await _ask(request, event, attendee, data, uow)


@post("/e/{slug:str}/questions", name="form_ask", dependencies={"form": form_of(AskBody)})
async def form_ask(request: Request[Any, Any, Any], event: Event, attendee: Attendee, uow: AsyncSession,
                   form: AskBody) -> Response[Any]:
    """The question form on the attendee page."""
    return await _ask(request, event, attendee, form, uow)


async def _upvote(request: Request[Any, Any, Any], uow: AsyncSession, question_id: int,
                  undo: bool | None) -> tuple[Question, int, bool]:
    question = await qa_service.question_for(uow, question_id)
    attendee = await require_attendee(request, uow, question.event_id)
    await request.app.state.rate_limits.enforce("upvote", attendee.id)
    if undo is None:  # the form's button toggles
        undo = question.id in await qa_service.upvoted_by(uow, attendee.id)
    count = await qa_service.upvote(uow, question, attendee, undo=undo)
    return question, count, not undo


@post("/api/v1/questions/{question_id:int}/upvote", name="api_upvote", status_code=200)
async def api_upvote(request: Request[Any, Any, Any], question_id: Id, uow: AsyncSession) -> dict[str, int]:
    """Upvote (idempotent: a second upvote by the same attendee changes nothing)."""
    _question, count, _on = await _upvote(request, uow, question_id, undo=False)
    return {"upvotes": count}


@delete("/api/v1/questions/{question_id:int}/upvote", name="api_unvote", status_code=200)
async def api_unvote(request: Request[Any, Any, Any], question_id: Id, uow: AsyncSession) -> dict[str, int]:
    """Take one's upvote back."""
    _question, count, _on = await _upvote(request, uow, question_id, undo=True)
    return {"upvotes": count}


@post("/e/{slug:str}/questions/{question_id:int}/upvote", name="form_upvote")
async def form_upvote(request: Request[Any, Any, Any], slug: str, question_id: Id,
                      uow: AsyncSession) -> Response[Any]:
    """The upvote button: toggles the attendee's upvote."""
    _question, count, on = await _upvote(request, uow, question_id, undo=None)
    return reply(request, data={"upvotes": count}, message=_("Upvoted.") if on else _("Upvote removed."),
                 back=f"/e/{slug}#q-{question_id}")


async def _moderate(uow: AsyncSession, staff: StaffUser, question_id: int,
                    body: ModerateBody) -> tuple[Question, UndoAction | None]:
    question = await qa_service.question_for(uow, question_id)
    if body.action == "hide":  # hiding can be undone for a few seconds
        return question, await safety_service.hide_question(uow, question, staff.email)
    return await qa_service.moderate(uow, question, body.action, staff.email, text=body.text,
                                     into_id=body.into_id), None


@post("/api/v1/questions/{question_id:int}/moderate", name="api_moderate", status_code=200,
      guards=[moderator_guard], opt={"event_of": question_event, "stage_of": question_stage})
async def api_moderate(
    question_id: Id, uow: AsyncSession, staff: StaffUser,
    data: Annotated[ModerateBody, documented("Put a question on stage", {"action": "highlight"})],
) -> dict[str, Any]:
    """approve | hide | answer | highlight | unhighlight | edit (with text) | merge (with into_id). A hide answers
    with ``undo: {id, until}`` (POST /api/v1/undo/{id} within 10 s)."""
    question, undo = await _moderate(uow, staff, question_id, data)
    return {"id": question_id, "status": question.status, **({"undo": undo_data(undo)} if undo else {})}


@post("/e/{slug:str}/control/questions/{question_id:int}", name="form_moderate", guards=[moderator_guard],
      opt={"event_of": question_event, "stage_of": question_stage}, dependencies={"form": form_of(ModerateBody)})
async def form_moderate(request: Request[Any, Any, Any], slug: str, question_id: Id, uow: AsyncSession,
                        staff: StaffUser, form: ModerateBody) -> Response[Any]:
    """The moderation buttons on the control panel."""
    question, undo = await _moderate(uow, staff, question_id, form)
    if form.action == "hide":
        return undo_reply(request, slug=slug, action=undo, data={"id": question_id, "status": question.status},
                          message=moderated_message(form.action, question), back=f"/e/{slug}/control#mod-questions")
    return reply(request, data={"id": question_id, "status": question.status},
                 message=moderated_message(form.action, question), back=f"/e/{slug}/control#mod-questions")


def moderated_message(action: str, question: Question) -> str:
    """What a moderation button did, in words that name the question."""
    text = shorten(question.text, 60)
    messages = {
        "approve": _("The question “%(text)s” is approved.", text=text),
        "hide": _("The question “%(text)s” is hidden.", text=text),
        "answer": _("The question “%(text)s” is marked answered.", text=text),
        "highlight": _("The question “%(text)s” is on stage now.", text=text),
        "unhighlight": _("The question “%(text)s” is off the stage.", text=text),
        "edit": _("The correction is saved: “%(text)s”.", text=text),
        "merge": _("The question “%(text)s” is merged into the one you chose.", text=text),
    }
    return messages.get(action, _("The question “%(text)s” is updated.", text=text))


async def _approve_many(uow: AsyncSession, event: Event, staff: StaffUser, allowed: Permissions,
                        body: BulkApproveBody) -> list[Question]:
    return await qa_service.approve_many(uow, event, body.ids, staff.email, allowed.moderates)


def _approved_message(approved: list[Question], asked: int) -> str:
    message = ngettext("%(num)d question is approved.", "%(num)d questions are approved.", len(approved))
    if len(approved) < asked:
        message += " " + ngettext("%(num)d was no longer waiting.", "%(num)d were no longer waiting.",
                                  asked - len(approved))
    return message


@post("/api/v1/events/{slug:str}/questions/approve", name="api_approve_questions", status_code=200,
      guards=[moderator_guard])
async def api_approve_questions(
    event: Event, uow: AsyncSession, staff: StaffUser, allowed: Permissions,
    data: Annotated[BulkApproveBody, documented("Approve three waiting questions", {"ids": [12, 14, 15]})],
) -> dict[str, Any]:
    """Approve several waiting questions at once (bulk approve). Questions no longer waiting are left alone;
    ``approved`` lists those this call approved."""
    approved = await _approve_many(uow, event, staff, allowed, data)
    return {"approved": [q.id for q in approved]}


@post("/e/{slug:str}/control/questions/approve", name="form_approve_questions", guards=[moderator_guard],
      dependencies={"form": form_of(BulkApproveBody)})
async def form_approve_questions(request: Request[Any, Any, Any], event: Event, uow: AsyncSession, staff: StaffUser,
                                 allowed: Permissions, form: BulkApproveBody) -> Response[Any]:
    """The control panel's bulk approve: the ticked waiting questions (or all shown, ticked by the page)."""
    approved = await _approve_many(uow, event, staff, allowed, form)
    return reply(request, data={"approved": [q.id for q in approved]},
                 message=_approved_message(approved, len(set(form.ids))), back=f"/e/{event.slug}/control#mod-questions")


@get("/e/{slug:str}/control/questions/{question_id:int}/edit", name="question_edit", guards=[moderator_guard],
     opt={"event_of": question_event, "stage_of": question_stage})
async def question_edit(request: Request[Any, Any, Any], slug: str, question_id: Id,
                        db_session: AsyncSession) -> Template:
    """The edit-or-merge forms of one question: loaded when a moderator opens its box (a page without JS)."""
    event = await load_event(db_session, slug)
    question = await qa_service.question_for(db_session, question_id)
    others = [q for q in await qa_service.visible_questions(db_session, event, question.stage_id)
              if q.id != question.id]
    template = "qa/mod_edit.html" if is_htmx(request) else "qa/edit_page.html"
    return Template(template, context={"event": event, "q": question, "others": others,
                                       "max_reply": qa_service.MAX_REPLY})


async def _asker(request: Request[Any, Any, Any], uow: AsyncSession, question_id: int,
                 slug: str | None = None) -> tuple[Question, Attendee, Event]:
    """The question and its event, and the attendee of the request (401 unless they joined that event); a form
    path's slug must be the question's event."""
    question = await qa_service.question_for(uow, question_id)
    event = await uow.get_one(Event, question.event_id)
    if slug is not None and event.slug != slug:
        raise qa_service.QuestionError(_("No such question."), 404)
    return question, await require_attendee(request, uow, question.event_id), event


@patch("/api/v1/questions/{question_id:int}", name="api_edit_own", status_code=200)
async def api_edit_own(
    request: Request[Any, Any, Any], question_id: Id, uow: AsyncSession,
    data: Annotated[EditBody, documented("Correct a typo", {"text": "Hur når vi dem som inte är digitala?"})],
) -> dict[str, Any]:
    """The asker corrects their own question while it waits for a moderator (or, without pre-moderation, while
    nobody has upvoted it and it is not on stage); 403 for anyone else, 409 once it can no longer change."""
    question, attendee, event = await _asker(request, uow, question_id)
    await qa_service.edit_own(uow, event, question, attendee, data.text)
    return {"id": question.id, "status": question.status, "text": question.text}


@delete("/api/v1/questions/{question_id:int}", name="api_withdraw_own", status_code=200)
async def api_withdraw_own(request: Request[Any, Any, Any], question_id: Id, uow: AsyncSession) -> dict[str, Any]:
    """The asker withdraws their own question until it is on stage or answered: it is deleted and leaves every
    list; 403 for anyone else, 409 once on stage or answered."""
    question, attendee, _event = await _asker(request, uow, question_id)
    await qa_service.withdraw_own(uow, question, attendee)
    return {"id": question_id, "withdrawn": True}


@post("/e/{slug:str}/questions/{question_id:int}/edit", name="form_edit_own", dependencies={"form": form_of(EditBody)})
async def form_edit_own(request: Request[Any, Any, Any], slug: str, question_id: Id, uow: AsyncSession,
                        form: EditBody) -> Response[Any]:
    """The edit form under one's own waiting question (works without JavaScript)."""
    question, attendee, event = await _asker(request, uow, question_id, slug)
    await qa_service.edit_own(uow, event, question, attendee, form.text)
    return reply(request, data={"id": question.id}, message=_("Your question is changed."), back=f"/e/{slug}#qa")


@post("/e/{slug:str}/questions/{question_id:int}/withdraw", name="form_withdraw_own")
async def form_withdraw_own(request: Request[Any, Any, Any], slug: str, question_id: Id,
                            uow: AsyncSession) -> Response[Any]:
    """The withdraw button under one's own question (works without JavaScript)."""
    question, attendee, _event = await _asker(request, uow, question_id, slug)
    await qa_service.withdraw_own(uow, question, attendee)
    return reply(request, data={"id": question_id}, message=_("Your question is withdrawn."), back=f"/e/{slug}#qa")


async def _reply(uow: AsyncSession, staff: StaffUser, question_id: int, text: str | None) -> Question:
    question = await qa_service.question_for(uow, question_id)
    return await qa_service.reply(uow, question, text, staff.email)


@post("/api/v1/questions/{question_id:int}/reply", name="api_reply", status_code=200, guards=[moderator_guard],
      opt={"event_of": question_event, "stage_of": question_stage})
async def api_reply(
    question_id: Id, uow: AsyncSession, staff: StaffUser,
    data: Annotated[ReplyBody, documented("Reply in writing", {"text": "Se bilderna från block 2 i arkivet."})],
) -> dict[str, Any]:
    """A moderator's written reply, shown under the question to attendees (an empty ``text`` removes it)."""
    question = await _reply(uow, staff, question_id, data.text)
    return {"id": question_id, "reply": question.reply_text}


@delete("/api/v1/questions/{question_id:int}/reply", name="api_unreply", status_code=200, guards=[moderator_guard],
        opt={"event_of": question_event, "stage_of": question_stage})
async def api_unreply(question_id: Id, uow: AsyncSession, staff: StaffUser) -> dict[str, Any]:
    """Remove the written reply of a question."""
    await _reply(uow, staff, question_id, None)
    return {"id": question_id, "reply": None}


@post("/e/{slug:str}/control/questions/{question_id:int}/reply", name="form_reply", guards=[moderator_guard],
      opt={"event_of": question_event, "stage_of": question_stage}, dependencies={"form": form_of(ReplyBody)})
async def form_reply(request: Request[Any, Any, Any], slug: str, question_id: Id, uow: AsyncSession,
                     staff: StaffUser, form: ReplyBody) -> Response[Any]:
    """The reply form on a question of the control panel."""
    question = await _reply(uow, staff, question_id, form.text)
    message = _("The reply is shown under the question.") if question.reply_text else _("The reply is removed.")
    return reply(request, data={"id": question_id, "reply": question.reply_text}, message=message,
                 back=f"/e/{slug}/control#mq-{question_id}-reply")


routes = [api_approve_questions, form_approve_questions,
          api_ask, form_ask, api_upvote, api_unvote, form_upvote, api_moderate, form_moderate, question_edit,
          api_edit_own, api_withdraw_own, form_edit_own, form_withdraw_own, api_reply, api_unreply, form_reply]
