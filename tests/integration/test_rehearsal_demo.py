"""The README's demo path: ``serve --demo`` offers the Östergötland day as if it were on now (a rehearsal), and a
day long past that a moderator takes live today shows the date it went live, never millions of minutes."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import func, select

from ehalsodag.agenda.models import Event
from ehalsodag.cli import DEMO_REHEARSAL, demo_rehearsal
from ehalsodag.db.engine import Database
from ehalsodag.web.templating import long_date
from tests.conftest import load_fixture, make_staff, run_sync, start_server, stop_server


async def _rehearsals(settings) -> list[tuple[str, dt.date]]:
    db = Database(settings)
    try:
        async with db.reader() as session:
            rows = await session.execute(select(Event.slug, Event.date).where(Event.rehearsal_of_id.is_not(None)))
            return [tuple(row) for row in rows]
    finally:
        await db.dispose()


async def _event_count(settings) -> int:
    db = Database(settings)
    try:
        async with db.reader() as session:
            return (await session.execute(select(func.count()).select_from(Event))).scalar_one()
    finally:
        await db.dispose()


def test_the_demo_offers_the_day_as_if_on_now_and_a_past_day_shows_dates_not_minutes(settings, tmp_path):
    run_sync(load_fixture(settings, "ramprogram-2021.toml"))
    run_sync(load_fixture(settings, f"{DEMO_REHEARSAL}.toml"))
    token = run_sync(make_staff(settings, "mod@example.se", "moderator", DEMO_REHEARSAL))
    slug = run_sync(demo_rehearsal(settings))
    count = run_sync(_event_count(settings))
    assert run_sync(demo_rehearsal(settings)) == slug == f"{DEMO_REHEARSAL}-repetition"  # each start: afresh
    assert run_sync(_event_count(settings)) == count
    assert [s for s, _date in run_sync(_rehearsals(settings))] == [slug]
    server = start_server(settings, tmp_path / "server.log")
    try:
        assert "Repetition" in httpx.get(f"{server.base_url}/e/{slug}").text  # the banner, for everyone
        joined = httpx.post(f"{server.base_url}/api/v1/events/{slug}/join", json={}).json()["attendee_token"]
        page = httpx.get(f"{server.base_url}/e/{slug}", headers={"Authorization": f"Bearer {joined}"}).text
        assert "rehearsal-banner" in page
        assert "Dagen är slut" not in page  # at any hour: the copy's first block began two minutes ago
        assert 'class="live-dot"' in page
        staff = {"Authorization": f"Bearer {token}"}
        panel = httpx.get(f"{server.base_url}/e/{slug}/control", headers=staff)
        assert panel.status_code == 200  # the day's moderator moderates its rehearsal
        # the 2021 day itself, taken live today: the run-of-show says when, as a date
        event = httpx.get(f"{server.base_url}/api/v1/events/{DEMO_REHEARSAL}").json()
        block = event["blocks"][2]["id"]
        assert httpx.post(f"{server.base_url}/api/v1/events/{DEMO_REHEARSAL}/live", json={"block_id": block},
                          headers=staff).status_code == 200
        ros = httpx.get(f"{server.base_url}/e/{DEMO_REHEARSAL}/control", headers=staff).text
        ros = ros.split('id="run-of-show"')[1].split("</section>")[0]
        assert not re.search(r"[+-]\d{4,} min", ros), "a figure of thousands of minutes in the run-of-show"
        today = dt.datetime.now(ZoneInfo("Europe/Stockholm")).date()
        assert long_date(today) in ros
        # and within the day itself, lateness stays in minutes (the rehearsal, taken live on its own day)
        rehearsal = httpx.get(f"{server.base_url}/api/v1/events/{slug}").json()
        assert httpx.post(f"{server.base_url}/api/v1/events/{slug}/live",
                          json={"block_id": rehearsal["blocks"][0]["id"]}, headers=staff).status_code == 200
        ros = httpx.get(f"{server.base_url}/e/{slug}/control", headers=staff).text
        ros = ros.split('id="run-of-show"')[1].split("</section>")[0]
        assert long_date(today) not in ros and re.search(r"\([+-]\d{1,3} min\)", ros)
    finally:
        stop_server(server)
