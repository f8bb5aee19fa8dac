"""Probes of what a configuration needs to reach: the database, its migrations and Redis.

``ehalsodag serve`` and ``ehalsodag check-config`` run them once before serving (a one-line error naming the
variable, exit code 2); ``/readyz`` runs the database and migration probes while serving.
"""

from __future__ import annotations

import asyncio
from functools import cache

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from ehalsodag.db.engine import create_engine
from ehalsodag.db.migrate import alembic_config
from ehalsodag.settings import Settings, masked_url

#: Seconds a probe at start may take before the database or Redis counts as unreachable.
START_TIMEOUT = 5.0


def reason(exc: BaseException) -> str:
    """The first line of what went wrong (the driver's own error where SQLAlchemy wraps one)."""
    cause = getattr(exc, "orig", None) or exc
    if isinstance(cause, TimeoutError):
        return "timed out"
    text = str(cause).strip().splitlines()
    return f"{type(cause).__name__}: {text[0]}" if text else type(cause).__name__


@cache
def head_revision() -> str | None:
    """The newest migration this code knows (read once per process: the code does not change while it runs)."""
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


async def database_revision(engine: AsyncEngine) -> str | None:
    """The migration the database is at (None: not migrated at all). Raises when it cannot be reached."""
    async with engine.connect() as connection:
        return await connection.run_sync(lambda sync: MigrationContext.configure(sync).get_current_revision())


async def database_problem(settings: Settings, timeout: float = START_TIMEOUT) -> str | None:
    """None when the database answers, else one line naming EHALSODAG_DATABASE_URL."""
    engine = create_engine(settings)
    try:
        await asyncio.wait_for(database_revision(engine), timeout)
    except Exception as exc:
        return f"EHALSODAG_DATABASE_URL: cannot reach {masked_url(settings.database_url)}: {reason(exc)}"
    finally:
        await engine.dispose()
    return None


async def migration_warning(settings: Settings, timeout: float = START_TIMEOUT) -> str | None:
    """One line when the database is not at the code's newest migration (``ehalsodag db upgrade`` fixes it)."""
    engine = create_engine(settings)
    try:
        current = await asyncio.wait_for(database_revision(engine), timeout)
    except Exception:
        return None  # database_problem() says why
    finally:
        await engine.dispose()
    head = head_revision()
    if current == head:
        return None
    return (f"EHALSODAG_DATABASE_URL: the database is at migration {current or '(none)'}, the code at {head}: "
            "run ehalsodag db upgrade (/readyz answers 503 until then)")


async def redis_problem(url: str, timeout: float = START_TIMEOUT) -> str | None:
    """None when Redis at ``url`` answers PING, else one line naming EHALSODAG_REDIS_URL."""
    try:
        client = Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
    except ValueError as exc:
        return f"EHALSODAG_REDIS_URL: {masked_url(url)} is not a Redis URL: {exc}"
    try:
        await asyncio.wait_for(client.ping(), timeout + 1)
    except Exception as exc:
        return f"EHALSODAG_REDIS_URL: cannot reach {masked_url(url)}: {reason(exc)}"
    finally:
        await client.aclose()
    return None


async def reachability_problems(settings: Settings) -> list[str]:
    """The database and (when configured) Redis, probed at the same time; one line per one that cannot be reached."""
    probes = [database_problem(settings)]
    if settings.redis_url:
        probes.append(redis_problem(settings.redis_url))
    return [problem for problem in await asyncio.gather(*probes) if problem]
