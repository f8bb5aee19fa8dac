"""Poll rules without a database: validate one answer, aggregate many. Pure functions.

Answers are normalised before they are stored, so aggregation never has to second-guess them:
single/multiple ``{"option_ids": [...]}``, scale ``{"value": n}``, word cloud ``{"words": [...]}``
(case-folded, whitespace collapsed, at most three distinct words), open text ``{"text": s}``,
ranking ``{"ranking": [every option id, best first]}``.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ehalsodag.i18n import _
from ehalsodag.text import TextError, clean_text

MAX_WORDS = 3
#: The most entries (empty form boxes included) a word-cloud answer may carry at all.
MAX_WORD_ITEMS = 10
MAX_WORD_LENGTH = 40
MAX_TEXT_LENGTH = 500
MAX_OPTIONS = 20
MAX_OPTION_LABEL = 200
MAX_QUESTION_LENGTH = 300
WORDCLOUD_TOP = 60


class AnswerError(TextError):
    """An answer that does not fit the poll; the message is shown to the attendee."""


@dataclass(frozen=True)
class PollShape:
    """What validation needs to know of a poll."""

    kind: str
    option_ids: tuple[int, ...] = ()
    max_picks: int | None = None
    scale_min: int | None = None
    scale_max: int | None = None


def percent(count: int, total: int) -> float:
    """``count`` of ``total`` in percent, rounded half-up to one decimal, from integers only (45/50 → 90.0)."""
    if total <= 0:
        return 0.0
    tenths = (count * 2000 + total) // (2 * total)
    return tenths / 10


def normalise_word(word: Any) -> str:
    """One word-cloud entry: NFC, case-folded, inner whitespace collapsed to one space."""
    text = clean_text(word, MAX_WORD_LENGTH, what=_("A word"))
    return re.sub(r"\s+", " ", text).casefold()


def _int_list(value: Any, what: str) -> list[int]:
    if not isinstance(value, list) or not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        raise AnswerError(_("%(what)s must be a list of option ids.", what=what))
    return value


def validate_answer(poll: PollShape, raw: dict[str, Any]) -> dict[str, Any]:
    """Check ``raw`` against the poll and return the normalised answer to store (or raise AnswerError)."""
    try:
        return _validate(poll, raw)
    except AnswerError:
        raise
    except TextError as exc:
        raise AnswerError(str(exc)) from exc


def _nothing_given(kind: str) -> str:
    """What to say to an answer with nothing in it (a form sent untouched)."""
    if kind in ("single", "multiple"):
        return _("Pick an option.")
    if kind == "scale":
        return _("Choose a value on the scale.")
    if kind == "wordcloud":
        return _("Give at least one word.")
    if kind == "ranking":
        return _("Rank every option exactly once.")
    return _("%(what)s is empty.", what=_("The answer"))


def _validate(poll: PollShape, raw: dict[str, Any]) -> dict[str, Any]:
    kind = poll.kind
    if not raw:
        raise AnswerError(_nothing_given(kind))
    if kind in ("single", "multiple"):
        picks = _int_list(raw.get("option_ids"), _("option_ids"))
        if len(set(picks)) != len(picks):
            raise AnswerError(_("Pick each option only once."))
        unknown = [p for p in picks if p not in poll.option_ids]
        if unknown:
            raise AnswerError(_("There is no option %(id)s in this poll.", id=unknown[0]))
        if not picks:
            raise AnswerError(_("Pick an option."))
        limit = 1 if kind == "single" else (poll.max_picks or len(poll.option_ids))
        if len(picks) > limit:
            raise AnswerError(_("Pick at most %(max)d options.", max=limit))
        return {"option_ids": sorted(picks, key=poll.option_ids.index)}
    if kind == "scale":
        value = raw.get("value")
        if not isinstance(value, int) or isinstance(value, bool):
            raise AnswerError(_("Choose a value on the scale."))
        low, high = poll.scale_min or 1, poll.scale_max or 5
        if not low <= value <= high:
            raise AnswerError(_("Choose a value from %(low)d to %(high)d.", low=low, high=high))
        return {"value": value}
    if kind == "wordcloud":
        words = raw.get("words")
        if isinstance(words, str):
            words = [words]
        if not isinstance(words, list) or len(words) > MAX_WORD_ITEMS:
            raise AnswerError(_("Give up to %(max)d words.", max=MAX_WORDS))
        cleaned: dict[str, None] = {}  # insertion-ordered set: each word checked once, in constant time
        for word in words:
            if isinstance(word, str) and not word.strip():
                continue  # empty boxes of the form
            cleaned[normalise_word(word)] = None
            if len(cleaned) > MAX_WORDS:  # refused at the fourth distinct word, whatever follows
                raise AnswerError(_("Give up to %(max)d words.", max=MAX_WORDS))
        if not cleaned:
            raise AnswerError(_("Give at least one word."))
        return {"words": list(cleaned)}
    if kind == "open_text":
        return {"text": clean_text(raw.get("text"), MAX_TEXT_LENGTH, what=_("The answer"))}
    if kind == "ranking":
        ranking = _int_list(raw.get("ranking"), _("ranking"))
        if sorted(ranking) != sorted(poll.option_ids) or len(ranking) != len(poll.option_ids):
            raise AnswerError(_("Rank every option exactly once."))
        return {"ranking": ranking}
    raise AnswerError(_("Unknown poll kind."))


@dataclass
class OptionResult:
    """One bar: an option (or a scale value, or a word) with its count and share."""

    label: str
    count: int
    percent: float
    option_id: int | None = None
    score: int | None = None
    mean_rank: float | None = None


@dataclass
class PollResult:
    """The aggregate of a poll: what every chart, export and push shows."""

    kind: str
    responses: int
    options: list[OptionResult] = field(default_factory=list)
    mean: float | None = None
    texts: list[str] = field(default_factory=list)


def aggregate(
    kind: str,
    options: Sequence[tuple[int, str]],
    answers: Iterable[dict[str, Any]],
    *,
    scale: tuple[int, int] | None = None,
    wall: Iterable[str] = (),
) -> PollResult:
    """Aggregate normalised answers.

    Percentages are shares of respondents (so multiple-choice bars may add up to more than 100).
    Ranking uses a Borda count: with n options, first place scores n points and last place 1.
    Open text reports the number of answers and the approved wall (``wall``), never the raw texts.
    """
    answers = list(answers)
    n = len(answers)
    result = PollResult(kind=kind, responses=n)
    if kind in ("single", "multiple"):
        counts = Counter(oid for a in answers for oid in a.get("option_ids", []))
        result.options = [OptionResult(label, counts[oid], percent(counts[oid], n), oid) for oid, label in options]
    elif kind == "scale":
        low, high = scale or (1, 5)
        values = Counter(a["value"] for a in answers if "value" in a)
        result.options = [OptionResult(str(v), values[v], percent(values[v], n)) for v in range(low, high + 1)]
        total = sum(v * c for v, c in values.items())
        result.mean = round_half_up(total / n, 2) if n else None
    elif kind == "wordcloud":
        words = Counter(w for a in answers for w in a.get("words", []))
        top = sorted(words.items(), key=lambda item: (-item[1], item[0]))[:WORDCLOUD_TOP]
        result.options = [OptionResult(word, count, percent(count, n)) for word, count in top]
    elif kind == "ranking":
        size = len(options)
        scores: Counter[int] = Counter()
        rank_sums: Counter[int] = Counter()
        for a in answers:
            for position, oid in enumerate(a.get("ranking", [])):
                scores[oid] += size - position
                rank_sums[oid] += position + 1
        rows = [
            OptionResult(label, scores[oid], percent(scores[oid], n * size) if n else 0.0, oid, scores[oid],
                         round_half_up(rank_sums[oid] / n, 2) if n else None)
            for oid, label in options
        ]
        result.options = sorted(rows, key=lambda r: (-(r.score or 0), [o for o, _l in options].index(r.option_id)))
    elif kind == "open_text":
        result.texts = list(wall)
    return result


def round_half_up(value: float, digits: int) -> float:
    """Round like people do (2.345 → 2.35), not like floats do."""
    from decimal import ROUND_HALF_UP, Decimal

    quantum = Decimal(1).scaleb(-digits)
    return float(Decimal(repr(value)).quantize(quantum, rounding=ROUND_HALF_UP))


# --- the kept tally: what one answer adds, and the result from the sums ------------------------------------

#: The tally key counting the answers themselves.
RESPONSES = "n"


def contribution(kind: str, answer: dict[str, Any]) -> Counter[str]:
    """What one normalised answer adds to its poll's tally (and takes away when it is replaced or erased):
    one answer, and per kind the picks, the scale value, the words, or each option's place in a ranking."""
    counts: Counter[str] = Counter({RESPONSES: 1})
    if kind in ("single", "multiple"):
        counts.update(f"o:{oid}" for oid in answer.get("option_ids", []))
    elif kind == "scale":
        if "value" in answer:
            counts[f"v:{answer['value']}"] += 1
    elif kind == "wordcloud":
        counts.update(f"w:{word}" for word in answer.get("words", []))
    elif kind == "ranking":
        counts.update(f"r:{oid}:{place}" for place, oid in enumerate(answer.get("ranking", [])))
    return counts


