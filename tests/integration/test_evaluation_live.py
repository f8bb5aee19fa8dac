"""The evaluation live, over the real server: opening, extending and answering push what a fresh snapshot shows
(per audience and language); opening is announced; the answers being given survive an extension; an answer's
thanks reach its attendee alone, and the moderators' count of responses follows every answer."""

from __future__ import annotations

import httpx

from tests.conftest import load_fixture, make_staff
from tests.integration.test_chat_live import People, assert_like_fresh, clients_for
from tests.support.liveclient import LiveClient, settle
from tests.support.livedom import LiveDocument

SLUG = "ostergotland-2021-03-23"
PARTS = ("evaluation", "mod-evaluation")


async def test_opening_extending_and_answering_push_what_a_fresh_snapshot_shows(served):
    await load_fixture(served.settings, f"{SLUG}.toml")
    staff = await make_staff(served.settings, "mod@example.se", "moderator", SLUG)
    async with httpx.AsyncClient(timeout=10) as http:
        people = People(served.base_url, http, {"Authorization": f"Bearer {staff}"})
        for who in "ABC":
            await people.join(who, SLUG)
        clients = [await c.start() for c in clients_for(people, served.ws_url, ("A", "B"), SLUG)]
        by_name: dict[str, LiveClient] = {c.name: c for c in clients}
        answers = {"helhet": 4, "aterkommande": "yes", "kommentar": "Bra dag"}
        typed: LiveDocument | None = None
        try:
            await assert_like_fresh(clients, PARTS, "nothing (closed)")
            assert by_name["attendee A (sv)"].document.element("evaluation-form") is None

            # opened by a moderator: the form arrives and attendees are told, in their language
            await people.ok("POST", f"/api/v1/events/{SLUG}/evaluation/open", json={"minutes": 30})
            await settle(clients)
            frames = {c.name: "".join(c.take()) for c in clients}
            await assert_like_fresh(clients, PARTS, "open")
            assert "The evaluation is open until" in frames["attendee B (en)"]
            assert 'id="live-announcer"' in frames["attendee A (sv)"]
            assert 'name="q_helhet"' in frames["attendee A (sv)"]
            assert 'id="mod-eval-status"' in frames["control panel (en)"]
            assert "0 responses" in frames["control panel (en)"]
            assert 'id="mod-eval-open"' not in frames["control panel (en)"]  # the "open now" form is never pushed

            # B starts answering (a radio chosen): their page keeps it through everything below
            page_b = by_name["attendee B (sv)"].document
            typed = LiveDocument(page_b.html())
            typed.element("eval-helhet-5").set("checked", "checked")

            # A answers: thanks to A alone; the moderators' count follows
            await people.ok("POST", f"/api/v1/events/{SLUG}/evaluation", who="A", json={"answers": answers})
            await settle(clients)
            frames = {c.name: c.take() for c in clients}
            await assert_like_fresh(clients, PARTS, "an answer")
            thanks = "".join(frames["attendee A (sv)"])
            assert "Tack för dina svar!" in thanks and 'id="live-announcer"' in thanks
            assert 'id="evaluation-form"' not in thanks and len(thanks) < 600
            for name in ("attendee B (sv)", "attendee B (en)", "attendee page of staff (sv)"):
                assert frames[name] == [], name
            status = "".join(frames["control panel (en)"])
            assert "1 response" in status and len(status) < 300  # the status line alone
            for frame in frames["attendee B (sv)"]:
                typed.apply(frame)

            # extended by a moderator: the window moves, the form keeps B's answer, A keeps the thanks
            await people.ok("POST", f"/api/v1/events/{SLUG}/evaluation/open", json={"minutes": 60})
            await settle(clients)
            frames = {c.name: c.take() for c in clients}
            await assert_like_fresh(clients, PARTS, "an extension")
            for frame in frames["attendee B (sv)"]:
                typed.apply(frame)
            assert any('id="evaluation-status"' in f for f in frames["attendee B (sv)"])
            assert typed.element("eval-helhet-5").get("checked") == "checked"
            assert "Tack för dina svar!" in by_name["attendee A (sv)"].document.element("evaluation").text_content()

            # somebody without a socket answers: only the count moves
            await people.ok("POST", f"/api/v1/events/{SLUG}/evaluation", who="C", json={"answers": answers})
            await settle(clients)
            frames = {c.name: c.take() for c in clients}
            await assert_like_fresh(clients, PARTS, "another answer")
            assert "2 responses" in "".join(frames["control panel (en)"])
            assert all(frames[c.name] == [] for c in clients if c.name.startswith("attendee"))
        finally:
            for client in clients:
                await client.stop()
