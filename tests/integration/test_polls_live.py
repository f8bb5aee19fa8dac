"""Polls over the real server and its websockets: what each action pushes, to whom, and that a page kept
current by the pushes equals a fresh snapshot, for every audience and language.

Each socket's page is simulated with tests/support/livedom.py (the frame protocol of static/js/live.js):
the snapshot it got first, then every frame it received. After each action, a fresh socket of the same
viewer gets a new snapshot, and the polls part of both pages must be the same DOM.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from dataclasses import dataclass, field, replace

import httpx
import lxml.html
import pytest
import websockets

from tests.conftest import load_fixture, make_staff, run_sync, start_server, stop_server
from tests.support.livedom import LiveDocument, assert_same_dom

SLUG = "ostergotland-2021-03-23"
#: How long no frame may arrive before the pushes of an action count as done (results go out every 250 ms).
QUIET = 0.9


@pytest.fixture
def day(settings, tmp_path):
    settings = replace(settings, vote_limit=1000)
    run_sync(load_fixture(settings, "ostergotland-2021-03-23.toml"))
    staff = run_sync(make_staff(settings, "mod@example.se", "moderator", SLUG))
    server = start_server(settings, tmp_path / "server.log")
    try:
        yield server, {"Authorization": f"Bearer {staff}"}
    finally:
        stop_server(server)


@dataclass
class Viewer:
    """One page: which socket it opens, and which part of it is the polls'."""

    name: str
    query: str
    part: str
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Page:
    """A socket and the page it keeps current."""

    viewer: Viewer
    ws: websockets.ClientConnection
    doc: LiveDocument
    frames: list[str] = field(default_factory=list)
    #: Frames since the last look (for the per-action checks).
    recent: list[str] = field(default_factory=list)
    task: asyncio.Task | None = None

    async def pump(self) -> None:
        async for frame in self.ws:
            self.frames.append(frame)
            self.recent.append(frame)
            self.doc.apply(frame)

    def take(self) -> str:
        """The frames since the last call, joined."""
        text, self.recent = "".join(self.recent), []
        return text


async def connect(server, viewer: Viewer) -> tuple[websockets.ClientConnection, str]:
    ws = await websockets.connect(f"{server.ws_url}/e/{SLUG}/ws?{viewer.query}", additional_headers=viewer.headers,
                                  max_size=None)
    snapshot = await asyncio.wait_for(ws.recv(), 10)
    return ws, snapshot


async def open_page(server, viewer: Viewer) -> Page:
    ws, snapshot = await connect(server, viewer)
    page = Page(viewer, ws, LiveDocument(snapshot))
    page.task = asyncio.create_task(page.pump())
    return page


def part(doc: LiveDocument, ident: str) -> LiveDocument:
    element = doc.element(ident)
    assert element is not None, f"#{ident} is not on the page"
    return LiveDocument(lxml.html.tostring(element, encoding="unicode"))


async def settle(pages: list[Page]) -> None:
    """Wait until no socket received a frame for QUIET seconds."""
    while True:
        before = sum(len(p.frames) for p in pages)
        await asyncio.sleep(QUIET)
        if sum(len(p.frames) for p in pages) == before:
            return


async def same_as_fresh(server, pages: list[Page], action: str) -> None:
    """Every compared page equals a fresh snapshot of the same viewer (the polls part)."""
    for page in pages:
        ws, snapshot = await connect(server, page.viewer)
        await ws.close()
        assert_same_dom(part(page.doc, page.viewer.part), part(LiveDocument(snapshot), page.viewer.part),
                        f"{action}: {page.viewer.name}")


class Day:
    """The server, its clients, the pages that watch, and the actions."""

    def __init__(self, server, staff: dict[str, str], http: httpx.AsyncClient, csrf: dict[str, str]) -> None:
        self.server = server
        self.staff = staff
        self.http = http
        self.csrf = csrf
        self.pages: list[Page] = []
        self.polls: dict[str, dict] = {}

    async def refresh_polls(self) -> None:
        listed = (await self.http.get(f"/api/v1/events/{SLUG}/polls")).json()
        self.polls = {p["kind"]: p for p in listed}

    async def act(self, name: str, request) -> httpx.Response:
        """Do an action, let its pushes arrive, and compare every page with a fresh snapshot."""
        for page in self.pages:
            page.take()
        response = await request
        assert response.status_code < 400, (name, response.status_code, response.text)
        await settle(self.pages)
        await same_as_fresh(self.server, self.pages, name)
        return response

    def staff_post(self, path: str, **kwargs):
        return self.http.post(path, headers={**self.staff, **self.csrf}, **kwargs)


