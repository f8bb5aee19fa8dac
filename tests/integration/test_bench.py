"""The benchmark's machinery at a tiny size: it runs, counts and refuses anything but loopback.

Counts, not speed: timings belong to `ehalsodag bench --profile smoke|full|qa|national` (docs/performance.md).
"""

import json
import os
from collections import Counter

import pytest

from ehalsodag_bench.common import histogram_percentiles
from ehalsodag_bench.frames import Recorder, SocketState
from ehalsodag_bench.national import run_national
from ehalsodag_bench.qa import run_qa
from ehalsodag_bench.run import Target, percentiles, require_loopback, run, run_writer, vote_latencies
from ehalsodag_bench.server import stamp

#: The benchmark JSON's keys as CONTRACT.md lists them (more may follow them; none may go).
CONTRACT_KEYS = {"profile", "attendees", "duration_s", "errors", "disconnects", "votes_accepted", "votes_counted",
                 "votes_per_s", "vote_to_staff_ms", "vote_to_attendee_ms", "broadcast_ms",
                 "baseline_deliveries_per_s", "deliveries_per_s", "delivery_ratio_to_baseline",
                 "rss_per_connection_kib"}


def test_the_tiny_profile_runs_end_to_end_and_loses_no_vote(tmp_path):
    report = run("tiny", str(tmp_path / "bench.json"))
    assert report.attendees == 50 and report.errors == 0 and report.disconnects == 0
    assert report.votes_accepted == 100 and report.votes_counted == report.votes_accepted
    assert report.vote_to_attendee_ms["p50"] is not None and report.vote_to_staff_ms["p50"] is not None
    assert report.broadcast_ms["p99"] is not None and report.baseline_deliveries_per_s > 0
    assert report.deliveries_per_s > 0 and report.rss_per_connection_kib > 0
    assert report.broadcasts_missed == 0 and report.workers == 1 and report.database == "sqlite"
    assert (tmp_path / "bench.json").read_text().count('"votes_counted": 100') == 1
    # one burst over the websockets (the headline), one over HTTP, reported apart
    assert report.votes_ws_accepted == 50 and report.votes_http_accepted == 50
    assert report.votes_per_s == report.votes_ws_per_s > 0 and report.votes_http_per_s > 0
    assert report.vote_to_staff_ms_http["p50"] is not None and report.vote_to_attendee_ms_http["p50"] is not None
    written = json.loads((tmp_path / "bench.json").read_text())
    assert CONTRACT_KEYS <= written.keys(), CONTRACT_KEYS - written.keys()
    for key in ("vote_to_staff_ms", "vote_to_attendee_ms", "broadcast_ms"):
        assert set(written[key]) == {"p50", "p95", "p99"}


def test_the_tiny_qa_profile_delivers_every_action_to_every_attendee(tmp_path):
    report = run_qa("qa-tiny", str(tmp_path / "qa.json"))
    assert (report.attendees, report.sockets, report.errors, report.disconnects) == (50, 50, 0, 0)
    # 30 questions on the list (10, then 20 more) and 1 a second for 6 s in the storm
    assert report.questions_on_list == 30 and report.questions_asked == 36
    # 5 upvotes a second: 3 s on the short list, 3 s on the long one, 6 s in the storm
    assert report.upvotes == 60
    # the chat storm: 4 % of 50 attendees (2) every 2 s for 6 s
    assert report.chat_messages == 6
    # every upvote, question and chat message of the storm reached every attendee socket
    assert report.storm_deliveries_missed == 0
    for figures in (report.upvote_to_attendee_ms, report.question_to_attendee_ms, report.chat_to_attendee_ms,
                    report.upvote_to_every_attendee_ms, report.join_ms, report.join_snapshot_ms):
        assert figures["p50"] is not None and figures["p99"] is not None
    assert report.joins_in_storm > 0
    # an upvote pushes its item, not the list: about the same bytes with 10 and with 30 questions listed
    short, long = report.upvote_bytes_per_attendee["10_questions"], report.upvote_bytes_per_attendee["30_questions"]
    assert short and long and 0.8 < long / short < 1.25, report.upvote_bytes_per_attendee
    short, long = report.upvote_item_bytes["10_questions"], report.upvote_item_bytes["30_questions"]
    assert short and long and 0.8 < long / short < 1.25, report.upvote_item_bytes
    staff_short, staff_long = report.staff_upvote_bytes["10_questions"], report.staff_upvote_bytes["30_questions"]
    assert staff_short and staff_long and 0.8 < staff_long / staff_short < 1.25, report.staff_upvote_bytes
    assert report.snapshot_bytes["in_storm"] > report.snapshot_bytes["at_start"] > 0
    assert (tmp_path / "qa.json").read_text().count('"upvotes": 60') == 1


