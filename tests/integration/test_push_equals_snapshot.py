"""Push equals snapshot, for every action, audience and language (in the style of Zulip's ``verify_action``).

Real server, real websockets. Clients hold a page's state as the browser does: the snapshot they get
on connecting, then every pushed frame applied with the frame protocol (``tests/support/livedom.py``,
the mirror of ``static/js/live.js``). After each action, once the pushes have settled, every client's
state must equal the snapshot a fresh socket of the same person, page and language gets.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.conftest import make_staff
from tests.support.liveclient import LiveClient, settle
from tests.support.livedom import LiveDocument, assert_same_dom


def _without_clock(document: LiveDocument) -> LiveDocument:
    """The minutes left in the block tick by the clock, not by an action: leave them out of the comparison."""
    for element in document.root.iter():
        if "countdown-n" in (element.get("class") or "").split():
            element.text = ""
    return document


@dataclass
class Day:
    """The served event, its people and an HTTP client."""

    base: str
    http: httpx.AsyncClient
    staff: dict[str, str]
    tokens: dict[str, str]
    ids: dict[str, int]
    state: dict[str, Any] = field(default_factory=dict)

    def as_attendee(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    async def ok(self, method: str, path: str, *, who: str = "staff", json: Any = None,
                 expect: tuple[int, ...] = (200, 201)) -> Any:
        headers = self.staff if who == "staff" else self.as_attendee(who)
        response = await self.http.request(method, self.base + path, json=json, headers=headers)
        assert response.status_code in expect, f"{method} {path}: {response.status_code} {response.text}"
        return response.json() if response.content else None


Action = Callable[[Day], Awaitable[None]]


async def ask(day: Day, who: str, text: str, key: str) -> None:
    day.state[key] = (await day.ok("POST", "/api/v1/events/regional/questions", who=who, json={"text": text}))["id"]


def moderate(key: str, action: str, **extra: Any) -> Action:
    async def act(day: Day) -> None:
        body = {"action": action, **{k: day.state[v] if k == "into_id" else v for k, v in extra.items()}}
        await day.ok("POST", f"/api/v1/questions/{day.state[key]}/moderate", json=body)
    return act


def poll_action(key: str, action: str) -> Action:
    async def act(day: Day) -> None:
        await day.ok("POST", f"/api/v1/polls/{day.state[key]}/{action}")
    return act


def create_poll(key: str, **body: Any) -> Action:
    async def act(day: Day) -> None:
        day.state[key] = (await day.ok("POST", "/api/v1/events/regional/polls", json=body))["id"]
        poll = next(p for p in await day.ok("GET", "/api/v1/events/regional/polls") if p["id"] == day.state[key])
        day.state[key + ":options"] = [o["id"] for o in poll["options"]]
    return act


def vote(key: str, who: str, answer: Callable[[list[int]], dict[str, Any]]) -> Action:
    async def act(day: Day) -> None:
        await day.ok("POST", f"/api/v1/polls/{day.state[key]}/responses", who=who,
                     json=answer(day.state[key + ":options"]))
    return act


async def delete_own_data(day: Day) -> None:
    """The attendee's own button (a form route: it needs the CSRF cookie and header, as htmx sends them)."""
    page = await day.http.get(day.base + "/e/regional", headers=day.as_attendee("C"))
    csrf = page.cookies.get("csrftoken") or day.http.cookies.get("csrftoken")
    response = await day.http.post(day.base + "/e/regional/me/delete", headers={
        **day.as_attendee("C"), "x-csrftoken": csrf or "", "cookie": f"csrftoken={csrf}"}, follow_redirects=False)
    assert response.status_code == 303, response.text


