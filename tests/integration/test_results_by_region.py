"""Results per region on a national day, on hand-made data with hand-computed figures.

The day: a national stage and two regions (Östergötland, Jämtland Härjedalen). A national block for
everyone 09–10, one regional block per region 10–11, a national closing 11–12 (Swedish time, so 07–10
UTC). Attendees, with their group sizes (people watching together) and who connected:

- national (no region): A1 (1), A2 (4) — both connected, present when the evaluation opened
- Östergötland: O1 (10), O2 (1) present; O3 (2) never connected; O4 (5) connected, left before it opened
- Jämtland Härjedalen: J1 (3) present

The attendance recorder samples two minutes on worker w1 (07:10 and 08:10 UTC) and one on w2 (07:10,
only O4). Evaluation: A1 (5, yes), O1 (4, yes, a comment), O2 (2, no), J1 (5, don't know); A2 does not
answer. A national poll is answered from all three homes; a regional poll belongs to Östergötland.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import select

from ehalsodag.agenda.files import load_agenda
from ehalsodag.agenda.service import event_by_slug, load_spec
from ehalsodag.attendees.models import Attendee
from ehalsodag.db.engine import Database
from ehalsodag.evaluation import service as evaluation_service
from ehalsodag.evaluation.models import EvaluationAnswer
from ehalsodag.live.attendance import AttendanceRecorder
from ehalsodag.live.hub import Attendance
from ehalsodag.polls.models import Poll, PollResponse
from ehalsodag.results.models import AttendanceSample, AttendanceSpan
from ehalsodag.results.service import wilson_interval
from tests.conftest import make_staff
from tests.integration.test_results import JH, add_respondents, jamtland_answers
from tests.integration.test_results import staff as staff  # noqa: F401  (the fixture, for the single-stage test)

SLUG = "nationell-e-halsodag-2021"
PROGRAMME = """
[event]
slug = "nationell-e-halsodag-2021"
title = "Nationell e-hälsodag"
date = 2021-05-25
timezone = "Europe/Stockholm"

[evaluation]
open_minutes = 60

[[evaluation.questions]]
key = "helhet"
kind = "scale"
text = "Vad tyckte du om dagen i sin helhet?"
labels = ["Mycket dålig", "Dålig", "Varken bra eller dålig", "Bra", "Mycket bra"]

[[evaluation.questions]]
key = "aterkommande"
kind = "yesno"
text = "Bör dagen återkomma?"

[[evaluation.questions]]
key = "kommentar"
kind = "text"
text = "Något mer?"
optional = true

[[stages]]
id = "nationell"
name = "Nationella scenen"
kind = "national"

[[stages]]
id = "ostergotland"
name = "Östergötland"
kind = "regional"

[[stages]]
id = "jamtland"
name = "Jämtland Härjedalen"
kind = "regional"

[[blocks]]
id = "oppning"
stage = "nationell"
kind = "opening"
start = "09:00"
end = "10:00"
title = "Öppning"

[[blocks.polls]]
id = "tjanst"
kind = "single"
question = "Vilken e-tjänst använder du mest?"
options = ["1177", "Journalen", "Annat"]

[[blocks]]
id = "regional-og"
stage = "ostergotland"
kind = "panel"
start = "10:00"
end = "11:00"
title = "Panel i Östergötland"

[[blocks]]
id = "regional-jh"
stage = "jamtland"
kind = "panel"
start = "10:00"
end = "11:00"
title = "Panel i Jämtland Härjedalen"

