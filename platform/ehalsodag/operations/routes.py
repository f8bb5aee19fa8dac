"""``/healthz`` and ``/readyz`` for load balancers and monitoring: unauthenticated, cheap, not rate limited, not in
the OpenAPI schema. Imported by the app alone."""

from __future__ import annotations

from typing import Any

from litestar import Request, get
from litestar.datastructures import CacheControlHeader
from litestar.response import Response

from ehalsodag.operations.readiness import OK, Readiness

_NO_STORE = CacheControlHeader(no_store=True)


@get("/healthz", name="healthz", include_in_schema=False, cache_control=_NO_STORE)
async def healthz() -> dict[str, str]:
    """The process answers (liveness): nothing else is checked, so a slow database never gets it restarted."""
    return {"status": OK}


@get("/readyz", name="readyz", include_in_schema=False, cache_control=_NO_STORE)
async def readyz(request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
    """200 when this worker should get new requests and sockets, else 503; the body says which check failed."""
    readiness: Readiness = request.app.state.readiness
    checks = await readiness.checks()
    ready = all(state == OK for state in checks.values())
    return Response({"ready": ready, "checks": checks}, status_code=200 if ready else 503)


routes = [healthz, readyz]
