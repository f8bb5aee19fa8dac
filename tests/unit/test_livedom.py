"""The simulated live client (tests/support/livedom.py): every operation of the frame protocol, KEEP, ORDER,
the canonical form, and property tests over random frames. The browser applier (static/js/live.js) is held to
the same results in tests/browser/test_live_applier.py."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.livedom import LiveDocument, assert_same_dom

PAGE = """
<ul id="questions">
  <li id="q-b" data-swap="upsert" data-into="questions" data-sort="b">B</li>
  <li id="q-d" data-swap="upsert" data-into="questions" data-sort="d">D</li>
</ul>
<ol id="chat" data-max="3"><li id="c1">one</li><li id="c2">two</li></ol>
<div id="feed" data-max="2"></div>
<section id="status"><p id="status-line">Waiting</p></section>
<div id="live-announcer" aria-live="polite"></div>
"""


def ids(doc: LiveDocument, container: str) -> list[str]:
    return [child.get("id") for child in doc.element(container) if isinstance(child.tag, str)]


def text(doc: LiveDocument, ident: str) -> str:
    return " ".join(doc.element(ident).text_content().split())


def same(a: LiveDocument, b: LiveDocument) -> bool:
    return a.canonical() == b.canonical()


# ---- Parsing -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("markup", [
    '<tr id="x"><td>1</td><td>2</td></tr>',
    '<li id="x">item</li>',
    '<option id="x" value="1">one</option>',
    '<td id="x">cell</td>',
    '<tbody id="x"><tr><td>1</td></tr></tbody>',
    '<thead id="x"><tr><th>h</th></tr></thead>',
])
def test_table_and_list_parts_survive_at_the_top_level(markup):
    tag = markup[1:markup.index(" ")]
    doc = LiveDocument(f'<{tag} id="x">old</{tag}>')
    assert doc.element("x").tag == tag
    doc.apply(markup.replace('id="x"', 'id="x" class="new"'))
    assert doc.element("x").tag == tag
    assert doc.element("x").get("class") == "new"
    assert doc.body[0] is doc.element("x")


def test_several_table_parts_of_one_kind_make_a_frame():
    doc = LiveDocument('<tr id="a"><td id="a1">1</td></tr><tr id="b"><td id="b1">2</td></tr>')
    doc.apply('<tr id="a" class="x"><td>one</td></tr>\n<tr id="b" class="y"><td>two</td></tr>')
    doc.apply('<td id="a1">?</td> <th id="b1">!</th>')
    assert [row.get("class") for row in doc.body] == ["x", "y"]
    doc.apply('<caption id="c">c</caption><tbody id="t"></tbody><thead id="h"></thead><colgroup id="g"></colgroup>')


@pytest.mark.parametrize("frame", [
    '<li id="a">x</li><tr id="b"><td>1</td></tr>',
    '<tr id="b"><td>1</td></tr><li id="a">x</li>',
    '<tbody id="a"></tbody><tr id="b"></tr>',
    '<td id="a">1</td><tr id="b"><td>2</td></tr>',
    '<col id="a"><p id="b">x</p>',
])
def test_a_frame_that_mixes_table_parts_with_other_elements_is_refused(frame):
    # A browser's <template> parser follows the first top-level element: it would drop or re-wrap some of these.
    with pytest.raises(ValueError, match="parses it differently"):
        LiveDocument("").apply(frame)


def test_the_snapshot_keeps_its_top_level_elements_only():
    doc = LiveDocument('text <p id="a">A</p> more <!-- c --> <p>no id</p>')
    assert [child.tag for child in doc.body] == ["p", "p"]
    assert doc.body.text is None and all(child.tail is None for child in doc.body)


# ---- Operations --------------------------------------------------------------------------------------------


def test_replace_is_the_default_and_patches_an_existing_element():
    doc = LiveDocument(PAGE)
    doc.apply('<section id="status" class="live"><p id="status-line">Block 1</p></section>')
    assert doc.element("status").get("class") == "live"
    assert text(doc, "status") == "Block 1"
    doc.apply('<section id="status" data-swap="replace"><h2>Block 2</h2></section>')
    assert doc.element("status").get("class") is None
    assert doc.element("status").get("data-swap") == "replace"
    assert doc.element("status-line") is None and text(doc, "status") == "Block 2"


def test_replace_of_an_absent_id_is_a_no_op():
    doc, before = LiveDocument(PAGE), LiveDocument(PAGE)
    doc.apply('<section id="nowhere"><p>x</p></section>')
    assert doc.element("nowhere") is None
    assert_same_dom(doc, before)


def test_a_replace_may_change_the_tag():
    doc = LiveDocument(PAGE)
    doc.apply('<div id="status">now a div</div>')
    assert doc.element("status").tag == "div"
    assert doc.body.index(doc.element("status")) == 3


def test_inner_replaces_the_children_and_keeps_the_node_and_its_attributes():
    doc = LiveDocument(PAGE)
    region = doc.element("live-announcer")
    doc.apply('<div id="live-announcer" data-swap="inner" class="ignored">Voting <b>opened</b></div>')
    assert doc.element("live-announcer") is region
    assert region.get("aria-live") == "polite" and region.get("class") is None
    assert text(doc, "live-announcer") == "Voting opened"
    doc.apply('<div id="live-announcer" data-swap="inner"></div>')
    assert text(doc, "live-announcer") == "" and len(region) == 0


def test_inner_of_an_absent_id_is_a_no_op():
    doc = LiveDocument(PAGE)
    doc.apply('<div id="nowhere" data-swap="inner">x</div>')
    assert_same_dom(doc, LiveDocument(PAGE))


def test_upsert_inserts_in_order_and_keeps_the_protocol_attributes():
    doc = LiveDocument(PAGE)
    doc.apply('<li id="q-c" data-swap="upsert" data-into="questions" data-sort="c">C</li>')
    doc.apply('<li id="q-a" data-swap="upsert" data-into="questions" data-sort="a">A</li>')
    doc.apply('<li id="q-e" data-swap="upsert" data-into="questions" data-sort="e">E</li>')
    assert ids(doc, "questions") == ["q-a", "q-b", "q-c", "q-d", "q-e"]
    new = doc.element("q-c")
    assert (new.get("data-swap"), new.get("data-into"), new.get("data-sort")) == ("upsert", "questions", "c")


def test_upsert_of_an_existing_element_patches_it_and_restores_the_order():
    doc = LiveDocument(PAGE)
    doc.apply('<li id="q-b" data-swap="upsert" data-into="questions" data-sort="z">B, 3 votes</li>')
    assert ids(doc, "questions") == ["q-d", "q-b"]
    assert text(doc, "q-b") == "B, 3 votes"


def test_upsert_without_its_container_does_nothing():
    doc = LiveDocument(PAGE)
    doc.apply('<li id="q-x" data-swap="upsert" data-into="nowhere" data-sort="a">X</li>')
    doc.apply('<li id="q-y" data-swap="upsert" data-sort="a">Y</li>')
    assert_same_dom(doc, LiveDocument(PAGE))


def test_upsert_patches_an_existing_element_even_without_its_container():
    doc = LiveDocument(PAGE)
    doc.apply('<li id="c1" data-swap="upsert" data-into="nowhere" data-sort="a">changed</li>')
    assert text(doc, "c1") == "changed" and ids(doc, "chat") == ["c1", "c2"]


def test_append_adds_at_the_end_and_trims_from_the_start():
    doc = LiveDocument(PAGE)
    for n in (3, 4, 5):
        doc.apply(f'<li id="c{n}" data-swap="append" data-into="chat">message {n}</li>')
    assert ids(doc, "chat") == ["c3", "c4", "c5"]


def test_prepend_adds_at_the_start_and_trims_from_the_end():
    doc = LiveDocument(PAGE)
    for n in (1, 2, 3):
        doc.apply(f'<p id="f{n}" data-swap="prepend" data-into="feed">news {n}</p>')
    assert ids(doc, "feed") == ["f3", "f2"]


def test_prepend_goes_before_the_first_element_child_after_leading_text():
    doc = LiveDocument('<div id="box">Heading <p id="p1">1</p></div>')
    doc.apply('<p id="p0" data-swap="prepend" data-into="box">0</p>')
    assert doc.element("box").text == "Heading " and ids(doc, "box") == ["p0", "p1"]


def test_append_of_an_existing_element_patches_it_in_place():
    doc = LiveDocument(PAGE)
    doc.apply('<li id="c1" data-swap="append" data-into="chat">one (edited)</li>')
    assert ids(doc, "chat") == ["c1", "c2"] and text(doc, "c1") == "one (edited)"


def test_data_max_is_read_like_parse_int_and_may_be_zero():
    doc = LiveDocument('<ol id="a" data-max=" 2 items"></ol><ol id="b" data-max="0"></ol><ol id="c" data-max="x"></ol>')
    for n in range(4):
        for box in "abc":
            doc.apply(f'<li id="{box}{n}" data-swap="append" data-into="{box}">{n}</li>')
    assert ids(doc, "a") == ["a2", "a3"] and ids(doc, "b") == [] and len(ids(doc, "c")) == 4


def test_remove_and_remove_of_an_absent_id():
    doc = LiveDocument(PAGE)
    doc.apply('<li id="q-b" data-swap="remove"></li>')
    assert doc.element("q-b") is None and ids(doc, "questions") == ["q-d"]
    doc.apply('<li id="q-b" data-swap="remove"></li><p id="never" data-swap="remove"></p>')
    assert ids(doc, "questions") == ["q-d"]


def test_remove_leaves_the_text_around_the_element():
    doc = LiveDocument('<p id="p">before <b id="b">bold</b> after</p>')
    doc.apply('<b id="b" data-swap="remove"></b>')
    assert text(doc, "p") == "before after"


def test_unknown_operations_elements_without_id_and_top_level_text_are_ignored():
    doc = LiveDocument(PAGE)
    doc.apply('stray text <p>no id</p><section id="status" data-swap="explode">x</section><!-- c -->')
    assert_same_dom(doc, LiveDocument(PAGE))


def test_a_frame_with_several_instructions_applies_them_in_order():
    doc = LiveDocument(PAGE)
    doc.apply("""
      <li id="q-a" data-swap="upsert" data-into="questions" data-sort="a">A</li>
      <li id="q-d" data-swap="remove"></li>
      <div id="live-announcer" data-swap="inner">A new question</div>
      <li id="c3" data-swap="append" data-into="chat">three</li>
      <li id="c3" data-swap="replace">three, edited</li>
    """)
    assert ids(doc, "questions") == ["q-a", "q-b"]
    assert ids(doc, "chat") == ["c1", "c2", "c3"] and text(doc, "c3") == "three, edited"
    assert text(doc, "live-announcer") == "A new question"


# ---- KEEP --------------------------------------------------------------------------------------------------

FORM = """
<section id="ask">
  <h2>Ask</h2>
  <form id="ask-form"><textarea id="ask-text" name="text" data-keep>my typed question</textarea>
    <details id="ask-help" data-keep open><summary>Help</summary>How to ask</details>
    <button id="ask-send">Send</button></form>
