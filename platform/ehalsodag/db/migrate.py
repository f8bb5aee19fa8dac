"""Run Alembic migrations from code (``ehalsodag db upgrade``, ``serve --demo``, tests)."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

from alembic import command
from alembic.config import Config

from ehalsodag.db.engine import protect_sqlite_file
from ehalsodag.settings import Settings

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config(database_url: str) -> Config:
    """An Alembic config pointing at our migrations and the given database."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", database_url)
    return config


def upgrade(settings: Settings, revision: str = "head") -> None:
    """Migrate the database to ``revision``. Safe to call from inside a running event loop."""
    protect_sqlite_file(settings.database_url)  # before Alembic creates it with the default mode
    config = alembic_config(settings.database_url)
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        command.upgrade(config, revision)
        return
    # env.py runs its own event loop, so give it a thread of its own.
    errors: list[BaseException] = []

    def run() -> None:
        try:
            command.upgrade(config, revision)
        except BaseException as exc:  # re-raised in the caller's thread
            errors.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if errors:
        raise errors[0]
