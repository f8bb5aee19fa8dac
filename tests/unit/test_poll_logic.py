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


@pytest.mark.parametrize(("shape", "message"), [
    (SINGLE, "Pick an option"), (MULTIPLE, "Pick an option"), (SCALE, "Choose a value"),
    (WORDS, "at least one word"), (TEXT, "answer is empty"), (RANKING, "exactly once")])
def test_an_untouched_form_is_refused_with_what_to_do(shape, message):
    with use_language("en"), pytest.raises(AnswerError, match=message):
        validate_answer(shape, {})


def _poll(poll_id, state, *, closed=None, opened=None, results="live", revealed=False, kind="single", options=()):
    import datetime as dt

    import ehalsodag.models  # noqa: F401  (every mapper configured)
    from ehalsodag.polls.models import Poll, PollOption

    at = dt.datetime(2021, 3, 23, 9, tzinfo=dt.UTC)
    return Poll(id=poll_id, state=state, results=results, revealed=revealed, kind=kind, question=f"Q{poll_id}",
                closed_at=at + dt.timedelta(minutes=closed) if closed is not None else None,
                opened_at=at + dt.timedelta(minutes=opened) if opened is not None else None,
                options=[PollOption(id=oid, label=label, position=i) for i, (oid, label) in enumerate(options)])


def test_attendees_see_the_open_polls_then_the_latest_closed_poll_with_visible_results():
    from ehalsodag.polls.service import attendee_sort_key, latest_closed, on_screen, shown_to_attendees

    polls = [_poll(1, "closed", closed=5), _poll(2, "open", opened=1), _poll(3, "closed", closed=9,
             results="on_reveal"), _poll(4, "closed", closed=7), _poll(5, "draft"), _poll(6, "open", opened=3)]
    shown = shown_to_attendees(polls)
    assert [p.id for p in shown] == [2, 6, 4]  # 3 closed later, but its results are hidden
    assert sorted(shown, key=attendee_sort_key) == shown  # the pages' order is the snapshot's order
    assert latest_closed(p for p in polls if p.id != 4).id == 1
    assert on_screen(polls).id == 6  # the most recently opened
    polls[2].revealed = True
    assert [p.id for p in shown_to_attendees(polls)] == [2, 6, 3]


def test_the_answer_forms_id_changes_only_with_what_the_form_shows():
    from ehalsodag.polls.fragments import form_id

    poll = _poll(7, "open", options=[(1, "Ja"), (2, "Nej")])
    before = form_id(poll)
    poll.question, poll.max_picks, poll.scale_labels = "Ändrad fråga?", 2, ["a", "b"]
    assert form_id(poll) == before and before.startswith("poll-7-form-")
    poll.options[1].label = "Kanske"
    assert form_id(poll) != before


def test_the_new_poll_form_and_the_api_share_one_struct():
    from ehalsodag.polls.routes import CreatePollBody, ResponseBody
    from ehalsodag.web.forms import decode_form

    form = decode_form(CreatePollBody, [("kind", "scale"), ("question", "Hur långt?"), ("options", ""),
                                        ("scale_labels", "Inte alls"), ("scale_labels", "Mycket"),
                                        ("max_picks", ""), ("block_id", ""), ("auto_open", "1"), ("_csrf_token", "x")])
    assert (form.options, form.scale_labels, form.auto_open, form.block_id) == ([], ["Inte alls", "Mycket"], True, None)
    lines = decode_form(CreatePollBody, [("kind", "single"), ("question", "?"), ("options", "Ja\r\n\r\n Nej \r\n")])
    assert lines.options == ["Ja", "Nej"]
    assert CreatePollBody("single", "?", options=["Ja", "Nej"]).options == ["Ja", "Nej"]
    ranking = decode_form(ResponseBody, [("ranking", "13"), ("ranking", "11"), ("ranking", "12")])
    assert ranking == ResponseBody(ranking=[13, 11, 12])
    assert decode_form(ResponseBody, [("ranking", ""), ("ranking", "")]) == ResponseBody(ranking=[])
