"""The hub: the same bytes to every socket in its language, staff-only fragments, slow sockets dropped."""

import asyncio

from litestar.channels import ChannelsPlugin
from litestar.channels.backends.memory import MemoryChannelsBackend

from ehalsodag.live.hub import AUDIENCES, CLOSE_TOO_SLOW, PUBLIC, STAFF, Connection, Hub


class Sink:
    def __init__(self):
        self.frames = []
        self.closed = None

    async def send(self, frame):
        self.frames.append(frame)

    async def close(self, code, reason):
        self.closed = code


async def make_hub(queue_limit=8):
    plugin = ChannelsPlugin(backend=MemoryChannelsBackend(), arbitrary_channels_allowed=True)
    await plugin._on_startup()
    return plugin, Hub(plugin, queue_limit=queue_limit)


async def test_fragments_reach_each_socket_in_its_language_and_staff_only_staff():
    plugin, hub = await make_hub()
    sinks = {name: Sink() for name in ("sv", "en", "staff")}
    connections = {
        "sv": Connection(sinks["sv"].send, sinks["sv"].close, "sv", AUDIENCES["attendee"], 8),
        "en": Connection(sinks["en"].send, sinks["en"].close, "en", AUDIENCES["attendee"], 8),
        "staff": Connection(sinks["staff"].send, sinks["staff"].close, "sv", AUDIENCES["staff"], 8),
    }
    for connection in connections.values():
        await hub.attach(1, connection)
    await hub.publish(1, PUBLIC, {"sv": "<p id=a>Hej</p>", "en": "<p id=a>Hello</p>"})
    await hub.publish(1, STAFF, {"sv": "<p id=s>Körschema</p>", "en": "<p id=s>Run</p>"})
    await hub.publish(2, PUBLIC, {"sv": "other event", "en": "other event"})
    for _ in range(50):
        await asyncio.sleep(0.01)
        if len(sinks["staff"].frames) == 2:
            break
    assert sinks["sv"].frames == ["<p id=a>Hej</p>"]
    assert sinks["en"].frames == ["<p id=a>Hello</p>"]
    assert sinks["staff"].frames == ["<p id=a>Hej</p>", "<p id=s>Körschema</p>"]
    for connection in connections.values():
        await hub.detach(1, connection)
    assert hub.connected_event_ids() == []
    await plugin._on_shutdown()


async def test_a_slow_socket_is_dropped_not_waited_for():
    plugin, hub = await make_hub(queue_limit=4)
    stuck, fine = Sink(), Sink()
    never = asyncio.Event()

    async def blocked_send(frame):
        await never.wait()

    slow = Connection(blocked_send, stuck.close, "sv", AUDIENCES["attendee"], 4)
    quick = Connection(fine.send, fine.close, "sv", AUDIENCES["attendee"], 4)
    await hub.attach(1, slow)
    await hub.attach(1, quick)
    for i in range(10):
        hub.deliver_local(1, PUBLIC, {"sv": f"frame {i}"})
        await asyncio.sleep(0)
    await asyncio.sleep(0.05)
    assert slow.dropped and stuck.closed == CLOSE_TOO_SLOW
    assert fine.frames == [f"frame {i}" for i in range(10)]  # the quick socket lost nothing
    assert hub.dropped_sockets == 1
    slow.stop()
    await plugin._on_shutdown()


async def test_a_send_that_must_wait_finishes_later_and_what_queued_behind_it_follows_in_order():
    plugin, hub = await make_hub(queue_limit=8)
    sent = []
    gate = asyncio.Event()

    async def send(frame):
        if frame == "frame 1":  # this write must wait (as a socket whose buffer is full does)
            await gate.wait()
        sent.append(frame)

    sink = Sink()
    connection = Connection(send, sink.close, "sv", AUDIENCES["attendee"], 8)
    await hub.attach(1, connection)
    for i in range(4):
        hub.deliver_local(1, PUBLIC, {"sv": f"frame {i}"})
    assert sent == ["frame 0"]  # written at once, without a task
    assert connection.backlog is not None and list(connection.backlog) == ["frame 2", "frame 3"]
    gate.set()
    await asyncio.sleep(0.01)
    assert sent == ["frame 0", "frame 1", "frame 2", "frame 3"]
    assert connection.backlog is None and connection.sender is None and not connection.dropped
    hub.deliver_local(1, PUBLIC, {"sv": "frame 4"})
    assert sent[-1] == "frame 4"  # writable again: straight through
    await hub.detach(1, connection)
    await plugin._on_shutdown()


async def test_a_send_that_fails_marks_the_socket_gone():
    plugin, hub = await make_hub()

    async def broken(frame):
        raise ConnectionResetError("gone")

    sink = Sink()
    connection = Connection(broken, sink.close, "sv", AUDIENCES["attendee"], 8)
    await hub.attach(1, connection)
    hub.deliver_local(1, PUBLIC, {"sv": "frame"})
    assert connection.dropped
    await hub.detach(1, connection)
    await plugin._on_shutdown()
