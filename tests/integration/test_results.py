"""Evaluation and results on hand-made data with known answers, empty events, exports read back, access."""

import csv
import datetime as dt
import io
import json
import subprocess
import sys
import zipfile

import openpyxl
import pytest
from sqlalchemy import select

from ehalsodag.agenda.service import event_by_slug
from ehalsodag.attendees.models import Attendee
from ehalsodag.db.engine import Database
from ehalsodag.evaluation import service as evaluation_service
from ehalsodag.evaluation.models import EvaluationAnswer
from ehalsodag.results.exports import neutralise
from ehalsodag.results.models import AttendanceSpan
from ehalsodag.results.service import wilson_interval
from tests.conftest import load_fixture, make_staff

JH = "jamtland-harjedalen-2021-05-25"
OG = "ostergotland-2021-03-23"


async def add_respondents(settings, slug, answers, *, present=None, group_size=1):
    """Open the evaluation and let one attendee per entry of ``answers`` answer it."""
    db = Database(settings)
    async with db.writer() as session:
        event = await event_by_slug(session, slug)
        now = dt.datetime.now(dt.UTC)
        attendees = []
        for i in range(present or len(answers)):
            attendee = Attendee(event_id=event.id, token_hash=f"{slug}-{i}".ljust(64, "x"), group_size=group_size,
                                first_connected_at=now, last_seen_at=now)
            session.add(attendee)
            attendees.append(attendee)
        await session.commit()
        minute = now.replace(second=0, microsecond=0)  # each was present (connected) this minute
        session.add_all(AttendanceSpan(event_id=event.id, attendee_id=a.id, first_minute=minute, last_minute=minute,
                                       live=True) for a in attendees)
        await session.commit()
        await evaluation_service.open_now(session, event, "test")
        for attendee, answer in zip(attendees, answers, strict=False):
            await evaluation_service.submit(session, event, attendee, answer)
        await session.commit()  # services never commit: whoever holds the session does
    await db.dispose()


def jamtland_answers():
    """The report's figures: 45 of 50 good or very good (90 %), 48 of 50 want it to recur (96 %)."""
    steps = [5] * 25 + [4] * 20 + [3] * 3 + [2] * 2  # Mycket bra 25, Bra 20, neutral 3, Dålig 2
    recur = ["yes"] * 48 + ["no"] * 1 + ["dont_know"] * 1
    comments = ["Bra panel!", "=HYPERLINK(\"http://evil\")"] + [None] * 48
    return [{"helhet": s, "aterkommande": r, **({"kommentar": c} if c else {})}
            for s, r, c in zip(steps, recur, comments, strict=True)]


@pytest.fixture
async def staff(settings):
    await load_fixture(settings, "jamtland-harjedalen-2021-05-25.toml")
    await load_fixture(settings, "ostergotland-2021-03-23.toml")
    organiser = await make_staff(settings, "org@example.se", "organiser", JH)
    await make_staff(settings, "org@example.se", "organiser", OG)
    moderator = await make_staff(settings, "mod@example.se", "moderator", JH)
    other = await make_staff(settings, "other@example.se", "organiser", OG)
    return {name: {"Authorization": f"Bearer {token}"} for name, token in
            (("organiser", organiser), ("moderator", moderator), ("other", other))}


def test_wilson_interval_matches_reference_values():
    # Reference: statsmodels proportion_confint(count, nobs, alpha=0.05, method="wilson").
    assert wilson_interval(48, 50) == (86.5, 98.9)
    assert wilson_interval(45, 50) == (78.6, 95.7)
    assert wilson_interval(0, 10) == (0.0, 27.8)
    assert wilson_interval(0, 0) is None


async def test_the_reports_figures_come_out_exactly(client, settings, staff):
    await add_respondents(settings, JH, jamtland_answers(), present=60, group_size=3)
    report = (await client.get(f"/api/v1/events/{JH}/results", headers=staff["organiser"])).json()
    evaluation = report["evaluation"]
    assert evaluation["respondents"] == 50 and evaluation["present"] == 60
    assert evaluation["response_rate"] == 83.3  # 50 of 60
    overall, recur, comment = evaluation["questions"]
    assert overall["key"] == "helhet" and overall["n"] == 50
    assert overall["top2_percent"] == 90.0 and overall["ci95"] == [78.6, 95.7]
    assert [(d["label"], d["count"], d["percent"]) for d in overall["distribution"]] == [
        ("Mycket dålig", 0, 0.0), ("Dålig", 2, 4.0), ("Varken bra eller dålig", 3, 6.0), ("Bra", 20, 40.0),
        ("Mycket bra", 25, 50.0)]
    assert overall["mean"] == 4.36  # (2*2 + 3*3 + 20*4 + 25*5) / 50
    assert recur["yes_percent"] == 96.0 and recur["ci95"] == [86.5, 98.9]
    assert [d["label"] for d in recur["distribution"]] == ["Ja", "Nej", "Vet inte"]
    assert comment["n"] == 2 and "Bra panel!" in comment["comments"]
    assert report["attendance"]["unique"] == 60 and report["attendance"]["estimated_reach"] == 180


