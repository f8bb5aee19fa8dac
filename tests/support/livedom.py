"""A simulated client for the live layer: applies websocket "frames" to a document the way static/js/live.js
does in the browser, so that server tests can check that a snapshot plus the frames pushed since equals a
fresh snapshot. tests/browser/test_live_applier.py checks on random frames that both give the same DOM.

The protocol (the contract both implement):

A frame is an HTML string. Each top-level element is one instruction and carries an id (top-level elements
without an id, and top-level text, are ignored). ``data-swap`` selects the operation (default ``replace``):

- ``replace``: if an element with that id exists, PATCH it into the new element; otherwise nothing.
- ``inner``: if it exists, its children become the new element's children (plainly: no KEEP; the browser does
  not morph them either, so that a live region announces even a repeated message); its own attributes, and
  the node, stay. Used for aria-live regions.
- ``upsert`` (with ``data-into="<container id>"`` and ``data-sort="<string>"``): PATCH the element if it
  exists, else insert it into the container (no container: nothing); then ORDER the container; if it has
  ``data-max="N"``, then remove element children from its start until at most N remain.
- ``append`` / ``prepend`` (with ``data-into``): PATCH the element if it exists, else insert it as the
  container's last / first element child; if the container has ``data-max="N"``, then remove element children
  from the other end (from the start after an append) until at most N remain.
- ``remove``: remove the element with that id, if present.

Unknown operations are ignored. ``data-swap``, ``data-into`` and ``data-sort`` stay on the inserted element.

Table parts as instructions (``<tr>``; ``<td>``/``<th>``; ``<tbody>``, ``<thead>``, ``<tfoot>``, ``<caption>``,
``<colgroup>``; ``<col>``) travel in frames of their own kind: the browser parses a frame in a <template>, whose
parser follows the first top-level element, so it drops a ``<tr>`` after an ``<li>`` (keeping the text and
elements inside it) and wraps a ``<tr>`` after a ``<tbody>`` in a new tbody. LiveDocument raises ValueError
for a frame that mixes them. (Inside elements the usual HTML rules apply; lxml does not add the implied
``<tbody>`` to a ``<table><tr>``, so write the tbody.)

PATCH(old, new): the result is the new element, except that every descendant of old that has ``data-keep`` and
an id which also occurs on a descendant of new is kept: the old node (with its subtree, never synced) takes
the place of the new node with that id. A kept node without counterpart is dropped; old itself is never kept.
The browser also leaves nodes equal to their new version in place, restores the focus, and gives form controls
whose markup changed the value of their new markup; none of that shows in the markup, so here KEEP is the only
difference from plain replacement.

ORDER(container): element children that have ``data-sort`` end in ascending order of it, compared by UTF-16
code unit like JavaScript's ``<`` (ties keep their relative order); children without it stay after them in
their order. ``data-order="<attribute>"`` and ``data-order-dir="desc"`` choose another key and direction.

Text sits in the tree as in the DOM: moving or removing an element leaves the text after it (lxml's ``tail``)
where it was. Ids are expected to be unique within the document and within each instruction.
"""

from __future__ import annotations

import difflib
import html
import re
from collections.abc import Iterable, Iterator

import lxml.html
from lxml.html import HtmlElement

__all__ = ["LiveDocument", "assert_same_dom", "reorder"]

_SPACE = re.compile(r"[ \t\n\r\f]+")  # HTML's whitespace, not Python's (which includes U+00A0)
_LEADING_INT = re.compile(r"[ \t\n\r\f]*([+-]?[0-9]+)")  # what JavaScript's parseInt(value, 10) reads
_VOID = frozenset("area base br col embed hr img input link meta source track wbr".split())
# Top-level elements that a browser's <template> parses alike only among their own kind.
_TABLE_PARTS = {"tr": "rows", "td": "cells", "th": "cells", "col": "columns", "tbody": "sections",
                "thead": "sections", "tfoot": "sections", "caption": "sections", "colgroup": "sections"}


def _parse(fragment: str) -> list[HtmlElement]:
    """The top-level elements of an HTML fragment, parsed inside a <body> so that a top-level <tr>, <li> or
    <option> survives. Comments and text are left out. Raises ValueError for a fragment that mixes table parts
    with other top-level elements (see the module docstring)."""
    body = lxml.html.document_fromstring(f"<html><body>{fragment}</body></html>").body
    elements = [child for child in body if _is_element(child)]
    kinds = {_TABLE_PARTS.get(el.tag, "other elements") for el in elements}
    if len(kinds) > 1 and kinds - {"other elements"}:
        raise ValueError(f"a frame with top-level {' and '.join(sorted(kinds))}: a browser parses it differently "
                         f"(send table parts in frames of their own kind): {fragment[:300]!r}")
    return elements


