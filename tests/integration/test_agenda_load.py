"""Loading programmes into the database: create, reload in place, keep removed blocks, CLI contract."""

import re
import shutil
import subprocess
import sys
import textwrap
from dataclasses import replace
from pathlib import Path

from sqlalchemy import func, select

from ehalsodag.agenda import service, tracks
from ehalsodag.agenda.files import load_agenda
from ehalsodag.agenda.models import Block, Event, Stage
from ehalsodag.agenda.service import event_by_slug, load_spec
from ehalsodag.attendees.models import Attendee
from ehalsodag.db.engine import Database
from ehalsodag.polls.models import Poll
from ehalsodag.settings import PROGRAMMES_DIR

DAY = textwrap.dedent("""
    [event]
    title = "Dag"
    date = 2021-03-23
    timezone = "Europe/Stockholm"
    [[stages]]
    id = "main"
    name = "Huvud"
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
""")


async def test_reload_updates_blocks_in_place_and_keeps_removed_ones(settings, tmp_path):
    path = tmp_path / "dag.toml"
    path.write_text(DAY, encoding="utf-8")
    db = Database(settings)
    async with db.unit_of_work() as session:
        event, created = await load_spec(session, load_agenda(path))
        assert created
        ids = {b.key: b.id for b in event.blocks}
        session.add(Attendee(event_id=event.id, token_hash="h" * 64, group_size=3))
        await session.commit()

    edited = DAY.replace('title = "Panel"', 'title = "Panel om data"').replace(
        '[[blocks]]\nid = "a"\nkind = "opening"\nstart = "09:00"\nend = "09:05"\ntitle = "Öppning"\n', "")
    path.write_text(edited, encoding="utf-8")
    async with db.unit_of_work() as session:
        event, created = await load_spec(session, load_agenda(path))
        assert not created
    async with db.reader() as session:
        event = await event_by_slug(session, "dag")
        by_key = {b.key: b for b in event.blocks}
        assert by_key["b"].id == ids["b"] and by_key["b"].title == "Panel om data"  # same row, new title
        assert by_key["a"].id == ids["a"] and by_key["a"].removed  # kept for its data, hidden
        assert [b.key for b in event.active_blocks()] == ["b"]
        assert (await session.execute(select(func.count(Block.id)))).scalar_one() == 2
        assert (await session.execute(select(func.count(Attendee.id)))).scalar_one() == 1
        assert (await session.execute(select(func.count(Event.id)))).scalar_one() == 1
    await db.dispose()


def run_cli(settings, *args, stdin=""):
    env = {"EHALSODAG_DATABASE_URL": settings.database_url, "EHALSODAG_SECRET_KEY": "x" * 32,
           "PATH": "/usr/bin:/bin"}
    return subprocess.run([sys.executable, "-m", "ehalsodag.cli", *args], capture_output=True, text=True,
                          input=stdin, env=env)


def test_cli_check_and_load_follow_the_contract(settings, tmp_path):
    good = tmp_path / "dag.toml"
    good.write_text(DAY, encoding="utf-8")
    bad = tmp_path / "bad.toml"
    bad.write_text(DAY.replace('kind = "panel"', 'kind = "dance"').replace('title = "Dag"', 'title = "Dag"\nx = 1'),
                   encoding="utf-8")

    ok = run_cli(settings, "agenda", "check", str(good))
    assert ok.returncode == 0, ok.stderr

    failed = run_cli(settings, "agenda", "check", str(good), str(bad))
    assert failed.returncode == 1
    assert failed.stderr.splitlines() == [
        f"{bad}: event.x: unknown key (allowed: allowed_stream_hosts, date, description, extends, organiser, "
        "recording_url, retention_days, slug, template, timezone, title)",
        f"{bad}: blocks[1].kind: must be one of opening, talk, panel, break, lunch, film, closing, not 'dance'",
    ]

    refused = run_cli(settings, "agenda", "load", str(bad))
    assert refused.returncode == 1 and refused.stdout == ""

    loaded = run_cli(settings, "agenda", "load", str(good))
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.strip().splitlines()[-1] == "dag"
    again = run_cli(settings, "agenda", "load", str(good))
    assert again.returncode == 0 and again.stdout.strip().splitlines()[-1] == "dag"


