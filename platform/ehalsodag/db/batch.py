"""Group commit for new rows: callers add objects and wait; one transaction writes many of them.

Used for joins: a national day may see thousands join within seconds, and one fsync per join would
queue them up. Each caller returns only after its row is committed, with its id assigned.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from ehalsodag.db.engine import Database

log = logging.getLogger(__name__)
MAX_BATCH = 1000


class BatchInserter:
    """Inserts ORM objects in batches; :meth:`insert` returns the object once committed."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._queue: asyncio.Queue[tuple[Any, asyncio.Future[Any]]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start the writer task."""
        self._task = asyncio.create_task(self._run(), name="batch-inserter")

    async def stop(self) -> None:
        """Write what is queued, then stop."""
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        leftover = []
        while not self._queue.empty():
            leftover.append(self._queue.get_nowait())
        if leftover:
            await self._write(leftover)

    async def insert(self, obj: Any) -> Any:
        """Insert ``obj``; return it (with its id) after the commit."""
        done: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        if self._task is None:  # no writer running (scripts, tests without a lifespan): write at once
            await self._write([(obj, done)])
        else:
            await self._queue.put((obj, done))
        return await done

    async def _run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while not self._queue.empty() and len(batch) < MAX_BATCH:
                batch.append(self._queue.get_nowait())
            try:
                await self._write(batch)
            except Exception as exc:  # every waiting caller gets the error; the writer goes on
                log.exception("inserting %d rows failed", len(batch))
                for _obj, done in batch:
                    if not done.done():
                        done.set_exception(exc)

    async def _write(self, batch: list[tuple[Any, asyncio.Future[Any]]]) -> None:
        async with self.db.writer() as session:
            session.add_all([obj for obj, _done in batch])
            await session.commit()
        for obj, done in batch:
            if not done.done():
                done.set_result(obj)
