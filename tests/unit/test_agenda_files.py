"""Programme files: inheritance, placeholders, and one clear error line per problem."""

import datetime as dt
import textwrap
from pathlib import Path

import pytest

from ehalsodag.agenda.files import AgendaError, check_files, load_agenda
from ehalsodag.settings import PROGRAMMES_DIR

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
    files = sorted((PROGRAMMES_DIR).glob("*.toml"))
    names = {f.name for f in files}
    assert {"ramprogram-2021.toml", "ostergotland-2021-03-23.toml", "jamtland-harjedalen-2021-05-25.toml",
            "webinar-2020-12.toml"} <= names
    assert check_files([str(f) for f in files]) == []


def test_the_framework_programme_follows_the_national_report():
    spec = load_agenda(PROGRAMMES_DIR / "ramprogram-2021.toml", today=dt.date(2021, 3, 23))
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
    og = load_agenda(PROGRAMMES_DIR / "ostergotland-2021-03-23.toml")
    jh = load_agenda(PROGRAMMES_DIR / "jamtland-harjedalen-2021-05-25.toml")
    assert og.date == dt.date(2021, 3, 23) and jh.date == dt.date(2021, 5, 25)
    for spec, region in ((og, "Östergötland"), (jh, "Jämtland Härjedalen")):
        closing_talk = next(b for b in spec.blocks if b.key == "fran-snack-till-verkstad")
        assert region in closing_talk.title and "{" not in closing_talk.title


# --- National day: a national file composed with the region files in its folder ----------------------------

NATIONAL = FIXTURES / "national-day.toml"


def national_day(tmp_path: Path, regions: dict[str, str] | None = None, national: str | None = None) -> Path:
    """A copy of the national fixture in ``tmp_path`` with the given region files (name → text) in its folder."""
    path = tmp_path / "national-day.toml"
    path.write_text(national if national is not None else NATIONAL.read_text(encoding="utf-8"), encoding="utf-8")
    folder = tmp_path / "national-day"
    folder.mkdir(exist_ok=True)
    for name, text in (regions or {}).items():
        (folder / name).write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def region(name: str, body: str = "") -> str:
    """A region file of the national fixture for region ``name``, with ``body`` after its [event]."""
    return f'[event]\nextends = "../national-day.toml"\nregion = "{name}"\n' + textwrap.dedent(body)


def test_a_national_file_is_composed_with_its_region_files():
    spec = load_agenda(NATIONAL)
    assert spec.slug == "national-day" and spec.source_file == str(NATIONAL)
    blocks = {b.key: b for b in spec.blocks}
    assert "avslut-ostergotland" not in blocks  # removed by ostergotland.toml
    replaced = blocks["sa-gor-vi-ostergotland"]
    assert (replaced.title, replaced.stage, f"{replaced.end:%H:%M}") == ("Så gör vi i Östergötland", "ostergotland",
                                                                         "11:15")
    assert [p.question for p in replaced.polls] == ["Vad gör ni i Linköpings kommun?"]  # the region's placeholder
    film = blocks["ostergotland-film"]
    assert film.stage == "ostergotland" and film.title == "Film från Linköpings kommun"  # stage defaults to region
    stages = {s.key: s for s in spec.stages}
    assert stages["ostergotland"].stream_url.endswith("EXAMPLE9001") and stages["ostergotland"].kind == "regional"
    assert stages["jamtland-harjedalen"].name == "Region Jämtland Härjedalen"
    panellist = blocks["sa-gor-vi-jamtland-harjedalen"].speakers[-1]
    assert (panellist.name, panellist.organisation) == ("Anna Granevärn", "Region Jämtland Härjedalen")
    assert blocks["sa-gor-vi-skane"].title == "Så gör vi i Skåne"  # a region without a file stays as written
    assert [s.key for s in spec.stages] == ["nationell", "ostergotland", "jamtland-harjedalen", "skane"]


def test_a_region_file_loads_the_same_national_event():
    national = load_agenda(NATIONAL)
    for path in sorted((FIXTURES / "national-day").glob("*.toml")):
        assert load_agenda(path) == national
    assert check_files([str(NATIONAL), str(FIXTURES / "national-day" / "ostergotland.toml")]) == []


def test_a_national_file_without_a_folder_is_the_national_file_alone(tmp_path):
    path = tmp_path / "national-day.toml"
    path.write_bytes(NATIONAL.read_bytes())
    spec = load_agenda(path)
    assert "avslut-ostergotland" in {b.key for b in spec.blocks}
    assert {s.key: s.name for s in spec.stages}["jamtland-harjedalen"] == "Jämtland Härjedalen"


