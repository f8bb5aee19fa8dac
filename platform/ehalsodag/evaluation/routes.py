"""The evaluation over HTTP: the form (JSON), answering it (JSON or the form) and a moderator opening it.
What changed reaches the pages through the change feed."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Request, get, post
from litestar.di import Provide
from litestar.exceptions import ClientException
from litestar.response import Response
from sqlalchemy.ext.asyncio import AsyncSession

from ehalsodag.agenda.models import Event
from ehalsodag.agenda.service import load_event
from ehalsodag.attendees.models import Attendee
from ehalsodag.evaluation import service as evaluation_service
from ehalsodag.evaluation.models import YESNO_VALUES, EvaluationQuestion
from ehalsodag.i18n import _, gettext
from ehalsodag.staff.auth import moderator_guard
from ehalsodag.staff.models import StaffUser
from ehalsodag.web.actions import documented, reply
from ehalsodag.web.bounds import Answers, SmallInt
from ehalsodag.web.forms import form_of
from ehalsodag.web.templating import iso


class AnswersBody(msgspec.Struct, forbid_unknown_fields=True):
    """POST /api/v1/events/{slug}/evaluation, and the evaluation form (one field ``q_<key>`` per question)."""

    answers: Answers


class OpenBody(msgspec.Struct, forbid_unknown_fields=True):
    """POST /api/v1/events/{slug}/evaluation/open and the "open now" form on the control panel."""

    minutes: SmallInt | None = None


def labels_of(question: EvaluationQuestion) -> list[str]:
    """The answer labels shown for a question, in the current language."""
    if question.kind == "yesno":
        return [gettext(evaluation_service.YESNO_LABELS[v]) for v in YESNO_VALUES]
    if question.kind == "nps":
        return [str(v) for v in range(11)]
    return list(question.labels)


@get("/api/v1/events/{slug:str}/evaluation", name="api_evaluation")
async def api_evaluation(slug: str, db_session: AsyncSession) -> dict[str, Any]:
    """Whether the evaluation is open, and its questions."""
    event = await load_event(db_session, slug)
    window = evaluation_service.window(event)
    return {
        "open": window.open, "opens_at": iso(window.opens_at) or None, "closes_at": iso(window.closes_at) or None,
        "questions": [{"key": q.key, "kind": q.kind, "text": q.text, "labels": labels_of(q), "optional": q.optional}
                      for q in await evaluation_service.questions(db_session, event.id)],
    }


async def provide_answers_form(request: Request[Any, Any, Any], event: Event, attendee: Attendee,
                               uow: AsyncSession) -> AnswersBody:
    """The evaluation form as the API's body: ``q_<key>`` fields, numbers for scale and NPS questions (a form
    is flat, so the questions say which field is which; empty fields are not given).

    It takes ``attendee`` so that it runs after it: Litestar resolves independent dependencies side by side,
    and two of them must never use the unit of work at the same time (nor one fail while the other does)."""
    form = await request.form()
    answers: dict[str, Any] = {}
    for question in await evaluation_service.questions(uow, event.id):
        raw = form.get(f"q_{question.key}")
        value = raw.strip() if isinstance(raw, str) else ""
        if not value:
            continue
        if question.kind in ("scale", "nps"):
            try:
                answers[question.key] = int(value)
            except ValueError as exc:
                raise ClientException(detail=_("Please answer: %(text)s", text=question.text),
                                      status_code=422) from exc
        else:
            answers[question.key] = value
    try:  # the same bounds as the JSON body
        return msgspec.convert({"answers": answers}, AnswersBody)
    except msgspec.ValidationError as exc:
        raise ClientException(detail=_("The form could not be read: %(error)s", error=str(exc)),
                              status_code=400) from exc


async def _answer_evaluation(request: Request[Any, Any, Any], event: Event, attendee: Attendee, body: AnswersBody,
                             uow: AsyncSession) -> Response[Any]:
    count = await evaluation_service.submit(uow, event, attendee, body.answers)
    return reply(request, data={"answers": count}, message=_("Thank you for your answers!"),
                 back=f"/e/{event.slug}#evaluation", status_code=201)


@post("/api/v1/events/{slug:str}/evaluation", name="api_answer_evaluation", status_code=201)
async def api_answer_evaluation(
    request: Request[Any, Any, Any], event: Event, attendee: Attendee, uow: AsyncSession,
    data: Annotated[AnswersBody, documented("The framework programme's evaluation", {
        "answers": {"helhet": 5, "aterkommande": "yes", "kommentar": "Bra panelsamtal!"}})],
) -> Response[Any]:
    """Answer the evaluation: once per attendee, stored without a link to the attendee. A scale answer is
    the 1-based step, yes/no is "yes" | "no" | "dont_know", a choice is its label, NPS 0–10, text a string."""
    return await _answer_evaluation(request, event, attendee, data, uow)


@post("/e/{slug:str}/evaluation", name="form_answer_evaluation",
      dependencies={"form": Provide(provide_answers_form)})
async def form_answer_evaluation(request: Request[Any, Any, Any], event: Event, attendee: Attendee,
                                 uow: AsyncSession, form: AnswersBody) -> Response[Any]:
    """The evaluation form on the attendee page."""
    return await _answer_evaluation(request, event, attendee, form, uow)


async def _open_evaluation(request: Request[Any, Any, Any], slug: str, body: OpenBody, uow: AsyncSession,
                           staff: StaffUser) -> Response[Any]:
    # who is here right now counts as present when it opens. Before the event is read: the sample writes,
    # and this request's write transaction starts with its first statement.
    await request.app.state.attendance.sample()
    event = await load_event(uow, slug)
    await evaluation_service.open_now(uow, event, staff.email, body.minutes)
    window = evaluation_service.window(event)
    return reply(request, data={"open": window.open, "closes_at": iso(window.closes_at)},
                 message=_("The evaluation is open."), back=f"/e/{slug}/control#mod-evaluation")


@post("/api/v1/events/{slug:str}/evaluation/open", name="api_open_evaluation", status_code=200,
      guards=[moderator_guard], opt={"whole_event": True})
async def api_open_evaluation(
    request: Request[Any, Any, Any], slug: str, uow: AsyncSession, staff: StaffUser,
    data: Annotated[OpenBody | None, documented("Open for an hour", {"minutes": 60})] = None,
) -> Response[Any]:
    """A moderator opens the evaluation now (optionally for a given number of minutes; the body may be empty).
    Opening it again while open extends it from now."""
    return await _open_evaluation(request, slug, data or OpenBody(), uow, staff)


@post("/e/{slug:str}/control/evaluation/open", name="form_open_evaluation", guards=[moderator_guard],
      opt={"whole_event": True},
      dependencies={"form": form_of(OpenBody)})
async def form_open_evaluation(request: Request[Any, Any, Any], slug: str, uow: AsyncSession, staff: StaffUser,
                               form: OpenBody) -> Response[Any]:
    """The "open now" form on the control panel."""
    return await _open_evaluation(request, slug, form, uow, staff)


routes = [api_evaluation, api_answer_evaluation, form_answer_evaluation, api_open_evaluation, form_open_evaluation]
