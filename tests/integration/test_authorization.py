"""The authorisation matrix: every HTTP route × every role, allowed or refused (401/403).

Every route of the app must be classified here: a new route makes this test fail until it is.
"""

import asyncio
import re
from dataclasses import replace

import httpx
import pytest
import websockets
import websockets.exceptions

from ehalsodag.app import create_app
from tests.conftest import load_fixture, make_staff, run_sync, start_server, stop_server

A = "ostergotland-2021-03-23"
B = "other"

ROLES = ("anonymous", "attendee", "other_attendee", "moderator", "other_moderator", "organiser", "admin")
#: Who may use a route. public: everyone; attendee: an attendee of the event; staff: its moderators,
#: organisers and admins; organiser: its organisers and admins.
ALLOWED = {
    "public": set(ROLES),
    "attendee": {"attendee"},
    "staff": {"moderator", "organiser", "admin"},
    "organiser": {"organiser", "admin"},
    # the metrics token (EHALSODAG_METRICS_TOKEN) alone: no attendee's or staff member's token opens it
    "metrics_token": set(),
    # the organisers of the framework the day extends (the national organiser; none here) and admins
    "framework_organiser": {"admin"},
    # anyone with a staff role, on any event (the studio's own pages; tests/integration/test_accounts.py)
    "any_staff": {"moderator", "other_moderator", "organiser", "admin"},
    # account routes that change who may do what: their matrix (with organisers of other events and fresh targets
    # per request) is tests/integration/test_accounts.py, on SQLite and PostgreSQL
    "accounts": set(),
}
#: The servers here run with a metrics token, so that GET /metrics exists (tests/integration/test_metrics.py).
METRICS_TOKEN = "authorization-matrix-metrics-token"
MATRIX = {
    ("GET", "/"): "public",
    ("GET", "/accessibility"): "public",
    ("GET", "/privacy"): "public",
    ("GET", "/integritet"): "public",
    ("GET", "/tillganglighet"): "public",
    ("GET", "/login"): "public",
    ("POST", "/login"): "public",
    ("POST", "/logout"): "public",
    ("GET", "/lang/{code}"): "public",
    ("GET", "/j/{code}"): "public",
    ("GET", "/kod"): "public",
    ("GET", "/kod/{code}"): "public",
    ("GET", "/e/{slug}"): "public",
    ("GET", "/e/{slug}/screen"): "public",
    ("GET", "/e/{slug}/overlay"): "public",
    ("GET", "/e/{slug}/qr.svg"): "public",
    ("GET", "/e/{slug}/schedule.json"): "public",
    ("GET", "/e/{slug}/schedule.xml"): "public",
    ("GET", "/e/{slug}/schedule.ics"): "public",
    ("GET", "/api/v1/events/{slug}"): "public",
    ("GET", "/api/v1/events/{slug}/polls"): "public",
    ("GET", "/api/v1/events/{slug}/evaluation"): "public",
    ("POST", "/api/v1/events/{slug}/join"): "public",
    ("POST", "/e/{slug}/join"): "public",
    ("GET", "/schema"): "public",
    ("GET", "/schema/openapi.json"): "public",
    ("GET", "/schema/openapi.yaml"): "public",
    ("GET", "/schema/{path}"): "public",
    ("GET", "/healthz"): "public",
    ("GET", "/readyz"): "public",
    ("GET", "/metrics"): "metrics_token",
    ("GET", "/e/{slug}/framework"): "staff",
    ("GET", "/e/{slug}/framework/materials/{material_id}"): "staff",
    ("POST", "/e/{slug}/framework/materials"): "framework_organiser",
    ("POST", "/e/{slug}/framework/links"): "framework_organiser",
    ("POST", "/e/{slug}/framework/materials/{material_id}/delete"): "framework_organiser",
    ("POST", "/e/{slug}/rehearsal"): "staff",
    ("POST", "/e/{slug}/rehearsal/delete"): "staff",
    ("GET", "/e/{slug}/archive"): "public",
    ("GET", "/e/{slug}/archive/evaluation"): "public",
    ("POST", "/e/{slug}/archive/polls/{poll_id}/publish"): "organiser",
    ("POST", "/e/{slug}/archive/evaluation/publish"): "organiser",
    ("POST", "/api/v1/events/{slug}/questions"): "attendee",
    ("POST", "/e/{slug}/questions"): "attendee",
    ("POST", "/api/v1/questions/{question_id}/upvote"): "attendee",
    ("DELETE", "/api/v1/questions/{question_id}/upvote"): "attendee",
    ("POST", "/e/{slug}/questions/{question_id}/upvote"): "attendee",
    # the asker's own question (other attendees of the event: 403, tests/integration/test_phone.py)
    ("PATCH", "/api/v1/questions/{question_id}"): "attendee",
    ("DELETE", "/api/v1/questions/{question_id}"): "attendee",
    ("POST", "/e/{slug}/questions/{question_id}/edit"): "attendee",
    ("POST", "/e/{slug}/questions/{question_id}/withdraw"): "attendee",
    ("POST", "/api/v1/questions/{question_id}/reply"): "staff",
    ("DELETE", "/api/v1/questions/{question_id}/reply"): "staff",
    ("POST", "/e/{slug}/control/questions/{question_id}/reply"): "staff",
    ("POST", "/api/v1/events/{slug}/chat"): "attendee",
    ("POST", "/e/{slug}/chat"): "attendee",
    ("POST", "/api/v1/polls/{poll_id}/responses"): "attendee",
    ("POST", "/e/{slug}/polls/{poll_id}/respond"): "attendee",
    ("POST", "/api/v1/events/{slug}/evaluation"): "attendee",
    ("POST", "/e/{slug}/evaluation"): "attendee",
    ("GET", "/e/{slug}/chat"): "attendee_or_staff",
    ("GET", "/e/{slug}/me"): "attendee",
    ("PATCH", "/api/v1/events/{slug}/me"): "attendee",
    ("POST", "/e/{slug}/region"): "attendee",
    ("POST", "/e/{slug}/me/delete"): "attendee",
    ("GET", "/e/{slug}/control"): "staff",
    ("POST", "/e/{slug}/control/live"): "staff",
    ("POST", "/e/{slug}/control/shift"): "staff",
    ("POST", "/e/{slug}/control/announcement"): "staff",
    ("POST", "/e/{slug}/control/screen"): "staff",
    ("POST", "/api/v1/events/{slug}/screen"): "staff",
    ("GET", "/api/v1/events/{slug}/screen"): "public",
    ("POST", "/api/v1/events/{slug}/live"): "staff",
    ("POST", "/api/v1/events/{slug}/shift"): "staff",
    ("POST", "/e/{slug}/control/end"): "staff",
    ("POST", "/api/v1/events/{slug}/end"): "staff",
    ("POST", "/api/v1/events/{slug}/announcement"): "staff",
    ("POST", "/api/v1/questions/{question_id}/moderate"): "staff",
    ("POST", "/e/{slug}/control/questions/{question_id}"): "staff",
    ("GET", "/e/{slug}/control/questions/{question_id}/edit"): "staff",
    ("POST", "/api/v1/events/{slug}/questions/approve"): "staff",
    ("POST", "/e/{slug}/control/questions/approve"): "staff",
    ("DELETE", "/api/v1/chat/{message_id}"): "staff",
    ("POST", "/e/{slug}/control/chat/{message_id}/delete"): "staff",
    ("POST", "/api/v1/events/{slug}/attendees/{attendee_id}/mute"): "staff",
    ("POST", "/e/{slug}/control/attendees/{attendee_id}/mute"): "staff",
    ("POST", "/api/v1/events/{slug}/attendees/{attendee_id}/unmute"): "staff",
    ("POST", "/e/{slug}/control/attendees/{attendee_id}/unmute"): "staff",
    ("GET", "/api/v1/events/{slug}/muted"): "staff",
    ("POST", "/api/v1/events/{slug}/broadcast/end"): "staff",
    ("POST", "/e/{slug}/control/broadcast/end"): "staff",
    # an undo: staff of the event (its stage) for hide, mute and delete; the attendee alone for their own erasure
    ("POST", "/api/v1/undo/{undo_id}"): "attendee_or_staff",
    ("POST", "/e/{slug}/control/undo/{undo_id}"): "staff",
    ("POST", "/e/{slug}/me/undo/{undo_id}"): "attendee",
    ("POST", "/api/v1/events/{slug}/settings"): "staff",
    ("POST", "/e/{slug}/control/settings"): "staff",
    ("POST", "/api/v1/events/{slug}/polls"): "staff",
    ("POST", "/e/{slug}/control/polls"): "staff",
    ("POST", "/api/v1/polls/{poll_id}/{action}"): "staff",
    ("POST", "/e/{slug}/control/polls/{poll_id}/{action}"): "staff",
    ("POST", "/e/{slug}/control/polls/{poll_id}/wall/{response_id}"): "staff",
    ("PATCH", "/api/v1/polls/{poll_id}"): "staff",
    ("GET", "/e/{slug}/control/polls/{poll_id}/edit"): "staff",
    ("POST", "/e/{slug}/control/polls/{poll_id}/edit"): "staff",
    ("POST", "/api/v1/polls/{poll_id}/duplicate"): "staff",
    ("POST", "/e/{slug}/control/polls/{poll_id}/duplicate"): "staff",
    ("GET", "/e/{slug}/control/polls/bank"): "staff",
    ("GET", "/e/{slug}/control/polls/new"): "staff",
    ("POST", "/api/v1/events/{slug}/evaluation/open"): "staff",
    ("POST", "/e/{slug}/control/evaluation/open"): "staff",
    ("GET", "/api/v1/events/{slug}/results"): "organiser",
    ("GET", "/e/{slug}/results"): "organiser",
    ("GET", "/e/{slug}/results/report"): "organiser",
    ("GET", "/e/{slug}/results/report.pdf"): "organiser",
    ("GET", "/e/{slug}/results/export/{fmt}"): "organiser",
    ("GET", "/e/{slug}/results/compare"): "organiser",
    ("POST", "/api/v1/events/{slug}/reach"): "organiser",
    ("POST", "/e/{slug}/results/reach"): "organiser",
    ("GET", "/e/{slug}/audit"): "organiser",
    ("GET", "/e/{slug}/audit.csv"): "organiser",
    ("GET", "/studio"): "any_staff",
    ("GET", "/studio/tokens"): "any_staff",
    ("GET", "/studio/password"): "any_staff",
    ("GET", "/studio/staff"): "organiser",
    ("GET", "/invite/{secret}"): "public",
    ("POST", "/invite/{secret}"): "accounts",
    ("POST", "/studio/staff/invitations"): "accounts",
    ("POST", "/studio/staff/roles/{role_id}"): "accounts",
    ("POST", "/studio/staff/roles/{role_id}/delete"): "accounts",
    ("POST", "/studio/staff/invitations/{invitation_id}/delete"): "accounts",
    ("POST", "/studio/tokens"): "accounts",
    ("POST", "/studio/tokens/{token_id}/delete"): "accounts",
    ("POST", "/studio/password"): "accounts",
    # a day from the framework (tests/integration/test_days_authorization.py covers them on a draft day too)
    ("POST", "/api/v1/events"): "organiser",
    ("GET", "/studio/new"): "organiser",
    ("POST", "/studio/new"): "organiser",
    ("GET", "/studio/e/{slug}"): "organiser",
    ("POST", "/studio/e/{slug}/blocks"): "organiser",
    ("GET", "/studio/e/{slug}/blocks/{key}"): "organiser",
    ("POST", "/studio/e/{slug}/blocks/{key}"): "organiser",
    ("PUT", "/api/v1/events/{slug}/blocks/{key}"): "organiser",
    ("POST", "/studio/e/{slug}/blocks/{key}/remove"): "organiser",
    ("POST", "/studio/e/{slug}/blocks/{key}/move"): "organiser",
    ("GET", "/studio/e/{slug}/evaluation"): "organiser",
    ("POST", "/studio/e/{slug}/evaluation"): "organiser",
    ("POST", "/studio/e/{slug}/bank"): "organiser",
    ("GET", "/e/{slug}/programme.toml"): "organiser",
    ("PUT", "/api/v1/events/{slug}/programme"): "organiser",
    ("POST", "/studio/e/{slug}/upload"): "organiser",
    ("POST", "/studio/e/{slug}/publish"): "organiser",
    ("POST", "/api/v1/events/{slug}/publish"): "organiser",
    ("POST", "/api/v1/events/{slug}/unpublish"): "organiser",
}


