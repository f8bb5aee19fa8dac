"""Issue 15, item 12: the published attendance figures (docs/results.md) on a scripted day — a restart, late joiners,
care units with and without JavaScript, people leaving mid-block, a scripted outlier — on SQLite and PostgreSQL,
and a restart of the real server."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from pathlib import Path

import httpx
import websockets
from litestar.testing import AsyncTestClient

from ehalsodag.agenda.files import load_agenda
from ehalsodag.agenda.service import event_by_slug, load_spec
from ehalsodag.app import create_app
from ehalsodag.attendees.models import Attendee
from ehalsodag.db.engine import Database
from ehalsodag.live.attendance import AttendanceRecorder
from ehalsodag.live.hub import Attendance
from ehalsodag.settings import Settings
from tests.conftest import load_fixture, make_staff, run_sync, start_server, stop_server
from tests.integration.test_privacy_review import both as both  # noqa: F401  (the fixture: SQLite, PostgreSQL)

SLUG = "skriptad-dag"
PROGRAMME = """
[event]
slug = "skriptad-dag"
title = "Skriptad dag"
date = 2021-05-25
timezone = "Europe/Stockholm"

[[stages]]
id = "main"
name = "Huvudsändning"
kind = "national"

[[blocks]]
id = "oppning"
kind = "opening"
start = "09:00"
end = "10:00"
title = "Öppning"

[[blocks]]
id = "panel"
kind = "panel"
start = "10:00"
end = "11:00"
title = "Panel"

[[blocks]]
id = "avslutning"
kind = "closing"
start = "11:00"
end = "11:30"
title = "Avslutning"
"""
DAY = dt.datetime(2021, 5, 25, 7, 0, tzinfo=dt.UTC)  # 09:00 in Sweden


def at(hhmm: str) -> dt.datetime:
    """A UTC minute of the day ("07:30")."""
    hours, minutes = (int(x) for x in hhmm.split(":"))
    return DAY.replace(hour=hours, minute=minutes)


def during(first: str, last: str, when: dt.datetime) -> bool:
    return at(first) <= when <= at(last)


class FakeHub:
    """The live hub's attendance report, scripted minute by minute."""

    def __init__(self) -> None:
        self.report: list[Attendance] = []

    def take_attendance(self) -> list[Attendance]:
        report, self.report = self.report, []
        return report


async def script_the_day(settings: Settings, tmp_path: Path) -> dict[str, int]:
    """Load the day and play it through the attendance recorder; return the attendees' ids by name."""
    path = tmp_path / "dag.toml"
    path.write_text(PROGRAMME, encoding="utf-8")
    db = Database(settings)
    try:
        async with db.unit_of_work() as session:
            await load_spec(session, load_agenda(path))
        async with db.writer() as session:
            event = await event_by_slug(session, SLUG)
            assert event is not None
            sizes = {"A": 1, "B": 1, "C": 1, "U": 12, "N": 8, "X": 50, "J": 1}
            people = {name: Attendee(event_id=event.id, token_hash=f"{SLUG}-{name}".ljust(64, "x"), group_size=size)
                      for name, size in sizes.items()}
            session.add_all(people.values())
            await session.commit()
            ids = {name: a.id for name, a in people.items()}
            event_id = event.id

        hub = FakeHub()
        first, second = AttendanceRecorder(db, hub), AttendanceRecorder(db, hub)  # type: ignore[arg-type]
        first.worker, second.worker = "host:101", "host:202"  # the restart: a new process id

        def connected(minute: dt.datetime) -> set[str]:
            return {name for name, present in (
                ("A", during("07:00", "08:59", minute)),  # the whole morning, through the restart
                ("B", during("07:00", "07:20", minute)),  # leaves in the middle of the opening
                ("C", during("08:15", "09:29", minute)),  # joins late, in the panel
                ("U", during("07:00", "08:59", minute)),  # a care unit of 12 with JavaScript
                ("X", minute == at("07:10")),  # a scripted outlier declaring 50
            ) if present}

        minute = at("07:00")
        while minute <= at("09:29"):
            if minute in (at("07:05"), at("08:40")):  # a care unit of 8 without JavaScript loads the page
                (first if minute < at("07:30") else second).saw(event_id, ids["N"])
            names = connected(minute)
            workers = [first] if minute < at("07:30") else [first, second] if minute == at("07:30") else [second]
            for recorder in workers:  # 07:30: the old process's last sample and the new one's first
                if names:
                    hub.report = [Attendance(event_id, len(names) + 1, 0, frozenset(ids[n] for n in names),
                                             frozenset())]
                await recorder.sample(minute + dt.timedelta(seconds=20))
            minute += dt.timedelta(minutes=1)
        return ids
    finally:
        await db.dispose()


