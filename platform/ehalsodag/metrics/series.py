"""The platform's own Prometheus series (``ehalsodag_*``), registered once per process, and the tiny API the
domains and the live layer call to move them.

Every call here is a counter increment or one histogram observation: no lock of ours, nothing per socket.
Labels are bounded: an audience is one of a handful of pages (attendee, staff, screen, overlay), a Redis use
is one of a few names; attendee ids and texts never become labels. What can be read at scrape time
(sockets per event and audience, the database pool) is read then, by :mod:`ehalsodag.metrics.watch`.
"""

from __future__ import annotations

from typing import Any

from prometheus_client import Counter, Histogram

JOINS = Counter("ehalsodag_joins", "Attendees (or rooms of them) that joined an event")
VOTES = Counter("ehalsodag_votes", "Poll answers stored (a changed answer counts again)")
QUESTIONS = Counter("ehalsodag_questions", "Questions asked to the panel")
UPVOTES = Counter("ehalsodag_upvotes", "Upvotes given to questions (taking one back does not count)")
FANOUT_SECONDS = Histogram(
    "ehalsodag_fanout_seconds", "Time one push took to reach every socket of its audience on this worker",
    ["audience"], buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5))
FANOUT_BYTES = Counter(
    "ehalsodag_fanout_bytes", "Bytes written to sockets by pushes (one frame's UTF-8 size × sockets reached)",
    ["audience"])
PUSH_BYTES = Counter(
    "ehalsodag_push_bytes", "Bytes of rendered pushes published once per audience (Swedish rendering)", ["audience"])
SOCKETS_DROPPED = Counter(
    "ehalsodag_sockets_dropped", "Websockets dropped because they fell too far behind (close 1013)", ["audience"])
REDIS_RECONNECTS = Counter(
    "ehalsodag_redis_reconnects", "Redis connections opened again after they had been lost (every client of the app)")
REDIS_CONNECTS = Counter("ehalsodag_redis_connects", "Redis connections opened (first connects and reconnects)")
REDIS_ERRORS = Counter(
    "ehalsodag_redis_errors", "Redis connection errors and timeouts where the app calls Redis itself", ["use"])
DB_CHECKOUT_SECONDS = Histogram(
    "ehalsodag_db_pool_checkout_seconds", "Time to get a database connection from the pool (waiting or opening)",
    buckets=(0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0))

#: Label children per audience, made once: ``labels()`` on every push would look them up again.
_fanout: dict[str, tuple[Any, Any]] = {}


def count_join() -> None:
    """One attendee (or a room of attendees) joined."""
    JOINS.inc()


def count_votes(stored: int) -> None:
    """A vote batch stored ``stored`` answers."""
    VOTES.inc(stored)


def count_question() -> None:
    """A question was asked."""
    QUESTIONS.inc()


def count_upvote() -> None:
    """A question got an upvote."""
    UPVOTES.inc()


def fanout(audience: str, seconds: float, frame_bytes: int, sockets: int) -> None:
    """A push reached ``sockets`` sockets of ``audience`` on this worker in ``seconds``."""
    children = _fanout.get(audience)
    if children is None:
        children = _fanout[audience] = (FANOUT_SECONDS.labels(audience), FANOUT_BYTES.labels(audience))
    children[0].observe(seconds)
    children[1].inc(frame_bytes * sockets)


def published(audience: str, frame_bytes: int) -> None:
    """A push of ``frame_bytes`` (rendered once) was published for ``audience``."""
    PUSH_BYTES.labels(audience).inc(frame_bytes)


def dropped(audience: str) -> None:
    """A socket of ``audience`` was dropped as too slow."""
    SOCKETS_DROPPED.labels(audience).inc()


def redis_error(use: str) -> None:
    """A call to Redis by ``use`` (``rate_limit``, ``results_claim``) failed to reach it."""
    REDIS_ERRORS.labels(use).inc()
