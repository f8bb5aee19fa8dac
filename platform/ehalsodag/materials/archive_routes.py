"""``/e/{slug}/archive``: the day afterwards, for everyone; the organiser chooses what of the results to publish."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, get, post
from litestar.exceptions import NotFoundException
from litestar.response import Redirect, Template
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ehalsodag.agenda.models import Event
from ehalsodag.i18n import _
from ehalsodag.materials import archive
from ehalsodag.polls.models import Poll
from ehalsodag.staff import audit
from ehalsodag.staff.auth import organiser_guard, staff_permissions
from ehalsodag.staff.models import StaffUser
from ehalsodag.web.actions import Id
from ehalsodag.web.bounds import Key
from ehalsodag.web.forms import form_of


class PublishBody(msgspec.Struct):
    """Publish (``published=1``) or withdraw (anything else, or nothing) from the archive page."""

    published: Key = ""

    @property
    def on(self) -> bool:
        """Whether to publish."""
        return self.published in ("1", "true", "on", "yes")


@get("/e/{slug:str}/archive", name="archive_page")
async def archive_page(request: Request[Any, Any, Any], event: Event, uow: AsyncSession) -> Template:
    """Recordings per block, the answered questions, published poll results and the evaluation summary link."""
    allowed = await staff_permissions(request, uow, event.id)
    organise = bool(allowed and allowed.organise)
    polls, evaluation = await archive.published(uow, event)
    all_polls = (await uow.execute(select_polls(event))).scalars().all() if organise else []
    return Template("materials/archive.html", context={
        "event": event, "over": archive.day_over(event), "chapters": archive.chapters(event),
        "questions": await archive.answered_questions(uow, event), "polls": polls, "evaluation": evaluation,
        "organise": organise, "all_polls": all_polls})


def select_polls(event: Event) -> Any:
    """Every poll of the event (for the organiser's publish switches)."""
    return select(Poll).where(Poll.event_id == event.id).order_by(Poll.id)


@get("/e/{slug:str}/archive/evaluation", name="archive_evaluation")
async def archive_evaluation(event: Event, uow: AsyncSession) -> Template:
    """The evaluation summary, once the organiser published it (404 before)."""
    if not event.evaluation_published:
        raise NotFoundException(detail=_("The organiser has not published the evaluation summary."))
    _polls, evaluation = await archive.published(uow, event)
    return Template("materials/evaluation_summary.html", context={"event": event, "evaluation": evaluation})


@post("/e/{slug:str}/archive/polls/{poll_id:int}/publish", name="archive_publish_poll", guards=[organiser_guard],
      dependencies={"form": form_of(PublishBody)})
async def publish_poll(event: Event, poll_id: Id, form: PublishBody, staff: StaffUser,
                       uow: AsyncSession) -> Redirect:
    """Show (or stop showing) a poll's results on the archive page."""
    poll = await uow.get(Poll, poll_id)
    if poll is None or poll.event_id != event.id:
        raise NotFoundException(detail=_("Not found."))
    poll.published = form.on
    audit.record(uow, actor=staff.email, action="archive.poll", event_id=event.id, poll=poll.id, published=form.on)
    return Redirect(f"/e/{event.slug}/archive", status_code=303)


@post("/e/{slug:str}/archive/evaluation/publish", name="archive_publish_evaluation", guards=[organiser_guard],
      dependencies={"form": form_of(PublishBody)})
async def publish_evaluation(event: Event, form: PublishBody, staff: StaffUser, uow: AsyncSession) -> Redirect:
    """Publish (or withdraw) the evaluation summary for attendees."""
    event.evaluation_published = form.on
    audit.record(uow, actor=staff.email, action="archive.evaluation", event_id=event.id, published=form.on)
    return Redirect(f"/e/{event.slug}/archive", status_code=303)


routes = [archive_page, archive_evaluation, publish_poll, publish_evaluation]