def test_region_files_apply_in_name_order_and_only_to_their_stage(tmp_path):
    path = national_day(tmp_path, {
        "a.toml": region("skane", """
            [[blocks]]
            id = "skane-extra"
            kind = "talk"
            start = "12:00"
            end = "12:30"
            title = "Extra i {region}"
        """),
    })
    spec = load_agenda(path)
    extra = next(b for b in spec.blocks if b.key == "skane-extra")
    assert (extra.stage, extra.title) == ("skane", "Extra i Skåne")


def test_problems_in_a_region_file_name_that_file(tmp_path):
    path = national_day(tmp_path, {"ostergotland.toml": region("ostergotland", """
        [[blocks]]
        id = "ost"
        kind = "talk"
        start = "12:00"
        end = "12:30"
        title = "I {kommun}"
    """)})
    region_file = tmp_path / "national-day" / "ostergotland.toml"
    expected = [f"{region_file}: blocks[0].title: placeholder {{kommun}} has no value in [placeholders]"]
    assert problems(path) == expected
    assert problems(region_file) == expected
    assert [str(p) for p in check_files([str(path), str(region_file)])] == expected  # reported once


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ('[[blocks]]\nid = "x"\nstage = "nationell"\nkind = "talk"\nstart = "12:00"\nend = "12:10"\ntitle = "X"\n',
         "blocks[0].stage: a region file adds blocks only to its own stage 'ostergotland', not 'nationell'"),
        ('[[blocks]]\nid = "lunch"\nkind = "talk"\nstart = "12:00"\nend = "12:10"\ntitle = "X"\n',
         "blocks[0].id: block 'lunch' is on stage 'nationell' (in national-day.toml): a region file changes only "
         "blocks on its own stage 'ostergotland'"),
        ('remove_blocks = ["sa-gor-vi-skane"]\n',
         "remove_blocks: block 'sa-gor-vi-skane' is on stage 'skane' (in national-day.toml): a region file changes "
         "only blocks on its own stage 'ostergotland'"),
        ('remove_blocks = ["nowhere"]\n', "remove_blocks: unknown block id 'nowhere' in the national programme"),
        ('[[extra_speakers]]\nblock = "panel"\nname = "N"\n',
         "extra_speakers[0].block: block 'panel' is on stage 'nationell' (in national-day.toml)"),
        ('[[extra_speakers]]\nblock = "nowhere"\nname = "N"\n', "extra_speakers[0].block: unknown block id 'nowhere'"),
        ('[[stages]]\nid = "skane"\nname = "Skåne län"\n',
         "stages[0].id: a region file changes only its own stage 'ostergotland', not 'skane'"),
        ('[[stages]]\nid = "ostergotland"\nkind = "national"\n',
         "stages[0].kind: stage 'ostergotland' is a region: its kind stays regional"),
        ('[evaluation]\nopen_minutes = 30\n',
         "evaluation: the national file owns the evaluation: a region file cannot change it"),
    ],
    ids=["block-on-national-stage", "replace-national-block", "remove-other-region", "remove-unknown",
         "speaker-on-national-block", "speaker-on-unknown-block", "other-stage", "stage-kind", "evaluation"],
)
def test_a_region_file_touches_only_its_own_stage(tmp_path, body, expected):
    path = national_day(tmp_path)
    region_file = tmp_path / "national-day" / "ostergotland.toml"
    text = region("ostergotland")
    # TOML: top-level keys (remove_blocks) go before the first table
    region_file.write_text(body + text if body.startswith("remove") else text + body, encoding="utf-8")
    lines = problems(path)
    assert any(line.startswith(f"{region_file}: {expected}") for line in lines), lines


def test_a_region_file_cannot_change_the_national_event(tmp_path):
    path = national_day(tmp_path, {"ostergotland.toml": region("ostergotland").replace(
        '[event]\n', '[event]\ntitle = "Min dag"\ncolour = "red"\n')})
    region_file = tmp_path / "national-day" / "ostergotland.toml"
    assert problems(path) == [
        f"{region_file}: event.title: a region file cannot change the national event: its [event] has only "
        "extends and region",
        f"{region_file}: event.colour: unknown key (allowed in a region file: extends, region)",
    ]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("halland", "event.region: 'halland' is an unknown region (regional stages of 'national-day.toml': "
                    "ostergotland, jamtland-harjedalen, skane)"),
        ("nationell", "event.region: 'nationell' is the national stage (regional stages of 'national-day.toml': "
                      "ostergotland, jamtland-harjedalen, skane)"),
    ],
)
def test_a_region_file_names_a_known_region(tmp_path, name, expected):
    path = national_day(tmp_path, {"x.toml": region(name)})
    region_file = tmp_path / "national-day" / "x.toml"
    assert problems(path) == [f"{region_file}: {expected}"]
    assert problems(region_file) == [f"{region_file}: {expected}"]


