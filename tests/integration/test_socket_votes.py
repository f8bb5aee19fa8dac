"""Votes over the websocket the attendee already holds, against the real server: acknowledged only once committed
(a SIGKILL during a burst loses no acknowledged vote), a vote resent after a reconnect with its key is counted
once, the socket refuses what the HTTP route refuses (the same messages, the same shared rate limit), and the
kept tally equals a recount afterwards. Counts and states only; every wait is bounded."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import httpx
import websockets
from sqlalchemy import select

from ehalsodag.db.engine import Database
from ehalsodag.polls import service as poll_service
from ehalsodag.polls.models import Poll, PollResponse
from tests.conftest import ServedApp, load_fixture, make_staff, start_server, stop_server

SLUG = "regional"
BURST = 120


async def setup_poll(server: ServedApp, staff: str, voters: int) -> tuple[int, list[int], list[str]]:
    """An open single-choice poll and ``voters`` joined attendees' tokens."""
    async with httpx.AsyncClient(base_url=server.base_url, timeout=30,
                                 limits=httpx.Limits(max_connections=20)) as http:
        joined = await asyncio.gather(*(http.post(f"/api/v1/events/{SLUG}/join", json={}) for _ in range(voters)))
        tokens = [r.json()["attendee_token"] for r in joined]
        headers = {"Authorization": f"Bearer {staff}"}
        poll_id = (await http.post(f"/api/v1/events/{SLUG}/polls", headers=headers, json={
            "kind": "single", "question": "Hur följer ni dagen?", "options": ["Ensam", "Med kollegor", "I bilen"]},
        )).json()["id"]
        assert (await http.post(f"/api/v1/polls/{poll_id}/open", headers=headers)).status_code == 200
        poll = next(p for p in (await http.get(f"/api/v1/events/{SLUG}/polls")).json() if p["id"] == poll_id)
    return poll_id, [o["id"] for o in poll["options"]], tokens


async def connect(server: ServedApp, token: str) -> Any:
    socket = await websockets.connect(f"{server.ws_url}/e/{SLUG}/ws?token={token}", max_size=None,
                                      compression=None, ping_interval=None, open_timeout=20)
    await asyncio.wait_for(socket.recv(), 20)  # the snapshot
    return socket


def vote_frame(poll_id: int, key: str, **fields: Any) -> str:
    """What the page's form sends with htmx's ws-send (a radio's value is a string)."""
    return json.dumps({"action": "vote", "poll_id": poll_id, "vote_key": key, "csrf_token": "x", **fields,
                       "HEADERS": {"HX-Request": "true"}})


async def ack_of(socket: Any, key: str, seconds: float = 30) -> str:
    """The acknowledgement frame naming ``key`` (pushes that come first are skipped)."""
    async with asyncio.timeout(seconds):
        while True:
            frame = str(await socket.recv())
            if f'data-ack="{key}"' in frame:
                return frame


async def stored(server: ServedApp, poll_id: int) -> dict[int, str | None]:
    """attendee id → vote key of each stored answer, and checks that the kept tally equals a recount."""
    db = Database(server.settings)
    try:
        async with db.reader() as session:
            rows = dict((await session.execute(select(PollResponse.attendee_id, PollResponse.vote_key)
                                               .where(PollResponse.poll_id == poll_id))).tuples().all())
            poll = await session.get(Poll, poll_id)
            assert await poll_service.results(session, poll) == await poll_service.recounted_results(session, poll)
            assert (await poll_service.results(session, poll)).responses == len(rows)
    finally:
        await db.dispose()
    return rows


async def burst_then_kill(server: ServedApp, poll_id: int, options: list[int],
                          tokens: list[str]) -> tuple[dict[str, str], dict[str, str]]:
    """Every attendee votes over their socket at once; the server is SIGKILLed once a third are acknowledged.
    Returns token → key of the votes acknowledged, and of every vote sent."""
    sockets = await asyncio.gather(*(connect(server, token) for token in tokens))
    keys = {token: uuid.uuid4().hex for token in tokens}
    acknowledged: dict[str, str] = {}
    enough = asyncio.Event()

    async def vote(token: str, socket: Any, i: int) -> None:
        await socket.send(vote_frame(poll_id, keys[token], option_ids=str(options[i % len(options)])))
        try:
            frame = await ack_of(socket, keys[token])
        except (websockets.ConnectionClosed, TimeoutError):
            return
        assert "message-ok" in frame, frame
        acknowledged[token] = keys[token]
        if len(acknowledged) >= len(tokens) // 3:
            enough.set()

    tasks = [asyncio.create_task(vote(t, s, i)) for i, (t, s) in enumerate(zip(tokens, sockets, strict=True))]
    await asyncio.wait_for(enough.wait(), 60)
    server.process.kill()  # SIGKILL: no shutdown, nothing flushed
    server.process.wait(timeout=20)
    await asyncio.gather(*tasks)
    await asyncio.gather(*(s.close() for s in sockets), return_exceptions=True)
    return acknowledged, keys


