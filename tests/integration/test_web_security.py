"""Web security: headers and CSP, CSRF for forms and cookie-authenticated API calls, escaping of
hostile input in pages and websocket fragments, size limits and unicode edge cases."""

import asyncio
import json
import re
from dataclasses import replace

import httpx
import pytest
import websockets

from tests.conftest import load_fixture, make_staff, run_sync, start_server, stop_server

SLUG = "ostergotland-2021-03-23"
HOSTILE = ["<script>alert(1)</script>", '<img src=x onerror="alert(2)">']


async def test_every_response_carries_the_security_headers_and_a_strict_csp(client, settings):
    await load_fixture(settings, f"{SLUG}.toml")
    for path in ("/", "/login", "/accessibility", f"/api/v1/events/{SLUG}", "/static/css/app.css", "/nope"):
        response = await client.get(path)
        assert response.headers["x-content-type-options"] == "nosniff", path
        assert response.headers["x-frame-options"] == "DENY"
        csp = response.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "frame-src 'none'" in csp
    page = await client.get(f"/e/{SLUG}")
    csp = page.headers["content-security-policy"]
    frame_src = re.search(r"frame-src ([^;]+)", csp).group(1)
    assert frame_src.split() == ["https://www.youtube-nocookie.com"]  # only the event's own stream host
    assert "unsafe-eval" not in csp and "script-src 'self';" in csp
    assert "<script>" not in page.text.replace("<script src=", "")  # no inline scripts at all
    assert " on" not in re.sub(r"<[^>]*>", lambda m: m.group(0) if " on" not in m.group(0).lower() else "X", page.text)


async def test_cookies_are_httponly_samesite_and_secure_behind_https(settings, tmp_path):
    from litestar.testing import AsyncTestClient

    from ehalsodag.app import create_app

    await load_fixture(settings, f"{SLUG}.toml")
    app = create_app(replace(settings, base_url="https://ehalsodag.example.se"))
    async with AsyncTestClient(app=app, base_url="https://ehalsodag.example.se") as client:
        joined = await client.post(f"/api/v1/events/{SLUG}/join", json={})
        cookie = joined.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=lax" in cookie and "secure" in cookie


async def test_cookie_authenticated_api_writes_need_the_csrf_header(client, settings):
    await load_fixture(settings, f"{SLUG}.toml")
    page = await client.get(f"/e/{SLUG}")  # gets the CSRF cookie, like a browser
    token = re.search(r'name="_csrf_token" value="([^"]+)"', page.text).group(1)
    await client.post(f"/e/{SLUG}/join", data={"_csrf_token": token})
    forged = await client.post(f"/api/v1/events/{SLUG}/questions", json={"text": "Forged?"})
    assert forged.status_code == 401  # the attendee cookie alone is not enough for an API write
    allowed = await client.post(f"/api/v1/events/{SLUG}/questions", json={"text": "Med token"},
                                headers={"X-CSRFToken": client.cookies.get("csrftoken")})
    assert allowed.status_code == 201
    form_without_token = await client.post(f"/e/{SLUG}/chat", data={"text": "x"})
    assert form_without_token.status_code == 403


def test_hostile_input_is_escaped_in_pages_and_websocket_fragments(settings, tmp_path):
    run_sync(load_fixture(settings, f"{SLUG}.toml"))
    staff = {"Authorization": f"Bearer {run_sync(make_staff(settings, 'mod@example.se', 'moderator', SLUG))}"}
    server = start_server(settings, tmp_path / "server.log")
    try:
        with httpx.Client(base_url=server.base_url) as http:
            attendee = http.post(f"/api/v1/events/{SLUG}/join",
                                 json={"display_name": HOSTILE[1][:80], "organisation": HOSTILE[0]}).json()
            auth = {"Authorization": f"Bearer {attendee['attendee_token']}"}
            watcher = http.post(f"/api/v1/events/{SLUG}/join", json={}).json()["attendee_token"]

            async def scenario() -> list[str]:
                frames = []
                async with websockets.connect(f"{server.ws_url}/e/{SLUG}/ws?token={watcher}") as ws:
                    frames.append(await ws.recv())
                    for text in HOSTILE:
                        assert http.post(f"/api/v1/events/{SLUG}/questions", headers=auth,
                                         json={"text": text, "anonymous": False}).status_code == 201
                        assert http.post(f"/api/v1/events/{SLUG}/chat", headers=auth,
                                         json={"text": text}).status_code == 201
                    poll = http.post(f"/api/v1/events/{SLUG}/polls", headers=staff, json={
                        "kind": "single", "question": HOSTILE[0], "options": HOSTILE}).json()["id"]
                    http.post(f"/api/v1/polls/{poll}/open", headers=staff)
                    try:
                        while True:
                            frames.append(await asyncio.wait_for(ws.recv(), 1.0))
                    except TimeoutError:
                        pass
                return frames

            frames = asyncio.run(scenario())
            page = http.get(f"/e/{SLUG}", headers=auth).text
            screen = http.get(f"/e/{SLUG}/screen").text
    finally:
        stop_server(server)
    for html in (page, screen, *frames):
        assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "&lt;img src=x onerror=" in page
    assert any("&lt;script&gt;alert(1)&lt;/script&gt;" in frame for frame in frames[1:])


async def test_size_limits_and_unicode_edge_cases(client, settings):
    await load_fixture(settings, f"{SLUG}.toml")
    joined = await client.post(f"/api/v1/events/{SLUG}/join", json={})
    auth = {"Authorization": f"Bearer {joined.json()['attendee_token']}"}
    client.cookies.clear()
    huge = await client.post(f"/api/v1/events/{SLUG}/questions", content=json.dumps({"text": "x" * 70_000}),
                             headers={**auth, "content-type": "application/json"})
    assert huge.status_code == 413
    cases = {
        "emoji and accents": ("Hur mår 👩‍⚕️ vårdpersonalen på Åre?", 201),
        "right-to-left override": ("abc\u202edcba", 422),
        "zero-width space": ("Hej\u200bdär", 422),
        "NUL": ("a\x00b", 400),  # refused at decoding (web/bounds.py): no text may carry one
        "only spaces": ("   \t ", 422),
        "wrong type": (12345, 400),
    }
    for name, (text, status) in cases.items():
        response = await client.post(f"/api/v1/events/{SLUG}/questions", json={"text": text}, headers=auth)
        assert response.status_code == status, (name, response.text)
        assert status == 201 or response.json()["detail"]
    for body in (b"[1, 2", b"null", b'"text"', b"{\"text\": {\"a\": 1}}"):
        response = await client.post(f"/api/v1/events/{SLUG}/questions", content=body,
                                     headers={**auth, "content-type": "application/json"})
        assert 400 <= response.status_code < 500, body


@pytest.mark.parametrize("size", [70_000])
def test_websocket_frames_are_limited(settings, tmp_path, size):
    run_sync(load_fixture(settings, f"{SLUG}.toml"))
    server = start_server(settings, tmp_path / "server.log")
    try:
        token = httpx.post(f"{server.base_url}/api/v1/events/{SLUG}/join", json={}).json()["attendee_token"]

        async def scenario() -> int | None:
            async with websockets.connect(f"{server.ws_url}/e/{SLUG}/ws?token={token}", max_size=None) as ws:
                await ws.recv()
                await ws.send("x" * size)
                try:
                    while True:
                        await asyncio.wait_for(ws.recv(), 3)
                except websockets.ConnectionClosed as closed:
                    return closed.rcvd.code if closed.rcvd else None

        assert asyncio.run(scenario()) == 1009  # message too big
    finally:
        stop_server(server)