async def test_evaluation_is_once_per_attendee_anonymous_and_validated(client, settings, staff):
    joined = await client.post(f"/api/v1/events/{JH}/join", json={"display_name": "Karin"})
    me = {"Authorization": f"Bearer {joined.json()['attendee_token']}"}
    closed = await client.post(f"/api/v1/events/{JH}/evaluation", json={"answers": {"helhet": 5}}, headers=me)
    assert closed.status_code == 409  # not open yet (the 2021 day's last block is long over, and its hour too)
    form = (await client.get(f"/api/v1/events/{JH}/evaluation")).json()
    assert form["open"] is False and [q["key"] for q in form["questions"]] == ["helhet", "aterkommande", "kommentar"]
    assert form["questions"][0]["labels"][-1] == "Mycket bra"

    opened = await client.post(f"/api/v1/events/{JH}/evaluation/open", json={"minutes": 30}, headers=staff["moderator"])
    assert opened.status_code == 200 and opened.json()["open"] is True
    for bad in ({"helhet": 6, "aterkommande": "yes"}, {"helhet": 5}, {"helhet": 5, "aterkommande": "maybe"},
                {"helhet": 5, "aterkommande": "yes", "extra": 1}, {"helhet": "5", "aterkommande": "yes"}):
        response = await client.post(f"/api/v1/events/{JH}/evaluation", json={"answers": bad}, headers=me)
        assert response.status_code == 422 and response.json()["detail"], bad
    ok = await client.post(f"/api/v1/events/{JH}/evaluation",
                           json={"answers": {"helhet": 4, "aterkommande": "yes", "kommentar": "Tack"}}, headers=me)
    assert ok.status_code == 201 and ok.json() == {"answers": 3}
    again = await client.post(f"/api/v1/events/{JH}/evaluation", json={"answers": {"helhet": 1, "aterkommande": "no"}},
                              headers=me)
    assert again.status_code == 409
    db = Database(settings)
    async with db.reader() as session:
        answers = (await session.execute(select(EvaluationAnswer))).scalars().all()
    await db.dispose()
    assert sorted(((a.number or 0), a.text or "") for a in answers) == [(0, "Tack"), (0, "yes"), (4, "")]
    assert not hasattr(EvaluationAnswer, "attendee_id") and not hasattr(EvaluationAnswer, "created_at")


async def test_evaluation_opens_by_itself_after_the_last_block():
    from ehalsodag.agenda.models import Block, Event

    start = dt.datetime(2021, 5, 25, 7, 0, tzinfo=dt.UTC)
    event = Event(evaluation_minutes=60, evaluation_opened_at=None, blocks=[
        Block(id=1, planned_start=start, planned_end=start + dt.timedelta(hours=1), shift_minutes=10, removed=False)])
    assert not evaluation_service.window(event, start + dt.timedelta(minutes=69)).open
    assert evaluation_service.window(event, start + dt.timedelta(minutes=70)).open  # the block ran 10 min late
    assert not evaluation_service.window(event, start + dt.timedelta(minutes=130)).open


async def test_empty_event_has_no_division_by_zero_and_says_so(client, settings, staff):
    report = (await client.get(f"/api/v1/events/{OG}/results", headers=staff["organiser"])).json()
    assert report["evaluation"]["respondents"] == 0 and report["evaluation"]["response_rate"] is None
    assert all(q["n"] == 0 and q["top2_percent"] is None and q["ci95"] is None
               for q in report["evaluation"]["questions"])
    assert report["attendance"] == {**report["attendance"], "unique": 0, "peak_concurrent": 0, "estimated_reach": 0}
    assert all(p["responses"] == 0 for p in report["polls"])
    page = await client.get(f"/e/{OG}/results", headers=staff["organiser"])
    assert page.status_code == 200 and "Inga svar ännu." in page.text
    for fmt in ("json", "csv", "xlsx"):
        assert (await client.get(f"/e/{OG}/results/export/{fmt}", headers=staff["organiser"])).status_code == 200