[[blocks]]
id = "avslutning"
stage = "nationell"
kind = "closing"
start = "11:00"
end = "12:00"
title = "Avslutning"
"""
AT_NATIONAL = dt.datetime(2021, 5, 25, 7, 10, tzinfo=dt.UTC)  # 09:10 in Sweden: the opening block
AT_REGIONAL = dt.datetime(2021, 5, 25, 8, 10, tzinfo=dt.UTC)  # 10:10: the regional blocks


class FakeHub:
    """Stands in for the live hub: hands the recorder one prepared attendance report per call."""

    def __init__(self) -> None:
        self.report: list[Attendance] = []

    def take_attendance(self) -> list[Attendance]:
        report, self.report = self.report, []
        return report


async def build_national_day(settings, tmp_path: Path) -> dict[str, int]:
    """Load the day, add the attendees, samples, answers and votes; return the attendees' ids by name."""
    path = tmp_path / "nationell.toml"
    path.write_text(PROGRAMME, encoding="utf-8")
    db = Database(settings)
    async with db.unit_of_work() as session:
        await load_spec(session, load_agenda(path))
    now = dt.datetime.now(dt.UTC)
    async with db.writer() as session:
        event = await event_by_slug(session, SLUG)
        stage = {s.key: s.id for s in event.stages}
        people = {"A1": (None, 1), "A2": (None, 4), "O1": ("ostergotland", 10), "O2": ("ostergotland", 1),
                  "O3": ("ostergotland", 2), "O4": ("ostergotland", 5), "J1": ("jamtland", 3)}
        attendees = {}
        for name, (key, size) in people.items():
            attendees[name] = Attendee(event_id=event.id, token_hash=f"{SLUG}-{name}".ljust(64, "x"),
                                       group_size=size, stage_id=stage[key] if key else None)
            session.add(attendees[name])
        await session.commit()
        ids = {name: a.id for name, a in attendees.items()}
        event_id = event.id

    hub = FakeHub()
    recorder = AttendanceRecorder(db, hub)  # type: ignore[arg-type]
    recorder.worker = "w1"
    hub.report = [Attendance(event_id, 6, 19, frozenset(ids[n] for n in ("A1", "A2", "O1", "O2", "J1")),
                             frozenset())]
    assert await recorder.sample(AT_NATIONAL) == 1
    hub.report = [Attendance(event_id, 3, 14, frozenset(ids[n] for n in ("A1", "O1", "J1")), frozenset())]
    await recorder.sample(AT_REGIONAL)
    hub.report = [Attendance(event_id, 2, 13, frozenset(ids[n] for n in ("A1", "O1", "J1")), frozenset())]
    await recorder.sample(AT_REGIONAL + dt.timedelta(seconds=30))  # same minute, lower: the row keeps the most
    second = AttendanceRecorder(db, hub)  # type: ignore[arg-type]
    second.worker = "w2"
    hub.report = [Attendance(event_id, 1, 5, frozenset({ids["O4"]}), frozenset())]
    await second.sample(AT_NATIONAL)

    async with db.writer() as session:  # who was there (the recorder stamped 2021; today is what counts)
        event = await event_by_slug(session, SLUG)
        for name, attendee_id in ids.items():
            attendee = await session.get(Attendee, attendee_id)
            assert attendee is not None
            if name == "O4":  # connected, gone half an hour before the evaluation opened
                attendee.first_connected_at, attendee.last_seen_at = now - dt.timedelta(hours=1), now - dt.timedelta(
                    minutes=30)
            elif name != "O3":
                attendee.first_connected_at, attendee.last_seen_at = now - dt.timedelta(minutes=10), now - dt.timedelta(
                    minutes=1)
        await session.commit()
        await evaluation_service.open_now(session, event, "test")
        answers = {"A1": {"helhet": 5, "aterkommande": "yes"},
                   "O1": {"helhet": 4, "aterkommande": "yes", "kommentar": "Bra regional panel!"},
                   "O2": {"helhet": 2, "aterkommande": "no"},
                   "J1": {"helhet": 5, "aterkommande": "dont_know"}}
        for name, answer in answers.items():
            attendee = await session.get(Attendee, ids[name])
            assert attendee is not None
            await evaluation_service.submit(session, event, attendee, answer)
        national = (await session.execute(select(Poll).where(Poll.event_id == event.id, Poll.key == "tjanst"))
                    ).scalar_one()
        option = {o.label: o.id for o in national.options}
        for name, label in (("A1", "1177"), ("O1", "Journalen"), ("O2", "Journalen"), ("J1", "1177")):
            session.add(PollResponse(poll_id=national.id, attendee_id=ids[name],
                                     answer={"option_ids": [option[label]]}))
        regional = Poll(event_id=event.id, stage_id=stage["ostergotland"], kind="scale", state="closed",
                        question="Hur långt har vi kommit?", scale_min=1, scale_max=5, options=[])
        session.add(regional)
        await session.flush()
        for name, value in (("O1", 4), ("O4", 2)):
            session.add(PollResponse(poll_id=regional.id, attendee_id=ids[name], answer={"value": value}))
        await session.commit()
    await db.dispose()
    return ids


