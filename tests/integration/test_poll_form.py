"""Issue 18, the cockpit's New poll card over real HTTP (one served app for the module): a form that keeps only the
chosen kind's fields, starts empty after each poll, answers a refusal beside its field (with and without htmx),
edits drafts and duplicates any poll (form and JSON API alike), and a question bank of earlier polls; who may do it.

The round-trip test is property-style: for generated polls of every kind, create → the edit form shows the same
values → saving that form unchanged leaves the poll unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ehalsodag.db.migrate import upgrade
from tests.conftest import (
    ServedApp,
    load_fixture,
    make_settings,
    make_staff,
    run_sync,
    start_server,
    stop_server,
)

SLUG = "regional"
KINDS = ("single", "multiple", "scale", "wordcloud", "open_text", "ranking")
#: A form sent without JavaScript carries every kind's fields: the server keeps only the chosen kind's.
EVERY_FIELD = {"options": "Ett\nTvå\nTre", "max_picks": "2", "scale_min": "0", "scale_max": "7",
               "scale_labels": ["Lite", "Mycket"]}


@dataclass
class Day:
    """The served app, its two days and the staff tokens."""

    server: ServedApp
    http: httpx.Client
    other: str
    mod: str
    other_mod: str
    organiser: str
    csrf: str

    def call(self, method: str, path: str, token: str | None = None, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token or self.mod}", "X-CSRFToken": self.csrf,
                   **kwargs.pop("headers", {})}
        return self.http.request(method, self.server.base_url + path, headers=headers, **kwargs)

    def form(self, path: str, data: dict[str, Any], *, htmx: bool = True, token: str | None = None) -> httpx.Response:
        return self.call("POST", path, token, data=data, headers={"HX-Request": "true"} if htmx else {})

    def page(self, path: str, *, htmx: bool = False, token: str | None = None) -> httpx.Response:
        return self.call("GET", path, token, headers={"HX-Request": "true"} if htmx else {})

    def poll(self, poll_id: int, slug: str = SLUG) -> dict[str, Any]:
        polls = self.call("GET", f"/api/v1/events/{slug}/polls").json()
        return next(p for p in polls if p["id"] == poll_id)

    def newest(self, slug: str = SLUG) -> dict[str, Any]:
        return max(self.call("GET", f"/api/v1/events/{slug}/polls").json(), key=lambda p: p["id"])


@pytest.fixture(scope="module")
def day(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Day]:
    tmp = tmp_path_factory.mktemp("pollform")
    config = make_settings(tmp)
    upgrade(config)
    assert run_sync(load_fixture(config, "regional.toml")) == SLUG
    other = run_sync(load_fixture(config, "other.toml"))
    mod = run_sync(make_staff(config, "mod@example.se", "moderator", SLUG))
    other_mod = run_sync(make_staff(config, "annan@example.se", "moderator", other))
    run_sync(make_staff(config, "org@example.se", "organiser", other))
    organiser = run_sync(make_staff(config, "org@example.se", "organiser", SLUG))
    server = start_server(config, tmp / "server.log")
    http = httpx.Client(timeout=20)
    http.get(server.base_url + "/login")
    try:
        yield Day(server, http, other, mod, other_mod, organiser, http.cookies.get("csrftoken") or "")
    finally:
        http.close()
        stop_server(server)


class Fields(HTMLParser):
    """The values a browser without JavaScript would send from the form's fields (``.poll-fields``), and the
    attributes of each field by id."""

    def __init__(self) -> None:
        super().__init__()
        self.values: list[tuple[str, str]] = []
        self.attrs_of: dict[str, dict[str, str | None]] = {}
        self._select: str | None = None
        self._textarea: str | None = None
        self._text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if a.get("id"):
            self.attrs_of[str(a["id"])] = a
        name = a.get("name")
        if tag == "input" and name and name != "_csrf_token":
            if a.get("type") != "checkbox" or "checked" in a:
                self.values.append((name, a.get("value") or ""))
        elif tag == "select":
            self._select = name
        elif tag == "option" and self._select and "selected" in a:
            self.values.append((self._select, a.get("value") or ""))
        elif tag == "textarea":
            self._textarea, self._text = name, ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None
        elif tag == "textarea" and self._textarea:
            self.values.append((self._textarea, self._text.strip("\n")))
            self._textarea = None

    def handle_data(self, data: str) -> None:
        if self._textarea:
            self._text += data


def fields(html: str) -> Fields:
    parser = Fields()
    parser.feed(html)
    return parser


def value(html: str, name: str) -> list[str]:
    return [v for n, v in fields(html).values if n == name]


def settings_of(poll: dict[str, Any]) -> dict[str, Any]:
    """What a poll is, without its ids."""
    return {**{k: v for k, v in poll.items() if k not in ("id", "options")},
            "options": [o["label"] for o in poll["options"]]}


# --- creating: only the chosen kind's fields, empty again after each poll ---------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_the_form_keeps_only_the_chosen_kinds_fields_and_comes_back_empty(day: Day, kind: str):
    question = f"Vad tycker du om {kind}?"
    answer = day.form(f"/e/{SLUG}/control/polls", {"kind": kind, "question": question, **EVERY_FIELD})
    assert answer.status_code == 201, answer.text
    assert f"Omröstningen ”{question}” är skapad (utkast)." in answer.text
    poll = day.newest()
    assert (poll["kind"], poll["question"], poll["state"]) == (kind, question, "draft")
    assert [o["label"] for o in poll["options"]] == (["Ett", "Två", "Tre"] if kind in ("single", "multiple",
                                                                                      "ranking") else [])
    assert poll["max_picks"] == (2 if kind == "multiple" else None)
    assert (poll["scale_min"], poll["scale_max"], poll["scale_labels"]) == (
        (0, 7, ["Lite", "Mycket"]) if kind == "scale" else (None, None, []))
    # The card comes back empty: the next poll starts from nothing (issue 18, broken item 1).
    assert value(answer.text, "question") == [""]
    assert value(answer.text, "options") == [""]
    assert value(answer.text, "kind") == ["single"]
    assert 'id="new-poll-status" hx-swap-oob="innerHTML"' in answer.text


def test_the_api_still_refuses_fields_of_another_kind(day: Day):
    refused = day.call("POST", f"/api/v1/events/{SLUG}/polls",
                       json={"kind": "open_text", "question": "Fritt?", "options": ["a", "b"]})
    assert refused.status_code == 422
    assert "alternativ" in refused.json()["detail"]


@pytest.mark.parametrize("htmx", [True, False])
def test_a_refused_form_comes_back_with_the_error_beside_its_field_and_what_was_typed(day: Day, htmx: bool):
    typed = {"kind": "single", "question": "Bara ett alternativ?", "options": "Ensam", "block_id": ""}
    answer = day.form(f"/e/{SLUG}/control/polls", typed, htmx=htmx)
    assert answer.status_code == 422
    form = fields(answer.text)
    assert value(answer.text, "question") == ["Bara ett alternativ?"]
    assert value(answer.text, "options") == ["Ensam"]
    options = form.attrs_of["poll-options"]
    assert options.get("aria-invalid") == "true"
    assert "poll-err-options" in str(options.get("aria-describedby")).split()
    assert "hidden" not in form.attrs_of["poll-err-options"]
    assert "Ange 2 till 20 alternativ." in answer.text
    assert form.attrs_of["poll-question"].get("aria-invalid") is None
    if not htmx:  # a page of its own, whose form sends to the same place
        assert '<form method="post" action="/e/regional/control/polls"' in answer.text
        assert "<html" in answer.text
    else:
        assert "<html" not in answer.text and 'role="alert"' in answer.text


def test_without_javascript_a_created_poll_leads_back_to_the_panel(day: Day):
    answer = day.call("POST", f"/e/{SLUG}/control/polls", data={"kind": "open_text", "question": "Utan skript?",
                                                                **EVERY_FIELD}, follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"].startswith(f"/e/{SLUG}/control")
    assert settings_of(day.newest())["options"] == []


# --- editing drafts, duplicating any poll ------------------------------------------------------------------------


def _create(day: Day, **body: Any) -> int:
    created = day.call("POST", f"/api/v1/events/{SLUG}/polls", json=body)
    assert created.status_code == 201, created.text
    return int(created.json()["id"])


def test_a_draft_is_edited_by_the_api_and_by_the_form(day: Day):
    poll_id = _create(day, kind="single", question="Före?", options=["A", "B"])
    patched = day.call("PATCH", f"/api/v1/polls/{poll_id}", json={"question": "Efter?", "results": "on_reveal"})
    assert patched.status_code == 200, patched.text
    assert (patched.json()["question"], patched.json()["results"]) == ("Efter?", "on_reveal")
    assert [o["label"] for o in patched.json()["options"]] == ["A", "B"]  # what was not named stays
    cleared = day.call("PATCH", f"/api/v1/polls/{poll_id}", json={"kind": "multiple", "max_picks": 1})
    assert cleared.status_code == 200 and cleared.json()["max_picks"] == 1, cleared.text
    cleared = day.call("PATCH", f"/api/v1/polls/{poll_id}", json={"max_picks": None})  # null: no limit again
    assert cleared.status_code == 200 and cleared.json()["max_picks"] is None
    assert day.call("PATCH", f"/api/v1/polls/{poll_id}", json={"question": None}).status_code in (400, 422)
    changed_kind = day.call("PATCH", f"/api/v1/polls/{poll_id}", json={"kind": "scale", "scale_max": 4})
    assert changed_kind.status_code == 200, changed_kind.text
    assert (changed_kind.json()["options"], changed_kind.json()["scale_max"]) == ([], 4)
    page = day.page(f"/e/{SLUG}/control/polls/{poll_id}/edit")
    assert page.status_code == 200 and "Du redigerar utkastet" in page.text
    assert value(page.text, "kind") == ["scale"] and value(page.text, "scale_max") == ["4"]
    saved = day.form(f"/e/{SLUG}/control/polls/{poll_id}/edit",
                     {"kind": "multiple", "question": "Vilka?", "options": "X\nY\nZ", "max_picks": "2"})
    assert saved.status_code == 200, saved.text
    assert "Omröstningen ”Vilka?” är sparad." in saved.text
    assert value(saved.text, "question") == [""]  # back to an empty New poll form
    poll = day.poll(poll_id)
    assert (poll["kind"], poll["max_picks"], [o["label"] for o in poll["options"]], poll["results"]) == (
        "multiple", 2, ["X", "Y", "Z"], "live")  # the form sends every field: "results" left at its default
    refused = day.form(f"/e/{SLUG}/control/polls/{poll_id}/edit", {"kind": "multiple", "question": "Vilka?",
                                                                     "options": "X\nX"})
    assert refused.status_code == 422
    assert fields(refused.text).attrs_of["poll-options"].get("aria-invalid") == "true"
    assert value(refused.text, "options") == ["X\nX"]


def test_a_poll_that_has_been_opened_or_answered_is_not_edited_but_can_be_duplicated(day: Day):
    poll_id = _create(day, kind="scale", question="Hur bra?", scale_min=1, scale_max=4, scale_labels=["Dåligt", "Bra"],
                      results="on_reveal")
    assert day.call("POST", f"/api/v1/polls/{poll_id}/open").status_code == 200
    attendee = day.call("POST", f"/api/v1/events/{SLUG}/join", json={}).json()["attendee_token"]
    voted = day.http.post(day.server.base_url + f"/api/v1/polls/{poll_id}/responses", json={"value": 3},
                          headers={"Authorization": f"Bearer {attendee}"})
    assert voted.status_code == 201, voted.text
    assert day.call("POST", f"/api/v1/polls/{poll_id}/close").status_code == 200
    refused = day.call("PATCH", f"/api/v1/polls/{poll_id}", json={"question": "Ändrad?"})
    assert refused.status_code == 409
    assert "Duplicera" in refused.json()["detail"]
    assert day.form(f"/e/{SLUG}/control/polls/{poll_id}/edit", {"kind": "scale", "question": "Ändrad?"}
                    ).status_code == 409
    assert day.page(f"/e/{SLUG}/control/polls/{poll_id}/edit", htmx=True).status_code == 409
    assert day.poll(poll_id)["question"] == "Hur bra?"
    copy = day.call("POST", f"/api/v1/polls/{poll_id}/duplicate")
    assert copy.status_code == 201, copy.text
    copy_id = copy.json()["id"]
    assert copy_id != poll_id
    original, duplicate = day.poll(poll_id), day.poll(copy_id)
    assert duplicate["state"] == "draft" and not duplicate["revealed"]
    assert {**settings_of(duplicate), "state": "closed", "revealed": original["revealed"]} == settings_of(original)
    edited = day.call("PATCH", f"/api/v1/polls/{copy_id}", json={"question": "Hur bra nu?"})
    assert edited.status_code == 200  # the copy has no answers: it is a draft to change
    by_form = day.form(f"/e/{SLUG}/control/polls/{poll_id}/duplicate", {})
    assert by_form.status_code == 200 and "En kopia av ”Hur bra?” är skapad (utkast)." in by_form.text
    assert day.newest()["question"] == "Hur bra?" and day.newest()["state"] == "draft"


# --- the question bank --------------------------------------------------------------------------------------------


def test_the_question_bank_finds_earlier_polls_and_fills_the_form(day: Day):
    mine = _create(day, kind="ranking", question="Rangordna våra mål för samverkan", options=["Mål 1", "Mål 2"])
    theirs = day.call("POST", f"/api/v1/events/{day.other}/polls", token=day.organiser,
                      json={"kind": "wordcloud", "question": "Ett ord om samverkan"})
    assert theirs.status_code == 201, theirs.text
    theirs_id = theirs.json()["id"]
    # A moderator of this day finds this day's polls only; the search is by words, in any case.
    found = day.page(f"/e/{SLUG}/control/polls/bank?q=SAMVERKAN", htmx=True)
    assert found.status_code == 200 and "<html" not in found.text
    assert "Rangordna våra mål för samverkan" in found.text and "Ett ord om samverkan" not in found.text
    assert "Ingen tidigare fråga" in day.page(f"/e/{SLUG}/control/polls/bank?q=finnsinte", htmx=True).text
    # An organiser of both days finds the other day's too (this day's first).
    both = day.page(f"/e/{SLUG}/control/polls/bank?q=samverkan", htmx=True, token=day.organiser).text
    assert both.index("Rangordna våra mål") < both.index("Ett ord om samverkan")
    assert "Annan dag" in both
    # "Use" fills the New poll form (not saved yet); a poll of a day one may not see is not found.
    used = day.page(f"/e/{SLUG}/control/polls/new?from={mine}", htmx=True)
    assert value(used.text, "kind") == ["ranking"] and value(used.text, "options") == ["Mål 1\nMål 2"]
    assert value(used.text, "question") == ["Rangordna våra mål för samverkan"]
    assert "Formuläret är ifyllt från" in used.text
    assert day.page(f"/e/{SLUG}/control/polls/new?from={theirs_id}", htmx=True).status_code == 404
    reused = day.page(f"/e/{SLUG}/control/polls/new?from={theirs_id}", htmx=True, token=day.organiser)
    assert reused.status_code == 200 and value(reused.text, "kind") == ["wordcloud"]
    # Without JavaScript: pages of their own.
    assert "<html" in day.page(f"/e/{SLUG}/control/polls/bank?q=mål").text
    assert "<html" in day.page(f"/e/{SLUG}/control/polls/new").text


# --- who may --------------------------------------------------------------------------------------------------------


def test_a_moderator_of_another_day_may_not_edit_duplicate_or_reuse(day: Day):
    poll_id = _create(day, kind="single", question="Vems?", options=["Min", "Din"])
    stranger = day.other_mod
    assert day.call("PATCH", f"/api/v1/polls/{poll_id}", stranger, json={"question": "Kapad"}).status_code == 403
    assert day.call("POST", f"/api/v1/polls/{poll_id}/duplicate", stranger).status_code == 403
    assert day.form(f"/e/{SLUG}/control/polls/{poll_id}/edit", {"kind": "single", "question": "Kapad",
                                                                  "options": "a\nb"}, token=stranger).status_code == 403
    assert day.page(f"/e/{SLUG}/control/polls/bank?q=Vems", token=stranger).status_code == 403
    # Their own day's panel with this day's poll: no such poll there.
    assert day.page(f"/e/{day.other}/control/polls/{poll_id}/edit", token=stranger).status_code in (403, 404)
    assert day.form(f"/e/{day.other}/control/polls/{poll_id}/duplicate", {}, token=stranger).status_code in (403,
                                                                                                          404)
    assert day.page(f"/e/{day.other}/control/polls/new?from={poll_id}", htmx=True, token=stranger
                    ).status_code == 404
    assert day.call("PATCH", f"/api/v1/polls/{poll_id}", json={"question": "x"}, headers={"Authorization": ""}
                    ).status_code in (401, 403)
    assert day.poll(poll_id)["question"] == "Vems?"


def test_the_inputs_are_bounded(day: Day):
    poll_id = _create(day, kind="single", question="Gränser?", options=["a", "b"])
    too_many = day.call("PATCH", f"/api/v1/polls/{poll_id}", json={"options": [str(n) for n in range(41)]})
    assert too_many.status_code == 400
    assert day.call("PATCH", f"/api/v1/polls/{poll_id}", json={"options": [str(n) for n in range(21)]}
                    ).status_code == 422
    assert day.call("PATCH", f"/api/v1/polls/{poll_id}", json={"nonsense": 1}).status_code == 400
    assert day.page(f"/e/{SLUG}/control/polls/bank?q={'x' * 201}").status_code == 400


# --- the property: every kind's form round-trips --------------------------------------------------------------------

LABEL = st.text(alphabet="abcdefghijklmnopqrstuvwxyzåäö ÅÄÖ0123456789?-", min_size=1, max_size=30).map(
    lambda s: s.strip() or "x")


@st.composite
def polls(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(KINDS))
    body: dict[str, Any] = {"kind": kind, "question": draw(LABEL) + "?",
                            "results": draw(st.sampled_from(["live", "on_reveal"])),
                            "auto_open": draw(st.booleans()), "auto_close": draw(st.booleans())}
    if kind in ("single", "multiple", "ranking"):
        options = draw(st.lists(LABEL, min_size=2, max_size=6, unique_by=str.casefold))
        body["options"] = options
        if kind == "multiple":
            body["max_picks"] = draw(st.one_of(st.none(), st.integers(1, len(options))))
    if kind == "scale":
        low = draw(st.integers(0, 9))
        body.update(scale_min=low, scale_max=draw(st.integers(low + 1, 10)))
        body["scale_labels"] = draw(st.one_of(st.just([]), st.lists(LABEL, min_size=2, max_size=2)))
    return body


@settings(max_examples=18, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(body=polls())
def test_every_kinds_form_round_trips_unchanged(day: Day, body: dict[str, Any]):
    form = {k: ("1" if v else "") if isinstance(v, bool) else "\n".join(v) if k == "options" else
            "" if v is None else v for k, v in body.items()}
    created = day.form(f"/e/{SLUG}/control/polls", form)
    assert created.status_code == 201, created.text
    poll = day.newest()
    before = settings_of(poll)
    assert before["question"] == body["question"].strip() and before["kind"] == body["kind"]
    page = day.page(f"/e/{SLUG}/control/polls/{poll['id']}/edit", htmx=True)
    assert page.status_code == 200
    shown = fields(page.text).values
    assert ("question", poll["question"]) in shown and ("kind", poll["kind"]) in shown
    sent: dict[str, list[str]] = {}
    for name, typed in shown:
        sent.setdefault(name, []).append(typed)
    saved = day.form(f"/e/{SLUG}/control/polls/{poll['id']}/edit", sent)
    assert saved.status_code == 200, saved.text
    assert settings_of(day.poll(poll["id"])) == before
    assert re.search(r"är sparad", saved.text)


def test_the_panel_shows_edit_for_drafts_and_duplicate_for_every_poll(day: Day):
    poll_id = _create(day, kind="single", question="Knappar?", options=["a", "b"])
    panel = day.page(f"/e/{SLUG}/control").text
    assert f'id="mp-{poll_id}-edit"' in panel and f'id="mp-{poll_id}-duplicate"' in panel
    assert 'id="poll-bank"' in panel and 'id="poll-bank-results"' in panel
    assert "Rangordna" not in panel.split('id="poll-bank-results"')[1].split("</div>")[0]  # loaded when opened
    assert day.call("POST", f"/api/v1/polls/{poll_id}/open").status_code == 200
    panel = day.page(f"/e/{SLUG}/control").text
    assert f'id="mp-{poll_id}-edit"' not in panel and f'id="mp-{poll_id}-duplicate"' in panel


# --- live: other moderators get the one changed poll item, and what they get is what a fresh snapshot shows ---------


def test_an_edit_and_a_duplicate_reach_other_moderators_as_one_poll_item(day: Day):
    import asyncio

    from tests.support.liveclient import LiveClient, settle
    from tests.support.livedom import assert_same_dom

    poll_id = _create(day, kind="single", question="Live?", options=["Ja", "Nej"])
    ws = day.server.ws_url

    async def scenario() -> None:
        panel = await LiveClient("control panel", f"{ws}/e/{SLUG}/ws?view=control&lang=sv",
                                 {"Authorization": f"Bearer {day.organiser}"}).start()
        try:
            await settle([panel])
            panel.take()
            for action in ("edit", "duplicate"):
                if action == "edit":
                    answer = await asyncio.to_thread(day.call, "PATCH", f"/api/v1/polls/{poll_id}",
                                                     json={"question": "Live nu?"})
                else:
                    answer = await asyncio.to_thread(day.call, "POST", f"/api/v1/polls/{poll_id}/duplicate")
                assert answer.status_code in (200, 201), answer.text
                await settle([panel])
                frames = "".join(panel.take())
                assert not panel.failures, panel.failures
                assert frames.count('<li id="mp-') == 1, frames[:2000]  # one item, never the whole list
                assert 'id="mod-poll-list"' not in frames
                assert_same_dom(panel.document, await panel.fresh(), f"the panel after {action}")  # type: ignore[arg-type]
            assert panel.document is not None and "Live nu?" in panel.document.html()
        finally:
            await panel.stop()

    asyncio.run(scenario())
