"""The benchmark's machinery at a tiny size: it runs, counts and refuses anything but loopback.

Counts, not speed: timings belong to `ehalsodag bench --profile smoke|full` (docs/performance.md).
"""

import os

import pytest

from ehalsodag.bench.run import Target, percentiles, require_loopback, run, run_writer


def test_the_tiny_profile_runs_end_to_end_and_loses_no_vote(tmp_path):
    report = run("tiny", str(tmp_path / "bench.json"))
    assert report.attendees == 50 and report.errors == 0 and report.disconnects == 0
    assert report.votes_accepted == 100 and report.votes_counted == report.votes_accepted
    assert report.vote_to_attendee_ms["p50"] is not None and report.vote_to_staff_ms["p50"] is not None
    assert report.broadcast_ms["p99"] is not None and report.baseline_deliveries_per_s > 0
    assert report.deliveries_per_s > 0 and report.rss_per_connection_kib > 0
    assert report.broadcasts_missed == 0 and report.workers == 1 and report.database == "sqlite"
    assert (tmp_path / "bench.json").read_text().count('"votes_counted": 100') == 1


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