@pytest.fixture
async def national(settings, tmp_path):
    """The national day with its data, and an organiser's headers."""
    ids = await build_national_day(settings, tmp_path)
    token = await make_staff(settings, "org@example.se", "organiser", SLUG)
    return {"ids": ids, "headers": {"Authorization": f"Bearer {token}"}}


def by_id(items):
    return {item["id"]: item for item in items}


async def test_the_recorder_writes_one_row_per_stage_beside_the_events(settings, national):
    db = Database(settings)
    async with db.reader() as session:
        event = await event_by_slug(session, SLUG)
        key = {s.id: s.key for s in event.stages}
        rows = (await session.execute(select(AttendanceSample).where(AttendanceSample.event_id == event.id))
                ).scalars().all()
        answers = (await session.execute(select(EvaluationAnswer.stage_id, EvaluationAnswer.number))).all()
    await db.dispose()
    table = {(r.worker, r.minute.strftime("%H:%M"), key.get(r.stage_id)): (r.connections, r.reach) for r in rows}
    assert table == {
        ("w1", "07:10", None): (6, 19), ("w1", "07:10", "nationell"): (2, 5),
        ("w1", "07:10", "ostergotland"): (2, 11), ("w1", "07:10", "jamtland"): (1, 3),
        ("w1", "08:10", None): (3, 14), ("w1", "08:10", "nationell"): (1, 1),
        ("w1", "08:10", "ostergotland"): (1, 10), ("w1", "08:10", "jamtland"): (1, 3),
        ("w2", "07:10", None): (1, 5), ("w2", "07:10", "nationell"): (0, 0),
        ("w2", "07:10", "ostergotland"): (1, 5), ("w2", "07:10", "jamtland"): (0, 0),
    }
    # every answer carries the respondent's home stage: no region is the national stage
    assert sorted((key[s], n) for s, n in answers if n is not None) == [
        ("jamtland", 5), ("nationell", 5), ("ostergotland", 2), ("ostergotland", 4)]


