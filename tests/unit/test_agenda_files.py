"""Programme files: inheritance, placeholders, and one clear error line per problem."""

import datetime as dt
import textwrap
from pathlib import Path

import pytest

from ehalsodag.agenda.files import AgendaError, check_files, load_agenda

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "agenda"

GOOD = """
[event]
title = "Testdag"
date = 2021-03-23
timezone = "Europe/Stockholm"

[[stages]]
id = "main"
name = "Huvudsändning"

[[blocks]]
id = "a"
kind = "opening"
start = "09:00"
end = "09:05"
title = "Öppning"

[[blocks]]
id = "b"
kind = "panel"
start = "09:05"
end = "10:00"
title = "Panel"
"""


def write(tmp_path: Path, text: str, name: str = "day.toml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def problems(path: Path) -> list[str]:
    with pytest.raises(AgendaError) as caught:
        load_agenda(path)
    return [str(p) for p in caught.value.problems]


def test_a_good_file_loads_with_utc_times(tmp_path):
    spec = load_agenda(write(tmp_path, GOOD))
    assert spec.slug == "day" and spec.date == dt.date(2021, 3, 23)
    assert [b.key for b in spec.blocks] == ["a", "b"]
    assert spec.utc(spec.blocks[0].start) == dt.datetime(2021, 3, 23, 8, 0, tzinfo=dt.UTC)


def test_regional_file_extends_removes_replaces_adds_and_fills_placeholders():
    spec = load_agenda(FIXTURES / "regional.toml")
    assert spec.title == "Child Östergötland"
    keys = [b.key for b in spec.blocks]
    assert keys == ["b", "c"]  # "a" removed, "c" added
    panel = spec.blocks[0]
    assert [s.name for s in panel.speakers] == ["X", "Local"]  # local panellist appended
    assert spec.blocks[1].title == "Slut Östergötland"  # child placeholder beats the template default
    assert spec.stages[0].stream_url.startswith("https://www.youtube.com/")  # inherited stage


def test_template_without_date_gets_today_and_default_placeholders():
    spec = load_agenda(FIXTURES / "framework.toml", today=dt.date(2030, 1, 2))
    assert spec.template and spec.date == dt.date(2030, 1, 2)
    assert spec.blocks[0].title == "Öppnar i regionen"


def test_replacing_a_parent_block_by_id(tmp_path):
    (tmp_path / "framework.toml").write_bytes((FIXTURES / "framework.toml").read_bytes())
    path = write(tmp_path, """
        [event]
        extends = "framework.toml"
        date = 2021-05-25
        [[blocks]]
        id = "a"
        kind = "film"
        start = "09:00"
        end = "09:05"
        title = "Film i stället"
        film_url = "https://vimeo.com/123456"
    """, "child.toml")
    spec = load_agenda(path)
    film = next(b for b in spec.blocks if b.key == "a")
    assert film.kind == "film" and film.title == "Film i stället" and film.film_url


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda t: t.replace('title = "Testdag"', 'title = "Testdag"\ncolour = "red"'),
         "day.toml: event.colour: unknown key"),
        (lambda t: t.replace('end = "10:00"', 'end = "09:00"'),
         "day.toml: blocks[1].end: ends (09:00) before or when it starts (09:05)"),
        (lambda t: t.replace('start = "09:05"', 'start = "09:04"'),
         "day.toml: blocks[1].start: block 'b' (09:04–10:00) overlaps 'a' (09:00–09:05) on stage 'main'"),
        (lambda t: t.replace('"Europe/Stockholm"', '"Europe/Atlantis"'),
         "day.toml: event.timezone: unknown time zone 'Europe/Atlantis'"),
        (lambda t: t.replace('name = "Huvudsändning"', 'name = "H"\nstream_url = "http://example.se/live.m3u8"'),
         "day.toml: stages[main].stream_url: 'http://example.se/live.m3u8' must be an https:// URL, not http"),
        (lambda t: t.replace('title = "Panel"', 'title = "Panel"\nfilm_url = "javascript:alert(1)"'),
         "day.toml: blocks[1].film_url: 'javascript:alert(1)' must be an https:// URL"),
        (lambda t: t.replace('title = "Testdag"', 'title = "Testdag"\nextends = "nowhere.toml"'),
         "day.toml: event.extends: unknown parent: no file 'nowhere.toml'"),
        (lambda t: t.replace('kind = "panel"', 'kind = "dance"'),
         "day.toml: blocks[1].kind: must be one of opening, talk, panel, break, lunch, film, closing"),
        (lambda t: t.replace('start = "09:05"', 'start = "9.05"'),
         "day.toml: blocks[1].start: must be a time HH:MM"),
        (lambda t: t.replace('date = 2021-03-23\n', ''),
         "day.toml: event.date: missing"),
        (lambda t: t.replace('title = "Panel"', 'title = "Panel i {region}"'),
         "day.toml: blocks[1].title: placeholder {region} has no value"),
        (lambda t: t.replace('title = "Panel"', 'title = "Panel"\ntheme = "fika"'),
         "day.toml: blocks[1].theme: must be one of"),
    ],
    ids=["unknown-key", "end-before-start", "overlap", "bad-timezone", "bad-scheme", "js-url", "unknown-parent",
         "bad-kind", "bad-time", "no-date", "unfilled-placeholder", "bad-theme"],
)
def test_each_bad_case_names_file_field_and_problem(tmp_path, change, expected):
    path = write(tmp_path, change(GOOD))
    lines = problems(path)
    assert any(line.startswith(str(tmp_path / expected.split(":")[0]) + ":") for line in lines)
    assert any(expected.split(": ", 1)[1] in line for line in lines), lines


