"""Staff login and logout."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, get, post
from litestar.response import Redirect, Response, Template
from sqlalchemy.ext.asyncio import AsyncSession

from ehalsodag.i18n import _
from ehalsodag.staff import audit
from ehalsodag.staff.auth import STAFF_COOKIE
from ehalsodag.staff.service import SESSION_SECONDS, authenticate, create_session, end_session
from ehalsodag.web.auth import settings_of
from ehalsodag.web.forms import form_of
from ehalsodag.web.responses import cookie, expired_cookie


class LoginBody(msgspec.Struct):
    """The login form."""

    email: str = ""
    password: str = ""
    next: str | None = None


def _safe_next(target: str | None) -> str:
    """Where to go after logging in: a path on this site (the studio when none is given)."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")) and len(target) < 500:
        return target
    return "/studio"


@get("/login", name="login_page")
async def login_page(request: Request[Any, Any, Any]) -> Template:
    """The staff login form."""
    return Template("staff/login.html", context={"next": _safe_next(request.query_params.get("next")),
                                                 "error": None, "email": ""})


@post("/login", name="login", dependencies={"form": form_of(LoginBody)})
async def login(request: Request[Any, Any, Any], form: LoginBody, uow: AsyncSession) -> Response[Any]:
    """Check the password; set the signed session cookie. Failures are audited too."""
    email = form.email.strip()[:254]
    target = _safe_next(form.next)
    user = await authenticate(uow, email, form.password)
    if user is None:
        audit.record(uow, actor=email or "?", action="login.failed", event_id=None)
        return Template(
            "staff/login.html",
            context={"next": target, "error": _("Wrong e-mail address or password."), "email": email},
            status_code=401,
        )
    audit.record(uow, actor=user.email, action="login", event_id=None)
    response = Redirect(target, status_code=303)
    settings = settings_of(request)
    response.set_cookie(cookie(settings, STAFF_COOKIE, await create_session(uow, user), SESSION_SECONDS))
    return response


@post("/logout", name="logout")
async def logout(request: Request[Any, Any, Any], uow: AsyncSession) -> Redirect:
    """End the session on the server (a copy of the cookie stops working too) and forget it in the browser."""
    value = request.cookies.get(STAFF_COOKIE)
    if value:
        await end_session(uow, value)
    response = Redirect("/", status_code=303)
    response.set_cookie(expired_cookie(settings_of(request), STAFF_COOKIE))
    return response


routes = [login_page, login, logout]
