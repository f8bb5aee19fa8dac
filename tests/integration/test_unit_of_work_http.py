"""The request's unit of work over HTTP: a refused request (a failing dependency, a guard, a service refusal)
leaves no transaction open behind it, so the next write goes through at once (SQLite: no lock left held)."""

from __future__ import annotations

import time

import httpx

from tests.conftest import make_staff


def test_refusals_by_dependencies_leave_no_write_lock_behind(served):
    joined = httpx.post(f"{served.base_url}/api/v1/events/regional/join", json={}).json()
    bearer = {"Authorization": f"Bearer {joined['attendee_token']}"}
    for _ in range(5):
        # the event loads in the unit of work, then the attendee dependency refuses: 401
        refused = httpx.post(f"{served.base_url}/api/v1/events/regional/questions", json={"text": "Hej?"})
        assert refused.status_code == 401
        # a form that cannot be read, next to the unit of work: 4xx
        bad = httpx.post(f"{served.base_url}/api/v1/events/regional/questions", json={"text": 5}, headers=bearer)
        assert 400 <= bad.status_code < 500
        started = time.monotonic()
        asked = httpx.post(f"{served.base_url}/api/v1/events/regional/questions", json={"text": "Går det bra?"},
                           headers=bearer, timeout=10)
        assert asked.status_code == 201, asked.text
        assert time.monotonic() - started < 2, "the write waited for a lock a refused request left behind"


async def test_a_service_refusal_rolls_back_everything_the_request_changed(served):
    staff = await make_staff(served.settings, "mod@example.se", "moderator", "regional")
    headers = {"Authorization": f"Bearer {staff}"}
    async with httpx.AsyncClient(base_url=served.base_url, headers=headers) as http:
        refused = await http.post("/api/v1/events/regional/shift", json={"minutes": 9999})
        assert refused.status_code == 422
        posted = await http.post("/api/v1/events/regional/announcement", json={"text": "Paus"}, timeout=10)
        assert posted.status_code == 200
        assert (await http.get("/api/v1/events/regional")).json()["announcement"] == "Paus"