def from_tally(
    kind: str,
    options: Sequence[tuple[int, str]],
    tally: dict[str, int],
    *,
    scale: tuple[int, int] | None = None,
    wall: Iterable[str] = (),
) -> PollResult:
    """The same result as :func:`aggregate` of the answers whose contributions sum to ``tally``."""
    n = tally.get(RESPONSES, 0)
    result = PollResult(kind=kind, responses=n)
    counts = {key: count for key, count in tally.items() if count}
    if kind in ("single", "multiple"):
        result.options = [OptionResult(label, counts.get(f"o:{oid}", 0), percent(counts.get(f"o:{oid}", 0), n), oid)
                          for oid, label in options]
    elif kind == "scale":
        low, high = scale or (1, 5)
        values = {int(key[2:]): count for key, count in counts.items() if key.startswith("v:")}
        result.options = [OptionResult(str(v), values.get(v, 0), percent(values.get(v, 0), n))
                          for v in range(low, high + 1)]
        total = sum(v * c for v, c in values.items())
        result.mean = round_half_up(total / n, 2) if n else None
    elif kind == "wordcloud":
        words = [(key[2:], count) for key, count in counts.items() if key.startswith("w:")]
        top = sorted(words, key=lambda item: (-item[1], item[0]))[:WORDCLOUD_TOP]
        result.options = [OptionResult(word, count, percent(count, n)) for word, count in top]
    elif kind == "ranking":
        size = len(options)
        scores: Counter[int] = Counter()
        rank_sums: Counter[int] = Counter()
        for key, count in counts.items():
            if key.startswith("r:"):
                oid, place = (int(part) for part in key[2:].split(":"))
                scores[oid] += (size - place) * count
                rank_sums[oid] += (place + 1) * count
        rows = [
            OptionResult(label, scores[oid], percent(scores[oid], n * size) if n else 0.0, oid, scores[oid],
                         round_half_up(rank_sums[oid] / n, 2) if n else None)
            for oid, label in options
        ]
        result.options = sorted(rows, key=lambda r: (-(r.score or 0), [o for o, _l in options].index(r.option_id)))
    elif kind == "open_text":
        result.texts = list(wall)
    return result