def test_socket_votes_survive_a_sigkill_during_a_burst_and_resends_count_once(settings, tmp_path):
    asyncio.run(load_fixture(settings))
    staff = asyncio.run(make_staff(settings, "mod@example.se", "moderator", SLUG))
    server = start_server(settings, tmp_path / "server.log")
    try:
        poll_id, options, tokens = asyncio.run(setup_poll(server, staff, BURST))
        acknowledged, keys = asyncio.run(burst_then_kill(server, poll_id, options, tokens))
    finally:
        stop_server(server)
    assert len(acknowledged) >= BURST // 3

    server = start_server(settings, tmp_path / "server-2.log")
    try:
        after_kill = asyncio.run(stored(server, poll_id))
        by_key = set(after_kill.values())
        # acknowledged ≤ stored: every acknowledged vote is in the database, with its key
        assert set(acknowledged.values()) <= by_key, server.log()
        assert len(acknowledged) <= len(after_kill) <= BURST

        async def resend_all() -> list[str]:
            frames = []
            for token in tokens:  # each page resends its unacknowledged vote with the same key
                if token in acknowledged:
                    continue
                socket = await connect(server, token)
                await socket.send(vote_frame(poll_id, keys[token], option_ids=str(options[0])))
                frames.append(await ack_of(socket, keys[token]))
                await socket.close()
            return frames

        frames = asyncio.run(resend_all())
        assert all("message-ok" in f for f in frames), frames[:3]
        final = asyncio.run(stored(server, poll_id))
        assert len(final) == BURST and set(final.values()) == set(keys.values())  # each vote counted once
    finally:
        stop_server(server)


def test_an_unacknowledged_vote_resent_after_a_reconnect_counts_once_and_the_socket_refuses_as_http_does(
        settings, tmp_path):
    asyncio.run(load_fixture(settings))
    staff = asyncio.run(make_staff(settings, "mod@example.se", "moderator", SLUG))
    server = start_server(settings, tmp_path / "server.log")
    try:
        poll_id, options, tokens = asyncio.run(setup_poll(server, staff, 3))

        async def scenario() -> None:
            key = uuid.uuid4().hex
            socket = await connect(server, tokens[0])
            await socket.send(vote_frame(poll_id, key, option_ids=str(options[1])))
            await socket.close()  # gone before the acknowledgement
            for _ in range(2):  # the page reconnects and resends, twice over
                socket = await connect(server, tokens[0])
                await socket.send(vote_frame(poll_id, key, option_ids=str(options[1])))
                frame = await ack_of(socket, key)
                # the first answer's acknowledgement each time, and the voter's "you have answered" line
                assert "message-ok" in frame and "Tack, ditt svar är räknat." in frame, frame
                assert f'id="poll-{poll_id}-mine"' in frame and f'id="poll-{poll_id}-message"' in frame
                await socket.close()
            assert len(await stored(server, poll_id)) == 1

            # the socket refuses what the HTTP route refuses, in the same words
            async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as http:
                bearer = {"Authorization": f"Bearer {tokens[1]}"}
                refused = await http.post(f"/api/v1/polls/{poll_id}/responses", json={"option_ids": [999999]},
                                          headers={**bearer, "Accept-Language": "sv"})
                assert refused.status_code == 422
                socket = await connect(server, tokens[1])
                for junk in ("not json", "[1, 2]", '{"action": ["vote"]}', '{"action": "nothing"}'):
                    await socket.send(junk)  # ignored: the socket stays open and answers the vote after them
                bad = uuid.uuid4().hex
                await socket.send(vote_frame(poll_id, bad, option_ids="999999"))
                frame = await ack_of(socket, bad)
                assert "message-error" in frame and refused.json()["detail"] in frame, (frame, refused.json())
                unknown = uuid.uuid4().hex  # a field the Struct does not know is refused as the API refuses it
                await socket.send(vote_frame(poll_id, unknown, value="abc"))
                assert "message-error" in await ack_of(socket, unknown)
                # the vote limit is one, shared by HTTP and the socket: 10 in 10 s (the two refused ones count)
                for i in range(8):
                    reply = await http.post(f"/api/v1/polls/{poll_id}/responses",
                                            json={"option_ids": [options[i % 3]]}, headers=bearer)
                    assert reply.status_code in (200, 201), reply.text
                over = uuid.uuid4().hex
                await socket.send(vote_frame(poll_id, over, option_ids=str(options[2])))
                frame = await ack_of(socket, over)
                assert "message-error" in frame and "vänta 10 sekunder" in frame, frame
                await socket.close()
            assert len(await stored(server, poll_id)) == 2

        asyncio.run(scenario())
    finally:
        stop_server(server)
