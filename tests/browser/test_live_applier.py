"""The browser's frame applier (static/js/live.js) in Debian's Chromium: it gives the same DOM as the Python
simulated client (tests/support/livedom.py) on random frame sequences, and it keeps the focus, typed text and
open <details> that a live update must not take away.

Skipped where /usr/bin/chromium is missing, unless EHALSODAG_TEST_BROWSER=required (as in .ci/run).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser.conftest import skip_without_chromium
from tests.support.livedom import LiveDocument, assert_same_dom

skip_without_chromium()

from playwright.sync_api import Browser, Page  # noqa: E402

pytestmark = pytest.mark.browser
STATIC = Path(__file__).resolve().parents[2] / "platform" / "ehalsodag" / "static"
LIVE_JS = STATIC / "js" / "live.js"
HTMX_JS = STATIC / "vendor" / "htmx-2.0.11.min.js"


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A blank page with live.js loaded; load() puts a snapshot into its body."""
    context = browser.new_context()
    page = context.new_page()
    page.set_content("<!doctype html><html lang='sv'><head><title>live</title></head><body></body></html>")
    page.add_script_tag(path=str(LIVE_JS))
    try:
        yield page
    finally:
        context.close()


def load(page: Page, snapshot: str) -> None:
    page.evaluate("html => { document.body.innerHTML = html; }", snapshot)


def apply(page: Page, frame: str) -> None:
    page.evaluate("frame => window.ehalsodagLive.apply(frame)", frame)


def mark(page: Page, selector: str) -> None:
    """Tag the node with a JS property: it survives only as long as the node itself does."""
    page.evaluate("selector => { document.querySelector(selector).__original = true; }", selector)


def focused(page: Page) -> dict:
    return page.evaluate("""() => {
        const el = document.activeElement;
        return {id: el.id, original: el.__original === true, value: el.value};
    }""")


# ---- The browser and Python agree on random frames ---------------------------------------------------------

SNAPSHOT = """
<header id="top"><h1>Dagen</h1><p id="clock">09:00</p></header>
<ul id="questions">
  <li id="q1" data-swap="upsert" data-into="questions" data-sort="b"><span id="q1-count">0</span> votes
    <button id="q1-vote" type="button">Vote</button></li>
</ul>
<ol id="chat" data-max="4"><li id="c1" data-swap="append" data-into="chat">hej</li></ol>
<div id="feed" data-max="3"></div>
<table id="board"><tbody id="rows"></tbody></table>
<table id="grid"><tbody><tr id="grid-row"><td id="cell1">1</td><td id="cell2">2</td></tr></tbody></table>
<div id="newest" data-order="data-time" data-order-dir="desc"></div>
<ol id="log" data-max="3"><li id="l1" data-swap="upsert" data-into="log" data-sort="b">first</li></ol>
<section id="status"><p id="status-line">Waiting</p><textarea id="status-note" data-keep>draft</textarea></section>
<div id="live-announcer" aria-live="polite"></div>
<div id="summary" aria-live="polite"><p>Nothing yet</p></div>
"""
KEYS = ["a", "b", "b", "B", "ab", "a b", "", "10", "9", "é", "\U0001f600", "\uff01"]
WORDS = ["Vote", "Voted", "3 &amp; 4", "<b>bold</b> text", "två", "  spaced\n  out  ", "&lt;tag&gt;"]
SUB_IDS = ["count", "vote", "note", "more", "box", "inner"]


def item_content(rng: random.Random, ident: str) -> str:
    parts = [f'<span id="{ident}-count">{rng.randrange(4)}</span>', " votes ",
             f'<button id="{ident}-vote" type="button">{rng.choice(["Vote", "Voted"])}</button>']
    if rng.random() < 0.4:
        parts.append(f'<textarea id="{ident}-note"{rng.choice(["", " data-keep"])}>{rng.choice(["", "x"])}</textarea>')
    if rng.random() < 0.3:
        parts.append(f'<details id="{ident}-more" data-keep{rng.choice(["", " open"])}><summary>More</summary>'
                     f'{rng.choice(WORDS)}</details>')
    if rng.random() < 0.3:
        parts.append("<em>new</em>")
    if rng.random() < 0.3:
        parts.append(f'<div id="{ident}-box"><button id="{ident}-inner" type="button">x</button> '
                     f'{rng.choice(WORDS)}</div>')
    if rng.random() < 0.2:
        rng.shuffle(parts)
    return "".join(parts)


