"""Rate limits count a sliding window, the same in memory and in Redis, and fall back to per-worker limits while
Redis is away (issue 15, items 7 and 17)."""

from __future__ import annotations

import asyncio
import time

import pytest
from redis.asyncio import Redis

from ehalsodag.app import redis_client
from ehalsodag.web.ratelimit import Limit, MemoryLimiter, RateLimits, RedisLimiter, TooFast
from tests.conftest import free_port
from tests.support.faults import ThrowawayRedis, redis_server_missing

missing = redis_server_missing()


@pytest.fixture(params=["memory", "redis"])
async def limiter(request, tmp_path):
    if request.param == "memory":
        yield MemoryLimiter()
        return
    if missing:
        pytest.skip(missing)
    with ThrowawayRedis(tmp_path) as server:
        client = Redis.from_url(server.url)
        yield RedisLimiter(client, "test")
        await client.aclose()


async def test_a_burst_across_a_window_boundary_is_still_limited(limiter):
    """A fixed window lets 2 x count pass around its boundary (10 chat posts in 0.94 s against 5 per 10 s); a
    sliding window lets through at most count in any window, wherever the burst falls."""
    limit = Limit(5, 1.0)
    while time.time() % 1.0 < 0.7:  # start just before a whole second: a fixed window resets 0.3 s later
        await asyncio.sleep(0.01)
    started = time.monotonic()
    first = [await limiter.hit("chat", 1, limit) for _ in range(5)]
    assert first == [0.0] * 5
    refused = []
    while time.monotonic() - started < 0.85:
        refused.append(await limiter.hit("chat", 1, limit))
        await asyncio.sleep(0.05)
    assert len(refused) >= 10 and all(wait > 0 for wait in refused), refused
    assert all(wait <= 1.0 for wait in refused)
    await asyncio.sleep(max(0.0, started + 1.1 - time.monotonic()))
    assert await limiter.hit("chat", 1, limit) == 0.0  # the first of the burst has left the window
    assert await limiter.hit("chat", 2, limit) == 0.0  # another key has a window of its own


async def test_limits_fall_back_to_this_worker_while_redis_is_unreachable():
    port = free_port()  # nothing listens there
    limits = RateLimits(RedisLimiter(redis_client(f"redis://127.0.0.1:{port}/0"), "test"), {"chat": Limit(5, 10.0)})
    started = time.monotonic()
    for _ in range(5):
        await limits.enforce("chat", 7)
    with pytest.raises(TooFast) as refused:
        await limits.enforce("chat", 7)
    assert refused.value.status_code == 429 and refused.value.headers["Retry-After"].isdigit()
    assert limits.degraded
    assert time.monotonic() - started < 2, "Redis is asked once, not on every request"


@pytest.mark.skipif(bool(missing), reason=missing or "")
async def test_limits_count_in_redis_again_once_it_is_back(tmp_path):
    server = ThrowawayRedis(tmp_path)
    limits = RateLimits(RedisLimiter(redis_client(server.url), "test"), {"chat": Limit(2, 10.0)}, retry_after=0.2)
    await limits.enforce("chat", 1)  # Redis is down: counted here
    assert limits.degraded
    server.start()
    try:
        await asyncio.sleep(0.3)
        await limits.enforce("chat", 1)
        await limits.enforce("chat", 1)
        assert not limits.degraded
        with pytest.raises(TooFast):  # Redis counted these two itself
            await limits.enforce("chat", 1)
        client = Redis.from_url(server.url)
        assert await client.keys("test:rate:*") == [b"test:rate:chat:1"]
        await client.aclose()
    finally:
        server.kill()