async def test_a_refused_file_writes_nothing(settings, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(DAY.replace('end = "10:00"', 'end = "08:00"'), encoding="utf-8")
    assert run_cli(settings, "agenda", "load", str(bad)).returncode == 1
    db = Database(settings)
    async with db.reader() as session:
        assert (await session.execute(select(func.count(Event.id)))).scalar_one() == 0
    await db.dispose()


def test_cli_user_add_and_token(settings, tmp_path):
    good = tmp_path / "dag.toml"
    good.write_text(DAY, encoding="utf-8")
    assert run_cli(settings, "agenda", "load", str(good)).returncode == 0
    added = run_cli(settings, "user", "add", "Moa@Example.se", "--role", "moderator", "--event", "dag",
                    stdin="a long password\n")
    assert added.returncode == 0, added.stderr
    assert "moa@example.se is moderator for event dag" in added.stdout
    short = run_cli(settings, "user", "add", "x@example.se", "--role", "organiser", stdin="short\n")
    assert short.returncode == 1 and "at least 10 characters" in short.stderr
    unknown_event = run_cli(settings, "user", "add", "y@example.se", "--role", "organiser", "--event", "nope",
                            stdin="a long password\n")
    assert unknown_event.returncode == 1 and "no event" in unknown_event.stderr
    token = run_cli(settings, "token", "create", "moa@example.se")
    assert token.returncode == 0 and token.stdout.strip().startswith("ehs_")
    assert run_cli(settings, "token", "create", "nobody@example.se").returncode == 1


# --- National day: the national file and its region files load as one event ------------------------------

ROOT = Path(__file__).resolve().parents[2]
NATIONAL = ROOT / "tests" / "fixtures" / "agenda" / "national-day.toml"


def national_copy(tmp_path: Path) -> Path:
    """The national fixture and its region files, copied to ``tmp_path`` (so a test may change them)."""
    path = tmp_path / NATIONAL.name
    shutil.copy(NATIONAL, path)
    shutil.copytree(NATIONAL.with_suffix(""), tmp_path / NATIONAL.stem)
    return path


async def load(settings, path) -> tuple[int, bool]:
    db = Database(settings)
    try:
        async with db.unit_of_work() as session:
            event, created = await load_spec(session, load_agenda(path))
            return event.id, created
    finally:
        await db.dispose()


async def test_national_and_region_files_load_one_event_with_stage_codes(settings, tmp_path):
    national = national_copy(tmp_path)
    event_id, created = await load(settings, national)
    assert created
    db = Database(settings)
    async with db.reader() as session:
        event = await event_by_slug(session, "national-day")
        codes = {s.key: s.join_code for s in event.stages}
        assert list(codes) == ["nationell", "ostergotland", "jamtland-harjedalen", "skane"]
        assert all(code and re.fullmatch(r"\d{6}", code) for code in codes.values())
        assert len({*codes.values(), event.join_code}) == len(codes) + 1  # unique across the event and its stages
        blocks = {b.key: b for b in event.active_blocks()}
        assert blocks["ostergotland-film"].stage.key == "ostergotland"
        polls = (await session.execute(select(Poll))).scalars().all()
        stage_of_block = {b.id: b.stage_id for b in event.blocks}
        assert {p.key for p in polls} == {"panel-poll", "ostergotland-poll"}
        assert all(p.stage_id == stage_of_block[p.block_id] for p in polls)  # a poll is its block's stage's
        assert {p.key: tracks.stage_by_id(event, p.stage_id).key for p in polls} == {
            "panel-poll": "nationell", "ostergotland-poll": "ostergotland"}
        block_ids = {b.key: b.id for b in event.blocks}

    # reloading through a region file, then the national file, changes nothing: same rows, same codes
    for path in (national.parent / "national-day" / "jamtland-harjedalen.toml", national):
        again_id, created = await load(settings, path)
        assert again_id == event_id and not created
    async with db.reader() as session:
        event = await event_by_slug(session, "national-day")
        assert {s.key: s.join_code for s in event.stages} == codes
        assert {b.key: b.id for b in event.blocks} == block_ids
        assert "ostergotland-film" in {b.key for b in event.active_blocks()}  # the region's blocks stay
        assert (await session.execute(select(func.count(Event.id)))).scalar_one() == 1
        assert (await session.execute(select(func.count(Stage.id)))).scalar_one() == 4

    # a region file taken out of the folder: its blocks are kept for their data, but removed
    (national.parent / "national-day" / "ostergotland.toml").unlink()
    await load(settings, national)
    async with db.reader() as session:
        event = await event_by_slug(session, "national-day")
        by_key = {b.key: b for b in event.blocks}
        assert by_key["ostergotland-film"].removed and not by_key["avslut-ostergotland"].removed
        assert {s.key: s.join_code for s in event.stages} == codes
    await db.dispose()


async def test_a_single_stage_event_has_no_stage_code(settings, tmp_path):
    path = tmp_path / "dag.toml"
    path.write_text(DAY, encoding="utf-8")
    await load(settings, path)
    db = Database(settings)
    async with db.reader() as session:
        event = await event_by_slug(session, "dag")
        assert [s.join_code for s in event.stages] == [None]
    await db.dispose()


async def test_stage_codes_never_repeat_an_event_or_stage_code(settings, tmp_path, monkeypatch):
    path = tmp_path / "dag.toml"
    path.write_text(DAY, encoding="utf-8")
    await load(settings, path)
    db = Database(settings)
    async with db.reader() as session:
        taken = (await event_by_slug(session, "dag")).join_code
    # the generator offers the taken code first, then the same new one twice: each is refused once taken
    offers = iter([int(taken) - 100_000, 111_111 - 100_000, 111_111 - 100_000, 222_222 - 100_000,
                   333_333 - 100_000, 444_444 - 100_000, 555_555 - 100_000, 666_666 - 100_000])
    monkeypatch.setattr(service.secrets, "randbelow", lambda _n: next(offers))
    await load(settings, national_copy(tmp_path))
    async with db.reader() as session:
        event = await event_by_slug(session, "national-day")
        codes = [event.join_code, *(s.join_code for s in event.stages)]
        assert taken not in codes and len(set(codes)) == 5
        assert codes == ["111111", "222222", "333333", "444444", "555555"]
    await db.dispose()


async def test_a_stage_dropped_from_the_file_is_kept_only_when_content_refers_to_it(settings, tmp_path):
    national = national_copy(tmp_path)
    extra_stage = '[[stages]]\nid = "norrbotten"\nname = "Norrbotten"\nkind = "regional"\n\n[[blocks]]\nid = "oppning"'
    national.write_text(national.read_text(encoding="utf-8").replace('[[blocks]]\nid = "oppning"', extra_stage, 1),
                        encoding="utf-8")
    await load(settings, national)
    # Skåne and Norrbotten leave the programme: Skåne had a block (kept, at the end), Norrbotten nothing (deleted)
    text = national.read_text(encoding="utf-8")
    text = text.replace('[[stages]]\nid = "norrbotten"\nname = "Norrbotten"\nkind = "regional"\n', "")
    text = text.replace('[[stages]]\nid = "skane"\nname = "Skåne"\nkind = "regional"\n', "")
    skane_block = text.index('[[blocks]]\nid = "sa-gor-vi-skane"')
    text = text[:skane_block] + text[text.index("[[blocks]]", skane_block + 1):]
    national.write_text(text, encoding="utf-8")
    await load(settings, national)
    db = Database(settings)
    async with db.reader() as session:
        event = await event_by_slug(session, "national-day")
        assert [s.key for s in event.stages] == ["nationell", "ostergotland", "jamtland-harjedalen", "skane"]
        assert next(b for b in event.blocks if b.key == "sa-gor-vi-skane").removed
    await db.dispose()


def test_cli_checks_and_loads_a_national_day(settings, tmp_path):
    national = national_copy(tmp_path)
    region_file = national.parent / "national-day" / "ostergotland.toml"
    checked = run_cli(settings, "agenda", "check", str(national), str(region_file))
    assert checked.returncode == 0, checked.stderr

    loaded = run_cli(settings, "agenda", "load", str(region_file))
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.strip().splitlines()[-1] == "national-day"  # the national event, not one of its own
    again = run_cli(settings, "agenda", "load", str(national))
    assert again.returncode == 0 and again.stdout.strip().splitlines()[-1] == "national-day"

    text = region_file.read_text(encoding="utf-8")
    text = text.replace('id = "ostergotland-film"\n', 'id = "ostergotland-film"\nstage = "skane"\n')
    region_file.write_text(text + '\n[[extra_speakers]]\nblock = "panel"\nname = "N"\n', encoding="utf-8")
    (national.parent / "national-day" / "x.toml").write_text(
        '[event]\nextends = "../national-day.toml"\nregion = "halland"\n', encoding="utf-8")
    failed = run_cli(settings, "agenda", "check", str(national), str(region_file))
    assert failed.returncode == 1
    assert failed.stderr.splitlines() == [
        f"{region_file}: blocks[1].stage: a region file adds blocks only to its own stage 'ostergotland', not 'skane'",
        f"{region_file}: extra_speakers[0].block: block 'panel' is on stage 'nationell' (in national-day.toml): "
        "a region file changes only blocks on its own stage 'ostergotland'",
        f"{national.parent / 'national-day' / 'x.toml'}: event.region: 'halland' is an unknown region (regional "
        "stages of 'national-day.toml': ostergotland, jamtland-harjedalen, skane)",
    ]
    refused = run_cli(settings, "agenda", "load", str(region_file))
    assert refused.returncode == 1 and refused.stdout == ""


def test_the_demo_loads_the_national_day_once(settings):
    from ehalsodag.cli import load_demo

    slugs = load_demo(replace(settings, agenda_dir=PROGRAMMES_DIR))
    assert "nationell-ehalsodag-2022" in slugs
    assert not {"ostergotland", "jamtland-harjedalen"} & set(slugs)  # region files are not events of their own
    assert len(slugs) == len(list((PROGRAMMES_DIR).glob("*.toml")))
