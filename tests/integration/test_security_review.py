"""Issue 15, items 2, 3 and 8 (the outside security review): login throttling and argon2 off the event loop,
cross-site writes to the JSON API, files and transport."""

from __future__ import annotations

import asyncio
import re

import httpx
from litestar.testing import AsyncTestClient

from ehalsodag.settings import Settings
from tests.conftest import STAFF_PASSWORD, load_fixture, make_staff

SLUG = "ostergotland-2021-03-23"
EVIL = "https://evil.example"


# --- item 3: a page on another site cannot act through the JSON API ------------------------------------------------


async def test_a_cross_site_text_plain_form_cannot_join_and_set_the_cookie(client: AsyncTestClient, settings: Settings):
    await load_fixture(settings, f"{SLUG}.toml")
    before = (await client.get(f"/e/{SLUG}/me")).status_code  # 401: nobody joined yet
    forged_body = '{"display_name": "Angripare"}'
    cases = [
        # what <form enctype="text/plain" action=".../join"> on another site sends
        ({"Content-Type": "text/plain", "Origin": EVIL, "Sec-Fetch-Site": "cross-site"}, 403),
        # the same, had the browser sent no Origin (older browsers, privacy extensions)
        ({"Content-Type": "text/plain"}, 415),
        ({"Content-Type": "application/x-www-form-urlencoded"}, 415),
        ({"Content-Type": "multipart/form-data; boundary=x"}, 415),
        # fetch(url, {mode: "no-cors", body: new Blob([...])}) sends no type at all
        ({}, 415),
        # JSON from another origin (the browser would ask first; a script could still try)
        ({"Content-Type": "application/json", "Origin": EVIL}, 403),
    ]
    for headers, status in cases:
        response = await client.post(f"/api/v1/events/{SLUG}/join", content=forged_body, headers=headers)
        assert response.status_code == status, (headers, response.text)
        assert "set-cookie" not in {k.lower() for k in response.headers}, headers
        assert response.json()["detail"]
    assert not any(name.startswith("ehd_a") for name in client.cookies), client.cookies
    assert (await client.get(f"/e/{SLUG}/me")).status_code == before == 401
    # our own pages and scripts still join: JSON, from this origin or without one
    own = await client.post(f"/api/v1/events/{SLUG}/join", json={"display_name": "Jag"},
                            headers={"Origin": "http://testserver.local", "Sec-Fetch-Site": "same-origin"})
    assert own.status_code == 201 and "ehd_a" in own.headers["set-cookie"]
    script = await client.post(f"/api/v1/events/{SLUG}/join", json={})
    assert script.status_code == 201


async def test_every_api_write_refuses_what_a_cross_site_form_can_send(client: AsyncTestClient, settings: Settings):
    await load_fixture(settings, f"{SLUG}.toml")
    token = (await client.post(f"/api/v1/events/{SLUG}/join", json={})).json()["attendee_token"]
    client.cookies.clear()
    auth = {"Authorization": f"Bearer {token}"}
    for path in (f"/api/v1/events/{SLUG}/questions", f"/api/v1/events/{SLUG}/chat", "/api/v1/polls/1/responses",
                 f"/api/v1/events/{SLUG}/evaluation", f"/api/v1/events/{SLUG}/live"):
        plain = await client.post(path, content='{"text": "x"}', headers={**auth, "Content-Type": "text/plain"})
        assert plain.status_code == 415, (path, plain.text)
        foreign = await client.post(path, json={"text": "x"}, headers={**auth, "Origin": EVIL})
        assert foreign.status_code == 403, (path, foreign.text)
    # an action with an empty body needs no type (curl -X POST -H 'Authorization: …')
    empty = await client.post("/api/v1/questions/999/upvote", headers=auth)
    assert empty.status_code != 415


# --- item 2: login throttling, and the password hash off the event loop ------------------------------------------


async def _login(client: AsyncTestClient, email: str, password: str) -> httpx.Response:
    page = await client.get("/login")
    csrf = re.search(r'name="_csrf_token" value="([^"]+)"', page.text).group(1)
    return await client.post("/login", data={"_csrf_token": csrf, "email": email, "password": password},
                             follow_redirects=False)


async def test_login_is_throttled_per_account_and_per_address_with_a_clear_message(client, settings):
    from ehalsodag.staff.routes import LOGIN_PER_ACCOUNT, LOGIN_PER_ADDRESS

    await load_fixture(settings, f"{SLUG}.toml")
    await make_staff(settings, "mod@example.se", "moderator", SLUG)
    await make_staff(settings, "other@example.se", "moderator", SLUG)
    for _attempt in range(LOGIN_PER_ACCOUNT):
        assert (await _login(client, "mod@example.se", "wrong password")).status_code == 401
    throttled = await _login(client, "MOD@example.se", STAFF_PASSWORD)  # even the right password now waits
    assert throttled.status_code == 429
    assert "För många inloggningsförsök" in throttled.text and int(throttled.headers["retry-after"]) > 0
    assert "ehd_staff" not in client.cookies
    # another account from the same address is not locked by this one's guesses ...
    assert (await _login(client, "other@example.se", STAFF_PASSWORD)).status_code == 303
    # ... until the address has tried too many accounts
    for number in range(LOGIN_PER_ADDRESS):
        await _login(client, f"guess{number}@example.se", "wrong password")
    assert (await _login(client, "other@example.se", STAFF_PASSWORD)).status_code == 429


async def test_the_password_hash_is_checked_off_the_event_loop(client, settings, monkeypatch):
    from ehalsodag.staff import service

    await load_fixture(settings, f"{SLUG}.toml")
    await make_staff(settings, "mod@example.se", "moderator", SLUG)
    on_loop: list[bool] = []
    real = service._hasher

    class Watching:
        def verify(self, hash_: str, password: str) -> bool:
            try:
                asyncio.get_running_loop()
                on_loop.append(True)
            except RuntimeError:
                on_loop.append(False)
            return real.verify(hash_, password)

    monkeypatch.setattr(service, "_hasher", Watching())
    assert (await _login(client, "mod@example.se", "wrong password")).status_code == 401
    assert (await _login(client, "nobody@example.se", "wrong password")).status_code == 401
    assert (await _login(client, "mod@example.se", STAFF_PASSWORD)).status_code == 303
    assert on_loop == [False, False, False]
