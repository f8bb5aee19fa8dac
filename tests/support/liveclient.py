"""Clients that hold a page as a browser does (the snapshot, then every pushed frame applied), for tests that
compare a page kept current by pushes with a fresh snapshot."""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from typing import Any

import lxml.html
import websockets

from tests.support.livedom import LiveDocument

#: No frame for this long on any socket: an action's pushes have settled (results go out every 250 ms).
QUIET_SECONDS = 0.6


def part(document: LiveDocument, ids: tuple[str, ...]) -> LiveDocument:
    """Only the elements with these ids (one domain's share of a page), as a document of their own."""
    elements = [document.element(i) for i in ids]
    return LiveDocument("".join(lxml.html.tostring(e, encoding="unicode", with_tail=False)
                                for e in elements if e is not None))


@dataclass
class LiveClient:
    """One socket of one person on one page in one language: the snapshot it got, every frame since applied."""

    name: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    document: LiveDocument | None = None
    frames: list[str] = field(default_factory=list)
    last_frame: float = 0.0
    socket: Any = None
    reader: asyncio.Task[None] | None = None
    #: Frames that could not be applied (the frame protocol was broken).
    failures: list[str] = field(default_factory=list)

    async def start(self) -> LiveClient:
        self.socket = await websockets.connect(self.url, additional_headers=self.headers, max_size=None)
        self.document = LiveDocument(await asyncio.wait_for(self.socket.recv(), 10))
        self.reader = asyncio.create_task(self._read())
        return self

    async def _read(self) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            async for frame in self.socket:
                self.last_frame = time.monotonic()
                self.frames.append(frame)
                assert self.document is not None
                try:
                    self.document.apply(frame)
                except Exception as exc:  # noqa: BLE001 (the test reports it, with the frame)
                    self.failures.append(f"{exc!r} applying {frame[:300]}")

    def take(self) -> list[str]:
        """The frames received since the last take."""
        frames, self.frames = self.frames, []
        return frames

    async def fresh(self) -> LiveDocument:
        """The snapshot a new socket of the same person, page and language gets now."""
        async with websockets.connect(self.url, additional_headers=self.headers, max_size=None) as socket:
            return LiveDocument(await asyncio.wait_for(socket.recv(), 10))

    async def stop(self) -> None:
        if self.reader:
            self.reader.cancel()
        if self.socket:
            await self.socket.close()


async def settle(clients: list[LiveClient], timeout: float = 10.0) -> None:
    """Wait until no client has received a frame for QUIET_SECONDS."""
    deadline = time.monotonic() + timeout
    await asyncio.sleep(QUIET_SECONDS)
    while time.monotonic() < deadline:
        if time.monotonic() - max(c.last_frame for c in clients) >= QUIET_SECONDS:
            return
        await asyncio.sleep(0.1)
    raise AssertionError("pushes did not settle")
