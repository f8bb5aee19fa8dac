"""Accounts in the browser (issue 14) and sessions that really end (issue 15, item 4), on SQLite and PostgreSQL,
through the served app over real HTTP."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import STAFF_PASSWORD, load_fixture, make_settings, make_staff, run_sync, start_server, stop_server
from tests.support.postgres import fresh_database

A = "ostergotland-2021-03-23"
B = "other"
DATABASE_URL = os.environ.get("EHALSODAG_TEST_DATABASE_URL")


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def world(request, tmp_path_factory) -> Iterator[dict]:
    """A served app with events A and B and staff of every kind, on each database."""
    from ehalsodag.db.migrate import upgrade

    if request.param == "postgresql" and not DATABASE_URL:
        pytest.skip("set EHALSODAG_TEST_DATABASE_URL (postgresql+asyncpg://)")
    tmp: Path = tmp_path_factory.mktemp(f"accounts-{request.param}")
    with fresh_database(DATABASE_URL, "ehalsodag_accounts") if request.param == "postgresql" else _nothing() as url:
        settings = make_settings(tmp, database_url=url)
        upgrade(settings)
        run_sync(load_fixture(settings, f"{A}.toml"))
        run_sync(load_fixture(settings, "other.toml"))
        tokens = {
            "admin": run_sync(make_staff(settings, "admin@example.se", "admin")),
            "organiser": run_sync(make_staff(settings, "org@example.se", "organiser", A)),
            "other_organiser": run_sync(make_staff(settings, "otherorg@example.se", "organiser", B)),
            "moderator": run_sync(make_staff(settings, "mod@example.se", "moderator", A)),
        }
        server = start_server(settings, tmp / "server.log")
        try:
            yield {"server": server, "settings": settings, "tokens": tokens, "db": request.param}
        finally:
            stop_server(server)


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def browser(world: dict) -> httpx.Client:
    """A cookie-keeping client, as a browser."""
    return httpx.Client(base_url=world["server"].base_url, follow_redirects=False, timeout=20)


def csrf_of(client: httpx.Client, path: str = "/login") -> str:
    page = client.get(path)
    assert page.status_code == 200, (path, page.status_code, page.text[:300])
    match = re.search(r'name="_csrf_token" value="([^"]+)"', page.text)
    assert match
    return match.group(1)


def log_in(client: httpx.Client, email: str, password: str = STAFF_PASSWORD) -> httpx.Response:
    token = csrf_of(client)
    return client.post("/login", data={"email": email, "password": password, "next": "/studio",
                                       "_csrf_token": token})


def test_studio_home_lists_my_events_with_my_role(world):
    with browser(world) as client:
        assert log_in(client, "org@example.se").status_code == 303
        page = client.get("/studio")
        assert page.status_code == 200
        assert f'id="studio-event-{A}"' in page.text and f'id="studio-event-{B}"' not in page.text
        assert "Arrangör" in page.text  # the role, in Swedish by default
    with browser(world) as client:
        log_in(client, "admin@example.se")
        page = client.get("/studio")
        assert f'id="studio-event-{A}"' in page.text and f'id="studio-event-{B}"' in page.text
    with browser(world) as client:
        anonymous = client.get("/studio")
        assert anonymous.status_code == 303 and anonymous.headers["location"] == "/login?next=/studio"


def test_a_copied_cookie_is_refused_after_logout(world):
    with browser(world) as client:
        assert log_in(client, "mod@example.se").status_code == 303
        copied = client.cookies.get("ehd_staff")
        assert client.get(f"/e/{A}/control").status_code == 200
        token = csrf_of(client, "/studio")
        assert client.post("/logout", data={"_csrf_token": token}).status_code == 303
    with browser(world) as thief:
        thief.cookies.set("ehd_staff", copied)
        assert thief.get(f"/e/{A}/control").status_code == 303  # to the login form
        assert thief.get("/studio").status_code == 303


# --- helpers that reach into the database directly (the world the routes act on) ---------------------------


def _db_run(world: dict, work):  # work: async (session) -> T
    from ehalsodag.db.engine import Database

    async def run():
        db = Database(world["settings"])
        try:
            async with db.unit_of_work() as session:
                return await work(session)
        finally:
            await db.dispose()

    return run_sync(run())


async def _moderator(session, email: str, slug: str = A) -> int:
    """A moderator who never logs in (no password hash to compute: the matrix makes many)."""
    from ehalsodag.agenda.service import event_by_slug
    from ehalsodag.staff.models import StaffRole, StaffUser

    event = await event_by_slug(session, slug)
    role = StaffRole(role="moderator", event_id=event.id)
    session.add(StaffUser(email=email, password_hash="!", roles=[role]))
    await session.flush()
    return role.id


async def _invitation(session, email: str, role: str = "moderator", slug: str | None = A) -> tuple[int, str]:
    from sqlalchemy import select

    from ehalsodag.agenda.service import event_by_slug
    from ehalsodag.staff.invitations import create_invitation
    from ehalsodag.staff.models import StaffInvitation
    from ehalsodag.tokens import token_hash

    event = await event_by_slug(session, slug) if slug else None
    secret = await create_invitation(session, email=email, role=role, event_id=event.id if event else None,
                                     invited_by=None)
    found = (await session.execute(select(StaffInvitation).where(
        StaffInvitation.token_hash == token_hash(secret)))).scalar_one()
    return found.id, secret


async def _token(session, email: str, days: int = 90) -> tuple[int, str]:
    from sqlalchemy import select

    from ehalsodag.staff.models import ApiToken
    from ehalsodag.staff.service import create_token, user_by_email
    from ehalsodag.tokens import token_hash

    user = await user_by_email(session, email)
    secret = await create_token(session, user, "matrix", days)
    row = (await session.execute(select(ApiToken).where(ApiToken.token_hash == token_hash(secret)))).scalar_one()
    return row.id, secret


def fresh_invitation(world: dict, email: str, role: str = "moderator", slug: str | None = A) -> tuple[int, str]:
    """A new open invitation; returns its id and secret."""
    return _db_run(world, lambda session: _invitation(session, email, role, slug))


def fresh_token(world: dict, email: str) -> tuple[int, str]:
    """A new API token of ``email``; returns its id and secret."""
    return _db_run(world, lambda session: _token(session, email))


def fresh_moderator(world: dict, email: str, slug: str = A) -> int:
    """A new moderator of ``slug``; returns the id of the role."""
    return _db_run(world, lambda session: _moderator(session, email, slug))


# --- the authorisation matrix over every new route × role ------------------------------------------------

ROLES = ("anonymous", "attendee", "moderator", "organiser", "other_organiser", "admin")
EMAILS = {"moderator": "mod@example.se", "organiser": "org@example.se", "other_organiser": "otherorg@example.se",
          "admin": "admin@example.se"}
STAFF = {"moderator", "organiser", "other_organiser", "admin"}
#: route -> who may use it (the rest must get 401/403, or a redirect to the login form for a page)
ACCOUNT_MATRIX = {
    ("GET", "/studio"): STAFF,
    ("GET", "/studio/staff"): {"organiser", "other_organiser", "admin"},
    ("POST", "/studio/staff/invitations"): {"organiser", "admin"},
    ("POST", "/studio/staff/roles/{role_id}"): {"admin"},
    ("POST", "/studio/staff/roles/{role_id}/delete"): {"organiser", "admin"},
    ("POST", "/studio/staff/invitations/{invitation_id}/delete"): {"organiser", "admin"},
    ("GET", "/studio/tokens"): STAFF,
    ("POST", "/studio/tokens"): STAFF,
    ("POST", "/studio/tokens/{token_id}/delete"): STAFF,  # their own token
    ("POST", "/studio/tokens/{other_token_id}/delete"): set(),  # somebody else's token
    ("GET", "/studio/password"): STAFF,
    ("POST", "/studio/password"): STAFF,  # (a wrong current password: 422, nothing changes)
    ("GET", "/invite/{secret}"): set(ROLES),
    ("POST", "/invite/{secret}"): set(ROLES),
}


def test_the_matrix_covers_every_account_route(world):
    from tests.integration.test_authorization import app_routes
    from tests.integration.test_days_authorization import ROUTES as DAY_ROUTES

    days = {(m, p) for m, p in DAY_ROUTES}  # the studio's day routes have their own matrix
    ours = {(m, p) for m, p in app_routes(world["settings"]) if p.startswith(("/studio", "/invite"))} - days
    covered = {(m, p.replace("{other_token_id}", "{token_id}")) for m, p in ACCOUNT_MATRIX}
    assert ours <= covered, "classify new account routes in ACCOUNT_MATRIX"


@pytest.mark.parametrize("role", ROLES)
def test_each_role_gets_exactly_what_it_may_on_the_account_routes(world, role):
    server, tokens = world["server"], world["tokens"]
    with browser(world) as client:
        attendee = client.post(f"/api/v1/events/{A}/join", json={}).json()["attendee_token"]
        for name in list(client.cookies.keys()):
            client.cookies.delete(name)
        csrf = csrf_of(client)
        bearer = {"anonymous": None, "attendee": attendee}.get(role, tokens.get(role))
        auth = {"Authorization": f"Bearer {bearer}"} if bearer else {}
        wrong = []
        routes = sorted(ACCOUNT_MATRIX.items())

        async def targets(session) -> list[dict]:
            # a fresh target per request: removing or changing a role must not change the world for the next one
            made = []
            for n in range(len(routes)):
                made.append({
                    "role_id": await _moderator(session, f"target-{role}-{n}@example.se"),
                    "invitation_id": (await _invitation(session, f"inv-{role}-{n}@example.se"))[0],
                    "token_id": (await _token(session, EMAILS.get(role, "mod@example.se")))[0],
                    "other_token_id": (await _token(session, "admin@example.se" if role != "admin"
                                                    else "org@example.se"))[0],
                    "secret": "ehi_unknown"})
            return made

        for n, (((method, path), allowed_roles), params) in enumerate(zip(routes, _db_run(world, targets),
                                                                           strict=True)):
            url = path.format(**params)
            body = {"/studio/staff/invitations": {"email": f"new-{role}-{n}@example.se", "role": "moderator",
                                                  "event": A},
                    "/studio/staff/roles/{role_id}": {"role": "organiser"},
                    "/studio/tokens": {"name": "matrix"},
                    "/studio/password": {"current": "wrong password", "new": "a new long password 42",
                                         "again": "a new long password 42"},
                    "/invite/{secret}": {"password": "a new long password 42",
                                         "again": "a new long password 42"}}.get(path, {})
            if method == "GET":
                response = client.get(url, headers=auth)
            else:
                response = client.post(url, headers=auth, data={"_csrf_token": csrf, **body})
            allowed = role in allowed_roles
            refused = response.status_code in (401, 403) or (
                method == "GET" and response.status_code == 303 and "/login" in response.headers["location"])
            if allowed == refused or response.status_code >= 500:
                wrong.append(f"{method} {path}: {response.status_code} for {role} "
                             f"({'allowed' if allowed else 'refused'})")
    assert wrong == [], "\n".join(wrong) + "\n" + server.log()[-2000:]


# --- invitations ---------------------------------------------------------------------------------------------


NEW_PASSWORD = "lingonberry tram 1977"


def accept(client: httpx.Client, secret: str, password: str = NEW_PASSWORD, again: str | None = None):
    token = csrf_of(client, f"/invite/{secret}")
    return client.post(f"/invite/{secret}", data={"password": password, "again": again or password,
                                                   "_csrf_token": token})


def test_an_invitation_works_once(world):
    _id, secret = fresh_invitation(world, f"once-{world['db']}@example.se")
    with browser(world) as first:
        page = first.get(f"/invite/{secret}")
        assert page.status_code == 200 and "inbjuden som Moderator" in page.text
        accepted = accept(first, secret)
        assert accepted.status_code == 303 and accepted.headers["location"] == "/studio"
        assert f'id="studio-event-{A}"' in first.get("/studio").text  # logged in, with the role
        assert first.get(f"/e/{A}/control").status_code == 200
    with browser(world) as second:
        assert second.get(f"/invite/{secret}").status_code == 410
        token = csrf_of(second)
        again = second.post(f"/invite/{secret}", data={"password": "another long password 7",
                                                         "again": "another long password 7", "_csrf_token": token})
        assert again.status_code == 410 and "ehd_staff" not in again.cookies
        assert log_in(second, f"once-{world['db']}@example.se", "another long password 7").status_code == 401


def test_two_browsers_accepting_the_same_link_at_once_get_one_account(world):
    from concurrent.futures import ThreadPoolExecutor

    _id, secret = fresh_invitation(world, f"race-{world['db']}@example.se")
    clients = [browser(world) for _ in range(4)]
    tokens = [csrf_of(c, f"/invite/{secret}") for c in clients]
    passwords = [f"racing password number {i}" for i in range(4)]

    def go(i: int) -> int:
        return clients[i].post(f"/invite/{secret}", data={"password": passwords[i], "again": passwords[i],
                                                          "_csrf_token": tokens[i]}).status_code

    with ThreadPoolExecutor(4) as pool:
        codes = list(pool.map(go, range(4)))
    for c in clients:
        c.close()
    assert codes.count(303) == 1 and all(c in (303, 410, 422) for c in codes), codes
    winner = passwords[codes.index(303)]
    with browser(world) as client:
        assert log_in(client, f"race-{world['db']}@example.se", winner).status_code == 303


def test_an_expired_or_unknown_invitation_is_refused(world):
    from sqlalchemy import update

    from ehalsodag.staff.models import StaffInvitation

    invitation_id, secret = fresh_invitation(world, f"late-{world['db']}@example.se")

    async def expire(session):
        await session.execute(update(StaffInvitation).where(StaffInvitation.id == invitation_id).values(
            expires_at=StaffInvitation.created_at))

    _db_run(world, expire)
    with browser(world) as client:
        page = client.get(f"/invite/{secret}")
        assert page.status_code == 410 and "gått ut" in page.text
        token = csrf_of(client)
        late = client.post(f"/invite/{secret}", data={"password": NEW_PASSWORD, "again": NEW_PASSWORD,
                                                      "_csrf_token": token})
        assert late.status_code == 410 and "ehd_staff" not in late.cookies
        for bad in ("ehi_unknown", "x" * 300, "ehi_" + "%00", "ehi_%2e%2e%2flogin"):
            assert client.get(f"/invite/{bad}").status_code in (400, 404, 410), bad  # NUL: 400 before routing


def test_an_invitation_refuses_weak_passwords_and_changes_nothing(world):
    _id, secret = fresh_invitation(world, f"weak-{world['db']}@example.se")
    with browser(world) as client:
        for password, again, words in (("kort", "kort", "minst 10 tecken"),
                                       ("Sommar2024", "Sommar2024", "för lätt att gissa"),
                                       (f"weak-{world['db']}-xyz", f"weak-{world['db']}-xyz", None),
                                       (NEW_PASSWORD, NEW_PASSWORD + "x", "olika")):
            response = accept(client, secret, password, again)
            assert response.status_code == 422, (password, response.status_code)
            assert 'aria-invalid="true"' in response.text
            if words:
                assert words in response.text
        assert client.get(f"/invite/{secret}").status_code == 200  # still open
        assert accept(client, secret).status_code == 303


def test_an_invitation_for_an_existing_account_adds_the_role_but_does_not_log_in(world):
    _id, secret = fresh_invitation(world, "mod@example.se", "moderator", B)
    with browser(world) as stranger:
        page = stranger.get(f"/invite/{secret}")
        assert 'name="password"' not in page.text
        response = accept(stranger, secret)
        assert response.status_code == 303 and response.headers["location"].startswith("/login")
        assert "ehd_staff" not in response.cookies and stranger.get("/studio").status_code == 303
    with browser(world) as owner:
        log_in(owner, "mod@example.se")
        assert f'id="studio-event-{B}"' in owner.get("/studio").text


def test_organisers_invite_moderators_for_their_own_events_only(world):
    with browser(world) as org:
        log_in(org, "org@example.se")
        token = csrf_of(org, "/studio/staff")
        ok = org.post("/studio/staff/invitations", data={"email": "NewMod@Example.se", "role": "moderator",
                                                         "event": A, "_csrf_token": token})
        assert ok.status_code == 200
        link = re.search(r'id="invite-link"[^>]*value="([^"]+)"', ok.text).group(1)
        assert link.startswith(world["server"].base_url + "/invite/ehi_")
        for body in ({"role": "organiser", "event": A}, {"role": "moderator", "event": B},
                     {"role": "moderator", "event": ""}, {"role": "admin", "event": ""}):
            refused = org.post("/studio/staff/invitations", data={"email": "x@example.se", "_csrf_token": token,
                                                                  **body})
            assert refused.status_code == 403, body
        bad = org.post("/studio/staff/invitations", data={"email": "not an address", "role": "moderator",
                                                          "event": A, "_csrf_token": token})
        assert bad.status_code == 422 and 'id="email-error"' in bad.text and 'aria-invalid="true"' in bad.text
        unknown = org.post("/studio/staff/invitations", data={"email": "a@example.se", "role": "moderator",
                                                              "event": "no-such-day", "_csrf_token": token})
        assert unknown.status_code == 422 and 'id="event-error"' in unknown.text
        weird = org.post("/studio/staff/invitations", data={"email": "a@example.se", "role": "king",
                                                            "event": A, "_csrf_token": token})
        assert weird.status_code == 422
        page = org.get("/studio/staff")
        assert "newmod@example.se" in page.text and "x@example.se" not in page.text
    with browser(world) as admin:
        log_in(admin, "admin@example.se")
        token = csrf_of(admin, "/studio/staff")
        scoped_admin = admin.post("/studio/staff/invitations", data={"email": "boss@example.se", "role": "admin",
                                                                      "event": A, "_csrf_token": token})
        assert scoped_admin.status_code == 422 and 'id="event-error"' in scoped_admin.text
        global_organiser = admin.post("/studio/staff/invitations", data={
            "email": "national@example.se", "role": "organiser", "event": "", "_csrf_token": token})
        assert global_organiser.status_code == 200 and 'id="invite-link"' in global_organiser.text


def test_bad_ids_are_refused_cleanly(world):
    with browser(world) as admin:
        log_in(admin, "admin@example.se")
        token = csrf_of(admin, "/studio/staff")
        for path in ("/studio/staff/roles/0/delete", "/studio/staff/roles/99999999999999999999/delete",
                     "/studio/staff/roles/²/delete", "/studio/staff/roles/999999/delete",
                     "/studio/staff/invitations/-1/delete", "/studio/tokens/999999/delete"):
            response = admin.post(path, data={"_csrf_token": token, "role": "organiser"})
            assert 400 <= response.status_code < 500, (path, response.status_code)
        days = admin.post("/studio/tokens", data={"_csrf_token": token, "name": "x", "days": "many"})
        assert days.status_code in (400, 422)
        days = admin.post("/studio/tokens", data={"_csrf_token": token, "name": "x", "days": "9999"})
        assert days.status_code == 422 and 'id="days-error"' in days.text


def test_cli_invite_prints_the_link_last(world, tmp_path):
    import subprocess
    import sys

    from tests.conftest import ROOT

    env = {k: v for k, v in os.environ.items() if not k.startswith("EHALSODAG_")}
    env.update({"EHALSODAG_DATABASE_URL": world["settings"].database_url, "EHALSODAG_VAR_DIR": str(tmp_path),
                "EHALSODAG_BASE_URL": world["server"].base_url, "EHALSODAG_SECRET_KEY": "x" * 40})
    done = subprocess.run([sys.executable, "-m", "ehalsodag.cli", "user", "invite", f"cli-{world['db']}@example.se",
                           "--role", "organiser", "--event", A], env=env, cwd=ROOT, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    url = done.stdout.strip().splitlines()[-1]
    assert url.startswith(world["server"].base_url + "/invite/ehi_")
    with browser(world) as client:
        assert accept(client, url.rsplit("/", 1)[1]).status_code == 303
        assert "Arrangör" in client.get("/studio").text
    unknown = subprocess.run([sys.executable, "-m", "ehalsodag.cli", "user", "invite", "a@example.se", "--role",
                              "moderator", "--event", "nope"], env=env, cwd=ROOT, capture_output=True, text=True,
                             timeout=60)
    assert unknown.returncode == 1 and "nope" in unknown.stderr


# --- sessions and tokens that end --------------------------------------------------------------------------


def test_a_password_change_ends_other_sessions_and_every_token(world):
    email = f"pw-{world['db']}@example.se"
    _id, secret = fresh_invitation(world, email, "organiser", A)
    with browser(world) as me, browser(world) as laptop:
        accept(me, secret)
        log_in(laptop, email, NEW_PASSWORD)
        _tid, api_token = fresh_token(world, email)
        bearer = {"Authorization": f"Bearer {api_token}"}
        assert me.get(f"/api/v1/events/{A}/results", headers=bearer).status_code == 200
        token = csrf_of(me, "/studio/password")
        wrong = me.post("/studio/password", data={"current": "not it at all", "new": "brand new password 9",
                                                  "again": "brand new password 9", "_csrf_token": token})
        assert wrong.status_code == 422 and 'aria-invalid="true"' in wrong.text
        assert laptop.get("/studio").status_code == 200  # nothing changed
        changed = me.post("/studio/password", data={"current": NEW_PASSWORD, "new": "brand new password 9",
                                                    "again": "brand new password 9", "_csrf_token": token})
        assert changed.status_code == 200 and 'id="password-changed"' in changed.text
        assert me.get("/studio").status_code == 200  # this browser got a fresh session
        assert laptop.get("/studio").status_code == 303  # the other one is logged out
        with browser(world) as script:
            assert script.get(f"/api/v1/events/{A}/results", headers=bearer).status_code == 401
        assert log_in(laptop, email, NEW_PASSWORD).status_code == 401
        assert log_in(laptop, email, "brand new password 9").status_code == 303


def test_removing_a_role_ends_that_persons_sessions_and_tokens(world):
    email = f"removed-{world['db']}@example.se"
    _id, secret = fresh_invitation(world, email, "moderator", A)
    with browser(world) as victim, browser(world) as org:
        accept(victim, secret)
        _tid, api_token = fresh_token(world, email)
        bearer = {"Authorization": f"Bearer {api_token}"}
        assert victim.get(f"/e/{A}/control").status_code == 200
        log_in(org, "org@example.se")
        page = org.get("/studio/staff")
        role_id = re.search(rf'<tr id="role-(\d+)">\s*<th scope="row">{re.escape(email)}</th>', page.text).group(1)
        token = csrf_of(org, "/studio/staff")
        removed = org.post(f"/studio/staff/roles/{role_id}/delete", data={"_csrf_token": token})
        assert removed.status_code == 303 and removed.headers["location"] == "/studio/staff?done=removed"
        assert "Rollen togs bort" in org.get(removed.headers["location"]).text
        assert victim.get(f"/e/{A}/control").status_code == 303
        with browser(world) as script:
            assert script.post(f"/api/v1/events/{A}/announcement", json={"text": "Hej"},
                               headers=bearer).status_code == 401


def test_tokens_are_listed_with_last_use_revoked_and_expire(world):
    from sqlalchemy import update

    from ehalsodag.staff.models import ApiToken

    with browser(world) as me:
        log_in(me, "otherorg@example.se")
        token = csrf_of(me, "/studio/tokens")
        made = me.post("/studio/tokens", data={"name": "nightly export", "days": "30", "_csrf_token": token})
        assert made.status_code == 200
        secret = re.search(r'id="new-token-value"[^>]*value="(ehs_[^"]+)"', made.text).group(1)
        bearer = {"Authorization": f"Bearer {secret}"}
        listing = me.get("/studio/tokens").text
        token_id = re.search(r'id="token-(\d+)">\s*<th scope="row">nightly export', listing).group(1)
        assert secret not in listing and "Aldrig" in listing.split(f'id="token-{token_id}"')[1].split("</tr>")[0]
        assert me.get(f"/api/v1/events/{B}/results", headers=bearer).status_code == 200
        import time

        deadline = time.monotonic() + 5
        while "Aldrig" in me.get("/studio/tokens").text.split(f'id="token-{token_id}"')[1].split("</tr>")[0]:
            assert time.monotonic() < deadline, "last use is recorded"
            time.sleep(0.1)
        revoked = me.post(f"/studio/tokens/{token_id}/delete", data={"_csrf_token": token})
        assert revoked.status_code == 303
        assert f'id="token-{token_id}"' not in me.get("/studio/tokens").text
        assert me.get(f"/api/v1/events/{B}/results", headers=bearer).status_code == 401

    _tid, old = fresh_token(world, "otherorg@example.se")

    async def expire(session):
        await session.execute(update(ApiToken).where(ApiToken.id == _tid).values(expires_at=ApiToken.created_at))

    _db_run(world, expire)
    with browser(world) as script:
        assert script.get(f"/api/v1/events/{B}/results", headers={"Authorization": f"Bearer {old}"}
                          ).status_code == 401


def test_login_lands_in_the_studio_and_never_on_another_site(world):
    with browser(world) as client:
        for target, expected in ((None, "/studio"), ("/e/" + A, "/e/" + A), ("//evil.example", "/studio"),
                                 ("/\\evil.example", "/studio"), ("https://evil.example", "/studio")):
            client.cookies.clear()
            token = csrf_of(client)
            data = {"email": "mod@example.se", "password": STAFF_PASSWORD, "_csrf_token": token}
            if target is not None:
                data["next"] = target
            response = client.post("/login", data=data)
            assert response.status_code == 303 and response.headers["location"] == expected, target
        assert '<a href="/studio">Studio</a>' in client.get(f"/e/{A}/control").text


def test_cli_user_add_with_a_new_password_ends_sessions_and_tokens(world, tmp_path):
    import subprocess
    import sys

    from tests.conftest import ROOT

    email = f"cli-add-{world['db']}@example.se"
    fresh_moderator(world, email)
    env = {k: v for k, v in os.environ.items() if not k.startswith("EHALSODAG_")}
    env.update({"EHALSODAG_DATABASE_URL": world["settings"].database_url, "EHALSODAG_VAR_DIR": str(tmp_path),
                "EHALSODAG_SECRET_KEY": "x" * 40})

    def cli(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "ehalsodag.cli", *args], env=env, cwd=ROOT, input=stdin,
                              capture_output=True, text=True, timeout=60)

    assert cli("user", "add", email, "--role", "moderator", "--event", A, stdin="lösenord123\n").returncode == 1
    assert cli("user", "add", email, "--role", "moderator", "--event", A, stdin=NEW_PASSWORD + "\n").returncode == 0
    made = cli("token", "create", email, "--days", "7")
    assert made.returncode == 0
    api_token = made.stdout.strip().splitlines()[-1]
    assert cli("token", "create", email, "--days", "0").returncode == 1
    with browser(world) as client:
        log_in(client, email, NEW_PASSWORD)
        bearer = {"Authorization": f"Bearer {api_token}"}
        assert client.get("/studio").status_code == 200
        assert httpx.get(f"{world['server'].base_url}/studio/tokens", headers=bearer).status_code == 200
        assert cli("user", "add", email, "--role", "moderator", "--event", A,
                   stdin="another fine password\n").returncode == 0
        assert client.get("/studio").status_code == 303
        assert httpx.get(f"{world['server'].base_url}/studio/tokens", headers=bearer).status_code == 401


def test_an_admin_changes_a_role_and_that_person_must_log_in_again(world):
    email = f"demoted-{world['db']}@example.se"
    _id, secret = fresh_invitation(world, email, "organiser", A)
    with browser(world) as person, browser(world) as admin:
        accept(person, secret)
        assert person.get(f"/e/{A}/results").status_code == 200
        log_in(admin, "admin@example.se")
        page = admin.get("/studio/staff")
        role_id = re.search(rf'<tr id="role-(\d+)">\s*<th scope="row">{re.escape(email)}</th>', page.text).group(1)
        token = csrf_of(admin, "/studio/staff")
        changed = admin.post(f"/studio/staff/roles/{role_id}", data={"role": "moderator", "_csrf_token": token})
        assert changed.status_code == 303 and changed.headers["location"] == "/studio/staff?done=changed"
        assert person.get("/studio").status_code == 303  # logged out
        log_in(person, email, NEW_PASSWORD)
        assert person.get(f"/e/{A}/results").status_code == 403 and person.get(f"/e/{A}/control").status_code == 200
        # an admin cannot lock themselves out
        own = re.search(r'<tr id="role-(\d+)">\s*<th scope="row">admin@example.se</th>', page.text).group(1)
        assert admin.post(f"/studio/staff/roles/{own}/delete", data={"_csrf_token": token}).status_code == 403
        assert admin.get("/studio/staff").status_code == 200


HOSTILE = ["\x00", "a\x00@example.se", "x" * 5000, "\u202eevil", "²", "-1", "", " ", "<script>alert(1)</script>",
           "../../etc/passwd", "%00", "9" * 40]


def admin_still_logged_in(world: dict, client: httpx.Client) -> bool:
    return client.get("/studio/staff").status_code == 200


def test_hostile_form_values_never_give_a_500_and_change_nothing(world):
    """Every field of every account form, on both databases: NUL bytes, control characters, huge, odd numbers."""
    from sqlalchemy import func, select

    from ehalsodag.staff.models import ApiToken, StaffInvitation, StaffRole, StaffUser

    async def counts(session):
        return [await session.scalar(select(func.count()).select_from(t))
                for t in (StaffUser, StaffRole, StaffInvitation)]

    forms = {"/studio/staff/invitations": ("email", "role", "event"), "/studio/tokens": ("name", "days"),
             "/studio/password": ("current", "new", "again"), "/invite/{secret}": ("password", "again"),
             "/login": ("email", "password", "next")}
    _id, secret = fresh_invitation(world, f"hostile-{world['db']}@example.se")
    before = _db_run(world, counts)
    tokens_before = _db_run(world, lambda s: s.scalar(select(func.count()).select_from(ApiToken)))
    wrong = []
    with browser(world) as admin:
        log_in(admin, "admin@example.se")
        csrf = csrf_of(admin, "/studio/staff")
        for path, fields in forms.items():
            for field in fields:
                # the password checks cost an argon2 hash each: there the values that reach the database
                for value in HOSTILE if path not in ("/login", "/studio/password") else HOSTILE[:3]:
                    valid = {"email": "fine@example.se", "role": "moderator", "event": A, "name": "",
                             "days": "30", "current": "wrong password!", "new": "x", "again": "y",
                             "password": "short", "next": "/studio"}
                    if path == "/login":
                        valid = {"email": "nobody@example.se", "password": "wrong password", "next": "/"}
                    # keep each form invalid in another field too: nothing may be created
                    if path == "/studio/staff/invitations" and field != "email":
                        valid["email"] = "a\x00b"
                    if path == "/studio/tokens":
                        valid.update(name="\x00" if field == "days" else "n", days="0")
                    data = {**{f: valid[f] for f in fields}, field: value, "_csrf_token": csrf}
                    response = admin.post(path.format(secret=secret), data=data)
                    if response.status_code >= 500 or response.status_code in (200, 201, 303) and path not in (
                            "/login",):
                        wrong.append(f"{path} {field}={value[:20]!r}: {response.status_code}")
        assert admin_still_logged_in(world, admin)
    assert wrong == [], "\n".join(wrong) + world["server"].log()[-3000:]
    assert _db_run(world, counts) == before
    assert _db_run(world, lambda s: s.scalar(select(func.count()).select_from(ApiToken))) == tokens_before