def test_one_region_file_per_region_and_every_folder_file_is_one(tmp_path):
    path = national_day(tmp_path, {
        "a.toml": region("skane"),
        "b.toml": region("skane"),
        "c.toml": '[event]\nextends = "../national-day.toml"\n',
        "d.toml": '[event]\nextends = "../other.toml"\nregion = "ostergotland"\n',
    })
    folder = tmp_path / "national-day"
    assert problems(path) == [
        f"{folder / 'b.toml'}: event.region: region 'skane' already has the region file 'national-day/a.toml'",
        f"{folder / 'c.toml'}: event.region: missing: name this file's region (regional stages of "
        "'national-day.toml': ostergotland, jamtland-harjedalen, skane)",
        f"{folder / 'd.toml'}: event.extends: must be '../national-day.toml': a file in the folder 'national-day/' "
        "is a region file of 'national-day.toml'",
    ]


def test_a_region_file_outside_the_national_folder(tmp_path):
    national_day(tmp_path)
    stray = write(tmp_path, region("ostergotland").replace("../national-day.toml", "national-day.toml"), "ost.toml")
    assert problems(stray) == [
        f"{stray}: event.extends: a region file of 'national-day.toml' lives in the folder 'national-day/' next to "
        "it, so that loading either file gives the same event",
    ]


def test_region_without_extends(tmp_path):
    path = write(tmp_path, GOOD.replace('title = "Testdag"', 'title = "Testdag"\nregion = "ostergotland"'))
    assert problems(path) == [
        f"{path}: event.region: only a region file names a region, and a region file extends the national file of "
        "its day: add extends = \"../<national file>.toml\"",
    ]


def test_a_region_file_of_a_non_national_event(tmp_path):
    (tmp_path / "ramprogram-2021.toml").write_bytes((PROGRAMMES_DIR / "ramprogram-2021.toml").read_bytes())
    (tmp_path / "ramprogram-2021").mkdir()
    region_file = tmp_path / "ramprogram-2021" / "ostergotland.toml"
    region_file.write_text('[event]\nextends = "../ramprogram-2021.toml"\nregion = "main"\n', encoding="utf-8")
    assert problems(region_file) == [
        f"{region_file}: event.extends: '../ramprogram-2021.toml' is not a national event (it has no stage with "
        "kind = \"national\"); a region file extends the national file of its day",
    ]
    nowhere = write(tmp_path, '[event]\nextends = "nowhere.toml"\nregion = "main"\n', "nowhere-region.toml")
    assert problems(nowhere) == [f"{nowhere}: event.extends: unknown parent: no file 'nowhere.toml' next to this one"]


def test_nothing_extends_a_region_file(tmp_path):
    national_day(tmp_path)
    region_file = tmp_path / "national-day" / "ostergotland.toml"
    region_file.write_text(region("ostergotland"), encoding="utf-8")
    extends = 'title = "T"\nextends = "national-day/ostergotland.toml"'
    child = write(tmp_path, GOOD.replace('title = "Testdag"', extends))
    assert any("event.extends: 'national-day/ostergotland.toml' is a region file" in line for line in problems(child))


def test_a_national_event_has_exactly_one_national_stage(tmp_path):
    text = NATIONAL.read_text(encoding="utf-8").replace('name = "Skåne"\nkind = "regional"',
                                                        'name = "Skåne"\nkind = "national"')
    path = national_day(tmp_path, national=text)
    assert problems(path) == [
        f"{path}: stages: a national event has exactly one stage with kind = \"national\", not 2 (nationell, skane)",
    ]


def test_a_block_on_an_unknown_stage_names_the_stages(tmp_path):
    text = NATIONAL.read_text(encoding="utf-8").replace('stage = "skane"', 'stage = "halland"')
    path = national_day(tmp_path, national=text)
    assert problems(path) == [
        f"{path}: blocks[4].stage: unknown stage 'halland' (stages: nationell, ostergotland, jamtland-harjedalen, "
        "skane)",
    ]


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        ("11:15", "11:45", "blocks[0].start: block 'extra' (11:15–11:45) overlaps 'sa-gor-vi-jamtland-harjedalen' "
                           "(10:45–11:30, in national-day.toml) on stage 'jamtland-harjedalen'"),
        ("10:00", "10:50", "blocks[0].end: block 'extra' (10:00–10:50) overlaps 'sa-gor-vi-jamtland-harjedalen' "
                           "(10:45–11:30, in national-day.toml) on stage 'jamtland-harjedalen'"),
    ],
    ids=["later", "earlier"],
)
def test_overlaps_across_the_national_file_and_a_region_file(tmp_path, start, end, expected):
    path = national_day(tmp_path, {"jh.toml": region("jamtland-harjedalen", f"""
        [[blocks]]
        id = "extra"
        kind = "talk"
        start = "{start}"
        end = "{end}"
        title = "Extra"
    """)})
    assert problems(path) == [f"{tmp_path / 'national-day' / 'jh.toml'}: {expected}"]


