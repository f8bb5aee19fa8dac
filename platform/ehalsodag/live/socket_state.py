"""Small stand-ins for the asyncio queue and event that every open websocket holds for hours.

uvicorn's websocket protocol gives each socket an ``asyncio.Queue`` (its inbox: four deques inside, with the event
it keeps for ``join``) and an ``asyncio.Event`` (may it write now?). A deque costs about 620 bytes even when empty,
so an idle socket spends some 3.5 KiB on the two; at 10,000 sockets that is 35 MiB for nothing. ``SocketInbox`` and
``SocketFlag`` do what the protocol uses of them, the same way, on plain lists that stay empty while nobody waits.
``ehalsodag.server.SocketProtocol`` puts them in place.
"""

from __future__ import annotations

import asyncio
from typing import Any

# ``SocketInbox.get`` and ``SocketFlag.wait`` each wait on their own future rather than through a shared helper:
# an idle socket's reader sits in ``get`` for hours, and a helper's coroutine frame would be kept per socket.


def _wake(waiters: list[asyncio.Future[None]]) -> None:
    for waiter in waiters:
        if not waiter.done():
            waiter.set_result(None)
    waiters.clear()


class SocketInbox:
    """A first-in first-out queue without a bound: ``put_nowait``, ``get``, ``get_nowait``, ``empty`` and ``qsize``
    as ``asyncio.Queue`` has them. The protocol pauses reading after each message it puts here, so only a few ever
    wait; a put wakes every reader, and each takes an item if one is left (a reader that is cancelled while woken
    takes nothing, and loses nothing for the others)."""

    __slots__ = ("_items", "_waiters")

    def __init__(self) -> None:
        self._items: list[Any] = []
        self._waiters: list[asyncio.Future[None]] = []

    def put_nowait(self, item: Any) -> None:
        """Add ``item`` at the end and wake whoever waits."""
        self._items.append(item)
        if self._waiters:
            _wake(self._waiters)

    def get_nowait(self) -> Any:
        """The first item; ``asyncio.QueueEmpty`` when there is none."""
        if not self._items:
            raise asyncio.QueueEmpty
        return self._items.pop(0)

    async def get(self) -> Any:
        """The first item, waiting for one if need be."""
        while not self._items:
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                await waiter
            finally:
                if waiter in self._waiters:
                    self._waiters.remove(waiter)
        return self._items.pop(0)

    def empty(self) -> bool:
        """True when nothing waits to be read."""
        return not self._items

    def qsize(self) -> int:
        """How many items wait to be read."""
        return len(self._items)


class SocketFlag:
    """A flag to wait on: ``set``, ``clear``, ``is_set`` and ``wait`` as ``asyncio.Event`` has them."""

    __slots__ = ("_set", "_waiters")

    def __init__(self) -> None:
        self._set = False
        self._waiters: list[asyncio.Future[None]] = []

    def is_set(self) -> bool:
        """True while the flag is up."""
        return self._set

    def set(self) -> None:
        """Raise the flag and wake everyone who waits."""
        if not self._set:
            self._set = True
            _wake(self._waiters)

    def clear(self) -> None:
        """Lower the flag: ``wait`` waits again."""
        self._set = False

    async def wait(self) -> bool:
        """Return True as soon as the flag is up (at once if it is)."""
        if self._set:
            return True
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter
        finally:
            if waiter in self._waiters:
                self._waiters.remove(waiter)
        return True
