"""Response helpers shared by the domains' routes: cookies, htmx awareness, error pages."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from litestar import Request, Response
from litestar.datastructures import Cookie
from litestar.exceptions import HTTPException
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

from ehalsodag.errors import RefusedError
from ehalsodag.i18n import _
from ehalsodag.settings import Settings

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


def error_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """JSON ``{status_code, detail}`` for the API and for htmx; a page for people."""
    if isinstance(exc, HTTPException):
        status, detail = exc.status_code, exc.detail
        extra = exc.extra
    elif isinstance(exc, RefusedError):
        status, detail, extra = exc.status_code, str(exc), None
    else:
        request.logger.exception("unhandled error")
        status, detail, extra = HTTP_500_INTERNAL_SERVER_ERROR, _("Something went wrong on our side."), None
    headers = getattr(exc, "headers", None) or {}
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
    return Template("error.html", context={"status": status, "detail": detail}, status_code=status, headers=headers)
