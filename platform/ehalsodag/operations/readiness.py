"""Is this worker ready for new requests and sockets? What ``/readyz`` answers.

Ready means: not shutting down, the database answers and is at the code's newest migration, and the live hub can
publish (through Redis when configured) and its subscriber still runs. The result is kept for a moment so that
probes from several load balancers cost one check; the shutdown flag is read on every probe.

On SIGTERM :func:`begin_shutdown` (called by ``ehalsodag.server`` before any socket is closed) turns every
readiness of the process false, so that a proxy polling ``/readyz`` stops sending new sockets first.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref

from litestar.channels import ChannelsPlugin

from ehalsodag.db.engine import Database
from ehalsodag.operations.checks import database_revision, head_revision, reason

logger = logging.getLogger(__name__)

OK = "ok"
#: Every readiness of this process (one per app), so that the server's shutdown can turn them all false.
_ALL: weakref.WeakSet[Readiness] = weakref.WeakSet()


def begin_shutdown() -> None:
    """Every app of this process answers ``/readyz`` with 503 from now on."""
    for readiness in list(_ALL):
        readiness.shutting_down = True


class Readiness:
    """The checks behind ``/readyz`` for one app."""

    def __init__(self, db: Database, channels: ChannelsPlugin, prefix: str, *, timeout: float = 3.0,
                 keep_seconds: float = 2.0) -> None:
        _ALL.add(self)
        self.db = db
        self.channels = channels
        #: A channel nobody subscribes to: publishing on it proves the hub's backend works, and reaches no socket.
        self.probe_channel = f"{prefix}:readiness"
        self.timeout = timeout
        self.keep_seconds = keep_seconds
        #: Set when the worker starts shutting down (SIGTERM, or the app's lifespan ending).
        self.shutting_down = False
        self._lock = asyncio.Lock()
        self._kept: tuple[float, dict[str, str]] | None = None

    async def checks(self) -> dict[str, str]:
        """Each check's state: ``"ok"`` or a short public reason (details go to the log, not to the prober)."""
        shutdown = "shutting down" if self.shutting_down else OK
        async with self._lock:  # probes arriving together share one round of checks
            if self._kept is None or time.monotonic() - self._kept[0] > self.keep_seconds:
                self._kept = (time.monotonic(), await self._run())
            return {"shutdown": shutdown, **self._kept[1]}

    async def _run(self) -> dict[str, str]:
        database, hub = await asyncio.gather(self._database(), self._hub())
        return {**database, "hub": hub}

    async def _database(self) -> dict[str, str]:
        try:
            current = await asyncio.wait_for(database_revision(self.db.engine), self.timeout)
        except Exception as exc:
            logger.warning("readiness: database unreachable: %s", reason(exc))
            return {"database": "unreachable", "migrations": "unknown"}
        if current != head_revision():
            logger.warning("readiness: database at migration %s, code at %s", current, head_revision())
            return {"database": OK, "migrations": "not current"}
        return {"database": OK, "migrations": OK}

    async def _hub(self) -> str:
        # Litestar's channels plugin feeds every subscriber from one task; when it has ended (Redis gone away),
        # this worker's sockets get no more pushes. The plugin has no public way to ask, hence the private name.
        subscriber = getattr(self.channels, "_sub_task", None)
        if subscriber is None or subscriber.done():
            logger.warning("readiness: the hub's subscriber is not running")
            return "not subscribed"
        # the Redis backend reconnects by itself (ehalsodag.live.redis_channels): not ready while it is away
        if getattr(getattr(self.channels, "_backend", None), "available", True) is False:
            logger.warning("readiness: the hub's subscriber is reconnecting to Redis")
            return "reconnecting"
        try:
            await asyncio.wait_for(self.channels.wait_published(b"", [self.probe_channel]), self.timeout)
        except Exception as exc:
            logger.warning("readiness: the hub cannot publish: %s", reason(exc))
            return "cannot publish"
        return OK
