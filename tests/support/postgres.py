"""A fresh PostgreSQL database for one test, made on the server of EHALSODAG_TEST_DATABASE_URL and dropped after."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit


def plain_dsn(url: str, database: str | None = None) -> str:
    """An SQLAlchemy asyncpg URL as asyncpg takes it (optionally naming another database)."""
    parts = urlsplit(url.replace("postgresql+asyncpg://", "postgresql://"))
    path = f"/{database}" if database else parts.path
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))


@contextmanager
def fresh_database(url: str, prefix: str = "ehalsodag_test") -> Iterator[str]:
    """The SQLAlchemy URL of a new, empty database beside ``url``'s; dropped (with its connections) afterwards."""
    import asyncpg

    name = f"{prefix}_{secrets.token_hex(4)}"

    async def run(sql: str) -> None:
        connection = await asyncpg.connect(plain_dsn(url), timeout=10)
        try:
            await connection.execute(sql)
        finally:
            await connection.close()

    asyncio.run(run(f'CREATE DATABASE "{name}"'))
    try:
        yield urlunsplit(urlsplit(url)._replace(path=f"/{name}"))
    finally:
        asyncio.run(run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
