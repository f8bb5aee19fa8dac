"""Rate limits per attendee (questions, upvotes, chat, votes) and per address (joins).

In one process a sliding window in memory; with Redis configured, a fixed window counted in Redis,
so the limits hold across every worker.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass
from typing import Any

from litestar.exceptions import HTTPException
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from ehalsodag import metrics
from ehalsodag.i18n import _


@dataclass(frozen=True)
class Limit:
    """At most ``count`` events per ``window`` seconds."""

    count: int
    window: float


#: The defaults: generous for people, tight for scripts.
LIMITS = {
    "chat": Limit(5, 10.0),
    "question": Limit(5, 60.0),
    "upvote": Limit(30, 60.0),
    "vote": Limit(10, 10.0),
    "join": Limit(600, 60.0),
}


class TooFast(HTTPException):
    """429 with a message saying when to try again."""

    status_code = 429


class MemoryLimiter:
    """Sliding windows in this process."""

    def __init__(self) -> None:
        self._hits: dict[tuple[str, object], deque[float]] = {}

    async def hit(self, name: str, key: object, limit: Limit) -> float:
        """Count one event; 0 when allowed, else the seconds until the next is (and nothing is counted)."""
        now = time.monotonic()
        hits = self._hits.setdefault((name, key), deque())
        while hits and hits[0] <= now - limit.window:
            hits.popleft()
        if len(hits) >= limit.count:
            return max(0.1, hits[0] + limit.window - now)
        hits.append(now)
        if len(self._hits) > 200_000:  # forget idle keys so memory stays bounded
            for stale in [k for k, v in self._hits.items() if not v or v[-1] <= now - 3600][:100_000]:
                del self._hits[stale]
        return 0.0


class RedisLimiter:
    """Fixed windows counted in Redis: shared by every worker."""

    def __init__(self, redis: Any, prefix: str) -> None:
        self.redis = redis
        self.prefix = prefix

    async def hit(self, name: str, key: object, limit: Limit) -> float:
        """Count one event; 0 when allowed, else the seconds until the window ends."""
        window = int(limit.window)
        slot = int(time.time() // window)
        redis_key = f"{self.prefix}:rate:{name}:{key}:{slot}"
        pipe = self.redis.pipeline()
        pipe.incr(redis_key)
        pipe.expire(redis_key, window + 1)
        try:
            count, _ok = await pipe.execute()
        except (RedisConnectionError, RedisTimeoutError):
            metrics.redis_error("rate_limit")
            raise
        if count > limit.count:
            return max(0.1, (slot + 1) * window - time.time())
        return 0.0


class RateLimits:
    """The app's limits, with the limiter that fits the deployment."""

    def __init__(self, limiter: MemoryLimiter | RedisLimiter, limits: dict[str, Limit] | None = None) -> None:
        self.limiter = limiter
        self.limits = {**LIMITS, **(limits or {})}

    async def enforce(self, name: str, key: object) -> None:
        """Raise 429 (with a readable message) when ``key`` goes over the ``name`` limit."""
        limit = self.limits[name]
        wait = await self.limiter.hit(name, key, limit)
        if wait:
            raise TooFast(detail=_(
                "Slow down: at most %(count)d per %(window)d seconds. Try again in %(wait)d s.",
                count=limit.count, window=int(limit.window), wait=int(wait) + 1))
