"""Real server, real websockets: snapshot on connect, live pushes after moderator actions, Origin check."""

import asyncio
import json

import httpx
import pytest
import websockets
import websockets.exceptions  # a submodule: "import websockets" alone does not load it

from tests.conftest import make_staff


def join(server, **body):
    response = httpx.post(f"{server.base_url}/api/v1/events/regional/join", json=body)
    assert response.status_code == 201, response.text
    return response.json()["attendee_token"]


async def receive_until(ws, needle, timeout=2.0):
    """Frames until one contains ``needle``; fail after ``timeout`` seconds."""
    async def loop():
        while True:
            frame = await ws.recv()
            if needle in frame:
                return frame
    return await asyncio.wait_for(loop(), timeout)


async def test_attendee_receives_snapshot_then_the_new_live_block(served):
    token = join(served, group_size=3)
    staff = await make_staff(served.settings, "mod@example.se", "moderator", "regional")
    event = httpx.get(f"{served.base_url}/api/v1/events/regional").json()
    closing = next(b for b in event["blocks"] if b["key"] == "c")

    async with websockets.connect(f"{served.ws_url}/e/regional/ws?token={token}") as ws:
        snapshot = await asyncio.wait_for(ws.recv(), 2)
        for element in ('id="announcement"', 'id="now-next"', 'id="player"', 'id="programme"'):
            assert element in snapshot
        assert 'id="run-of-show"' not in snapshot  # staff-only fragment

        response = httpx.post(f"{served.base_url}/api/v1/events/regional/live", json={"block_id": closing["id"]},
                              headers={"Authorization": f"Bearer {staff}"})
        assert response.status_code == 200
        pushed = await receive_until(ws, "Slut Östergötland")
        now_section = pushed.split('id="now-next"', 1)[1].split("</section>", 1)[0]
        assert "Slut Östergötland" in now_section  # the new live block is "now"
        assert 'aria-current="true"' in pushed

        response = httpx.post(f"{served.base_url}/api/v1/events/regional/announcement",
                              json={"text": "Kaffet är slut <script>alert(1)</script>"},
                              headers={"Authorization": f"Bearer {staff}"})
        assert response.status_code == 200
        pushed = await receive_until(ws, "Kaffet är slut")
        assert "<script>alert(1)</script>" not in pushed and "&lt;script&gt;" in pushed


async def test_reconnecting_client_gets_the_current_state(served):
    token = join(served)
    staff = await make_staff(served.settings, "mod@example.se", "moderator", "regional")
    httpx.post(f"{served.base_url}/api/v1/events/regional/announcement", json={"text": "Paus till 10.15"},
               headers={"Authorization": f"Bearer {staff}"})
    async with websockets.connect(f"{served.ws_url}/e/regional/ws?token={token}") as ws:
        assert "Paus till 10.15" in await asyncio.wait_for(ws.recv(), 2)


async def test_the_control_panels_socket_gets_the_run_of_show_and_only_staff_may_open_one(served):
    staff = await make_staff(served.settings, "mod@example.se", "moderator", "regional")
    headers = {"Authorization": f"Bearer {staff}"}
    token = join(served)
    with pytest.raises(websockets.exceptions.InvalidStatus) as refused:  # an attendee cannot see the control panel
        async with websockets.connect(f"{served.ws_url}/e/regional/ws?view=control&token={token}"):
            pass
    assert refused.value.response.status_code == 403
    async with websockets.connect(f"{served.ws_url}/e/regional/ws?view=control", additional_headers=headers) as ws:
        snapshot = await asyncio.wait_for(ws.recv(), 2)
        assert 'id="run-of-show"' in snapshot
        event = httpx.get(f"{served.base_url}/api/v1/events/regional").json()
        live = httpx.post(f"{served.base_url}/api/v1/events/regional/live",
                          json={"block_id": event["blocks"][0]["id"]}, headers=headers)
        assert live.status_code == 200
        shifted = httpx.post(f"{served.base_url}/api/v1/events/regional/shift", json={"minutes": 7}, headers=headers)
        assert shifted.status_code == 200, shifted.text
        pushed = await receive_until(ws, "(+7)")
        assert 'id="run-of-show"' in pushed and "7 min försenat" in pushed


async def test_sockets_without_a_token_or_from_another_site_are_refused(served):
    with pytest.raises(websockets.exceptions.InvalidStatus) as refused:
        async with websockets.connect(f"{served.ws_url}/e/regional/ws"):
            pass
    assert refused.value.response.status_code == 403

    token = join(served)
    with pytest.raises(websockets.exceptions.InvalidStatus) as hijack:
        async with websockets.connect(f"{served.ws_url}/e/regional/ws?token={token}",
                                      origin="https://evil.example"):
            pass
    assert hijack.value.response.status_code == 403

    same_site = served.base_url.replace("http://", "http://")
    async with websockets.connect(f"{served.ws_url}/e/regional/ws?token={token}", origin=same_site) as ws:
        assert 'id="programme"' in await asyncio.wait_for(ws.recv(), 2)


async def test_the_join_api_validates_and_sets_a_cookie(served):
    ok = httpx.post(f"{served.base_url}/api/v1/events/regional/join",
                    json={"display_name": "Anna", "organisation": "Vårdcentralen", "group_size": 12})
    assert ok.status_code == 201 and set(ok.json()) == {"attendee_id", "attendee_token"}
    assert any(name.startswith("ehd_a") for name in ok.cookies)
    for body, status in (({"group_size": 0}, 422), ({"group_size": "many"}, 400), ({"display_name": "x" * 81}, 422),
                         ({"display_name": "a\u202eb"}, 422), ({"nickname": "x"}, 400)):
        bad = httpx.post(f"{served.base_url}/api/v1/events/regional/join", json=body)
        assert bad.status_code == status, (body, bad.text)
        assert json.loads(bad.text)["detail"]
    missing = httpx.post(f"{served.base_url}/api/v1/events/nope/join", json={})
    assert missing.status_code == 404
