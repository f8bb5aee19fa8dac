"""One handler per action serves both the JSON API and the HTML forms (with or without htmx).

Each action has one msgspec Struct for its input, decoded from the JSON body or from the form alike
(:func:`form_body`); :func:`reply` answers JSON on the API paths, a short status message for htmx,
or a redirect for a browser without JavaScript.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

import msgspec
from litestar import Request
from litestar.enums import RequestEncodingType
from litestar.openapi.spec import Example
from litestar.params import Body, Parameter
from litestar.response import Redirect, Response, Template
from litestar.types import Scope
from sqlalchemy.ext.asyncio import AsyncSession

from ehalsodag.changes import forget_changes
from ehalsodag.web.responses import API_PREFIX, is_htmx

#: A database id in a path: anything outside 1 … 2**63 − 1 cannot exist and is refused with a 400.
Id = Annotated[int, Parameter(ge=1, le=2**63 - 1)]
#: The same bound for ids inside bodies.
BodyId = Annotated[int, msgspec.Meta(ge=1, le=2**63 - 1)]
#: A form body decoded into the action's Struct (the same Struct the JSON route takes).
FORM = Body(media_type=RequestEncodingType.URL_ENCODED)


def documented(summary: str, value: dict[str, Any]) -> Any:
    """A request-body marker with an example, for the OpenAPI schema at /schema."""
    return Body(examples=[Example(summary=summary, value=value)])


def is_api(request: Request[Any, Any, Any]) -> bool:
    """True for the JSON API paths."""
    return request.url.path.startswith(API_PREFIX)


async def provide_unit_of_work(request: Request[Any, Any, Any]) -> AsyncIterator[AsyncSession]:
    """The ``uow`` dependency: the request's one write transaction. It commits after the handler
    returned (before the response is sent) and then publishes what the services recorded."""
    async with request.app.state.db.unit_of_work() as session:
        request.state.unit_of_work = session
        yield session


async def close_abandoned_unit_of_work(exc: Exception, scope: Scope) -> None:
    """An ``after_exception`` hook: when another dependency of the request failed, Litestar never resumes the
    unit of work's generator; roll its transaction back now rather than hold a write lock until it is collected."""
    session = scope.get("state", {}).get("unit_of_work")
    if isinstance(session, AsyncSession):
        forget_changes(session)
        await session.close()


def reply(
    request: Request[Any, Any, Any], *, data: dict[str, Any], message: str, back: str, status_code: int = 200,
) -> Response[Any]:
    """JSON for the API, a status message for htmx, else a redirect to ``back``."""
    if is_api(request):
        return Response(data, status_code=status_code)
    if is_htmx(request):
        return Template("layout/message.html", context={"message": message, "error": False}, status_code=200)
    return Redirect(back, status_code=303)
