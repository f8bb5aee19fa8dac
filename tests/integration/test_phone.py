"""The attendee's phone (issue 18): joining by code at / and /kod, editing and withdrawing one's own waiting
question, moderators' written replies pushed as the one question item, the open-poll signal, the counters' limits
and the kind refusal messages. Real server, real HTTP and websockets (one served app for the module)."""

from __future__ import annotations

import asyncio
import re

import httpx
import pytest
import websockets
from sqlalchemy import update

from ehalsodag.agenda.models import Event
from ehalsodag.db.engine import Database
from ehalsodag.qa.service import MAX_QUESTION
from tests.conftest import load_fixture, make_settings, make_staff, run_sync, start_server, stop_server
from tests.support import national_day

SLUG = "ostergotland-2021-03-23"
DRAFT = "other"


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    from ehalsodag.db.migrate import upgrade

    tmp = tmp_path_factory.mktemp("phone")
    settings = make_settings(tmp)
    upgrade(settings)
    run_sync(load_fixture(settings, f"{SLUG}.toml"))
    run_sync(load_fixture(settings, f"{DRAFT}.toml"))
    national = run_sync(national_day.load_national_day(settings, tmp))
    staff = run_sync(make_staff(settings, "mod@example.se", "moderator", SLUG))

    async def unpublish() -> str:
        db = Database(settings)
        async with db.unit_of_work() as session:
            code = (await session.execute(update(Event).where(Event.slug == DRAFT).values(published=False)
                                          .returning(Event.join_code))).scalar_one()
        await db.dispose()
        return code

    draft_code = run_sync(unpublish())
    server = start_server(settings, tmp / "server.log")
    server.draft_code = draft_code
    try:
        yield server, {"Authorization": f"Bearer {staff}"}, national
    finally:
        stop_server(server)


def join(server) -> tuple[dict[str, str], int]:
    joined = httpx.post(f"{server.base_url}/api/v1/events/{SLUG}/join", json={}).json()
    return {"Authorization": f"Bearer {joined['attendee_token']}"}, joined["attendee_id"]


def code_of(server, slug: str) -> str:
    return httpx.get(f"{server.base_url}/api/v1/events/{slug}").json()["join_code"]


async def frames_until(ws, predicate, timeout: float = 8.0) -> str:
    async def loop() -> str:
        while True:
            frame = await ws.recv()
            if predicate(frame):
                return frame
    return await asyncio.wait_for(loop(), timeout)


def item(html: str, ident: str) -> str:
    """The element with this id (an <li> with no <li> inside), as sent."""
    found = re.search(rf'<li id="{ident}"[\s\S]*?</li>', html)
    assert found, f"no {ident} in {html[:300]}"
    return found.group(0)


# --- joining by code -----------------------------------------------------------------------------------------

def test_a_code_typed_with_spaces_or_dashes_lands_on_its_event_from_the_home_page_and_kod(world):
    server, _staff, national = world
    code = code_of(server, SLUG)
    spaced, dashed = f"{code[:3]} {code[3:]}", f" {code[:3]}-{code[3:]} "
    with httpx.Client(base_url=server.base_url) as http:
        for url, params in (("/", {"code": spaced}), ("/kod", {"code": dashed}), ("/kod", {"code": code}),
                            (f"/kod/{code[:3]}-{code[3:]}", None), (f"/kod/{code}", None), (f"/j/{spaced}", None)):
            response = http.get(url, params=params)
            assert response.status_code == 303 and response.headers["location"] == f"/e/{SLUG}", (url, params)
        form = http.get("/kod")
        assert form.status_code == 200 and 'name="code"' in form.text and 'action="/kod"' in form.text
        # a region's own code (national day) lands on that region's page
        skane = next(s for s in http.get(f"/api/v1/events/{national}").json()["stages"]
                     if s["id"] == national_day.SKANE)
        landed = http.get("/kod", params={"code": f"{skane['join_code'][:3]} {skane['join_code'][3:]}"})
        assert landed.status_code == 303 and landed.headers["location"] == f"/e/{national}?stage={national_day.SKANE}"
        # the attendee page shows the code large, grouped as people read it
        page = http.get(f"/e/{SLUG}").text
        assert re.search(rf'class="join-code-big">{code[:3]} {code[3:]}</strong>', page)
        assert re.search(r'class="join-code-where">på 127\.0\.0\.1:\d+/kod</span>', page)


