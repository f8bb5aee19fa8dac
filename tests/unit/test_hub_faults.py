"""The hub when its transport fails (issue 15, items 17 and 19): attach never waits forever holding its lock, a lost
transport closes every socket with 1012 and refuses new ones, and outages are told apart from bugs."""

import asyncio
import sqlite3
import time

import pytest
from litestar.channels import ChannelsPlugin
from litestar.channels.backends.memory import MemoryChannelsBackend
from sqlalchemy import exc as sa

from ehalsodag.live import hub as hub_module
from ehalsodag.live.hub import CLOSE_HUB_DOWN, Connection, Hub, HubHealth, HubUnavailable
from ehalsodag.web.outage import is_outage


class Sink:
    def __init__(self):
        self.frames, self.closed = [], None

    async def send(self, frame):
        self.frames.append(frame)

    async def close(self, code, reason):
        self.closed = code


class HangingChannels(ChannelsPlugin):
    """Subscribing to event 1 never returns (a Redis that accepts the connection and then says nothing)."""

    async def subscribe(self, channels, history=None):
        if any(c.endswith(":event:1") for c in channels):
            await asyncio.sleep(3600)
        return await super().subscribe(channels, history)


class Switch(HubHealth):
    def __init__(self):
        self.available = True
        self.listeners = []

    def on_change(self, listener):
        self.listeners.append(listener)

    def set(self, available):
        self.available = available
        for listener in self.listeners:
            listener(available)


def connection(sink):
    return Connection(sink.send, sink.close, "sv", "attendee", 8)


async def test_attach_gives_up_after_its_timeout_and_releases_the_lock(monkeypatch):
    monkeypatch.setattr(hub_module, "ATTACH_TIMEOUT", 0.2)
    plugin = HangingChannels(backend=MemoryChannelsBackend(), arbitrary_channels_allowed=True)
    await plugin._on_startup()
    hub = Hub(plugin)
    started = time.monotonic()
    results = await asyncio.gather(hub.attach(1, connection(Sink())), hub.attach(2, connection(Sink())),
                                   return_exceptions=True)
    assert isinstance(results[0], HubUnavailable) and results[1] is None
    assert time.monotonic() - started < 1
    assert hub.local_connections(1) == 0 and hub.local_connections(2) == 1
    await plugin._on_shutdown()


async def test_a_lost_transport_closes_every_socket_with_1012_and_refuses_new_ones():
    plugin = ChannelsPlugin(backend=MemoryChannelsBackend(), arbitrary_channels_allowed=True)
    await plugin._on_startup()
    health = Switch()
    hub = Hub(plugin, health=health)
    sinks = [Sink() for _ in range(3)]
    for i, sink in enumerate(sinks):
        await hub.attach(1 + i % 2, connection(sink))
    health.set(False)
    await asyncio.sleep(0.05)
    assert [s.closed for s in sinks] == [CLOSE_HUB_DOWN] * 3
    with pytest.raises(HubUnavailable):
        await hub.attach(1, connection(Sink()))
    health.set(True)
    await hub.attach(1, connection(Sink()))
    await plugin._on_shutdown()


@pytest.mark.parametrize(("error", "outage"), [
    (sa.OperationalError("SELECT 1", {}, sqlite3.OperationalError("database is locked")), True),
    (sa.OperationalError("SELECT 1", {}, sqlite3.OperationalError("no such table: event")), False),
    (sa.InterfaceError("SELECT 1", {}, Exception("connection is closed")), True),
    (sa.TimeoutError("QueuePool limit reached"), True),
    (ConnectionRefusedError(111, "Connection refused"), True),
    (HubUnavailable("live updates are interrupted"), True),
    (ValueError("bad input"), False),
    (KeyError("block"), False),
])
def test_outages_are_told_apart_from_bugs(error, outage):
    assert is_outage(error) is outage
    try:
        try:
            raise error
        except Exception as inner:
            raise RuntimeError("wrapped") from inner
    except RuntimeError as wrapped:
        assert is_outage(wrapped) is outage