async def test_the_results_json_has_exact_figures_per_region(client, national):
    report = (await client.get(f"/api/v1/events/{SLUG}/results", headers=national["headers"])).json()

    attendance = report["attendance"]  # the event's figures, as before
    assert (attendance["joined"], attendance["unique"], attendance["estimated_reach"]) == (7, 6, 24)  # O3 never came
    assert (attendance["peak_concurrent"], attendance["peak_reach"]) == (6, 24)  # 5 on w1 (6 tabs) + 1 on w2
    assert [(t["minute"], t["connections"], t["reach"]) for t in attendance["timeline"]] == [
        ("2021-05-25T07:10:00Z", 6, 24), ("2021-05-25T08:10:00Z", 3, 14)]
    blocks = {b["key"]: b for b in attendance["blocks"]}
    assert (blocks["oppning"]["peak_connections"], blocks["oppning"]["estimated_reach"]) == (6, 24)
    assert blocks["oppning"]["stage"] == "nationell" and blocks["regional-og"]["stage"] == "ostergotland"
    assert [(s["id"], s["peak_connections"], s["estimated_reach"]) for s in blocks["oppning"]["by_stage"]] == [
        ("nationell", 2, 5), ("ostergotland", 3, 16), ("jamtland", 1, 3)]  # Östergötland on two workers
    assert [(s["id"], s["peak_connections"], s["estimated_reach"]) for s in blocks["regional-og"]["by_stage"]] == [
        ("ostergotland", 1, 10)]
    assert [(s["id"], s["peak_connections"]) for s in blocks["regional-jh"]["by_stage"]] == [("jamtland", 1)]
    assert [s["peak_connections"] for s in blocks["avslutning"]["by_stage"]] == [0, 0, 0]

    stages = by_id(report["stages"])
    assert list(stages) == ["nationell", "ostergotland", "jamtland"]
    assert (stages["ostergotland"]["name"], stages["ostergotland"]["kind"]) == ("Östergötland", "regional")
    figures = {key: tuple(s["attendance"][f] for f in ("unique", "connected", "estimated_reach", "peak_concurrent",
                                                        "peak_reach"))
               for key, s in stages.items()}
    assert figures == {"nationell": (2, 2, 5, 2, 5), "ostergotland": (3, 3, 16, 3, 16), "jamtland": (1, 1, 3, 1, 3)}
    og = stages["ostergotland"]["attendance"]
    assert [(t["minute"], t["connections"], t["reach"]) for t in og["timeline"]] == [
        ("2021-05-25T07:10:00Z", 3, 16), ("2021-05-25T08:10:00Z", 1, 10)]
    assert [(b["key"], b["peak_connections"], b["estimated_reach"]) for b in og["blocks"]] == [
        ("oppning", 3, 16), ("regional-og", 1, 10), ("avslutning", 0, 0)]  # the region's own day
    assert [b["key"] for b in stages["nationell"]["attendance"]["blocks"]] == ["oppning", "avslutning"]

    evaluation = report["evaluation"]  # the event's: 4 of the 5 present answered
    assert (evaluation["respondents"], evaluation["present"], evaluation["response_rate"]) == (4, 5, 80.0)
    assert evaluation["questions"][0]["top2_percent"] == 75.0
    regional = {key: s["evaluation"] for key, s in stages.items()}
    assert {k: (e["respondents"], e["present"], e["response_rate"]) for k, e in regional.items()} == {
        "nationell": (1, 2, 50.0), "ostergotland": (2, 2, 100.0), "jamtland": (1, 1, 100.0)}
    helhet = regional["ostergotland"]["questions"][0]
    assert helhet["key"] == "helhet" and helhet["n"] == 2 and helhet["mean"] == 3.0
    assert [(d["label"], d["count"], d["percent"]) for d in helhet["distribution"]] == [
        ("Mycket dålig", 0, 0.0), ("Dålig", 1, 50.0), ("Varken bra eller dålig", 0, 0.0), ("Bra", 1, 50.0),
        ("Mycket bra", 0, 0.0)]
    assert helhet["top2_percent"] == 50.0 and helhet["ci95"] == [9.5, 90.5] == list(wilson_interval(1, 2))
    recur = regional["ostergotland"]["questions"][1]
    assert recur["yes_percent"] == 50.0 and recur["ci95"] == [9.5, 90.5]
    assert regional["ostergotland"]["questions"][2]["comments"] == ["Bra regional panel!"]
    assert regional["jamtland"]["questions"][0]["top2_percent"] == 100.0
    assert regional["jamtland"]["questions"][0]["ci95"] == [20.7, 100.0] == list(wilson_interval(1, 1))
    assert regional["jamtland"]["questions"][1]["yes_percent"] == 0.0
    assert regional["jamtland"]["questions"][2]["comments"] == []
    assert regional["nationell"]["questions"][0]["distribution"][-1]["count"] == 1

    poll = next(p for p in report["polls"] if p["question"].startswith("Vilken"))
    assert poll["stage"] == "nationell" and poll["responses"] == 4
    assert [(o["label"], o["count"], o["percent"]) for o in poll["options"]] == [
        ("1177", 2, 50.0), ("Journalen", 2, 50.0), ("Annat", 0, 0.0)]
    per_region = {key: [(p["question"][:7], p["responses"], [o["count"] for o in p["options"]], p["mean"])
                        for p in s["polls"]] for key, s in stages.items()}
    assert per_region == {
        "nationell": [("Vilken ", 1, [1, 0, 0], None)],
        "ostergotland": [("Vilken ", 2, [0, 2, 0], None), ("Hur lån", 2, [0, 1, 0, 1, 0], 3.0)],
        "jamtland": [("Vilken ", 1, [1, 0, 0], None)],
    }
    assert next(p for p in report["polls"] if p["question"].startswith("Hur"))["stage"] == "ostergotland"


