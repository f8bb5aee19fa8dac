"""Exports of the report: tables as CSV (a zip, one file per table) or XLSX (one sheet per table).

Every figure per stage (per region on the national day) is in a table of its own, led by a Region
column (``regions``, ``evaluation_by_region``, ...); polls and blocks name their stage.

Cells that a spreadsheet would read as a formula (starting with = + - @, or a tab or carriage
return) are prefixed with an apostrophe, so exported answers can never run in Excel. In CSV every text
cell is quoted, and the same prefix goes before such a character after every separator a spreadsheet
may split the file on (comma, semicolon, tab: Swedish Excel splits on semicolons), so a cell such as
``Bra dag;=1+1`` stays harmless however the file is opened (:func:`csv_cell`, :func:`write_csv`).

CSV comes in two variants (:data:`CSV_VARIANTS`): ``sv``, the default, is what Swedish Excel opens by a double
click (semicolon between cells, decimal comma, UTF-8 with a byte-order mark); ``international`` has commas between
cells and a decimal point (Excel in English, LibreOffice, R, pandas). Both quote every text cell and leave numbers
bare, so a spreadsheet reads numbers as numbers.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable, Iterable
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


#: A formula character at the start of a cell, or right after a separator a spreadsheet may split the file on
#: (comma, semicolon, tab), a line break or a quote inside it (zero width: the apostrophe goes there).
_FORMULA_AFTER_SEPARATOR = re.compile(r"(?:^|(?<=[,;\t\r\n\"]))(?=[=+\-@\t\r])")


def csv_cell(value: Any) -> Any:
    """A CSV cell that no spreadsheet reads as a formula, whichever separator it splits the file on: an
    apostrophe before = + - @ tab or carriage return at the start and after every comma, semicolon, tab, line
    break or quote (for readers that drop quotes). Numbers stay numbers."""
    if isinstance(value, str):
        return _FORMULA_AFTER_SEPARATOR.sub("'", value)
    return value


@dataclass(frozen=True)
class CsvVariant:
    """How a CSV file separates cells and writes decimals."""

    key: str
    separator: str
    decimal: str


SWEDISH = CsvVariant("sv", ";", ",")
INTERNATIONAL = CsvVariant("international", ",", ".")
#: The variants by their key (the ``?variant=`` of the export routes); the first is the default.
CSV_VARIANTS = {variant.key: variant for variant in (SWEDISH, INTERNATIONAL)}


def _csv_field(cell: Any, variant: CsvVariant) -> str:
    """One cell: a number bare (with the variant's decimal sign), anything else quoted text (none: ``""``, so a row
    of one empty cell is still a record)."""
    if cell is None:
        return '""'
    if isinstance(cell, int | float) and not isinstance(cell, bool):
        number = repr(cell) if isinstance(cell, float) else str(cell)
        return number.replace(".", variant.decimal)
    return '"' + str(csv_cell(str(cell))).replace('"', '""') + '"'


def write_csv(rows: Iterable[Iterable[Any]], variant: CsvVariant = SWEDISH) -> str:
    """``rows`` as CSV text with a byte-order mark (so Excel reads å, ä and ö): every text cell quoted and
    neutralised (:func:`csv_cell`), numbers bare with the variant's decimal sign, cells split by its separator,
    lines ended by CR LF (as RFC 4180 and Excel have it)."""
    return "\ufeff" + "".join(
        variant.separator.join(_csv_field(cell, variant) for cell in row) + "\r\n" for row in rows)


def tables(report: dict[str, Any]) -> list[Table]:
    """The report as flat tables (names are only present when the report carries them)."""
    event = report["event"]
    attendance = report["attendance"]
    evaluation = report["evaluation"]
    summary = Table("summary", [_("Figure"), _("Value")], [
        [_("Event"), event["title"]], [_("Date"), event["date"]],
        [_("Unique attendees"), attendance["unique"]],
        [_("Peak concurrent attendees"), attendance["peak_concurrent"]],
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
    region = _region_names(report)
    polls = Table("polls", [_("Poll"), _("Kind"), _("Responses"), _("Answer"), _("Count"), _("Percent"), _("Stage")], [
        [p["question"], p["kind"], p["responses"], o["label"], o["count"], o["percent"], region(p.get("stage"))]
        for p in report["polls"] for o in p["options"]])
    questions = report["questions"]
    question_rows = questions.get("all") or questions["top"]
    with_names = "all" in questions
    qa = Table("questions", [_("Question"), _("Upvotes"), _("Status"), _("Stage"),
                             *([_("Name")] if with_names else [])], [
        [q["text"], q["upvotes"], q["status"], region(q.get("stage")), *([q.get("author") or ""] if with_names else [])]
        for q in question_rows])
    timeline = Table("attendance", [_("Minute (UTC)"), _("Attendees"), _("People reached")], [
        [t["minute"], t["connections"], t["reach"]] for t in attendance["timeline"]])
    timing = {"on_air": _("Actual time on air"), "planned": _("Planned time (never taken live)")}
    blocks = Table("blocks", [_("Block"), _("Start"), _("End"), _("Peak connections"), _("Estimated reach"),
                              _("Time measured"), _("Minutes on air"), _("Planned minutes"), _("Questions"),
                              _("Chat messages"), _("Poll answers"), _("Interactions per minute"), _("Stage")], [
        [b["title"], b["start"], b["end"], b["peak_connections"], b["estimated_reach"],
         *([timing.get(e["timing"], e["timing"]), e["on_air_minutes"], e["planned_minutes"], e["questions"],
            e["chat_messages"], e["poll_responses"], e["interactions_per_minute"]]
           if (e := b.get("engagement")) else [None] * 7),
         region(b.get("stage"))]
        for b in attendance["blocks"]])
    return [summary, evaluation_table, key_figures, comments, polls, qa, timeline, blocks, *region_tables(report)]


def _region_names(report: dict[str, Any]) -> Callable[[str | None], str]:
    """A stage's name from its id in the report ("" for none)."""
    names = {stage["id"]: stage["name"] for stage in report.get("stages", [])}
    return lambda key: names.get(key, key) if key else ""


