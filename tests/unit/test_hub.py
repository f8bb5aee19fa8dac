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
    pumps = [asyncio.create_task(c.pump()) for c in connections.values()]
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
    for pump in pumps:
        pump.cancel()
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
    tasks = [asyncio.create_task(slow.pump()), asyncio.create_task(quick.pump())]
    await hub.attach(1, slow)
    await hub.attach(1, quick)
    for i in range(10):
        hub.deliver_local(1, PUBLIC, {"sv": f"frame {i}"})
        await asyncio.sleep(0)
    await asyncio.sleep(0.05)
    assert slow.dropped and stuck.closed == CLOSE_TOO_SLOW
    assert fine.frames == [f"frame {i}" for i in range(10)]  # the quick socket lost nothing
    assert hub.dropped_sockets == 1
    for task in tasks:
        task.cancel()
    await plugin._on_shutdown()