@contextlib.asynccontextmanager
async def watched(server, staff):
    async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as http:
        await http.get("/login")  # a CSRF cookie, as a browser has, for the control panel's forms
        csrf = {"X-CSRFToken": http.cookies.get("csrftoken")}
        day = Day(server, staff, http, csrf)
        await day.refresh_polls()
        day.tokens = {}
        for who in ("a", "b", "c"):
            day.tokens[who] = (await http.post(f"/api/v1/events/{SLUG}/join", json={})).json()["attendee_token"]
        viewers = []
        for language in ("sv", "en"):
            viewers += [
                Viewer(f"attendee a ({language})", f"token={day.tokens['a']}&lang={language}", "polls"),
                Viewer(f"attendee b ({language})", f"token={day.tokens['b']}&lang={language}", "polls"),
                Viewer(f"attendee c ({language})", f"token={day.tokens['c']}&lang={language}", "polls"),
                Viewer(f"control panel ({language})", f"view=control&lang={language}", "mod-polls", staff),
                Viewer(f"presenter screen ({language})", f"view=screen&lang={language}", "screen-main"),
            ]
        day.pages = [await open_page(server, viewer) for viewer in viewers]
        try:
            yield day
        finally:
            for page in day.pages:
                page.task.cancel()
                await page.ws.close()


def by_name(day: Day, name: str) -> Page:
    return next(p for p in day.pages if p.viewer.name == name)


def answer_for(poll: dict, pick: int = 0) -> dict:
    """A valid answer to ``poll`` (``pick`` varies it)."""
    options = [o["id"] for o in poll["options"]]
    kind = poll["kind"]
    if kind == "single":
        return {"option_ids": [options[pick % len(options)]]}
    if kind == "multiple":
        return {"option_ids": options[: 1 + pick % 2]}
    if kind == "scale":
        return {"value": 1 + pick % 5}
    if kind == "wordcloud":
        return {"words": ["Tillit", "samverkan"][: 1 + pick % 2]}
    if kind == "open_text":
        return {"text": f"Vi börjar med ett gemensamt möte ({pick})"}
    return {"ranking": options[pick % len(options):] + options[: pick % len(options)]}


