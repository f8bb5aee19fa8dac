"""Privacy (see and delete one's posts, the retention purge), the audit log, and the rate limits."""

import csv
import io
import re
import subprocess
import sys

import pytest
from sqlalchemy import select

from ehalsodag.agenda.service import event_by_slug
from ehalsodag.attendees.models import Attendee
from ehalsodag.chat.models import ChatMessage
from ehalsodag.db.engine import Database
from ehalsodag.qa.models import Question
from tests.conftest import load_fixture, make_staff
from tests.support.pages import upvote_count

SLUG = "ostergotland-2021-03-23"


async def join(client, **body):
    response = await client.post(f"/api/v1/events/{SLUG}/join", json=body)
    client.cookies.clear()
    return {"Authorization": f"Bearer {response.json()['attendee_token']}"}


@pytest.fixture
async def staff(settings):
    await load_fixture(settings, f"{SLUG}.toml")
    return {"Authorization": f"Bearer {await make_staff(settings, 'org@example.se', 'organiser', SLUG)}"}


async def test_an_attendee_sees_and_deletes_what_they_posted(client, settings, staff):
    me = await join(client, display_name="Kim Lind", organisation="Vårdcentral Öst")
    other = await join(client)
    await client.post(f"/api/v1/events/{SLUG}/questions", json={"text": "Min fråga"}, headers=me)
    await client.post(f"/api/v1/events/{SLUG}/chat", json={"text": "Mitt meddelande"}, headers=me)
    theirs = (await client.post(f"/api/v1/events/{SLUG}/questions", json={"text": "Din fråga"}, headers=other)).json()
    await client.post(f"/api/v1/questions/{theirs['id']}/upvote", headers=me)
    page = await client.get(f"/e/{SLUG}/me", headers=me)
    assert page.status_code == 200
    for text in ("Kim Lind", "Vårdcentral Öst", "Min fråga", "Mitt meddelande"):
        assert text in page.text
    assert "Din fråga" not in page.text
    assert (await client.get(f"/e/{SLUG}/me")).status_code == 401

    token = re.search(r'name="_csrf_token" value="([^"]+)"', page.text).group(1)
    client.cookies.set("csrftoken", token)
    deleted = await client.post(f"/e/{SLUG}/me/delete", headers=me, data={"_csrf_token": token},
                                follow_redirects=False)
    assert deleted.status_code == 303
    db = Database(settings)
    async with db.reader() as session:
        texts = [q.text for q in (await session.execute(select(Question))).scalars()]
        messages = (await session.execute(select(ChatMessage))).scalars().all()
        named = (await session.execute(select(Attendee).where(Attendee.display_name.is_not(None)))).scalars().all()
    await db.dispose()
    assert texts == ["Din fråga"] and messages == [] and named == []
    public = (await client.get(f"/e/{SLUG}", headers=other)).text
    assert upvote_count(public, theirs["id"]) == 0  # their upvote went too


def run_cli(settings, *args):
    env = {"EHALSODAG_DATABASE_URL": settings.database_url, "EHALSODAG_SECRET_KEY": "x" * 32, "PATH": "/usr/bin:/bin"}
    return subprocess.run([sys.executable, "-m", "ehalsodag.cli", *args], capture_output=True, text=True, env=env)


async def test_purge_erases_names_and_free_text_but_keeps_the_figures(client, settings, staff):
    me = await join(client, display_name="Kim Lind")
    await client.post(f"/api/v1/events/{SLUG}/questions", json={"text": "Känslig fråga", "anonymous": False},
                      headers=me)
    await client.post(f"/api/v1/events/{SLUG}/chat", json={"text": "Känsligt meddelande"}, headers=me)
    await client.post(f"/api/v1/events/{SLUG}/evaluation/open", json={}, headers=staff)
    await client.post(f"/api/v1/events/{SLUG}/evaluation",
                      json={"answers": {"helhet": 5, "aterkommande": "yes", "kommentar": "Känslig kommentar"}},
                      headers=me)
    before = (await client.get(f"/api/v1/events/{SLUG}/results?names=1", headers=staff)).json()
    assert "Kim Lind" in str(before) and before["questions"]["asked"] == 1

    db = Database(settings)
    async with db.writer() as session:  # the 2021 day is long past: 90 days of retention are over
        event = await event_by_slug(session, SLUG)
        event.retention_days = 90
        await session.commit()
    await db.dispose()
    result = run_cli(settings, "purge", SLUG)
    assert result.returncode == 0 and "erased" in result.stdout, result.stderr
    after = (await client.get(f"/api/v1/events/{SLUG}/results?names=1", headers=staff)).json()
    for secret in ("Kim Lind", "Känslig fråga", "Känsligt meddelande", "Känslig kommentar"):
        assert secret not in str(after)
    assert after["questions"]["asked"] == 1 and after["chat"]["messages"] == 1
    assert after["evaluation"]["respondents"] == 1
    assert after["evaluation"]["questions"][0]["top2_percent"] == 100.0

    await load_fixture(settings, "other.toml")
    db = Database(settings)
    async with db.writer() as session:
        other = await event_by_slug(session, "other")
        other.date = other.date.today()
        await session.commit()
    await db.dispose()
    not_yet = run_cli(settings, "purge", "other")
    assert not_yet.returncode == 0 and "not over yet" in not_yet.stdout
    assert run_cli(settings, "purge", "missing").returncode == 1


