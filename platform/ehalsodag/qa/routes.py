"""Q&A over HTTP: ask, upvote, moderate — each action one Struct for the JSON API and the form alike."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Request, delete, get, post
from litestar.connection import ASGIConnection
from litestar.response import Response, Template
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ehalsodag.agenda import stages
from ehalsodag.agenda.models import Event
from ehalsodag.agenda.service import load_event
from ehalsodag.attendees.auth import require_attendee
from ehalsodag.attendees.models import Attendee
from ehalsodag.i18n import _
from ehalsodag.qa import service as qa_service
from ehalsodag.qa.models import Question
from ehalsodag.staff.auth import moderator_guard
from ehalsodag.staff.models import StaffUser
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


class ModerateBody(msgspec.Struct, forbid_unknown_fields=True):
    """POST /api/v1/questions/{id}/moderate and the moderation buttons."""

    action: Key
    text: Text | None = None
    into_id: BodyId | None = None


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


async def _moderate(uow: AsyncSession, staff: StaffUser, question_id: int, body: ModerateBody) -> Question:
    question = await qa_service.question_for(uow, question_id)
    return await qa_service.moderate(uow, question, body.action, staff.email, text=body.text, into_id=body.into_id)


@post("/api/v1/questions/{question_id:int}/moderate", name="api_moderate", status_code=200,
      guards=[moderator_guard], opt={"event_of": question_event, "stage_of": question_stage})
async def api_moderate(
    question_id: Id, uow: AsyncSession, staff: StaffUser,
    data: Annotated[ModerateBody, documented("Put a question on stage", {"action": "highlight"})],
) -> dict[str, Any]:
    """approve | hide | answer | highlight | unhighlight | edit (with text) | merge (with into_id)."""
    question = await _moderate(uow, staff, question_id, data)
    return {"id": question_id, "status": question.status}


@post("/e/{slug:str}/control/questions/{question_id:int}", name="form_moderate", guards=[moderator_guard],
      opt={"event_of": question_event, "stage_of": question_stage}, dependencies={"form": form_of(ModerateBody)})
async def form_moderate(request: Request[Any, Any, Any], slug: str, question_id: Id, uow: AsyncSession,
                        staff: StaffUser, form: ModerateBody) -> Response[Any]:
    """The moderation buttons on the control panel."""
    question = await _moderate(uow, staff, question_id, form)
    return reply(request, data={"id": question_id, "status": question.status}, message=_("Done."),
                 back=f"/e/{slug}/control#mod-questions")


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
    return Template(template, context={"event": event, "q": question, "others": others})


routes = [api_ask, form_ask, api_upvote, api_unvote, form_upvote, api_moderate, form_moderate, question_edit]
