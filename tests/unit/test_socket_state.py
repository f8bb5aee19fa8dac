"""``SocketInbox`` and ``SocketFlag`` behave as the ``asyncio.Queue`` and ``asyncio.Event`` they stand in for, in every
way uvicorn's websocket protocol uses them: random sequences of puts, readers, cancelled readers, sets, clears and
waiters give the same outcome step by step on both."""

from __future__ import annotations

import asyncio
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from ehalsodag.live.socket_state import SocketFlag, SocketInbox

inbox_steps = st.lists(st.one_of(
    st.tuples(st.just("put"), st.integers(0, 99)),
    st.tuples(st.just("read"), st.just(0)),
    st.tuples(st.just("read_now"), st.just(0)),
    st.tuples(st.just("cancel"), st.integers(0, 20)),
    st.tuples(st.just("run"), st.integers(0, 3)),
), max_size=40)


async def _inbox_story(make: Any, steps: list[tuple[str, int]]) -> list[Any]:
    """What can be seen after each step: each reader's item (or waiting / cancelled) and what is left."""
    queue = make()
    readers: list[asyncio.Task[Any]] = []
    seen: list[Any] = []
    for kind, value in steps:
        if kind == "put":
            queue.put_nowait(value)
        elif kind == "read":
            readers.append(asyncio.ensure_future(queue.get()))
        elif kind == "read_now":
            try:
                seen.append(("now", queue.get_nowait()))
            except asyncio.QueueEmpty:
                seen.append(("now", "empty"))
        elif kind == "cancel" and readers:
            readers[value % len(readers)].cancel()
        for _ in range(value if kind == "run" else 1):
            await asyncio.sleep(0)
        await asyncio.sleep(0)
        seen.append(([reader.result() if reader.done() and not reader.cancelled() else
                      "cancelled" if reader.cancelled() else "waiting" for reader in readers],
                     queue.qsize(), queue.empty()))
    for reader in readers:
        reader.cancel()
    await asyncio.gather(*readers, return_exceptions=True)
    return seen


@settings(max_examples=300, deadline=None)
@given(inbox_steps)
def test_the_inbox_gives_what_an_asyncio_queue_gives(steps):
    assert asyncio.run(_inbox_story(SocketInbox, steps)) == asyncio.run(_inbox_story(asyncio.Queue, steps))


flag_steps = st.lists(st.one_of(
    st.just(("set", 0)), st.just(("clear", 0)), st.just(("wait", 0)),
    st.tuples(st.just("cancel"), st.integers(0, 20)), st.tuples(st.just("run"), st.integers(0, 3)),
), max_size=40)


async def _flag_story(make: Any, steps: list[tuple[str, int]]) -> list[Any]:
    flag = make()
    waiters: list[asyncio.Task[Any]] = []
    seen: list[Any] = []
    for kind, value in steps:
        if kind == "set":
            flag.set()
        elif kind == "clear":
            flag.clear()
        elif kind == "wait":
            waiters.append(asyncio.ensure_future(flag.wait()))
        elif kind == "cancel" and waiters:
            waiters[value % len(waiters)].cancel()
        for _ in range(value if kind == "run" else 1):
            await asyncio.sleep(0)
        await asyncio.sleep(0)
        seen.append(([waiter.result() if waiter.done() and not waiter.cancelled() else
                      "cancelled" if waiter.cancelled() else "waiting" for waiter in waiters], flag.is_set()))
    for waiter in waiters:
        waiter.cancel()
    await asyncio.gather(*waiters, return_exceptions=True)
    return seen


@settings(max_examples=300, deadline=None)
@given(flag_steps)
def test_the_flag_behaves_as_an_asyncio_event(steps):
    assert asyncio.run(_flag_story(SocketFlag, steps)) == asyncio.run(_flag_story(asyncio.Event, steps))


async def test_a_woken_reader_that_is_cancelled_leaves_the_item_for_the_next():
    inbox = SocketInbox()
    first, second = asyncio.ensure_future(inbox.get()), asyncio.ensure_future(inbox.get())
    await asyncio.sleep(0)
    inbox.put_nowait("vote")
    first.cancel()
    assert await asyncio.wait_for(second, 1) == "vote"
    assert first.cancelled() and inbox.empty()
