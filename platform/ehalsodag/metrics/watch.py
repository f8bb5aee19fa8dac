"""What is read at scrape time rather than counted: sockets per event and audience (from each hub's rooms), the
database pool (in use, idle, overflow, checkouts waiting), and the hook that counts Redis (re)connects.

The app registers its hub and engine with :func:`watch`; one collector per process reads every registered one
when Prometheus scrapes, so a socket attaching or a connection being checked out costs nothing here. The hub
is known only by its :class:`SocketCounter` shape: this package imports no domain and not the live layer.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Awaitable, Callable, Iterable, Iterator
from typing import Any, Protocol

from prometheus_client import REGISTRY
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import AsyncAdaptedQueuePool, PoolProxiedConnection

from ehalsodag.metrics.series import DB_CHECKOUT_SECONDS, REDIS_CONNECTS, REDIS_RECONNECTS


class SocketCounter(Protocol):
    """Anything that can say how many sockets it holds per (event id, audience): the hub."""

    def socket_counts(self) -> dict[tuple[int, str], int]:
        """Open sockets per (event id, audience)."""
        ...


class WatchedPool(AsyncAdaptedQueuePool):
    """SQLAlchemy's async queue pool, also counting the checkouts under way and timing each.

    SQLAlchemy has no event before a checkout, so "waiting" is the checkouts that have started and not yet got a
    connection: waiting for one to come back to a full pool, or opening a new one (a few milliseconds). Two
    integer updates and one histogram observation per checkout; asyncio runs them on one thread.
    """

    waiting = 0

    def connect(self) -> PoolProxiedConnection:
        """Check a connection out (see :class:`sqlalchemy.pool.Pool`), counted while it waits."""
        started = time.perf_counter()
        self.waiting += 1
        try:
            return super().connect()
        finally:
            self.waiting -= 1
            DB_CHECKOUT_SECONDS.observe(time.perf_counter() - started)


async def redis_connected(connection: Any) -> None:
    """``redis_connect_func`` of the app's Redis pools: the usual handshake, then count the connect — a
    reconnect when this connection object had been connected before (after an error or a server restart)."""
    await connection.on_connect()
    REDIS_CONNECTS.inc()
    if getattr(connection, "_ehalsodag_connected", False):
        REDIS_RECONNECTS.inc()
    connection._ehalsodag_connected = True


_hubs: weakref.WeakSet[Any] = weakref.WeakSet()
_engines: weakref.WeakSet[AsyncEngine] = weakref.WeakSet()
#: Event id → slug (slugs never change; events are few).
_slugs: dict[int, str] = {}
_registered = False


def watch(hub: SocketCounter | None = None, engine: AsyncEngine | None = None) -> None:
    """Read ``hub`` and ``engine`` at every scrape (for as long as they live); registers the collector once."""
    global _registered
    if hub is not None:
        _hubs.add(hub)
    if engine is not None:
        _engines.add(engine)
    if not _registered:
        REGISTRY.register(_LiveCollector())
        _registered = True


def unnamed_events() -> set[int]:
    """Events with sockets whose slug is not known yet."""
    return {event_id for hub in list(_hubs) for event_id, _audience in hub.socket_counts()} - _slugs.keys()


async def name_events(slug_of: Callable[[int], Awaitable[str | None]]) -> None:
    """Learn the slug of every event with sockets (once per event and process; called before a scrape)."""
    for event_id in unnamed_events():
        slug = await slug_of(event_id)
        if slug is not None:
            _slugs[event_id] = slug


def _families(sockets: Iterable[tuple[tuple[str, str], int]] = (), pool: dict[str, float] | None = None,
              ) -> Iterator[GaugeMetricFamily]:
    family = GaugeMetricFamily("ehalsodag_sockets_connected", "Open websockets on this worker per event and audience",
                               labels=["event", "audience"])
    for (event, audience), count in sorted(sockets):
        family.add_metric([event, audience], count)
    yield family
    documentation = {
        "in_use": "Database connections checked out of the pool now",
        "idle": "Database connections open and idle in the pool",
        "overflow": "Database connections open beyond the pool's size (negative: pool not yet full)",
        "size": "Database connections the pool keeps (its configured size; max overflow comes on top)",
        "waiting": "Database checkouts under way: waiting for a free connection or opening one",
    }
    for name, text in documentation.items():
        gauge = GaugeMetricFamily(f"ehalsodag_db_pool_{name}", text)
        if pool is not None:
            gauge.add_metric([], pool[name])
        yield gauge


class _LiveCollector(Collector):
    """Sockets and pool, read when Prometheus scrapes."""

    def describe(self) -> Iterator[GaugeMetricFamily]:
        return _families()

    def collect(self) -> Iterator[GaugeMetricFamily]:
        sockets: dict[tuple[str, str], int] = {}
        for hub in list(_hubs):
            for (event_id, audience), count in hub.socket_counts().items():
                key = (_slugs.get(event_id, f"event-{event_id}"), str(audience))
                sockets[key] = sockets.get(key, 0) + count
        pool = {"in_use": 0.0, "idle": 0.0, "overflow": 0.0, "size": 0.0, "waiting": 0.0}
        for engine in list(_engines):
            status: Any = engine.pool
            if not isinstance(status, AsyncAdaptedQueuePool):
                continue
            pool["in_use"] += status.checkedout()
            pool["idle"] += status.checkedin()
            pool["overflow"] += status.overflow()
            pool["size"] += status.size()
            pool["waiting"] += getattr(status, "waiting", 0)
        return _families(sockets.items(), pool)
