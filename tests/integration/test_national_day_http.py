"""The national day over HTTP: stages in the API, joining a region (by form, API or a region's own code),
changing region, and moderators who may act on their own stage only."""

from __future__ import annotations

import httpx
import pytest
import websockets
import websockets.exceptions
from sqlalchemy import select

from ehalsodag.agenda.models import Event
from ehalsodag.db.engine import Database
from ehalsodag.staff.service import add_user, create_token
from tests.conftest import make_staff, run_sync, start_server, stop_server
from tests.support.national_day import NATIONAL, OSTERGOTLAND, SKANE, SLUG, load_national_day

API = f"/api/v1/events/{SLUG}"


async def regional_moderator(settings, stage_key: str) -> str:
    """A moderator of one stage of the national day; returns a bearer token."""
    db = Database(settings)
    try:
        async with db.unit_of_work() as session:
            event = (await session.execute(select(Event).where(Event.slug == SLUG))).scalar_one()
            stage = next(s for s in event.stages if s.key == stage_key)
            user = await add_user(session, f"{stage_key}@example.se", "a long password", "moderator", event.id,
                                  stage.id)
            return await create_token(session, user)
    finally:
        await db.dispose()


@pytest.fixture(scope="module")
def day(tmp_path_factory):
    from ehalsodag.db.migrate import upgrade
    from tests.conftest import make_settings

    folder = tmp_path_factory.mktemp("national")
    settings = make_settings(folder)
    upgrade(settings)
    run_sync(load_national_day(settings, folder))
    server = start_server(settings, folder / "server.log")
    tokens = {"organiser": run_sync(make_staff(settings, "org@example.se", "organiser", SLUG)),
              OSTERGOTLAND: run_sync(regional_moderator(settings, OSTERGOTLAND))}
    yield server, tokens
    stop_server(server)


def test_the_event_lists_its_stages_with_a_join_code_each_and_every_block_its_stage(day):
    server, _tokens = day
    event = httpx.get(f"{server.base_url}{API}").json()
    stages = {s["id"]: s for s in event["stages"]}
    assert set(stages) == {NATIONAL, OSTERGOTLAND, SKANE}
    assert stages[NATIONAL]["kind"] == "national" and stages[SKANE]["kind"] == "regional"
    codes = [s["join_code"] for s in stages.values()] + [event["join_code"]]
    assert len(set(codes)) == 4, "every stage has a code of its own"
    assert {b["stage"] for b in event["blocks"]} == {NATIONAL, OSTERGOTLAND, SKANE}


def test_a_regions_code_leads_to_its_join_form_with_the_region_chosen(day):
    server, _tokens = day
    event = httpx.get(f"{server.base_url}{API}").json()
    code = next(s["join_code"] for s in event["stages"] if s["id"] == SKANE)
    with httpx.Client(base_url=server.base_url) as http:
        for url in (f"/j/{code}", f"/?code={code}"):
            response = http.get(url)
            assert response.status_code == 303 and response.headers["location"] == f"/e/{SLUG}?stage={SKANE}"
        page = http.get(f"/e/{SLUG}?stage={SKANE}").text
        assert '<option value="skane" selected>' in page
        unknown = http.get("/?code=000000")
        assert unknown.status_code == 200 and 'aria-invalid="true"' in unknown.text
        assert 'id="join-code-error"' in unknown.text
        assert http.get(f"/?code={event['join_code']}").headers["location"] == f"/e/{SLUG}"


def test_joining_and_changing_region(day):
    server, _tokens = day
    with httpx.Client(base_url=server.base_url) as http:
        assert http.post(f"{API}/join", json={"stage": "halland"}).status_code == 422
        token = http.post(f"{API}/join", json={"stage": OSTERGOTLAND}).json()["attendee_token"]
        me = {"Authorization": f"Bearer {token}"}
        assert "Så gör vi i Östergötland" in http.get(f"/e/{SLUG}", headers=me).text
        assert http.patch(f"{API}/me", json={"stage": "halland"}, headers=me).status_code == 422
        assert http.patch(f"{API}/me", json={"stage": SKANE}, headers=me).status_code == 200
        page = http.get(f"/e/{SLUG}", headers=me).text
        assert '<option value="skane" selected>' in page
        assert http.patch(f"{API}/me", json={"stage": SKANE}).status_code == 401


