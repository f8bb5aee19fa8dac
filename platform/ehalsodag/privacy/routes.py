"""An attendee's own data (see and delete), the privacy notice, and the organisers' audit log."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from litestar import Request, get, post
from litestar.response import Redirect, Response, Template
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ehalsodag.agenda.routes import load_event
from ehalsodag.privacy import service as privacy_service
from ehalsodag.results.exports import neutralise
from ehalsodag.staff.models import AuditEntry
from ehalsodag.web.actions import require_attendee
from ehalsodag.web.auth import current_staff, require_staff
from ehalsodag.web.templating import iso


@get(["/privacy", "/integritet"], name="privacy_notice")
async def privacy_notice() -> Template:
    """The privacy notice (integritetsmeddelande), in Swedish and English."""
    return Template("about/privacy.html")


@get("/e/{slug:str}/me", name="own_data")
async def own_data(request: Request[Any, Any, Any], slug: str, db_session: AsyncSession) -> Template:
    """What this attendee has posted and told us, with a button to delete it."""
    event = await load_event(db_session, slug)
    attendee = await require_attendee(request, db_session, event)
    data = await privacy_service.own_data(db_session, attendee)
    return Template("attendee/me.html", context={"event": event, "data": data, "deleted": None})


@post("/e/{slug:str}/me/delete", name="delete_own_data")
async def delete_own_data(request: Request[Any, Any, Any], slug: str) -> Response[Any]:
    """Delete everything this attendee posted (questions, chat, upvotes, poll answers) and their name."""
    state = request.app.state
    async with state.db.writer() as session:
        event = await load_event(session, slug)
        attendee = await require_attendee(request, session, event)
        await privacy_service.delete_own_data(session, attendee)
    await state.broadcaster.push(slug, "questions", "polls", "chat")
    await state.broadcaster.push_chat_log(slug)
    return Redirect(f"/e/{slug}/me?deleted=1", status_code=303)


async def _audit_rows(session: AsyncSession, event_id: int) -> list[AuditEntry]:
    result = await session.execute(
        select(AuditEntry).where(AuditEntry.event_id == event_id).order_by(AuditEntry.id.desc()).limit(5000))
    return list(result.scalars())


@get("/e/{slug:str}/audit", name="audit_log")
async def audit_log(request: Request[Any, Any, Any], slug: str, db_session: AsyncSession) -> Template:
    """Every moderator and organiser action on the event, newest first (organisers and admins)."""
    event = await load_event(db_session, slug)
    await require_staff(request, db_session, event, organise=True)
    return Template("results/audit.html", context={
        "event": event, "entries": await _audit_rows(db_session, event.id),
        "staff": await current_staff(request, db_session)})


@get("/e/{slug:str}/audit.csv", name="audit_csv")
async def audit_csv(request: Request[Any, Any, Any], slug: str, db_session: AsyncSession) -> Response[bytes]:
    """The audit log as CSV."""
    event = await load_event(db_session, slug)
    await require_staff(request, db_session, event, organise=True)
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(["time_utc", "actor", "action", "detail"])
    for entry in await _audit_rows(db_session, event.id):
        writer.writerow([neutralise(v) for v in (iso(entry.created_at), entry.actor, entry.action,
                                                 json.dumps(entry.detail, ensure_ascii=False))])
    return Response(("\ufeff" + text.getvalue()).encode(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{slug}-audit.csv"'})


routes = [privacy_notice, own_data, delete_own_data, audit_log, audit_csv]