async def test_every_poll_action_pushes_only_what_changed_and_pages_stay_equal_to_a_fresh_snapshot(day):
    server, staff = day
    async with watched(server, staff) as d:
        a_sv, b_sv, c_sv = (by_name(d, f"attendee {who} (sv)") for who in "abc")
        control, screen = by_name(d, "control panel (sv)"), by_name(d, "presenter screen (en)")
        bearer = {k: {"Authorization": f"Bearer {t}"} for k, t in d.tokens.items()}

        # A draft: moderators see it at once; attendees and the screen get nothing.
        created = await d.act("create a draft", d.staff_post(f"/api/v1/events/{SLUG}/polls", json={
            "kind": "multiple", "question": "Vad behöver ni mest?", "options": ["Tid", "Pengar", "Kunskap"],
            "max_picks": 2, "results": "on_reveal"}))
        await d.refresh_polls()
        multiple = d.polls["multiple"]
        assert created.json() == {"id": multiple["id"]}
        assert f'id="mp-{multiple["id"]}"' in control.take()
        assert "<article" not in a_sv.take() and screen.take() == ""  # at most the (idle) removal of the draft

        # Opening a poll: one article to attendees, the control panel's item, the screen; said once.
        single = d.polls["single"]
        await d.act("open the single-choice poll", d.staff_post(f"/api/v1/polls/{single['id']}/open"))
        pushed = b_sv.take()
        assert f'id="poll-{single["id"]}"' in pushed and 'name="option_ids"' in pushed
        assert re.findall(r'<article id="poll-(\d+)"', pushed) == [str(single["id"])]
        assert 'id="live-announcer"' in pushed
        assert 'id="live-announcer"' in screen.take()

        # A vote: the voter's own form and line reach the voter alone; the results reach everyone.
        vote = await d.act("a votes", d.http.post(f"/api/v1/polls/{single['id']}/responses",
                                                  json=answer_for(single, 1), headers=bearer["a"]))
        assert vote.status_code == 201 and vote.json() == {"poll_id": single["id"], "replaced": False}
        mine, theirs = a_sv.take(), b_sv.take()
        assert f'id="poll-{single["id"]}-mine"' in mine and "Ändra svaret" in mine and "checked" in mine
        assert f'id="poll-{single["id"]}-mine"' not in theirs and "Ändra svaret" not in theirs
        assert f'id="poll-{single["id"]}-results"' in theirs
        assert "<article" not in theirs  # the results, not the poll
        assert f'id="poll-{single["id"]}-results-staff"' in control.take()
        assert f'id="poll-{single["id"]}-results-screen"' in screen.take()
        again = await d.act("a changes the vote", d.http.post(
            f"/api/v1/polls/{single['id']}/responses", json=answer_for(single, 2), headers=bearer["a"]))
        assert again.status_code == 200 and again.json()["replaced"] is True

        # B is half-way through the open-text poll when the moderators act on other polls.
        text = d.polls["open_text"]
        await d.act("open the open-text poll", d.staff_post(f"/api/v1/polls/{text['id']}/open"))
        b_sv_typing = LiveDocument(b_sv.doc.html())  # b's page, with what b typed (not in any snapshot)
        textarea = b_sv_typing.element(f"poll-{text['id']}-text")
        assert textarea is not None and textarea.getparent().get("data-keep") is not None
        textarea.text = "Halvskrivet svar"
        seen = len(b_sv.frames)

        await d.act("a answers the open-text poll", d.http.post(
            f"/api/v1/polls/{text['id']}/responses", json=answer_for(text), headers=bearer["a"]))
        queued = control.take()
        assert f'id="mp-{text["id"]}-wall"' in queued and "Vi börjar med ett gemensamt möte" in queued
        response_id = int(re.search(r'id="mpw-(\d+)"', queued).group(1))
        assert "Vi börjar med ett gemensamt möte" not in b_sv.take()  # not on the wall before approval

        await d.act("approve a wall answer", d.staff_post(
            f"/e/{SLUG}/control/polls/{text['id']}/wall/{response_id}", data={"approve": "1"}))
        assert "Vi börjar med ett gemensamt möte" in b_sv.take()
        assert f'id="mpw-{response_id}"' not in control.take().split(f'id="mp-{text["id"]}-wall"')[1]

        await d.act("create another draft", d.staff_post(f"/e/{SLUG}/control/polls", data={
            "kind": "single", "question": "Ja eller nej?", "options": "Ja\r\nNej\r\n"}))
        await d.act("open the multiple-choice poll", d.staff_post(f"/api/v1/polls/{multiple['id']}/open"))
        await d.act("a votes on it", d.http.post(f"/api/v1/polls/{multiple['id']}/responses",
                                                 json=answer_for(multiple, 1), headers=bearer["a"]))
        hidden = b_sv.take()
        assert f'id="poll-{multiple["id"]}-results"' not in hidden  # hidden results do not change with votes
        await d.act("reveal its results", d.staff_post(f"/api/v1/polls/{multiple['id']}/reveal"))
        assert f'id="poll-{multiple["id"]}-results"' in b_sv.take()
        await d.act("b votes on the single-choice poll", d.http.post(
            f"/api/v1/polls/{single['id']}/responses", json=answer_for(single, 0), headers=bearer["b"]))
        await d.act("close the single-choice poll", d.staff_post(f"/api/v1/polls/{single['id']}/close"))
        await d.act("close the multiple-choice poll", d.staff_post(f"/api/v1/polls/{multiple['id']}/close"))
        moved = b_sv.take()
        assert f'id="poll-{single["id"]}" data-swap="remove"' in moved  # the latest closed poll only
        await d.act("reopen the single-choice poll", d.staff_post(f"/api/v1/polls/{single['id']}/open"))
        for voter in (a_sv, b_sv):  # their own answer is back in the form, not an empty one
            assert "Ändra svaret" in voter.take()
        public = c_sv.take()
        assert f'id="poll-{single["id"]}"' in public and "Skicka svaret" in public and "checked" not in public
        await d.act("hide the results again", d.staff_post(f"/api/v1/polls/{multiple['id']}/hide_results"))
        assert f'id="poll-{multiple["id"]}" data-swap="remove"' in c_sv.take()
        await d.act("reveal them once more", d.staff_post(f"/api/v1/polls/{multiple['id']}/reveal"))
        back = a_sv.take()  # the closed poll is back on the page, with a's "you have answered"
        assert f'<article id="poll-{multiple["id"]}"' in back and f'id="poll-{multiple["id"]}-mine"' in back
        await d.act("reset the multiple-choice poll", d.staff_post(f"/api/v1/polls/{multiple['id']}/reset"))

        # The other kinds, answered with the attendee page's own forms (the same Struct as the API).
        for kind in ("scale", "wordcloud", "ranking"):
            poll = d.polls[kind]
            await d.act(f"open the {kind} poll", d.staff_post(f"/e/{SLUG}/control/polls/{poll['id']}/open"))
            answer = answer_for(poll, 1)
            form = {name: [str(v) for v in values] if isinstance(values, list) else str(values)
                    for name, values in answer.items()}
            sent = await d.act(f"a answers the {kind} poll with the form", d.http.post(
                f"/e/{SLUG}/polls/{poll['id']}/respond", data=form, headers={**bearer["a"], **d.csrf},
                follow_redirects=False))
            assert sent.status_code == 303

        # What b was typing survived every push of the other polls and of this one.
        for frame in b_sv.frames[seen:]:
            b_sv_typing.apply(frame)
        assert b_sv_typing.element(f"poll-{text['id']}-text").text == "Halvskrivet svar"


