"""A moderator's action that was committed answers success even when its push fails, and the push is tried again
until it goes out (issue 15, item 18): the moderator never retries a shift that already moved the day."""

from __future__ import annotations

import asyncio
import datetime as dt

from ehalsodag.live import broadcast
from tests.conftest import load_fixture, make_staff


async def until(condition, seconds: float) -> None:
    for _ in range(int(seconds * 20)):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"not within {seconds} s")


async def test_a_shift_whose_push_fails_answers_200_moves_once_and_is_pushed_later(client, settings, monkeypatch):
    monkeypatch.setattr(broadcast, "PUSH_INTERVAL", 0.01)
    slug = await load_fixture(settings)
    auth = {"Authorization": f"Bearer {await make_staff(settings, 'mod@example.se', 'moderator', slug)}"}
    event = (await client.get(f"/api/v1/events/{slug}")).json()
    live = await client.post(f"/api/v1/events/{slug}/live", json={"block_id": event["blocks"][0]["id"]}, headers=auth)
    assert live.status_code == 200, live.text
    await asyncio.sleep(0.5)  # its push has gone out
    hub = client.app.state.hub
    real_publish = hub.publish
    attempts: list[str] = []
    delivered: list[dict[str, str]] = []

    async def flaky_publish(event_id, audience, by_language, **kwargs):
        attempts.append(audience)
        if len(attempts) <= 2:  # Redis (or the database behind the fragments) is away for a moment
            raise ConnectionError("Redis is away")
        delivered.append(by_language)
        await real_publish(event_id, audience, by_language, **kwargs)

    hub.publish = flaky_publish
    before = (await client.get(f"/api/v1/events/{slug}")).json()
    shifted = await client.post(f"/api/v1/events/{slug}/shift", json={"minutes": 1}, headers=auth)
    assert shifted.status_code == 200, shifted.text
    broadcaster = client.app.state.broadcaster
    await until(lambda: delivered, 10)  # (the app runs in the test client's own loop: poll, do not await it)
    assert len(attempts) > 2, "the failed push was tried again and went out"
    assert any("programme" in frame["sv"] for frame in delivered)
    assert broadcaster.pushes_abandoned == 0

    after = (await client.get(f"/api/v1/events/{slug}")).json()
    moved = [(dt.datetime.fromisoformat(b["start"]) - dt.datetime.fromisoformat(a["start"])).total_seconds()
             for a, b in zip(before["blocks"], after["blocks"], strict=True) if a["start"] != b["start"]]
    assert moved and set(moved) == {60.0}, "the day moved one minute, once"


async def test_a_push_that_keeps_failing_is_given_up_after_its_retries(client, settings, monkeypatch):
    monkeypatch.setattr(broadcast, "PUSH_INTERVAL", 0.01)
    monkeypatch.setattr(broadcast, "PUSH_RETRIES", 2)
    slug = await load_fixture(settings)
    auth = {"Authorization": f"Bearer {await make_staff(settings, 'mod@example.se', 'moderator', slug)}"}
    hub = client.app.state.hub

    async def down(*_args, **_kwargs):
        raise ConnectionError("Redis is away")

    hub.publish = down
    answer = await client.post(f"/api/v1/events/{slug}/announcement", json={"text": "Paus"}, headers=auth)
    assert answer.status_code == 200, answer.text
    broadcaster = client.app.state.broadcaster
    await until(lambda: broadcaster.pushes_abandoned, 10)
    assert broadcaster.pushes_abandoned == 1


async def test_a_shift_retried_with_its_request_key_moves_the_day_once(client, settings):
    slug = await load_fixture(settings)
    auth = {"Authorization": f"Bearer {await make_staff(settings, 'mod@example.se', 'moderator', slug)}"}
    event = (await client.get(f"/api/v1/events/{slug}")).json()
    assert (await client.post(f"/api/v1/events/{slug}/live", json={"block_id": event["blocks"][0]["id"]},
                              headers=auth)).status_code == 200
    before = (await client.get(f"/api/v1/events/{slug}")).json()

    def moved_seconds(after: dict) -> set[float]:
        return {(dt.datetime.fromisoformat(b["start"]) - dt.datetime.fromisoformat(a["start"])).total_seconds()
                for a, b in zip(before["blocks"], after["blocks"], strict=True) if a["start"] != b["start"]}

    keyed = {**auth, "Idempotency-Key": "shift-1"}
    refused = await client.post(f"/api/v1/events/{slug}/shift", json={"minutes": 0}, headers=keyed)
    assert refused.status_code == 422  # a refused request keeps nothing: the same key may be used again
    first = await client.post(f"/api/v1/events/{slug}/shift", json={"minutes": 1}, headers=keyed)
    retried = await client.post(f"/api/v1/events/{slug}/shift", json={"minutes": 1}, headers=keyed)
    assert first.status_code == retried.status_code == 200
    assert retried.json() == first.json() and retried.headers.get("idempotent-replayed") == "true"
    assert moved_seconds((await client.get(f"/api/v1/events/{slug}")).json()) == {60.0}, "moved once"

    other = await make_staff(settings, "mod2@example.se", "moderator", slug)  # keys are per caller
    again = await client.post(f"/api/v1/events/{slug}/shift", json={"minutes": 1},
                              headers={"Authorization": f"Bearer {other}", "Idempotency-Key": "shift-1"})
    assert again.status_code == 200 and "idempotent-replayed" not in again.headers
    assert moved_seconds((await client.get(f"/api/v1/events/{slug}")).json()) == {120.0}


async def test_request_keys_are_shared_by_workers_through_redis_and_kept_locally_while_it_is_away(tmp_path):
    from ehalsodag.app import redis_client
    from ehalsodag.web.request_keys import RequestKeys
    from tests.support.faults import ThrowawayRedis, redis_server_missing

    if missing := redis_server_missing():
        import pytest

        pytest.skip(missing)
    with ThrowawayRedis(tmp_path) as redis:
        worker_a, worker_b = RequestKeys(redis_client(redis.url), "t"), RequestKeys(redis_client(redis.url), "t")
        assert await worker_a.claim("k") is None
        assert await worker_b.claim("k") == b""  # being handled on worker A
        await worker_a.keep("k", b'{"answer": 1}')
        assert await worker_b.claim("k") == b'{"answer": 1}'
        redis.kill()
        assert await worker_b.claim("k2") is None  # Redis away: this worker keeps it
        assert await worker_b.claim("k2") == b""