def test_an_unknown_or_draft_code_shows_the_form_again_with_the_error_beside_the_field(world):
    server, _staff, _national = world
    with httpx.Client(base_url=server.base_url) as http:
        cases = [("/", {"code": "000 001"}, 200), ("/kod", {"code": "12ab-34"}, 200), ("/kod/000-001", None, 404),
                 ("/kod", {"code": server.draft_code}, 200)]
        for url, params, status in cases:
            response = http.get(url, params=params)
            assert response.status_code == status, (url, response.status_code)
            html = response.text
            field = re.search(r'<input id="join-code"[^>]*>', html).group(0)
            assert 'aria-invalid="true"' in field and "join-code-error" in field
            assert 'id="join-code-error"' in html and "Inget evenemang har den koden" in html
            typed = (params or {}).get("code") or url.rsplit("/", 1)[1]
            assert f'value="{typed}"' in field  # what was typed stays


async def test_guessing_codes_is_rate_limited_per_address_with_a_kind_message(settings, tmp_path):
    from dataclasses import replace

    from litestar.testing import AsyncTestClient

    from ehalsodag.app import create_app

    limited = replace(settings, join_limit=2)  # code lookups: twice the joins per minute
    await load_fixture(limited, f"{SLUG}.toml")
    async with AsyncTestClient(app=create_app(limited)) as client:
        statuses = [(await client.get("/kod", params={"code": f"00000{i}"})).status_code for i in range(4)]
        assert statuses == [200] * 4
        refused = await client.get("/kod", params={"code": "000009"})
        assert refused.status_code == 429 and "Många försök" in refused.text and 'aria-invalid="true"' in refused.text
        assert 'value="000009"' in refused.text
        assert (await client.get("/j/000009")).status_code == 429


# --- one's own question ----------------------------------------------------------------------------------------

async def test_edit_and_withdraw_are_the_askers_alone_while_the_question_waits(world):
    server, staff, _national = world
    alice, _alice_id = join(server)
    bob, _bob_id = join(server)
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        await http.post(f"/api/v1/events/{SLUG}/settings", json={"premoderation": True}, headers=staff)
        try:
            async with websockets.connect(f"{server.ws_url}/e/{SLUG}/ws?view=control",
                                          additional_headers=staff) as panel, \
                    websockets.connect(f"{server.ws_url}/e/{SLUG}/ws?token={alice['Authorization'][7:]}") as mine:
                await asyncio.wait_for(panel.recv(), 8)
                await asyncio.wait_for(mine.recv(), 8)
                asked = (await http.post(f"/api/v1/events/{SLUG}/questions", json={"text": "Vem äger datat?"},
                                         headers=alice)).json()
                qid = asked["id"]
                await frames_until(panel, lambda f: f'id="mqp-{qid}"' in f)
                own = await frames_until(mine, lambda f: f'id="myq-{qid}"' in f)
                assert f'action="/e/{SLUG}/questions/{qid}/edit"' in own and f"questions/{qid}/withdraw" in own

                for who, status in ((bob, 403), ({}, 401), (staff, 401)):
                    edited = await http.patch(f"/api/v1/questions/{qid}", json={"text": "Kapad"}, headers=who)
                    assert edited.status_code == status, edited.text
                    assert (await http.delete(f"/api/v1/questions/{qid}", headers=who)).status_code == status
                too_long = await http.patch(f"/api/v1/questions/{qid}", json={"text": "x" * (MAX_QUESTION + 1)},
                                            headers=alice)
                assert too_long.status_code == 422 and str(MAX_QUESTION) in too_long.json()["detail"]

                edited = await http.patch(f"/api/v1/questions/{qid}", json={"text": "Vem äger datat i appen?"},
                                          headers=alice)
                assert edited.status_code == 200 and edited.json()["text"] == "Vem äger datat i appen?"
                pushed = await frames_until(panel, lambda f: "Vem äger datat i appen?" in f)
                assert f'id="mqp-{qid}"' in pushed and 'id="mod-pending"' not in pushed  # one item
                await frames_until(mine, lambda f: "Vem äger datat i appen?" in f and f'id="myq-{qid}"' in f)

                # approved under pre-moderation: new words go back to the moderators (and leave the list)
                await http.post(f"/api/v1/questions/{qid}/moderate", json={"action": "approve"}, headers=staff)
                again = await http.patch(f"/api/v1/questions/{qid}", json={"text": "Vem äger datat, och var?"},
                                         headers=alice)
                assert again.status_code == 200 and again.json()["status"] == "pending"
                back = await frames_until(panel, lambda f: "Vem äger datat, och var?" in f)
                assert f'id="mqs-{qid}" data-swap="remove"' in back and f'<li id="mqp-{qid}"' in back
                await http.post(f"/api/v1/questions/{qid}/moderate", json={"action": "approve"}, headers=staff)
                # once someone upvoted it, its words stay; it can still be withdrawn
                await http.post(f"/api/v1/questions/{qid}/upvote", headers=bob)
                late = await http.patch(f"/api/v1/questions/{qid}", json={"text": "Annat"}, headers=alice)
                assert late.status_code == 409 and "kan inte längre ändras" in late.json()["detail"]

                second = (await http.post(f"/api/v1/events/{SLUG}/questions", json={"text": "Tar tillbaka"},
                                          headers=alice)).json()["id"]
                await frames_until(panel, lambda f: f'id="mqp-{second}"' in f)
                withdrawn = await http.delete(f"/api/v1/questions/{second}", headers=alice)
                assert withdrawn.status_code == 200
                gone = await frames_until(panel, lambda f: f'id="mqp-{second}" data-swap="remove"' in f)
                assert "Tar tillbaka" not in gone
                mine_now = await frames_until(mine, lambda f: 'id="my-questions"' in f and f"myq-{second}" not in f)
                assert f'id="myq-{qid}"' in mine_now  # the approved one is still theirs to withdraw

                # on stage: it stays
                await http.post(f"/api/v1/questions/{qid}/moderate", json={"action": "highlight"}, headers=staff)
                stays = await http.delete(f"/api/v1/questions/{qid}", headers=alice)
                assert stays.status_code == 409 and "ligger kvar" in stays.json()["detail"]
        finally:
            await http.post(f"/api/v1/events/{SLUG}/settings", json={"premoderation": False}, headers=staff)


