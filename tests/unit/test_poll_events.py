"""The poll → event cache a vote consults first: thousands of first votes on a poll just opened wait for one
query between them (a cold cache once cost a query each: a 5,000-vote burst took four times as long as the
next), a poll that does not exist is a 404 each time, and a failed read is not remembered."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest

from ehalsodag.polls.service import PollError, PollEvents


class _Result:
    def __init__(self, value: int | None) -> None:
        self.value = value

    def scalar(self) -> int | None:
        return self.value


class _Database:
    """Answers "which event" for polls 1-9 (event 7), slowly, and counts the queries; fails when told to."""

    def __init__(self) -> None:
        self.queries = 0
        self.failing = False

    @contextlib.asynccontextmanager
    async def reader(self) -> AsyncIterator[Any]:
        database = self

        class Session:
            async def execute(self, statement: Any) -> _Result:
                database.queries += 1
                await asyncio.sleep(0.01)
                if database.failing:
                    raise ConnectionError("database away")
                poll_id = statement.whereclause.right.value
                return _Result(7 if poll_id < 10 else None)

        yield Session()


async def test_many_first_votes_on_a_poll_make_one_query():
    db = _Database()
    events = PollEvents(db)  # type: ignore[arg-type]
    assert await asyncio.gather(*(events.event_of(3) for _ in range(2000))) == [7] * 2000
    assert db.queries == 1
    assert await events.event_of(3) == 7 and db.queries == 1  # remembered


async def test_an_unknown_poll_is_refused_every_time_and_a_failed_read_is_tried_again():
    db = _Database()
    events = PollEvents(db)  # type: ignore[arg-type]
    for _ in range(2):
        with pytest.raises(PollError):
            await events.event_of(12)
    db.failing = True
    results = await asyncio.gather(*(events.event_of(4) for _ in range(50)), return_exceptions=True)
    assert all(isinstance(r, ConnectionError) for r in results) and db.queries == 3
    db.failing = False
    assert await events.event_of(4) == 7
