"""The ``ehalsodag`` command: serve, migrate, check and load programmes, manage staff."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from collections.abc import Sequence

import ehalsodag.models  # noqa: F401  (every table mapped before the first query)
from ehalsodag.settings import (
    ConfigurationError,
    Settings,
    configuration_problems,
    effective_configuration,
    load_settings,
)

#: Exit code of a refused configuration (``serve``, ``check-config``).
EXIT_CONFIGURATION = 2


def _print_problems(problems: Sequence[object]) -> None:
    for problem in problems:
        print(problem, file=sys.stderr)


def _emit(data: bytes, output: str | None) -> None:
    """Write ``data`` to the file ``output`` (and name it), or to stdout."""
    if output:
        with open(output, "wb") as handle:
            handle.write(data)
        print(output)
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()


def cmd_agenda_check(args: argparse.Namespace, _settings: Settings) -> int:
    """Validate programme files; one line per problem."""
    from ehalsodag.agenda.files import check_files

    problems = check_files(args.files)
    _print_problems(problems)
    if not problems:
        print(f"{len(args.files)} file(s) OK")
    return 1 if problems else 0


async def load_file(settings: Settings, path: str) -> tuple[str, bool, int]:
    """Validate and load one programme file; return (slug, created, blocks)."""
    from pathlib import Path

    from ehalsodag.agenda.files import load_agenda
    from ehalsodag.agenda.service import load_spec
    from ehalsodag.days.service import editable_text
    from ehalsodag.db.engine import Database

    spec = load_agenda(path)
    db = Database(settings)
    try:
        async with db.unit_of_work() as session:
            event, created = await load_spec(session, spec)
            # the studio edits (and downloads) the day as this very file when it can resolve it as the server would
            event.programme_text = editable_text(Path(path).read_text("utf-8"), settings.agenda_dir, event.slug)
            return event.slug, created, len(spec.blocks)
    finally:
        await db.dispose()


def cmd_agenda_load(args: argparse.Namespace, settings: Settings) -> int:
    """Create or update the event of a programme file; the last line printed is its slug."""
    from ehalsodag.agenda.files import AgendaError
    from ehalsodag.db.migrate import upgrade

    upgrade(settings)
    try:
        slug, created, blocks = asyncio.run(load_file(settings, args.file))
    except AgendaError as exc:
        _print_problems(exc.problems)
        return 1
    print(f"{'created' if created else 'updated'} {blocks} blocks")
    print(slug)
    return 0


def cmd_agenda_import(args: argparse.Namespace, _settings: Settings) -> int:
    """Turn another tool's schedule into a programme file; on any problem write nothing and exit 1."""
    from ehalsodag.agenda import importers

    try:
        schedule = importers.read_schedule(args.file, args.source, args.timezone)
        text = importers.checked_toml(schedule, source=args.file.rsplit("/", 1)[-1], split_overlaps=args.split_overlaps)
    except importers.ScheduleImportError as exc:
        print(f"{args.file}: {exc}", file=sys.stderr)
        return 1
    for note in schedule.notes:
        print(f"{args.file}: note: {note}", file=sys.stderr)
    _emit(text.encode(), args.output)
    return 0


async def _export_schedule(settings: Settings, slug: str, fmt: str) -> bytes | None:
    import json

    from ehalsodag.agenda import interop
    from ehalsodag.agenda.service import event_by_slug
    from ehalsodag.db.engine import Database

    db = Database(settings)
    base = settings.base_url or "http://127.0.0.1:8000"
    try:
        async with db.reader() as session:
            event = await event_by_slug(session, slug)
            if event is None:
                return None
            if fmt == "ics":
                return interop.ics(event, base)
            schedule = interop.schedule_json(event, base)
    finally:
        await db.dispose()
    if fmt == "frab":
        return interop.frab_xml(schedule)
    return (json.dumps(schedule, ensure_ascii=False, indent=2) + "\n").encode()


def cmd_agenda_export(args: argparse.Namespace, settings: Settings) -> int:
    """Write an event's programme as frab XML, schedule JSON or iCalendar."""
    data = asyncio.run(_export_schedule(settings, args.slug, args.to))
    if data is None:
        print(f"error: no event with slug {args.slug!r}", file=sys.stderr)
        return 1
    _emit(data, args.output)
    return 0


