"""The moderator's cockpit over HTTP: bulk approve through the one road (each question its own audited change, in
one unit of work), the control panel's question views with their counts, and every moderation answer in words."""

import re

import pytest
from sqlalchemy import select

from ehalsodag.db.engine import Database
from ehalsodag.staff.models import AuditEntry
from tests.conftest import load_fixture, make_staff

SLUG = "ostergotland-2021-03-23"


@pytest.fixture
async def day(settings):
    await load_fixture(settings, "ostergotland-2021-03-23.toml")
    await load_fixture(settings, "other.toml")
    staff = await make_staff(settings, "mod@example.se", "moderator", SLUG)
    other = await make_staff(settings, "other@example.se", "moderator", "other")
    return {"staff": {"Authorization": f"Bearer {staff}"}, "other": {"Authorization": f"Bearer {other}"}}


async def ask(client, text: str, slug: str = SLUG) -> int:
    joined = await client.post(f"/api/v1/events/{slug}/join", json={})
    client.cookies.clear()
    token = {"Authorization": f"Bearer {joined.json()['attendee_token']}"}
    response = await client.post(f"/api/v1/events/{slug}/questions", json={"text": text}, headers=token)
    assert response.status_code == 201, response.text
    return response.json()["id"]


async def audited(settings, action: str) -> list[int]:
    db = Database(settings)
    async with db.reader() as session:
        rows = (await session.execute(select(AuditEntry).where(AuditEntry.action == action))).scalars().all()
    await db.dispose()
    return sorted(int(row.detail["question"]) for row in rows)


def views(page: str) -> dict[str, str]:
    """The control panel's question views: their counts and lists, by view."""
    found = {}
    for view in ("pending", "approved", "onstage", "answered", "hidden"):
        count = re.search(rf'<span id="mod-count-{view}" class="count">(\d+)</span>', page)
        listed = re.search(rf'<ul id="mod-list-{view}".*?</ul>', page, re.S)
        assert count and listed, view
        found[view] = f"{count.group(1)}:{listed.group(0)}"
    return found


async def test_bulk_approve_approves_each_waiting_question_once_and_leaves_the_rest(client, day, settings):
    staff = day["staff"]
    await client.post(f"/api/v1/events/{SLUG}/settings", json={"premoderation": True}, headers=staff)
    waiting = [await ask(client, f"Väntande fråga {i}") for i in range(3)]
    elsewhere = await ask(client, "En fråga i ett annat evenemang", slug="other")
    approved = await client.post(f"/api/v1/events/{SLUG}/questions/approve", headers=staff,
                                 json={"ids": [waiting[0], waiting[1], elsewhere, 2**62]})
    assert approved.status_code == 200, approved.text
    assert approved.json() == {"approved": [waiting[0], waiting[1]]}
    # one audited change per question, through the same moderation as the single button
    assert await audited(settings, "question.approve") == [waiting[0], waiting[1]]
    again = await client.post(f"/api/v1/events/{SLUG}/questions/approve", headers=staff,
                              json={"ids": [waiting[0], waiting[2]]})
    assert again.json() == {"approved": [waiting[2]]}, "only what still waits"
    page = views((await client.get(f"/e/{SLUG}/control", headers=staff)).text)
    assert page["pending"].startswith("0:") and page["approved"].startswith("3:")
    assert all(f"mqs-{q}" in page["approved"] for q in waiting)
    # refused: nothing chosen, too many, another event's moderator, an attendee
    assert (await client.post(f"/api/v1/events/{SLUG}/questions/approve", headers=staff,
                              json={"ids": []})).status_code == 422
    assert (await client.post(f"/api/v1/events/{SLUG}/questions/approve", headers=staff,
                              json={"ids": list(range(1, 82))})).status_code == 400
    assert (await client.post(f"/api/v1/events/{SLUG}/questions/approve", headers=day["other"],
                              json={"ids": [waiting[0]]})).status_code == 403
    assert (await client.post(f"/api/v1/events/{SLUG}/questions/approve",
                              json={"ids": [waiting[0]]})).status_code == 401


async def test_each_question_sits_in_the_view_of_its_state_with_counts(client, day):
    staff = day["staff"]
    await client.post(f"/api/v1/events/{SLUG}/settings", json={"premoderation": True}, headers=staff)
    ids = [await ask(client, f"Fråga {i}") for i in range(5)]
    for qid, action in ((ids[1], "approve"), (ids[2], "highlight"), (ids[3], "approve"), (ids[4], "hide")):
        response = await client.post(f"/api/v1/questions/{qid}/moderate", json={"action": action}, headers=staff)
        assert response.status_code == 200, response.text
    await client.post(f"/api/v1/questions/{ids[3]}/moderate", json={"action": "answer"}, headers=staff)
    page = views((await client.get(f"/e/{SLUG}/control", headers=staff)).text)
    expected = {"pending": ("mqp", ids[0]), "approved": ("mqs", ids[1]), "onstage": ("mqo", ids[2]),
                "answered": ("mqd", ids[3]), "hidden": ("mqh", ids[4])}
    for view, (prefix, qid) in expected.items():
        assert page[view].startswith("1:"), (view, page[view][:80])
        assert f'id="{prefix}-{qid}"' in page[view]
        items = [f'id="{p}-{qid}"' for p in ("mqp", "mqs", "mqo", "mqd", "mqh")]
        assert sum(item in listed for listed in page.values() for item in items) == 1, f"{qid} shows twice"
