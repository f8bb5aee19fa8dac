"""Fuzz the JSON API with schemathesis, from the app's own OpenAPI schema: no input gives a 5xx.

Cases run against the real server with attendee and staff tokens, so that the handlers behind the
authorisation are reached too. Each operation gets a bounded number of examples to keep CI quick.
"""

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from tests.conftest import load_fixture, make_staff, run_sync, start_server, stop_server

SLUG = "ostergotland-2021-03-23"
STATE: dict[str, str] = {}


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory):
    from dataclasses import replace

    from ehalsodag.db.migrate import upgrade
    from tests.conftest import make_settings

    tmp = tmp_path_factory.mktemp("fuzz")
    app_settings = replace(make_settings(tmp), vote_limit=100_000, join_limit=100_000)
    upgrade(app_settings)
    run_sync(load_fixture(app_settings, f"{SLUG}.toml"))
    STATE["staff"] = run_sync(make_staff(app_settings, "mod@example.se", "organiser", SLUG))
    server = start_server(app_settings, tmp / "server.log")
    STATE["attendee"] = httpx.post(f"{server.base_url}/api/v1/events/{SLUG}/join", json={}).json()["attendee_token"]
    STATE["base_url"] = server.base_url
    yield schemathesis.openapi.from_url(f"{server.base_url}/schema/openapi.json")
    stop_server(server)


def test_no_input_gives_a_server_error(api_schema):
    failures: list[str] = []
    operations = 0
    for result in api_schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True,
                  database=None)
        @given(case=operation.as_strategy())
        def run(case) -> None:
            if "slug" in (case.path_parameters or {}) and len(failures) % 2 == 0:
                case.path_parameters["slug"] = SLUG  # reach a real event as well as missing ones
            staff_only = any(part in case.path for part in ("/live", "/shift", "/announcement", "/results",
                                                            "/moderate", "/settings", "/open", "/mute",
                                                            "/programme", "/blocks/")) or case.path == "/api/v1/events"
            token = STATE["staff"] if staff_only else STATE["attendee"]
            response = case.call(base_url=STATE["base_url"], headers={"Authorization": f"Bearer {token}"})
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path}: {response.status_code} {response.text[:200]}")

        run()
    assert operations >= 20
    assert failures == [], "\n".join(failures)