async def report_of(settings: Settings, cap: int | None = None, status: int = 200) -> dict:
    organiser = await make_staff(settings, f"org{cap}@example.se", "organiser", SLUG)
    headers = {"Authorization": f"Bearer {organiser}"}
    async with AsyncTestClient(app=create_app(settings), base_url="http://testserver.local") as client:
        if cap is not None:
            saved = await client.post(f"/api/v1/events/{SLUG}/reach", json={"max_group_size": cap}, headers=headers)
            assert saved.status_code == status, saved.text
        report = (await client.get(f"/api/v1/events/{SLUG}/results", headers=headers)).json()
        page = (await client.get(f"/e/{SLUG}/results", headers=headers)).text
    return {"json": report, "page": page}


async def test_a_scripted_day_gives_the_documented_figures(both, tmp_path):  # noqa: F811
    await script_the_day(both, tmp_path)
    result = await report_of(both)
    attendance = result["json"]["attendance"]
    # docs/results.md: unique = present at least one minute (J joined and never came); reach = their group sizes
    assert (attendance["joined"], attendance["unique"], attendance["estimated_reach"]) == (7, 6, 73)
    # the most at once: 07:10 (A, B, U, N without JavaScript, X); never more than the unique attendees
    assert (attendance["peak_concurrent"], attendance["peak_reach"]) == (5, 72)
    timeline = {t["local"]: (t["connections"], t["reach"]) for t in attendance["timeline"]}
    assert len(timeline) == 150 and list(timeline)[0] == "09:00" and list(timeline)[-1] == "11:29"  # local time
    assert timeline["09:30"] == (3, 21)  # the restart minute: A, U and N once each, not twice
    assert timeline["09:04"] == (3, 14) and timeline["09:05"] == (4, 22)  # N's page view counts from 09:05 ...
    assert timeline["09:34"] == (3, 21) and timeline["09:35"] == (2, 13)  # ... for 30 minutes
    assert timeline["09:20"] == (4, 22) and timeline["09:21"] == (3, 21)  # B left mid-block
    assert timeline["10:15"] == (3, 14) and timeline["11:10"] == (1, 1)  # C came late; N's second view ended
    blocks = {b["key"]: (b["attendees"], b["peak_connections"], b["estimated_reach"], b["peak_reach"])
              for b in attendance["blocks"]}
    assert blocks == {"oppning": (5, 5, 72, 72), "panel": (4, 4, 22, 22), "avslutning": (2, 2, 9, 9)}
    for block in attendance["blocks"]:
        assert block["peak_connections"] <= block["attendees"] <= attendance["unique"]
        assert block["peak_reach"] <= block["estimated_reach"] <= attendance["estimated_reach"]
    [stage] = result["json"]["stages"]
    assert [(b["key"], b["estimated_reach"]) for b in stage["attendance"]["blocks"]] == [
        ("oppning", 72), ("panel", 22), ("avslutning", 9)]
    assert [(g["size"], g["joined"], g["present"]) for g in attendance["group_sizes"]] == [
        (1, 4, 3), (8, 1, 1), (12, 1, 1), (50, 1, 1)]
    page = result["page"]
    assert "Poäng" not in page and 'id="group-sizes"' in page and "(UTC)" not in page
    assert '<time datetime="2021-05-25T07:00:00Z">09:00</time>' in page
    chart = page.split('id="chart-attendance"')[1].split("</svg>")[0]
    assert ">09:00</text>" in chart and ">11:29</text>" in chart  # the chart in local time too


async def test_organisers_leave_outlying_group_sizes_out_of_the_reach(both, tmp_path):  # noqa: F811
    await script_the_day(both, tmp_path)
    attendance = (await report_of(both, cap=20))["json"]["attendance"]
    assert attendance["reach_max_group_size"] == 20 and attendance["reach_capped"] == 1
    assert (attendance["estimated_reach"], attendance["peak_reach"]) == (24, 23)  # X's 50 counts as 1
    assert next(b for b in attendance["blocks"] if b["key"] == "oppning")["estimated_reach"] == 23
    assert [g["counted"] for g in attendance["group_sizes"]] == [True, True, True, False]
    again = await report_of(both, cap=0, status=422)
    assert again["json"]["attendance"]["reach_max_group_size"] == 20  # refused (422): nothing changed


