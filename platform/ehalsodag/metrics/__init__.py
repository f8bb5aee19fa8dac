"""Prometheus metrics of the platform (issue 19): the series, what the domains call to move them, and what the
collector reads at scrape time. The endpoint itself is :mod:`ehalsodag.metrics.endpoint` (Litestar's Prometheus
plugin behind a bearer token), wired in ``app.py``.

This package imports no domain and not the live layer, so any of them may call it::

    from ehalsodag import metrics
    metrics.count_question()
"""

from ehalsodag.metrics.series import (
    count_join,
    count_question,
    count_upvote,
    count_votes,
    dropped,
    fanout,
    published,
    redis_error,
)
from ehalsodag.metrics.watch import WatchedPool, redis_connected, watch

__all__ = ["WatchedPool", "count_join", "count_question", "count_upvote", "count_votes", "dropped", "fanout",
           "published", "redis_connected", "redis_error", "watch"]
