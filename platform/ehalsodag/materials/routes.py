"""The framework's landing place: ``/e/{slug}/framework``.

Every staff member of a day opens the page of the framework their day extends (the framework itself, for its
own staff): the programme, the national speakers and the materials, each marked "new" when it came after
their last visit. Only the framework's organisers (the national organiser) and admins upload, add links and
delete: the guard finds the framework's event from the path's day (``opt["event_of"]``).

Uploads stream to disk (:mod:`ehalsodag.materials.files`): the body is never held in memory, a body larger
than the limit is refused from its Content-Length before a byte is read, or as soon as the limit is passed.
Downloads are always attachments with the stored type, ``nosniff`` and a sandboxing CSP, never HTML.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, get, post
from litestar.connection import ASGIConnection
from litestar.exceptions import NotFoundException
from litestar.response import File, Redirect, Response, Template
from sqlalchemy.ext.asyncio import AsyncSession

from ehalsodag.agenda.models import Event
from ehalsodag.agenda.service import event_by_slug, load_event
from ehalsodag.i18n import _
from ehalsodag.materials import files
from ehalsodag.materials import service as materials
from ehalsodag.staff.auth import moderator_guard, organiser_guard
from ehalsodag.staff.models import StaffUser
from ehalsodag.staff.service import permissions
from ehalsodag.web.actions import Id
from ehalsodag.web.auth import CSRF_COOKIE, CSRF_HEADER, bearer, settings_of
from ehalsodag.web.bounds import ShortText
from ehalsodag.web.forms import form_of


async def framework_of_slug(connection: ASGIConnection[Any, Any, Any, Any]) -> int | None:
    """The id of the framework the path's day extends (None: no such day, or it extends none)."""
    async with connection.app.state.db.reader() as session:
        event = await event_by_slug(session, connection.path_params["slug"])
        framework = await materials.framework_of(session, event) if event is not None else None
        return framework.id if framework is not None else None


async def _framework(session: AsyncSession, event: Event) -> Event:
    framework = await materials.framework_of(session, event)
    if framework is None:
        raise NotFoundException(detail=_("This day extends no framework programme."))
    return framework


def _upload_messages() -> dict[int, str]:
    return {
        400: _("The form could not be read; please try again."),
        403: _("The form has expired; reload the page and try again."),
        413: _("The file is too large."),
        415: _("Send the file with the upload form."),
        422: _("Only PDF, PowerPoint (.pptx), Word (.docx) and images (PNG, JPEG, GIF, WebP) can be uploaded, "
               "and the file's content must match its type."),
    }


async def _page(request: Request[Any, Any, Any], session: AsyncSession, event: Event, user: StaffUser, *,
                error: str | None = None, link_error: str | None = None, status_code: int = 200) -> Template:
    framework = await _framework(session, event)
    shown = await materials.visit(session, user, framework)
    settings = settings_of(request)
    return Template("materials/framework.html", status_code=status_code, context={
        "event": event, "framework": framework, "shown": shown, "staff": user,
        "may_edit": permissions(user, framework.id).organise,
        "max_mb": settings.upload_max_bytes / 1024 / 1024, "types": files.TYPES,
        "error": error, "link_error": link_error, "new_count": sum(1 for s in shown if s.new),
        "national_speakers": [(b, s) for b in framework.active_blocks() for s in b.speakers],
    })


@get("/e/{slug:str}/framework", name="framework_page", guards=[moderator_guard])
async def framework_page(request: Request[Any, Any, Any], event: Event, staff: StaffUser,
                         uow: AsyncSession) -> Template:
    """The landing place of the framework this day extends: programme, national speakers, materials."""
    return await _page(request, uow, event, staff)


def _csrf_ok(request: Request[Any, Any, Any]) -> Any:
    """Whether a cookie-authenticated upload carries the page's CSRF token (header, or the form's first field);
    a bearer token needs none."""
    token = bearer(request)
    if token and token.startswith("ehs_"):
        return lambda fields: True
    secret = request.app.csrf_config.secret if request.app.csrf_config else ""
    cookie = request.cookies.get(CSRF_COOKIE)
    header = request.headers.get(CSRF_HEADER)
    return lambda fields: files.csrf_matches(secret, header or fields.get("_csrf_token"), cookie)


@post("/e/{slug:str}/framework/materials", name="material_upload", guards=[organiser_guard],
      opt={"event_of": framework_of_slug, "exclude_from_csrf": True}, request_max_body_size=None)
