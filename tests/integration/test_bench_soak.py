"""The soak profile at a tiny size (issue 15, item 21): it runs, counts every vote, and reports per-minute figures
and their drift (last minute / first minute). Counts, not speed: the 10-minute ``soak`` is run by hand."""

from ehalsodag_bench.soak import SOAK_PROFILES, drift, run_soak


def test_the_tiny_soak_reports_per_minute_figures_and_their_drift(tmp_path):
    report = run_soak("soak-tiny", str(tmp_path / "soak.json"))
    assert (report.attendees, report.sockets, report.minutes) == (20, 20, 3)
    assert report.errors == 0 and report.disconnects == 0, report.error_kinds
    assert report.votes_accepted == 60 and report.voters_counted == report.voters_acknowledged == 20
    assert report.announcements == 6 and report.announcements_missed == 0
    assert [m["minute"] for m in report.vote_ms_by_minute] == [1, 2, 3]
    assert all(m["n"] > 0 and m["p50"] is not None for m in report.vote_ms_by_minute)
    assert all(m["n"] > 0 for m in report.announcement_ms_by_minute)
    assert report.vote_p50_drift == drift(report.vote_ms_by_minute[0]["p50"], report.vote_ms_by_minute[-1]["p50"])
    assert report.vote_p50_drift is not None and report.announcement_p99_drift is not None
    assert len(report.rss_kib_by_minute) == 3 and report.rss_drift is not None
    assert '"vote_p50_drift"' in (tmp_path / "soak.json").read_text()


def test_the_soak_profile_is_ten_minutes_of_500_sockets_and_drift_is_last_over_first():
    soak = SOAK_PROFILES["soak"]
    assert (soak.attendees, soak.duration_s, soak.minute_s) == (500, 600, 60)
    assert drift(14.0, 217.0) == 15.5 and drift(None, 3.0) is None and drift(0.0, 3.0) is None