async def test_ranking_results_are_labelled_as_points(client, settings):
    slug = "ostergotland-2021-03-23"
    await load_fixture(settings, f"{slug}.toml")
    moderator = {"Authorization": f"Bearer {await make_staff(settings, 'mod@example.se', 'moderator', slug)}"}
    organiser = {"Authorization": f"Bearer {await make_staff(settings, 'org@example.se', 'organiser', slug)}"}
    ranking = next(p for p in (await client.get(f"/api/v1/events/{slug}/polls")).json() if p["kind"] == "ranking")
    assert (await client.post(f"/api/v1/polls/{ranking['id']}/open", headers=moderator)).status_code == 200
    joined = (await client.post(f"/api/v1/events/{slug}/join", json={})).json()["attendee_token"]
    client.cookies.clear()
    order = [o["id"] for o in ranking["options"]]
    answered = await client.post(f"/api/v1/polls/{ranking['id']}/responses", json={"ranking": order},
                                 headers={"Authorization": f"Bearer {joined}"})
    assert answered.status_code in (200, 201), answered.text
    page = (await client.get(f"/e/{slug}/results", headers=organiser)).text
    item = next(a.split("</article>")[0] for a in page.split('<article class="result-item">') if "Rangordning" in a)
    assert '<th scope="col">Poäng</th>' in item and ">Antal<" not in item  # Borda points, not a count of people
    assert "4 poäng (" in item  # the chart's figure for the first choice of four
    assert '<th scope="col">Antal</th>' in page  # the other polls still count answers


def test_a_server_restart_and_a_care_unit_without_javascript_count_once(settings, tmp_path):
    """The real server, sampling every 0.3 s: four attendees connect, the server restarts within the minute and they
    reconnect; a care unit of 12 joins by the form without JavaScript. Peak never exceeds unique, peak reach never
    exceeds reach, and the care unit is in both."""
    from dataclasses import replace

    fast = replace(settings, attendance_seconds=0.3)
    run_sync(load_fixture(fast, "jamtland-harjedalen-2021-05-25.toml"))
    slug = "jamtland-harjedalen-2021-05-25"
    organiser = run_sync(make_staff(fast, "org@example.se", "organiser", slug))
    headers = {"Authorization": f"Bearer {organiser}"}
    server = start_server(fast, tmp_path / "first.log")
    tokens = [httpx.post(f"{server.base_url}/api/v1/events/{slug}/join", json={}).json()["attendee_token"]
              for _ in range(4)]

    async def watch(ws_url: str) -> None:
        sockets = [await websockets.connect(f"{ws_url}/e/{slug}/ws?token={t}") for t in tokens]
        for socket in sockets:
            await socket.recv()
        await asyncio.sleep(1.0)
        for socket in sockets:
            await socket.close()

    with httpx.Client(base_url=server.base_url, follow_redirects=False) as browser:  # no JavaScript: forms only
        page = browser.get(f"/e/{slug}")
        csrf = re.search(r'name="_csrf_token" value="([^"]+)"', page.text).group(1)
        joined = browser.post(f"/e/{slug}/join", data={"_csrf_token": csrf, "group_size": "12"})
        assert joined.status_code == 303
        assert browser.get(f"/e/{slug}").status_code == 200
        try:
            asyncio.run(watch(server.ws_url))
        finally:
            stop_server(server)
        server = start_server(fast, tmp_path / "second.log")  # the restart: a new process, the same minute
        try:
            asyncio.run(watch(server.ws_url))
            report = httpx.get(f"{server.base_url}/api/v1/events/{slug}/results", headers=headers).json()
        finally:
            stop_server(server)
    attendance = report["attendance"]
    assert attendance["unique"] == 5 and attendance["estimated_reach"] == 16  # four alone + the care unit of 12
    assert attendance["peak_concurrent"] <= attendance["unique"] and attendance["peak_concurrent"] == 5
    assert attendance["peak_reach"] <= attendance["estimated_reach"] and attendance["peak_reach"] == 16
    assert all(t["connections"] <= 5 for t in attendance["timeline"])

