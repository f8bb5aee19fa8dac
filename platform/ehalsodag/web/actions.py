"""One handler per action serves both the JSON API and the HTML forms (with or without htmx).

API handlers take typed msgspec bodies (documented in the OpenAPI schema); form handlers read
:func:`form_fields`; both call the same implementation, and :func:`reply` answers JSON (``is_api``),
an htmx fragment or a redirect.
"""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

import msgspec
from litestar import Request
from litestar.exceptions import ClientException, NotAuthorizedException
from litestar.openapi.spec import Example
from litestar.params import Body, Parameter
from litestar.response import Redirect, Response, Template
from sqlalchemy.ext.asyncio import AsyncSession

from ehalsodag.agenda.models import Event
from ehalsodag.i18n import _
from ehalsodag.live.models import Attendee
from ehalsodag.web.auth import current_attendee
from ehalsodag.web.responses import API_PREFIX, is_htmx

T = TypeVar("T")

#: A database id in a path: anything outside 1 … 2**63 − 1 cannot exist and is refused with a 400.
Id = Annotated[int, Parameter(ge=1, le=2**63 - 1)]
#: The same bound for ids inside JSON bodies.
BodyId = Annotated[int, msgspec.Meta(ge=1, le=2**63 - 1)]


def documented(summary: str, value: dict[str, Any]) -> Any:
    """A request-body marker with an example, for the OpenAPI schema at /schema."""
    return Body(examples=[Example(summary=summary, value=value)])


def is_api(request: Request[Any, Any, Any]) -> bool:
    """True for the JSON API paths."""
    return request.url.path.startswith(API_PREFIX)


async def form_fields(request: Request[Any, Any, Any]) -> dict[str, list[str]]:
    """Every form field with all its values (check boxes and repeated inputs give several)."""
    form = await request.form()
    fields: dict[str, list[str]] = {}
    for key, value in form.multi_items():
        if isinstance(value, str):
            fields.setdefault(key, []).append(value)
    return fields


def first(fields: dict[str, list[str]], key: str, default: str = "") -> str:
    """The first value of a form field."""
    values = fields.get(key)
    return values[0] if values else default


def int_field(fields: dict[str, list[str]], key: str) -> int:
    """A whole-number form field, or a 422 saying so."""
    try:
        return int(first(fields, key).strip())
    except ValueError as exc:
        raise ClientException(detail=_("Enter a whole number."), status_code=422) from exc


async def require_attendee(
    request: Request[Any, Any, Any], session: AsyncSession, event: Event | int
) -> Attendee:
    """The attendee of this event, or 401 telling them to join first."""
    attendee = await current_attendee(request, session, event)
    if attendee is None:
        raise NotAuthorizedException(detail=_("Join the event first."))
    return attendee


def reply(
    request: Request[Any, Any, Any], *, data: dict[str, Any], message: str, back: str, status_code: int = 200,
    fragments: str = "",
) -> Response[Any]:
    """JSON for the API, a status message (plus out-of-band ``fragments``) for htmx, else a redirect."""
    if is_api(request):
        return Response(data, status_code=status_code)
    if is_htmx(request):
        return Template("partials/message.html", context={"message": message, "error": False, "extra": fragments},
                        status_code=200)
    return Redirect(back, status_code=303)
