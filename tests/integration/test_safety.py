"""Safety nets: undo within 10 s (hide, mute, delete a chat message, erase one's own data), the mute list, the reset
poll confirmation, the shift feedback and ending the broadcast.

The undo test runs over every undoable action on a real server with live sockets: do it, undo it, and every page
kept current by pushes equals both a fresh snapshot and the page as it was before the action. The others run the
app in-process, re-created on the same database to stand for a restart.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from typing import Any

import httpx
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select

from ehalsodag.app import create_app
from ehalsodag.attendees.models import Attendee
from ehalsodag.chat.models import ChatMessage
from ehalsodag.db.engine import Database
from ehalsodag.polls.models import PollResponse
from ehalsodag.qa.models import Question
from ehalsodag.safety import service as safety_service
from ehalsodag.safety.models import UndoAction
from tests.conftest import load_fixture, make_staff
from tests.integration.test_push_equals_snapshot import _without_clock
from tests.support.liveclient import LiveClient, settle
from tests.support.livedom import assert_same_dom

SLUG = "regional"


async def _csrf(http: httpx.AsyncClient, url: str, headers: dict[str, str]) -> dict[str, str]:
    """The CSRF header and cookie a form route needs (as htmx sends them)."""
    page = await http.get(url, headers=headers)
    token = page.cookies.get("csrftoken") or http.cookies.get("csrftoken") or ""
    return {**headers, "x-csrftoken": token, "cookie": f"csrftoken={token}"}


async def test_every_undoable_action_undone_gives_back_exactly_what_everyone_saw(served):
    base = served.base_url
    staff = {"Authorization": f"Bearer {await make_staff(served.settings, 'mod@example.se', 'moderator', SLUG)}"}
    async with httpx.AsyncClient(timeout=15) as http:
        async def ok(method: str, path: str, headers: dict[str, str], **kw: Any) -> Any:
            response = await http.request(method, base + path, headers=headers, **kw)
            assert response.status_code in (200, 201), f"{method} {path}: {response.status_code} {response.text}"
            return response.json()

        people: dict[str, dict[str, str]] = {}
        ids: dict[str, int] = {}
        for who, name in (("A", "Anna Andersson"), ("B", None)):
            joined = await ok("POST", f"/api/v1/events/{SLUG}/join", {}, json={"display_name": name} if name else {})
            people[who] = {"Authorization": f"Bearer {joined['attendee_token']}"}
            ids[who] = joined["attendee_id"]
        q1 = (await ok("POST", f"/api/v1/events/{SLUG}/questions", people["A"], json={"text": "Vem betalar?"}))["id"]
        q2 = (await ok("POST", f"/api/v1/events/{SLUG}/questions", people["A"],
                       json={"text": "Hur når vi alla?", "anonymous": False}))["id"]
        q3 = (await ok("POST", f"/api/v1/events/{SLUG}/questions", people["B"], json={"text": "När då?"}))["id"]
        await ok("POST", f"/api/v1/questions/{q3}/upvote", people["A"])
        await ok("POST", f"/api/v1/questions/{q2}/moderate", staff, json={"action": "highlight"})
        m1 = (await ok("POST", f"/api/v1/events/{SLUG}/chat", people["B"], json={"text": "Hej från Motala"}))["id"]
        await ok("POST", f"/api/v1/events/{SLUG}/chat", people["A"], json={"text": "Hej", "anonymous": False})
        poll = (await ok("POST", f"/api/v1/events/{SLUG}/polls", staff,
                         json={"kind": "single", "question": "Var arbetar du?", "options": ["Region", "Kommun"]}))
        await ok("POST", f"/api/v1/polls/{poll['id']}/open", staff)
        options = next(p for p in await ok("GET", f"/api/v1/events/{SLUG}/polls", {}) if p["id"] == poll["id"])
        await ok("POST", f"/api/v1/polls/{poll['id']}/responses", people["A"],
                 json={"option_ids": [options["options"][0]["id"]]})

        async def erase(_: Any) -> int:
            headers = await _csrf(http, f"{base}/e/{SLUG}/me", people["A"])
            response = await http.post(f"{base}/e/{SLUG}/me/delete", headers=headers, follow_redirects=False)
            assert response.status_code == 303, response.text
            return int(re.search(r"undo=(\d+)", response.headers["location"]).group(1))

        def api(method: str, path: str, body: dict[str, Any] | None = None) -> Any:
            async def act(_: Any) -> int:
                return (await ok(method, path, staff, **({"json": body} if body else {})))["undo"]["id"]
            return act

        actions = [
            ("hide a question", api("POST", f"/api/v1/questions/{q1}/moderate", {"action": "hide"}), staff),
            ("hide the question on stage", api("POST", f"/api/v1/questions/{q2}/moderate", {"action": "hide"}), staff),
            ("mute", api("POST", f"/api/v1/events/{SLUG}/attendees/{ids['B']}/mute"), staff),
            ("delete a chat message", api("DELETE", f"/api/v1/chat/{m1}"), staff),
            ("erase everything I wrote", erase, people["A"]),
        ]
        await asyncio.sleep(0.5)  # the setup's own pushes go out before the pages open
        ws = served.ws_url
        clients = [LiveClient("attendee A (sv)", f"{ws}/e/{SLUG}/ws?token={people['A']['Authorization'][7:]}&lang=sv"),
                   LiveClient("attendee B (en)", f"{ws}/e/{SLUG}/ws?token={people['B']['Authorization'][7:]}&lang=en"),
                   LiveClient("control panel", f"{ws}/e/{SLUG}/ws?view=control&lang=sv", staff),
                   LiveClient("presenter screen", f"{ws}/e/{SLUG}/ws?view=screen&lang=sv")]
        for client in clients:
            await client.start()
        try:
            for name, do, undoer in actions:
                await settle(clients)
                before = [_without_clock(await c.fresh()) for c in clients]
                undo_id = await do(None)
                await settle(clients)
                for client in clients:
                    changed = _without_clock(await client.fresh())
                    assert_same_dom(_without_clock(client.document), changed, f"{client.name} after {name!r}")
                differs = [_without_clock(await c.fresh()).canonical() != was.canonical()
                           for c, was in zip(clients, before, strict=True)]
                assert any(differs), f"{name!r} changed nothing anyone sees"
                undone = await ok("POST", f"/api/v1/undo/{undo_id}", undoer)
                assert undone["undone"] is True
                await settle(clients)
                for client, was in zip(clients, before, strict=True):
                    assert not client.failures, client.failures
                    fresh = _without_clock(await client.fresh())
                    assert_same_dom(_without_clock(client.document), fresh,
                                    f"{client.name}: pushes after undoing {name!r}")
                    assert_same_dom(was, fresh, f"{client.name}: before {name!r} and after its undo")
                again = await http.post(f"{base}/api/v1/undo/{undo_id}", headers=undoer)
                assert again.status_code == 409, again.text
        finally:
            for client in clients:
                await client.stop()


# --- in-process: the window, a restart, who may undo, mute, reset, shift, end broadcast ------------------------


async def _join(client: AsyncTestClient, name: str | None = None) -> tuple[dict[str, str], int]:
    joined = (await client.post(f"/api/v1/events/{SLUG}/join", json={"display_name": name} if name else {})).json()
    return {"Authorization": f"Bearer {joined['attendee_token']}"}, joined["attendee_id"]


async def _staff(settings: Any, email: str = "mod@example.se", slug: str = SLUG) -> dict[str, str]:
    return {"Authorization": f"Bearer {await make_staff(settings, email, 'moderator', slug)}"}


async def _form_headers(client: AsyncTestClient, path: str, headers: dict[str, str]) -> dict[str, str]:
    await client.get(path, headers=headers)
    return {**headers, "x-csrftoken": client.cookies.get("csrftoken") or ""}


async def test_undo_after_the_window_is_refused_and_erased_data_is_gone_for_good(client, settings, monkeypatch):
    assert safety_service.WINDOW == dt.timedelta(seconds=10)
    monkeypatch.setattr(safety_service, "WINDOW", dt.timedelta(seconds=1))
    await load_fixture(settings)
    staff = await _staff(settings)
    anna, anna_id = await _join(client, "Anna Andersson")
    asked = await client.post(f"/api/v1/events/{SLUG}/questions", headers=anna, json={"text": "Hemlig fråga"})
    qid = asked.json()["id"]
    hidden = (await client.post(f"/api/v1/questions/{qid}/moderate", headers=staff, json={"action": "hide"})).json()
    headers = await _form_headers(client, f"/e/{SLUG}/me", anna)
    await client.post(f"/api/v1/events/{SLUG}/chat", headers=anna, json={"text": "Mitt hemliga meddelande"})
    erased = await client.post(f"/e/{SLUG}/me/delete", headers=headers, follow_redirects=False)
    assert erased.status_code == 303
    erase_id = int(re.search(r"undo=(\d+)", erased.headers["location"]).group(1))
    await asyncio.sleep(1.3)
    late = await client.post(f"/api/v1/undo/{hidden['undo']['id']}", headers=staff)
    assert late.status_code == 409 and "För sent att ångra" in late.json()["detail"]
    too_late = await client.post(f"/e/{SLUG}/me/undo/{erase_id}", headers=headers, follow_redirects=False)
    assert too_late.status_code == 303 and "too_late=1" in too_late.headers["location"]
    assert "10" in (await client.get(too_late.headers["location"], headers=anna)).text
    db = Database(settings)
    try:
        async with db.unit_of_work() as session:  # (the app's own finisher may have been first)
            await safety_service.finish_expired(session)
        async with db.reader() as session:
            for action in (await session.execute(select(UndoAction))).scalars():
                assert action.before is None and action.finished_at is not None
            assert (await session.execute(select(func.count()).select_from(Question).where(
                Question.attendee_id == anna_id))).scalar() == 0
            assert (await session.execute(select(func.count()).select_from(ChatMessage).where(
                ChatMessage.attendee_id == anna_id))).scalar() == 0
            assert (await session.get(Attendee, anna_id)).display_name is None
            dump = " ".join(str(a.before) for a in (await session.execute(select(UndoAction))).scalars())
            assert "Hemlig" not in dump and "Anna" not in dump
    finally:
        await db.dispose()


async def test_a_restart_inside_the_window_loses_nothing_and_finishes_what_passed(settings, monkeypatch):
    await load_fixture(settings)
    staff = await _staff(settings)
    app = create_app(settings)
    async with AsyncTestClient(app=app, base_url="http://testserver.local") as first:
        anna, anna_id = await _join(first, "Anna")
        bert, _ = await _join(first)
        qid = (await first.post(f"/api/v1/events/{SLUG}/questions", headers=bert, json={"text": "Fråga"})).json()["id"]
        await first.post(f"/api/v1/events/{SLUG}/questions", headers=anna, json={"text": "Annas fråga"})
        undo = (await first.post(f"/api/v1/questions/{qid}/moderate", headers=staff,
                                 json={"action": "hide"})).json()["undo"]
        headers = await _form_headers(first, f"/e/{SLUG}/me", anna)
        await first.post(f"/api/v1/events/{SLUG}/chat", headers=anna, json={"text": "Raderas"})
        monkeypatch.setattr(safety_service, "WINDOW", dt.timedelta(seconds=1))
        erased = await first.post(f"/e/{SLUG}/me/delete", headers=headers, follow_redirects=False)
        assert erased.status_code == 303
    # the server is down; the erasure's window passes meanwhile, the hide's does not
    await asyncio.sleep(1.3)
    async with AsyncTestClient(app=create_app(settings), base_url="http://testserver.local") as second:
        undone = await second.post(f"/api/v1/undo/{undo['id']}", headers=staff)
        assert undone.status_code == 200, undone.text
        assert (await second.get(f"/e/{SLUG}", headers=anna)).status_code == 200
        db = Database(settings)
        try:
            for _ in range(50):  # the new server's finisher runs at start-up
                async with db.reader() as session:
                    erase = (await session.execute(select(UndoAction).where(UndoAction.kind == "erase"))).scalar_one()
                    if erase.finished_at is not None:
                        break
                await asyncio.sleep(0.1)
            assert erase.finished_at is not None and erase.before is None
            async with db.reader() as session:
                assert (await session.get(Question, qid)).status == "approved"  # the undone hide
                assert (await session.execute(select(func.count()).select_from(Question).where(
                    Question.attendee_id == anna_id))).scalar() == 0  # Anna's erasure: gone for good
                assert (await session.execute(select(func.count()).select_from(ChatMessage).where(
                    ChatMessage.attendee_id == anna_id))).scalar() == 0
        finally:
            await db.dispose()


async def test_only_staff_of_the_event_and_the_attendee_themselves_may_undo(client, settings):
    await load_fixture(settings)
    await load_fixture(settings, "ostergotland-2021-03-23.toml")
    staff = await _staff(settings)
    stranger = await _staff(settings, "other@example.se", "ostergotland-2021-03-23")
    anna, _ = await _join(client)
    bert, _ = await _join(client)
    qid = (await client.post(f"/api/v1/events/{SLUG}/questions", headers=bert, json={"text": "Fråga"})).json()["id"]
    undo_id = (await client.post(f"/api/v1/questions/{qid}/moderate", headers=staff,
                                 json={"action": "hide"})).json()["undo"]["id"]
    assert (await client.post(f"/api/v1/undo/{undo_id}")).status_code == 401
    assert (await client.post(f"/api/v1/undo/{undo_id}", headers=anna)).status_code == 401
    assert (await client.post(f"/api/v1/undo/{undo_id}", headers=stranger)).status_code == 403
    assert (await client.post("/api/v1/undo/987654", headers=staff)).status_code == 404
    headers = await _form_headers(client, f"/e/{SLUG}/me", anna)
    erase = await client.post(f"/e/{SLUG}/me/delete", headers=headers, follow_redirects=False)
    erase_id = int(re.search(r"undo=(\d+)", erase.headers["location"]).group(1))
    assert (await client.post(f"/api/v1/undo/{erase_id}", headers=bert)).status_code == 403
    assert (await client.post(f"/api/v1/undo/{erase_id}", headers=staff)).status_code == 401
    assert (await client.post(f"/api/v1/undo/{undo_id}", headers=staff)).status_code == 200
    assert (await client.post(f"/api/v1/undo/{erase_id}", headers=anna)).status_code == 200
    assert (await client.get(f"/api/v1/events/{SLUG}/muted", headers=stranger)).status_code == 403


async def test_mute_list_unmute_and_a_muted_attendees_writes_are_refused_kindly(client, settings):
    await load_fixture(settings)
    staff = await _staff(settings)
    eva, eva_id = await _join(client, "Eva Hemlig")  # joined with a name, but writes anonymously
    olle, olle_id = await _join(client, "Olle")
    await client.post(f"/api/v1/events/{SLUG}/chat", headers=eva, json={"text": "Spam"})
    await client.post(f"/api/v1/events/{SLUG}/chat", headers=olle, json={"text": "Spam", "anonymous": False})
    for attendee in (eva_id, olle_id):
        muted = await client.post(f"/api/v1/events/{SLUG}/attendees/{attendee}/mute", headers=staff)
        assert muted.status_code == 200 and muted.json()["undo"]["id"]
    again = await client.post(f"/api/v1/events/{SLUG}/attendees/{eva_id}/mute", headers=staff)
    assert again.json()["undo"] is None  # nothing changed: nothing to undo
    listed = (await client.get(f"/api/v1/events/{SLUG}/muted", headers=staff)).json()
    assert [p["attendee_id"] for p in listed] == [eva_id, olle_id]
    assert listed[0]["name"] is None and listed[1]["name"] == "Olle"
    panel = (await client.get(f"/e/{SLUG}/control", headers=staff)).text
    assert f'id="mm-{eva_id}"' in panel and "Hemlig" not in panel and listed[0]["pseudonym"] in panel
    for path, body in ((f"/api/v1/events/{SLUG}/questions", {"text": "Får jag fråga?"}),
                       (f"/api/v1/events/{SLUG}/chat", {"text": "Hallå?"})):
        refused = await client.post(path, headers=eva, json=body)
        assert refused.status_code == 403 and "pausat dina frågor" in refused.json()["detail"]
    page = (await client.get(f"/e/{SLUG}", headers=eva)).text
    assert "pausat dina frågor" in page or "muted you" in page
    unmuted = await client.post(f"/api/v1/events/{SLUG}/attendees/{eva_id}/unmute", headers=staff)
    assert unmuted.status_code == 200 and unmuted.json()["muted"] is False
    assert [p["attendee_id"] for p in (await client.get(f"/api/v1/events/{SLUG}/muted", headers=staff)).json()] == [
        olle_id]
    assert (await client.post(f"/api/v1/events/{SLUG}/chat", headers=eva, json={"text": "Förlåt"})).status_code == 201
    assert (await client.post(f"/api/v1/events/{SLUG}/questions", headers=eva,
                              json={"text": "Nu då?"})).status_code == 201


async def test_reset_asks_first_without_javascript_and_shift_says_what_moved(client, settings):
    await load_fixture(settings)
    staff = await _staff(settings)
    anna, _ = await _join(client)
    poll = (await client.post(f"/api/v1/events/{SLUG}/polls", headers=staff,
                              json={"kind": "scale", "question": "Hur bra?", "scale_min": 1, "scale_max": 5})).json()
    await client.post(f"/api/v1/polls/{poll['id']}/open", headers=staff)
    await client.post(f"/api/v1/polls/{poll['id']}/responses", headers=anna, json={"value": 4})
    headers = await _form_headers(client, f"/e/{SLUG}/control", staff)
    asked = await client.post(f"/e/{SLUG}/control/polls/{poll['id']}/reset", headers=headers, follow_redirects=False)
    assert asked.status_code == 200 and 'name="confirm"' in asked.text and "1 svar raderas" in asked.text

    async def answers() -> int:
        db = Database(settings)
        try:
            async with db.reader() as session:
                return (await session.execute(select(func.count()).select_from(PollResponse).where(
                    PollResponse.poll_id == poll["id"]))).scalar()
        finally:
            await db.dispose()

    assert await answers() == 1
    done = await client.post(f"/e/{SLUG}/control/polls/{poll['id']}/reset", headers=headers, data={"confirm": "1"},
                             follow_redirects=False)
    assert done.status_code == 303 and await answers() == 0
    first_block = (await client.get(f"/api/v1/events/{SLUG}")).json()["blocks"][0]["id"]
    await client.post(f"/api/v1/events/{SLUG}/live", headers=staff, json={"block_id": first_block})
    shifted = await client.post(f"/e/{SLUG}/control/shift", headers=headers, data={"minutes": "10"},
                                follow_redirects=False)
    assert shifted.status_code == 303
    page = await client.get(shifted.headers["location"], headers=staff)
    assert "Senare block flyttade 10 min" in page.text
    assert re.search(r'<input id="shift-minutes" name="minutes"[^>]*>', page.text).group(0).find("value=") < 0
    with_htmx = await client.post(f"/e/{SLUG}/control/shift", headers={**headers, "HX-Request": "true"},
                                  data={"minutes": "-5"})
    assert with_htmx.status_code == 200 and "5 min" in with_htmx.text


async def test_end_broadcast_closes_block_polls_and_chat_opens_the_evaluation_once(client, settings):
    await load_fixture(settings)
    staff = await _staff(settings)
    anna, _ = await _join(client)
    event = (await client.get(f"/api/v1/events/{SLUG}")).json()
    await client.post(f"/api/v1/events/{SLUG}/live", headers=staff, json={"block_id": event["blocks"][0]["id"]})
    poll = (await client.post(f"/api/v1/events/{SLUG}/polls", headers=staff,
                              json={"kind": "wordcloud", "question": "Ett ord?"})).json()
    await client.post(f"/api/v1/polls/{poll['id']}/open", headers=staff)
    assert not (await client.get(f"/api/v1/events/{SLUG}/evaluation")).json()["open"]
    headers = await _form_headers(client, f"/e/{SLUG}/control", staff)
    asked = await client.post(f"/e/{SLUG}/control/broadcast/end", headers=headers, follow_redirects=False)
    assert asked.status_code == 200 and 'name="confirm"' in asked.text
    assert (await client.get(f"/api/v1/events/{SLUG}")).json()["live_block_id"] is not None
    ended = await client.post(f"/api/v1/events/{SLUG}/broadcast/end", headers=staff)
    assert ended.status_code == 200, ended.text
    result = ended.json()
    assert result["changed"] and result["block_ended"] and result["polls_closed"] == [poll["id"]]
    assert result["chat_closed"] and result["evaluation_opened"]
    assert (await client.get(f"/api/v1/events/{SLUG}")).json()["live_block_id"] is None
    assert next(p for p in (await client.get(f"/api/v1/events/{SLUG}/polls")).json()
                if p["id"] == poll["id"])["state"] == "closed"
    assert (await client.get(f"/api/v1/events/{SLUG}/evaluation")).json()["open"]
    refused = await client.post(f"/api/v1/events/{SLUG}/chat", headers=anna, json={"text": "Tack!"})
    assert refused.status_code == 409
    page = (await client.get(f"/e/{SLUG}", headers=anna)).text
    assert "Sändningen är slut och chatten är stängd" in page and 'id="chat-form"' not in page
    assert 'class="now card"' in page and "Dagen är slut" in page
    second = (await client.post(f"/api/v1/events/{SLUG}/broadcast/end", headers=staff)).json()
    assert second["changed"] is False and not second["polls_closed"] and "inget ändrades" in second["detail"]
    by_form = await client.post(f"/e/{SLUG}/control/broadcast/end", headers=headers, data={"confirm": "1"},
                                follow_redirects=False)
    assert by_form.status_code == 303 and "broadcast_unchanged" in by_form.headers["location"]
    # taking a block live again starts the broadcast again
    await client.post(f"/api/v1/events/{SLUG}/live", headers=staff, json={"block_id": event["blocks"][0]["id"]})
    assert "Dagen är slut" not in (await client.get(f"/e/{SLUG}", headers=anna)).text


async def test_on_a_national_day_a_region_ends_its_own_broadcast_only(client, settings, tmp_path):
    from tests.integration.test_national_day_http import regional_moderator
    from tests.support.national_day import OSTERGOTLAND, load_national_day
    from tests.support.national_day import SLUG as NATIONAL_SLUG

    await load_national_day(settings, tmp_path)
    region = {"Authorization": f"Bearer {await regional_moderator(settings, OSTERGOTLAND)}"}
    api = f"/api/v1/events/{NATIONAL_SLUG}"
    event = (await client.get(api)).json()
    stage_id = next(s["id"] for s in event["stages"] if s["name"] == "Östergötland")
    block = next(b["id"] for b in event["blocks"] if b["stage"] == stage_id)
    assert (await client.post(f"{api}/live", headers=region, json={"block_id": block})).status_code == 200
    poll = (await client.post(f"{api}/polls", headers=region, json={"kind": "wordcloud", "question": "Ord?",
                                                                     "stage": OSTERGOTLAND})).json()["id"]
    await client.post(f"/api/v1/polls/{poll}/open", headers=region)
    assert (await client.post(f"{api}/broadcast/end", headers=region)).status_code == 403  # the national stage
    ended = (await client.post(f"{api}/broadcast/end", headers=region, json={"stage": OSTERGOTLAND})).json()
    assert ended["changed"] and ended["block_ended"] and ended["polls_closed"] == [poll]
    assert not ended["chat_closed"] and not ended["evaluation_opened"]
    assert "Sändningen i" in ended["detail"]
    again = (await client.post(f"{api}/broadcast/end", headers=region, json={"stage": OSTERGOTLAND})).json()
    assert again["changed"] is False
    assert not (await client.get(f"{api}/evaluation")).json()["open"]
    attendee = await _join_national(client, NATIONAL_SLUG)
    chat = await client.post(f"{api}/chat", headers=attendee, json={"text": "Hej"})
    assert chat.status_code == 201  # the day's chat goes on


async def _join_national(client: AsyncTestClient, slug: str) -> dict[str, str]:
    joined = (await client.post(f"/api/v1/events/{slug}/join", json={})).json()
    return {"Authorization": f"Bearer {joined['attendee_token']}"}