def cmd_db_upgrade(_args: argparse.Namespace, settings: Settings) -> int:
    """Run the migrations."""
    from ehalsodag.db.migrate import upgrade

    upgrade(settings)
    print("database is up to date")
    return 0


async def _add_user(settings: Settings, email: str, password: str, role: str, slug: str | None,
                    stage: str | None = None) -> str:
    from ehalsodag.agenda.service import event_by_slug
    from ehalsodag.db.engine import Database
    from ehalsodag.staff.service import add_user

    db = Database(settings)
    try:
        async with db.unit_of_work() as session:
            event_id = None
            if slug:
                event = await event_by_slug(session, slug)
                if event is None:
                    raise ValueError(f"no event with slug {slug!r}")
                event_id = event.id
            stage_id = None
            if stage:
                found = next((s for s in event.stages if s.key == stage or str(s.id) == stage), None) if slug else None
                if found is None:
                    known = ", ".join(s.key for s in event.stages) if slug else ""
                    raise ValueError(f"no stage {stage!r} in event {slug!r} (its stages: {known})" if slug
                                     else "--stage needs --event")
                stage_id = found.id
            user = await add_user(session, email, password, role, event_id, stage_id)
            return user.email
    finally:
        await db.dispose()


def _read_password() -> str:
    if sys.stdin.isatty():
        first = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != first:
            raise ValueError("the passwords differ")
        return first
    return sys.stdin.readline().rstrip("\r\n")


def cmd_user_add(args: argparse.Namespace, settings: Settings) -> int:
    """Create a staff user (password from stdin) with a role, for one event or all."""
    from ehalsodag.db.migrate import upgrade

    upgrade(settings)
    try:
        email = asyncio.run(_add_user(settings, args.email, _read_password(), args.role, args.event, args.stage))
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    scope = f"event {args.event}" if args.event and args.role != "admin" else "all events"
    if args.stage:
        scope += f", stage {args.stage}"
    print(f"{email} is {args.role} for {scope}")
    return 0


async def _invite(settings: Settings, email: str, role: str, slug: str | None) -> str:
    from ehalsodag.agenda.service import event_by_slug
    from ehalsodag.db.engine import Database
    from ehalsodag.staff.invitations import create_invitation

    db = Database(settings)
    try:
        async with db.unit_of_work() as session:
            event_id = None
            if slug and role != "admin":
                event = await event_by_slug(session, slug)
                if event is None:
                    raise ValueError(f"no event with slug {slug!r}")
                event_id = event.id
            return await create_invitation(session, email=email, role=role, event_id=event_id, invited_by=None)
    finally:
        await db.dispose()


def cmd_user_invite(args: argparse.Namespace, settings: Settings) -> int:
    """Create an invitation; the link is the last line of the output."""
    from ehalsodag.db.migrate import upgrade
    from ehalsodag.staff.invitations import INVITATION_DAYS

    upgrade(settings)
    try:
        secret = asyncio.run(_invite(settings, args.email, args.role, args.event))
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    base = (settings.base_url or "http://127.0.0.1:8000").rstrip("/")
    scope = f"event {args.event}" if args.event and args.role != "admin" else "all events"
    print(f"Invitation for {args.email.strip().lower()} as {args.role} for {scope}; "
          f"it works once and expires in {INVITATION_DAYS} days:")
    print(f"{base}/invite/{secret}")
    return 0


async def _create_token(settings: Settings, email: str, days: int = 90) -> str | None:
    from ehalsodag.db.engine import Database
    from ehalsodag.staff.service import create_token, user_by_email

    db = Database(settings)
    try:
        async with db.unit_of_work() as session:
            user = await user_by_email(session, email)
            return None if user is None else await create_token(session, user, days=days)
    finally:
        await db.dispose()


def cmd_token_create(args: argparse.Namespace, settings: Settings) -> int:
    """Print a new bearer token for a staff user (valid ``--days`` days)."""
    try:
        token = asyncio.run(_create_token(settings, args.email, args.days))
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if token is None:
        print(f"error: no staff user {args.email}", file=sys.stderr)
        return 1
    print(token)
    return 0