def status_section(rng: random.Random) -> str:
    parts = [f'<p id="status-line">{rng.choice(WORDS)}</p>']
    if rng.random() < 0.7:
        parts.append(f'<textarea id="status-note"{rng.choice(["", " data-keep"])}></textarea>')
    if rng.random() < 0.5:
        parts.append('<div id="status-keep" data-keep><input id="status-input" data-keep value="v"> kept</div>')
    if rng.random() < 0.3:
        parts.append('<details id="status-more" data-keep><summary>More</summary>details</details>')
    if rng.random() < 0.3:
        rng.shuffle(parts)
    content = "".join(parts)
    if rng.random() < 0.2:
        content = f'<div id="status-wrap">{content}</div>'
    return f'<section id="status"{rng.choice(["", " class=open"])}>{content}</section>'


def instruction(rng: random.Random) -> str:
    kind = rng.choice(["question", "question", "question", "replace", "chat", "feed", "newest", "log", "status",
                       "status", "keep", "inner", "remove", "junk"])
    n = rng.randrange(1, 6)
    if kind == "question":
        return (f'<li id="q{n}" data-swap="upsert" data-into="questions" data-sort="{rng.choice(KEYS)}">'
                f'{item_content(rng, f"q{n}")}</li>')
    if kind == "replace":
        if rng.random() < 0.2:
            return f'<div id="q{n}">now a div</div>'
        return f'<li id="q{n}" data-sort="{rng.choice(KEYS)}">{item_content(rng, f"q{n}")}</li>'
    if kind == "chat":
        return f'<li id="c{n}" data-swap="append" data-into="chat">{rng.choice(WORDS)} {n}</li>'
    if kind == "feed":
        return f'<p id="f{n}" data-swap="prepend" data-into="feed">{rng.choice(WORDS)}</p>'
    if kind == "newest":
        return (f'<article id="n{n}" data-swap="upsert" data-into="newest" data-sort="{rng.choice(KEYS)}" '
                f'data-time="{rng.choice([900, 930, 1000, 1000]):04d}">{item_content(rng, f"n{n}")}</article>')
    if kind == "log":  # sorted and kept at the newest three
        return (f'<li id="l{n}" data-swap="upsert" data-into="log" data-sort="{rng.choice(KEYS)}">'
                f'{rng.choice(WORDS)}</li>')
    if kind == "status":
        return status_section(rng)
    if kind == "keep":
        return '<div id="status-keep" data-keep><input id="status-input" data-keep value="replaced"></div>'
    if kind == "inner":
        return (f'<div id="{rng.choice(["live-announcer", "summary"])}" data-swap="inner">'
                f'<p>{rng.choice(WORDS)}</p></div>')
    if kind == "remove":
        target = rng.choice([f"q{n}", f"c{n}", f"f{n}", f"r{n}", f"n{n}", f"l{n}", f"q{n}-{rng.choice(SUB_IDS)}",
                             "status-note", "status-keep", "summary"] + (["questions", "chat"] * (n == 5)))
        return f'<p id="{target}" data-swap="remove"></p>'
    return rng.choice(["stray text", "<p>no id</p>", '<p id="q1" data-swap="swirl">x</p>', "<!-- c -->",
                       f'<li id="q{n}" data-swap="upsert" data-into="nowhere" data-sort="a">x</li>',
                       '<p id="absent">replace of an absent id</p>'])


