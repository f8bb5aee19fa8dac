"""Loading programmes into the database: create, reload in place, keep removed blocks, CLI contract."""

import subprocess
import sys
import textwrap

from sqlalchemy import func, select

from ehalsodag.agenda.files import load_agenda
from ehalsodag.agenda.models import Block, Event
from ehalsodag.agenda.service import event_by_slug, load_spec
from ehalsodag.attendees.models import Attendee
from ehalsodag.db.engine import Database

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
