"""The studio's day routes × every role (admin, organiser of this day, organiser of another event, moderator of
this day, attendee, anonymous), on a draft day and on a published one, on SQLite and PostgreSQL: each role gets
exactly what it may, and a refused request changes nothing.

Every route of ``ehalsodag.days.routes`` must be listed here: a new route fails the first test until it is.
"""

from __future__ import annotations

import itertools
import re

import httpx
import pytest

from ehalsodag.days.routes import routes as days_routes
from tests.conftest import make_staff, run_sync
from tests.support.days import DATABASES, FRAMEWORK, A, World, field_values, form, world

ROLES = ("admin", "organiser", "other_organiser", "moderator", "attendee", "anonymous")
MAKERS = {"admin", "organiser", "other_organiser"}  # organisers of any event make new days
ORGANISERS = {"admin", "organiser"}  # the day's own organiser and admins
ROUTES = {
    ("POST", "/api/v1/events"): MAKERS,
    ("GET", "/studio/new"): MAKERS,
    ("POST", "/studio/new"): MAKERS,
    ("GET", "/studio/e/{slug}"): ORGANISERS,
    ("POST", "/studio/e/{slug}/blocks"): ORGANISERS,
    ("GET", "/studio/e/{slug}/blocks/{key}"): ORGANISERS,
    ("POST", "/studio/e/{slug}/blocks/{key}"): ORGANISERS,
    ("PUT", "/api/v1/events/{slug}/blocks/{key}"): ORGANISERS,
    ("POST", "/studio/e/{slug}/blocks/{key}/remove"): ORGANISERS,
    ("POST", "/studio/e/{slug}/blocks/{key}/move"): ORGANISERS,
    ("GET", "/studio/e/{slug}/evaluation"): ORGANISERS,
    ("POST", "/studio/e/{slug}/evaluation"): ORGANISERS,
    ("POST", "/studio/e/{slug}/bank"): ORGANISERS,
    ("GET", "/e/{slug}/programme.toml"): ORGANISERS,
    ("PUT", "/api/v1/events/{slug}/programme"): ORGANISERS,
    ("POST", "/studio/e/{slug}/upload"): ORGANISERS,
    ("POST", "/studio/e/{slug}/publish"): ORGANISERS,
    ("POST", "/api/v1/events/{slug}/publish"): ORGANISERS,
    ("POST", "/api/v1/events/{slug}/unpublish"): ORGANISERS,
}


def test_every_studio_day_route_is_in_the_matrix():
    found = set()
    for handler in days_routes:
        for path in handler.paths:
            for method in handler.http_methods:
                found.add((method, re.sub(r"\{(\w+):\w+\}", r"{\1}", path)))
    assert found == set(ROUTES)


@pytest.fixture(scope="module", params=DATABASES)
def the_world(request, tmp_path_factory):
    with world(request.param, tmp_path_factory.mktemp(f"days-authz-{request.param}")) as made:
        yield made


_numbers = itertools.count(1)
_slots = itertools.count(0)


def _slot() -> dict[str, str]:
    """A free three-minute slot after the framework's day (each call a new one)."""
    start = 16 * 60 + 4 * (next(_slots) % 119)  # 16:00 … 23:56 (each test makes its own day; fewer calls than 119)
    return {"start": f"{start // 60:02d}:{start % 60:02d}", "end": f"{(start + 3) // 60:02d}:{(start + 3) % 60:02d}"}


def _call(the_world: World, http: httpx.Client, method: str, path: str, slug: str, published: bool) -> httpx.Response:
    """One request with a body that the day's organiser could send successfully."""
    n = next(_numbers)
    key = "block-1"
    if path.endswith("/remove"):  # an allowed role removes a block of its own; a refused one tries block-2
        with the_world.client("admin") as admin:
            added = form(admin, f"/studio/e/{slug}/blocks", {"title": f"Tillfälligt {n}", "kind": "talk", **_slot()})
            assert added.status_code == 303, added.text
            key = added.headers["location"].rsplit("/", 1)[1]
    url = path.format(slug=slug, key=key)
    if method == "GET":
        return http.get(url, follow_redirects=False)
    if path == "/api/v1/events":
        return http.post(url, json={"framework": FRAMEWORK, "region": f"Region {n}", "date": "2028-01-01"})
    if path == "/studio/new":
        return form(http, url, {"framework": FRAMEWORK, "region": f"Region {n}", "date": "2028-01-01"})
    with the_world.client("admin") as admin:
        text = admin.get(f"/e/{slug}/programme.toml").text
        block = field_values(admin.get(f"/studio/e/{slug}/blocks/block-1").text)
    if path.endswith("/programme"):
        return http.put(url, content=text.encode(), headers={"Content-Type": "application/toml"})
    if path == "/api/v1/events/{slug}/blocks/{key}":
        speakers = [{"name": block[f"speakers-{i}-name"], "role": block[f"speakers-{i}-role"],
                     "organisation": block[f"speakers-{i}-organisation"]} for i in range(5)
                    if block.get(f"speakers-{i}-name")]
        plain = {k: v for k, v in block.items() if not k.startswith("speakers-")}
        return http.put(url, json={**plain, "speakers": speakers})
    if path.startswith("/api/v1/events/{slug}/") and path.endswith("publish"):  # both keep the day as it is
        return http.post(f"/api/v1/events/{slug}/{'publish' if published else 'unpublish'}")
    bodies = {
        "/studio/e/{slug}/blocks": {"title": f"Nytt block {n}", "kind": "talk", **_slot()},
        "/studio/e/{slug}/blocks/{key}": block,
        "/studio/e/{slug}/blocks/{key}/remove": {},
        "/studio/e/{slug}/blocks/{key}/move": {"direction": "down"},
        "/studio/e/{slug}/evaluation": {"keys": ["helhet", "aterkommande", "kommentar"]},
        "/studio/e/{slug}/bank": {"key": f"egen-fraga-{n}", "kind": "text", "text": "Något mer?"},
        "/studio/e/{slug}/publish": {"published": "true" if published else "false"},
    }
    if path.endswith("/upload"):
        return http.post(url, files={"file": ("dag.toml", text.encode(), "application/toml")},
                         data={"_csrf_token": _csrf(http)}, follow_redirects=False)
    return form(http, url, bodies[path])


