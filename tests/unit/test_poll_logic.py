"""Each poll kind: what answers are accepted, how they are normalised and aggregated."""

import pytest

from ehalsodag.i18n import use_language
from ehalsodag.polls.logic import AnswerError, PollShape, aggregate, percent, validate_answer

SINGLE = PollShape("single", (11, 12, 13))
MULTIPLE = PollShape("multiple", (11, 12, 13, 14), max_picks=2)
SCALE = PollShape("scale", scale_min=1, scale_max=5)
WORDS = PollShape("wordcloud")
TEXT = PollShape("open_text")
RANKING = PollShape("ranking", (11, 12, 13))


def test_percent_is_rounded_half_up_from_integers():
    assert percent(45, 50) == 90.0
    assert percent(48, 50) == 96.0
    assert percent(1, 8) == 12.5
    assert percent(1, 3) == 33.3 and percent(2, 3) == 66.7
    assert percent(1, 16) == 6.3  # 6.25 rounds up, not to even
    assert percent(0, 0) == 0.0


@pytest.mark.parametrize(
    ("shape", "raw", "normal"),
    [
        (SINGLE, {"option_ids": [12]}, {"option_ids": [12]}),
        (MULTIPLE, {"option_ids": [14, 11]}, {"option_ids": [11, 14]}),
        (SCALE, {"value": 5}, {"value": 5}),
        (WORDS, {"words": ["  Samverkan ", "SAMVERKAN", "tillit\u00a0 och   mod", ""]},
         {"words": ["samverkan", "tillit och mod"]}),
        (WORDS, {"words": "Kompetens"}, {"words": ["kompetens"]}),
        (TEXT, {"text": "  Börja med invånarnas behov  "}, {"text": "Börja med invånarnas behov"}),
        (RANKING, {"ranking": [13, 11, 12]}, {"ranking": [13, 11, 12]}),
    ],
)
def test_valid_answers_are_normalised(shape, raw, normal):
    assert validate_answer(shape, raw) == normal


@pytest.mark.parametrize(
    ("shape", "raw", "message"),
    [
        (SINGLE, {"option_ids": [11, 12]}, "at most 1"),
        (SINGLE, {"option_ids": [99]}, "no option 99"),
        (SINGLE, {"option_ids": []}, "Pick an option"),
        (SINGLE, {"option_ids": ["11"]}, "list of option ids"),
        (SINGLE, {"value": 1}, "list of option ids"),
        (MULTIPLE, {"option_ids": [11, 12, 13]}, "at most 2"),
        (MULTIPLE, {"option_ids": [11, 11]}, "only once"),
        (SCALE, {"value": 6}, "from 1 to 5"),
        (SCALE, {"value": True}, "Choose a value"),
        (SCALE, {"value": "3"}, "Choose a value"),
        (WORDS, {"words": ["a", "b", "c", "d"]}, "up to 3"),
        (WORDS, {"words": ["", "  "]}, "at least one"),
        (WORDS, {"words": ["x" * 41]}, "at most 40"),
        (WORDS, {"words": ["ord\u200b"]}, "control characters"),
        (TEXT, {"text": ""}, "empty"),
        (TEXT, {"text": "x" * 501}, "at most 500"),
        (TEXT, {"text": "a\x00b"}, "control characters"),
        (RANKING, {"ranking": [11, 12]}, "exactly once"),
        (RANKING, {"ranking": [11, 11, 12]}, "exactly once"),
    ],
)
def test_invalid_answers_are_refused_with_a_reason(shape, raw, message):
    with use_language("en"), pytest.raises(AnswerError, match=message):
        validate_answer(shape, raw)


def test_choice_aggregation_counts_respondents():
    options = [(11, "Ja"), (12, "Nej"), (13, "Vet inte")]
    result = aggregate("multiple", options, [{"option_ids": [11, 12]}, {"option_ids": [11]}, {"option_ids": [13]},
                                             {"option_ids": [11]}])
    assert result.responses == 4
    assert [(o.label, o.count, o.percent) for o in result.options] == [
        ("Ja", 3, 75.0), ("Nej", 1, 25.0), ("Vet inte", 1, 25.0)]


def test_scale_aggregation_gives_distribution_and_mean():
    result = aggregate("scale", [], [{"value": v} for v in (5, 4, 4, 2, 5, 5)], scale=(1, 5))
    assert [o.count for o in result.options] == [0, 1, 0, 2, 3]
    assert result.mean == 4.17  # 25 / 6 = 4.1666…
    assert [o.label for o in result.options] == ["1", "2", "3", "4", "5"]


def test_wordcloud_counts_normalised_words_most_frequent_first():
    answers = [{"words": ["samverkan", "tillit"]}, {"words": ["samverkan"]}, {"words": ["kompetens", "tillit"]},
               {"words": ["samverkan"]}]
    result = aggregate("wordcloud", [], answers)
    assert [(o.label, o.count) for o in result.options] == [("samverkan", 3), ("tillit", 2), ("kompetens", 1)]


def test_ranking_uses_a_borda_count_and_mean_place():
    options = [(11, "Ledarskap"), (12, "Kompetens"), (13, "Infrastruktur")]
    answers = [{"ranking": [12, 11, 13]}, {"ranking": [12, 13, 11]}, {"ranking": [11, 12, 13]}]
    result = aggregate("ranking", options, answers)
    # Kompetens: 3+3+2 = 8; Ledarskap: 2+1+3 = 6; Infrastruktur: 1+2+1 = 4
    assert [(o.label, o.score, o.mean_rank) for o in result.options] == [
        ("Kompetens", 8, 1.33), ("Ledarskap", 6, 2.0), ("Infrastruktur", 4, 2.67)]


def test_open_text_shows_only_the_approved_wall():
    result = aggregate("open_text", [], [{"text": "a"}, {"text": "b"}], wall=["a"])
    assert result.responses == 2 and result.texts == ["a"]


def test_empty_polls_aggregate_without_dividing_by_zero():
    for kind in ("single", "scale", "wordcloud", "ranking", "open_text"):
        result = aggregate(kind, [(1, "A"), (2, "B")], [], scale=(1, 5))
        assert result.responses == 0 and result.mean is None
        assert all(o.percent == 0.0 for o in result.options)
