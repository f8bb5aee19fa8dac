"""The core actions work as plain HTML forms, without JavaScript: ask, upvote, chat, answer each poll kind."""

import re

from sqlalchemy import select

from ehalsodag.db.engine import Database
from ehalsodag.polls.models import PollResponse
from tests.conftest import load_fixture, make_staff
from tests.support.pages import upvote_count

SLUG = "ostergotland-2021-03-23"


async def joined_browser(client):
    page = await client.get(f"/e/{SLUG}")
    token = re.search(r'name="_csrf_token" value="([^"]+)"', page.text).group(1)
    joined = await client.post(f"/e/{SLUG}/join", data={"group_size": "3", "_csrf_token": token},
                               follow_redirects=False)
    assert joined.status_code == 303
    return token


async def test_ask_upvote_and_chat_as_plain_forms(client, settings):
    await load_fixture(settings, "ostergotland-2021-03-23.toml")
    token = await joined_browser(client)
    asked = await client.post(f"/e/{SLUG}/questions", data={"text": "Vad kostar det?", "_csrf_token": token},
                              follow_redirects=False)
    assert asked.status_code == 303 and asked.headers["location"] == f"/e/{SLUG}#qa"
    page = (await client.get(f"/e/{SLUG}")).text
    qid = int(re.search(r'id="q-(\d+)"', page).group(1))
    for expected in ("1", "0", "1"):  # the button toggles
        voted = await client.post(f"/e/{SLUG}/questions/{qid}/upvote", data={"_csrf_token": token},
                                  follow_redirects=False)
        assert voted.status_code == 303
        assert str(upvote_count((await client.get(f"/e/{SLUG}")).text, qid)) == expected
    chatted = await client.post(f"/e/{SLUG}/chat", data={"text": "Hej alla", "_csrf_token": token},
                                follow_redirects=False)
    assert chatted.status_code == 303
    assert "Hej alla" in (await client.get(f"/e/{SLUG}")).text
    missing_csrf = await client.post(f"/e/{SLUG}/chat", data={"text": "utan token"})
    assert missing_csrf.status_code == 403


async def test_every_poll_kind_can_be_answered_with_a_plain_form(client, settings):
    await load_fixture(settings, "ostergotland-2021-03-23.toml")
    staff = {"Authorization": f"Bearer {await make_staff(settings, 'mod@example.se', 'moderator', SLUG)}"}
    polls = (await client.get(f"/api/v1/events/{SLUG}/polls")).json()
    for poll in polls:
        await client.post(f"/api/v1/polls/{poll['id']}/open", headers=staff)
    token = await joined_browser(client)
    page = (await client.get(f"/e/{SLUG}")).text
    for poll in polls:
        assert f'action="/e/{SLUG}/polls/{poll["id"]}/respond"' in page
    forms = {
        "scale": {"value": "5"},
        "wordcloud": {"words": ["Tillit", "", "  TILLIT "]},
        "single": {"option_ids": None},
        "ranking": None,
        "open_text": {"text": "Ett gemensamt möte varje månad"},
    }
    expected = {}
    for poll in polls:
        data = forms[poll["kind"]]
        if poll["kind"] == "single":
            data = {"option_ids": str(poll["options"][1]["id"])}
            expected[poll["id"]] = {"option_ids": [poll["options"][1]["id"]]}
        elif poll["kind"] == "ranking":
            places = [2, 1, 4, 3]  # one select per place, best first, each naming an option
            order = sorted(poll["options"], key=lambda o: places[poll["options"].index(o)])
            data = {"ranking": [str(o["id"]) for o in order]}
            expected[poll["id"]] = {"ranking": [o["id"] for o in order]}
        sent = await client.post(f"/e/{SLUG}/polls/{poll['id']}/respond", data={**data, "_csrf_token": token},
                                 follow_redirects=False)
        assert sent.status_code == 303, (poll["kind"], sent.text)
    bad_rank = next(p for p in polls if p["kind"] == "ranking")
    refused = await client.post(f"/e/{SLUG}/polls/{bad_rank['id']}/respond",
                                data={"ranking": [str(bad_rank["options"][0]["id"])] * len(bad_rank["options"]),
                                      "_csrf_token": token},
                                follow_redirects=False)
    assert refused.status_code == 422 and "exakt en gång" in refused.text
    db = Database(settings)
    async with db.reader() as session:
        stored = {r.poll_id: r.answer for r in (await session.execute(select(PollResponse))).scalars()}
    await db.dispose()
    kinds = {p["id"]: p["kind"] for p in polls}
    assert {kinds[k]: v for k, v in stored.items()} == {
        "scale": {"value": 5}, "wordcloud": {"words": ["tillit"]},
        "open_text": {"text": "Ett gemensamt möte varje månad"},
        **{kinds[k]: v for k, v in expected.items()},
    }
    page = (await client.get(f"/e/{SLUG}")).text
    assert "Ändra svaret" in page  # the form shows the answer given and offers to change it


async def test_the_evaluation_works_as_a_plain_form(client, settings):
    await load_fixture(settings, "ostergotland-2021-03-23.toml")
    staff = {"Authorization": f"Bearer {await make_staff(settings, 'mod@example.se', 'moderator', SLUG)}"}
    await client.post(f"/api/v1/events/{SLUG}/evaluation/open", json={}, headers=staff)
    token = await joined_browser(client)
    page = (await client.get(f"/e/{SLUG}")).text
    form = page.split('id="evaluation"')[1].split("</section>")[0]
    assert 'name="q_aterkommande" value="yes"' in form and 'name="q_helhet" value="5"' in form
    sent = await client.post(f"/e/{SLUG}/evaluation", data={"q_helhet": "4", "q_aterkommande": "dont_know",
                                                           "q_kommentar": "", "_csrf_token": token},
                             follow_redirects=False)
    assert sent.status_code == 303
    assert "Tack för dina svar!" in (await client.get(f"/e/{SLUG}")).text.split('id="evaluation"')[1][:800]
    organiser = await make_staff(settings, "o@example.se", "organiser", SLUG)
    report = (await client.get(f"/api/v1/events/{SLUG}/results",
                               headers={"Authorization": f"Bearer {organiser}"})).json()
    helhet, recur, _comment = report["evaluation"]["questions"]
    assert helhet["distribution"][3]["count"] == 1 and recur["distribution"][2]["count"] == 1