def _csrf(http: httpx.Client) -> str:
    http.get("/login")
    return http.cookies.get("csrftoken") or ""


@pytest.mark.parametrize("published", [False, True], ids=["draft", "published"])
def test_each_role_gets_exactly_what_it_may_on_the_days_routes(the_world, published):
    global _slots
    _slots = itertools.count(0)  # a new day: its evening is free again
    slug = the_world.new_day(region=f"Matris {'publicerad' if published else 'utkast'}", date="2027-06-01")
    tokens = dict(the_world.tokens)
    tokens["moderator"] = run_sync(make_staff(the_world.settings, f"mod-{slug}@example.se", "moderator", slug))
    with httpx.Client(base_url=the_world.server.base_url) as http:
        tokens["attendee"] = http.post(f"/api/v1/events/{A}/join", json={}).json()["attendee_token"]
        if published:
            assert http.post(f"/api/v1/events/{slug}/publish",
                             headers={"Authorization": f"Bearer {tokens['organiser']}"}).status_code == 200
    wrong = []
    for role in ROLES:
        for (method, path), allowed_roles in ROUTES.items():
            headers = {"Authorization": f"Bearer {tokens[role]}"} if role != "anonymous" else {}
            with the_world.client("admin") as admin:
                before = admin.get(f"/e/{slug}/programme.toml").text
            with httpx.Client(base_url=the_world.server.base_url, headers=headers, timeout=30) as http:
                response = _call(the_world, http, method, path, slug, published)
            allowed = role in allowed_roles
            refused = response.status_code in (401, 403, 404)
            if allowed and not response.status_code < 400 or not allowed and not refused:
                wrong.append(f"{role} {method} {path}: {response.status_code} ({'allowed' if allowed else 'refused'})")
            if not allowed and "{slug}" in path and not path.endswith("/remove"):
                with the_world.client("admin") as admin:
                    if admin.get(f"/e/{slug}/programme.toml").text != before:
                        wrong.append(f"{role} {method} {path}: refused but the programme changed")
            if not allowed and "{slug}" in path and not published and role in ("anonymous", "attendee",
                                                                                 "other_organiser"):
                if response.status_code != 404:  # a draft does not even exist for them
                    wrong.append(f"{role} {method} {path}: {response.status_code} on a draft (404 expected)")
    with the_world.client("admin") as admin:
        assert admin.get(f"/api/v1/events/{slug}").status_code == 200
    with the_world.client() as anonymous:
        assert anonymous.get(f"/e/{slug}").status_code == (200 if published else 404)
    assert wrong == [], "\n".join(wrong)


def test_every_route_that_names_a_draft_answers_404_to_everybody_but_its_staff(the_world):
    """The class, not a list: every HTTP route of the app with ``{slug}`` in its path, and the websocket."""
    import asyncio

    import websockets
    import websockets.exceptions

    from ehalsodag.app import create_app

    slug = the_world.new_day(region="Utkastregionen", date="2027-06-02")
    routes = []
    for route in create_app(the_world.settings).routes:
        path = re.sub(r"\{(\w+):\w+\}", r"{\1}", route.path)
        if "{slug}" in path and route.__class__.__name__ == "HTTPRoute":
            routes += [(method, path) for method in route.methods if method not in ("HEAD", "OPTIONS")]
    assert len(routes) > 40
    with httpx.Client(base_url=the_world.server.base_url) as http:
        attendee = http.post(f"/api/v1/events/{A}/join", json={}).json()["attendee_token"]
    wrong = []
    for who, headers in (("anonymous", {}), ("attendee of another event", {"Authorization": f"Bearer {attendee}"}),
                         ("organiser of another event",
                          {"Authorization": f"Bearer {the_world.tokens['other_organiser']}"})):
        with httpx.Client(base_url=the_world.server.base_url, headers=headers) as http:
            token = _csrf(http)
            for method, path in routes:
                url = re.sub(r"\{(\w+)\}", "1", path.replace("{slug}", slug))
                if path.startswith("/api/"):
                    response = http.request(method, url, json={}, headers={"X-CSRFToken": token})
                else:
                    response = http.request(method, url, data={"_csrf_token": token}, follow_redirects=False)
                if response.status_code != 404:
                    wrong.append(f"{who}: {method} {path} → {response.status_code}")
    with the_world.client("organiser") as http:
        assert http.get(f"/e/{slug}").status_code == 200

    async def socket() -> None:
        with pytest.raises(websockets.exceptions.InvalidStatus) as refused:
            async with websockets.connect(f"{the_world.server.ws_url}/e/{slug}/ws?token={attendee}"):
                pass
        assert refused.value.response.status_code in (403, 404)

    asyncio.run(socket())
    assert wrong == [], "\n".join(wrong)
