"""Staff login and logout."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, get, post
from litestar.response import Redirect, Response, Template
from sqlalchemy.ext.asyncio import AsyncSession

from ehalsodag.attendees.auth import client_address
from ehalsodag.i18n import _
from ehalsodag.staff import audit
from ehalsodag.staff.auth import STAFF_COOKIE
from ehalsodag.staff.service import SESSION_SECONDS, authenticate, create_session, end_session
from ehalsodag.web.auth import settings_of
from ehalsodag.web.bounds import Email, Password, Text
from ehalsodag.web.forms import form_of
from ehalsodag.web.ratelimit import TooFast
from ehalsodag.web.responses import cookie, expired_cookie


class LoginBody(msgspec.Struct):
    """The login form."""

    email: Email = ""
    password: Password = ""
    next: Text | None = None


#: Login attempts: per account (a password guessed from many addresses) and per address (many accounts guessed
#: from one), counted before the password is checked, in Redis when there is one. Generous for people who mistype,
#: tight for scripts: 10 guesses per account and 30 per address in 15 minutes (the limits are in ``app.rate_limits``).
LOGIN_WINDOW_SECONDS = 900
LOGIN_PER_ACCOUNT = 10
LOGIN_PER_ADDRESS = 30


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
    try:  # before the password is checked, so a throttled guess costs nothing
        await request.app.state.rate_limits.enforce("login_address", client_address(request))
        if email:
            await request.app.state.rate_limits.enforce("login_account", email.lower())
    except TooFast:
        minutes = LOGIN_WINDOW_SECONDS // 60
        return Template(
            "staff/login.html", status_code=429, headers={"Retry-After": str(LOGIN_WINDOW_SECONDS)},
            context={"next": target, "email": email, "error": _(
                "Too many login attempts for this account or from this network. Wait %(minutes)d minutes and try "
                "again.", minutes=minutes)})
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