def test_the_tiny_national_profile_keeps_every_region_to_its_own_stage(tmp_path):
    report = run_national("national-tiny", str(tmp_path / "national.json"))
    # 3 regions × 20 attendees and 3 without a region, all connected, nothing refused or dropped
    assert (report.regions, report.per_region, report.attendees, report.sockets) == (3, 20, 63, 63)
    assert report.errors == 0 and report.disconnects == 0
    # every attendee, whatever their region, got every national announcement, question and upvote
    assert report.broadcasts_missed == 0 and report.national_broadcast_ms["p99"] is not None
    national = report.per_stage[0]
    assert national["stage"] == "nationell" and national["attendees"] == 63 and national["missed"] == 0
    assert national["deliveries"] == 63 * (3 + 1 + 5)  # 3 announcements, a question, 5 upvotes
    # a region's actions reached its own sockets only: not one frame or item on another stage
    assert report.cross_stage_frames == 0 and report.cross_stage_items == 0
    assert [s["stage"] for s in report.per_stage[1:]] == ["region-01", "region-02", "region-03"]
    for stage in report.per_stage[1:]:
        assert stage["attendees"] == 20 and stage["missed"] == 0 and stage["cross_stage_frames"] == 0
        assert stage["deliveries"] > 0 and stage["action_to_attendee_ms"]["p99"] is not None
    assert report.deliveries_missed == 0 and report.switch_ms["p50"] is not None
    assert report.votes_accepted == 60 and report.votes_counted == 60
    assert report.targets_met["no_cross_stage_frames"] and report.targets_met["nothing_missed"]
    assert (tmp_path / "national.json").read_text().count('"cross_stage_frames": 0') == 4  # the run and each region


def test_the_observer_stamps_every_language_and_the_stamp_is_not_counted():
    frames = stamp(1, "attendee", {"sv": '<div id="announcement">Hej</div>', "en": '<div id="announcement">Hi</div>'})
    assert all(frame.startswith('<div id="announcement">') and "<!--bench-push:" in frame
               for frame in frames.values())
    recorder, state = Recorder(), SocketState()
    recorder.frame(state, b"<main>snapshot</main>", 1000.0)
    assert recorder.frame(state, frames["sv"].encode(), 1500.0) == "other"
    assert recorder.bytes["other", 1] == len('<div id="announcement">Hej</div>')


