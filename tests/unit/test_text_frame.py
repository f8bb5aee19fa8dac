"""A fan-out writes one frame's bytes to every socket (``live.hub.text_frame``): they must be exactly the bytes the
websockets library itself puts on the wire for that text from a server, at every length boundary of RFC 6455."""

from __future__ import annotations

import pytest
from websockets.frames import Frame, Opcode

from ehalsodag.live.hub import direct_writer, text_frame


@pytest.mark.parametrize("size", [0, 1, 125, 126, 127, 65535, 65536, 70_000])
@pytest.mark.parametrize("letter", ["a", "ö", "\U0001f600"])
def test_the_frame_is_what_websockets_would_send(size, letter):
    text = (letter * size)[:size] if letter == "a" else letter * (size // len(letter.encode()))
    expected = Frame(Opcode.TEXT, text.encode()).serialize(mask=False, extensions=[])
    assert text_frame(text) == expected


def test_only_uvicorns_sans_io_protocol_is_written_to_directly():
    async def send(message):  # a send of any other server (or of a test client)
        return None

    assert direct_writer(send) is None
    assert direct_writer(None) is None


class _Transport:
    def __init__(self) -> None:
        self.written: list[bytes] = []
        self.closing = False

    def write(self, data: bytes) -> None:
        self.written.append(data)

    def is_closing(self) -> bool:
        return self.closing


def _protocol(compression: bool) -> object:
    """The served app's websocket protocol (``ehalsodag serve``'s configuration), as after an accepted handshake."""
    from uvicorn.server import ServerState
    from websockets.protocol import State

    from ehalsodag.server import SocketProtocol, config

    settings = config("127.0.0.1", 8000, 1)
    settings.ws_per_message_deflate = compression
    settings.app = lambda scope, receive, send: None  # the protocol only needs an app to hold
    settings.factory = False
    settings.load()
    protocol = SocketProtocol(config=settings, server_state=ServerState(), app_state={})
    protocol.transport = _Transport()
    protocol.handshake_complete = True
    protocol.conn.state = State.OPEN
    return protocol


async def test_the_served_protocol_is_written_to_directly_while_it_can_take_a_frame_at_once():
    protocol = _protocol(compression=False)
    write = direct_writer(protocol.send)
    assert write is not None  # the served protocol is uvicorn's (a subclass of it): the fast path is in use
    wire = text_frame("<p id='x'>hej</p>")
    assert write(wire) and protocol.transport.written == [wire]
    protocol.writable.clear()  # the transport's buffer is full: the protocol's own send waits for it
    assert not write(wire)
    protocol.writable.set()
    protocol.close_sent = True
    assert not write(wire)
    protocol.close_sent = False
    protocol.transport.closing = True
    assert not write(wire) and len(protocol.transport.written) == 1


async def test_a_compressed_socket_is_never_written_to_directly():
    protocol = _protocol(compression=True)
    protocol.conn.extensions = [object()]  # as after negotiating permessage-deflate
    write = direct_writer(protocol.send)
    assert write is not None and not write(text_frame("hej")) and protocol.transport.written == []