ACTIONS: list[tuple[str, Action]] = [
    ("ask (pre-moderation off)", lambda d: ask(d, "A", "Hur når vi dem som inte är digitala?", "q1")),
    ("ask by another", lambda d: ask(d, "C", "Vem betalar för plattformen?", "q2")),
    ("ask a third", lambda d: ask(d, "C", "När kommer journalen i appen?", "q3")),
    ("edit one's own question", lambda d: d.ok("PATCH", f"/api/v1/questions/{d.state['q3']}", who="C",
                                                json={"text": "När kommer journalen i appen, och för vilka?"})),
    ("ask to withdraw", lambda d: ask(d, "A", "Fel, tar tillbaka", "q6")),
    ("withdraw one's own question", lambda d: d.ok("DELETE", f"/api/v1/questions/{d.state['q6']}", who="A")),
    ("reply in writing", lambda d: d.ok("POST", f"/api/v1/questions/{d.state['q1']}/reply",
                                        json={"text": "Se bilderna från block 2."})),
    ("upvote", lambda d: d.ok("POST", f"/api/v1/questions/{d.state['q2']}/upvote", who="A")),
    ("upvote by another", lambda d: d.ok("POST", f"/api/v1/questions/{d.state['q2']}/upvote", who="B")),
    ("unvote", lambda d: d.ok("DELETE", f"/api/v1/questions/{d.state['q2']}/upvote", who="B")),
    ("settings: pre-moderation on", lambda d: d.ok("POST", "/api/v1/events/regional/settings",
                                                   json={"premoderation": True})),
    ("ask while pre-moderated", lambda d: ask(d, "A", "Hur skyddar vi patientdata?", "q4")),
    ("edit one's own waiting question", lambda d: d.ok("PATCH", f"/api/v1/questions/{d.state['q4']}", who="A",
                                                        json={"text": "Hur skyddar vi patientdata i appen?"})),
    ("approve", moderate("q4", "approve")),
    ("ask two more while pre-moderated", lambda d: _ask_two(d)),
    ("bulk approve", lambda d: d.ok("POST", "/api/v1/events/regional/questions/approve",
                                    json={"ids": [d.state["q6"], d.state["q7"]]})),
    ("hide an approved one", moderate("q7", "hide")),
    ("edit one's own approved question (back to the moderators)",
     lambda d: d.ok("PATCH", f"/api/v1/questions/{d.state['q4']}", who="A",
                    json={"text": "Hur skyddar vi patientdata i 1177-appen?"})),
    ("approve again", moderate("q4", "approve")),
    ("reply removed", lambda d: d.ok("DELETE", f"/api/v1/questions/{d.state['q1']}/reply")),
    ("highlight", moderate("q1", "highlight")),
    ("highlight another", moderate("q2", "highlight")),
    ("upvote the question on stage", lambda d: d.ok("POST", f"/api/v1/questions/{d.state['q2']}/upvote",
                                                   who="B")),
    ("unhighlight", moderate("q2", "unhighlight")),
    ("edit", moderate("q3", "edit", text="När kommer journalen i 1177-appen?")),
    ("answer", moderate("q3", "answer")),
    ("highlight an answered one", moderate("q3", "highlight")),
    ("unhighlight it", moderate("q3", "unhighlight")),
    ("merge", moderate("q4", "merge", into_id="q1")),
    ("ask to be hidden", lambda d: ask(d, "A", "Fel fråga", "q5")),
    ("hide", moderate("q5", "hide")),
    ("approve a hidden one", moderate("q7", "approve")),
    ("settings: pre-moderation off", lambda d: d.ok("POST", "/api/v1/events/regional/settings",
                                                    json={"premoderation": False})),
    ("poll: create single", create_poll("p1", kind="single", question="Var arbetar du?",
                                        options=["Region", "Kommun", "Privat"])),
    ("poll: open", poll_action("p1", "open")),
    ("vote", vote("p1", "A", lambda o: {"option_ids": [o[0]]})),
    ("vote by another", vote("p1", "B", lambda o: {"option_ids": [o[1]]})),
    ("change one's vote", vote("p1", "A", lambda o: {"option_ids": [o[2]]})),
    ("poll: create multiple (draft)", create_poll("p2", kind="multiple", question="Vilka tjänster använder ni?",
                                                  options=["1177", "Journalen", "Stöd och behandling"], max_picks=2)),
    ("poll: open the second", poll_action("p2", "open")),
    ("vote multiple", vote("p2", "B", lambda o: {"option_ids": o[:2]})),
    ("poll: close", poll_action("p1", "close")),
    ("poll: reopen after answers", poll_action("p1", "open")),
    ("poll: close again", poll_action("p1", "close")),
    ("poll: scale on reveal", create_poll("p3", kind="scale", question="Hur långt har vi kommit?", scale_min=1,
                                          scale_max=5, results="on_reveal")),
    ("poll: open scale", poll_action("p3", "open")),
    ("vote scale", vote("p3", "A", lambda o: {"value": 4})),
    ("poll: reveal", poll_action("p3", "reveal")),
    ("poll: hide results", poll_action("p3", "hide_results")),
    ("poll: word cloud", create_poll("p4", kind="wordcloud", question="Ett ord om dagen?")),
    ("poll: open word cloud", poll_action("p4", "open")),
    ("vote words", vote("p4", "B", lambda o: {"words": ["samverkan", "trygghet"]})),
    ("poll: open text", create_poll("p5", kind="open_text", question="Vad tar du med dig?")),
    ("poll: open open text", poll_action("p5", "open")),
    ("vote text", vote("p5", "A", lambda o: {"text": "Mer samverkan mellan region och kommun"})),
    ("poll: ranking", create_poll("p6", kind="ranking", question="Vad är viktigast?",
                                  options=["Tillgänglighet", "Säkerhet", "Kostnad"])),
    ("poll: open ranking", poll_action("p6", "open")),
    ("vote ranking", vote("p6", "B", lambda o: {"ranking": list(reversed(o))})),
    ("poll: reset", poll_action("p2", "reset")),
    ("chat: post", lambda d: d.ok("POST", "/api/v1/events/regional/chat", who="A", json={"text": "Hej från Motala!"})),
    ("chat: post by another", lambda d: _chat(d, "C", "Hej från Linköping!", "m2")),
    ("chat: delete", lambda d: d.ok("DELETE", f"/api/v1/chat/{d.state['m2']}")),
    ("chat: mute", lambda d: d.ok("POST", f"/api/v1/events/regional/attendees/{d.ids['B']}/mute")),
    ("settings: chat off", lambda d: d.ok("POST", "/api/v1/events/regional/settings", json={"chat_enabled": False})),
    ("settings: chat on", lambda d: d.ok("POST", "/api/v1/events/regional/settings", json={"chat_enabled": True})),
    ("announcement", lambda d: d.ok("POST", "/api/v1/events/regional/announcement", json={"text": "Paus till 10.15"})),
    ("announcement cleared", lambda d: d.ok("POST", "/api/v1/events/regional/announcement", json={"text": ""})),
    ("go live", lambda d: d.ok("POST", "/api/v1/events/regional/live", json={"block_id": d.state["blocks"][0]})),
    ("shift", lambda d: d.ok("POST", "/api/v1/events/regional/shift", json={"minutes": 10})),
    ("evaluation: open", lambda d: d.ok("POST", "/api/v1/events/regional/evaluation/open", json={"minutes": 30})),
    ("evaluation: extend", lambda d: d.ok("POST", "/api/v1/events/regional/evaluation/open", json={"minutes": 60})),
    ("evaluation: answer", lambda d: _evaluate(d, "A")),
    ("evaluation: answer by another", lambda d: _evaluate(d, "C")),
    ("attendee data deletion", delete_own_data),
    ("go live: the last block", lambda d: d.ok("POST", "/api/v1/events/regional/live",
                                               json={"block_id": d.state["blocks"][-1]})),
]