#: Valid bodies, so that what is tested is the authorisation and not the validation.
BODIES = {
    "/api/v1/events/{slug}/questions": {"text": "En fråga"},
    "/e/{slug}/questions": {"text": "En fråga"},
    "/api/v1/events/{slug}/chat": {"text": "Hej"},
    "/e/{slug}/chat": {"text": "Hej"},
    "/api/v1/polls/{poll_id}/responses": {"text": "Ett svar"},
    "/e/{slug}/polls/{poll_id}/respond": {"text": "Ett svar"},
    "/api/v1/events/{slug}/evaluation": {"answers": {"helhet": 5, "aterkommande": "yes"}},
    "/e/{slug}/evaluation": {"q_helhet": "5", "q_aterkommande": "yes"},
    "/api/v1/events/{slug}/live": {"block_id": "{block_id}"},
    "/e/{slug}/control/live": {"block_id": "{block_id}"},
    "/api/v1/events/{slug}/shift": {"minutes": 1},
    "/e/{slug}/control/shift": {"minutes": "1"},
    "/api/v1/events/{slug}/announcement": {"text": ""},
    "/api/v1/events/{slug}/end": {"stage": "main"},
    "/e/{slug}/control/end": {"stage": "main"},
    "/api/v1/events/{slug}/me": {"stage": "main"},
    "/e/{slug}/region": {"stage": "main"},
    "/e/{slug}/control/announcement": {"text": ""},
    "/api/v1/events/{slug}/screen": {"show": "auto"},
    "/e/{slug}/control/screen": {"show": "auto"},
    "/api/v1/questions/{question_id}/moderate": {"action": "approve"},
    "/api/v1/questions/{question_id}": {"text": "Fråga, rättad?"},
    "/e/{slug}/questions/{question_id}/edit": {"text": "Fråga, rättad?"},
    "/api/v1/questions/{question_id}/reply": {"text": "Ett skriftligt svar"},
    "/e/{slug}/control/questions/{question_id}/reply": {"text": "Ett skriftligt svar"},
    "/e/{slug}/control/questions/{question_id}": {"action": "approve"},
    "/api/v1/events/{slug}/questions/approve": {"ids": [1]},
    "/e/{slug}/control/questions/approve": {"ids": "1"},
    "/api/v1/events/{slug}/polls": {"kind": "single", "question": "Ja eller nej?", "options": ["Ja", "Nej"]},
    "/e/{slug}/control/polls": {"kind": "single", "question": "Ja eller nej?", "options": "Ja\nNej"},
    "/api/v1/events/{slug}/evaluation/open": {"minutes": 30},
    "/e/{slug}/control/evaluation/open": {"minutes": "30"},
    "/e/{slug}/control/polls/{poll_id}/wall/{response_id}": {"approve": "1"},
    "/api/v1/polls/{poll_id}": {"question": "Ja eller nej?"},
    "/e/{slug}/control/polls/{poll_id}/edit": {"kind": "open_text", "question": "Ja eller nej?"},
    "/login": {"email": "nobody@example.se", "password": "wrong password"},
    "/api/v1/events/{slug}/reach": {"max_group_size": 20},
    "/e/{slug}/results/reach": {"max_group_size": "20"},
    "/api/v1/events": {"framework": "ramprogram-2021.toml", "region": "Matrisregionen", "date": "2027-01-01"},
    "/studio/new": {"framework": "ramprogram-2021.toml", "region": "Matrisregionen", "date": "2027-01-01"},
}


