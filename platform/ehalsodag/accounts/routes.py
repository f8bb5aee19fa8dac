"""The studio's account pages: who has which role (invite, change, remove), API tokens, the password, and the
invitation link an invitee opens.

Every page works without JavaScript: a form posts, and the answer is the page again (with the one-time secret,
or the errors beside their fields) or a redirect back with a short confirmation (``?done=``).
"""

from __future__ import annotations

import re
from typing import Any

import msgspec
from litestar import Request, get, post
from litestar.exceptions import ClientException, NotFoundException, PermissionDeniedException
from litestar.response import Redirect, Response, Template
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ehalsodag.agenda.models import Event
from ehalsodag.i18n import N_, _
from ehalsodag.staff import invitations
from ehalsodag.staff import service as staff_service
from ehalsodag.staff.auth import STAFF_COOKIE, organiser_anywhere_guard, staff_guard
from ehalsodag.staff.models import ApiToken, StaffInvitation, StaffRole, StaffUser
from ehalsodag.staff.service import SESSION_SECONDS, StaffError
from ehalsodag.studio.service import studio_context
from ehalsodag.text import TextError, clean_text
from ehalsodag.web.actions import Id
from ehalsodag.web.auth import settings_of
from ehalsodag.web.bounds import Email, Key, Password, ShortText, SmallInt
from ehalsodag.web.forms import form_of
from ehalsodag.web.responses import cookie

#: What an event's slug can be (anything else names no event, and is never sent to the database).
SLUG = re.compile(r"^[A-Za-z0-9._~-]{1,100}$")
#: The confirmations a redirect back may ask for (``?done=``).
DONE = {
    "removed": N_("The role was removed. That person's sessions and tokens have ended."),
    "changed": N_("The role was changed. That person's sessions and tokens have ended."),
    "withdrawn": N_("The invitation was withdrawn."),
    "revoked": N_("The token was revoked."),
}


def _done(request: Request[Any, Any, Any]) -> str | None:
    key = request.query_params.get("done")
    return _(DONE[key]) if key in DONE else None


# --- the staff page ----------------------------------------------------------------------------


class InviteBody(msgspec.Struct):
    """The invitation form: who, which role, for which event (its slug; empty: every event)."""

    email: Email = ""
    role: Key = "moderator"
    event: ShortText = ""


class RoleBody(msgspec.Struct):
    """The change-role form."""

    role: Key = ""


async def _grantable_events(session: AsyncSession, actor: StaffUser) -> list[Event]:
    events = (await session.execute(select(Event).order_by(Event.date.desc(), Event.title))).scalars().all()
    return [e for e in events if invitations.may_grant(actor, "moderator", e.id)]


def invite_url(request: Request[Any, Any, Any], secret: str) -> str:
    """The link to send: on the configured public address when there is one."""
    base = settings_of(request).base_url or str(request.base_url)
    return f"{base.rstrip('/')}/invite/{secret}"


async def _staff_page(request: Request[Any, Any, Any], session: AsyncSession, actor: StaffUser, *,
                      status_code: int = 200, **extra: Any) -> Template:
    events = await _grantable_events(session, actor)
    names = {e.id: e.title for e in (await session.execute(select(Event))).scalars()}
    wanted = request.query_params.get("event")
    rows = await invitations.visible_roles(session, actor)
    pending = await invitations.pending_invitations(session, actor)
    if wanted:
        event_id = next((e.id for e in events if e.slug == wanted), None)
        rows = [r for r in rows if r.role.event_id in (None, event_id)]
        pending = [i for i in pending if i.event_id in (None, event_id)]
    admin = invitations.is_admin(actor)
    context = studio_context(actor, "staff", **{
        "events": events, "event_names": names, "rows": rows, "pending": pending, "admin": admin,
        "invite_roles": ["organiser", "moderator", "admin"] if admin else ["moderator"],
        "done": _done(request), "form": InviteBody(event=wanted or ""), "errors": {}, "invite_link": None, **extra})
    return Template("accounts/staff.html", context=context, status_code=status_code)


@get("/studio/staff", name="studio_staff", guards=[organiser_anywhere_guard])
async def staff_page(request: Request[Any, Any, Any], staff: StaffUser, db_session: AsyncSession) -> Template:
    """Who has which role on which event; invite, change and remove."""
    return await _staff_page(request, db_session, staff)


@post("/studio/staff/invitations", name="studio_invite", guards=[organiser_anywhere_guard],
      dependencies={"form": form_of(InviteBody)})
