"""The national day, live: push equals snapshot for stage-scoped audiences, and a region's push reaches only
that region.

Real server, real websockets. Attendees in Östergötland, in Skåne and of the national programme only, the
control panel and presenter screen of every stage, in both languages. Every action (a question, vote or
message in a region or nationally, a region's block going live, running late and ending, an attendee
changing region) must leave every client's page equal to a fresh snapshot of it; and the clients of a stage
the action does not concern must receive nothing at all.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import lxml.html
import pytest
from sqlalchemy import update

from ehalsodag.agenda.models import Block
from ehalsodag.db.engine import Database
from tests.conftest import make_staff, run_sync, start_server, stop_server
from tests.integration.test_push_equals_snapshot import _without_clock
from tests.support.liveclient import LiveClient, settle
from tests.support.livedom import assert_same_dom
from tests.support.national_day import NATIONAL, OSTERGOTLAND, SKANE, SLUG, load_national_day

API = f"/api/v1/events/{SLUG}"


@dataclass
class NationalDay:
    base: str
    http: httpx.AsyncClient
    staff: dict[str, str]
    tokens: dict[str, str]
    state: dict[str, Any] = field(default_factory=dict)

    async def ok(self, method: str, path: str, *, who: str = "staff", json: Any = None) -> Any:
        headers = self.staff if who == "staff" else {"Authorization": f"Bearer {self.tokens[who]}"}
        response = await self.http.request(method, self.base + path, json=json, headers=headers)
        assert response.status_code in (200, 201), f"{method} {path}: {response.status_code} {response.text}"
        return response.json() if response.content else None


Action = Callable[[NationalDay], Awaitable[None]]

#: Who joins where: two attendees in Östergötland, one in Skåne, one of the national programme only.
PEOPLE = {"ost1": OSTERGOTLAND, "ost2": OSTERGOTLAND, "skane": SKANE, "national": None}


def ask(who: str, text: str, key: str) -> Action:
    async def act(day: NationalDay) -> None:
        day.state[key] = (await day.ok("POST", f"{API}/questions", who=who, json={"text": text}))["id"]
    return act


def block(key: str) -> Callable[[NationalDay], int]:
    return lambda day: day.state["blocks"][key]


def poll(key: str, stage: str | None, **body: Any) -> Action:
    async def act(day: NationalDay) -> None:
        created = await day.ok("POST", f"{API}/polls", json={**body, **({"stage": stage} if stage else {})})
        day.state[key] = created["id"]
        found = next(p for p in await day.ok("GET", f"{API}/polls") if p["id"] == created["id"])
        day.state[key + ":options"] = [o["id"] for o in found["options"]]
    return act


def vote(key: str, who: str, option: int) -> Action:
    async def act(day: NationalDay) -> None:
        await day.ok("POST", f"/api/v1/polls/{day.state[key]}/responses", who=who,
                     json={"option_ids": [day.state[key + ":options"][option]]})
    return act


#: (name, action, the stages whose clients may receive frames: None for every stage)
ACTIONS: list[tuple[str, Action, set[str | None] | None]] = [
    ("a national question", ask("ost1", "Hur delar vi data nationellt?", "qn"), None),
    ("a national upvote", lambda d: d.ok("POST", f"/api/v1/questions/{d.state['qn']}/upvote", who="skane"), None),
    ("a national poll", poll("pn", None, kind="single", question="Var arbetar du?", options=["Region", "Kommun"]),
     None),
    ("open the national poll", lambda d: d.ok("POST", f"/api/v1/polls/{d.state['pn']}/open"), None),
    ("a vote from Östergötland", vote("pn", "ost1", 0), None),
    ("a vote from Skåne", vote("pn", "skane", 1), None),
    ("Östergötland's block goes live", lambda d: d.ok("POST", f"{API}/live",
                                                     json={"block_id": d.state["blocks"]["sa-gor-vi-ostergotland"]}),
     {OSTERGOTLAND}),
    ("a regional question", ask("ost2", "Hur gör vi i Motala?", "qr"), {OSTERGOTLAND}),
    ("a regional upvote", lambda d: d.ok("POST", f"/api/v1/questions/{d.state['qr']}/upvote", who="ost1"),
     {OSTERGOTLAND}),
    ("a regional chat message", lambda d: d.ok("POST", f"{API}/chat", who="ost1", json={"text": "Hej Linköping"}),
     {OSTERGOTLAND}),
    ("a national chat message", lambda d: d.ok("POST", f"{API}/chat", who="skane", json={"text": "Hej Sverige"}),
     {NATIONAL, SKANE}),
    ("a regional poll", poll("pr", OSTERGOTLAND, kind="single", question="Hur långt har vi kommit?",
                             options=["Långt", "En bit"]), {OSTERGOTLAND}),
    ("open the regional poll", lambda d: d.ok("POST", f"/api/v1/polls/{d.state['pr']}/open"), {OSTERGOTLAND}),
    ("a regional vote", vote("pr", "ost2", 0), {OSTERGOTLAND}),
    ("Östergötland runs late", lambda d: d.ok("POST", f"{API}/shift", json={"minutes": 10, "stage": OSTERGOTLAND}),
     {OSTERGOTLAND}),
    ("highlight the regional question", lambda d: d.ok("POST", f"/api/v1/questions/{d.state['qr']}/moderate",
                                                       json={"action": "highlight"}), None),
    ("Östergötland's block ends", lambda d: d.ok("POST", f"{API}/end", json={"stage": OSTERGOTLAND}),
     {OSTERGOTLAND}),
    ("an attendee moves to Skåne", lambda d: d.ok("PATCH", f"{API}/me", who="ost2", json={"stage": SKANE}), None),
    ("the national programme goes on", lambda d: d.ok("POST", f"{API}/live",
                                                      json={"block_id": d.state["blocks"]["nationell-panel"]}), None),
]


def _clients(day: NationalDay, ws: str) -> dict[str, list[LiveClient]]:
    """Clients by the stage they belong to (None: the national programme's attendee)."""
    by_stage: dict[str, list[LiveClient]] = {}
    for language in ("sv", "en"):
        for who, stage in PEOPLE.items():
            by_stage.setdefault(stage or NATIONAL, []).append(LiveClient(
                f"attendee {who} ({language})", f"{ws}/e/{SLUG}/ws?token={day.tokens[who]}&lang={language}"))
        for stage in (NATIONAL, OSTERGOTLAND, SKANE):
            by_stage[stage].append(LiveClient(f"control panel {stage} ({language})",
                                              f"{ws}/e/{SLUG}/ws?view=control&stage={stage}&lang={language}",
                                              day.staff))
            by_stage[stage].append(LiveClient(f"presenter screen {stage} ({language})",
                                              f"{ws}/e/{SLUG}/ws?view=screen&stage={stage}&lang={language}"))
    return by_stage


@pytest.fixture
def national_server(settings, tmp_path):
    run_sync(load_national_day(settings, tmp_path))
    server = start_server(settings, tmp_path / "server.log")
    yield server
    stop_server(server)


async def test_every_action_on_a_national_day_pushes_what_a_snapshot_shows_and_only_to_its_stage(national_server):
    server = national_server
    staff_token = await make_staff(server.settings, "nationell@example.se", "organiser", SLUG)
    async with httpx.AsyncClient(timeout=10) as http:
        tokens = {}
        for who, stage in PEOPLE.items():
            body = {"stage": stage} if stage else {}
            tokens[who] = (await http.post(f"{server.base_url}{API}/join", json=body)).json()["attendee_token"]
        day = NationalDay(server.base_url, http, {"Authorization": f"Bearer {staff_token}"}, tokens)
        event = await day.ok("GET", API)
        day.state["blocks"] = {b["key"]: b["id"] for b in event["blocks"]}
        by_stage = _clients(day, server.ws_url)
        clients = [c for group in by_stage.values() for c in group]
        for client in clients:
            await client.start()
        try:
            for name, action, reaches in ACTIONS:
                for client in clients:
                    client.take()
                await action(day)
                await settle(clients)
                if reaches is not None:
                    for stage, group in by_stage.items():
                        if stage in reaches:
                            continue
                        for client in group:
                            assert client.take() == [], f"{client.name} got frames of {name!r}, not its stage's"
                for client in clients:
                    assert not client.failures, f"{client.name} after {name!r}: {client.failures}"
                    fresh = _without_clock(await client.fresh())
                    assert_same_dom(_without_clock(client.document), fresh, f"{client.name} after {name!r}")
        finally:
            for client in clients:
                await client.stop()


async def test_a_region_follows_its_own_stage_during_its_block_and_the_national_one_after(national_server):
    """What an attendee's page shows, switching at both boundaries: the stream, the questions, the polls, the chat."""
    server = national_server
    staff_token = await make_staff(server.settings, "nationell@example.se", "organiser", SLUG)
    staff = {"Authorization": f"Bearer {staff_token}"}
    async with httpx.AsyncClient(timeout=10, base_url=server.base_url) as http:
        ost = (await http.post(f"{API}/join", json={"stage": OSTERGOTLAND})).json()["attendee_token"]
        skane = (await http.post(f"{API}/join", json={"stage": SKANE})).json()["attendee_token"]
        event = (await http.get(API)).json()
        blocks = {b["key"]: b["id"] for b in event["blocks"]}
        as_ost = {"Authorization": f"Bearer {ost}"}
        await http.post(f"{API}/questions", json={"text": "Nationell fråga"}, headers=as_ost)
        clients = [await LiveClient("ost", f"{server.ws_url}/e/{SLUG}/ws?token={ost}").start(),
                   await LiveClient("skane", f"{server.ws_url}/e/{SLUG}/ws?token={skane}").start()]
        try:
            def shows(client: LiveClient, text: str) -> bool:
                assert client.document is not None
                return text in lxml.html.tostring(client.document.root, encoding="unicode")

            assert all(shows(c, "Nationell fråga") and shows(c, "NATIONAL001") for c in clients)
            await http.post(f"{API}/live", json={"block_id": blocks["sa-gor-vi-ostergotland"]}, headers=staff)
            await settle(clients)
            ost_page, skane_page = clients
            assert shows(ost_page, "REGIONOST01") and not shows(ost_page, "NATIONAL001")
            assert not shows(ost_page, "Nationell fråga")
            assert shows(skane_page, "NATIONAL001") and shows(skane_page, "Nationell fråga")
            await http.post(f"{API}/questions", json={"text": "Östgötsk fråga"}, headers=as_ost)
            await http.post(f"{API}/chat", json={"text": "Östgötskt hej"}, headers=as_ost)
            await settle(clients)
            assert shows(ost_page, "Östgötsk fråga") and shows(ost_page, "Östgötskt hej")
            assert not shows(skane_page, "Östgötsk fråga") and not shows(skane_page, "Östgötskt hej")
            # Skåne cannot take part in Östergötland's questions either
            regional = next(q for q in (await http.get(f"/e/{SLUG}", headers=as_ost)).text.split('id="q-')[1:]
                            if "Östgötsk fråga" in q).split('"')[0]
            refused = await http.post(f"/api/v1/questions/{regional}/upvote",
                                      headers={"Authorization": f"Bearer {skane}"})
            assert refused.status_code == 404
            await http.post(f"{API}/end", json={"stage": OSTERGOTLAND}, headers=staff)
            await settle(clients)
            assert shows(ost_page, "NATIONAL001") and shows(ost_page, "Nationell fråga")
            assert not shows(ost_page, "Östgötsk fråga")
        finally:
            for client in clients:
                await client.stop()


async def test_the_clock_alone_moves_a_region_onto_its_stage_and_back(national_server):
    """No moderator: Östergötland's block is moved to start in a moment and end soon after; the clock ticker
    switches the region's open pages at both boundaries (within its 5 s tick) and leaves Skåne's alone."""
    server = national_server
    async with httpx.AsyncClient(timeout=10, base_url=server.base_url) as http:
        ost = (await http.post(f"{API}/join", json={"stage": OSTERGOTLAND})).json()["attendee_token"]
        skane = (await http.post(f"{API}/join", json={"stage": SKANE})).json()["attendee_token"]
        clients = [await LiveClient("ost", f"{server.ws_url}/e/{SLUG}/ws?token={ost}").start(),
                   await LiveClient("skane", f"{server.ws_url}/e/{SLUG}/ws?token={skane}").start()]
        try:
            starts = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=2)
            db = Database(server.settings)
            try:
                async with db.unit_of_work() as session:
                    await session.execute(update(Block).where(Block.key == "sa-gor-vi-ostergotland").values(
                        planned_start=starts, planned_end=starts + dt.timedelta(seconds=8)))
            finally:
                await db.dispose()

            def stream(client: LiveClient) -> str:
                assert client.document is not None
                return lxml.html.tostring(client.document.root, encoding="unicode")

            async def until(condition: Callable[[], bool], seconds: float = 14) -> None:
                deadline = asyncio.get_running_loop().time() + seconds
                while not condition():
                    assert asyncio.get_running_loop().time() < deadline, "the region did not switch"
                    await asyncio.sleep(0.2)

            await until(lambda: "REGIONOST01" in stream(clients[0]))
            assert "NATIONAL001" in stream(clients[1]) and "REGIONOST01" not in stream(clients[1])
            await until(lambda: "NATIONAL001" in stream(clients[0]))
            for client in clients:
                await settle([client])
                assert_same_dom(_without_clock(client.document), _without_clock(await client.fresh()), client.name)
        finally:
            for client in clients:
                await client.stop()