async def test_results_json_follows_the_contract(client, settings, staff):
    await add_respondents(settings, JH, jamtland_answers()[:10])
    report = (await client.get(f"/api/v1/events/{JH}/results", headers=staff["organiser"])).json()
    assert set(report["event"]) >= {"slug", "title", "date"} and report["event"]["slug"] == JH
    assert set(report["attendance"]) >= {"unique", "peak_concurrent", "estimated_reach"}
    assert set(report["questions"]) >= {"asked", "approved", "answered"}
    for poll in report["polls"]:
        assert set(poll) >= {"id", "question", "kind", "responses", "options", "mean"}
    assert set(report["evaluation"]) >= {"respondents", "response_rate", "questions"}
    for question in report["evaluation"]["questions"]:
        assert set(question) >= {"key", "text", "kind", "n", "distribution", "mean", "top2_percent", "yes_percent",
                                 "ci95"}
        for row in question["distribution"]:
            assert isinstance(row["count"], int) and isinstance(row["percent"], float)


async def test_exports_read_back_and_hold_no_names_unless_asked(client, settings, staff):
    await add_respondents(settings, JH, jamtland_answers())
    alice = await client.post(f"/api/v1/events/{JH}/join", json={"display_name": "Alice Andersson"})
    asked = await client.post(f"/api/v1/events/{JH}/questions", json={"text": "@SUM(A1) är en fråga?",
                                                                      "anonymous": False},
                              headers={"Authorization": f"Bearer {alice.json()['attendee_token']}"})
    assert asked.status_code == 201
    headers = staff["organiser"]

    as_json = (await client.get(f"/e/{JH}/results/export/json", headers=headers))
    assert json.loads(as_json.content)["evaluation"]["questions"][0]["top2_percent"] == 90.0
    assert "Alice" not in as_json.text

    zipped = zipfile.ZipFile(io.BytesIO((await client.get(f"/e/{JH}/results/export/csv", headers=headers)).content))
    assert {"summary.csv", "evaluation.csv", "evaluation_figures.csv", "polls.csv", "questions.csv", "comments.csv",
            "attendance.csv", "blocks.csv"} <= set(zipped.namelist())
    figures = list(csv.reader(io.StringIO(zipped.read("evaluation_figures.csv").decode("utf-8-sig")), delimiter=";"))
    helhet = next(row for row in figures if row[0] == "helhet")
    assert helhet[2] == "50" and helhet[4] == "90,0"  # Swedish Excel by default: semicolons, decimal comma
    international = zipfile.ZipFile(io.BytesIO((await client.get(
        f"/e/{JH}/results/export/csv?variant=international", headers=headers)).content))
    figures = list(csv.reader(io.StringIO(international.read("evaluation_figures.csv").decode("utf-8-sig"))))
    assert next(row for row in figures if row[0] == "helhet")[4] == "90.0"
    comments = zipped.read("comments.csv").decode("utf-8-sig")
    assert "'=HYPERLINK" in comments and '\n"=HYPERLINK' not in comments  # formula neutralised
    questions_csv = zipped.read("questions.csv").decode("utf-8-sig")
    assert "'@SUM(A1)" in questions_csv and "Alice" not in questions_csv
    assert all("Alice" not in zipped.read(name).decode("utf-8-sig") for name in zipped.namelist())

    workbook = openpyxl.load_workbook(io.BytesIO((await client.get(f"/e/{JH}/results/export/xlsx",
                                                                  headers=headers)).content))
    assert {"summary", "evaluation", "evaluation_figures", "polls", "questions"} <= set(workbook.sheetnames)
    rows = list(workbook["evaluation_figures"].iter_rows(values_only=True))
    assert next(r for r in rows if r[0] == "aterkommande")[5] == 96.0
    assert all(not str(c).startswith("=") for ws in workbook for row in ws.iter_rows(values_only=True) for c in row
               if c is not None)

    named = openpyxl.load_workbook(io.BytesIO((await client.get(f"/e/{JH}/results/export/xlsx?names=1",
                                                               headers=headers)).content))
    assert any("Alice Andersson" in (r[-1] or "") for r in named["questions"].iter_rows(values_only=True))


def test_neutralise_only_touches_formula_like_text():
    assert neutralise("=1+1") == "'=1+1" and neutralise("+46") == "'+46" and neutralise("-x") == "'-x"
    assert neutralise("@me") == "'@me" and neutralise("Bra") == "Bra" and neutralise(-3) == -3


