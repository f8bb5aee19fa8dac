"""Issue 15, privacy items 9–11: the chat follows the "show my name" choice, the audit log keeps no personal text,
and one attendee per browser (re-joins, mute, group sizes) — each on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
import os
import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from litestar.testing import AsyncTestClient
from sqlalchemy import select

from ehalsodag.agenda.models import Event
from ehalsodag.app import create_app
from ehalsodag.attendees.models import Attendee
from ehalsodag.attendees.service import pseudonym
from ehalsodag.db.engine import Database
from ehalsodag.db.migrate import upgrade
from ehalsodag.privacy.service import purge
from ehalsodag.settings import Settings
from ehalsodag.staff.audit import safe_detail
from ehalsodag.staff.models import AuditEntry
from tests.conftest import load_fixture, make_settings, make_staff
from tests.support.postgres import fresh_database

SLUG = "ostergotland-2021-03-23"
DATABASE_URL = os.environ.get("EHALSODAG_TEST_DATABASE_URL")


@pytest.fixture(params=["sqlite", "postgresql"])
def both(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Settings]:
    """Migrated settings on SQLite, then on a fresh PostgreSQL database (skipped without one)."""
    if request.param == "sqlite":
        value = make_settings(tmp_path)
        upgrade(value)
        yield value
        return
    if not DATABASE_URL:
        pytest.skip("set EHALSODAG_TEST_DATABASE_URL (postgresql+asyncpg://)")
    with fresh_database(DATABASE_URL, "ehalsodag_privacy") as url:
        value = make_settings(tmp_path, database_url=url)
        upgrade(value)
        yield value


@pytest.fixture
async def day(both: Settings) -> AsyncIterator[dict]:
    """The regional day loaded, a moderator's and an organiser's bearer headers, and the in-process client."""
    await load_fixture(both, f"{SLUG}.toml")
    moderator = await make_staff(both, "mod@example.se", "moderator", SLUG)
    organiser = await make_staff(both, "org@example.se", "organiser", SLUG)
    async with AsyncTestClient(app=create_app(both), base_url="http://testserver.local") as client:
        yield {"client": client, "settings": both, "mod": {"Authorization": f"Bearer {moderator}"},
               "org": {"Authorization": f"Bearer {organiser}"}}


async def join(client: AsyncTestClient, **body: object) -> dict[str, str]:
    response = await client.post(f"/api/v1/events/{SLUG}/join", json=body)
    assert response.status_code == 201, response.text
    client.cookies.clear()
    return {"Authorization": f"Bearer {response.json()['attendee_token']}"}


async def audit_rows(settings: Settings) -> list[AuditEntry]:
    db = Database(settings)
    try:
        async with db.reader() as session:
            return list((await session.execute(select(AuditEntry).order_by(AuditEntry.id))).scalars())
    finally:
        await db.dispose()


# --- 9: the chat shows a name only when the attendee chooses to -------------------------------------------------

async def test_chat_shows_the_join_name_only_when_the_attendee_chooses(day):
    client = day["client"]
    kim = await join(client, display_name="Kim Lind")
    quiet = await client.post(f"/api/v1/events/{SLUG}/chat", json={"text": "Hej anonymt"}, headers=kim)
    signed = await client.post(f"/api/v1/events/{SLUG}/chat", json={"text": "Hej med namn", "anonymous": False},
                               headers=kim)
    assert quiet.status_code == 201 and signed.status_code == 201
    page = (await client.get(f"/e/{SLUG}", headers=await join(client))).text
    log = page.split('id="chat-log"')[1].split("</ol>")[0]
    anonymous_item = log.split(f'id="chat-{quiet.json()["id"]}"')[1].split("</li>")[0]
    signed_item = log.split(f'id="chat-{signed.json()["id"]}"')[1].split("</li>")[0]
    assert "Kim Lind" not in anonymous_item and "Deltagare" in anonymous_item
    assert "Kim Lind" in signed_item
    # the form offers the same choice as the question form (and without JavaScript)
    assert 'name="anonymous" value="false"' in page.split('id="chat-form"')[1].split("</form>")[0]


async def test_moderators_tell_anonymous_chat_writers_apart_without_a_name(day):
    client = day["client"]
    first, second = await join(client, display_name="Kim Lind"), await join(client)
    ids = []
    for who in (first, second, first):
        sent = await client.post(f"/api/v1/events/{SLUG}/chat", json={"text": "Fråga om journalen"}, headers=who)
        ids.append(sent.json()["id"])
    control = (await client.get(f"/e/{SLUG}/control", headers=day["mod"])).text
    authors = [re.search(r'class="chat-author">([^<]*)<', control.split(f'id="mc-{i}"')[1]).group(1) for i in ids]
    assert "Kim Lind" not in control.split('id="mod-chat-list"')[1]
    assert authors[0] == authors[2] != authors[1] and all(a.startswith("Deltagare ") for a in authors)


async def test_signing_without_a_name_is_refused_and_changes_nothing(day):
    client = day["client"]
    nameless = await join(client)
    refused = await client.post(f"/api/v1/events/{SLUG}/chat", json={"text": "Hej", "anonymous": False},
                                headers=nameless)
    assert refused.status_code == 422 and "utan namn" in refused.json()["detail"]
    assert "Hej<" not in (await client.get(f"/e/{SLUG}", headers=nameless)).text


def test_pseudonyms_are_distinct_within_an_event_and_differ_between_events():
    codes = {pseudonym(7, attendee) for attendee in range(1, 20_001)}
    assert len(codes) == 20_000 and all(re.fullmatch(r"[0-9A-F]{4}-[0-9A-F]{4}", c) for c in codes)
    assert sum(pseudonym(7, a) == pseudonym(8, a) for a in range(1, 1001)) < 5


# --- 10: the audit log keeps who did what and when, not what people wrote ---------------------------------------

PHONE = "070-123 45 67"


def leaks(rows: list[AuditEntry], marker: str = PHONE) -> list[tuple[str, dict]]:
    return [(row.action, row.detail) for row in rows if marker in json.dumps(row.detail, ensure_ascii=False)
            or marker in row.actor]


async def test_no_audited_action_keeps_the_text_people_wrote(day):
    """Property over the audited actions that touch text: after each, every entry is free of the text, and the
    action did write its entry (who, what, when)."""
    client, mod, settings = day["client"], day["mod"], day["settings"]
    kim = await join(client, display_name="Kim Lind")
    asked = (await client.post(f"/api/v1/events/{SLUG}/questions", json={"text": f"Ring mig på {PHONE}"},
                               headers=kim)).json()
    sent = (await client.post(f"/api/v1/events/{SLUG}/chat", json={"text": f"Mitt nummer: {PHONE}"},
                              headers=kim)).json()
    actions = {
        "chat.delete": lambda: client.delete(f"/api/v1/chat/{sent['id']}", headers=mod),
        "question.edit": lambda: client.post(f"/api/v1/questions/{asked['id']}/moderate", headers=mod,
                                             json={"action": "edit", "text": f"Nytt nummer {PHONE}"}),
        "question.approve": lambda: client.post(f"/api/v1/questions/{asked['id']}/moderate", headers=mod,
                                                json={"action": "approve"}),
        "announcement.post": lambda: client.post(f"/api/v1/events/{SLUG}/announcement", headers=mod,
                                                 json={"text": f"Hitta din väska, ring {PHONE}"}),
        "poll.create": lambda: client.post(f"/api/v1/events/{SLUG}/polls", headers=mod,
                                           json={"kind": "open_text", "question": f"Vem har {PHONE}?"}),
        "attendee.mute": lambda: client.post(f"/api/v1/events/{SLUG}/attendees/{kim_id}/mute", headers=mod),
    }
    kim_id = (await client.get(f"/e/{SLUG}/me", headers=kim)).text and await attendee_id(settings, "Kim Lind")
    for action, do in actions.items():
        before = len(await audit_rows(settings))
        response = await do()
        assert response.status_code in (200, 201), (action, response.text)
        rows = await audit_rows(settings)
        assert action in {r.action for r in rows[before:]}, f"{action} wrote no audit entry"
        assert not leaks(rows), f"{action} left text in the audit log: {leaks(rows)}"
    edit = next(r for r in await audit_rows(settings) if r.action == "question.edit")
    assert edit.actor == "mod@example.se" and edit.detail["question"] == asked["id"] and edit.created_at


async def insert_legacy_entries(settings: Settings, message_id: int, question_id: int) -> None:
    """Entries as the code before this change wrote them: the text itself in the detail."""
    db = Database(settings)
    try:
        async with db.unit_of_work() as session:
            event_id = (await session.execute(select(Event.id).where(Event.slug == SLUG))).scalar_one()
            session.add(AuditEntry(actor="mod@example.se", action="chat.delete", event_id=event_id,
                                   detail={"message": message_id, "text": f"Mitt nummer: {PHONE}"}))
            session.add(AuditEntry(actor="mod@example.se", action="question.edit", event_id=event_id,
                                   detail={"question": question_id, "original": f"Ring {PHONE}", "edited": "Ring"}))
    finally:
        await db.dispose()


async def attendee_id(settings: Settings, name: str) -> int:
    db = Database(settings)
    try:
        async with db.reader() as session:
            return (await session.execute(select(Attendee.id).where(Attendee.display_name == name))).scalar_one()
    finally:
        await db.dispose()


async def test_deleting_ones_own_data_erases_its_text_from_the_audit_log(day):
    client, settings = day["client"], day["settings"]
    kim = await join(client, display_name="Kim Lind")
    message = (await client.post(f"/api/v1/events/{SLUG}/chat", json={"text": "x"}, headers=kim)).json()["id"]
    question = (await client.post(f"/api/v1/events/{SLUG}/questions", json={"text": "y?"}, headers=kim)).json()["id"]
    await client.delete(f"/api/v1/chat/{message}", headers=day["mod"])  # a moderator deleted it first
    await insert_legacy_entries(settings, message, question)
    await insert_legacy_entries(settings, message + 1000, question + 1000)  # somebody else's: not theirs to erase
    page = await client.get(f"/e/{SLUG}/me", headers=kim)
    token = re.search(r'name="_csrf_token" value="([^"]+)"', page.text).group(1)
    client.cookies.set("csrftoken", token)
    deleted = await client.post(f"/e/{SLUG}/me/delete", headers=kim, data={"_csrf_token": token},
                                follow_redirects=False)
    assert deleted.status_code == 303
    rows = await audit_rows(settings)
    left = leaks(rows)
    assert len(left) == 2 and {d.get("message", d.get("question")) for _a, d in left} == {message + 1000,
                                                                                         question + 1000}
    mine = [r for r in rows if r.detail.get("message") == message or r.detail.get("question") == question]
    assert {r.action for r in mine} >= {"chat.delete", "question.edit"}  # who did what, when: kept


async def test_the_purge_erases_text_from_the_audit_log(day):
    settings = day["settings"]
    await insert_legacy_entries(settings, 1, 1)
    assert leaks(await audit_rows(settings))
    db = Database(settings)
    try:
        async with db.unit_of_work() as session:
            event = (await session.execute(select(Event).where(Event.slug == SLUG))).scalar_one()
            counts = await purge(session, event, force=True)
    finally:
        await db.dispose()
    rows = await audit_rows(settings)
    assert counts["audit_entries"] == 2 and not leaks(rows)
    assert [r.detail for r in rows if r.action == "question.edit"] == [{"question": 1, "original_chars": 18,
                                                                         "edited_chars": 4}]


@given(st.dictionaries(st.text(min_size=1, max_size=12), st.one_of(
    st.text(min_size=1), st.integers(), st.booleans(), st.none(), st.lists(st.text(min_size=1), max_size=3),
    st.dictionaries(st.text(max_size=3), st.text(), max_size=2)), max_size=6))
def test_an_audit_detail_keeps_no_free_text(detail):
    kept = safe_detail({f"x{key}": value for key, value in detail.items()})  # no key names a thing
    for value in kept.values():  # numbers (and lists of numbers) only: no text can survive in any form
        assert value is None or isinstance(value, bool | int | float) or (
            isinstance(value, list) and all(v is None or isinstance(v, bool | int | float) for v in value))


# --- 11: one attendee per browser; joins per address; group sizes ------------------------------------------------

async def form_join(client: AsyncTestClient, **fields: object) -> AsyncTestClient:
    """Join through the join form as a browser does (its cookies kept), without JavaScript."""
    page = await client.get(f"/e/{SLUG}")
    token = re.search(r'name="_csrf_token" value="([^"]+)"', page.text).group(1)
    data = {"_csrf_token": token, "display_name": "", "organisation": "", "group_size": "1",
            **{k: str(v) for k, v in fields.items()}}
    response = await client.post(f"/e/{SLUG}/join", data=data, follow_redirects=False)
    assert response.status_code == 303, response.text
    return response


async def attendee_count(settings: Settings) -> int:
    db = Database(settings)
    try:
        async with db.reader() as session:
            return len((await session.execute(select(Attendee.id))).scalars().all())
    finally:
        await db.dispose()


async def test_a_browser_that_joins_again_is_the_same_attendee_with_its_answer_and_mute(day):
    client, settings = day["client"], day["settings"]
    await form_join(client, display_name="Kim", group_size=4)
    cookie = next(name for name in client.cookies if name.startswith("ehd_a"))
    token = client.cookies[cookie]
    me = {"Authorization": f"Bearer {token}"}
    await client.post(f"/api/v1/events/{SLUG}/evaluation/open", headers=day["mod"])
    answers = {"answers": {"helhet": 5, "aterkommande": "yes", "kommentar": "Bra"}}
    statuses = [(await client.post(f"/api/v1/events/{SLUG}/evaluation", json=answers, headers=me)).status_code]
    for _ in range(20):  # the reviewer's 20 re-joins: now the same attendee every time
        joined = await form_join(client, display_name="Kim", group_size=4)
        assert "set-cookie" not in {k.lower() for k in joined.headers.keys()} or token in joined.headers.get(
            "set-cookie", "")
        statuses.append((await client.post(f"/api/v1/events/{SLUG}/evaluation", json=answers,
                                           headers=me)).status_code)
    assert statuses == [201] + [409] * 20 and client.cookies[cookie] == token
    assert await attendee_count(settings) == 1
    # the API too: a client holding its token gets that attendee back
    again = await client.post(f"/api/v1/events/{SLUG}/join", json={}, headers=me)
    assert again.status_code == 200 and again.json()["attendee_token"] == token

    kim = await attendee_id(settings, "Kim")
    assert (await client.post(f"/api/v1/events/{SLUG}/attendees/{kim}/mute", headers=day["mod"])).status_code == 200
    await form_join(client, display_name="Kim", group_size=4)
    refused = await client.post(f"/api/v1/events/{SLUG}/chat", json={"text": "Nu igen"}, headers=me)
    assert refused.status_code == 403 and await attendee_count(settings) == 1


async def test_joins_per_address_admit_a_care_unit_but_not_a_script(both):
    """60 new attendees a minute and 600 an hour from one address by default (a care unit's phones behind one
    NAT); re-joins of a browser that kept its cookie are not counted. No clock is faked: the hour's limit is shown
    with a smaller hour ceiling."""
    await load_fixture(both, f"{SLUG}.toml")
    defaults = Settings(database_url="sqlite://", redis_url=None, secret_key="x" * 32, base_url=None)
    assert (defaults.join_limit, defaults.joins_per_hour, defaults.max_group_size) == (60, 600, 50)

    async def new_attendees(client: AsyncTestClient, count: int) -> list[int]:
        statuses = []
        for _ in range(count):
            statuses.append((await client.post(f"/api/v1/events/{SLUG}/join", json={})).status_code)
            client.cookies.clear()
        return statuses

    minute = replace(both, join_limit=defaults.join_limit, join_hour_limit=None)
    async with AsyncTestClient(app=create_app(minute), base_url="http://testserver.local") as client:
        assert await new_attendees(client, 60) == [201] * 60  # the whole care unit in one minute
        refused = await client.post(f"/api/v1/events/{SLUG}/join", json={})
        assert refused.status_code == 429 and 1 <= int(refused.headers["Retry-After"]) <= 60
        assert "sekunder" in refused.json()["detail"]  # what to do, in the person's language
    hour = replace(both, join_limit=1000, join_hour_limit=70)
    async with AsyncTestClient(app=create_app(hour), base_url="http://testserver.local") as client:
        assert await new_attendees(client, 70) == [201] * 70
        refused = await client.post(f"/api/v1/events/{SLUG}/join", json={})
        assert refused.status_code == 429 and 60 < int(refused.headers["Retry-After"]) <= 3600
        assert "minuter" in refused.json()["detail"]


async def test_a_browser_joining_again_is_not_counted_against_the_limit(both):
    await load_fixture(both, f"{SLUG}.toml")
    app = create_app(replace(both, join_limit=2))
    async with AsyncTestClient(app=app, base_url="http://testserver.local") as client:
        await form_join(client, display_name="Kim")
        for _ in range(5):  # the same browser: its own attendee back each time, no new join counted
            await form_join(client, display_name="Kim")
        client.cookies.clear()
        assert (await client.post(f"/api/v1/events/{SLUG}/join", json={})).status_code == 201
        client.cookies.clear()
        assert (await client.post(f"/api/v1/events/{SLUG}/join", json={})).status_code == 429
    assert await attendee_count(both) == 2


async def test_group_size_has_a_configurable_ceiling(both):
    await load_fixture(both, f"{SLUG}.toml")
    for ceiling, fits, too_many in ((50, 50, 51), (200, 200, 201)):
        settings = both if ceiling == 50 else replace(both, max_group_size=ceiling)
        async with AsyncTestClient(app=create_app(settings), base_url="http://testserver.local") as client:
            accepted = await client.post(f"/api/v1/events/{SLUG}/join", json={"group_size": fits})
            client.cookies.clear()
            refused = await client.post(f"/api/v1/events/{SLUG}/join", json={"group_size": too_many})
            assert accepted.status_code == 201 and refused.status_code == 422
            assert f"1 till {ceiling}" in refused.json()["detail"]
            page = (await client.get(f"/e/{SLUG}")).text
            assert f'max="{ceiling}"' in page.split('id="group_size"')[1].split(">")[0]


async def test_moderators_tell_anonymous_askers_apart_too(day):
    client = day["client"]
    first, second = await join(client, display_name="Kim Lind"), await join(client)
    for who in (first, second):
        await client.post(f"/api/v1/events/{SLUG}/questions", json={"text": "Hur gör vi?"}, headers=who)
    control = (await client.get(f"/e/{SLUG}/control", headers=day["mod"])).text
    codes = re.findall(r"Anonym \(([0-9A-F]{4}-[0-9A-F]{4})\)", control)
    assert len(set(codes)) == 2 and "Kim Lind" not in control
    public = (await client.get(f"/e/{SLUG}", headers=first)).text
    assert not any(code in public for code in codes)  # attendees never see the pseudonyms


def test_upgrading_scrubs_text_already_in_the_audit_log(tmp_path):
    """An installation upgraded from before: its audit log loses the text at once (SQLite and PostgreSQL)."""
    import asyncio

    urls = [None] + ([DATABASE_URL] if DATABASE_URL else [])
    for url in urls:
        context = fresh_database(url, "ehalsodag_upgrade") if url else None
        database_url = context.__enter__() if context else None
        try:
            settings = make_settings(tmp_path / ("pg" if url else "lite"), database_url=database_url)
            (tmp_path / ("pg" if url else "lite")).mkdir(exist_ok=True)
            upgrade(settings, "0006")

            async def old_entries(settings: Settings) -> None:
                db = Database(settings)
                try:
                    async with db.unit_of_work() as session:
                        session.add(AuditEntry(actor="mod@example.se", action="chat.delete", event_id=None,
                                               detail={"message": 7, "text": f"Ring {PHONE}"}))
                        session.add(AuditEntry(actor="cli", action="agenda.load", event_id=None,
                                               detail={"slug": "dag", "blocks": 3}))
                finally:
                    await db.dispose()

            asyncio.run(old_entries(settings))
            upgrade(settings)
            rows = asyncio.run(audit_rows(settings))
            assert [r.detail for r in rows] == [{"message": 7, "text_chars": 18}, {"slug": "dag", "blocks": 3}]
        finally:
            if context:
                context.__exit__(None, None, None)
