"""JSON logs (issue 19): with ``EHALSODAG_LOG_FORMAT=json`` the real server writes one JSON line per request and
per socket event, with the route template and the event's slug, and nothing personal.

A scripted day: two attendees join with a name and an organisation, open their pages with ``?token=``, a
moderator opens the control panel and a screen its socket, a question with a distinctive text is asked and
approved, a chat message is posted, a poll is opened and answered, a socket with a wrong token is refused,
everybody leaves. The server's whole log is then read: every line is JSON, the request and socket lines are
there with the slug, and no name, organisation, question, chat text or token appears anywhere.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace

import httpx
import pytest
import websockets
import websockets.exceptions  # a submodule: "import websockets" alone does not load it

from tests.conftest import load_fixture, make_staff, run_sync, start_server, stop_server

SLUG = "ostergotland-2021-03-23"
NAMES = ("Zebulon Loggtestsson", "Vårdcentral Kråkvik", "Ingrid Provperson")
QUESTION = "Varför lyser fyrtornet lila på tisdagar?"
CHAT = "Hälsningar från kontoret med den gröna soffan"


@pytest.fixture
def day(settings, tmp_path, monkeypatch):
    settings = replace(settings, vote_limit=1000)
    run_sync(load_fixture(settings, f"{SLUG}.toml"))
    staff = run_sync(make_staff(settings, "mod@example.se", "moderator", SLUG))
    monkeypatch.setenv("EHALSODAG_LOG_FORMAT", "json")
    server = start_server(settings, tmp_path / "server.log")
    try:
        yield server, staff
    finally:
        stop_server(server)


async def scripted_day(server, staff: str) -> list[str]:
    """The day; returns every token it used."""
    moderator = {"Authorization": f"Bearer {staff}"}
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        first = await http.post(f"/api/v1/events/{SLUG}/join",
                                json={"display_name": NAMES[0], "organisation": NAMES[1], "group_size": 3})
        second = await http.post(f"/api/v1/events/{SLUG}/join", json={"display_name": NAMES[2]})
        assert first.status_code == second.status_code == 201, first.text
        tokens = [first.json()["attendee_token"], second.json()["attendee_token"]]
        attendee = [{"Authorization": f"Bearer {token}"} for token in tokens]
        assert (await http.get(f"/e/{SLUG}", params={"token": tokens[0]})).status_code == 200

        sockets = [await websockets.connect(f"{server.ws_url}/e/{SLUG}/ws?token={token}") for token in tokens]
        control = f"{server.ws_url}/e/{SLUG}/ws?view=control"
        sockets.append(await websockets.connect(control, additional_headers=moderator))
        sockets.append(await websockets.connect(f"{server.ws_url}/e/{SLUG}/ws?view=screen"))
        for ws in sockets:
            await asyncio.wait_for(ws.recv(), 5)
        with pytest.raises(websockets.exceptions.InvalidStatus):
            async with websockets.connect(f"{server.ws_url}/e/{SLUG}/ws?token=not-{tokens[0]}"):
                pass

        asked = await http.post(f"/api/v1/events/{SLUG}/questions", json={"text": QUESTION, "anonymous": False},
                                headers=attendee[0])
        assert asked.status_code == 201, asked.text
        if asked.json()["status"] == "pending":
            approved = await http.post(f"/api/v1/questions/{asked.json()['id']}/moderate",
                                       json={"action": "approve"}, headers=moderator)
            assert approved.status_code == 200, approved.text
        assert (await http.post(f"/api/v1/questions/{asked.json()['id']}/upvote", headers=attendee[1])).is_success
        chatted = await http.post(f"/api/v1/events/{SLUG}/chat", json={"text": CHAT}, headers=attendee[1])
        assert chatted.status_code == 201, chatted.text

        poll = next(p for p in (await http.get(f"/api/v1/events/{SLUG}/polls")).json() if p["kind"] == "single")
        assert (await http.post(f"/api/v1/polls/{poll['id']}/open", headers=moderator)).is_success
        for headers in attendee:
            voted = await http.post(f"/api/v1/polls/{poll['id']}/responses",
                                    json={"option_ids": [poll["options"][0]["id"]]}, headers=headers)
            assert voted.status_code == 201, voted.text
        await asyncio.sleep(0.5)  # the pushes go out
        for ws in sockets:
            await ws.close()
        await asyncio.sleep(0.5)  # the server notices everybody left
    return [*tokens, staff]


async def test_one_json_line_per_request_and_socket_event_and_nothing_personal(day):
    server, staff = day
    tokens = await scripted_day(server, staff)
    stop_server(server)  # the log is complete once the server has stopped
    log = server.log()

    lines = [json.loads(line) for line in log.splitlines() if line.strip()]  # every line is JSON
    requests = [line for line in lines if line.get("kind") == "http"]
    sockets = [line for line in lines if line.get("kind") == "ws"]

    joins = [line for line in requests if line["route"] == "/api/v1/events/{slug}/join"]
    assert len(joins) == 2 and {line["event"] for line in joins} == {SLUG}
    assert all(line["method"] == "POST" and line["status"] == 201 and line["ms"] >= 0 for line in joins)
    assert [line["status"] for line in requests if line["route"] == "/api/v1/polls/{poll_id}/responses"] == [201, 201]
    assert any(line["route"] == "/e/{slug}" and line["event"] == SLUG for line in requests)
    assert any(line["route"] == "/api/v1/events/{slug}/chat" for line in requests)

    connects = [(line["audience"], line["event"]) for line in sockets if line["action"] == "connect"]
    assert sorted(connects) == [("attendee", SLUG), ("attendee", SLUG), ("control", SLUG), ("screen", SLUG)]
    disconnects = [line for line in sockets if line["action"] == "disconnect"]
    assert len(disconnects) == 4 and {line["code"] for line in disconnects} == {1000}
    refused = [line for line in sockets if line["action"] == "refused"]
    assert len(refused) == 1 and refused[0]["code"] == 1008 and refused[0]["event"] == SLUG

    for secret in (*NAMES, QUESTION, CHAT, *tokens):
        assert secret not in log, secret
    for fragment in ("token=", "?", "Zebulon", "fyrtornet", "soffan", "Authorization", "Bearer"):
        assert fragment not in log, fragment