def test_a_regional_moderator_acts_on_their_own_stage_only(day):
    server, tokens = day
    regional = {"Authorization": f"Bearer {tokens[OSTERGOTLAND]}"}
    organiser = {"Authorization": f"Bearer {tokens['organiser']}"}
    with httpx.Client(base_url=server.base_url) as http:
        attendee = {"Authorization": f"Bearer {http.post(f'{API}/join', json={}).json()['attendee_token']}"}
        national_question = http.post(f"{API}/questions", json={"text": "Nationell?"}, headers=attendee).json()["id"]
        assert http.post(f"/api/v1/questions/{national_question}/moderate", json={"action": "hide"},
                         headers=regional).status_code == 403
        assert http.post(f"{API}/announcement", json={"text": "Hej alla"}, headers=regional).status_code == 403
        assert http.post(f"{API}/settings", json={"chat_enabled": False}, headers=regional).status_code == 403
        assert http.post(f"{API}/shift", json={"minutes": 5, "stage": SKANE}, headers=regional).status_code == 403
        blocks = {b["key"]: b["id"] for b in http.get(API).json()["blocks"]}
        assert http.post(f"{API}/live", json={"block_id": blocks["nationell-panel"]},
                         headers=regional).status_code == 403
        # their own stage: a poll (it is theirs without saying so), running late
        poll = http.post(f"{API}/polls", json={"kind": "single", "question": "Östgötar?", "options": ["Ja", "Nej"]},
                         headers=regional)
        assert poll.status_code == 201
        assert http.post(f"/api/v1/polls/{poll.json()['id']}/open", headers=regional).status_code == 200
        assert http.post(f"{API}/live", json={"block_id": blocks["sa-gor-vi-ostergotland"]},
                         headers=regional).status_code == 200  # taken live early
        before = {b["key"]: b for b in http.get(API).json()["blocks"]}
        late = http.post(f"{API}/shift", json={"minutes": 5, "stage": OSTERGOTLAND}, headers=regional)
        assert late.status_code == 200
        after = {b["key"]: b for b in http.get(API).json()["blocks"]}
        running, panel = after["sa-gor-vi-ostergotland"], after["nationell-panel"]
        assert running["start"] == before["sa-gor-vi-ostergotland"]["start"], "the block on air keeps its start"
        assert running["end"] > before["sa-gor-vi-ostergotland"]["end"]  # and runs five minutes longer
        assert panel["start"] == before["nationell-panel"]["start"], "the national programme does not move"
        assert after["sa-gor-vi-skane"]["start"] == before["sa-gor-vi-skane"]["start"]
        # a regional poll is for its region's attendees only
        listed = httpx.get(f"{server.base_url}{API}/polls").json()  # nobody's: every stage's polls
        options = next(p for p in listed if p["id"] == poll.json()["id"])["options"]
        # an attendee of the national programme does not see a region's poll
        assert poll.json()["id"] not in [p["id"] for p in http.get(f"{API}/polls", headers=attendee).json()]
        vote = http.post(f"/api/v1/polls/{poll.json()['id']}/responses", json={"option_ids": [options[0]["id"]]},
                         headers=attendee)
        assert vote.status_code == 404
        # the organiser moderates every stage
        assert http.post(f"/api/v1/questions/{national_question}/moderate", json={"action": "answer"},
                         headers=organiser).status_code == 200
        panel = http.get(f"/e/{SLUG}/control?stage={SKANE}", headers=regional)
        assert panel.status_code == 403
        assert http.get(f"/e/{SLUG}/control?stage=halland", headers=organiser).status_code == 404
        # muting: a region's moderator mutes that region's attendees only
        skane_attendee = http.post(f"{API}/join", json={"stage": SKANE}).json()["attendee_id"]
        assert http.post(f"{API}/attendees/{skane_attendee}/mute", headers=regional).status_code == 403
        ost_attendee = http.post(f"{API}/join", json={"stage": OSTERGOTLAND}).json()["attendee_id"]
        assert http.post(f"{API}/attendees/{ost_attendee}/mute", headers=regional).status_code == 200
        # a poll whose block is on another stage than the one it names
        mismatch = http.post(f"{API}/polls", headers=organiser, json={
            "kind": "single", "question": "?", "options": ["A", "B"], "stage": SKANE,
            "block_id": blocks["sa-gor-vi-ostergotland"]})
        assert mismatch.status_code == 422
        own = http.get(f"/e/{SLUG}/control", headers=regional)
        assert own.status_code == 200 and "Östergötland" in own.text and "announcement-text" not in own.text


async def test_a_regional_moderator_cannot_open_another_stages_control_panel_socket(day):
    server, tokens = day
    headers = {"Authorization": f"Bearer {tokens[OSTERGOTLAND]}"}
    with pytest.raises(websockets.exceptions.InvalidStatus):
        async with websockets.connect(f"{server.ws_url}/e/{SLUG}/ws?view=control&stage={SKANE}",
                                      additional_headers=headers):
            pass
    async with websockets.connect(f"{server.ws_url}/e/{SLUG}/ws?view=control", additional_headers=headers) as ws:
        assert 'id="run-of-show"' in await ws.recv()
