"""Q&A over HTTP: ask, upvote, moderate — each one handler for the JSON API and the forms."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Request, delete, post
from litestar.response import Response

from ehalsodag.agenda.models import Event
from ehalsodag.agenda.routes import load_event
from ehalsodag.i18n import _
from ehalsodag.qa import service as qa_service
from ehalsodag.qa.models import Question
from ehalsodag.web.actions import BodyId, Id, documented, first, form_fields, reply, require_attendee
from ehalsodag.web.auth import require_staff
from ehalsodag.web.templating import render


class AskBody(msgspec.Struct, forbid_unknown_fields=True):
    """POST /api/v1/events/{slug}/questions"""

    text: str
    anonymous: bool = True
    block_id: BodyId | None = None
    name: str | None = None


class ModerateBody(msgspec.Struct, forbid_unknown_fields=True):
    """POST /api/v1/questions/{id}/moderate"""

    action: str
    text: str | None = None
    into_id: BodyId | None = None



@post("/api/v1/events/{slug:str}/questions", name="api_ask", status_code=201)
async def api_ask(
    request: Request[Any, Any, Any], slug: str,
    data: Annotated[AskBody, documented("An anonymous question", {"text": "Hur når vi dem som inte är digitala?"})],
) -> Response[Any]:
    """Ask the panel a question as the attendee of the bearer token (anonymous unless ``anonymous`` is false)."""
    return await _ask(request, slug, data)


@post("/e/{slug:str}/questions", name="form_ask", include_in_schema=False)
async def form_ask(request: Request[Any, Any, Any], slug: str) -> Response[Any]:
    """The question form on the attendee page."""
    fields = await form_fields(request)
    block = first(fields, "block_id")
    body = AskBody(text=first(fields, "text"), anonymous=first(fields, "with_name") != "1",
                   block_id=int(block) if block.isdigit() else None, name=first(fields, "name") or None)
    return await _ask(request, slug, body)


async def _ask(request: Request[Any, Any, Any], slug: str, body: AskBody) -> Response[Any]:
    state = request.app.state
    async with state.db.writer() as session:
        event = await load_event(session, slug)
        attendee = await require_attendee(request, session, event)
        await state.rate_limits.enforce("question", attendee.id)
        question = await qa_service.ask(session, event, attendee, body.text, anonymous=body.anonymous,
                                        block_id=body.block_id, name=body.name)
        own = await qa_service.own_pending(session, attendee)
    await state.broadcaster.push(slug, "questions")
    pending = question.status == "pending"
    message = _("Thank you! A moderator will look at your question first.") if pending else _(
        "Thank you! Your question is on the list.")
    extra = render(state.settings.templates_dir, "partials/my_questions.html", live={"own_pending": own}, oob=True)
    return reply(request, data={"id": question.id, "status": question.status}, message=message,
                 back=f"/e/{slug}#qa", status_code=201, fragments=extra)


async def _question_and_event(session: Any, question_id: int) -> tuple[Question, Event]:
    """The question and its event, or a 404."""
    question = await qa_service.question_for(session, question_id)
    event = await session.get(Event, question.event_id)
    assert event is not None  # the foreign key guarantees it
    return question, event


async def _upvote(request: Request[Any, Any, Any], question_id: Id, undo: bool | None) -> tuple[Event, int, bool]:
    state = request.app.state
    async with state.db.writer() as session:
        question, event = await _question_and_event(session, question_id)
        attendee = await require_attendee(request, session, event)
        await state.rate_limits.enforce("upvote", attendee.id)
        if undo is None:  # the form button toggles
            undo = question.id in await qa_service.upvoted_by(session, attendee)
        count = await qa_service.upvote(session, question, attendee, undo=undo)
    await state.broadcaster.push(event.slug, "questions")
    return event, count, not undo


@post("/api/v1/questions/{question_id:int}/upvote", name="api_upvote", status_code=200)
async def api_upvote(request: Request[Any, Any, Any], question_id: Id) -> dict[str, int]:
    """Upvote (idempotent: a second upvote by the same attendee changes nothing)."""
    _event, count, _on = await _upvote(request, question_id, undo=False)
    return {"upvotes": count}


@delete("/api/v1/questions/{question_id:int}/upvote", name="api_unvote", status_code=200)
async def api_unvote(request: Request[Any, Any, Any], question_id: Id) -> dict[str, int]:
    """Take one's upvote back."""
    _event, count, _on = await _upvote(request, question_id, undo=True)
    return {"upvotes": count}


@post("/e/{slug:str}/questions/{question_id:int}/upvote", name="form_upvote", include_in_schema=False)
async def form_upvote(request: Request[Any, Any, Any], slug: str, question_id: Id) -> Response[Any]:
    """The upvote button: toggles the attendee's upvote."""
    _event, count, on = await _upvote(request, question_id, undo=None)
    message = _("Upvoted.") if on else _("Upvote removed.")
    return reply(request, data={"upvotes": count}, message=message, back=f"/e/{slug}#q-{question_id}")


async def _moderate(request: Request[Any, Any, Any], question_id: Id, body: ModerateBody) -> tuple[str, str]:
    state = request.app.state
    async with state.db.writer() as session:
        question, event = await _question_and_event(session, question_id)
        user = await require_staff(request, session, event)
        question = await qa_service.moderate(session, question, body.action, user.email, text=body.text,
                                             into_id=body.into_id)
        slug, status = event.slug, question.status
    await state.broadcaster.push(slug, "questions")
    return slug, status


@post("/api/v1/questions/{question_id:int}/moderate", name="api_moderate", status_code=200)
async def api_moderate(
    request: Request[Any, Any, Any], question_id: Id,
    data: Annotated[ModerateBody, documented("Put a question on stage", {"action": "highlight"})],
) -> dict[str, Any]:
    """approve | hide | answer | highlight | unhighlight | edit (with text) | merge (with into_id)."""
    _slug, status = await _moderate(request, question_id, data)
    return {"id": question_id, "status": status}


@post("/e/{slug:str}/control/questions/{question_id:int}", name="form_moderate", include_in_schema=False)
async def form_moderate(request: Request[Any, Any, Any], slug: str, question_id: Id) -> Response[Any]:
    """The moderation buttons on the control panel."""
    fields = await form_fields(request)
    into = first(fields, "into_id")
    body = ModerateBody(action=first(fields, "action"), text=first(fields, "text") or None,
                        into_id=int(into) if into.isdigit() else None)
    _slug, status = await _moderate(request, question_id, body)
    return reply(request, data={"id": question_id, "status": status}, message=_("Done."),
                 back=f"/e/{slug}/control#mod-questions")


routes = [api_ask, form_ask, api_upvote, api_unvote, form_upvote, api_moderate, form_moderate]