def load_demo(settings: Settings) -> list[str]:
    """Load every programme in agenda/ (``ehalsodag/programmes`` when installed: the demo), returning the slugs."""
    slugs = []
    for path in sorted(settings.agenda_dir.glob("*.toml")):
        slug, _created, _blocks = asyncio.run(load_file(settings, str(path)))
        slugs.append(slug)
    return slugs


#: The programme ``serve --demo`` rehearses "as if today" (README: a newcomer sees a day that is on now).
DEMO_REHEARSAL = "ostergotland-2021-03-23"


async def demo_rehearsal(settings: Settings) -> str | None:
    """A fresh rehearsal copy of the demo day at today's date; its slug (None without the demo day)."""
    from ehalsodag.db.engine import Database
    from ehalsodag.materials.rehearsal import demo_rehearsal as make

    db = Database(settings)
    try:
        async with db.unit_of_work() as session:
            copy = await make(session, DEMO_REHEARSAL)
            return copy.slug if copy is not None else None
    finally:
        await db.dispose()


def _refusals(settings: Settings, workers: int, host: str) -> list[str]:
    """Every reason not to serve: a half-right configuration, an unreachable database or Redis."""
    from ehalsodag.operations.checks import reachability_problems

    return [*configuration_problems(settings, workers=workers, host=host),
            *asyncio.run(reachability_problems(settings))]


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    """Serve the app with uvicorn, unless the configuration is half right (one line per reason, exit 2)."""
    from ehalsodag.db.migrate import upgrade
    from ehalsodag.operations.checks import migration_warning

    workers = settings.workers if args.workers is None else args.workers
    refusals = _refusals(settings, workers, args.host)
    if refusals:
        _print_problems([f"error: {refusal}" for refusal in refusals])
        return EXIT_CONFIGURATION
    if args.demo:
        upgrade(settings)
        for slug in load_demo(settings):  # idempotent: an existing event is updated in place
            print(f"demo event: http://{args.host}:{args.port}/e/{slug}")
        rehearsal = asyncio.run(demo_rehearsal(settings))  # the demo day as if today, made afresh at each start
        if rehearsal:
            print(f"demo day as if today (rehearsal): http://{args.host}:{args.port}/e/{rehearsal}")
    else:
        warning = asyncio.run(migration_warning(settings))
        if warning:
            print(f"warning: {warning}", file=sys.stderr)
    from ehalsodag.server import serve

    serve(args.host, args.port, workers, forwarded_allow_ips=settings.forwarded_allow_ips)
    return 0


def cmd_check_config(args: argparse.Namespace, settings: Settings) -> int:
    """Print the effective configuration (secrets masked) and what is wrong with it: exit 0 when fine, else 2."""
    from ehalsodag.operations.checks import migration_warning
    from ehalsodag.server import access_log

    workers = settings.workers if args.workers is None else args.workers
    for name, value in effective_configuration(settings, workers=workers, host=args.host):
        print(f"{name}={value}")
    print(f"EHALSODAG_ACCESS_LOG={'1' if access_log() else '0'}")
    refusals = _refusals(settings, workers, args.host)
    warning = None if refusals else asyncio.run(migration_warning(settings))
    if warning:
        print(f"warning: {warning}", file=sys.stderr)
    if refusals:
        _print_problems([f"error: {refusal}" for refusal in refusals])
        print(f"{len(refusals)} problem(s): ehalsodag serve refuses this configuration", file=sys.stderr)
        return EXIT_CONFIGURATION
    print("configuration is fine")
    return 0


async def _export(settings: Settings, slug: str, fmt: str, include_names: bool, variant: str = "sv") -> bytes | None:
    import json

    from ehalsodag.agenda.service import event_by_slug
    from ehalsodag.db.engine import Database
    from ehalsodag.results import exports
    from ehalsodag.results.service import build_report

    db = Database(settings)
    try:
        async with db.reader() as session:
            event = await event_by_slug(session, slug)
            if event is None:
                return None
            report = await build_report(session, event, include_names=include_names)
    finally:
        await db.dispose()
    if fmt == "json":
        return (json.dumps(report, ensure_ascii=False, indent=2) + "\n").encode()
    return exports.to_csv_zip(report, exports.CSV_VARIANTS[variant]) if fmt == "csv" else exports.to_xlsx(report)


