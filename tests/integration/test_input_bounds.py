"""Issue 15, item 1: every list and text of every input is bounded at decoding, before any work.

* Every Struct that a route decodes (found from the app's routes, JSON and forms alike) bounds every text, list,
  dict and number it holds; a route added later without bounds fails here.
* Over every route that takes a body, on SQLite and PostgreSQL: a text or list one past its bound is refused with
  a 4xx naming the field, and no row of any table changes.
* The word-cloud check does a number of operations bounded by the three-word limit, however many words come
  (counted, not timed).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec
import pytest

from ehalsodag.app import create_app
from ehalsodag.polls import logic
from tests.conftest import make_settings
from tests.support.inputs import DATABASES, database, day, inputs


def _bounded(info: msgspec.inspect.Type, where: str, problems: list[str]) -> None:
    """Collect the unbounded texts, lists, dicts and numbers inside ``info``."""
    kinds = msgspec.inspect
    if isinstance(info, kinds.UnionType):
        for member in info.types:
            _bounded(member, where, problems)
    elif isinstance(info, kinds.StrType):
        if info.max_length is None or info.pattern is None:
            problems.append(f"{where}: a text without max_length or the NUL pattern")
    elif isinstance(info, kinds.IntType):
        if info.ge is None or info.le is None:
            problems.append(f"{where}: a number without bounds")
    elif isinstance(info, kinds.ListType | kinds.SetType | kinds.FrozenSetType | kinds.VarTupleType):
        if info.max_length is None:
            problems.append(f"{where}: a list without max_length")
        _bounded(info.item_type, f"{where}[]", problems)
    elif isinstance(info, kinds.DictType):
        if info.max_length is None:
            problems.append(f"{where}: a dict without max_length")
        _bounded(info.key_type, f"{where}{{key}}", problems)
        _bounded(info.value_type, f"{where}{{value}}", problems)
    elif isinstance(info, kinds.AnyType):
        problems.append(f"{where}: Any (nothing bounds it)")


def _fields(struct: type[msgspec.Struct]) -> list[msgspec.inspect.Field]:
    return list(msgspec.inspect.type_info(struct).fields)  # type: ignore[union-attr]


def test_every_input_of_every_route_is_bounded_at_decoding(tmp_path: Path):
    app = create_app(make_settings(tmp_path))
    found = inputs(app)
    assert len({(i.method, i.path) for i in found}) >= 25, found  # JSON routes and forms alike
    problems: list[str] = []
    for struct in {i.struct for i in found}:
        for field in _fields(struct):
            _bounded(field.type, f"{struct.__name__}.{field.name}", problems)
    assert problems == []


def _one_item(info: msgspec.inspect.Type) -> Any:
    """A valid-looking value of ``info`` (for the items of an oversized list)."""
    kinds = msgspec.inspect
    if isinstance(info, kinds.UnionType):
        return _one_item(next(t for t in info.types if not isinstance(t, kinds.NoneType)))
    if isinstance(info, kinds.IntType):
        return 1
    if isinstance(info, kinds.BoolType):
        return False
    return "x"


def oversized(struct: type[msgspec.Struct], form: bool) -> list[tuple[str, dict[str, Any]]]:
    """For each text or list field: a body with that field one past its bound (others at their defaults)."""
    kinds = msgspec.inspect
    bodies = []
    for field in _fields(struct):
        types = field.type.types if isinstance(field.type, kinds.UnionType) else (field.type,)
        for info in types:
            if isinstance(info, kinds.StrType):
                bodies.append((field.encode_name, {field.encode_name: "x" * (info.max_length + 1)}))
            elif isinstance(info, kinds.ListType):
                item = _one_item(info.item_type)
                bodies.append((field.encode_name, {field.encode_name: [item] * (info.max_length + 1)}))
            elif isinstance(info, kinds.DictType) and not form:  # a form is flat: no dict to send
                bodies.append((field.encode_name, {field.encode_name: {f"k{i}": 1 for i in range(
                    info.max_length + 1)}}))
    return bodies


@pytest.mark.parametrize("kind", DATABASES)
async def test_oversized_lists_and_texts_are_refused_on_every_route_and_change_nothing(kind: str, tmp_path: Path):
    with database(kind, tmp_path) as settings:
        async with day(settings) as today:
            before = await today.row_counts()
            sent = 0
            wrong: list[str] = []
            for item in inputs(today.app):
                for name, body in oversized(item.struct, item.form):
                    response = await today.send(item, body)
                    sent += 1
                    if response.status_code not in (400, 413, 422) or name not in response.text:
                        wrong.append(f"{item} {name}: {response.status_code} {response.text[:200]}")
            assert sent >= 40
            assert wrong == []
            assert await today.row_counts() == before


def test_a_word_cloud_answer_costs_operations_bounded_by_the_word_limit(monkeypatch: pytest.MonkeyPatch):
    calls = 0
    real = logic.normalise_word

    def counted(word: Any) -> str:
        nonlocal calls
        calls += 1
        return real(word)

    monkeypatch.setattr(logic, "normalise_word", counted)
    poll = logic.PollShape(kind="wordcloud")
    for size in (10, 11_000):
        calls = 0
        with pytest.raises(logic.AnswerError):
            logic.validate_answer(poll, {"words": [f"ord{i}" for i in range(size)]})
        assert calls <= logic.MAX_WORDS + 1, (size, calls)  # refused at the fourth distinct word (or before)
    calls = 0
    assert logic.validate_answer(poll, {"words": ["Samverkan", "samverkan ", "", "vård"]}) == {
        "words": ["samverkan", "vård"]}
    assert calls == 3
