"""Issue 15, item 5: no CSV cell the platform writes can become a formula, whichever separator the spreadsheet
splits the file on (comma, semicolon as Swedish Excel does, tab), and every text cell is quoted."""

from __future__ import annotations

import csv
import io

from hypothesis import given, settings
from hypothesis import strategies as st

from ehalsodag.results.exports import csv_cell, write_csv

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


@settings(max_examples=400, deadline=None, derandomize=True, database=None)
@given(rows=st.lists(st.lists(CELL, min_size=1, max_size=4), min_size=1, max_size=4))
def test_no_cell_starts_a_formula_whatever_the_separator(rows: list[list[str]]):
    text = write_csv(rows).lstrip("\ufeff")
    for record in csv.reader(io.StringIO(text)):  # read back as written: the same text, apostrophes aside
        for cell in record:
            assert cell.replace("'", "") in {c.replace("'", "") for row in rows for c in row}
    for line in text.replace("\r", "\n").split("\n"):  # a line break inside a cell may be taken as a record's end
        for separator in (",", ";", "\t"):
            for cell in _cells_when_split(line, separator):
                assert not cell.startswith(FORMULA), (line, separator, cell)


@settings(max_examples=200, deadline=None, derandomize=True, database=None)
@given(cells=st.lists(CELL, min_size=1, max_size=5))
def test_every_text_cell_is_quoted(cells: list[str]):
    line = write_csv([cells]).lstrip("\ufeff")
    fields = next(csv.reader(io.StringIO(line)))
    assert len(fields) == len(cells)
    assert line.startswith('"') and line.rstrip("\r\n").endswith('"')
    assert line.count('"') >= 2 * len(cells)


def test_the_reviewers_semicolon_cell_is_neutralised():
    line = write_csv([["Bra dag;=1+1;=cmd|' /C calc'!A0", 3, None]]).lstrip("\ufeff")
    assert line.startswith('"Bra dag;\'=1+1;\'=cmd|')
    assert ",3," in line  # numbers stay numbers
    assert csv_cell(-3) == -3 and csv_cell("Bra") == "Bra" and csv_cell("a;\t=b") == "a;'\t'=b"