def test_frames_are_attributed_to_the_actions_they_show():
    recorder, state = Recorder(), SocketState()
    item = '<li id="q-{id}" data-swap="upsert"><span id="q-{id}-count" class="upvote-count">{n} upvotes</span></li>'
    snapshot = '<ol id="question-list">' + item.format(id=7, n=2) + "</ol>"
    assert recorder.frame(state, snapshot.encode(), 1000.0) == "snapshot"
    assert recorder.frame(state, item.format(id=7, n=4).encode(), 1100.0) == "upvote"  # two upvotes in one item
    assert recorder.frame(state, item.format(id=8, n=0).encode(), 1200.0) == "question"
    assert recorder.frame(state, b'<form id="q-7-upvote" data-keep></form>', 1250.0) == "own_upvote"
    assert recorder.frame(state, b'<li id="chat-3" data-swap="append">Hej</li>', 1300.0) == "chat"
    results = b'<div id="poll-5-results-staff"><p class="poll-count">12 svar</p></div>'
    assert recorder.frame(state, results, 1400.0) == "results"
    announcement = b'<div id="announcement" data-swap="inner">bench-900.000</div><!--bench-push:1450.000-->'
    assert recorder.frame(state, announcement, 1500.0) == "announcement"
    # one frame carrying several changes: an upvote, the same count again, a chat message, results
    coalesced = (item.format(id=8, n=1) + item.format(id=7, n=4) + '<li id="chat-4">Hallå</li>').encode()
    assert recorder.frame(state, b'<div id="poll-5-results"><p class="poll-count">3 svar</p></div>' + coalesced,
                          2100.0) == "mixed"
    assert recorder.frame(state, item.format(id=8, n=0).encode(), 2200.0) == "upvote_stale"
    assert {key: list(times) for key, times in recorder.arrivals.items()} == {
        ("u", 7, 3): [1100.0], ("u", 7, 4): [1100.0], ("q", 8, 0): [1200.0], ("c", 3, 0): [1300.0],
        ("s", 5, 12): [1400.0], ("r", 5, 3): [2100.0], ("u", 8, 1): [2100.0], ("c", 4, 0): [2100.0]}
    assert (recorder.broadcast_ms, recorder.announcement_ms) == ([50.0], [600.0])
    # bytes go to the pieces they belong to; the stamp is not counted
    assert recorder.bytes["upvote", 2] == len(item.format(id=8, n=1))
    assert recorder.bytes["upvote_repeat", 2] == len(item.format(id=7, n=4))
    assert recorder.bytes["announcement", 1] == len(announcement) - len(b"<!--bench-push:1450.000-->")
    assert recorder.pieces["frame", 1] == 7 and recorder.pieces["frame", 2] == 2


def test_a_results_frame_is_timed_from_the_newest_vote_it_shows():
    # (acknowledged, sent) per vote: the third vote was sent last but acknowledged second
    votes = {5: [(100.0, 10.0), (150.0, 60.0), (120.0, 50.0)]}
    seen = {("r", 5, 1): [200.0], ("r", 5, 2): [300.0, 310.0], ("r", 5, 3): [400.0], ("s", 5, 3): [390.0]}
    assert vote_latencies(votes, seen, "r") == [190.0, 250.0, 260.0, 340.0]
    assert vote_latencies(votes, seen, "s") == [330.0]


def test_only_loopback_targets_are_accepted():
    require_loopback("http://127.0.0.1:8000")
    require_loopback("http://localhost:8000")
    require_loopback("http://[::1]:8000")
    for url in ("http://10.0.0.5:8000", "http://192.168.1.2", "http://93.184.216.34"):
        with pytest.raises(SystemExit, match="loopback"):
            require_loopback(url)


def test_percentiles():
    assert percentiles([]) == {"p50": None, "p95": None, "p99": None}
    values = list(range(1, 101))
    assert percentiles(values) == {"p50": 51, "p95": 96, "p99": 100}
    assert histogram_percentiles(Counter(values)) == percentiles(values)
    assert histogram_percentiles(Counter()) == percentiles([])


@pytest.mark.scaleout
@pytest.mark.skipif(not (os.environ.get("EHALSODAG_TEST_DATABASE_URL") and os.environ.get("EHALSODAG_TEST_REDIS_URL")),
                    reason="set EHALSODAG_TEST_DATABASE_URL and EHALSODAG_TEST_REDIS_URL to run the benchmark on "
                    "two workers with PostgreSQL + Redis")
def test_the_tiny_profile_on_two_workers_with_postgresql_and_redis_loses_nothing(tmp_path):
    target = Target(workers=2, database_url=os.environ["EHALSODAG_TEST_DATABASE_URL"],
                    redis_url=os.environ["EHALSODAG_TEST_REDIS_URL"])
    report = run("tiny", str(tmp_path / "bench.json"), target=target)
    assert (report.workers, report.database, report.hub) == (2, "postgresql", "redis")
    assert report.errors == 0 and report.disconnects == 0
    assert report.votes_accepted == 100 and report.votes_counted == 100
    # Announcements are posted to whichever worker takes the request and reach every socket, whichever holds it.
    assert report.broadcasts_missed == 0 and report.broadcast_ms["p50"] is not None


def test_the_vote_writer_alone_stores_every_vote_once():
    figures = run_writer(500)
    assert figures["stored"] == 500 and figures["first_answers"] == 500
    assert figures["batches"] >= 1 and figures["votes_per_s"] > 0
