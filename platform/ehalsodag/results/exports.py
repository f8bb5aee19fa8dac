"""Exports of the report: tables as CSV (a zip, one file per table) or XLSX (one sheet per table).

Cells that a spreadsheet would read as a formula (starting with = + - @, or a tab or carriage
return) are prefixed with an apostrophe, so exported answers can never run in Excel.
"""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass
from typing import Any

from openpyxl import Workbook

from ehalsodag.i18n import gettext as _

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass
class Table:
    """One table of the report."""

    name: str
    columns: list[str]
    rows: list[list[Any]]


def neutralise(value: Any) -> Any:
    """Make a cell safe for spreadsheets; numbers stay numbers."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def tables(report: dict[str, Any]) -> list[Table]:
    """The report as flat tables (names are only present when the report carries them)."""
    event = report["event"]
    attendance = report["attendance"]
    evaluation = report["evaluation"]
    summary = Table("summary", [_("Figure"), _("Value")], [
        [_("Event"), event["title"]], [_("Date"), event["date"]],
        [_("Unique attendees"), attendance["unique"]],
        [_("Peak concurrent connections"), attendance["peak_concurrent"]],
        [_("Estimated reach (people, counting group sizes)"), attendance["estimated_reach"]],
        [_("Questions asked"), report["questions"]["asked"]],
        [_("Questions answered"), report["questions"]["answered"]],
        [_("Chat messages"), report["chat"]["messages"]],
        [_("Evaluation respondents"), evaluation["respondents"]],
        [_("Evaluation response rate (%)"), evaluation["response_rate"]],
    ])
    evaluation_rows = []
    for question in evaluation["questions"]:
        for row in question["distribution"]:
            evaluation_rows.append([question["key"], question["text"], row["label"], row["count"], row["percent"]])
    evaluation_table = Table("evaluation", [_("Key"), _("Question"), _("Answer"), _("Count"), _("Percent")],
                             evaluation_rows)
    key_figures = Table("evaluation_figures", [
        _("Key"), _("Question"), "n", _("Mean"), _("Top two (%)"), _("Yes (%)"), _("95 % interval low"),
        _("95 % interval high"), "NPS"], [
        [q["key"], q["text"], q["n"], q["mean"], q["top2_percent"], q["yes_percent"],
         (q["ci95"] or [None, None])[0], (q["ci95"] or [None, None])[1], q.get("nps")]
        for q in evaluation["questions"]])
    comments = Table("comments", [_("Key"), _("Comment")], [
        [q["key"], text] for q in evaluation["questions"] for text in q.get("comments", [])])
    polls = Table("polls", [_("Poll"), _("Kind"), _("Responses"), _("Answer"), _("Count"), _("Percent")], [
        [p["question"], p["kind"], p["responses"], o["label"], o["count"], o["percent"]]
        for p in report["polls"] for o in p["options"]])
    questions = report["questions"]
    question_rows = questions.get("all") or questions["top"]
    with_names = "all" in questions
    qa = Table("questions", [_("Question"), _("Upvotes"), _("Status"), *([_("Name")] if with_names else [])], [
        [q["text"], q["upvotes"], q["status"], *([q.get("author") or ""] if with_names else [])]
        for q in question_rows])
    timeline = Table("attendance", [_("Minute (UTC)"), _("Connections"), _("People reached")], [
        [t["minute"], t["connections"], t["reach"]] for t in attendance["timeline"]])
    blocks = Table("blocks", [_("Block"), _("Start"), _("End"), _("Peak connections"), _("Estimated reach")], [
        [b["title"], b["start"], b["end"], b["peak_connections"], b["estimated_reach"]] for b in attendance["blocks"]])
    return [summary, evaluation_table, key_figures, comments, polls, qa, timeline, blocks]


def to_csv_zip(report: dict[str, Any]) -> bytes:
    """A zip with one UTF-8 CSV per table (with a byte-order mark, so Excel reads å, ä and ö)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for table in tables(report):
            text = io.StringIO()
            writer = csv.writer(text)
            writer.writerow([neutralise(c) for c in table.columns])
            writer.writerows([[neutralise(c) for c in row] for row in table.rows])
            archive.writestr(f"{table.name}.csv", "\ufeff" + text.getvalue())
    return buffer.getvalue()


def to_xlsx(report: dict[str, Any]) -> bytes:
    """An XLSX workbook with one sheet per table."""
    workbook = Workbook()
    workbook.remove(workbook.active)
    for table in tables(report):
        sheet = workbook.create_sheet(table.name[:31])
        sheet.append([neutralise(c) for c in table.columns])
        for row in table.rows:
            sheet.append([neutralise(c) for c in row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