</section>
"""


def test_a_kept_textarea_survives_a_replace_of_its_parent():
    doc = LiveDocument(FORM)
    textarea, details = doc.element("ask-text"), doc.element("ask-help")
    doc.apply('<section id="ask"><h2>Ask (3 asked)</h2><form id="ask-form" class="busy">'
              '<textarea id="ask-text" name="text"></textarea><details id="ask-help"><summary>Help</summary>'
              '</details><button id="ask-send" disabled>Send</button></form></section>')
    assert doc.element("ask-text") is textarea and textarea.text == "my typed question"
    assert doc.element("ask-help") is details and details.get("open") is not None
    assert doc.element("ask-text").get("data-keep") is not None  # the old node, attributes and all
    assert doc.element("ask-form").get("class") == "busy" and doc.element("ask-send").get("disabled") is not None
    assert "3 asked" in text(doc, "ask")


def test_a_kept_node_moves_to_where_its_counterpart_is():
    doc = LiveDocument(FORM)
    textarea = doc.element("ask-text")
    doc.apply('<section id="ask"><div id="wrap"><p>Your question:</p><textarea id="ask-text"></textarea></div>'
              '</section>')
    assert doc.element("ask-text") is textarea and textarea.getparent() is doc.element("wrap")
    assert doc.element("ask-help") is None


def test_a_kept_node_without_counterpart_is_dropped():
    doc = LiveDocument(FORM)
    doc.apply('<section id="ask"><p>Questions are closed</p></section>')
    assert doc.element("ask-text") is None and text(doc, "ask") == "Questions are closed"


def test_a_direct_replace_of_a_data_keep_element_replaces_it():
    doc = LiveDocument(FORM)
    doc.apply('<textarea id="ask-text" name="text" data-keep></textarea>')
    assert doc.element("ask-text").text is None
    doc.apply('<details id="ask-help" data-keep data-swap="replace"><summary>Help</summary></details>')
    assert doc.element("ask-help").get("open") is None


def test_the_counterpart_needs_no_data_keep_but_the_old_node_does():
    doc = LiveDocument('<div id="box"><input id="a" value="old a"><input id="b" value="old b" data-keep></div>')
    doc.apply('<div id="box"><input id="a" value="new a" data-keep><input id="b" value="new b"></div>')
    assert doc.element("a").get("value") == "new a" and doc.element("b").get("value") == "old b"


def test_a_kept_node_travels_with_its_subtree_which_is_not_synced():
    doc = LiveDocument('<div id="box"><div id="outer" data-keep><input id="inner" data-keep value="old"></div>'
                       '</div>')
    doc.apply('<div id="box"><div id="outer" class="new"><p>new content</p></div>'
              '<input id="inner" value="elsewhere"></div>')
    outer = doc.element("outer")
    assert outer.get("class") is None and outer[0].get("id") == "inner" and outer[0].get("value") == "old"
    # The counterpart of the inner node stays new: the old inner node is not taken out of its kept parent.
    assert [el.get("value") for el in doc.root.xpath("//*[@id='inner']")] == ["old", "elsewhere"]


def test_a_kept_node_inside_a_dropped_one_is_looked_at_on_its_own():
    doc = LiveDocument('<div id="box"><div id="outer" data-keep><input id="inner" data-keep value="old"></div>'
                       '</div>')
    doc.apply('<div id="box"><p><input id="inner" value="new"></p></div>')
    assert doc.element("outer") is None and doc.element("inner").get("value") == "old"


def test_keep_applies_to_upsert_and_append_patches_too():
    doc = LiveDocument('<ul id="list"><li id="i1" data-sort="a"><input id="i1-note" data-keep value="typed">'
                       '<span>0</span></li></ul>')
    doc.apply('<li id="i1" data-swap="upsert" data-into="list" data-sort="a"><input id="i1-note">'
              '<span>1</span></li>')
    assert doc.element("i1-note").get("value") == "typed" and text(doc, "i1") == "1"


# ---- ORDER -------------------------------------------------------------------------------------------------


def upsert(ident: str, key: str, container: str = "list") -> str:
    return f'<li id="{ident}" data-swap="upsert" data-into="{container}" data-sort="{key}">{ident}</li>'


def test_order_is_stable_for_ties():
    doc = LiveDocument('<ul id="list"></ul>')
    for ident, key in [("x1", "b"), ("x2", "a"), ("x3", "b"), ("x4", "a"), ("x5", "b")]:
        doc.apply(upsert(ident, key))
    assert ids(doc, "list") == ["x2", "x4", "x1", "x3", "x5"]
    doc.apply(upsert("x1", "b"))  # a tie that is already in place does not move
    assert ids(doc, "list") == ["x2", "x4", "x1", "x3", "x5"]


def test_order_leaves_children_without_data_sort_at_the_end_in_their_order():
    doc = LiveDocument('<ul id="list"><li id="z">z</li><li id="m" data-sort="m">m</li><li id="y">y</li></ul>')
    doc.apply(upsert("a", "a"))
    assert ids(doc, "list") == ["a", "m", "z", "y"]


def test_order_compares_by_code_unit_not_by_locale():
    doc = LiveDocument('<ul id="list"></ul>')
    for ident, key in [("lower", "a"), ("upper", "B"), ("digits", "10"), ("nine", "9"), ("accent", "é"),
                       ("emoji", "\U0001f600"), ("fullwidth", "\uff01"), ("empty", "")]:
        doc.apply(upsert(ident, key))
    # JavaScript compares UTF-16 code units: the emoji (a surrogate pair, D83D …) sorts before U+FF01.
    assert ids(doc, "list") == ["empty", "digits", "nine", "upper", "lower", "accent", "emoji", "fullwidth"]


def test_order_by_another_attribute_descending():
    doc = LiveDocument('<div id="list" data-order="data-time" data-order-dir="desc"></div>')
    for ident, time in [("m1", "0900"), ("m2", "1130"), ("m3", "1000"), ("m4", "1130")]:
        doc.apply(f'<p id="{ident}" data-swap="upsert" data-into="list" data-sort="x" data-time="{time}">.</p>')
    assert ids(doc, "list") == ["m2", "m4", "m3", "m1"]


def test_reorder_is_exposed_and_moves_only_what_is_out_of_place():
    doc = LiveDocument('<ul id="list"><li id="a" data-sort="a">a</li><li id="c" data-sort="c">c</li>'
                       '<li id="b" data-sort="b">b</li><li id="d" data-sort="d">d</li></ul>')
    originals = {ident: doc.element(ident) for ident in "abcd"}
    doc.reorder("list")
    assert ids(doc, "list") == ["a", "b", "c", "d"]
    assert all(doc.element(ident) is node for ident, node in originals.items())
    before = doc.html()
    doc.reorder("list")
    doc.reorder("nowhere")
    assert doc.html() == before


# ---- Idempotency -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("frame", [
    upsert("q-a", "a", "questions"),
    upsert("q-b", "z", "questions"),
    '<li id="c3" data-swap="append" data-into="chat">three</li><li id="c4" data-swap="append" data-into="chat">4</li>',
    '<p id="f1" data-swap="prepend" data-into="feed">news</p>',
    '<section id="status"><p id="status-line">Block 2</p></section>',
    '<li id="c1" data-swap="remove"></li>',
])
def test_applying_a_frame_twice_equals_applying_it_once(frame):
    once, twice = LiveDocument(PAGE), LiveDocument(PAGE)
    once.apply(frame)
    twice.apply(frame)
    twice.apply(frame)
    assert_same_dom(once, twice, frame)


# ---- Canonical form ----------------------------------------------------------------------------------------


def test_canonical_form_normalises_whitespace_comments_and_attribute_order():
    a = LiveDocument('<p id="p" class="x" title="t">  Hello\n   <b>big</b>   world <!-- note --> ! </p>')
    b = LiveDocument('<p title="t" id="p" class="x">Hello <b> big </b>world !</p>')
    assert_same_dom(a, b)
    assert a.canonical() == '<p class="x" id="p" title="t">\n  Hello\n  <b>\n    big\n  </b>\n  world !\n</p>\n'


def test_canonical_form_keeps_non_breaking_spaces_and_escapes():
    assert "&lt;a &amp; b&gt;" in LiveDocument("<p>&lt;a &amp; b&gt;</p>").canonical()
    assert not same(LiveDocument("<p>a\u00a0b</p>"), LiveDocument("<p>a b</p>"))


def test_canonical_form_empties_the_ignored_ids():
    a = LiveDocument('<div id="live-announcer" aria-live="polite">Voting opened</div>')
    b = LiveDocument('<div id="live-announcer" aria-live="polite"></div>')
    assert_same_dom(a, b)
    assert not same(LiveDocument('<div id="live-announcer" aria-live="off"></div>'), b)
    assert a.canonical(ignore_ids=()) != b.canonical(ignore_ids=())


def test_assert_same_dom_shows_a_diff():
    with pytest.raises(AssertionError) as failure:
        assert_same_dom(LiveDocument('<p id="p">old</p>'), LiveDocument('<p id="p">new</p>'), "after frame 3")
    message = str(failure.value)
    assert message.startswith("after frame 3: the documents differ") and "-  old" in message and "+  new" in message


def test_html_round_trips_through_the_canonical_form():
    doc = LiveDocument(PAGE + FORM)
    doc.apply('<li id="c3" data-swap="append" data-into="chat">a &amp; b <i>c</i> d</li>')
    assert_same_dom(LiveDocument(doc.html()), doc)


# ---- Properties over random frames -------------------------------------------------------------------------

POOL = ["i1", "i2", "i3", "i4"]
SNAPSHOT = """
<ul id="list"><li id="i1" data-sort="b"><span id="i1-n">0</span></li></ul>
<ol id="log" data-max="2"></ol>
<section id="panel"><p id="panel-text">start</p><textarea id="panel-note" data-keep>typed</textarea></section>
<div id="live-announcer" aria-live="polite"></div>
"""

keys = st.sampled_from(["a", "b", "B", "ab", "", "10", "9", "é", "\U0001f600", "\uff01"])
counts = st.integers(0, 3).map(str)


@st.composite
def instructions(draw) -> str:
    ident = draw(st.sampled_from(POOL))
    kind = draw(st.sampled_from(["upsert", "append", "prepend", "replace", "remove", "panel", "announce", "junk"]))
    body = f'<span id="{ident}-n">{draw(counts)}</span>'
    if draw(st.booleans()):
        body += f'<input id="{ident}-note" data-keep value="{draw(counts)}">'
    if kind == "upsert":
        return f'<li id="{ident}" data-swap="upsert" data-into="list" data-sort="{draw(keys)}">{body}</li>'
    if kind in ("append", "prepend"):
        into = draw(st.sampled_from(["log", "list", "nowhere"]))
        return f'<li id="{ident}" data-swap="{kind}" data-into="{into}">{body}</li>'
    if kind == "replace":
        return f'<li id="{ident}" data-sort="{draw(keys)}">{body} replaced</li>'
    if kind == "remove":
        return f'<li id="{draw(st.sampled_from([*POOL, "log", "panel-note"]))}" data-swap="remove"></li>'
    if kind == "panel":
        note = '<textarea id="panel-note"></textarea>' if draw(st.booleans()) else ""
        return f'<section id="panel"><p id="panel-text">{draw(counts)}</p>{note}</section>'
    if kind == "announce":
        return f'<div id="live-announcer" data-swap="inner">{draw(counts)}</div>'
    return draw(st.sampled_from(["stray text", "<p>no id</p>", '<p id="i1" data-swap="bogus">x</p>']))


frames = st.lists(instructions(), min_size=1, max_size=3).map("\n".join)


def check_invariants(doc: LiveDocument, context: str) -> None:
    everywhere = [el.get("id") for el in doc.root.iter() if isinstance(el.tag, str) and el.get("id")]
    assert len(everywhere) == len(set(everywhere)), f"{context}: duplicate ids {everywhere}"
    log = doc.element("log")
    assert log is None or len(log) <= 2, context


def check_order(doc: LiveDocument, context: str) -> None:
    listed = doc.element("list")
    if listed is not None:
        sort_keys = [el.get("data-sort").encode("utf-16-be", "surrogatepass") for el in listed
                     if el.get("data-sort") is not None]
        assert sort_keys == sorted(sort_keys), context
        assert all(el.get("data-sort") is not None for el in listed[:len(sort_keys)]), context


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(frames, min_size=1, max_size=8))
def test_random_frames_keep_the_invariants_and_each_frame_is_idempotent(sequence):
    doc = LiveDocument(SNAPSHOT)
    for number, frame in enumerate(sequence):
        again = LiveDocument(doc.html())
        assert_same_dom(again, doc, "html() round trip")
        doc.apply(frame)
        check_invariants(doc, f"after frame {number}")
        if 'data-swap="upsert"' in frame.split("\n")[-1]:
            # The last instruction restored the order of its container.
            check_order(doc, f"after frame {number}")
        if "\n" not in frame:
            # A single instruction applied twice equals applied once.
            again.apply(frame)
            again.apply(frame)
            assert_same_dom(again, doc, f"frame {number} applied twice: {frame!r}")


# A model of the server: its state renders both the full snapshot and, for each change, the frame it
# pushes. The snapshot plus the frames must equal a fresh snapshot (what the server tests check for real).


def render_question(ident: str, votes: int) -> str:
    return (f'<li id="{ident}" data-swap="upsert" data-into="questions" data-sort="{1000 - votes:04d}-{ident}">'
            f'<span id="{ident}-votes">{votes}</span> votes <button id="{ident}-vote">Vote</button></li>')


def render_message(ident: str, message: str) -> str:
    return f'<li id="{ident}" data-swap="append" data-into="chat">{message}</li>'


def render_page(questions: dict[str, int], chat: list[tuple[str, str]], status: str) -> str:
    ordered = sorted(questions.items(), key=lambda item: (1000 - item[1], item[0]))
    return (f'<ul id="questions">{"".join(render_question(i, v) for i, v in ordered)}</ul>'
            f'<ol id="chat" data-max="3">{"".join(render_message(i, m) for i, m in chat[-3:])}</ol>'
            f'<section id="status"><p>{status}</p><textarea id="note" data-keep></textarea></section>'
            '<div id="live-announcer" aria-live="polite"></div>')


operations = st.lists(st.tuples(st.sampled_from(["ask", "vote", "withdraw", "chat", "status"]),
                                st.sampled_from(["q1", "q2", "q3", "q4", "q5"]),
                                st.integers(0, 9)), max_size=25)


@settings(max_examples=100, deadline=None)
@given(operations)
def test_a_snapshot_plus_the_pushed_frames_equals_a_fresh_snapshot(ops):
    questions: dict[str, int] = {"q1": 2}
    chat: list[tuple[str, str]] = []
    status = "Waiting"
    client = LiveDocument(render_page(questions, chat, status))
    for number, (op, ident, value) in enumerate(ops):
        if op == "ask" and ident not in questions:
            questions[ident] = 0
            frame = render_question(ident, 0) + '<div id="live-announcer" data-swap="inner">New question</div>'
        elif op == "vote" and ident in questions:
            questions[ident] += value
            frame = render_question(ident, questions[ident])
        elif op == "withdraw" and ident in questions:
            del questions[ident]
            frame = f'<li id="{ident}" data-swap="remove"></li>'
        elif op == "chat":
            chat.append((f"m{number}", f"message {value}"))
            frame = render_message(*chat[-1])
        elif op == "status":
            status = f"Block {value}"
            frame = f'<section id="status"><p>{status}</p><textarea id="note" data-keep></textarea></section>'
        else:
            continue
        client.apply(frame)
        assert_same_dom(client, LiveDocument(render_page(questions, chat, status)), f"after {op} {ident} {value}")