def _is_element(node: object) -> bool:
    return isinstance(node, HtmlElement) and isinstance(node.tag, str)


def _elements(parent: HtmlElement) -> list[HtmlElement]:
    return [child for child in parent if _is_element(child)]


def _detach(el: HtmlElement) -> None:
    """DOM remove(): the text after el (its tail) stays where it was."""
    parent = el.getparent()
    if parent is None:
        return
    if el.tail:
        previous = el.getprevious()
        if previous is not None:
            previous.tail = (previous.tail or "") + el.tail
        else:
            parent.text = (parent.text or "") + el.tail
    el.tail = None
    parent.remove(el)


def _insert_before(parent: HtmlElement, el: HtmlElement, ref: HtmlElement | None) -> None:
    """DOM insertBefore(el, ref): right before ref, after the text that precedes it; at the very end for None."""
    _detach(el)
    if ref is None:
        parent.append(el)
    else:
        parent.insert(parent.index(ref), el)


def _replace(old: HtmlElement, new: HtmlElement) -> None:
    """DOM replaceChild(new, old): the text around old stays."""
    _detach(new)
    new.tail, old.tail = old.tail, None
    parent = old.getparent()
    assert parent is not None
    parent.replace(old, new)


def _set_children(target: HtmlElement, source: HtmlElement) -> None:
    """target's content (text and child nodes) becomes source's."""
    for child in list(target):
        target.remove(child)
    target.text = source.text
    for child in list(source):
        target.append(child)


def _collect_keep(old: HtmlElement, new: HtmlElement) -> dict[str, HtmlElement]:
    """The kept nodes by id: descendants of old with data-keep whose id occurs below new, in document order,
    first come first served. A kept node's subtree travels with it and is not looked at separately."""
    wanted = {el.get("id") for el in new.iterdescendants() if _is_element(el) and el.get("id")}
    keep: dict[str, HtmlElement] = {}

    def walk(parent: HtmlElement) -> None:
        for child in _elements(parent):
            ident = child.get("id")
            if ident and child.get("data-keep") is not None and ident in wanted and ident not in keep:
                keep[ident] = child
            else:
                walk(child)

    walk(old)
    return keep


def _substitute(parent: HtmlElement, keep: dict[str, HtmlElement]) -> None:
    """Put the kept nodes in place of their counterparts below parent (document order; a replaced
    counterpart's subtree is gone, so kept nodes whose counterpart was inside it are dropped)."""
    for child in _elements(parent):
        ident = child.get("id")
        if ident and ident in keep:
            _replace(child, keep.pop(ident))
        else:
            _substitute(child, keep)


def _patch(old: HtmlElement, new: HtmlElement) -> None:
    keep = _collect_keep(old, new)
    _substitute(new, keep)
    _replace(old, new)


def _utf16(value: str) -> bytes:
    """Sort key that orders str like JavaScript's < does (by UTF-16 code unit, not by code point)."""
    return value.encode("utf-16-be", "surrogatepass")


def _longest_increasing(indices: list[int], positions: list[int]) -> list[int]:
    """A longest run of indices whose positions increase (patience sorting); the same as live.js, so that
    both move the same nodes."""
    tails: list[int] = []
    previous: dict[int, int] = {}
    for index in indices:
        lo, hi = 0, len(tails)
        while lo < hi:
            mid = (lo + hi) // 2
            if positions[tails[mid]] < positions[index]:
                lo = mid + 1
            else:
                hi = mid
        previous[index] = tails[lo - 1] if lo > 0 else -1
        if lo == len(tails):
            tails.append(index)
        else:
            tails[lo] = index
    run = []
    at = tails[-1] if tails else -1
    while at != -1:
        run.append(at)
        at = previous[at]
    return run


def reorder(container: HtmlElement) -> None:
    """ORDER: sort the container's element children by data-sort (or its data-order attribute), moving only
    the nodes that are out of place."""
    attr = (container.get("data-order") or "data-sort").lower()
    descending = container.get("data-order-dir") == "desc"
    children = _elements(container)
    keyed = [(position, el) for position, el in enumerate(children) if el.get(attr) is not None]
    rest = [(position, el) for position, el in enumerate(children) if el.get(attr) is None]
    # sorted() is stable, also with reverse=True: ties keep their relative order.
    keyed.sort(key=lambda item: _utf16(item[1].get(attr)), reverse=descending)
    desired = keyed + rest
    positions = [position for position, _ in desired]
    staying = set(_longest_increasing(list(range(len(desired))), positions))
    for index in range(len(desired) - 1, -1, -1):
        if index not in staying:
            _insert_before(container, desired[index][1], desired[index + 1][1] if index + 1 < len(desired) else None)


