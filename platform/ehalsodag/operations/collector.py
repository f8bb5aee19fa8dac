"""Python's garbage collector, paced for thousands of open sockets.

Each open websocket keeps a few hundred Python objects alive (its protocol, its task, its queue, its
connection). Python's cycle collector now and then walks every object of the oldest generation; with 5,000
sockets that walk stopped the event loop for 0.5-0.65 s, and a vote burst set it off every two to three
seconds (measured with the benchmark's sampler: 23 full collections, 7.5 s in a 96 s run). Every vote,
push and heartbeat waited behind it.

So while the app runs, the young generations are collected as Python does by itself (they hold nearly all
short-lived garbage: a request's objects, a vote's futures), and the oldest one on a clock of our own, every
:data:`FULL_COLLECTION_SECONDS`: one pause every few minutes instead of one every few seconds. What the app
built at start (modules, templates, the mapped tables) is frozen out of every collection: it lives as long as
the process. Python's own settings come back when the last app of the process stops (tests run several).

This relies on the generational collector of Python 3.11-3.13 (the third threshold). Python 3.14's incremental
collector paces the old generation differently: measure again before moving to it.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import time

log = logging.getLogger(__name__)

#: Seconds between two full collections while the app runs.
FULL_COLLECTION_SECONDS = 300.0
#: A threshold for the oldest generation that Python never reaches by itself.
NEVER = 2**31 - 1
#: Running collectors of this process, and Python's threshold from before the first one started.
_running: list[Collector] = []
_saved: list[tuple[int, int, int]] = []


class Collector:
    """Full garbage collections on a clock, for as long as the app runs (see the module docstring)."""

    def __init__(self, every: float = FULL_COLLECTION_SECONDS) -> None:
        self.every = every
        self.full_collections = 0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Freeze what the app built, stop automatic full collections and run them on the clock instead."""
        if self._task is not None:
            return
        if not _running:
            gc.collect()
            gc.freeze()
            _saved[:] = [gc.get_threshold()]
            young, middle, _oldest = _saved[0]
            gc.set_threshold(young, middle, NEVER)
        _running.append(self)
        self._task = asyncio.create_task(self._run(), name="garbage-collector")

    async def stop(self) -> None:
        """Python's own settings again; what was frozen is collectable again."""
        if self._task is None:
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None
        _running.remove(self)
        if not _running and _saved:
            gc.set_threshold(*_saved.pop())
            gc.unfreeze()

    def collect(self) -> float:
        """One full collection now; the seconds it took."""
        started = time.perf_counter()
        gc.collect()
        self.full_collections += 1
        took = time.perf_counter() - started
        log.debug("full garbage collection: %.3f s", took)
        return took

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.every)
            self.collect()
