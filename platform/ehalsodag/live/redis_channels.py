"""Redis pub/sub for Litestar channels that survives Redis going away.

Litestar's own pub/sub backend ends its subscriber on the first connection error and nothing restarts
it: after a Redis restart no push reaches any socket, old or new, while the pages look connected.
This backend keeps one subscriber connection per worker and, when it breaks, reconnects with
exponential backoff (0.1 s doubling to 2 s, with jitter) and subscribes again to every channel wanted.
It reports each change of state to its listeners: the hub closes its sockets when the connection
is lost (they reconnect and get a fresh snapshot once it is back) and refuses new ones meanwhile.

Subscribing and unsubscribing never fail on a lost connection (the channel is remembered and subscribed
on reconnect); publishing does (the caller knows the push did not go out and may retry it).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import AsyncGenerator, Callable, Iterable
from typing import Any

from litestar.channels.backends.base import ChannelsBackend
from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.retry import Retry

from ehalsodag import metrics
from ehalsodag.live.hub import HubHealth, HubUnavailable

log = logging.getLogger(__name__)

#: Called with True when the subscriber connection is (again) up, False when it was lost.
StateListener = Callable[[bool], None]

#: First and longest pause between two reconnection attempts (seconds).
BACKOFF_FIRST = 0.1
BACKOFF_MAX = 2.0
#: Longest wait for one command on the subscriber connection (subscribe, unsubscribe).
COMMAND_TIMEOUT = 3.0


class ResilientRedisChannels(ChannelsBackend, HubHealth):
    """A channels backend on Redis pub/sub that reconnects and resubscribes by itself."""

    def __init__(self, url: str, publisher: Redis) -> None:
        self.url = url
        #: Publishes (pooled; shared with nothing that blocks).
        self.publisher = publisher
        self._pubsub: PubSub | None = None
        self._client: Redis | None = None
        self._wanted: set[str] = set()
        self._listeners: list[StateListener] = []
        self._lock = asyncio.Lock()
        #: True while the subscriber connection is up (every wanted channel subscribed).
        self.available = False
        #: How many times the subscriber connection was lost (tests, logs).
        self.losses = 0
        self._started = False

    def on_change(self, listener: StateListener) -> None:
        """Call ``listener`` on each change of :attr:`available`."""
        self._listeners.append(listener)

    def _set(self, available: bool) -> None:
        if available == self.available:
            return
        self.available = available
        for listener in self._listeners:
            try:
                listener(available)
            except Exception:
                log.exception("a hub state listener failed")

    async def on_startup(self) -> None:
        """Nothing to do: :meth:`stream_events` connects (and reconnects)."""
        self._started = True

    async def on_shutdown(self) -> None:
        """Close both connections without waiting on a dead peer."""
        await self._drop_connection()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.publisher.aclose(), 2)

    async def _drop_connection(self) -> None:
        pubsub, client, self._pubsub, self._client = self._pubsub, self._client, None, None
        with contextlib.suppress(Exception):
            if pubsub is not None:
                await asyncio.wait_for(pubsub.aclose(), 2)
        with contextlib.suppress(Exception):
            if client is not None:
                await asyncio.wait_for(client.aclose(), 2)

    async def _lost(self, error: BaseException) -> None:
        if self.available:
            self.losses += 1
            metrics.redis_error("pubsub")
            log.warning("live updates: the Redis connection was lost (%s); reconnecting", error)
        self._set(False)
        await self._drop_connection()

    async def _connect(self) -> None:
        # no retries inside redis-py: a lost connection must surface here at once, the backoff is ours
        client = Redis.from_url(self.url, retry=Retry(NoBackoff(), 0), socket_connect_timeout=2,
                                socket_keepalive=True, health_check_interval=10)
        pubsub = client.pubsub()
        try:
            await asyncio.wait_for(pubsub.connect(), COMMAND_TIMEOUT)
            if self._wanted:
                await asyncio.wait_for(pubsub.subscribe(*self._wanted), COMMAND_TIMEOUT)
        except BaseException:
            with contextlib.suppress(Exception):
                await pubsub.aclose()
                await client.aclose()
            raise
        self._client, self._pubsub = client, pubsub
        if self.losses:
            log.warning("live updates: Redis is back; subscribed again to %d channels", len(self._wanted))
        self._set(True)

    async def publish(self, data: bytes, channels: Iterable[str]) -> None:
        """Publish ``data`` to ``channels``; raises :class:`HubUnavailable` when Redis cannot be reached."""
        try:
            for channel in set(channels):
                await self.publisher.publish(channel, data)
        except (RedisError, OSError) as exc:
            raise HubUnavailable(str(exc)) from exc

    async def subscribe(self, channels: Iterable[str]) -> None:
        """Listen on ``channels`` (now if connected, else as soon as the connection is back)."""
        new = set(channels) - self._wanted
        self._wanted |= new
        pubsub = self._pubsub
        if not new or pubsub is None:
            return
        try:
            async with self._lock:
                await asyncio.wait_for(pubsub.subscribe(*new), COMMAND_TIMEOUT)
        except (RedisError, OSError, TimeoutError) as exc:
            await self._lost(exc)

    async def unsubscribe(self, channels: Iterable[str]) -> None:
        """Stop listening on ``channels`` (best effort while the connection is lost)."""
        gone = set(channels) & self._wanted
        self._wanted -= gone
        pubsub = self._pubsub
        if not gone or pubsub is None:
            return
        try:
            async with self._lock:
                await asyncio.wait_for(pubsub.unsubscribe(*gone), COMMAND_TIMEOUT)
        except (RedisError, OSError, TimeoutError) as exc:
            await self._lost(exc)

    async def stream_events(self) -> AsyncGenerator[tuple[str, Any], None]:
        """Every message of a wanted channel, across reconnects; never ends on a connection error."""
        delay = BACKOFF_FIRST
        while True:
            if self._pubsub is None:
                try:
                    await self._connect()
                    delay = BACKOFF_FIRST
                except (RedisError, OSError, TimeoutError) as exc:
                    await self._lost(exc)
                    await asyncio.sleep(delay * (0.5 + random.random() / 2))
                    delay = min(delay * 2, BACKOFF_MAX)
                    continue
            pubsub = self._pubsub
            assert pubsub is not None
            try:
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
            except (RedisError, OSError, TimeoutError) as exc:
                await self._lost(exc)
                continue
            except RuntimeError as exc:  # the connection was dropped under us (a failed subscribe)
                await self._lost(exc)
                continue
            if message is None or message.get("type") != "message":
                continue
            channel = message["channel"].decode()
            if channel in self._wanted:
                yield channel, message["data"]

    async def get_history(self, channel: str, limit: int | None = None) -> list[bytes]:
        """Pub/sub keeps no history."""
        raise NotImplementedError
