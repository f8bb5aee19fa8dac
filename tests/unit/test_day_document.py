"""The studio's programme documents: written TOML reads back as the same document, and every problem path of
``agenda check`` points at the line it is about."""

from __future__ import annotations

import datetime as dt
import tomllib
from pathlib import Path

import pytest

from ehalsodag.agenda.files import AgendaError, load_agenda_text
from ehalsodag.days.document import dumps, line_index, line_of, swapped_times
from ehalsodag.settings import PROGRAMMES_DIR

ROOT = Path(__file__).resolve().parents[2]
FILES = sorted({*PROGRAMMES_DIR.glob("*.toml"), *PROGRAMMES_DIR.glob("*/*.toml"),
                *(ROOT / "tests" / "fixtures" / "agenda").glob("**/*.toml")})


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_every_programme_file_is_written_back_as_the_same_document(path):
    doc = tomllib.loads(path.read_text("utf-8"))
    written = dumps(doc, "a comment\nover two lines")
    assert tomllib.loads(written) == doc
    assert written.startswith("# a comment\n# over two lines\n")


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_every_key_of_a_written_file_is_found_on_its_own_line(path):
    written = dumps(tomllib.loads(path.read_text("utf-8")))
    lines = written.splitlines()
    index = line_index(written)
    assert index
    for where, number in index.items():
        last = where.rsplit(".", 1)[-1]
        line = lines[number - 1]
        if line.startswith("["):  # a table: its header names it
            assert line.strip("[]").rsplit(".", 1)[-1] == last.split("[")[0], (where, line)
        else:
            assert line.startswith(f"{last} =") or line.startswith(f'"{last}" ='), (where, line)


def test_strings_that_need_escaping_survive():
    doc = {"event": {"title": 'Citat "så här" \\ och\nny rad\ttab \x01', "date": dt.date(2027, 1, 2)}}
    assert tomllib.loads(dumps(doc)) == doc


def test_a_problem_of_the_framework_file_has_no_line_and_one_of_the_day_has_its_own(tmp_path):
    text = ('[event]\nextends = "ramprogram-2021.toml"\ndate = 2027-03-23\n\n[[blocks]]\nid = "ny"\nkind = "talk"\n'
            'start = "16:00"\nend = "15:00"\ntitle = "Ny"\n')
    with pytest.raises(AgendaError) as raised:
        load_agenda_text(text, PROGRAMMES_DIR / "dag.toml")
    [problem] = raised.value.problems
    assert problem.path == "blocks[0].end" and line_of(text, problem.path) == 9
    assert line_of(text, "blocks[ny].end") == 9, "by id as well as by index"
    assert line_of('[event\n', "file", "Expected ']' at the end of a table declaration (at line 1, column 7)") == 1


def test_two_neighbours_change_places_keeping_their_lengths_and_the_gap():
    first, second = {"start": "10:00", "end": "11:00"}, {"start": "11:10", "end": "11:30"}
    assert swapped_times(first, second) == (("10:00", "10:20"), ("10:30", "11:30"))
    assert swapped_times({"start": "x"}, second) is None
