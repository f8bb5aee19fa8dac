"""Interaction over the real server: pushes between attendees, the one-vote rule under concurrency,
and poll results coalesced to at most one push per poll every 250 ms."""

import asyncio
import time
from dataclasses import replace

import httpx
import pytest
import websockets
from sqlalchemy import func, select

from ehalsodag.db.engine import Database
from ehalsodag.polls.models import PollResponse
from tests.conftest import load_fixture, make_staff, run_sync, start_server, stop_server

SLUG = "ostergotland-2021-03-23"


@pytest.fixture
def day(settings, tmp_path):
    settings = replace(settings, vote_limit=1000)  # this file is about concurrency, not the rate limit
    run_sync(load_fixture(settings, "ostergotland-2021-03-23.toml"))
    staff = run_sync(make_staff(settings, "mod@example.se", "moderator", SLUG))
    server = start_server(settings, tmp_path / "server.log")
    try:
        yield server, {"Authorization": f"Bearer {staff}"}
    finally:
        stop_server(server)


def join(server):
    response = httpx.post(f"{server.base_url}/api/v1/events/{SLUG}/join", json={})
    return response.json()["attendee_token"]


async def frames_until(ws, predicate, timeout=2.0):
    async def loop():
        while True:
            frame = await ws.recv()
            if predicate(frame):
                return frame
    return await asyncio.wait_for(loop(), timeout)


async def test_an_approved_question_and_a_poll_result_reach_another_attendee(day):
    server, staff = day
    token_a, token_b = join(server), join(server)
    a = {"Authorization": f"Bearer {token_a}"}
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        await http.post(f"/api/v1/events/{SLUG}/settings", json={"premoderation": True}, headers=staff)
        poll = next(p for p in (await http.get(f"/api/v1/events/{SLUG}/polls")).json() if p["kind"] == "single")
        async with websockets.connect(f"{server.ws_url}/e/{SLUG}/ws?token={token_b}") as ws_b:
            await asyncio.wait_for(ws_b.recv(), 2)  # snapshot
            asked = await http.post(f"/api/v1/events/{SLUG}/questions", json={"text": "Vem äger datan?"}, headers=a)
            assert asked.json()["status"] == "pending"
            # B gets nothing of a question waiting for a moderator.
            with pytest.raises(TimeoutError):
                await frames_until(ws_b, lambda f: "Vem äger datan?" in f or f'id="q-{asked.json()["id"]}"' in f, 0.6)
            await http.post(f"/api/v1/questions/{asked.json()['id']}/moderate", json={"action": "approve"},
                            headers=staff)
            approved = await frames_until(ws_b, lambda f: "Vem äger datan?" in f)
            # one item, upserted into the list: not the whole list
            assert f'<li id="q-{asked.json()["id"]}"' in approved and 'data-into="question-list"' in approved
            assert 'id="question-list"' not in approved

            await http.post(f"/api/v1/polls/{poll['id']}/open", headers=staff)
            opened = await frames_until(ws_b, lambda f: f'id="poll-{poll["id"]}"' in f)
            assert 'name="option_ids"' in opened  # the vote form arrived without a reload
            vote = await http.post(f"/api/v1/polls/{poll['id']}/responses",
                                   json={"option_ids": [poll["options"][2]["id"]]}, headers=a)
            assert vote.status_code == 201
            result = await frames_until(ws_b, lambda f: f'id="poll-{poll["id"]}-results"' in f and "1 svar" in f)
            assert "Kompetens" in result and "1 (100,0 %)" in result


async def test_one_vote_per_attendee_under_100_concurrent_duplicate_submissions(day):
    server, staff = day
    token = join(server)
    async with httpx.AsyncClient(base_url=server.base_url, timeout=30,
                                 limits=httpx.Limits(max_connections=100)) as http:
        poll = next(p for p in (await http.get(f"/api/v1/events/{SLUG}/polls")).json() if p["kind"] == "single")
        await http.post(f"/api/v1/polls/{poll['id']}/open", headers=staff)
        options = [o["id"] for o in poll["options"]]

        async def submit(i):
            return await http.post(f"/api/v1/polls/{poll['id']}/responses",
                                   json={"option_ids": [options[i % len(options)]]},
                                   headers={"Authorization": f"Bearer {token}"})

        responses = await asyncio.gather(*(submit(i) for i in range(100)))
    assert all(r.status_code in (200, 201) for r in responses), {r.status_code for r in responses}
    db = Database(server.settings)
    async with db.reader() as session:
        rows = (await session.execute(select(func.count()).where(PollResponse.poll_id == poll["id"]))).scalar_one()
    await db.dispose()
    assert rows == 1
    results = httpx.get(f"{server.base_url}/e/{SLUG}/screen").text
    assert "1 svar" in results


async def test_poll_results_are_coalesced_to_one_push_per_250_ms(day):
    server, staff = day
    tokens = [join(server) for _ in range(60)]
    watcher = join(server)
    async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as http:
        poll = next(p for p in (await http.get(f"/api/v1/events/{SLUG}/polls")).json() if p["kind"] == "scale")
        await http.post(f"/api/v1/polls/{poll['id']}/open", headers=staff)
        marker = f'id="poll-{poll["id"]}-results"'
        async with websockets.connect(f"{server.ws_url}/e/{SLUG}/ws?token={watcher}") as ws:
            await asyncio.wait_for(ws.recv(), 2)
            frames: list[str] = []

            async def collect():
                while True:
                    frames.append(await ws.recv())

            collector = asyncio.create_task(collect())
            started = time.monotonic()
            votes = await asyncio.gather(*(
                http.post(f"/api/v1/polls/{poll['id']}/responses", json={"value": 1 + i % 5},
                          headers={"Authorization": f"Bearer {t}"}) for i, t in enumerate(tokens)))
            assert all(v.status_code == 201 for v in votes)
            await asyncio.sleep(0.8)  # long enough for the last coalesced push
            elapsed = time.monotonic() - started
            collector.cancel()
    result_frames = [f for f in frames if marker in f]
    pushes = len(result_frames)
    last = result_frames[-1]
    assert "60 svar" in last
    assert "Medelvärde 3,00" in last
    # 60 votes, yet at most one results push per 250 ms (+1 for the window the burst started in).
    assert 1 <= pushes <= elapsed / 0.25 + 1, (pushes, elapsed)
