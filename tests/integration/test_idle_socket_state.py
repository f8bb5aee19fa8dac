"""What an open websocket keeps for its whole life, on uvicorn with the served protocol (in this process, so the
protocol objects can be looked at): no asyncio queue or event (``live.socket_state`` stands in), and none of the
handshake's headers, in the scope, in Litestar's parsed copy, in the handshake's request or in its answer. The
socket still gets its pushes and its votes' acknowledgements afterwards.

The memory this saves is measured by ``ehalsodag bench`` (docs/performance.md), not here.
"""

from __future__ import annotations

import asyncio
import gc
import json
import socket
from typing import Any

import httpx
import uvicorn
import websockets
from litestar.types import Empty
from litestar.utils.scope.state import ScopeState
from sqlalchemy import select
from websockets.http11 import Request

from ehalsodag.app import create_app
from ehalsodag.db.engine import Database
from ehalsodag.live.hub import RAW_SEND_KEY
from ehalsodag.live.socket_state import SocketFlag, SocketInbox
from ehalsodag.polls.models import PollResponse
from ehalsodag.server import WS_MAX_FRAME, HeaderTimeoutProtocol, SocketProtocol
from tests.conftest import load_fixture, make_staff

SLUG = "regional"
MARKER = "idle-socket-marker-7f3a"


def _served(settings: Any) -> Any:
    app = create_app(settings)

    async def served(scope: Any, receive: Any, send: Any) -> None:  # as ehalsodag.app.create_served_app
        if scope["type"] == "websocket":
            scope[RAW_SEND_KEY] = send
        await app(scope, receive, send)

    return served


def _holds_marker(value: Any) -> bool:
    return MARKER in repr(value)


async def test_an_open_socket_keeps_no_queue_event_or_handshake_headers_and_still_works(settings):
    await load_fixture(settings)
    staff = await make_staff(settings, "mod@example.se", "moderator", SLUG)
    listening = socket.socket()
    listening.bind(("127.0.0.1", 0))  # bound here: no other test's server can take the port meanwhile
    port = listening.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(
        _served(settings), host="127.0.0.1", port=port, ws=SocketProtocol, http=HeaderTimeoutProtocol,
        ws_max_size=WS_MAX_FRAME, log_config=None, lifespan="on"))
    serving = asyncio.create_task(server.serve(sockets=[listening]))
    try:
        while not server.started:
            assert not serving.done(), "the server stopped before it started"
            await asyncio.sleep(0.02)
        base = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(base_url=base, timeout=10) as http:
            token = (await http.post(f"/api/v1/events/{SLUG}/join", json={})).json()["attendee_token"]
            auth = {"Authorization": f"Bearer {staff}"}
            poll = (await http.post(f"/api/v1/events/{SLUG}/polls", headers=auth, json={
                "kind": "single", "question": "Hur följer ni dagen?", "options": ["Ensam", "Med kollegor"]})).json()
            async with websockets.connect(
                    f"ws://127.0.0.1:{port}/e/{SLUG}/ws?token={token}", max_size=None,
                    additional_headers={"X-Probe": MARKER, "Cookie": f"unrelated={MARKER}",
                                        "Accept-Language": "sv-SE,sv;q=0.9"}) as ws:
                assert "chat-log" in await asyncio.wait_for(ws.recv(), 10)  # the snapshot: the socket is open
                protocols = [c for c in server.server_state.connections if isinstance(c, SocketProtocol)]
                assert len(protocols) == 1
                protocol = protocols[0]
                assert type(protocol.queue) is SocketInbox and type(protocol.writable) is SocketFlag
                assert protocol.writable.is_set()
                assert protocol.scope["headers"] == []
                state = ScopeState.from_scope(protocol.scope)
                assert state.headers is Empty and state.cookies is Empty
                assert len(protocol.response.headers) == 0
                gc.collect()
                parsed = [o for o in gc.get_objects() if isinstance(o, Request) and o is not ws.request]
                assert parsed, "the server's parsed handshake request is found"
                assert not any(_holds_marker(dict(r.headers.raw_items())) for r in parsed)

                # still a working socket: a push arrives, and a vote over it is acknowledged and counted
                assert (await http.post(f"/api/v1/polls/{poll['id']}/open", headers=auth)).status_code == 200
                frames = [str(await asyncio.wait_for(ws.recv(), 10))]  # the opened poll, pushed
                assert f"poll-{poll['id']}" in frames[0]
                listed = (await http.get(f"/api/v1/events/{SLUG}/polls")).json()
                option = next(p for p in listed if p["id"] == poll["id"])["options"][1]["id"]
                await ws.send(json.dumps({"action": "vote", "poll_id": poll["id"], "vote_key": "k-idle-socket-1",
                                          "option_ids": str(option), "csrf_token": "x",
                                          "HEADERS": {"HX-Request": "true"}}))
                while 'data-ack="k-idle-socket-1"' not in frames[-1]:
                    frames.append(str(await asyncio.wait_for(ws.recv(), 10)))
                    assert len(frames) < 40, [frame[:200] for frame in frames]
        db = Database(settings)
        try:
            async with db.reader() as session:
                keys = (await session.execute(select(PollResponse.vote_key)
                                              .where(PollResponse.poll_id == poll["id"]))).scalars().all()
        finally:
            await db.dispose()
        assert keys == ["k-idle-socket-1"]  # acknowledged once committed
    finally:
        server.should_exit = True
        await asyncio.wait_for(serving, 30)
        listening.close()