async def upload(request: Request[Any, Any, Any], slug: str, staff: StaffUser, uow: AsyncSession) -> Response[Any]:
    """Upload a material (multipart: ``_csrf_token``, ``title``, then ``file``), streamed to disk."""
    settings = settings_of(request)
    length = request.headers.get("content-length")
    received = None
    try:
        received = await files.receive(
            request.stream(), request.headers.get("content-type", ""),
            int(length) if length and length.isdigit() else None,
            upload_dir=settings.upload_dir, max_bytes=settings.upload_max_bytes, csrf_ok=_csrf_ok(request))
        if received.temp_path is None:  # a form without a file
            if not _csrf_ok(request)(received.fields):
                raise files.UploadError(403, "csrf")
            raise files.UploadError(422, "no file")
        filename = files.clean_filename(received.filename)
        ext = files.extension(filename)
        if ext not in files.TYPES or received.size == 0 or not files.sniff(received.temp_path, ext):
            raise files.UploadError(422, "type")
        stored = files.store(received, settings.upload_dir, ext)
    except files.UploadError as exc:
        if received is not None:
            received.discard()
        message = _upload_messages().get(exc.status, _upload_messages()[400])
        if exc.status == 413:
            message = _("The file is too large: at most %(mb)s MB.",
                        mb=f"{settings.upload_max_bytes / 1024 / 1024:g}")
        if exc.status == 422 and str(exc) == "no file":
            message = _("Choose a file to upload.")
        if request.url.path.startswith("/api/") or "application/json" in request.headers.get("accept", ""):
            return Response({"status_code": exc.status, "detail": message}, status_code=exc.status,
                            headers={"connection": "close"})
        event = await load_event(uow, slug)
        page = await _page(request, uow, event, staff, error=message, status_code=exc.status)
        page.headers["connection"] = "close"
        return page
    framework = await _framework(uow, await load_event(uow, slug))
    ctype = files.TYPES[ext][0]
    title = received.fields.get("title", "").strip()[:200]
    material = materials.add_file(uow, framework, staff, title=title, filename=filename, stored_name=stored,
                                  content_type=ctype, size=received.size)
    await uow.flush()
    if "application/json" in request.headers.get("accept", ""):
        return Response({"id": material.id, "title": material.title, "content_type": ctype,
                         "size": received.size}, status_code=201)
    return Redirect(f"/e/{slug}/framework", status_code=303)


class LinkBody(msgspec.Struct):
    """A video link on the landing place."""

    title: ShortText = ""
    url: ShortText = ""


@post("/e/{slug:str}/framework/links", name="material_link", guards=[organiser_guard],
      opt={"event_of": framework_of_slug}, dependencies={"form": form_of(LinkBody)})
async def add_link(request: Request[Any, Any, Any], slug: str, form: LinkBody, staff: StaffUser,
                   uow: AsyncSession) -> Response[Any]:
    """Add a video link (a learning-example film, a recording)."""
    event = await load_event(uow, slug)
    framework = await _framework(uow, event)
    try:
        materials.add_link(uow, framework, staff, title=form.title, url=form.url)
    except materials.LinkError as exc:
        return await _page(request, uow, event, staff, link_error=str(exc), status_code=422)
    return Redirect(f"/e/{slug}/framework", status_code=303)


@post("/e/{slug:str}/framework/materials/{material_id:int}/delete", name="material_delete",
      guards=[organiser_guard], opt={"event_of": framework_of_slug})
async def delete_material(request: Request[Any, Any, Any], slug: str, material_id: Id, staff: StaffUser,
                          uow: AsyncSession) -> Redirect:
    """Delete a material (and its file)."""
    framework = await _framework(uow, await load_event(uow, slug))
    material = await materials.material_of(uow, framework, material_id)
    if material is None:
        raise NotFoundException(detail=_("Not found."))
    await materials.remove(uow, material, staff, settings_of(request).upload_dir)
    return Redirect(f"/e/{slug}/framework", status_code=303)


@get("/e/{slug:str}/framework/materials/{material_id:int}", name="material_download", guards=[moderator_guard])
async def download(request: Request[Any, Any, Any], event: Event, material_id: Id,
                   uow: AsyncSession) -> Response[Any]:
    """Download a material: an attachment of its stored type, never shown inline; a link redirects."""
    framework = await _framework(uow, event)
    material = await materials.material_of(uow, framework, material_id)
    if material is None:
        raise NotFoundException(detail=_("Not found."))
    if material.kind == "link" and material.url:
        return Redirect(material.url, status_code=303)
    path = settings_of(request).upload_dir / (material.stored_name or "")
    if not material.stored_name or not path.is_file():
        raise NotFoundException(detail=_("The file is missing."))
    return File(path=path, media_type=material.content_type or "application/octet-stream",
                headers={"content-disposition": files.content_disposition(material.filename or "material"),
                         "content-security-policy": "default-src 'none'; sandbox",
                         "x-content-type-options": "nosniff", "cache-control": "private, no-store"})


routes = [framework_page, upload, add_link, delete_material, download]