def row(rng: random.Random) -> str:
    n = rng.randrange(1, 6)
    if rng.random() < 0.2:
        return f'<tr id="r{n}" data-swap="remove"></tr>'
    return (f'<tr id="r{n}" data-swap="upsert" data-into="rows" data-sort="{rng.choice(KEYS)}">'
            f'<td>{rng.choice(WORDS)}</td><td><button id="r{n}-edit" type="button">Edit</button></td></tr>')


def cell(rng: random.Random) -> str:
    tag = rng.choice(["td", "th"])
    return f'<{tag} id="cell{rng.randrange(1, 3)}">{rng.choice(WORDS)}</{tag}>'


def random_frame(rng: random.Random) -> str:
    """One to three instructions; table parts come in frames of their own kind (see livedom's docstring)."""
    make = rng.choice([instruction] * 8 + [row, cell])
    return rng.choice(["", "\n", " \n  "]).join(make(rng) for _ in range(rng.randrange(1, 4)))


APPLY_WITH_FOCUS = """({frame, focus}) => {
    let before = null;
    if (focus !== null) {
        const all = document.querySelectorAll("button, textarea, input, summary");
        if (all.length) { before = all[focus % all.length]; before.focus(); }
    }
    before = before || (document.activeElement !== document.body ? document.activeElement : null);
    window.ehalsodagLive.apply(frame);
    return {html: document.body.innerHTML,
            lost: !!before && before.isConnected && document.activeElement !== before};
}"""


def test_the_browser_and_python_apply_random_frames_alike(page: Page):
    seed, sequences, length = 20260611, 60, 8
    rng = random.Random(seed)
    for sequence in range(sequences):
        load(page, SNAPSHOT)
        doc = LiveDocument(SNAPSHOT)
        frames: list[str] = []
        for _ in range(length):
            frame = random_frame(rng)
            frames.append(frame)
            focus = rng.randrange(1000) if rng.random() < 0.5 else None
            result = page.evaluate(APPLY_WITH_FOCUS, {"frame": frame, "focus": focus})
            doc.apply(frame)
            context = f"seed {seed}, sequence {sequence}, frames:\n" + "\n---\n".join(frames)
            assert_same_dom(LiveDocument(result["html"]), doc, context)
            assert not result["lost"], f"a focused node that stayed in the page lost the focus; {context}"


# ---- Focus, typed text and open <details> ------------------------------------------------------------------

QUESTION = ('<li id="q1" data-swap="upsert" data-into="questions" data-sort="{key}"><span id="q1-count">{count}'
            '</span> votes <button id="q1-vote" type="button">{label}</button></li>')


def test_a_focused_button_keeps_the_focus_when_the_count_next_to_it_changes(page: Page):
    load(page, f'<ul id="questions">{QUESTION.format(key="b", count=1, label="Vote")}</ul>')
    page.focus("#q1-vote")
    mark(page, "#q1-vote")
    apply(page, QUESTION.format(key="b", count=2, label="Vote"))
    assert page.text_content("#q1-count") == "2"
    assert focused(page) == {"id": "q1-vote", "original": True, "value": ""}
    # A changed label is morphed in place: still the same node.
    apply(page, QUESTION.format(key="b", count=3, label="Voted"))
    assert page.text_content("#q1-vote") == "Voted"
    assert focused(page)["original"]


def test_focus_moves_to_the_counterpart_when_the_focused_node_has_to_go(page: Page):
    load(page, f'<ul id="questions">{QUESTION.format(key="b", count=1, label="Vote")}</ul>')
    page.focus("#q1-vote")
    mark(page, "#q1-vote")
    apply(page, '<li id="q1" data-swap="upsert" data-into="questions" data-sort="b"><p>Now with a new layout</p>'
                '<div><button id="q1-vote" type="button">Vote</button></div></li>')
    assert focused(page) == {"id": "q1-vote", "original": False, "value": ""}
    # Without an id there is no counterpart, and nothing is focused by the applier.
    load(page, '<section id="s"><button type="button">no id</button></section>')
    page.focus("#s button")
    apply(page, '<section id="s"><p>changed</p><button type="button">no id</button></section>')
    assert page.evaluate("document.activeElement === document.body")


