"""The evaluation over HTTP: the form (JSON and HTML), answering it, and a moderator opening it."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Request, get, post
from litestar.exceptions import ClientException
from litestar.response import Response
from sqlalchemy.ext.asyncio import AsyncSession

from ehalsodag.agenda.routes import load_event
from ehalsodag.evaluation import service as evaluation_service
from ehalsodag.evaluation.models import YESNO_VALUES, EvaluationQuestion
from ehalsodag.i18n import _, gettext
from ehalsodag.web.actions import documented, first, form_fields, reply, require_attendee
from ehalsodag.web.auth import require_staff
from ehalsodag.web.templating import iso, render


class AnswersBody(msgspec.Struct, forbid_unknown_fields=True):
    """POST /api/v1/events/{slug}/evaluation"""

    answers: dict[str, Any]


class OpenBody(msgspec.Struct, forbid_unknown_fields=True):
    """POST /api/v1/events/{slug}/evaluation/open"""

    minutes: int | None = None


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


def _answers_from_form(questions: list[EvaluationQuestion], fields: dict[str, list[str]]) -> dict[str, Any]:
    answers: dict[str, Any] = {}
    for question in questions:
        value = first(fields, f"q_{question.key}").strip()
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
    return answers


@post("/api/v1/events/{slug:str}/evaluation", name="api_answer_evaluation", status_code=201)
async def api_answer_evaluation(
    request: Request[Any, Any, Any], slug: str,
    data: Annotated[AnswersBody, documented("The framework programme's evaluation", {
        "answers": {"helhet": 5, "aterkommande": "yes", "kommentar": "Bra panelsamtal!"}})],
) -> Response[Any]:
    """Answer the evaluation: once per attendee, stored without a link to the attendee. A scale answer is
    the 1-based step, yes/no is "yes" | "no" | "dont_know", a choice is its label, NPS 0–10, text a string."""
    return await _answer_evaluation(request, slug, data)


@post("/e/{slug:str}/evaluation", name="form_answer_evaluation", include_in_schema=False)
async def form_answer_evaluation(request: Request[Any, Any, Any], slug: str) -> Response[Any]:
    """The evaluation form on the attendee page."""
    return await _answer_evaluation(request, slug, None)


async def _answer_evaluation(request: Request[Any, Any, Any], slug: str, body: AnswersBody | None) -> Response[Any]:
    state = request.app.state
    fields = None if body is not None else await form_fields(request)
    async with state.db.writer() as session:
        event = await load_event(session, slug)
        attendee = await require_attendee(request, session, event)
        questions = await evaluation_service.questions(session, event.id)
        answers = body.answers if body is not None else _answers_from_form(questions, fields or {})
        count = await evaluation_service.submit(session, event, attendee, answers)
    thanks = render(state.settings.templates_dir, "partials/evaluation.html", event=event,
                    evaluation={"open": True, "answered": True, "questions": []}, oob=True)
    return reply(request, data={"answers": count}, message=_("Thank you for your answers!"),
                 back=f"/e/{slug}#evaluation", status_code=201, fragments=thanks)


@post("/api/v1/events/{slug:str}/evaluation/open", name="api_open_evaluation", status_code=200)
async def api_open_evaluation(
    request: Request[Any, Any, Any], slug: str,
    data: Annotated[OpenBody, documented("Open for an hour", {"minutes": 60})],
) -> Response[Any]:
    """A moderator opens the evaluation now (optionally for a given number of minutes)."""
    return await _open_evaluation(request, slug, data.minutes)


@post("/e/{slug:str}/control/evaluation/open", name="form_open_evaluation", include_in_schema=False)
async def form_open_evaluation(request: Request[Any, Any, Any], slug: str) -> Response[Any]:
    """The open button on the control panel."""
    raw = first(await form_fields(request), "minutes").strip()
    return await _open_evaluation(request, slug, int(raw) if raw.isdigit() else None)


async def _open_evaluation(request: Request[Any, Any, Any], slug: str, minutes: int | None) -> Response[Any]:
    state = request.app.state
    await state.attendance.sample()  # who is here right now counts as present when it opens
    async with state.db.writer() as session:
        event = await load_event(session, slug)
        user = await require_staff(request, session, event)
        await evaluation_service.open_now(session, event, user.email, minutes)
        window = evaluation_service.window(event)
    await state.broadcaster.push(slug, "evaluation")
    return reply(request, data={"open": window.open, "closes_at": iso(window.closes_at)},
                 message=_("The evaluation is open."), back=f"/e/{slug}/control")


routes = [api_evaluation, api_answer_evaluation, form_answer_evaluation, api_open_evaluation, form_open_evaluation]
