"""Issue 15, items 2, 3 and 8 (the outside security review): login throttling and argon2 off the event loop,
cross-site writes to the JSON API, files and transport."""

from __future__ import annotations

import asyncio
import os
import re
import socket
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import websockets
import websockets.exceptions  # a submodule: "import websockets" alone does not load it
from litestar.testing import AsyncTestClient

from ehalsodag.app import create_app
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


# --- item 8: files and transport -------------------------------------------------------------------------------------


def test_the_sqlite_file_and_its_journal_are_readable_by_their_owner_only(tmp_path: Path):
    from ehalsodag.db.migrate import upgrade
    from tests.conftest import make_settings, run_sync

    old_umask = os.umask(0o022)  # the usual default: files world-readable unless made otherwise
    try:
        settings = make_settings(tmp_path)
        upgrade(settings)
        run_sync(load_fixture(settings, f"{SLUG}.toml"))  # the app's engine opens it and writes (WAL, SHM)
    finally:
        os.umask(old_umask)
    files = [p for p in tmp_path.iterdir() if p.name.startswith("test.sqlite3")]
    assert {p.name for p in files} >= {"test.sqlite3"}
    assert {p.name: oct(p.stat().st_mode & 0o777) for p in files} == {p.name: "0o600" for p in files}


def test_the_generated_secret_key_is_created_private_before_it_is_written(tmp_path: Path, monkeypatch):
    from ehalsodag import settings as settings_module

    created: list[tuple[str, int, int]] = []
    real_open = os.open

    def watching_open(path: Any, flags: int, mode: int = 0o777, *args: Any, **kwargs: Any) -> int:
        created.append((str(path), flags, mode))
        return real_open(path, flags, mode, *args, **kwargs)

    monkeypatch.setattr(settings_module.os, "open", watching_open)
    key = settings_module._default_secret(tmp_path / "var")
    path = tmp_path / "var" / "secret_key"
    assert path.read_text() == key and len(key) >= 48
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert oct((tmp_path / "var").stat().st_mode & 0o777) == "0o700"
    # created by one call that gives the mode (and refuses to reuse a file someone else made), before any write
    assert [(p, f & os.O_EXCL != 0, m) for p, f, m in created] == [(str(path), True, 0o600)]
    assert settings_module._default_secret(tmp_path / "var") == key  # read back on the next start


async def test_hsts_behind_https_and_unknown_hosts_refused_when_the_base_url_is_set(settings: Settings):
    await load_fixture(settings, f"{SLUG}.toml")
    secure = replace(settings, base_url="https://ehalsodag.example.se")
    async with AsyncTestClient(app=create_app(secure), base_url="https://ehalsodag.example.se") as client:
        page = await client.get(f"/e/{SLUG}")
        assert page.status_code == 200
        assert page.headers["strict-transport-security"] == "max-age=31536000"
        qr = await client.get(f"/e/{SLUG}/qr.svg")
        assert qr.status_code == 200
    async with AsyncTestClient(app=create_app(secure), base_url="https://evil.example") as client:
        for path in (f"/e/{SLUG}/qr.svg", f"/e/{SLUG}/schedule.json", f"/e/{SLUG}/schedule.ics", "/"):
            refused = await client.get(path)
            assert refused.status_code == 400, (path, refused.text)
            assert "evil.example" not in refused.text
        assert (await client.get("/healthz")).status_code == 200  # probes come by address
    plain = replace(settings, base_url="http://localhost:8000")
    async with AsyncTestClient(app=create_app(plain), base_url="http://localhost:8000") as client:
        assert "strict-transport-security" not in (await client.get("/")).headers


def test_production_refuses_to_start_without_a_base_url():
    from ehalsodag.settings import configuration_problems

    production = Settings(database_url="sqlite+aiosqlite:///x", redis_url=None, secret_key="s" * 48, base_url=None,
                          environment="production")
    problems = configuration_problems(production, workers=1, host="127.0.0.1")
    assert [p for p in problems if p.startswith("EHALSODAG_BASE_URL is not set")], problems
    assert configuration_problems(replace(production, base_url="https://ehalsodag.example.se"), workers=1,
                                  host="127.0.0.1") == []


def test_sockets_per_attendee_are_capped_and_tokens_in_addresses_count_only_on_the_websocket(
        settings: Settings, tmp_path: Path, monkeypatch):
    from ehalsodag.live.routes import SocketCaps
    from tests.conftest import run_sync, start_server, stop_server

    run_sync(load_fixture(settings, f"{SLUG}.toml"))
    monkeypatch.setenv("EHALSODAG_HEADER_TIMEOUT_SECONDS", "1")
    server = start_server(settings, tmp_path / "server.log")
    try:
        joined = httpx.post(f"{server.base_url}/api/v1/events/{SLUG}/join", json={}).json()
        token = joined["attendee_token"]
        # ?token= is for websockets only: a page or an API call with it in the address is not the attendee's
        assert httpx.get(f"{server.base_url}/e/{SLUG}/me?token={token}").status_code == 401
        assert httpx.post(f"{server.base_url}/api/v1/events/{SLUG}/questions?token={token}",
                          json={"text": "Hej?"}).status_code == 401
        assert httpx.get(f"{server.base_url}/e/{SLUG}/me",
                         headers={"Authorization": f"Bearer {token}"}).status_code == 200

        async def sockets() -> tuple[int, bool, bool]:
            url = f"{server.ws_url}/e/{SLUG}/ws?token={token}"
            held = [await websockets.connect(url) for _ in range(SocketCaps.PER_ATTENDEE)]
            for ws in held:
                await asyncio.wait_for(ws.recv(), 10)  # each got its snapshot
            refused = False
            try:
                extra = await websockets.connect(url)
                await asyncio.wait_for(extra.recv(), 5)
            except (websockets.exceptions.InvalidStatus, websockets.exceptions.ConnectionClosed):
                refused = True
            await held.pop().close()
            await asyncio.sleep(0.3)
            again = await websockets.connect(url)
            welcome = bool(await asyncio.wait_for(again.recv(), 10))
            for ws in [*held, again]:
                await ws.close()
            return len(held) + 1, refused, welcome

        opened, refused, welcome = run_sync(sockets())
        assert (opened, refused, welcome) == (SocketCaps.PER_ATTENDEE, True, True)
    finally:
        stop_server(server)


def test_a_client_that_sends_its_headers_too_slowly_is_cut_off(settings: Settings, tmp_path: Path, monkeypatch):
    from tests.conftest import start_server, stop_server

    monkeypatch.setenv("EHALSODAG_HEADER_TIMEOUT_SECONDS", "1")
    server = start_server(settings, tmp_path / "server.log")
    try:
        port = int(server.base_url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=10) as slow:
            slow.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # ... and never the rest
            started = time.monotonic()
            assert slow.recv(1024) == b""  # closed by the server
            assert time.monotonic() - started < 5
        with socket.create_connection(("127.0.0.1", port), timeout=10) as idle:  # nothing at all
            assert idle.recv(1024) == b""
        assert httpx.get(server.base_url + "/healthz").status_code == 200  # a normal request is unaffected
    finally:
        stop_server(server)
