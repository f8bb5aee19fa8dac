"""Issue 15, privacy items 9–11: the chat follows the "show my name" choice, the audit log keeps no personal text,
and one attendee per browser (re-joins, mute, group sizes) — each on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import select

from ehalsodag.app import create_app
from ehalsodag.attendees.service import pseudonym
from ehalsodag.db.engine import Database
from ehalsodag.db.migrate import upgrade
from ehalsodag.settings import Settings
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