async def test_the_audit_log_is_for_organisers_and_exportable(client, settings, staff):
    moderator = {"Authorization": f"Bearer {await make_staff(settings, 'mod@example.se', 'moderator', SLUG)}"}
    await client.post(f"/api/v1/events/{SLUG}/announcement", json={"text": "=cmd|' /C calc'!A0"}, headers=moderator)
    page = await client.get(f"/e/{SLUG}/audit", headers=staff)
    assert page.status_code == 200 and "announcement.post" in page.text and "mod@example.se" in page.text
    assert (await client.get(f"/e/{SLUG}/audit", headers=moderator)).status_code == 403
    exported = await client.get(f"/e/{SLUG}/audit.csv", headers=staff)  # for Swedish Excel by default
    rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == ["time_utc", "actor", "action", "detail"]
    international = await client.get(f"/e/{SLUG}/audit.csv?variant=international", headers=staff)
    assert list(csv.reader(io.StringIO(international.content.decode("utf-8-sig"))))[0] == rows[0]
    assert (await client.get(f"/e/{SLUG}/audit.csv?variant=excel", headers=staff)).status_code == 400
    post = next(r for r in rows if r[2] == "announcement.post")
    assert post[1] == "mod@example.se" and "calc" not in post[3] and "text_chars" in post[3]  # who, not the text
    assert post[3].startswith("'") or not post[3].startswith("=")  # neutralised for spreadsheets
    await client.get(f"/e/{SLUG}/results/export/xlsx?names=1", headers=staff)
    page = await client.get(f"/e/{SLUG}/audit", headers=staff)
    assert "results.export" in page.text and "org@example.se" in page.text


@pytest.mark.parametrize(("name", "count"), [("question", 5), ("upvote", 30), ("vote", 10)])
async def test_per_attendee_rate_limits(client, settings, staff, name, count):
    me = await join(client)
    polls = (await client.get(f"/api/v1/events/{SLUG}/polls")).json()
    scale = next(p for p in polls if p["kind"] == "scale")
    await client.post(f"/api/v1/polls/{scale['id']}/open", headers=staff)
    other = await join(client)
    question = (await client.post(f"/api/v1/events/{SLUG}/questions", json={"text": "Q"}, headers=other)).json()

    async def act():
        if name == "question":
            return await client.post(f"/api/v1/events/{SLUG}/questions", json={"text": "Fråga"}, headers=me)
        if name == "upvote":
            return await client.post(f"/api/v1/questions/{question['id']}/upvote", headers=me)
        return await client.post(f"/api/v1/polls/{scale['id']}/responses", json={"value": 3}, headers=me)

    statuses = [(await act()).status_code for _ in range(count)]
    assert all(s < 400 for s in statuses), statuses
    refused = await act()
    assert refused.status_code == 429 and "snabbt — vänta" in refused.json()["detail"]  # kind, with the wait
    other_ok = await client.post(f"/api/v1/events/{SLUG}/questions", json={"text": "Annan"}, headers=other)
    assert other_ok.status_code == 201  # one attendee's limit is not another's


async def test_joins_are_limited_per_address(settings):
    from dataclasses import replace

    from litestar.testing import AsyncTestClient

    from ehalsodag.app import create_app

    await load_fixture(settings, f"{SLUG}.toml")
    async with AsyncTestClient(app=create_app(replace(settings, join_limit=3))) as client:
        statuses = []
        for _ in range(4):  # a client without its cookie: a new attendee each time
            statuses.append((await client.post(f"/api/v1/events/{SLUG}/join", json={})).status_code)
            client.cookies.clear()
    assert statuses == [201, 201, 201, 429]