def body_for(path: str, params: dict) -> dict:
    return {k: (int(v.format(**params)) if isinstance(v, str) and v.startswith("{") else v)
            for k, v in BODIES.get(path, {}).items()}


def app_routes(settings) -> set[tuple[str, str]]:
    app = create_app(replace(settings, metrics_token=METRICS_TOKEN))
    found = set()
    for route in app.routes:
        path = re.sub(r"\{(\w+):\w+\}", r"{\1}", route.path)
        if path.startswith("/static") or route.__class__.__name__ != "HTTPRoute":
            continue
        for method in route.methods:
            if method not in ("HEAD", "OPTIONS"):
                found.add((method, path))
    return found


def test_every_route_is_in_the_matrix(settings):
    assert app_routes(settings) == set(MATRIX), "classify new routes in MATRIX"


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    from ehalsodag.db.migrate import upgrade
    from tests.conftest import make_settings

    tmp = tmp_path_factory.mktemp("authz")
    settings = make_settings(tmp)
    upgrade(settings)
    run_sync(load_fixture(settings, f"{A}.toml"))
    run_sync(load_fixture(settings, "other.toml"))
    run_sync(load_fixture(settings, "ramprogram-2021.toml"))  # the framework A extends (its landing place)
    tokens = {
        "moderator": run_sync(make_staff(settings, "mod@example.se", "moderator", A)),
        "other_moderator": run_sync(make_staff(settings, "othermod@example.se", "moderator", B)),
        "organiser": run_sync(make_staff(settings, "org@example.se", "organiser", A)),
        "admin": run_sync(make_staff(settings, "admin@example.se", "admin")),
    }
    with pytest.MonkeyPatch.context() as env:
        env.setenv("EHALSODAG_METRICS_TOKEN", METRICS_TOKEN)
        server = start_server(settings, tmp / "server.log")
    http = httpx.Client(base_url=server.base_url)
    tokens["attendee"] = http.post(f"/api/v1/events/{A}/join", json={"display_name": "A"}).json()["attendee_token"]
    tokens["other_attendee"] = http.post(f"/api/v1/events/{B}/join", json={}).json()["attendee_token"]
    staff = {"Authorization": f"Bearer {tokens['moderator']}"}
    attendee = {"Authorization": f"Bearer {tokens['attendee']}"}
    event = http.get(f"/api/v1/events/{A}").json()
    question = http.post(f"/api/v1/events/{A}/questions", json={"text": "Fråga?"}, headers=attendee).json()["id"]
    message = http.post(f"/api/v1/events/{A}/chat", json={"text": "Hej"}, headers=attendee).json()["id"]
    polls = http.get(f"/api/v1/events/{A}/polls").json()
    poll = next(p["id"] for p in polls if p["kind"] == "open_text")
    http.post(f"/api/v1/polls/{poll}/open", headers=staff)
    http.post(f"/api/v1/polls/{poll}/responses", json={"text": "Svar"}, headers=attendee)
    attendee_id = http.get(f"/e/{A}/control", headers=staff).text
    attendee_id = int(re.search(r'/attendees/(\d+)/mute', attendee_id).group(1))
    params = {"slug": A, "code": event["join_code"], "question_id": question, "message_id": message,
              "poll_id": poll, "action": "reveal", "response_id": 1, "fmt": "json", "attendee_id": attendee_id,
              "block_id": event["blocks"][0]["id"], "path": "openapi.json", "material_id": 1, "secret": "ehi_unknown",
              "key": "block-1"}
    yield server, http, tokens, params
    http.close()
    stop_server(server)