async def invite(request: Request[Any, Any, Any], staff: StaffUser, form: InviteBody, uow: AsyncSession) -> Template:
    """Create an invitation and show its link once."""
    event_id = None
    errors: dict[str, str] = {}
    if form.event:
        event = None if not SLUG.match(form.event) else (
            await uow.execute(select(Event).where(Event.slug == form.event))).scalar_one_or_none()
        if event is None:
            errors["event"] = _("No such event.")
        else:
            event_id = event.id
    if not errors and not invitations.may_grant(staff, form.role, event_id):
        if form.role not in ("admin", "organiser", "moderator"):
            errors["role"] = _("Choose a role.")
        elif form.role == "admin" and invitations.is_admin(staff):
            errors["event"] = _("An administrator is one for every event.")
        else:
            raise PermissionDeniedException(detail=_("You may not give this role on this event."))
    if not errors:
        try:
            secret = await invitations.create_invitation(uow, email=form.email, role=form.role, event_id=event_id,
                                                         invited_by=staff)
        except StaffError as exc:
            errors[exc.field or "email"] = _(str(exc))
    if errors:
        return await _staff_page(request, uow, staff, status_code=422, form=form, errors=errors)
    return await _staff_page(request, uow, staff, invite_link=invite_url(request, secret), invited=form.email,
                             form=InviteBody(event=form.event))


async def _role(session: AsyncSession, role_id: int) -> StaffRole:
    role = await session.get(StaffRole, role_id)
    if role is None:
        raise NotFoundException(detail=_("Not found."))
    return role


@post("/studio/staff/roles/{role_id:int}", name="studio_change_role", guards=[organiser_anywhere_guard],
      dependencies={"form": form_of(RoleBody)})
async def change_role(staff: StaffUser, role_id: Id, form: RoleBody, uow: AsyncSession) -> Redirect:
    """Change one role (same event); its holder is logged out everywhere."""
    role = await _role(uow, role_id)
    if form.role not in ("admin", "organiser", "moderator"):
        raise ClientException(detail=_("Choose a role."), status_code=422)
    try:
        await invitations.change_role(uow, staff, role, form.role)
    except PermissionError as exc:
        raise PermissionDeniedException(detail=_("You may not change this role.")) from exc
    return Redirect("/studio/staff?done=changed", status_code=303)


@post("/studio/staff/roles/{role_id:int}/delete", name="studio_remove_role", guards=[organiser_anywhere_guard])
async def remove_role(staff: StaffUser, role_id: Id, uow: AsyncSession) -> Redirect:
    """Remove one role; its holder is logged out everywhere and their tokens are revoked."""
    role = await _role(uow, role_id)
    try:
        await invitations.remove_role(uow, staff, role)
    except PermissionError as exc:
        raise PermissionDeniedException(detail=_("You may not remove this role.")) from exc
    return Redirect("/studio/staff?done=removed", status_code=303)


@post("/studio/staff/invitations/{invitation_id:int}/delete", name="studio_withdraw_invitation",
      guards=[organiser_anywhere_guard])
async def withdraw(staff: StaffUser, invitation_id: Id, uow: AsyncSession) -> Redirect:
    """Withdraw an open invitation: its link stops working."""
    invitation = await uow.get(StaffInvitation, invitation_id)
    if invitation is None:
        raise NotFoundException(detail=_("Not found."))
    try:
        await invitations.withdraw_invitation(uow, staff, invitation)
    except PermissionError as exc:
        raise PermissionDeniedException(detail=_("You may not withdraw this invitation.")) from exc
    return Redirect("/studio/staff?done=withdrawn", status_code=303)


# --- API tokens --------------------------------------------------------------------------------


class TokenBody(msgspec.Struct):
    """The new-token form."""

    name: ShortText = ""
    days: SmallInt = staff_service.TOKEN_DAYS


async def _tokens_page(request: Request[Any, Any, Any], session: AsyncSession, user: StaffUser, *,
                       status_code: int = 200, **extra: Any) -> Template:
    tokens = await staff_service.tokens_of(session, user)
    context = studio_context(user, "tokens", **{
        "tokens": tokens, "done": _done(request), "new_token": None, "errors": {}, "form": TokenBody(),
        "max_days": staff_service.MAX_TOKEN_DAYS, **extra})
    return Template("accounts/tokens.html", context=context, status_code=status_code)


@get("/studio/tokens", name="studio_tokens", guards=[staff_guard])
async def tokens_page(request: Request[Any, Any, Any], staff: StaffUser, db_session: AsyncSession) -> Template:
    """The user's API tokens with when each was last used and when it expires."""
    return await _tokens_page(request, db_session, staff)


@post("/studio/tokens", name="studio_create_token", guards=[staff_guard], dependencies={"form": form_of(TokenBody)})
async def create_token(request: Request[Any, Any, Any], staff: StaffUser, form: TokenBody,
                       uow: AsyncSession) -> Template:
    """Create a token and show it once."""
    errors: dict[str, str] = {}
    try:
        clean_text(form.name, 100, what=_("Name"))
    except TextError as exc:
        errors["name"] = str(exc) if form.name.strip() else _("Give the token a name, such as the script that uses it.")
    if not 1 <= form.days <= staff_service.MAX_TOKEN_DAYS:
        errors["days"] = _("A token lives between 1 and 366 days.")
    if errors:
        return await _tokens_page(request, uow, staff, status_code=422, errors=errors, form=form)
    secret = await staff_service.create_token(uow, staff, form.name[:100], form.days)
    return await _tokens_page(request, uow, staff, new_token=secret)


