"""Issue 15, item 5: no CSV cell the platform writes can become a formula, whichever separator the spreadsheet
splits the file on (comma, semicolon as Swedish Excel does, tab), and every text cell is quoted; issue 18: in both
variants, Swedish (semicolon, decimal comma, the default) and international (comma, decimal point)."""

from __future__ import annotations

import csv
import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ehalsodag.results.exports import CSV_VARIANTS, INTERNATIONAL, SWEDISH, CsvVariant, csv_cell, write_csv

FORMULA = ("=", "+", "-", "@", "\t", "\r")
#: Text made of the characters that matter (separators, formula starts, quotes, newlines) and ordinary ones.
CELL = st.lists(st.sampled_from(list("=+-@\t\r\n,;\"' aåB1|") + ["cmd", "Bra dag"]), max_size=20).map("".join)


def _cells_when_split(line: str, separator: str) -> list[str]:
    """What a spreadsheet may see as cells: the line split on ``separator``, with and without minding quotes."""
    naive = [part.strip('"') for part in line.split(separator)]
    try:
        minded = next(csv.reader(io.StringIO(line), delimiter=separator), [])
    except csv.Error:  # a carriage return outside quotes, as this separator sees it: the naive split covers it
        minded = []
    return naive + minded


VARIANTS = pytest.mark.parametrize("variant", list(CSV_VARIANTS.values()), ids=list(CSV_VARIANTS))
#: Cells as the reports have them: text, integers, floats (percentages, means, negative NPS) and empty ones.
ANY_CELL = CELL | st.integers(-10**6, 10**6) | st.floats(-1000, 1000, allow_nan=False) | st.none()


@VARIANTS
@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(rows=st.lists(st.lists(CELL, min_size=1, max_size=4), min_size=1, max_size=4))
def test_no_cell_starts_a_formula_whatever_the_separator(variant: CsvVariant, rows: list[list[str]]):
    text = write_csv(rows, variant).lstrip("\ufeff")
    for record in csv.reader(io.StringIO(text), delimiter=variant.separator):  # read back: apostrophes aside
        for cell in record:
            assert cell.replace("'", "") in {c.replace("'", "") for row in rows for c in row}
    for line in text.replace("\r", "\n").split("\n"):  # a line break inside a cell may be taken as a record's end
        for separator in (",", ";", "\t"):
            for cell in _cells_when_split(line, separator):
                assert not cell.startswith(FORMULA), (line, separator, cell)


@VARIANTS
@settings(max_examples=200, deadline=None, derandomize=True, database=None)
@given(cells=st.lists(CELL, min_size=1, max_size=5))
def test_every_text_cell_is_quoted(variant: CsvVariant, cells: list[str]):
    line = write_csv([cells], variant).lstrip("\ufeff")
    fields = next(csv.reader(io.StringIO(line), delimiter=variant.separator))
    assert len(fields) == len(cells)
    assert line.startswith('"') and line.rstrip("\r\n").endswith('"')
    assert line.count('"') >= 2 * len(cells)


def test_the_reviewers_semicolon_cell_is_neutralised():
    line = write_csv([["Bra dag;=1+1;=cmd|' /C calc'!A0", 3, None]], INTERNATIONAL).lstrip("\ufeff")
    assert line.startswith('"Bra dag;\'=1+1;\'=cmd|')
    assert line.endswith('",3,""\r\n')  # numbers stay numbers
    swedish = write_csv([["Bra dag;=1+1", 3, None]]).lstrip("\ufeff")
    assert swedish == '"Bra dag;\'=1+1";3;""\r\n'  # the default is Swedish
    assert csv_cell(-3) == -3 and csv_cell("Bra") == "Bra" and csv_cell("a;\t=b") == "a;'\t'=b"


@VARIANTS
@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(rows=st.lists(st.lists(ANY_CELL, min_size=1, max_size=5), min_size=1, max_size=4))
def test_every_cell_reads_back_with_the_variants_separator_and_decimal_sign(variant: CsvVariant, rows: list[list]):
    """Read as the spreadsheet of that variant does: same number of cells, numbers bare and equal once the decimal
    sign is the point again, text quoted and equal apostrophes aside, empty cells empty."""
    text = write_csv(rows, variant)
    assert text.startswith("\ufeff")
    records = list(csv.reader(io.StringIO(text.lstrip("\ufeff"), newline=""), delimiter=variant.separator))
    assert len(records) == len(rows)
    for record, row in zip(records, rows, strict=True):
        assert len(record) == len(row)
        for field, cell in zip(record, row, strict=True):
            if cell is None:
                assert field == ""
            elif isinstance(cell, int | float):
                assert variant.separator not in field and (variant.decimal == "." or "." not in field)
                assert float(field.replace(variant.decimal, ".")) == cell
            else:
                assert field.replace("'", "") == cell.replace("'", "")


def test_the_swedish_variant_is_what_swedish_excel_opens():
    text = write_csv([["Andel (%)", 90.0, -12.5, 48], ["Åre", 0.05, None, "ö"]], SWEDISH)
    assert text == '\ufeff"Andel (%)";90,0;-12,5;48\r\n"Åre";0,05;"";"ö"\r\n'
    assert write_csv([["a", 90.0]], INTERNATIONAL) == '\ufeff"a",90.0\r\n'