async def test_csv_and_xlsx_carry_the_region(client, national):
    headers = national["headers"]
    international = f"/e/{SLUG}/results/export/csv?variant=international"  # commas and decimal points
    zipped = zipfile.ZipFile(io.BytesIO((await client.get(international, headers=headers)).content))

    def read(name):
        return list(csv.reader(io.StringIO(zipped.read(f"{name}.csv").decode("utf-8-sig"))))

    regions = read("regions")
    assert regions[0][0] == "Region"
    assert regions[1:] == [  # region, unique, connected, peak, reach, respondents, present, response rate
        ["Nationella scenen", "2", "2", "2", "5", "1", "2", "50.0"],
        ["Östergötland", "3", "3", "3", "16", "2", "2", "100.0"],
        ["Jämtland Härjedalen", "1", "1", "1", "3", "1", "1", "100.0"]]
    figures = read("evaluation_figures_by_region")
    og = next(r for r in figures if r[0] == "Östergötland" and r[1] == "helhet")
    assert og[3:8] == ["2", "3.0", "50.0", "", "9.5"] and og[8] == "90.5"
    assert ["Östergötland", "kommentar", "Bra regional panel!"] in read("comments_by_region")
    assert ["Jämtland Härjedalen", "Vilken e-tjänst använder du mest?", "single", "1", "1177", "1", "100.0"] in read(
        "polls_by_region")
    assert ["Panel i Östergötland", "2021-05-25T08:00:00Z", "2021-05-25T09:00:00Z", "Östergötland", "1", "10"] in read(
        "blocks_by_region")
    assert ["Östergötland", "2021-05-25T07:10:00Z", "3", "16"] in read("attendance_by_region")
    blocks = read("blocks")
    assert blocks[0][-1] == "Scen" and blocks[1][0] == "Öppning" and blocks[1][-1] == "Nationella scenen"
    assert read("polls")[1][-1] == "Nationella scenen"

    workbook = openpyxl.load_workbook(io.BytesIO((await client.get(f"/e/{SLUG}/results/export/xlsx",
                                                                  headers=headers)).content))
    assert {"regions", "evaluation_by_region", "evaluation_figures_by_region", "polls_by_region", "blocks_by_region",
            "attendance_by_region", "comments_by_region"} <= set(workbook.sheetnames)
    rows = list(workbook["regions"].iter_rows(values_only=True))
    assert rows[0][0] == "Region" and rows[2][0] == "Östergötland" and rows[2][4] == 16 and rows[2][7] == 100.0
    answers = list(workbook["evaluation_by_region"].iter_rows(values_only=True))
    assert ("Jämtland Härjedalen", "aterkommande", "Bör dagen återkomma?", "Vet inte", 1, 100.0) in answers

    exported = (await client.get(f"/e/{SLUG}/results/export/json", headers=headers)).json()
    assert [s["id"] for s in exported["stages"]] == ["nationell", "ostergotland", "jamtland"]


