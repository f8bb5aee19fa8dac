"""Staff login, who may moderate which event, and the run-of-show actions with their audit trail."""

import re

import pytest
from sqlalchemy import select

from ehalsodag.agenda.service import event_by_slug
from ehalsodag.db.engine import Database
from ehalsodag.staff.models import AuditEntry
from tests.conftest import STAFF_PASSWORD, load_fixture, make_staff


async def csrf(client, path="/login"):
    page = await client.get(path)
    assert page.status_code == 200
    match = re.search(r'name="_csrf_token" value="([^"]+)"', page.text)
    assert match, "the form carries a CSRF token"
    return match.group(1)


async def login(client, email):
    token = await csrf(client)
    return await client.post("/login", data={"email": email, "password": STAFF_PASSWORD, "next": "/",
                                             "_csrf_token": token}, follow_redirects=False)


@pytest.fixture
async def event_slug(settings):
    slug = await load_fixture(settings)
    await load_fixture(settings, "other.toml")
    return slug


async def test_login_sets_a_session_and_wrong_password_does_not(client, settings, event_slug):
    await make_staff(settings, "mod@example.se", "moderator", event_slug)
    wrong_token = await csrf(client)
    wrong = await client.post("/login", data={"email": "mod@example.se", "password": "nope",
                                              "_csrf_token": wrong_token})
    assert wrong.status_code == 401 and "ehd_staff" not in wrong.cookies
    assert (await client.get(f"/e/{event_slug}/control", follow_redirects=False)).status_code == 303

    ok = await login(client, "mod@example.se")
    assert ok.status_code == 303
    set_cookie = ok.headers["set-cookie"].lower()
    assert "ehd_staff=" in set_cookie and "httponly" in set_cookie and "samesite=lax" in set_cookie
    panel = await client.get(f"/e/{event_slug}/control")
    assert panel.status_code == 200 and 'id="run-of-show"' in panel.text


async def test_login_without_csrf_token_is_refused(client, settings, event_slug):
    await make_staff(settings, "mod@example.se", "moderator", event_slug)
    await client.get("/login")
    response = await client.post("/login", data={"email": "mod@example.se", "password": STAFF_PASSWORD})
    assert response.status_code == 403


async def test_tampered_session_cookie_is_ignored(client, settings, event_slug):
    await make_staff(settings, "mod@example.se", "moderator", event_slug)
    await login(client, "mod@example.se")
    value = client.cookies.get("ehd_staff")
    client.cookies.set("ehd_staff", value[:-2] + ("AA" if not value.endswith("AA") else "BB"))
    assert (await client.get(f"/e/{event_slug}/control", follow_redirects=False)).status_code == 303


async def test_moderator_of_another_event_gets_403(client, settings, event_slug):
    token = await make_staff(settings, "other@example.se", "moderator", "other")
    response = await client.post(f"/api/v1/events/{event_slug}/announcement", json={"text": "Hej"},
                                 headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 403
    assert response.json()["detail"]
    anonymous = await client.post(f"/api/v1/events/{event_slug}/announcement", json={"text": "Hej"})
    assert anonymous.status_code == 401
    await login(client, "other@example.se")
    assert (await client.get(f"/e/{event_slug}/control")).status_code == 403


async def test_admin_and_organiser_for_all_events_may_moderate(client, settings, event_slug):
    admin = await make_staff(settings, "admin@example.se", "admin")
    organiser = await make_staff(settings, "org@example.se", "organiser")
    for token in (admin, organiser):
        response = await client.post(f"/api/v1/events/{event_slug}/announcement", json={"text": "Välkomna"},
                                     headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200, response.text


async def test_go_live_shift_and_announcement_are_stored_and_audited(client, settings, event_slug):
    token = await make_staff(settings, "mod@example.se", "moderator", event_slug)
    auth = {"Authorization": f"Bearer {token}"}
    event = (await client.get(f"/api/v1/events/{event_slug}")).json()
    first, second = event["blocks"][0], event["blocks"][1]

    live = await client.post(f"/api/v1/events/{event_slug}/live", json={"block_id": first["id"]}, headers=auth)
    assert live.status_code == 200, live.text
    shift = await client.post(f"/api/v1/events/{event_slug}/shift", json={"minutes": 10}, headers=auth)
    assert shift.status_code == 200, shift.text
    note = await client.post(f"/api/v1/events/{event_slug}/announcement", json={"text": "Vi börjar strax"},
                             headers=auth)
    assert note.status_code == 200

    after = (await client.get(f"/api/v1/events/{event_slug}")).json()
    assert after["live_block_id"] == first["id"]
    assert after["announcement"] == "Vi börjar strax"
    moved = next(b for b in after["blocks"] if b["id"] == second["id"])
    assert moved["shift_minutes"] == 10 and moved["start"] != moved["planned_start"]
    assert next(b for b in after["blocks"] if b["id"] == first["id"])["shift_minutes"] == 0

    db = Database(settings)
    async with db.reader() as session:
        entries = (await session.execute(select(AuditEntry).order_by(AuditEntry.id))).scalars().all()
        ev = await event_by_slug(session, event_slug)
        actions = [(e.actor, e.action) for e in entries if e.event_id == ev.id and e.action != "user.add"]
    await db.dispose()
    assert actions == [("mod@example.se", "block.live"), ("mod@example.se", "blocks.shift"),
                       ("mod@example.se", "announcement.post")]


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        ("live", {"block_id": 999999}, 404),
        ("live", {"block_id": "x"}, 400),
        ("live", {}, 400),
        ("shift", {"minutes": 0}, 422),
        ("shift", {"minutes": 10000}, 422),
        ("announcement", {"text": "x" * 501}, 422),
        ("announcement", {"text": "a\x00b"}, 422),
        ("announcement", {"text": "ok", "extra": 1}, 400),
    ],
)
async def test_bad_input_gets_a_clear_4xx_and_changes_nothing(client, settings, event_slug, path, body, status):
    token = await make_staff(settings, "mod@example.se", "moderator", event_slug)
    before = (await client.get(f"/api/v1/events/{event_slug}")).json()
    response = await client.post(f"/api/v1/events/{event_slug}/{path}", json=body,
                                 headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == status, response.text
    assert set(response.json()) >= {"status_code", "detail"} and response.json()["detail"]
    assert (await client.get(f"/api/v1/events/{event_slug}")).json() == before


async def test_control_forms_work_without_javascript(client, settings, event_slug):
    await make_staff(settings, "mod@example.se", "moderator", event_slug)
    await login(client, "mod@example.se")
    token = await csrf(client, f"/e/{event_slug}/control")
    event = (await client.get(f"/api/v1/events/{event_slug}")).json()
    block_id = event["blocks"][1]["id"]
    posted = await client.post(f"/e/{event_slug}/control/live", data={"block_id": str(block_id),
                                                                      "_csrf_token": token},
                               follow_redirects=False)
    assert posted.status_code == 303 and posted.headers["location"] == f"/e/{event_slug}/control"
    assert (await client.get(f"/api/v1/events/{event_slug}")).json()["live_block_id"] == block_id
    cleared = await client.post(f"/e/{event_slug}/control/announcement",
                                data={"text": "x", "clear": "1", "_csrf_token": token}, follow_redirects=False)
    assert cleared.status_code == 303
    htmx = await client.post(f"/e/{event_slug}/control/shift", data={"minutes": "abc", "_csrf_token": token},
                             headers={"HX-Request": "true"})
    assert htmx.status_code == 422 and 'role="alert"' in htmx.text