def region_tables(report: dict[str, Any]) -> list[Table]:
    """The figures per stage (per region on the national day), each row led by the region."""
    stages = report.get("stages", [])
    regions = Table("regions", [
        _("Region"), _("Unique attendees"), _("Connected attendees"), _("Peak concurrent connections"),
        _("Estimated reach (people, counting group sizes)"), _("Evaluation respondents"),
        _("Present when the evaluation opened"), _("Evaluation response rate (%)")], [
        [s["name"], s["attendance"]["unique"], s["attendance"]["connected"], s["attendance"]["peak_concurrent"],
         s["attendance"]["estimated_reach"], s["evaluation"]["respondents"], s["evaluation"]["present"],
         s["evaluation"]["response_rate"]] for s in stages])
    answers = Table("evaluation_by_region", [
        _("Region"), _("Key"), _("Question"), _("Answer"), _("Count"), _("Percent")], [
        [s["name"], q["key"], q["text"], row["label"], row["count"], row["percent"]]
        for s in stages for q in s["evaluation"]["questions"] for row in q["distribution"]])
    figures = Table("evaluation_figures_by_region", [
        _("Region"), _("Key"), _("Question"), "n", _("Mean"), _("Top two (%)"), _("Yes (%)"), _("95 % interval low"),
        _("95 % interval high"), "NPS"], [
        [s["name"], q["key"], q["text"], q["n"], q["mean"], q["top2_percent"], q["yes_percent"],
         (q["ci95"] or [None, None])[0], (q["ci95"] or [None, None])[1], q.get("nps")]
        for s in stages for q in s["evaluation"]["questions"]])
    comments = Table("comments_by_region", [_("Region"), _("Key"), _("Comment")], [
        [s["name"], q["key"], text] for s in stages for q in s["evaluation"]["questions"]
        for text in q.get("comments", [])])
    polls = Table("polls_by_region", [
        _("Region"), _("Poll"), _("Kind"), _("Responses"), _("Answer"), _("Count"), _("Percent")], [
        [s["name"], p["question"], p["kind"], p["responses"], o["label"], o["count"], o["percent"]]
        for s in stages for p in s["polls"] for o in p["options"]])
    blocks = Table("blocks_by_region", [
        _("Block"), _("Start"), _("End"), _("Region"), _("Peak connections"), _("Estimated reach")], [
        [b["title"], b["start"], b["end"], s["name"], s["peak_connections"], s["estimated_reach"]]
        for b in report["attendance"]["blocks"] for s in b.get("by_stage", [])])
    timeline = Table("attendance_by_region", [_("Region"), _("Minute (UTC)"), _("Attendees"), _("People reached")], [
        [s["name"], t["minute"], t["connections"], t["reach"]] for s in stages for t in s["attendance"]["timeline"]])
    return [regions, answers, figures, comments, polls, blocks, timeline]


def to_csv_zip(report: dict[str, Any], variant: CsvVariant = SWEDISH) -> bytes:
    """A zip with one UTF-8 CSV per table (with a byte-order mark, so Excel reads å, ä and ö), in ``variant``."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for table in tables(report):
            archive.writestr(f"{table.name}.csv", write_csv([table.columns, *table.rows], variant))
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
