"""Presenter control: what the screen shows is a moderator's choice per event and stage, set by the panel's form or
the API, pushed to every screen, overlay and panel of that stage (push equals a fresh snapshot for each choice);
hidden results show the number of answers and nothing per option; a scale's end labels stand by its results; the
participant count follows the attendance sampler.

One real server for the module, with the regional fixture day and a national day (stages and their moderators).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import httpx
import lxml.html
import pytest

from ehalsodag.agenda.service import event_by_slug
from ehalsodag.db.engine import Database
from ehalsodag.db.migrate import upgrade
from ehalsodag.staff.service import add_user, create_token
from tests.conftest import ServedApp, load_fixture, make_settings, make_staff, run_sync, start_server, stop_server
from tests.integration.test_push_equals_snapshot import _without_clock
from tests.support.liveclient import LiveClient, settle
from tests.support.livedom import LiveDocument, assert_same_dom
from tests.support.national_day import NATIONAL, OSTERGOTLAND, SKANE, load_national_day
from tests.support.national_day import SLUG as NATIONAL_SLUG

REGIONAL = "/api/v1/events/regional"
NATIONAL_API = f"/api/v1/events/{NATIONAL_SLUG}"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedApp]:
    folder = tmp_path_factory.mktemp("presenter")
    settings = replace(make_settings(folder), attendance_seconds=1.0)
    upgrade(settings)
    run_sync(load_fixture(settings))
    run_sync(load_national_day(settings, folder))
    served = start_server(settings, folder / "server.log")
    yield served
    stop_server(served)


async def _stage_moderator(server: ServedApp, email: str, stage_key: str) -> dict[str, str]:
    """A moderator of one region of the national day (a bearer header)."""
    db = Database(server.settings)
    try:
        async with db.unit_of_work() as session:
            event = await event_by_slug(session, NATIONAL_SLUG)
            assert event is not None
            stage = next(s for s in event.stages if s.key == stage_key)
            user = await add_user(session, email, "correct horse battery", "moderator", event.id, stage.id)
            return {"Authorization": f"Bearer {await create_token(session, user)}"}
    finally:
        await db.dispose()


def _html(document: LiveDocument | Any) -> str:
    """A document's (or one element's) markup."""
    assert document is not None
    root = document.root if isinstance(document, LiveDocument) else document
    return lxml.html.tostring(root, encoding="unicode")


def _shows(document: LiveDocument | None) -> str | None:
    assert document is not None
    element = document.element("screen-main")
    return element.get("data-shows") if element is not None else None


async def _ok(http: httpx.AsyncClient, method: str, path: str, headers: dict[str, str], json: Any = None,
              expect: tuple[int, ...] = (200, 201)) -> Any:
    response = await http.request(method, path, json=json, headers=headers)
    assert response.status_code in expect, f"{method} {path}: {response.status_code} {response.text}"
    return response.json() if response.content else None


async def test_each_choice_pushes_to_screen_overlay_and_panel_what_a_fresh_snapshot_shows(server):
    staff = {"Authorization": f"Bearer {await make_staff(server.settings, 'mod@example.se', 'moderator', 'regional')}"}
    ws = server.ws_url
    async with httpx.AsyncClient(timeout=10, base_url=server.base_url) as http:
        joined = (await http.post(f"{REGIONAL}/join", json={})).json()
        attendee = {"Authorization": f"Bearer {joined['attendee_token']}"}
        clients = [LiveClient(f"screen ({lang})", f"{ws}/e/regional/ws?view=screen&lang={lang}")
                   for lang in ("sv", "en")]
        clients += [LiveClient("overlay", f"{ws}/e/regional/ws?view=overlay&lang=sv"),
                    LiveClient("control panel (sv)", f"{ws}/e/regional/ws?view=control&lang=sv", staff),
                    LiveClient("control panel (en)", f"{ws}/e/regional/ws?view=control&lang=en", staff),
                    LiveClient("attendee", f"{ws}/e/regional/ws?token={joined['attendee_token']}&lang=sv")]
        screen_sv, screen_en, overlay, panel = clients[0], clients[1], clients[2], clients[3]
        for client in clients:
            await client.start()
        state: dict[str, Any] = {}

        async def poll(**body: Any) -> int:
            return (await _ok(http, "POST", f"{REGIONAL}/polls", staff, body))["id"]

        async def show(**body: Any) -> dict[str, Any]:
            return await _ok(http, "POST", f"{REGIONAL}/screen", staff, body)

        async def check(name: str) -> None:
            await settle(clients)
            for client in clients:
                assert not client.failures, f"{client.name} after {name!r}: {client.failures}"
                assert_same_dom(_without_clock(client.document), _without_clock(await client.fresh()),
                                f"{client.name} after {name!r}")

        try:
            assert _shows(screen_sv.document) == "now"  # automatic, nothing open: the block on air
            state["scale"] = await poll(kind="scale", question="Hur långt har vi kommit?", scale_min=1, scale_max=5,
                                        scale_labels=["Inte alls", "Mycket långt"], results="on_reveal")
            state["single"] = await poll(kind="single", question="Var arbetar du?", options=["Region", "Kommun"])
            await check("two drafts")
            assert "Var arbetar du?" in _html(panel.document)  # the panel's list of polls to show
            await _ok(http, "POST", f"/api/v1/polls/{state['scale']}/open", staff)
            await check("open the scale poll (automatic)")
            assert _shows(screen_sv.document) == "poll" and "Hur långt" in _html(screen_sv.document)

            for value in (4, 5):  # results hidden: the screen counts the answers, no more
                other = (await http.post(f"{REGIONAL}/join", json={})).json()
                await _ok(http, "POST", f"/api/v1/polls/{state['scale']}/responses",
                          {"Authorization": f"Bearer {other['attendee_token']}"}, {"value": value})
            screen_sv.take()
            await _ok(http, "POST", f"/api/v1/polls/{state['scale']}/responses", attendee, {"value": 2})
            await check("votes while the results are hidden")
            frames = "".join(screen_sv.take())
            screen = _html(screen_sv.document)
            assert "3 svar" in screen and "3 responses" in _html(screen_en.document)
            assert "3 svar" in frames  # the count arrived by push
            for leak in ("bar-value", "bar-fill", "Inte alls", "Medel"):
                assert leak not in screen and leak not in frames, leak
            assert "3 svar" in _html(panel.document)  # the moderators see the count (and the bars) too

            state["hidden_page"] = (await http.get("/e/regional/screen")).text
            assert "3 svar" in state["hidden_page"] and "bar-value" not in state["hidden_page"]

            await _ok(http, "POST", f"/api/v1/polls/{state['scale']}/reveal", staff)
            await check("reveal")
            for client in (screen_sv, panel, clients[-1]):  # screen, panel and attendee: the scale's end labels
                html = _html(client.document)
                assert "Inte alls" in html and "Mycket långt" in html, client.name

            answer = await show(show="poll", poll_id=state["single"])
            assert answer["show"] == "poll" and answer["shows"] == "poll"
            await check("show a draft poll by choice")
            assert _shows(screen_sv.document) == "poll" and "Var arbetar du?" in _html(screen_sv.document)
            assert "Var arbetar du?" in _html(overlay.document)
            assert "Var arbetar du?" in _html(panel.document.element("screen-now"))
            await _ok(http, "POST", f"/api/v1/polls/{state['single']}/open", staff)
            await check("the chosen poll opens")
            assert "bar-value" in _html(screen_sv.document)

            await show(show="code")
            await check("the join code")
            assert _shows(screen_sv.document) == "code"
            code = (await _ok(http, "GET", REGIONAL, staff))["join_code"]
            assert code in _html(screen_sv.document) and code in _html(overlay.document)

            await show(show="programme")
            await check("the programme")
            assert _shows(screen_sv.document) == "programme"

            await show(show="question")
            await check("the question on stage, none there")
            assert _shows(screen_sv.document) == "nothing"
            question = await _ok(http, "POST", f"{REGIONAL}/questions", attendee, {"text": "Vem äger datat?"})
            await _ok(http, "POST", f"/api/v1/questions/{question['id']}/moderate", staff, {"action": "highlight"})
            await check("a question goes on stage")
            assert _shows(screen_sv.document) == "question" and "Vem äger datat?" in _html(screen_sv.document)

            await show(show="auto")
            await check("back to automatic")
            assert _shows(screen_sv.document) == "poll"  # the newest open poll again
            assert (await _ok(http, "GET", f"{REGIONAL}/screen", {}))["show"] == "auto"

            await show(show="auto", participants=True)
            deadline = time.monotonic() + 20
            while "1 deltagare" not in _html(screen_sv.document) and time.monotonic() < deadline:
                await asyncio.sleep(0.3)
            assert "1 deltagare" in _html(screen_sv.document), _html(screen_sv.document.element("screen-participants"))
            assert "1 participant" in _html(screen_en.document)
            await check("participant count on")
            await show(show="auto", participants=False)
            await check("participant count off")
            assert "deltagare" not in _html(screen_sv.document.element("screen-participants"))
        finally:
            for client in clients:
                await client.stop()


async def test_the_form_sets_the_choice_and_the_choice_survives_a_restart(server, tmp_path):
    staff_token = await make_staff(server.settings, "form@example.se", "moderator", "regional")
    staff = {"Authorization": f"Bearer {staff_token}"}
    async with httpx.AsyncClient(timeout=10, base_url=server.base_url) as http:
        page = await http.get("/e/regional/control", headers=staff)
        assert page.status_code == 200 and 'id="screen-form"' in page.text
        csrf = page.cookies.get("csrftoken") or http.cookies.get("csrftoken") or ""
        polls = await _ok(http, "GET", f"{REGIONAL}/polls", staff)
        response = await http.post("/e/regional/control/screen", headers={
            **staff, "x-csrftoken": csrf, "HX-Request": "true"},
            data={"show": "poll", "poll_id": str(polls[0]["id"]), "participants": "false"})
        assert response.status_code == 200, response.text
        assert polls[0]["question"] in response.text  # feedback that says what happened
        got = await _ok(http, "GET", f"{REGIONAL}/screen", {})
        assert got == {"show": "poll", "poll_id": polls[0]["id"], "participants": False, "shows": "poll"}
        response = await http.post("/e/regional/control/screen", headers={**staff, "x-csrftoken": csrf},
                                   data={"show": "code", "participants": "true"}, follow_redirects=False)
        assert response.status_code == 303
        assert (await _ok(http, "GET", f"{REGIONAL}/screen", {}))["show"] == "code"
    # stored, not held in memory: another server on the same database shows the same
    other = start_server(server.settings, tmp_path / "other.log")
    try:
        page = httpx.get(other.base_url + "/e/regional/screen", timeout=10).text
        assert 'data-shows="code"' in page
        assert httpx.get(other.base_url + f"{REGIONAL}/screen", timeout=10).json()["participants"] is True
    finally:
        stop_server(other)
    async with httpx.AsyncClient(timeout=10, base_url=server.base_url) as http:
        await _ok(http, "POST", f"{REGIONAL}/screen", staff, {"show": "auto", "participants": False})


async def test_only_staff_of_the_event_and_stage_choose(server):
    async with httpx.AsyncClient(timeout=10, base_url=server.base_url) as http:
        body = {"show": "code"}
        assert (await http.post(f"{REGIONAL}/screen", json=body)).status_code == 401
        joined = (await http.post(f"{REGIONAL}/join", json={})).json()
        as_attendee = {"Authorization": f"Bearer {joined['attendee_token']}"}
        assert (await http.post(f"{REGIONAL}/screen", json=body, headers=as_attendee)).status_code in (401, 403)
        national_staff = {"Authorization": "Bearer " + await make_staff(
            server.settings, "annan@example.se", "moderator", NATIONAL_SLUG)}
        assert (await http.post(f"{REGIONAL}/screen", json=body, headers=national_staff)).status_code == 403
        regional_staff = {"Authorization": "Bearer " + await make_staff(
            server.settings, "reg@example.se", "moderator", "regional")}
        assert (await http.post(f"{REGIONAL}/screen", json={"show": "nonsense"},
                                headers=regional_staff)).status_code in (400, 422)
        assert (await http.post(f"{REGIONAL}/screen", json={"show": "poll"},
                                headers=regional_staff)).status_code == 422

        # the national day: a region's moderator sets their region's screen only
        ost = await _stage_moderator(server, "ost@example.se", OSTERGOTLAND)
        assert (await http.post(f"{NATIONAL_API}/screen", json={"show": "code", "stage": SKANE},
                                headers=ost)).status_code == 403
        assert (await http.post(f"{NATIONAL_API}/screen", json={"show": "code", "stage": NATIONAL},
                                headers=ost)).status_code == 403
        answer = await _ok(http, "POST", f"{NATIONAL_API}/screen", ost, {"show": "programme"})
        assert answer["stage"] == OSTERGOTLAND
        assert (await _ok(http, "GET", f"{NATIONAL_API}/screen?stage={OSTERGOTLAND}", {}))["show"] == "programme"
        assert (await _ok(http, "GET", f"{NATIONAL_API}/screen?stage={SKANE}", {}))["show"] == "auto"
        assert (await _ok(http, "GET", f"{NATIONAL_API}/screen", {}))["show"] == "auto"
        # a poll of another stage or event is not shown
        national_poll = (await _ok(http, "POST", f"{NATIONAL_API}/polls", national_staff,
                                   {"kind": "single", "question": "Nationell?", "options": ["Ja", "Nej"]}))["id"]
        assert (await http.post(f"{NATIONAL_API}/screen", json={"show": "poll", "poll_id": national_poll},
                                headers=ost)).status_code == 422
        regional_poll = (await _ok(http, "POST", f"{REGIONAL}/polls", regional_staff,
                                   {"kind": "single", "question": "Annan dag?", "options": ["Ja", "Nej"]}))["id"]
        assert (await http.post(f"{NATIONAL_API}/screen", json={"show": "poll", "poll_id": regional_poll},
                                headers=national_staff)).status_code == 404
        await _ok(http, "POST", f"{NATIONAL_API}/screen", national_staff, {"show": "poll", "poll_id": national_poll})


async def test_a_regional_choice_reaches_that_regions_screens_only(server):
    staff = {"Authorization": "Bearer " + await make_staff(server.settings, "nat@example.se", "organiser",
                                                           NATIONAL_SLUG)}
    ws = server.ws_url
    clients = {stage: [LiveClient(f"screen {stage}", f"{ws}/e/{NATIONAL_SLUG}/ws?view=screen&stage={stage}"),
                       LiveClient(f"overlay {stage}", f"{ws}/e/{NATIONAL_SLUG}/ws?view=overlay&stage={stage}"),
                       LiveClient(f"panel {stage}", f"{ws}/e/{NATIONAL_SLUG}/ws?view=control&stage={stage}", staff)]
               for stage in (NATIONAL, OSTERGOTLAND, SKANE)}
    every = [c for group in clients.values() for c in group]
    for client in every:
        await client.start()
    try:
        async with httpx.AsyncClient(timeout=10, base_url=server.base_url) as http:
            for choice in ("code", "programme", "question", "auto"):
                for client in every:
                    client.take()
                await _ok(http, "POST", f"{NATIONAL_API}/screen", staff, {"show": choice, "stage": SKANE})
                await settle(every)
                for stage, group in clients.items():
                    for client in group:
                        frames = client.take()
                        assert bool(frames) == (stage == SKANE), f"{client.name} after {choice!r}: {frames}"
                        assert_same_dom(_without_clock(client.document), _without_clock(await client.fresh()),
                                        f"{client.name} after {choice!r}")
                assert (_shows(clients[SKANE][0].document) in
                        {"code": {"code"}, "programme": {"programme"}, "question": {"nothing", "question"},
                         "auto": {"now", "poll", "question"}}[choice])
        skane_code = _html(clients[SKANE][0].document)
        assert skane_code
    finally:
        for client in every:
            await client.stop()