async def test_an_untouched_ranking_form_is_refused_and_a_form_in_order_is_stored(day):
    server, staff = day
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        await http.get("/login")
        csrf = {"X-CSRFToken": http.cookies.get("csrftoken")}
        ranking = next(p for p in (await http.get(f"/api/v1/events/{SLUG}/polls")).json() if p["kind"] == "ranking")
        await http.post(f"/api/v1/polls/{ranking['id']}/open", headers=staff)
        token = (await http.post(f"/api/v1/events/{SLUG}/join", json={})).json()["attendee_token"]
        me = {"Authorization": f"Bearer {token}", **csrf}
        options = [o["id"] for o in ranking["options"]]
        untouched = await http.post(f"/e/{SLUG}/polls/{ranking['id']}/respond",
                                    data={"ranking": [""] * len(options)}, headers={**me, "HX-Request": "true"})
        assert untouched.status_code == 422 and "exakt en gång" in untouched.text
        twice = await http.post(f"/e/{SLUG}/polls/{ranking['id']}/respond",
                                data={"ranking": [str(options[0])] * len(options)}, headers=me)
        assert twice.status_code == 422
        order = list(reversed(options))
        sent = await http.post(f"/e/{SLUG}/polls/{ranking['id']}/respond",
                               data={"ranking": [str(o) for o in order]}, headers=me, follow_redirects=False)
        assert sent.status_code == 303 and sent.headers["location"] == f"/e/{SLUG}#poll-{ranking['id']}"
        async with websockets.connect(f"{server.ws_url}/e/{SLUG}/ws?token={token}&lang=en") as ws:
            page = LiveDocument(await asyncio.wait_for(ws.recv(), 10))
        for place, option in enumerate(order, start=1):
            select = page.element(f"poll-{ranking['id']}-r{place}")
            chosen = [o.get("value") for o in select.iter("option") if o.get("selected") is not None]
            assert chosen == [str(option)]


async def test_a_vote_pushes_the_same_bytes_however_many_polls_are_open(day):
    server, staff = day
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        polls = {p["kind"]: p for p in (await http.get(f"/api/v1/events/{SLUG}/polls")).json()}
        single = polls["single"]
        await http.post(f"/api/v1/polls/{single['id']}/open", headers=staff)
        voters = [(await http.post(f"/api/v1/events/{SLUG}/join", json={})).json()["attendee_token"]
                  for _ in range(3)]
        watcher = (await http.post(f"/api/v1/events/{SLUG}/join", json={})).json()["attendee_token"]
        async with websockets.connect(f"{server.ws_url}/e/{SLUG}/ws?token={watcher}") as ws:
            await asyncio.wait_for(ws.recv(), 10)
            with contextlib.suppress(TimeoutError):  # the opening's own push may reach the socket after its snapshot
                while True:
                    await asyncio.wait_for(ws.recv(), QUIET)

            async def pushed_by_a_vote(token: str) -> list[str]:
                await http.post(f"/api/v1/polls/{single['id']}/responses", json={
                    "option_ids": [single["options"][0]["id"]]}, headers={"Authorization": f"Bearer {token}"})
                frames = []
                with contextlib.suppress(TimeoutError):
                    while True:
                        frames.append(await asyncio.wait_for(ws.recv(), QUIET))
                return [f for f in frames if "poll-" in f]  # the programme's clock may tick meanwhile

            first = await pushed_by_a_vote(voters[0])
            await http.post(f"/api/v1/polls/{polls['scale']['id']}/open", headers=staff)
            for kind in ("wordcloud", "ranking", "open_text"):
                await http.post(f"/api/v1/polls/{polls[kind]['id']}/open", headers=staff)
            with contextlib.suppress(TimeoutError):
                while True:
                    await asyncio.wait_for(ws.recv(), QUIET)
            second = await pushed_by_a_vote(voters[1])
            assert len(first) == len(second) == 1
            assert len(first[0]) == len(second[0])  # "1 svar" and "2 svar": the same length
            assert re.findall(r'id="(poll-[^"]+)"', second[0]) == [f"poll-{single['id']}-results"]