async def _ask_two(day: Day) -> None:
    await ask(day, "B", "Hur ser tidplanen ut?", "q6")
    await ask(day, "C", "Finns det en inspelning?", "q7")


async def _chat(day: Day, who: str, text: str, key: str) -> None:
    day.state[key] = (await day.ok("POST", "/api/v1/events/regional/chat", who=who, json={"text": text}))["id"]


async def _evaluate(day: Day, who: str) -> None:
    form = await day.ok("GET", "/api/v1/events/regional/evaluation")
    answers: dict[str, Any] = {}
    for question in form["questions"]:
        kind = question["kind"]
        answers[question["key"]] = (1 if kind == "scale" else "yes" if kind == "yesno" else 7 if kind == "nps"
                                    else question["labels"][0] if kind == "choice" else "Bra dag")
    await day.ok("POST", "/api/v1/events/regional/evaluation", who=who, json={"answers": answers})


def _clients(day: Day, ws: str) -> list[LiveClient]:
    clients = []
    for language in ("sv", "en"):
        for who in ("A", "B"):
            clients.append(LiveClient(f"attendee {who} ({language})",
                                  f"{ws}/e/regional/ws?token={day.tokens[who]}&lang={language}", {}))
        clients.append(LiveClient(f"control panel ({language})", f"{ws}/e/regional/ws?view=control&lang={language}",
                              day.staff))
        clients.append(LiveClient(f"attendee page of staff ({language})", f"{ws}/e/regional/ws?lang={language}",
                              day.staff))
        clients.append(LiveClient(f"presenter screen ({language})", f"{ws}/e/regional/ws?view=screen&lang={language}",
                              {}))
        clients.append(LiveClient(f"overlay ({language})", f"{ws}/e/regional/ws?view=overlay&lang={language}", {}))
    return clients


async def test_every_action_pushes_what_a_fresh_snapshot_shows_to_every_audience_and_language(served):
    staff_token = await make_staff(served.settings, "mod@example.se", "organiser", "regional")
    async with httpx.AsyncClient(timeout=10) as http:
        tokens, ids = {}, {}
        for who in "ABC":
            joined = (await http.post(f"{served.base_url}/api/v1/events/regional/join", json={})).json()
            tokens[who], ids[who] = joined["attendee_token"], joined["attendee_id"]
        day = Day(served.base_url, http, {"Authorization": f"Bearer {staff_token}"}, tokens, ids)
        event = await day.ok("GET", "/api/v1/events/regional")
        day.state["blocks"] = [b["id"] for b in event["blocks"]]
        clients = _clients(day, served.ws_url)
        for client in clients:
            await client.start()
        try:
            for name, action in ACTIONS:
                await action(day)
                await settle(clients)
                for client in clients:
                    assert not client.failures, f"{client.name} after {name!r}: {client.failures}"
                    fresh = _without_clock(await client.fresh())
                    assert_same_dom(_without_clock(client.document), fresh, f"{client.name} after {name!r}")
        finally:
            for client in clients:
                await client.stop()