async def test_results_page_compares_the_regions(client, national):
    page = await client.get(f"/e/{SLUG}/results", headers=national["headers"])
    assert page.status_code == 200
    html = page.text
    section = html.split('id="regions-heading"')[1].split("</section>")[0]
    assert "Resultat per region" in section
    table = section.split('id="regions-table"')[1].split("</table>")[0]
    assert '<caption id="regions-table-caption">Region för region' in table
    assert '<th scope="col">Region</th>' in table and '<th scope="col">Anslutna deltagare</th>' in table
    og = table.split('<th scope="row">Östergötland</th>')[1].split("</tr>")[0]
    cells = [c.split("</td>")[0].strip() for c in og.split("<td>")[1:]]
    assert cells[:5] == ["3", "3", "16", "2", "100,0 %"]
    assert cells[5].startswith("50,0 %") and "9,5–90,5" in cells[5] and "n = 2" in cells[5]  # top two, interval
    assert cells[6].startswith("50,0 %")  # yes
    whole = table.split("<tfoot>")[1]
    assert '<th scope="row">Hela dagen</th>' in whole and "<td>24</td>" in whole and "80,0 %" in whole
    assert 'id="chart-regions-reach"' in section and 'id="chart-regions-helhet"' in section
    chart = section.split('id="chart-regions-helhet"')[1].split("</svg>")[0]
    assert 'role="img"' in html and "<desc id=\"chart-regions-helhet-desc\">Två högsta per region" in chart
    assert 'class="interval"' in chart and "Östergötland" in chart
    blocks = section.split('id="regions-blocks"')[1].split("</table>")[0]
    regional = blocks.split('<th scope="row">Panel i Östergötland</th>')[1].split("</tr>")[0]
    assert "1 <small" in regional and "10 personer" in regional and regional.count("–") == 3
    opening = blocks.split('<th scope="row">Öppning</th>')[1].split("</tr>")[0]
    assert "24 personer" in opening and "16 personer" in opening
    assert "Nationella omröstningar per region" in section

    english = await client.get(f"/e/{SLUG}/results", headers={**national["headers"], "Cookie": "ehd_lang=en"})
    assert "Results per region" in english.text and "The whole day" in english.text
    report = (await client.get(f"/e/{SLUG}/results/report", headers=national["headers"])).text
    assert 'id="regions-table"' in report and "<details open>" in report


async def test_single_stage_event_keeps_its_results_and_has_one_stage(client, settings, staff):  # noqa: F811
    await add_respondents(settings, JH, jamtland_answers(), present=60, group_size=3)
    db = Database(settings)
    async with db.writer() as session:
        event = await event_by_slug(session, JH)
        block = next(b for b in event.blocks if b.key == "block-1")
        attendees = (await session.execute(select(Attendee.id).where(Attendee.event_id == event.id).limit(30))
                     ).scalars().all()
        at = block.starts_at.replace(second=0, microsecond=0) + dt.timedelta(minutes=5)
        session.add_all(AttendanceSpan(event_id=event.id, attendee_id=a, first_minute=at, last_minute=at, live=True)
                        for a in attendees)
        await session.commit()
        assert len(event.stages) == 1
    await db.dispose()
    report = (await client.get(f"/api/v1/events/{JH}/results", headers=staff["organiser"])).json()
    assert set(report) == {"event", "attendance", "polls", "questions", "chat", "evaluation", "stages"}
    assert set(report["attendance"]) == {"unique", "joined", "connected", "peak_concurrent", "estimated_reach",
                                         "peak_reach", "timeline", "blocks", "group_sizes", "reach_max_group_size",
                                         "reach_capped"}
    assert report["evaluation"]["response_rate"] == 83.3 and report["evaluation"]["questions"][0]["top2_percent"] == 90
    block_row = next(b for b in report["attendance"]["blocks"] if b["key"] == "block-1")
    assert (block_row["peak_connections"], block_row["estimated_reach"]) == (30, 90)
    assert block_row["by_stage"] == [{"id": "main", "name": "Huvudsändning", "attendees": 30, "peak_connections": 30,
                                      "estimated_reach": 90}]
    [stage] = report["stages"]
    assert (stage["id"], stage["name"]) == ("main", "Huvudsändning")
    assert stage["evaluation"] == report["evaluation"]
    assert {k: v for k, v in stage["attendance"].items() if k != "blocks"} == {
        k: v for k, v in report["attendance"].items() if k != "blocks"}
    assert [{k: v for k, v in b.items() if k != "by_stage"} for b in report["attendance"]["blocks"]] == \
        stage["attendance"]["blocks"]
    assert stage["polls"] == report["polls"]


async def test_the_national_days_report_comes_as_a_pdf_with_its_regions(client, national):
    """The region charts (bars with interval whiskers) and tables go into the PDF as they are on the page."""
    from pypdf import PdfReader

    response = await client.get(f"/e/{SLUG}/results/report.pdf", headers=national["headers"])
    assert response.status_code == 200 and response.headers["content-type"] == "application/pdf"
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    assert "Östergötland" in text and "Jämtland Härjedalen" in text and "Nationella scenen" in text
