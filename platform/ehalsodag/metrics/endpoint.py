"""``GET /metrics``: Litestar's Prometheus plugin (its controller and its request-latency middleware) behind a
bearer token.

Mounted only when ``EHALSODAG_METRICS_TOKEN`` is set (otherwise the path answers 404 and no request is timed);
a request without ``Authorization: Bearer <token>`` gets 401. Outside the OpenAPI schema and the rate limits.

Each scrape is answered by the worker that accepted it and shows that worker's numbers: prometheus_client's
multiprocess mode (``PROMETHEUS_MULTIPROC_DIR``) would add up the counters, but it cannot carry the gauges read
at scrape time (sockets, database pool), so it is not used (see docs/deploy.md, "Watching the day").
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from typing import Any

from litestar.connection import ASGIConnection
from litestar.enums import ScopeType
from litestar.exceptions import NotAuthorizedException
from litestar.handlers.base import BaseRouteHandler
from litestar.plugins.prometheus import PrometheusConfig, PrometheusController

from ehalsodag.metrics.watch import name_events

#: Where the metrics are served.
METRICS_PATH = "/metrics"


def prometheus_config() -> PrometheusConfig:
    """Request count and latency per route (``ehalsodag_request_duration_seconds``), labelled by the route's
    path template (``/api/v1/polls/{poll_id}/responses``), never the raw path: bounded cardinality. HTTP only: a
    websocket's "request" lasts the whole day; the scrape itself is not timed."""
    return PrometheusConfig(app_name="ehalsodag", prefix="ehalsodag", group_path=True, scopes={ScopeType.HTTP},
                            exclude=[f"^{METRICS_PATH}"])


def metrics_controller(token: str, slug_of: Callable[[int], Awaitable[str | None]]) -> type[PrometheusController]:
    """The plugin's controller at :data:`METRICS_PATH`, for holders of ``token``; ``slug_of`` names the events
    whose sockets are counted (looked up once per event)."""
    expected = token.encode()

    def token_guard(connection: ASGIConnection[Any, Any, Any, Any], _handler: BaseRouteHandler) -> None:
        scheme, _space, given = connection.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), expected):
            raise NotAuthorizedException(detail="A metrics token is required.",
                                         headers={"WWW-Authenticate": 'Bearer realm="metrics"'})

    async def name_the_events(_request: Any) -> None:
        await name_events(slug_of)

    class MetricsController(PrometheusController):
        path = METRICS_PATH
        include_in_schema = False
        guards = [token_guard]
        before_request = name_the_events

    return MetricsController