def test_editing_and_withdrawing_work_without_javascript_and_a_refusal_comes_back_to_the_field(world):
    server, _staff, _national = world
    with httpx.Client(base_url=server.base_url) as browser:
        page = browser.get(f"/e/{SLUG}")
        csrf = browser.cookies.get("csrftoken")
        join_form = browser.post(f"/e/{SLUG}/join", data={"_csrf_token": csrf, "group_size": "1"})
        assert join_form.status_code in (200, 303), page.status_code
        asked = browser.post(f"/e/{SLUG}/questions", data={"_csrf_token": csrf, "text": "Utan JS?"})
        assert asked.status_code in (200, 303)
        qid = int(re.search(r'id="myq-(\d+)"', browser.get(f"/e/{SLUG}").text).group(1))
        referer = {"referer": f"{server.base_url}/e/{SLUG}"}
        long_text = "Lång " * 200
        refused = browser.post(f"/e/{SLUG}/questions/{qid}/edit", data={"_csrf_token": csrf, "text": long_text},
                               headers=referer, follow_redirects=False)
        assert refused.status_code == 303 and refused.headers["location"] == f"/e/{SLUG}#myq-{qid}"
        back = browser.get(f"/e/{SLUG}").text
        field = re.search(rf'<textarea id="myq-{qid}-field"[^>]*>([^<]*)</textarea>', back)
        assert field and 'aria-invalid="true"' in field.group(0) and f"myq-{qid}-message" in field.group(0)
        assert field.group(1).strip() == long_text.strip()  # what was typed stays
        assert "Korta texten" in back
        done = browser.post(f"/e/{SLUG}/questions/{qid}/edit", data={"_csrf_token": csrf, "text": "Utan JS, rättad?"},
                            headers=referer, follow_redirects=False)
        assert done.status_code == 303 and "Utan JS, rättad?" in browser.get(f"/e/{SLUG}").text
        withdrawn = browser.post(f"/e/{SLUG}/questions/{qid}/withdraw", data={"_csrf_token": csrf},
                                 headers=referer, follow_redirects=False)
        assert withdrawn.status_code == 303 and f'id="myq-{qid}"' not in browser.get(f"/e/{SLUG}").text


# --- written replies --------------------------------------------------------------------------------------------

