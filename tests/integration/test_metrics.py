"""GET /metrics (issue 19): Litestar's Prometheus plugin behind EHALSODAG_METRICS_TOKEN, and the platform's own
series moving with a scripted day on the real server: 50 attendees join, some open their pages, 50 votes on an
open poll, a question and an upvote, then everybody leaves."""

from __future__ import annotations

import asyncio
import re
from dataclasses import replace

import httpx
import pytest
import websockets
from litestar.channels import ChannelsPlugin
from litestar.channels.backends.memory import MemoryChannelsBackend
from prometheus_client.parser import text_string_to_metric_families

from ehalsodag.app import create_app
from ehalsodag.live.hub import Connection, Hub
from tests.conftest import load_fixture, make_staff, run_sync, start_server, stop_server

SLUG = "ostergotland-2021-03-23"
TOKEN = "metrics-token-for-the-test"
#: What the endpoint must expose (the platform's own series and the plugin's request latency).
SERIES = [
    "ehalsodag_sockets_connected", "ehalsodag_joins_total", "ehalsodag_votes_total", "ehalsodag_questions_total",
    "ehalsodag_upvotes_total", "ehalsodag_fanout_seconds", "ehalsodag_fanout_bytes_total", "ehalsodag_push_bytes_total",
    "ehalsodag_sockets_dropped_total", "ehalsodag_db_pool_in_use", "ehalsodag_db_pool_waiting",
    "ehalsodag_db_pool_checkout_seconds", "ehalsodag_redis_reconnects_total", "ehalsodag_redis_errors_total",
    "ehalsodag_request_duration_seconds",
]


def scrape(server) -> tuple[str, dict[tuple[str, frozenset], float]]:
    """The exposition text and every sample by (name, labels)."""
    response = httpx.get(f"{server.base_url}/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return response.text, samples


def value(samples, name: str, **labels) -> float:
    """The sum of ``name``'s samples that carry ``labels`` (0 when there is none)."""
    wanted = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and wanted <= ls)


@pytest.fixture
def day(settings, tmp_path, monkeypatch):
    settings = replace(settings, vote_limit=1000)
    run_sync(load_fixture(settings, f"{SLUG}.toml"))
    staff = run_sync(make_staff(settings, "mod@example.se", "moderator", SLUG))
    monkeypatch.setenv("EHALSODAG_METRICS_TOKEN", TOKEN)
    server = start_server(settings, tmp_path / "server.log")
    try:
        yield server, {"Authorization": f"Bearer {staff}"}
    finally:
        stop_server(server)