@post("/studio/tokens/{token_id:int}/delete", name="studio_revoke_token", guards=[staff_guard])
async def revoke_token(staff: StaffUser, token_id: Id, uow: AsyncSession) -> Redirect:
    """Revoke one of the user's own tokens."""
    if not await staff_service.revoke_token(uow, staff, token_id):
        if await uow.get(ApiToken, token_id) is not None:
            raise PermissionDeniedException(detail=_("This is somebody else's token."))
        raise NotFoundException(detail=_("Not found."))
    return Redirect("/studio/tokens?done=revoked", status_code=303)


# --- password ----------------------------------------------------------------------------------


class PasswordBody(msgspec.Struct):
    """The change-password form."""

    current: Password = ""
    new: Password = ""
    again: Password = ""


@get("/studio/password", name="studio_password", guards=[staff_guard])
async def password_page(staff: StaffUser) -> Template:
    """The change-password form."""
    return Template("accounts/password.html", context=studio_context(staff, "password", error=None, changed=False))


@post("/studio/password", name="studio_change_password", guards=[staff_guard],
      dependencies={"form": form_of(PasswordBody)})
async def change_password(request: Request[Any, Any, Any], staff: StaffUser, form: PasswordBody,
                          uow: AsyncSession) -> Response[Any]:
    """Change the password: every other session and every token ends; this browser gets a fresh session."""
    user = await uow.get(StaffUser, staff.id)
    assert user is not None
    try:
        await staff_service.change_password(uow, user, form.current, form.new[:500], form.again[:500])
    except StaffError as exc:
        return Template("accounts/password.html", status_code=422, context=studio_context(
            staff, "password", error=_(str(exc)), changed=False, field=exc.field))
    response = Template("accounts/password.html", context=studio_context(staff, "password", error=None,
                                                                         changed=True))
    settings = settings_of(request)
    response.set_cookie(cookie(settings, STAFF_COOKIE, await staff_service.create_session(uow, user),
                               SESSION_SECONDS))
    return response


# --- the invitation link -------------------------------------------------------------------------


class AcceptBody(msgspec.Struct):
    """The invitee's form: a password for a new account (nothing for an existing one)."""

    password: Password = ""
    again: Password = ""


async def _invitation_page(session: AsyncSession, secret: str, *, status_code: int = 200,
                           error: str | None = None, field: str = "") -> Template:
    invitation, state = await invitations.find_invitation(session, secret)
    if state is not invitations.InvitationState.OPEN or invitation is None:
        return Template("accounts/invitation.html", status_code=404 if state == "unknown" else 410, context={
            "problem": _(invitations.STATE_MESSAGES[state]), "invitation": None})
    event = await session.get(Event, invitation.event_id) if invitation.event_id else None
    existing = await staff_service.user_by_email(session, invitation.email) is not None
    return Template("accounts/invitation.html", status_code=status_code, context={
        "problem": None, "invitation": invitation, "event": event, "existing": existing, "error": error, "field": field,
        "role_label": staff_service.role_label, "secret": secret})


@get("/invite/{secret:str}", name="invitation_page")
async def invitation_page(secret: str, db_session: AsyncSession) -> Template:
    """What the invitation gives, and the form that accepts it."""
    return await _invitation_page(db_session, secret)


@post("/invite/{secret:str}", name="accept_invitation", dependencies={"form": form_of(AcceptBody)})
async def accept(request: Request[Any, Any, Any], secret: str, form: AcceptBody, uow: AsyncSession) -> Response[Any]:
    """Accept: set the password (new account), get the role, and land logged in on the studio."""
    invitation, state = await invitations.find_invitation(uow, secret)
    if state is not invitations.InvitationState.OPEN or invitation is None:
        return await _invitation_page(uow, secret)
    existing = await staff_service.user_by_email(uow, invitation.email) is not None
    try:
        user = await invitations.accept_invitation(uow, invitation, form.password[:500], form.again[:500])
    except StaffError as exc:
        return await _invitation_page(uow, secret, status_code=422, error=_(str(exc)), field=exc.field)
    if existing:  # the link adds a role; it never logs anybody into an account that has its own password
        return Redirect("/login?next=/studio", status_code=303)
    response = Redirect("/studio", status_code=303)
    response.set_cookie(cookie(settings_of(request), STAFF_COOKIE, await staff_service.create_session(uow, user),
                               SESSION_SECONDS))
    return response


routes = [staff_page, invite, change_role, remove_role, withdraw, tokens_page, create_token, revoke_token,
          password_page, change_password, invitation_page, accept]