def test_non_utf8_file(tmp_path):
    path = tmp_path / "latin1.toml"
    path.write_bytes(GOOD.replace("Öppning", "\xd6ppning").encode("latin-1"))
    position = next(i for i, ch in enumerate(GOOD) if ord(ch) > 127)  # latin-1: one byte per character
    assert problems(path) == [f"{path}: file: is not UTF-8 (invalid byte at position {position}); save it as UTF-8"]


def test_broken_toml_is_reported_not_raised(tmp_path):
    lines = problems(write(tmp_path, "[event\ntitle = 1"))
    assert len(lines) == 1 and ": file: is not valid TOML" in lines[0]


def test_several_problems_are_all_reported(tmp_path):
    text = GOOD.replace('kind = "panel"', 'kind = "dance"').replace('title = "Testdag"', 'title = "T"\nx = 1')
    assert len(problems(write(tmp_path, text))) == 2


def test_check_files_collects_problems_of_every_file(tmp_path):
    good = write(tmp_path, GOOD, "good.toml")
    bad = write(tmp_path, GOOD.replace('kind = "panel"', 'kind = "dance"'), "bad.toml")
    found = check_files([str(good), str(bad)])
    assert len(found) == 1 and found[0].file == str(bad)


def test_the_shipped_programmes_are_valid():
    files = sorted((ROOT / "agenda").glob("*.toml"))
    names = {f.name for f in files}
    assert {"ramprogram-2021.toml", "ostergotland-2021-03-23.toml", "jamtland-harjedalen-2021-05-25.toml",
            "webinar-2020-12.toml"} <= names
    assert check_files([str(f) for f in files]) == []


def test_the_framework_programme_follows_the_national_report():
    spec = load_agenda(ROOT / "agenda" / "ramprogram-2021.toml", today=dt.date(2021, 3, 23))
    times = [(b.start.strftime("%H:%M"), b.end.strftime("%H:%M")) for b in spec.blocks]
    assert times[0] == ("09:00", "09:05") and times[-1] == ("15:55", "16:00")
    panels = [b for b in spec.blocks if b.key.startswith("block-")]
    assert all(b.kind == "panel" and b.film_url for b in panels)
    assert [b.theme for b in panels] == [
        "individen-som-medskapare", "ratt-information-och-kunskap", "trygg-och-saker-informationshantering",
        "utveckling-och-digital-transformation-i-samverkan",
    ]
    assert any(b.start.strftime("%H:%M") == "15:10" and "Från snack till verkstad" in b.title for b in spec.blocks)
    assert {b.kind for b in spec.blocks} >= {"opening", "talk", "panel", "break", "lunch", "closing"}


def test_the_regional_days_fill_in_their_region():
    og = load_agenda(ROOT / "agenda" / "ostergotland-2021-03-23.toml")
    jh = load_agenda(ROOT / "agenda" / "jamtland-harjedalen-2021-05-25.toml")
    assert og.date == dt.date(2021, 3, 23) and jh.date == dt.date(2021, 5, 25)
    for spec, region in ((og, "Östergötland"), (jh, "Jämtland Härjedalen")):
        closing_talk = next(b for b in spec.blocks if b.key == "fran-snack-till-verkstad")
        assert region in closing_talk.title and "{" not in closing_talk.title
