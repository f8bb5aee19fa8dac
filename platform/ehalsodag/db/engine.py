"""Engine, session makers and the unit of work.

A request that writes runs in one :meth:`Database.unit_of_work`: the services change rows and record
what changed (:func:`ehalsodag.changes.changed`); the unit of work commits once and only then
publishes the recorded changes on the database's change feed. A failed commit publishes nothing.

SQLite is tuned for a server: WAL, a busy timeout, foreign keys on, ``synchronous=FULL`` by default,
and write transactions opened with ``BEGIN IMMEDIATE`` so that two writers never deadlock on a
lock upgrade. Reads use a plain deferred ``BEGIN``.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from ehalsodag.changes import ChangeFeed, forget_changes, take_changes
from ehalsodag.metrics import WatchedPool
from ehalsodag.settings import Settings

_WRITE_OPTION = "ehalsodag_write"


def sqlite_path(database_url: str) -> Path | None:
    """The file of a SQLite URL (None for another database or an in-memory one)."""
    if not database_url.startswith("sqlite"):
        return None
    path = make_url(database_url).database
    return Path(path) if path and path != ":memory:" and not path.startswith("file:") else None


def protect_sqlite_file(database_url: str) -> None:
    """Create the SQLite file readable and writable by its owner only (0600), and tighten an existing one with its
    WAL and shared-memory files: it holds every attendee's questions, chat and answers. SQLite gives the WAL and
    shared-memory files it creates the database file's mode."""
    path = sqlite_path(database_url)
    if path is None:
        return
    if path.parent.is_dir():
        os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
    for file in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if file.exists() and file.stat().st_mode & 0o077:
            file.chmod(0o600)


def create_engine(settings: Settings) -> AsyncEngine:
    """Create the async engine for the configured database."""
    if settings.is_sqlite:
        protect_sqlite_file(settings.database_url)
        engine = create_async_engine(
            settings.database_url, connect_args={"timeout": 30}, pool_size=8, max_overflow=8, poolclass=WatchedPool
        )
        _tune_sqlite(engine, settings.sqlite_synchronous)
        return engine
    return create_async_engine(settings.database_url, pool_size=10, max_overflow=20, pool_pre_ping=True,
                               poolclass=WatchedPool)


def _tune_sqlite(engine: AsyncEngine, synchronous: str) -> None:
    if synchronous not in {"OFF", "NORMAL", "FULL", "EXTRA"}:
        raise ValueError(f"EHALSODAG_SQLITE_SYNCHRONOUS must be OFF, NORMAL, FULL or EXTRA, not {synchronous}")

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control from the driver so that we can emit BEGIN IMMEDIATE ourselves.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        write = connection.get_execution_options().get(_WRITE_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


class Database:
    """Owns the engine and hands out read and write sessions."""

    def __init__(self, settings: Settings, feed: ChangeFeed | None = None) -> None:
        self.settings = settings
        #: Where committed changes go (the live layer subscribes).
        self.feed = feed or ChangeFeed()
        self.engine = create_engine(settings)
        self.read_sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        write_engine = self.engine.execution_options(**{_WRITE_OPTION: True})
        self.write_sessions = async_sessionmaker(write_engine, expire_on_commit=False)

    @asynccontextmanager
    async def reader(self) -> AsyncIterator[AsyncSession]:
        """A session for reads; rolled back at the end."""
        async with self.read_sessions() as session:
            yield session

    @asynccontextmanager
    async def writer(self) -> AsyncIterator[AsyncSession]:
        """A session whose transaction takes the write lock up front (SQLite) and must be committed."""
        async with self.write_sessions() as session:
            try:
                yield session
            except BaseException:
                await session.rollback()
                raise

    @asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[AsyncSession]:
        """A write session that commits once at the end and then publishes what the services recorded.

        An exception inside rolls back and publishes nothing; so does a commit that fails.
        """
        async with self.write_sessions() as session:
            try:
                yield session
                await session.commit()
            except BaseException:
                forget_changes(session)
                await session.rollback()
                raise
            changes = take_changes(session)
        await self.feed.publish(changes)

    async def dispose(self) -> None:
        """Close every pooled connection."""
        await self.engine.dispose()