def _trim(container: HtmlElement, from_start: bool) -> None:
    match = _LEADING_INT.match(container.get("data-max") or "")
    if not match:
        return
    limit = max(int(match.group(1)), 0)
    children = _elements(container)
    excess = max(len(children) - limit, 0)
    for victim in children[:excess] if from_start else children[len(children) - excess:]:
        _detach(victim)


class LiveDocument:
    """A page as a client sees it: built from a snapshot frame (whose top-level elements become the body's
    children; one whose id is already there, such as an attendee's own fragments that follow the shared
    snapshot, is applied to it), then changed by frames with apply()."""

    def __init__(self, snapshot_html: str) -> None:
        self.root: HtmlElement = lxml.html.document_fromstring("<html><head></head><body></body></html>")
        self.body: HtmlElement = self.root.body
        for el in _parse(snapshot_html):
            if el.get("id") and self.element(el.get("id")) is not None:
                self._run(el)  # an attendee's own fragments after the shared snapshot: applied, as on the page
                continue
            el.tail = None
            self.body.append(el)

    def element(self, ident: str) -> HtmlElement | None:
        """The first element with this id, like document.getElementById."""
        found = self.root.xpath("//*[@id=$ident]", ident=ident)
        return found[0] if found else None

    def apply(self, frame: str) -> None:
        """Apply one frame (see the module docstring)."""
        for item in _parse(frame):
            if item.get("id"):
                self._run(item)

    def reorder(self, container_id: str) -> None:
        """ORDER the container with this id, if it exists."""
        container = self.element(container_id)
        if container is not None:
            reorder(container)

    def _run(self, item: HtmlElement) -> None:
        swap = item.get("data-swap") or "replace"
        current = self.element(item.get("id"))
        if swap == "remove":
            if current is not None:
                _detach(current)
        elif swap == "inner":
            if current is not None:
                _set_children(current, item)
        elif swap == "replace":
            if current is not None:
                _patch(current, item)
        elif swap in ("upsert", "append", "prepend"):
            into = item.get("data-into")
            container = self.element(into) if into else None
            if current is not None:
                _patch(current, item)
            elif container is not None:
                first = next(iter(_elements(container)), None) if swap == "prepend" else None
                item.tail = None
                _insert_before(container, item, first)
            if container is None:
                return
            if swap == "upsert":
                reorder(container)
            _trim(container, from_start=swap != "prepend")

    def html(self) -> str:
        """The body's content as HTML (what document.body.innerHTML would give)."""
        inner = html.escape(self.body.text or "", quote=False)
        return inner + "".join(lxml.html.tostring(child, encoding="unicode") for child in self.body)

    def canonical(self, ignore_ids: Iterable[str] = ("live-announcer",)) -> str:
        """A normalised serialisation for comparing documents: one node a line, indented; attributes sorted;
        whitespace runs in text collapsed to one space and stripped; comments removed (the text around them
        joined); the content of the elements whose id is in ignore_ids (transient announcements) left out."""
        return "\n".join(_canonical_lines(self.body, 0, frozenset(ignore_ids))) + "\n"

    def __repr__(self) -> str:
        return f"LiveDocument({self.html()!r})"


def _canonical_lines(parent: HtmlElement, depth: int, ignore: frozenset[str]) -> Iterator[str]:
    indent = "  " * depth
    pending = [parent.text or ""]

    def flush() -> Iterator[str]:
        text = _SPACE.sub(" ", "".join(pending)).strip()
        pending.clear()
        if text:
            yield indent + html.escape(text, quote=False)

    for child in parent:
        if _is_element(child):
            yield from flush()
            yield from _canonical_element(child, depth, ignore)
        pending.append(child.tail or "")
    yield from flush()


def _canonical_element(el: HtmlElement, depth: int, ignore: frozenset[str]) -> Iterator[str]:
    indent = "  " * depth
    tag = el.tag.lower()
    attrs = "".join(f' {name.lower()}="{html.escape(value, quote=True)}"' for name, value in sorted(el.attrib.items()))
    inner = [] if el.get("id") in ignore else list(_canonical_lines(el, depth + 1, ignore))
    if tag in _VOID and not inner:
        yield f"{indent}<{tag}{attrs}>"
    elif not inner:
        yield f"{indent}<{tag}{attrs}></{tag}>"
    else:
        yield f"{indent}<{tag}{attrs}>"
        yield from inner
        yield f"{indent}</{tag}>"


def assert_same_dom(a: LiveDocument, b: LiveDocument, context: str = "") -> None:
    """Raise AssertionError with a unified diff of the canonical forms unless the two documents are equal."""
    left, right = a.canonical(), b.canonical()
    if left == right:
        return
    diff = "".join(difflib.unified_diff(left.splitlines(keepends=True), right.splitlines(keepends=True),
                                        fromfile="first", tofile="second"))
    raise AssertionError(f"{context + ': ' if context else ''}the documents differ\n{diff}")
