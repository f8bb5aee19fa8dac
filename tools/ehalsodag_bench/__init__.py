"""``ehalsodag bench``: the platform's load benchmark, outside the request path.

The benchmark starts the platform through its own entry point (:mod:`ehalsodag_bench.server`), which
builds the same app as ``ehalsodag serve`` and adds one observer to the hub that stamps every published
frame with the moment it was published. Nothing in the platform knows about the benchmark.

Profiles: ``tiny``, ``smoke`` and ``full`` (votes and broadcasts, :mod:`ehalsodag_bench.run`), ``qa``
and ``qa-tiny`` (questions, upvotes, a chat storm and joins, :mod:`ehalsodag_bench.qa`), and ``national``
and ``national-tiny`` (a national day: a national stage and regional ones, per-stage latency and no
cross-stage frames, :mod:`ehalsodag_bench.national`), and ``soak`` and ``soak-tiny`` (a steady load for ten
minutes, figures per minute and their drift, :mod:`ehalsodag_bench.soak`).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from dataclasses import asdict
from typing import Any

#: The options of ``ehalsodag bench``.
OPTIONS = ("profile", "json", "attendees", "writer", "workers", "database_url", "redis_url")


def command(args: argparse.Namespace) -> int:
    """Run ``ehalsodag bench`` with its parsed arguments, in a fresh interpreter (``python -m ehalsodag_bench``).

    The generator processes are spawned, and a spawned process imports its parent's main module again:
    under the ``ehalsodag`` command that is the platform's CLI with everything it imports. Run from here,
    every process of the benchmark carries only the benchmark, whatever the CLI imports.
    """
    options = {key: value for key, value in vars(args).items() if key in OPTIONS}
    return subprocess.call([sys.executable, "-m", "ehalsodag_bench", json.dumps(options)])


def main(options: dict[str, Any]) -> int:
    """Run one benchmark (the options of ``ehalsodag bench``) and print its figures as a table."""
    from ehalsodag_bench.common import table_of
    from ehalsodag_bench.target import Target

    if options.get("writer"):
        from ehalsodag_bench.run import run_writer

        print(table_of(run_writer(options["writer"])))
        return 0
    target = Target(workers=options.get("workers") or 1, database_url=options.get("database_url"),
                    redis_url=options.get("redis_url"))
    profile, json_path, attendees = options.get("profile") or "smoke", options.get("json"), options.get("attendees")
    if profile.startswith("qa"):
        from ehalsodag_bench.qa import run_qa

        figures = asdict(run_qa(profile, json_path, target=target, attendees=attendees))
    elif profile.startswith("soak"):
        from ehalsodag_bench.soak import run_soak

        figures = asdict(run_soak(profile, json_path, target=target, attendees=attendees))
    elif profile.startswith("national"):
        from ehalsodag_bench.national import run_national

        figures = asdict(run_national(profile, json_path, target=target, attendees=attendees))
    else:
        from ehalsodag_bench.run import run

        figures = asdict(run(profile, json_path, target=target, attendees=attendees))
    print(table_of(figures), flush=True)
    return 0
