"""Every route with an integer id in its path refuses an id no database can hold with a 400, also for staff
(whose guards look the id up before the route runs): never a 500."""

from __future__ import annotations

import re

from ehalsodag.app import create_app
from tests.conftest import load_fixture, make_staff


async def test_every_integer_path_parameter_out_of_range_is_a_400(client, settings):
    slug = await load_fixture(settings, "ostergotland-2021-03-23.toml")
    token = await make_staff(settings, "admin@example.se", "admin")
    routes = []
    for route in create_app(settings).routes:
        if ":int}" in route.path and route.__class__.__name__ == "HTTPRoute":
            routes += [(m, route.path) for m in route.methods if m not in ("HEAD", "OPTIONS")]
    assert len(routes) >= 10
    await client.get("/login")
    csrf = client.cookies.get("csrftoken") or ""
    wrong = []
    for method, path in routes:
        for bad in (2**63, 2**64 + 5, 0):
            url = re.sub(r"\{\w+:int\}", str(bad), path).replace("{slug:str}", slug)
            url = re.sub(r"\{\w+:str\}", "x", url)
            response = await client.request(method, url, headers={"Authorization": f"Bearer {token}",
                                                                   "X-CSRFToken": csrf},
                                             data={"_csrf_token": csrf} if not url.startswith("/api/") else None)
            if response.status_code != 400:
                wrong.append(f"{method} {path} with {bad}: {response.status_code}")
    assert wrong == [], "\n".join(wrong)
