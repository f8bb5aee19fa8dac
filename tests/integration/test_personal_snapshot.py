"""A socket's snapshot for an attendee with something of their own is the shared snapshot followed by their own
fragments (cheap in a reconnect storm); it must show exactly what the page rendered for that attendee shows."""

from __future__ import annotations

from litestar.testing import AsyncTestClient

from ehalsodag.app import create_app
from ehalsodag.fragments import Audience, Viewer
from tests.conftest import load_fixture, make_staff
from tests.support.livedom import LiveDocument, assert_same_dom

SLUG = "ostergotland-2021-03-23"


async def test_shared_snapshot_plus_own_fragments_equals_the_attendees_whole_snapshot(settings):
    await load_fixture(settings, "ostergotland-2021-03-23.toml")
    staff = {"Authorization": f"Bearer {await make_staff(settings, 'mod@example.se', 'organiser', SLUG)}"}
    app = create_app(settings)
    async with AsyncTestClient(app=app, base_url="http://testserver.local") as client:
        people = {}
        for who in ("asker", "voter", "quiet"):
            joined = (await client.post(f"/api/v1/events/{SLUG}/join", json={})).json()
            people[who] = (joined["attendee_id"], {"Authorization": f"Bearer {joined['attendee_token']}"})
        asker, voter = people["asker"][1], people["voter"][1]

        async def ok(method, path, headers, json=None):
            response = await client.request(method, f"/api/v1{path}", headers=headers, json=json)
            assert response.status_code in (200, 201), (path, response.text)
            return response.json()

        first = await ok("POST", f"/events/{SLUG}/questions", asker, {"text": "Vem äger datan?"})
        await ok("POST", f"/questions/{first['id']}/upvote", voter)
        await ok("POST", f"/events/{SLUG}/settings", staff, {"premoderation": True})
        await ok("POST", f"/events/{SLUG}/questions", asker, {"text": "Väntar på en moderator"})
        polls = await ok("GET", f"/events/{SLUG}/polls", staff)
        answers = {"single": lambda p: {"option_ids": [p["options"][0]["id"]]},
                   "scale": lambda p: {"value": p["scale_min"] or 1},
                   "wordcloud": lambda p: {"words": ["tillit"]}, "open_text": lambda p: {"text": "Samverkan"},
                   "ranking": lambda p: {"ranking": [o["id"] for o in p["options"]]},
                   "multiple": lambda p: {"option_ids": [p["options"][0]["id"]]}}
        for poll in polls:
            await ok("POST", f"/polls/{poll['id']}/open", staff)
            await ok("POST", f"/polls/{poll['id']}/responses", voter, answers[poll["kind"]](poll))
        await ok("POST", f"/polls/{polls[0]['id']}/close", staff)  # a closed poll the voter answered
        await ok("POST", f"/events/{SLUG}/evaluation/open", staff)
        form = await ok("GET", f"/events/{SLUG}/evaluation", voter)
        await ok("POST", f"/events/{SLUG}/evaluation", voter, {"answers": {
            q["key"]: 1 if q["kind"] == "scale" else "yes" if q["kind"] == "yesno" else 5 if q["kind"] == "nps"
            else q["labels"][0] if q["kind"] == "choice" else "Bra" for q in form["questions"]}})
        await ok("POST", f"/events/{SLUG}/attendees/{people['asker'][0]}/mute", staff)

        snapshots = app.state.snapshots
        event_id = await app.state.event_ids.id_of(SLUG)
        for who, (attendee_id, _headers) in people.items():
            for language in ("sv", "en"):
                viewer = Viewer(Audience.ATTENDEE, attendee_id)
                socket = await snapshots.for_socket(event_id, viewer, language, 0)
                async with app.state.db.reader() as session:
                    event = await snapshots.load_event(session, event_id)
                    whole = snapshots.renderer.joined(await snapshots.fragments(session, event, viewer), language)
                assert_same_dom(LiveDocument(socket), LiveDocument(whole), f"{who} ({language})")
                if who != "quiet":
                    assert len(socket) > len(await snapshots.for_socket(event_id, Viewer(Audience.ATTENDEE),
                                                                        language, 0))