async def test_a_written_reply_reaches_attendees_as_the_one_question_item_and_equals_the_snapshot(world):
    server, staff, _national = world
    alice, _ = join(server)
    carol, _ = join(server)
    carol_token = carol["Authorization"][7:]
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        qid = (await http.post(f"/api/v1/events/{SLUG}/questions", json={"text": "Finns bilderna?"},
                               headers=alice)).json()["id"]
        async with websockets.connect(f"{server.ws_url}/e/{SLUG}/ws?token={carol_token}") as ws:
            await asyncio.wait_for(ws.recv(), 8)
            assert (await http.post(f"/api/v1/questions/{qid}/reply", json={"text": "Ja"}, headers=alice)
                    ).status_code == 401
            too_long = await http.post(f"/api/v1/questions/{qid}/reply", json={"text": "x" * 1001}, headers=staff)
            assert too_long.status_code == 422
            replied = await http.post(f"/api/v1/questions/{qid}/reply",
                                      json={"text": "Ja, i arkivet efter dagen."}, headers=staff)
            assert replied.status_code == 200 and replied.json()["reply"] == "Ja, i arkivet efter dagen."
            frame = await frames_until(ws, lambda f: "Ja, i arkivet efter dagen." in f)
            assert 'id="question-list"' not in frame and frame.count('<li id="q-') == 1
            async with websockets.connect(f"{server.ws_url}/e/{SLUG}/ws?token={carol_token}") as fresh:
                snapshot = await asyncio.wait_for(fresh.recv(), 8)
            assert item(frame, f"q-{qid}") == item(snapshot, f"q-{qid}")
            me = await http.get(f"/e/{SLUG}/me", headers=alice)
            assert "Ja, i arkivet efter dagen." in me.text

            removed = await http.delete(f"/api/v1/questions/{qid}/reply", headers=staff)
            assert removed.status_code == 200
            frame = await frames_until(ws, lambda f: f'<li id="q-{qid}"' in f and "i arkivet" not in f)
            assert "question-reply" not in item(frame, f"q-{qid}")


# --- the open signal ----------------------------------------------------------------------------------------------

async def test_an_opened_poll_is_signalled_once_and_its_signal_leaves_when_answered(world):
    server, staff, _national = world
    alice, _ = join(server)
    token = alice["Authorization"][7:]
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        poll = (await http.post(f"/api/v1/events/{SLUG}/polls", headers=staff, json={
            "kind": "single", "question": "Signalen syns?", "options": ["Ja", "Nej"]})).json()["id"]
        async with websockets.connect(f"{server.ws_url}/e/{SLUG}/ws?token={token}") as ws:
            await asyncio.wait_for(ws.recv(), 8)
            await http.post(f"/api/v1/polls/{poll}/open", headers=staff)
            frame = await frames_until(ws, lambda f: f'<li id="sig-poll-{poll}"' in f)
            assert 'data-into="poll-signals"' in frame and f'href="#poll-{poll}"' in frame
            # said once, by the announcer (the signal list is no live region)
            await frames_until(ws, lambda f: 'id="live-announcer"' in f and "Ny omröstning: Signalen syns?" in f)
            async with websockets.connect(f"{server.ws_url}/e/{SLUG}/ws?token={token}") as again:
                snapshot = await asyncio.wait_for(again.recv(), 8)
            # a reconnect shows the signal but does not say it again
            assert item(frame, f"sig-poll-{poll}") == item(snapshot, f"sig-poll-{poll}")
            assert 'id="live-announcer"' not in snapshot and "Ny omröstning: Signalen syns?" not in snapshot
            page = await http.get(f"/e/{SLUG}", headers=alice)
            assert f'id="sig-poll-{poll}"' in page.text  # after a reload, while unanswered

            options = next(p for p in (await http.get(f"/api/v1/events/{SLUG}/polls")).json() if p["id"] == poll)
            await http.post(f"/api/v1/polls/{poll}/responses", headers=alice,
                            json={"option_ids": [options["options"][0]["id"]]})
            await frames_until(ws, lambda f: f'id="sig-poll-{poll}" data-swap="remove"' in f)
            assert f'id="sig-poll-{poll}"' not in (await http.get(f"/e/{SLUG}", headers=alice)).text
            async with websockets.connect(f"{server.ws_url}/e/{SLUG}/ws?token={token}") as again:
                shared_then_own = await asyncio.wait_for(again.recv(), 8)
            assert f'id="sig-poll-{poll}" data-swap="remove"' in shared_then_own  # personal: answered
            await http.post(f"/api/v1/polls/{poll}/close", headers=staff)


def test_the_counters_use_the_servers_limits(world):
    server, _staff, _national = world
    alice, _ = join(server)
    page = httpx.get(f"{server.base_url}/e/{SLUG}", headers=alice).text
    field = re.search(r'<textarea id="question-text"[^>]*>', page).group(0)
    assert f'maxlength="{MAX_QUESTION}"' in field and f'data-counter="{MAX_QUESTION}"' in field
    assert "question-text-counter" in field and f"{MAX_QUESTION} tecken kvar" in page
    from ehalsodag.chat.service import MAX_MESSAGE

    chat = re.search(r'<input id="chat-text"[^>]*>', page).group(0)
    assert f'maxlength="{MAX_MESSAGE}"' in chat and "chat-text-counter" in chat