def test_regional_blocks_may_run_at_the_same_time_as_national_ones_and_each_other():
    spec = load_agenda(PROGRAMMES_DIR / "nationell-ehalsodag-2022.toml")
    at_eleven = {b.stage for b in spec.blocks if f"{b.start:%H:%M}" <= "11:00" < f"{b.end:%H:%M}"}
    assert {"nationell", "ostergotland", "vastra-gotaland", "skane", "norrbotten"} <= at_eleven


def test_a_poll_id_used_by_the_national_file_and_a_region_file(tmp_path):
    path = national_day(tmp_path, {"ost.toml": region("ostergotland", """
        [[blocks]]
        id = "extra"
        kind = "talk"
        start = "13:00"
        end = "13:30"
        title = "Extra"
        [[blocks.polls]]
        id = "panel-poll"
        kind = "open_text"
        question = "Fråga?"
    """)})
    assert problems(path) == [
        f"{tmp_path / 'national-day' / 'ost.toml'}: blocks[0].polls[0].id: poll id 'panel-poll' is used more than once "
        "(also in block 'panel' in national-day.toml)",
    ]


def test_the_shipped_national_day():
    national = PROGRAMMES_DIR / "nationell-ehalsodag-2022.toml"
    regions = sorted((PROGRAMMES_DIR / "nationell-ehalsodag-2022").glob("*.toml"))
    assert {"ostergotland.toml", "jamtland-harjedalen.toml"} <= {r.name for r in regions}
    assert check_files([str(national), *map(str, regions)]) == []
    spec = load_agenda(national)
    assert spec.slug == "nationell-ehalsodag-2022" and spec.date.year == 2022 and spec.timezone == "Europe/Stockholm"
    assert all(load_agenda(r) == spec for r in regions)
    kinds = [s.kind for s in spec.stages]
    assert kinds.count("national") == 1 and kinds.count("regional") >= 4
    names = {s.key: s.name for s in spec.stages}
    own_time = {}
    for stage in spec.stages:
        if stage.kind != "regional":
            continue
        blocks = [b for b in spec.blocks if b.stage == stage.key]
        so = next(b for b in blocks if b.title == f"Så gör vi i {names[stage.key]}")
        own_time[stage.key] = (so.start, so.end)
        assert any(b.start.hour >= 13 for b in blocks)  # a wrap-up after lunch
    assert len(set(own_time.values())) > 1  # one region runs at another time
    national_blocks = [b for b in spec.blocks if b.stage == "nationell"]
    assert national_blocks[0].kind == "opening" and national_blocks[-1].kind == "closing"
    lunch = next(b for b in national_blocks if b.kind == "lunch")
    assert any(b.kind == "panel" and b.polls and b.start >= lunch.end for b in national_blocks)
    assert any(b.kind == "panel" and b.polls and b.end <= lunch.start for b in national_blocks)
    assert [(q.key, q.kind) for q in spec.evaluation.questions] == [
        ("helhet", "scale"), ("aterkommande", "yesno"), ("kommentar", "text")]


def test_english_labels_must_match_the_swedish_ones_one_for_one(tmp_path):
    """An evaluation question's ``labels_en`` gives one English label per Swedish label, or the file is refused."""
    from tests.integration.test_broken_data import BILINGUAL

    path = tmp_path / "wrong.toml"
    path.write_text(BILINGUAL.replace('labels_en = ["Very poor", "Poor", "Neither", "Good", "Very good"]',
                                      'labels_en = ["Poor", "Good"]'), encoding="utf-8")
    with pytest.raises(AgendaError, match=r"evaluation\.questions\[0\]\.labels_en"):
        load_agenda(path)
    good = tmp_path / "good.toml"
    good.write_text(BILINGUAL, encoding="utf-8")
    spec = load_agenda(good)
    assert spec.evaluation is not None and spec.evaluation.questions[0].labels_en[-1] == "Very good"
    assert [b.title_en for b in spec.blocks] == ["The resident as co-creator", None]