def test_order_moves_the_other_items_around_the_focused_one(page: Page):
    items = "".join(f'<li id="{i}" data-sort="{k}"><button id="{i}-b" type="button">{i}</button></li>'
                    for i, k in [("a", "1"), ("b", "2"), ("c", "3"), ("d", "4")])
    load(page, f'<ul id="list">{items}</ul>')
    page.focus("#c-b")
    mark(page, "#c-b")
    apply(page, '<li id="c" data-swap="upsert" data-into="list" data-sort="0"><button id="c-b" type="button">c'
                '</button></li><li id="e" data-swap="upsert" data-into="list" data-sort="25">e</li>')
    assert page.evaluate("[...document.getElementById('list').children].map(el => el.id)") == ["c", "a", "b", "e",
                                                                                               "d"]
    assert focused(page) == {"id": "c-b", "original": True, "value": ""}
    # The focused item stays put while another one moves across it.
    apply(page, '<li id="a" data-swap="upsert" data-into="list" data-sort="9">a moved</li>')
    assert page.evaluate("[...document.getElementById('list').children].map(el => el.id)") == ["c", "b", "e", "d",
                                                                                               "a"]
    assert focused(page)["original"]


def test_a_user_chosen_order_newest_first(page: Page):
    load(page, '<div id="list" data-order="data-time" data-order-dir="desc"></div>')
    for ident, time in [("m1", "0900"), ("m2", "1130"), ("m3", "1000"), ("m4", "1130")]:
        apply(page, f'<p id="{ident}" data-swap="upsert" data-into="list" data-sort="a" data-time="{time}">x</p>')
    assert page.evaluate("[...document.getElementById('list').children].map(el => el.id)") == ["m2", "m4", "m3",
                                                                                               "m1"]
    page.evaluate("""() => { const list = document.getElementById("list");
                             list.setAttribute("data-order-dir", "asc"); window.ehalsodagLive.reorder(list); }""")
    assert page.evaluate("[...document.getElementById('list').children].map(el => el.id)") == ["m1", "m3", "m2",
                                                                                               "m4"]


def test_a_frame_that_changes_nothing_does_not_touch_the_dom(page: Page):
    items = "".join(QUESTION.replace("q1", ident).format(key=key, count=1, label="Vote")
                    for ident, key in [("q1", "a"), ("q2", "b"), ("q3", "b")])
    load(page, f'<ul id="questions">{items}</ul><section id="s"><p>same</p></section>')
    page.evaluate("""() => { window.__mutations = [];
        new MutationObserver(records => window.__mutations.push(...records))
            .observe(document.body, {subtree: true, childList: true, attributes: true, characterData: true}); }""")
    apply(page, QUESTION.replace("q1", "q2").format(key="b", count=1, label="Vote") + '<section id="s"><p>same</p>'
                '</section>')
    assert page.evaluate("new Promise(resolve => setTimeout(() => resolve(window.__mutations.length)))") == 0
    # One item out of place: only that one moves.
    apply(page, QUESTION.replace("q1", "q3").format(key="0", count=1, label="Vote"))
    moved = page.evaluate("""new Promise(resolve => setTimeout(() => resolve(window.__mutations
        .filter(r => r.type === "childList").flatMap(r => [...r.addedNodes]).map(n => n.id))))""")
    assert moved == ["q3"]


