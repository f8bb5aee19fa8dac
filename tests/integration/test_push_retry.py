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
