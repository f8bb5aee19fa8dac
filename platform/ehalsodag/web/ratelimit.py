"""Rate limits per attendee (questions, upvotes, chat, votes) and per address (joins).

Both backends count the same way: a **sliding window** (a log of the accepted events of the last
``window`` seconds; an event is allowed while fewer than ``count`` are in it). In one process the log
lives in memory; with Redis configured it is a sorted set per key, trimmed and counted by one Lua
script on Redis's own clock, so the limits hold across every worker and no burst slips through at a
window's edge (a fixed window lets 2 × ``count`` pass in a moment around the boundary).

While Redis cannot be reached, the limits degrade to per-worker limits (the same sliding windows in
this process's memory) instead of failing the request: nothing in Redis needs persisting, and a vote
or a join must not fail because a counter is away. Redis is tried again after a short pause.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

from litestar.exceptions import HTTPException
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from ehalsodag import metrics
from ehalsodag.i18n import _

log = logging.getLogger(__name__)


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


#: The sliding window in Redis, atomically: drop entries older than the window, count, add if under the limit.
#: KEYS[1]: the key's sorted set; ARGV: count, window in ms, a unique member. Returns 0 (allowed) or the
#: milliseconds until the oldest entry leaves the window.
_SLIDING_WINDOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local count = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) >= count then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return math.max(1, tonumber(oldest[2]) + window - now)
end
redis.call('ZADD', KEYS[1], now, ARGV[3])
redis.call('PEXPIRE', KEYS[1], window + 1000)
return 0
"""


class RedisLimiter:
    """Sliding windows counted in Redis: shared by every worker (the same semantics as :class:`MemoryLimiter`)."""

    def __init__(self, redis: Any, prefix: str) -> None:
        self.redis = redis
        self.prefix = prefix
        self._script = redis.register_script(_SLIDING_WINDOW)
        self._member = 0
        self._worker = secrets.token_hex(4)

    async def hit(self, name: str, key: object, limit: Limit) -> float:
        """Count one event; 0 when allowed, else the seconds until the next is (and nothing is counted)."""
        self._member += 1
        redis_key = f"{self.prefix}:rate:{name}:{key}"
        try:
            wait_ms = await self._script(keys=[redis_key], args=[
                limit.count, int(limit.window * 1000), f"{self._worker}:{self._member}"])
        except (RedisConnectionError, RedisTimeoutError, OSError):
            metrics.redis_error("rate_limit")
            raise
        return max(0.1, int(wait_ms) / 1000) if int(wait_ms) else 0.0


class RateLimits:
    """The app's limits, with the limiter that fits the deployment.

    With a Redis limiter, ``fallback`` (this process's memory) counts while Redis is away: for
    ``retry_after`` seconds after a failure Redis is not asked, so a request never waits on it twice.
    """

    def __init__(self, limiter: MemoryLimiter | RedisLimiter, limits: dict[str, Limit] | None = None,
                 retry_after: float = 2.0) -> None:
        self.limiter = limiter
        self.limits = {**LIMITS, **(limits or {})}
        self.fallback = MemoryLimiter()
        self.retry_after = retry_after
        #: Until when (monotonic) the limits are counted per worker because Redis failed.
        self.degraded_until = 0.0

    @property
    def degraded(self) -> bool:
        """True while limits are counted per worker because Redis could not be reached."""
        return time.monotonic() < self.degraded_until

    async def _hit(self, name: str, key: object, limit: Limit) -> float:
        if isinstance(self.limiter, MemoryLimiter):
            return await self.limiter.hit(name, key, limit)
        if not self.degraded:
            try:
                return await self.limiter.hit(name, key, limit)
            except (RedisError, OSError) as exc:
                log.warning("rate limits count per worker: Redis is unreachable (%s)", exc)
                self.degraded_until = time.monotonic() + self.retry_after
        return await self.fallback.hit(name, key, limit)

    async def enforce(self, name: str, key: object) -> None:
        """Raise 429 (with a readable, kind message) when ``key`` goes over the ``name`` limit."""
        limit = self.limits[name]
        wait = await self._hit(name, key, limit)
        if wait:
            seconds = int(wait) + 1
            raise TooFast(detail=refusal(name, seconds), headers={"Retry-After": str(seconds)})


def refusal(name: str, seconds: int) -> str:
    """What a person who went over the ``name`` limit reads: what happened and what to do, never a scolding
    (the attendees are professionals at work; a care unit shares one address)."""
    if name in ("chat", "question"):
        return _("You are writing fast — wait %(wait)d seconds and send again. What you wrote is still there.",
                 wait=seconds)
    if name in ("vote", "upvote"):
        return _("You are clicking fast — wait %(wait)d seconds and try again.", wait=seconds)
    if seconds > 120:  # an hour's limit: minutes, not thousands of seconds
        return _("Many tries from this network in a short time — wait %(wait)d minutes and try again.",
                 wait=-(-seconds // 60))
    return _("Many tries from this network in a short time — wait %(wait)d seconds and try again.", wait=seconds)
