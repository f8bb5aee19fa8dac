"""Telling an outage (the database or Redis is briefly unreachable) from a bug.

An outage answers 503 with ``Retry-After`` (pages and API alike) and a websocket handshake closes with
1013 "try again later", never 500 "something went wrong" or 403: the request may succeed in a moment,
nothing was stored, and a client that retries is doing the right thing.
"""

from __future__ import annotations

import socket
import sqlite3

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy import exc as sa

#: Seconds a client is told to wait before trying again.
RETRY_AFTER_SECONDS = 5

#: SQLite errors that pass (a busy or briefly unreadable file), unlike a missing table or a bad query.
_SQLITE_TRANSIENT = ("locked", "busy", "unable to open", "disk i/o")


def _asyncpg_outage(error: BaseException) -> bool:
    try:
        import asyncpg
    except ImportError:  # pragma: no cover  (SQLite-only installs)
        return False
    return isinstance(error, asyncpg.PostgresConnectionError | asyncpg.InterfaceError
                      | asyncpg.CannotConnectNowError | asyncpg.TooManyConnectionsError
                      | asyncpg.AdminShutdownError | asyncpg.ConnectionDoesNotExistError)


def _one(error: BaseException) -> bool:
    # The live hub's HubUnavailable is a ConnectionError, caught below (web may not import the live layer).
    if isinstance(error, RedisConnectionError | RedisTimeoutError | sa.TimeoutError):
        return True  # sa.TimeoutError: no pooled connection came free in time
    if isinstance(error, sa.DBAPIError) and error.connection_invalidated:
        return True
    if isinstance(error, sa.InterfaceError):
        return True
    if isinstance(error, sa.OperationalError | sqlite3.OperationalError):
        text = str(error).lower()
        return "sqlite" not in type(getattr(error, "orig", error)).__module__ or any(
            word in text for word in _SQLITE_TRANSIENT)
    if isinstance(error, ConnectionError | TimeoutError | socket.gaierror):  # refused, reset, timed out, no DNS
        return True
    return _asyncpg_outage(error)


def is_outage(error: BaseException) -> bool:
    """True when ``error`` (or what caused it) says a service is unreachable rather than the request is wrong."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if _one(current):
            return True
        orig = getattr(current, "orig", None)
        if isinstance(orig, BaseException) and _one(orig):
            return True
        current = current.__cause__ or current.__context__
    return False