def cmd_results_export(args: argparse.Namespace, settings: Settings) -> int:
    """Write the results of an event as JSON, CSV (a zip of tables) or XLSX."""
    data = asyncio.run(_export(settings, args.slug, args.format, args.with_names, args.csv_variant))
    if data is None:
        print(f"error: no event with slug {args.slug!r}", file=sys.stderr)
        return 1
    if not args.output and args.format != "json":
        print("error: csv and xlsx need --output FILE", file=sys.stderr)
        return 1
    _emit(data, args.output)
    return 0


async def _purge(settings: Settings, slug: str, force: bool) -> dict[str, int] | None:
    from ehalsodag.agenda.service import event_by_slug
    from ehalsodag.db.engine import Database
    from ehalsodag.privacy.service import purge, retention_over

    db = Database(settings)
    try:
        async with db.unit_of_work() as session:
            event = await event_by_slug(session, slug)
            if event is None:
                return None
            if not force and not retention_over(event):
                return {}
            return await purge(session, event, force=True)
    finally:
        await db.dispose()


def cmd_purge(args: argparse.Namespace, settings: Settings) -> int:
    """Erase names and free text of an event whose retention period is over (aggregates are kept)."""
    result = asyncio.run(_purge(settings, args.slug, args.force))
    if result is None:
        print(f"error: no event with slug {args.slug!r}", file=sys.stderr)
        return 1
    if not result:
        print(f"{args.slug}: the retention period is not over yet; nothing erased (use --force to erase now)")
        return 0
    print(f"{args.slug}: erased " + ", ".join(f"{count} {what}" for what, count in result.items()))
    return 0


