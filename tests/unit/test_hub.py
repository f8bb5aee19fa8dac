"""The hub: the same bytes to every socket of an audience in its language, personal frames to their attendee only,
pushes held behind a snapshot, slow sockets dropped."""

import asyncio

from litestar.channels import ChannelsPlugin
from litestar.channels.backends.memory import MemoryChannelsBackend

from ehalsodag.live.hub import CLOSE_TOO_SLOW, Connection, Hub

PUBLIC, STAFF = "attendee", "staff"


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
        "sv": Connection(sinks["sv"].send, sinks["sv"].close, "sv", PUBLIC, 8),
        "en": Connection(sinks["en"].send, sinks["en"].close, "en", PUBLIC, 8),
        "staff": Connection(sinks["staff"].send, sinks["staff"].close, "sv", STAFF, 8),
    }
    for connection in connections.values():
        await hub.attach(1, connection)
    await hub.publish(1, PUBLIC, {"sv": "<p id=a>Hej</p>", "en": "<p id=a>Hello</p>"})
    await hub.publish(1, STAFF, {"sv": "<p id=s>Körschema</p>", "en": "<p id=s>Run</p>"})
    await hub.publish(2, PUBLIC, {"sv": "other event", "en": "other event"})
    for _ in range(50):
        await asyncio.sleep(0.01)
        if len(sinks["staff"].frames) == 1 and sinks["en"].frames:
            break
    assert sinks["sv"].frames == ["<p id=a>Hej</p>"]
    assert sinks["en"].frames == ["<p id=a>Hello</p>"]
    assert sinks["staff"].frames == ["<p id=s>Körschema</p>"]  # the control panel is another page
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

    slow = Connection(blocked_send, stuck.close, "sv", PUBLIC, 4)
    quick = Connection(fine.send, fine.close, "sv", PUBLIC, 4)
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
    connection = Connection(send, sink.close, "sv", PUBLIC, 8)
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
    connection = Connection(broken, sink.close, "sv", PUBLIC, 8)
    await hub.attach(1, connection)
    hub.deliver_local(1, PUBLIC, {"sv": "frame"})
    assert connection.dropped
    await hub.detach(1, connection)
    await plugin._on_shutdown()


async def wait_for(condition, seconds=1.0):
    for _ in range(int(seconds / 0.01)):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not met")


async def test_personal_frames_reach_only_their_attendee_and_exclude_keeps_a_frame_from_some():
    plugin, hub = await make_hub()
    sinks = {name: Sink() for name in ("a1", "a2", "b", "staff")}
    connections = {
        "a1": Connection(sinks["a1"].send, sinks["a1"].close, "sv", PUBLIC, 8, attendee_id=1),
        "a2": Connection(sinks["a2"].send, sinks["a2"].close, "en", PUBLIC, 8, attendee_id=1),  # a second tab
        "b": Connection(sinks["b"].send, sinks["b"].close, "sv", PUBLIC, 8, attendee_id=2),
        "staff": Connection(sinks["staff"].send, sinks["staff"].close, "sv", STAFF, 8),
    }
    for connection in connections.values():
        await hub.attach(1, connection)
    await hub.publish(1, PUBLIC, {"sv": "mine", "en": "my own"}, to=frozenset({1}))
    await hub.publish(1, PUBLIC, {"sv": "everyone else", "en": "everyone else"}, exclude=frozenset({1}))
    await wait_for(lambda: sinks["b"].frames and sinks["a2"].frames)
    await asyncio.sleep(0.02)
    assert sinks["a1"].frames == ["mine"] and sinks["a2"].frames == ["my own"]
    assert sinks["b"].frames == ["everyone else"]
    assert sinks["staff"].frames == []
    await hub.detach(1, connections["a1"])
    await hub.publish(1, PUBLIC, {"sv": "again", "en": "again"}, to=frozenset({1}))
    await wait_for(lambda: len(sinks["a2"].frames) == 2)
    assert sinks["a1"].frames == ["mine"]  # detached: nothing more
    for name in ("a2", "b", "staff"):
        await hub.detach(1, connections[name])
    await plugin._on_shutdown()


async def test_pushes_wait_behind_the_snapshot_and_follow_it_in_order():
    plugin, hub = await make_hub()
    sink = Sink()
    connection = Connection(sink.send, sink.close, "sv", PUBLIC, 8)
    connection.hold()
    await hub.attach(1, connection)
    before = connection.attached_at
    hub.deliver_local(1, PUBLIC, {"sv": "push 1"})
    hub.deliver_local(1, PUBLIC, {"sv": "push 2"})
    assert sink.frames == [] and hub.deliveries(1) == before + 2
    assert connection.release("snapshot")
    await asyncio.sleep(0)
    assert sink.frames == ["snapshot", "push 1", "push 2"]
    hub.deliver_local(1, PUBLIC, {"sv": "push 3"})
    assert sink.frames[-1] == "push 3"
    await hub.detach(1, connection)
    await plugin._on_shutdown()


async def test_a_socket_that_falls_too_far_behind_while_its_snapshot_is_made_is_refused():
    plugin, hub = await make_hub(queue_limit=2)
    sink = Sink()
    connection = Connection(sink.send, sink.close, "sv", PUBLIC, 2)
    connection.hold()
    await hub.attach(1, connection)
    for i in range(3):
        hub.deliver_local(1, PUBLIC, {"sv": f"push {i}"})
    assert connection.dropped  # the hub drops it: a fresh connect will get a fresh snapshot
    await hub.detach(1, connection)
    await plugin._on_shutdown()


async def test_an_observer_sees_and_may_change_every_publish():
    plugin, hub = await make_hub()
    seen = []

    def stamp(event_id, audience, frames):
        seen.append((event_id, audience))
        return {language: frame + "<!--t-->" for language, frame in frames.items()}

    hub.observers.append(stamp)
    sink = Sink()
    connection = Connection(sink.send, sink.close, "sv", PUBLIC, 8)
    await hub.attach(1, connection)
    await hub.publish(1, PUBLIC, {"sv": "x", "en": "x"})
    await wait_for(lambda: sink.frames)
    assert seen == [(1, PUBLIC)] and sink.frames == ["x<!--t-->"]
    await hub.detach(1, connection)
    await plugin._on_shutdown()
