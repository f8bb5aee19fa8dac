"""Response helpers shared by the domains' routes: cookies, htmx awareness, error pages."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from litestar import Request, Response
from litestar.datastructures import Cookie
from litestar.exceptions import HTTPException
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR, HTTP_503_SERVICE_UNAVAILABLE
from sqlalchemy.exc import DBAPIError

from ehalsodag.errors import RefusedError
from ehalsodag.i18n import _
from ehalsodag.settings import Settings
from ehalsodag.web.flash import back_to_form
from ehalsodag.web.outage import RETRY_AFTER_SECONDS, is_outage

API_PREFIX = "/api/"


def is_htmx(request: Request[Any, Any, Any]) -> bool:
    """True for requests sent by htmx (they want a fragment, not a page): the htmx plugin's request."""
    return bool(getattr(request, "htmx", False))


def cookie(settings: Settings, key: str, value: str, max_age: int | None = None) -> Cookie:
    """A cookie with the project's flags: HttpOnly, SameSite=Lax, Secure behind https."""
    return Cookie(
        key=key, value=value, max_age=max_age, httponly=True, samesite="lax", secure=settings.https, path="/"
    )


def expired_cookie(settings: Settings, key: str) -> Cookie:
    """A cookie that deletes ``key`` in the browser."""
    return Cookie(key=key, value="", max_age=0, httponly=True, samesite="lax", secure=settings.https, path="/")


def bad_value(exc: Exception) -> bool:
    """Whether ``exc`` is a database refusing a value the client sent (SQLSTATE class 22, "data exception": a NUL
    byte, a number out of range, an invalid text), or SQLite refusing a number beyond 64 bits. Nothing was written
    (the unit of work rolls back), so it is the client's error, not ours."""
    if isinstance(exc, DBAPIError):
        code = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
        return isinstance(code, str) and code.startswith("22")
    return isinstance(exc, OverflowError)


def error_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """JSON ``{status_code, detail}`` for the API and for htmx; a page for people."""
    if bad_value(exc):
        request.logger.info("a value the database refused: %s", type(exc).__name__)
        exc = HTTPException(status_code=400, detail=_("The request contains a value that cannot be stored."))
    if isinstance(exc, HTTPException):
        status, detail = exc.status_code, exc.detail
        extra = exc.extra
    elif isinstance(exc, RefusedError):
        status, detail, extra = exc.status_code, str(exc), None
    elif is_outage(exc):  # the database or Redis is briefly away: nothing was stored, try again
        request.logger.warning("service unavailable: %s: %s", type(exc).__name__, exc)
        status, extra = HTTP_503_SERVICE_UNAVAILABLE, None
        detail = _("The service is briefly unavailable. Nothing was saved; please try again in a moment.")
    else:
        request.logger.exception("unhandled error")
        status, detail, extra = HTTP_500_INTERNAL_SERVER_ERROR, _("Something went wrong on our side."), None
    headers = getattr(exc, "headers", None) or {}
    if status == HTTP_503_SERVICE_UNAVAILABLE:
        headers = {**headers, "Retry-After": str(RETRY_AFTER_SECONDS)}
    if request.url.path.startswith(API_PREFIX) or "application/json" in request.headers.get("accept", "").split(
        ";"
    )[0]:
        body: dict[str, Any] = {"status_code": status, "detail": detail}
        if extra:
            body["extra"] = extra
        return Response(body, status_code=status, headers=headers)
    if (getattr(exc, "login_redirect", False) and request.method == "GET" and not is_htmx(request)
            and "authorization" not in request.headers):  # a person's browser; a script with a token gets 401
        return Redirect(f"/login?next={quote(request.url.path)}", status_code=303)
    if is_htmx(request):
        return Template(
            "layout/message.html", context={"message": detail, "error": True}, status_code=status, headers=headers
        )
    back = back_to_form(request, status, str(detail))
    if back is not None:
        return back
    return Template("error.html", context={"status": status, "detail": detail}, status_code=status, headers=headers)
