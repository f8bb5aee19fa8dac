"""Group commit: callers queue their writes and wait; one transaction writes many of them.

A vote burst or a wave of joins from thousands of attendees would otherwise be thousands of
transactions, each waiting for its own fsync. A writer task takes everything that arrived while the
previous batch was being written, writes it in one transaction, and only then answers every waiting
caller: "committed before acknowledged" still holds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any, Generic, TypeVar

from ehalsodag.db.engine import Database

log = logging.getLogger(__name__)
MAX_BATCH = 2000

Item = TypeVar("Item")


class GroupCommit(Generic[Item]):
    """The writer task and queue; subclasses write one batch in :meth:`write_batch`."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._queue: asyncio.Queue[tuple[Item, asyncio.Future[Any]]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self.batches = 0

    def start(self) -> None:
        """Start the writer task."""
        self._task = asyncio.create_task(self._run(), name=type(self).__name__)

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

    async def submit(self, item: Item) -> Any:
        """Queue ``item``; return its result once the batch holding it is committed."""
        done: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        if self._task is None:  # no writer running (scripts, tests without a lifespan): write at once
            await self._write([(item, done)])
        else:
            await self._queue.put((item, done))
        return await done

    async def write_batch(self, items: list[Item]) -> list[Any]:
        """Write ``items`` in one transaction; return one result per item, in order (an exception
        instance refuses that item alone: its caller gets it raised)."""
        raise NotImplementedError

    async def _write(self, batch: list[tuple[Item, asyncio.Future[Any]]]) -> None:
        results = await self.write_batch([item for item, _done in batch])
        self.batches += 1
        for (_item, done), result in zip(batch, results, strict=True):
            if done.done():
                continue
            if isinstance(result, BaseException):
                done.set_exception(result)
            else:
                done.set_result(result)

    async def _run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while not self._queue.empty() and len(batch) < MAX_BATCH:
                batch.append(self._queue.get_nowait())
            try:
                await self._write(batch)
            except Exception as exc:  # every waiting caller gets the error; the writer goes on
                log.exception("writing a batch of %d failed", len(batch))
                for _item, done in batch:
                    if not done.done():
                        done.set_exception(exc)


class BatchInserter(GroupCommit[Any]):
    """Inserts ORM objects (new attendees) in batches; :meth:`insert` returns the object with its id."""

    async def insert(self, obj: Any) -> Any:
        """Insert ``obj``; return it after the commit."""
        return await self.submit(obj)

    async def write_batch(self, items: list[Any]) -> list[Any]:
        """Add every object and commit once."""
        async with self.db.writer() as session:
            session.add_all(items)
            await session.commit()
        return items
