"""The chat live, over the real server: every chat action pushes what a fresh snapshot shows (per audience and
language), a posted message is pushed alone whatever the length of the chat, the moderators' list stays the
newest 50 through posts and deletions, switching pre-moderation leaves a half-typed message alone, and being
muted is told to the muted attendee only."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.conftest import make_staff
from tests.support.liveclient import LiveClient, part, settle
from tests.support.livedom import assert_same_dom

SLUG = "regional"
#: What the chat shows: the attendee page's log and form area, the control panel's section.
CHAT_PARTS = ("chat-log", "chat-form-area", "mod-chat")


async def assert_like_fresh(clients: list[LiveClient], ids: tuple[str, ...], after: str) -> None:
    """Every client's part of the page equals the same part of a fresh snapshot."""
    for client in clients:
        assert client.document is not None
        assert_same_dom(part(client.document, ids), part(await client.fresh(), ids), f"{client.name} after {after}")


@dataclass
class People:
    """Attendees (token and id by name) and a moderator, on one event of the served app."""

    base: str
    http: httpx.AsyncClient
    staff: dict[str, str]
    tokens: dict[str, str] = field(default_factory=dict)
    ids: dict[str, int] = field(default_factory=dict)

    async def join(self, who: str, slug: str = SLUG) -> None:
        joined = (await self.http.post(f"{self.base}/api/v1/events/{slug}/join", json={"display_name": who})).json()
        self.tokens[who], self.ids[who] = joined["attendee_token"], joined["attendee_id"]

    def attendee(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    async def ok(self, method: str, path: str, *, who: str = "staff", json: Any = None) -> Any:
        headers = self.staff if who == "staff" else self.attendee(who)
        response = await self.http.request(method, self.base + path, json=json, headers=headers)
        assert response.status_code in (200, 201), f"{method} {path}: {response.status_code} {response.text}"
        return response.json()

    async def chat(self, who: str, text: str, slug: str = SLUG) -> int:
        return (await self.ok("POST", f"/api/v1/events/{slug}/chat", who=who, json={"text": text}))["id"]


def clients_for(people: People, ws: str, attendees: tuple[str, ...], slug: str = SLUG) -> list[LiveClient]:
    """The attendee page of each attendee, the control panel and the attendee page of staff, in both languages."""
    clients = []
    for language in ("sv", "en"):
        for who in attendees:
            clients.append(LiveClient(f"attendee {who} ({language})",
                                      f"{ws}/e/{slug}/ws?token={people.tokens[who]}&lang={language}"))
        clients.append(LiveClient(f"control panel ({language})", f"{ws}/e/{slug}/ws?view=control&lang={language}",
                                  people.staff))
        clients.append(LiveClient(f"attendee page of staff ({language})", f"{ws}/e/{slug}/ws?lang={language}",
                                  people.staff))
    return clients


async def test_every_chat_action_pushes_what_a_fresh_snapshot_shows(served):
    staff = await make_staff(served.settings, "mod@example.se", "moderator", SLUG)
    async with httpx.AsyncClient(timeout=10) as http:
        people = People(served.base_url, http, {"Authorization": f"Bearer {staff}"})
        for who in "ABC":
            await people.join(who)
        clients = [await c.start() for c in clients_for(people, served.ws_url, ("A", "B"))]
        by_name = {c.name: c for c in clients}
        state: dict[str, int] = {}

        async def post(who: str, text: str, key: str) -> None:
            state[key] = await people.chat(who, text)

        actions = [
            ("post", lambda: post("A", "Hej från Motala!", "m1")),
            ("post by another", lambda: post("C", "Hej från Linköping!", "m2")),
            ("post a third", lambda: post("B", "Hörs ljudet?", "m3")),
            ("delete", lambda: people.ok("DELETE", f"/api/v1/chat/{state['m2']}")),
            ("mute", lambda: people.ok("POST", f"/api/v1/events/{SLUG}/attendees/{people.ids['B']}/mute")),
            ("pre-moderation on", lambda: people.ok("POST", f"/api/v1/events/{SLUG}/settings",
                                                    json={"premoderation": True})),
            ("chat off", lambda: people.ok("POST", f"/api/v1/events/{SLUG}/settings", json={"chat_enabled": False})),
            ("chat on", lambda: people.ok("POST", f"/api/v1/events/{SLUG}/settings", json={"chat_enabled": True})),
            ("post after", lambda: post("A", "Nu igen", "m4")),
            ("pre-moderation off", lambda: people.ok("POST", f"/api/v1/events/{SLUG}/settings",
                                                     json={"premoderation": False})),
        ]
        try:
            for name, action in actions:
                for client in clients:
                    client.take()
                await action()
                await settle(clients)
                frames = {c.name: "".join(c.take()) for c in clients}
                await assert_like_fresh(clients, CHAT_PARTS, repr(name))
                if name.startswith("pre-moderation"):  # the chat form (and what is typed in it) is left alone
                    assert not any('id="chat-form-area"' in f for f in frames.values()), name
                    assert 'id="mod-settings"' in frames["control panel (sv)"]
            # the muted attendee alone was told, in their language
            page_b = by_name["attendee B (en)"].document
            assert page_b is not None and "muted you" in page_b.element("chat-form-area").text_content()
            page_a = by_name["attendee A (sv)"].document
            assert page_a is not None and page_a.element("chat-form") is not None
            panel = by_name["control panel (sv)"].document
            assert panel is not None and panel.element(f"mc-{state['m3']}-mute").tag == "span"  # "muted"
            assert panel.element(f"mc-{state['m2']}") is None
        finally:
            for client in clients:
                await client.stop()


async def test_a_message_is_pushed_alone_whatever_the_length_of_the_chat(served):
    staff = await make_staff(served.settings, "mod@example.se", "moderator", SLUG)
    async with httpx.AsyncClient(timeout=10) as http:
        people = People(served.base_url, http, {"Authorization": f"Bearer {staff}"})
        names = [f"P{i}" for i in range(13)]  # 5 messages per attendee and 10 s: enough of them for 60
        for who in names:
            await people.join(who)
        clients = [await c.start() for c in clients_for(people, served.ws_url, ("P0",))]
        attendee, panel = clients[0], clients[1]
        sizes: dict[int, tuple[int, int]] = {}
        sent: list[int] = []
        try:
            for i in range(60):
                measured = i in (2, 58)
                if measured:  # the pushes of the messages before have all arrived
                    await settle(clients)
                    attendee.take()
                    panel.take()
                sent.append(await people.chat(names[i // 5], f"Meddelande {i:03d}"))
                if measured:
                    await settle(clients)
                    to_attendee, to_panel = "".join(attendee.take()), "".join(panel.take())
                    assert to_attendee.count('class="chat-message"') == 1 and to_panel.count("<li ") == 1
                    for frame in (to_attendee, to_panel):  # that message, and no other
                        assert set(re.findall(r"Meddelande \d{3}", frame)) == {f"Meddelande {i:03d}"}
                    sizes[i] = (len(to_attendee), len(to_panel))
            # the same bytes after 3 messages as after 59, but for a longer id (and, on the panel, the removal
            # of the message that falls out of the newest 50)
            assert abs(sizes[58][0] - sizes[2][0]) <= 4
            assert sizes[58][1] - sizes[2][1] <= 80
            await settle(clients)
            await assert_like_fresh(clients, ("mod-chat",), "60 messages")
            await assert_like_fresh(clients[:1], ("chat-log",), "60 messages")
            # deleting one of the newest brings the 51st newest back into the moderators' list
            await people.ok("DELETE", f"/api/v1/chat/{sent[-3]}")
            await settle(clients)
            await assert_like_fresh(clients, ("mod-chat",), "a deletion beyond 50")
            panel_doc = panel.document
            assert panel_doc is not None
            listed = [li.get("id") for li in panel_doc.element("mod-chat-list")]
            assert len(listed) == 50 and listed[0] == f"mc-{sent[-1]}" and listed[-1] == f"mc-{sent[-51]}"
        finally:
            for client in clients:
                await client.stop()


async def test_being_muted_is_told_to_the_muted_attendee_alone(served):
    staff = await make_staff(served.settings, "mod@example.se", "moderator", SLUG)
    async with httpx.AsyncClient(timeout=10) as http:
        people = People(served.base_url, http, {"Authorization": f"Bearer {staff}"})
        for who in "AB":
            await people.join(who)
        await people.chat("B", "Reklam!")
        await asyncio.sleep(0.5)  # the message's own push goes out (after the answer) before the pages open
        clients = [await c.start() for c in clients_for(people, served.ws_url, ("A", "B"))]
        by_name = {c.name: c for c in clients}
        try:
            await people.ok("POST", f"/api/v1/events/{SLUG}/attendees/{people.ids['B']}/mute")
            await settle(clients)
            told = "".join(by_name["attendee B (sv)"].take())
            assert 'id="live-announcer"' in told and "chat-form-area" in told
            assert "pausat dina frågor" in told or "muted you" in told
            assert 'id="chat-form"' not in told
            for name in ("attendee A (sv)", "attendee A (en)", "attendee page of staff (sv)"):
                assert by_name[name].take() == [], name  # nothing for anybody else's page
            assert "mc-" in "".join(by_name["control panel (sv)"].take())  # "muted" on B's message
            refused = await http.post(f"{served.base_url}/api/v1/events/{SLUG}/chat", json={"text": "Hallå?"},
                                      headers=people.attendee("B"))
            assert refused.status_code == 403
        finally:
            for client in clients:
                await client.stop()
