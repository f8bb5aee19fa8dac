"""Issue 18, organisers' outputs, through the served app (real HTTP) on SQLite and PostgreSQL: CSV that Swedish
Excel opens (semicolons, decimal comma, BOM) by default with an international variant, the printable report as a
PDF, and engagement per block measured by the time each block was actually on air."""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from pypdf import PdfReader
from sqlalchemy import select

from ehalsodag.agenda.service import event_by_slug
from ehalsodag.attendees.models import Attendee
from ehalsodag.db.engine import Database
from ehalsodag.db.migrate import upgrade
from ehalsodag.qa.models import Question
from ehalsodag.results.models import AttendanceSpan
from ehalsodag.settings import Settings
from ehalsodag.staff.models import AuditEntry
from tests.conftest import ServedApp, load_fixture, make_settings, make_staff, run_sync, start_server, stop_server
from tests.integration.test_results import JH, add_respondents, jamtland_answers
from tests.support.postgres import fresh_database

DATABASE_URL = os.environ.get("EHALSODAG_TEST_DATABASE_URL")


@pytest.fixture(params=["sqlite", "postgresql"])
def both(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Settings]:
    """Migrated settings on SQLite, then on a fresh PostgreSQL database (skipped without one)."""
    if request.param == "sqlite":
        value = make_settings(tmp_path)
        upgrade(value)
        yield value
        return
    if not DATABASE_URL:
        pytest.skip("set EHALSODAG_TEST_DATABASE_URL (postgresql+asyncpg://)")
    with fresh_database(DATABASE_URL, "ehalsodag_outputs") as url:
        value = make_settings(tmp_path, database_url=url)
        upgrade(value)
        yield value


@pytest.fixture
def day(both: Settings, tmp_path: Path) -> Iterator[tuple[ServedApp, dict[str, dict[str, str]]]]:
    """Jämtland Härjedalen's day with its evaluation answered as in its report (90 % good, 96 % want it again),
    served by a real server; the bearer headers of its organiser and of a moderator."""
    run_sync(load_fixture(both, f"{JH}.toml"))
    run_sync(add_respondents(both, JH, jamtland_answers(), present=60))
    organiser = run_sync(make_staff(both, "org@example.se", "organiser", JH))
    moderator = run_sync(make_staff(both, "mod@example.se", "moderator", JH))
    server = start_server(both, tmp_path / "server.log")
    try:
        yield server, {"organiser": {"Authorization": f"Bearer {organiser}"},
                       "moderator": {"Authorization": f"Bearer {moderator}"}}
    finally:
        stop_server(server)


def _tables(response: httpx.Response) -> zipfile.ZipFile:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/zip")
    return zipfile.ZipFile(io.BytesIO(response.content))


def test_csv_is_for_swedish_excel_by_default_and_international_on_request(day):
    server, headers = day
    swedish = httpx.get(f"{server.base_url}/e/{JH}/results/export/csv", headers=headers["organiser"])
    assert swedish.headers["content-disposition"] == f'attachment; filename="{JH}-results.zip"'
    tables = _tables(swedish)
    raw = tables.read("evaluation_figures.csv")
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 with a byte-order mark: Excel reads å, ä and ö
    text = raw.decode("utf-8-sig")
    header, *rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))
    assert len(header) == 9 and header[1] == "Fråga"  # semicolons split it into its columns, in Swedish
    helhet = next(row for row in rows if row[0] == "helhet")
    assert helhet[2] == "50" and helhet[3] == "4,36" and helhet[4] == "90,0"  # decimal comma, numbers bare
    assert ";4,36;90,0;" in text and '"helhet"' in text  # text quoted, numbers not

    international = _tables(httpx.get(f"{server.base_url}/e/{JH}/results/export/csv?variant=international",
                                      headers=headers["organiser"]))
    text = international.read("evaluation_figures.csv").decode("utf-8-sig")
    helhet = next(row for row in csv.reader(io.StringIO(text, newline="")) if row[0] == "helhet")
    assert helhet[3] == "4.36" and helhet[4] == "90.0" and ";" not in text.splitlines()[0]

    refused = httpx.get(f"{server.base_url}/e/{JH}/results/export/csv?variant=excel", headers=headers["organiser"])
    assert refused.status_code == 400 and "variant" in refused.text
    assert httpx.get(f"{server.base_url}/e/{JH}/results/export/csv",
                     headers=headers["moderator"]).status_code == 403
    page = httpx.get(f"{server.base_url}/e/{JH}/results", headers=headers["organiser"]).text
    assert f'href="/e/{JH}/results/export/csv"' in page and "CSV för svenska Excel" in page
    assert f'href="/e/{JH}/results/export/csv?variant=international"' in page and "internationellt format" in page