@pytest.mark.parametrize("role", ROLES)
def test_each_role_gets_exactly_what_it_may(world, role):
    server, http, tokens, params = world
    client = httpx.Client(base_url=server.base_url)
    client.get("/login")  # a CSRF cookie, as a browser would have
    csrf = {"X-CSRFToken": client.cookies.get("csrftoken")}
    auth = {"Authorization": f"Bearer {tokens[role]}"} if role != "anonymous" else {}
    wrong = []
    for (method, path), who in sorted(MATRIX.items()):
        if path in ("/logout", "/login") and method == "POST" or path.endswith("/me/delete") or "/mute" in path or (
                "/undo/" in path or path.endswith("/broadcast/end")) or (
                who == "accounts") or path.endswith(("/publish", "/unpublish", "/withdraw")) or (
                method == "DELETE" and path == "/api/v1/questions/{question_id}"):
            continue  # would end the session or change the world for the other roles (a withdrawn question is gone
            # for every later request); covered elsewhere (undo and the end of the broadcast:
            # tests/integration/test_safety.py; withdrawing: tests/integration/test_phone.py)
        for name in list(client.cookies.keys()):  # joining sets a cookie: each request speaks for the role alone
            if name != "csrftoken":
                client.cookies.delete(name)
        url = path.format(**params)
        if method == "GET":
            response = client.get(url, headers=auth, follow_redirects=False)
        elif path.startswith("/api/"):
            response = client.request(method, url, headers={**auth, **csrf}, json=body_for(path, params))
        else:
            response = client.request(method, url, headers={**auth, **csrf}, follow_redirects=False,
                                      data={"_csrf_token": csrf["X-CSRFToken"], **body_for(path, params)})
        allowed = role in (ALLOWED[who] if who != "attendee_or_staff" else ALLOWED["attendee"] | ALLOWED["staff"])
        refused = response.status_code in (401, 403) or (
            method == "GET" and response.status_code == 303 and "/login" in response.headers.get("location", ""))
        if allowed == refused or response.status_code >= 500:
            wrong.append(f"{method} {path}: {response.status_code} for {role} ({'allowed' if allowed else 'refused'})")
    client.close()
    assert wrong == [], "\n".join(wrong)


