"""Attendance through the real server: sockets are sampled into peak, reach and presence for the evaluation."""

import asyncio
from dataclasses import replace

import httpx
import websockets

from tests.conftest import load_fixture, make_staff, run_sync, start_server, stop_server

SLUG = "jamtland-harjedalen-2021-05-25"


async def test_connected_rooms_count_with_their_group_sizes(settings, tmp_path):
    fast = replace(settings, attendance_seconds=0.3)
    run_sync(load_fixture(fast, "jamtland-harjedalen-2021-05-25.toml"))
    organiser = run_sync(make_staff(fast, "org@example.se", "organiser", SLUG))
    server = start_server(fast, tmp_path / "server.log")
    headers = {"Authorization": f"Bearer {organiser}"}
    try:
        async with httpx.AsyncClient(base_url=server.base_url) as http:
            room = (await http.post(f"/api/v1/events/{SLUG}/join", json={"group_size": 12})).json()["attendee_token"]
            alone = (await http.post(f"/api/v1/events/{SLUG}/join", json={})).json()["attendee_token"]
            never = (await http.post(f"/api/v1/events/{SLUG}/join", json={"group_size": 40})).json()
            assert never["attendee_id"]  # joined but never watched: not counted in the reach
            async with websockets.connect(f"{server.ws_url}/e/{SLUG}/ws?token={room}") as ws_room, \
                    websockets.connect(f"{server.ws_url}/e/{SLUG}/ws?token={alone}") as ws_alone:
                await ws_room.recv()
                await ws_alone.recv()
                await asyncio.sleep(1.0)  # a few samples
                opened = await http.post(f"/api/v1/events/{SLUG}/evaluation/open", json={}, headers=headers)
                assert opened.status_code == 200
                answer = await http.post(f"/api/v1/events/{SLUG}/evaluation",
                                         json={"answers": {"helhet": 5, "aterkommande": "yes"}},
                                         headers={"Authorization": f"Bearer {room}"})
                assert answer.status_code == 201
            report = (await http.get(f"/api/v1/events/{SLUG}/results", headers=headers)).json()
    finally:
        stop_server(server)
    attendance = report["attendance"]
    assert attendance["joined"] == 3 and attendance["unique"] == attendance["connected"] == 2  # never came: not unique
    assert attendance["peak_concurrent"] == 2 and attendance["peak_reach"] == 13
    assert attendance["estimated_reach"] == 13  # 12 in the care unit's room + 1
    assert attendance["timeline"] and attendance["timeline"][0]["reach"] == 13
    assert report["evaluation"]["present"] == 2 and report["evaluation"]["response_rate"] == 50.0