def test_the_printable_report_comes_as_a_pdf_with_the_headline_figures(day):
    server, headers = day
    response = httpx.get(f"{server.base_url}/e/{JH}/results/report.pdf", headers=headers["organiser"], timeout=60)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"] == f'attachment; filename="{JH}-report.pdf"'
    assert response.content.startswith(b"%PDF-") and response.content.rstrip().endswith(b"%%EOF")
    reader = PdfReader(io.BytesIO(response.content))
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert "Regional e-hälsokonferens Jämtland Härjedalen" in text
    assert "90,0 %" in text and "96,0 %" in text  # the headline evaluation figures, as on the printable page
    assert "95 %-intervall 86,5–98,9 %" in text  # the interval of the 96 % (Wilson)
    assert "Svarande i utvärderingen" in text and "83,3 % av de 60" in text  # 50 of the 60 present
    assert "Personallogin" not in text and "Skriv ut" not in text  # the page's header and print button left out

    english = httpx.get(f"{server.base_url}/e/{JH}/results/report.pdf", timeout=60,
                        headers={**headers["organiser"], "Cookie": "ehd_lang=en"})
    english_text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(english.content)).pages)
    assert "Evaluation respondents" in english_text and "90.0 %" in english_text

    assert httpx.get(f"{server.base_url}/e/{JH}/results/report.pdf",
                     headers=headers["moderator"]).status_code == 403
    anonymous = httpx.get(f"{server.base_url}/e/{JH}/results/report.pdf")
    assert anonymous.status_code in (401, 303) and not anonymous.content.startswith(b"%PDF")
    page = httpx.get(f"{server.base_url}/e/{JH}/results/report", headers=headers["organiser"]).text
    assert f'href="/e/{JH}/results/report.pdf"' in page


async def _script_the_day(settings: Settings, script: dict[str, int], evaluation_at: int,
                          samples: dict[int, int], question_at: int) -> dt.datetime:
    """Put the go-lives the moderator made (in order, through the API) at the scripted minutes after the first
    block's planned start, the evaluation's opening at ``evaluation_at``, attendance ``samples`` (minute ->
    connections) and the attendee's question at ``question_at``; return that start."""
    db = Database(settings)
    async with db.writer() as session:
        event = await event_by_slug(session, JH)
        base = min(b.planned_start for b in event.active_blocks())
        lives = (await session.execute(select(AuditEntry).where(
            AuditEntry.event_id == event.id, AuditEntry.action == "block.live").order_by(AuditEntry.id))).scalars()
        for entry, minute in zip(lives, script.values(), strict=True):
            entry.created_at = base + dt.timedelta(minutes=minute)
        event.evaluation_opened_at = base + dt.timedelta(minutes=evaluation_at)
        attendees = list((await session.execute(
            select(Attendee.id).where(Attendee.event_id == event.id).order_by(Attendee.id))).scalars())
        for minute, present in samples.items():  # how many of the attendees were present then (presence spans)
            at = base + dt.timedelta(minutes=minute)
            for attendee_id in attendees[:present]:
                session.add(AttendanceSpan(event_id=event.id, attendee_id=attendee_id, first_minute=at,
                                           last_minute=at, live=True))
        question = (await session.execute(select(Question).where(Question.event_id == event.id))).scalar_one()
        question.created_at = base + dt.timedelta(minutes=question_at)
        await session.commit()
    await db.dispose()
    return base