def test_kept_textarea_and_details_survive_a_replace_of_their_parent(page: Page):
    load(page, '<section id="ask"><h2>Ask</h2><form id="ask-form"><textarea id="ask-text" data-keep></textarea>'
               '<details id="ask-help" data-keep><summary>Help</summary>How to ask</details>'
               '<button id="ask-send" type="button">Send</button></form></section>')
    page.fill("#ask-text", "My typed question")
    page.click("#ask-help summary")
    page.focus("#ask-text")
    page.evaluate("document.getElementById('ask-text').setSelectionRange(3, 8)")
    mark(page, "#ask-text")
    apply(page, '<section id="ask"><h2>Ask (closing soon)</h2><form id="ask-form" class="closing">'
                '<textarea id="ask-text"></textarea><details id="ask-help"><summary>Help</summary>New text</details>'
                '<button id="ask-send" type="button" disabled>Send</button></form></section>')
    assert focused(page) == {"id": "ask-text", "original": True, "value": "My typed question"}
    assert page.evaluate("document.getElementById('ask-help').open")
    assert page.is_disabled("#ask-send") and page.text_content("h2") == "Ask (closing soon)"
    # A new layout moves the kept nodes: they come along, with the focus and the selection.
    apply(page, '<section id="ask"><div class="new"><p>Your question</p><textarea id="ask-text"></textarea></div>'
                '<details id="ask-help"><summary>Help</summary></details></section>')
    assert focused(page) == {"id": "ask-text", "original": True, "value": "My typed question"}
    assert page.evaluate("[document.activeElement.selectionStart, document.activeElement.selectionEnd]") == [3, 8]
    assert page.evaluate("document.getElementById('ask-help').open")
    assert page.evaluate("document.getElementById('ask-text').parentElement.className") == "new"
    # Targeted directly, a data-keep element is replaced: typed text and all.
    apply(page, '<textarea id="ask-text" data-keep>fresh</textarea>')
    assert page.input_value("#ask-text") == "fresh"


def test_form_controls_take_their_new_markup_unless_it_is_unchanged(page: Page):
    form = ('<form id="f"><input id="name" value="{name}"><input id="ok" type="checkbox"{checked}>'
            '<select id="pick"><option value="a">A</option><option value="b"{selected}>B</option></select></form>')
    load(page, form.format(name="", checked="", selected=""))
    page.fill("#name", "typed")
    page.check("#ok")
    page.select_option("#pick", "b")
    apply(page, form.format(name="", checked="", selected=""))  # nothing changed: the user's input stays
    assert [page.input_value("#name"), page.is_checked("#ok"), page.input_value("#pick")] == ["typed", True, "b"]
    apply(page, form.format(name="server", checked="", selected=" selected"))
    assert [page.input_value("#name"), page.is_checked("#ok"), page.input_value("#pick")] == ["server", True, "b"]
    apply(page, form.format(name="server", checked=" checked", selected=""))
    assert [page.input_value("#name"), page.is_checked("#ok"), page.input_value("#pick")] == ["server", True, "a"]


# ---- Integration -------------------------------------------------------------------------------------------


def test_the_ws_before_message_event_is_applied_and_cancelled(page: Page):
    load(page, '<div id="socket"><p id="now">Block 1</p></div>')
    result = page.evaluate("""frame => {
        let applied = null;
        document.addEventListener("ehalsodag:applied", evt => { applied = evt.detail.message; });
        const evt = new CustomEvent("htmx:wsBeforeMessage", {bubbles: true, cancelable: true,
                                                              detail: {message: frame}});
        const notCancelled = document.getElementById("socket").dispatchEvent(evt);
        return {notCancelled, prevented: evt.defaultPrevented, applied,
                text: document.getElementById("now").textContent};
    }""", '<p id="now">Block 2</p>')
    assert result == {"notCancelled": False, "prevented": True, "applied": '<p id="now">Block 2</p>',
                      "text": "Block 2"}


def test_new_elements_are_processed_by_htmx(page: Page):
    page.add_script_tag(path=str(HTMX_JS))
    load(page, '<ul id="list"></ul><section id="s"><p>old</p></section>')
    apply(page, '<li id="i1" data-swap="append" data-into="list"><button id="b1" hx-post="/vote">Vote</button></li>'
                '<section id="s"><button id="b2" hx-post="/other">Other</button></section>')
    assert page.evaluate("['b1', 'b2'].map(id => 'htmx-internal-data' in document.getElementById(id))") == [True,
                                                                                                          True]