async def test_only_organisers_of_the_event_and_admins_see_results(client, settings, staff):
    admin = {"Authorization": f"Bearer {await make_staff(settings, 'admin@example.se', 'admin')}"}
    for who, status in (("organiser", 200), ("moderator", 403), ("other", 403)):
        for path in (f"/api/v1/events/{JH}/results", f"/e/{JH}/results", f"/e/{JH}/results/export/xlsx",
                     f"/e/{JH}/results/report"):
            assert (await client.get(path, headers=staff[who])).status_code == status, (who, path)
    assert (await client.get(f"/api/v1/events/{JH}/results", headers=admin)).status_code == 200
    assert (await client.get(f"/api/v1/events/{JH}/results")).status_code == 401


async def test_results_page_has_accessible_charts_and_comparison(client, settings, staff):
    await add_respondents(settings, JH, jamtland_answers())
    await add_respondents(settings, OG, jamtland_answers()[:20])
    page = (await client.get(f"/e/{JH}/results", headers=staff["organiser"])).text
    assert page.count('role="img"') >= 2 and "<title id=\"chart-eval-helhet-title\">" in page
    assert "<desc id=\"chart-eval-helhet-desc\">" in page and '<table class="data-table">' in page
    assert "90,0 %" in page and "96,0 %" in page
    report = (await client.get(f"/e/{JH}/results/report", headers=staff["organiser"])).text
    assert 'class="printable"' in report and "90,0 %" in report
    compare = (await client.get(f"/e/{JH}/results/compare?with={OG}", headers=staff["organiser"])).text
    row = compare.split("Vad tyckte du om den regionala e-hälsokonferensen i sin helhet?")[1].split("</tr>")[0]
    assert "90,0 %" in row and "100,0 %" in row  # the first 20 answers were all 5 or 4
    refused = await client.get(f"/e/{OG}/results/compare?with={JH}", headers=staff["other"])
    assert refused.status_code == 403  # may see Östergötland, not Jämtland Härjedalen


async def test_attendance_is_counted_per_minute_by_attendee_with_reach_per_block(client, settings, staff):
    db = Database(settings)
    async with db.writer() as session:
        event = await event_by_slug(session, JH)
        block = next(b for b in event.blocks if b.key == "block-1")
        people = [Attendee(event_id=event.id, token_hash=f"p{i}".ljust(64, "x"), group_size=size)
                  for i, size in enumerate((2, 1, 3))]
        session.add_all(people)
        await session.flush()
        at = block.starts_at.replace(second=0, microsecond=0)
        for person, first, last in ((people[0], 5, 6), (people[1], 5, 5), (people[0], 6, 6), (people[2], 200, 200)):
            session.add(AttendanceSpan(event_id=event.id, attendee_id=person.id, live=True,  # overlapping: 2 workers
                                       first_minute=at + dt.timedelta(minutes=first),
                                       last_minute=at + dt.timedelta(minutes=last)))
        await session.commit()
    await db.dispose()
    report = (await client.get(f"/api/v1/events/{JH}/results", headers=staff["organiser"])).json()
    attendance = report["attendance"]
    assert (attendance["unique"], attendance["peak_concurrent"], attendance["estimated_reach"]) == (3, 2, 6)
    assert [(t["connections"], t["reach"]) for t in attendance["timeline"]] == [(2, 3), (1, 2), (1, 3)]
    block_row = next(b for b in attendance["blocks"] if b["key"] == "block-1")
    assert (block_row["attendees"], block_row["peak_connections"], block_row["estimated_reach"]) == (2, 2, 3)


def test_cli_exports(settings, tmp_path):
    from tests.conftest import run_sync

    run_sync(load_fixture(settings, "jamtland-harjedalen-2021-05-25.toml"))
    run_sync(add_respondents(settings, JH, jamtland_answers()))
    env = {"EHALSODAG_DATABASE_URL": settings.database_url, "EHALSODAG_SECRET_KEY": "x" * 32, "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-m", "ehalsodag.cli", "results", "export", JH, "--format", "json"],
                         capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["evaluation"]["questions"][1]["yes_percent"] == 96.0
    target = tmp_path / "r.xlsx"
    out = subprocess.run([sys.executable, "-m", "ehalsodag.cli", "results", "export", JH, "--format", "xlsx",
                          "--output", str(target)], capture_output=True, text=True, env=env)
    assert out.returncode == 0 and openpyxl.load_workbook(target)["summary"]["A1"].value
    missing = subprocess.run([sys.executable, "-m", "ehalsodag.cli", "results", "export", "nope", "--format", "json"],
                             capture_output=True, text=True, env=env)
    assert missing.returncode == 1 and "no event" in missing.stderr