def cmd_bench(args: argparse.Namespace, _settings: Settings) -> int:
    """Run the load benchmark (tools/ehalsodag_bench) against a fresh server on loopback."""
    try:
        from ehalsodag_bench import command
    except ModuleNotFoundError as exc:
        if exc.name != "ehalsodag_bench":
            raise
        print("error: the benchmark is not installed (it lives in tools/ehalsodag_bench: pip install -e .)",
              file=sys.stderr)
        return 1
    return command(args)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every subcommand."""
    parser = argparse.ArgumentParser(prog="ehalsodag", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="serve the platform")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, help="worker processes (default: EHALSODAG_WORKERS, else 1)")
    serve.add_argument("--demo", action="store_true",
                       help="migrate and load the demo programmes (agenda/*.toml)")
    serve.set_defaults(run=cmd_serve)

    check_config = commands.add_parser(
        "check-config", help="print the effective configuration (secrets masked) and what is wrong with it")
    check_config.add_argument("--host", default="127.0.0.1", help="the host serve will listen on")
    check_config.add_argument("--workers", type=int, help="worker processes (default: EHALSODAG_WORKERS, else 1)")
    check_config.set_defaults(run=cmd_check_config)

    db = commands.add_parser("db", help="database").add_subparsers(dest="db_command", required=True)
    db.add_parser("upgrade", help="run migrations").set_defaults(run=cmd_db_upgrade)

    agenda = commands.add_parser("agenda", help="programme files").add_subparsers(dest="agenda_command",
                                                                                   required=True)
    check = agenda.add_parser("check", help="validate programme files")
    check.add_argument("files", nargs="+")
    check.set_defaults(run=cmd_agenda_check)
    load = agenda.add_parser("load", help="create or update an event from a programme file")
    load.add_argument("file")
    load.set_defaults(run=cmd_agenda_load)
    importer = agenda.add_parser("import", help="turn another tool's schedule (frab/Pentabarf XML, schedule JSON, "
                                                "c3 hub v2, pretalx widget, iCalendar, xCal) into a programme file")
    importer.add_argument("--from", dest="source", required=True,
                          choices=["frab", "schedule-json", "hub-json", "pretalx-widget", "ics", "xcal"])
    importer.add_argument("--timezone", help="the IANA zone of a file that names none (e.g. Europe/Brussels)")
    importer.add_argument("--split-overlaps", action="store_true",
                          help="put events that overlap in one room on parallel stages instead of refusing the file")
    importer.add_argument("file")
    importer.add_argument("--output", help="file to write (stdout when left out)")
    importer.set_defaults(run=cmd_agenda_import)
    exporter = agenda.add_parser("export", help="an event's programme as frab XML, schedule JSON or iCalendar")
    exporter.add_argument("slug")
    exporter.add_argument("--to", required=True, choices=["frab", "schedule-json", "ics"])
    exporter.add_argument("--output", help="file to write (stdout when left out)")
    exporter.set_defaults(run=cmd_agenda_export)

    user = commands.add_parser("user", help="staff users").add_subparsers(dest="user_command", required=True)
    add = user.add_parser("add", help="add a staff user; the password is read from stdin")
    add.add_argument("email")
    add.add_argument("--role", required=True, choices=["organiser", "moderator", "admin"])
    add.add_argument("--event", help="slug of the event the role is for (default: all events)")
    add.add_argument("--stage", help="a moderator of this stage only (its id in the programme file, e.g. a region)")
    add.set_defaults(run=cmd_user_add)
    invite = user.add_parser("invite", help="print a single-use invitation link (valid 7 days) as the last line")
    invite.add_argument("email")
    invite.add_argument("--role", required=True, choices=["organiser", "moderator", "admin"])
    invite.add_argument("--event", help="slug of the event the role is for (default: all events)")
    invite.set_defaults(run=cmd_user_invite)

    token = commands.add_parser("token", help="API tokens").add_subparsers(dest="token_command", required=True)
    create = token.add_parser("create", help="print a bearer token for a staff user")
    create.add_argument("email")
    create.add_argument("--days", type=int, default=90, help="how long the token is valid (1-366 days, default 90)")
    create.set_defaults(run=cmd_token_create)

    results = commands.add_parser("results", help="results for organisers").add_subparsers(
        dest="results_command", required=True)
    export = results.add_parser("export", help="export an event's results")
    export.add_argument("slug")
    export.add_argument("--format", required=True, choices=["json", "csv", "xlsx"])
    export.add_argument("--output", help="file to write (stdout for json when left out)")
    export.add_argument("--with-names", action="store_true",
                        help="include the names attendees chose to show with their questions")
    export.add_argument("--csv-variant", choices=["sv", "international"], default="sv",
                        help="csv for Swedish Excel (semicolons, decimal comma; the default) or international "
                             "(commas, decimal point)")
    export.set_defaults(run=cmd_results_export)

    bench = commands.add_parser("bench", help="load benchmark on loopback (real websockets, real server)")
    bench.add_argument("--profile", default="smoke",
                       choices=["tiny", "smoke", "full", "qa-tiny", "qa", "national-tiny", "national", "soak-tiny",
                                "soak"],
                       help="tiny/smoke/full: votes and broadcasts; qa, qa-tiny: questions, upvotes, chat, joins; "
                            "national, national-tiny: regional stages, each action timed and kept to its stage; "
                            "soak, soak-tiny: a steady load for 10 minutes, figures per minute and their drift")
    bench.add_argument("--json", help="write the results as JSON to this file")
    bench.add_argument("--attendees", type=int, help="override the profile's number of attendees")
    bench.add_argument("--writer", type=int, metavar="VOTES",
                       help="instead: time the vote writer alone (no HTTP) storing VOTES votes in a fresh SQLite")
    bench.add_argument("--workers", type=int, default=1, help="server worker processes (more than 1 needs Redis)")
    bench.add_argument("--database-url", help="a PostgreSQL server on loopback (postgresql+asyncpg://...): the "
                       "run makes a fresh database on it and drops it afterwards; default SQLite")
    bench.add_argument("--redis-url", help="Redis on loopback for the hub (redis://127.0.0.1:6379/0)")
    bench.set_defaults(run=cmd_bench)

    purge = commands.add_parser("purge", help="erase personal data past the retention period")
    purge.add_argument("slug")
    purge.add_argument("--force", action="store_true", help="erase now, even before the retention period ends")
    purge.set_defaults(run=cmd_purge)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``ehalsodag`` command."""
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
    except ConfigurationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_CONFIGURATION
    return args.run(args, settings)


if __name__ == "__main__":
    raise SystemExit(main())