async def test_the_series_move_with_a_scripted_day(day):
    server, staff = day
    text, before = scrape(server)
    for name in SERIES:
        assert f"# HELP {name} " in text, name
    assert value(before, "ehalsodag_db_pool_size") == 8  # SQLite's pool
    assert value(before, "ehalsodag_redis_reconnects_total") == 0  # no Redis configured

    async with httpx.AsyncClient(base_url=server.base_url) as http:
        # 50 attendees join
        joined = [await http.post(f"/api/v1/events/{SLUG}/join", json={}) for _ in range(50)]
        assert {r.status_code for r in joined} == {201}
        tokens = [r.json()["attendee_token"] for r in joined]
        bearer = [{"Authorization": f"Bearer {t}"} for t in tokens]
        _, after_joins = scrape(server)
        assert value(after_joins, "ehalsodag_joins_total") - value(before, "ehalsodag_joins_total") == 50

        # 10 of them open the attendee page, a moderator the control panel
        sockets = [await websockets.connect(f"{server.ws_url}/e/{SLUG}/ws?token={t}") for t in tokens[:10]]
        sockets.append(await websockets.connect(f"{server.ws_url}/e/{SLUG}/ws?view=control", additional_headers=staff))
        for ws in sockets:
            await asyncio.wait_for(ws.recv(), 5)  # the snapshot: the socket is attached
        _, connected = scrape(server)
        assert value(connected, "ehalsodag_sockets_connected", event=SLUG, audience="attendee") == 10
        assert value(connected, "ehalsodag_sockets_connected", event=SLUG, audience="staff") == 1

        # the moderator opens a poll and all 50 vote
        polls = (await http.get(f"/api/v1/events/{SLUG}/polls")).json()
        poll = next(p for p in polls if p["kind"] == "single")
        assert (await http.post(f"/api/v1/polls/{poll['id']}/open", headers=staff)).status_code in (200, 201)
        option = poll["options"][0]["id"]
        votes = await asyncio.gather(*(http.post(f"/api/v1/polls/{poll['id']}/responses",
                                                 json={"option_ids": [option]}, headers=h) for h in bearer))
        assert {r.status_code for r in votes} == {201}, {r.text for r in votes}
        await asyncio.sleep(1.0)  # results go out on their own beat (250 ms, attendees paced by fan-out time)
        _, voted = scrape(server)
        assert value(voted, "ehalsodag_votes_total") - value(after_joins, "ehalsodag_votes_total") == 50
        for audience in ("attendee", "staff"):
            assert (value(voted, "ehalsodag_fanout_seconds_count", audience=audience)
                    > value(after_joins, "ehalsodag_fanout_seconds_count", audience=audience)), audience
            assert (value(voted, "ehalsodag_fanout_bytes_total", audience=audience)
                    > value(after_joins, "ehalsodag_fanout_bytes_total", audience=audience)), audience
            assert (value(voted, "ehalsodag_push_bytes_total", audience=audience)
                    > value(after_joins, "ehalsodag_push_bytes_total", audience=audience)), audience
        assert value(voted, "ehalsodag_db_pool_checkout_seconds_count") > value(
            before, "ehalsodag_db_pool_checkout_seconds_count")

        # request latency per route: by the route's template, never the raw path
        vote_route = "/api/v1/polls/{poll_id}/responses"
        assert value(voted, "ehalsodag_request_duration_seconds_count", path=vote_route, method="POST") == 50
        paths = {dict(ls).get("path") for (n, ls) in voted if n == "ehalsodag_request_duration_seconds_count"}
        assert not [p for p in paths if p and re.search(r"/\d+(/|$)", p)], paths
        assert f"/api/v1/polls/{poll['id']}/responses" not in paths

        # a question, approved if the event moderates first, and one upvote
        asked = await http.post(f"/api/v1/events/{SLUG}/questions", json={"text": "Hur mäter vi nyttan?"},
                                headers=bearer[0])
        assert asked.status_code == 201, asked.text
        question = asked.json()["id"]
        if asked.json()["status"] == "pending":
            approved = await http.post(f"/api/v1/questions/{question}/moderate", json={"action": "approve"},
                                       headers=staff)
            assert approved.status_code == 200
        upvoted = await http.post(f"/api/v1/questions/{question}/upvote", headers=bearer[1])
        assert upvoted.status_code in (200, 201), upvoted.text
        _, asked_and_upvoted = scrape(server)
        assert value(asked_and_upvoted, "ehalsodag_questions_total") - value(voted, "ehalsodag_questions_total") == 1
        assert value(asked_and_upvoted, "ehalsodag_upvotes_total") - value(voted, "ehalsodag_upvotes_total") == 1

        # everybody leaves
        for ws in sockets:
            await ws.close()
        for _ in range(50):
            _, left = scrape(server)
            if value(left, "ehalsodag_sockets_connected", event=SLUG) == 0:
                break
            await asyncio.sleep(0.1)
        assert value(left, "ehalsodag_sockets_connected", event=SLUG) == 0
        assert value(left, "ehalsodag_db_pool_in_use") >= 0 and value(left, "ehalsodag_db_pool_waiting") == 0


async def test_the_endpoint_needs_the_token_and_stays_out_of_the_schema(day):
    server, staff = day
    assert httpx.get(f"{server.base_url}/metrics").status_code == 401
    assert httpx.get(f"{server.base_url}/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert httpx.get(f"{server.base_url}/metrics", headers=staff).status_code == 401  # a staff token is not it
    schema = httpx.get(f"{server.base_url}/schema/openapi.json").json()
    assert not [path for path in schema["paths"] if "metrics" in path]


async def test_without_a_token_there_is_no_endpoint(client):
    assert (await client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})).status_code == 404


async def test_a_socket_dropped_as_too_slow_is_counted(settings):
    from prometheus_client import REGISTRY

    create_app(settings)  # registers the series in this process
    plugin = ChannelsPlugin(backend=MemoryChannelsBackend(), arbitrary_channels_allowed=True)
    await plugin._on_startup()
    hub = Hub(plugin, queue_limit=2)
    never = asyncio.Event()

    async def blocked_send(frame):
        await never.wait()

    async def close(code, reason):
        pass

    before = REGISTRY.get_sample_value("ehalsodag_sockets_dropped_total", {"audience": "screen"}) or 0
    slow = Connection(blocked_send, close, "sv", "screen", 2)
    await hub.attach(1, slow)
    for i in range(5):
        hub.deliver_local(1, "screen", {"sv": f"frame {i}"})
    assert slow.dropped
    assert REGISTRY.get_sample_value("ehalsodag_sockets_dropped_total", {"audience": "screen"}) == before + 1
    slow.stop()
    await plugin._on_shutdown()