def test_engagement_per_block_follows_the_time_on_air_not_the_plan(day):
    """Block 1 runs 20 minutes over, block 2 is cut short to 10 minutes, block 3 runs to the evaluation, block 4
    is never taken live: minutes, peaks and interactions follow what was on air; block 4 says it is planned time."""
    server, headers = day
    blocks = httpx.get(f"{server.base_url}/api/v1/events/{JH}").json()["blocks"]
    talks = [b for b in blocks if b["kind"] not in ("break", "pause")][:4]
    planned = {b["key"]: (dt.datetime.fromisoformat(b["end"]) - dt.datetime.fromisoformat(b["start"])).seconds // 60
               for b in talks}
    for block in talks[:3]:  # the moderator takes three blocks live, through the API
        went = httpx.post(f"{server.base_url}/api/v1/events/{JH}/live", json={"block_id": block["id"]},
                          headers=headers["moderator"])
        assert went.status_code == 200, went.text
    joined = httpx.post(f"{server.base_url}/api/v1/events/{JH}/join", json={}).json()
    for _ in range(3):  # four attendees in all, present at the scripted minutes
        assert httpx.post(f"{server.base_url}/api/v1/events/{JH}/join", json={}).status_code in (200, 201)
    asked = httpx.post(f"{server.base_url}/api/v1/events/{JH}/questions", json={"text": "Hur går det till?"},
                       headers={"Authorization": f"Bearer {joined['attendee_token']}"})
    assert asked.status_code == 201, asked.text
    first, second, third, never = (b["key"] for b in talks)
    script = {first: 0, second: 50, third: 60}
    run_sync(_script_the_day(server.settings, script, evaluation_at=100, samples={5: 3, 55: 2, 70: 4},
                             question_at=55))

    report = httpx.get(f"{server.base_url}/api/v1/events/{JH}/results", headers=headers["organiser"]).json()
    rows = {b["key"]: b for b in report["attendance"]["blocks"]}
    minutes = {key: rows[key]["engagement"]["on_air_minutes"] for key in (first, second, third)}
    assert minutes == {first: 50.0, second: 10.0, third: 40.0}
    assert all(rows[key]["engagement"]["timing"] == "on_air" and not rows[key]["engagement"]["open_end"]
               for key in (first, second, third))
    assert rows[second]["peak_connections"] == 2 and rows[second]["engagement"]["questions"] == 1
    assert rows[second]["engagement"]["interactions_per_minute"] == 0.1  # 1 question in 10 minutes on air
    assert rows[first]["peak_connections"] == 3 and rows[first]["engagement"]["questions"] == 0
    assert rows[third]["peak_connections"] == 4
    assert rows[never]["engagement"]["timing"] == "planned"
    assert rows[never]["engagement"]["on_air_minutes"] == rows[never]["engagement"]["planned_minutes"]
    assert [rows[key]["engagement"]["planned_minutes"] for key in (first, second, third)] == [
        planned[first], planned[second], planned[third]] != list(minutes.values())  # the plan was not what happened

    tables = _tables(httpx.get(f"{server.base_url}/e/{JH}/results/export/csv", headers=headers["organiser"]))
    exported = {row[0]: row for row in csv.reader(io.StringIO(tables.read("blocks.csv").decode("utf-8-sig"),
                                                              newline=""), delimiter=";")}
    title = next(b["title"] for b in talks if b["key"] == second)
    assert exported[title][5:12] == ["Faktisk sändningstid", "10,0", f"{planned[second]},0", "1", "0", "0", "0,1"]

    page = httpx.get(f"{server.base_url}/e/{JH}/results", headers=headers["organiser"]).text
    table = page[page.index('id="engagement-per-block"'):]
    table = table[:table.index("</table>")]
    assert table.count('data-timing="on_air"') >= 3 and 'data-timing="planned"' in table
    assert "Faktisk sändningstid" in table and "Planerad tid (gick aldrig live)" in table
    assert "<td>10,0</td>" in table and "<td>50,0</td>" in table and "<td>0,10</td>" in table