def test_websocket_roles_and_no_moderation_over_the_attendee_socket(world):
    server, http, tokens, params = world

    async def scenario() -> None:
        for token in ("", tokens["other_attendee"], "eha_forged"):
            with pytest.raises(websockets.exceptions.InvalidStatus):
                async with websockets.connect(f"{server.ws_url}/e/{A}/ws?token={token}"):
                    pass
        async with websockets.connect(f"{server.ws_url}/e/{A}/ws?token={tokens['attendee']}") as ws:
            snapshot = await ws.recv()
            assert 'id="run-of-show"' not in snapshot and 'id="mod-questions"' not in snapshot
            for attempt in (f'{{"action": "highlight", "question_id": {params["question_id"]}}}',
                            '{"HEADERS": {"HX-Request": "true"}, "block_id": 1}', "POST /api/v1/events/x/live"):
                await ws.send(attempt)
            await asyncio.sleep(0.3)
        async with websockets.connect(f"{server.ws_url}/e/{A}/ws?token={tokens['attendee']}") as ws:
            snapshot = await ws.recv()
            assert "highlighted" not in snapshot.split('id="question-list"')[1].split("</ol>")[0]

    asyncio.run(scenario())
    assert http.get(f"/api/v1/events/{A}").json()["announcement"] is None
