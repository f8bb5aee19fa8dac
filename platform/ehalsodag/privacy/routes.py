"""An attendee's own data (see and delete), the privacy notice, and the organisers' audit log."""

from __future__ import annotations

import json
from typing import Any, Literal
from urllib.parse import quote

from litestar import Request, get, post
from litestar.response import Redirect, Response, Template
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ehalsodag.agenda.service import load_event
from ehalsodag.attendees.auth import require_attendee
from ehalsodag.attendees.models import Attendee
from ehalsodag.privacy import service as privacy_service
from ehalsodag.results.exports import CSV_VARIANTS, write_csv
from ehalsodag.safety import service as safety_service
from ehalsodag.staff.auth import organiser_guard
from ehalsodag.staff.models import AuditEntry, StaffUser
from ehalsodag.web.templating import iso


@get(["/privacy", "/integritet"], name="privacy_notice")
async def privacy_notice() -> Template:
    """The privacy notice (integritetsmeddelande), in Swedish and English."""
    return Template("about/privacy.html")


@get("/e/{slug:str}/me", name="own_data")
async def own_data(request: Request[Any, Any, Any], slug: str, db_session: AsyncSession) -> Template:
    """What this attendee has posted and told us, with a button to delete it."""
    event = await load_event(db_session, slug)
    attendee = await require_attendee(request, db_session, event.id)
    data = await privacy_service.own_data(db_session, attendee)
    return Template("attendee/me.html", context={
        "event": event, "data": data, "deleted": None, "answer_text": privacy_service.answer_text,
        "status_label": privacy_service.question_status_label})


@post("/e/{slug:str}/me/delete", name="delete_own_data")
async def delete_own_data(slug: str, uow: AsyncSession, attendee: Attendee) -> Response[Any]:
    """Delete everything this attendee posted (questions, chat, upvotes, poll answers) and their name; for ten
    seconds they can undo it (``ehalsodag.safety``), then it is gone for good."""
    action = await safety_service.erase_own_data(uow, attendee)
    until = quote(iso(action.expires_at))
    return Redirect(f"/e/{slug}/me?deleted=1&undo={action.id}&until={until}", status_code=303)


async def _audit_rows(session: AsyncSession, event_id: int) -> list[AuditEntry]:
    result = await session.execute(
        select(AuditEntry).where(AuditEntry.event_id == event_id).order_by(AuditEntry.id.desc()).limit(5000))
    return list(result.scalars())


@get("/e/{slug:str}/audit", name="audit_log", guards=[organiser_guard])
async def audit_log(slug: str, db_session: AsyncSession, staff: StaffUser) -> Template:
    """Every moderator and organiser action on the event, newest first (organisers and admins)."""
    event = await load_event(db_session, slug)
    return Template("results/audit.html", context={
        "event": event, "entries": await _audit_rows(db_session, event.id), "staff": staff})


@get("/e/{slug:str}/audit.csv", name="audit_csv", guards=[organiser_guard])
async def audit_csv(slug: str, db_session: AsyncSession,
                    variant: Literal["sv", "international"] = "sv") -> Response[bytes]:
    """The audit log as CSV, for Swedish Excel unless ``?variant=international``."""
    event = await load_event(db_session, slug)
    rows = [["time_utc", "actor", "action", "detail"]] + [
        [iso(entry.created_at), entry.actor, entry.action, json.dumps(entry.detail, ensure_ascii=False)]
        for entry in await _audit_rows(db_session, event.id)]
    return Response(write_csv(rows, CSV_VARIANTS[variant]).encode(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{slug}-audit.csv"'})


routes = [privacy_notice, own_data, delete_own_data, audit_log, audit_csv]
