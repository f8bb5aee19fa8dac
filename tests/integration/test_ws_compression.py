"""Websocket compression: off unless the operator turns it on (``EHALSODAG_WS_COMPRESSION=1``); when on, a browser
that asks for permessage-deflate gets it and every push arrives whole, beside sockets without it (which get the
fan-out's one shared frame written directly)."""

from __future__ import annotations

import asyncio

import httpx
import websockets

from tests.conftest import load_fixture, make_staff, start_server, stop_server

SLUG = "regional"


async def _push_reaches_both(served, staff: str, text: str) -> list[str | None]:
    async with httpx.AsyncClient(timeout=10) as http:
        tokens = [(await http.post(f"{served.base_url}/api/v1/events/{SLUG}/join", json={})).json()["attendee_token"]
                  for _ in range(2)]
        url = f"{served.ws_url}/e/{SLUG}/ws?token="
        async with websockets.connect(url + tokens[0], compression="deflate", max_size=None) as packed, \
                websockets.connect(url + tokens[1], compression=None, max_size=None) as plain:
            for ws in (packed, plain):
                assert "chat-log" in await asyncio.wait_for(ws.recv(), 10)  # the snapshot
            response = await http.post(f"{served.base_url}/api/v1/events/{SLUG}/announcement", json={"text": text},
                                       headers={"Authorization": f"Bearer {staff}"})
            assert response.status_code in (200, 201), response.text
            for ws in (packed, plain):
                seen = []
                while text[:40] not in (frame := await asyncio.wait_for(ws.recv(), 10)):
                    seen.append(frame[:300])
                    assert len(seen) < 20, seen
            return [packed.response.headers.get("Sec-WebSocket-Extensions"),
                    plain.response.headers.get("Sec-WebSocket-Extensions")]


async def test_compression_is_off_unless_turned_on_and_pushes_arrive_whole_either_way(settings, tmp_path, monkeypatch):
    await load_fixture(settings)
    staff = await make_staff(settings, "mod@example.se", "moderator", SLUG)
    long_text = "Paus till 10.15 – " + "kaffe och samtal i foajén. " * 12  # compressible, and over 125 bytes

    monkeypatch.delenv("EHALSODAG_WS_COMPRESSION", raising=False)
    server = start_server(settings, tmp_path / "off.log")
    try:
        assert await _push_reaches_both(server, staff, long_text) == [None, None]
    finally:
        stop_server(server)

    monkeypatch.setenv("EHALSODAG_WS_COMPRESSION", "1")
    server = start_server(settings, tmp_path / "on.log")
    try:
        negotiated, plain = await _push_reaches_both(server, staff, long_text + " Igen.")
        assert negotiated is not None and "permessage-deflate" in negotiated and plain is None
        assert "server_no_context_takeover" in negotiated  # an idle socket keeps no compressor
    finally:
        stop_server(server)
