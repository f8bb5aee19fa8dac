"""Request plumbing shared by every domain's auth: bearer tokens, the CSRF rule for cookie-authenticated
API writes, the websocket Origin check. Who an attendee or a staff user is lives in ``attendees/auth.py``
and ``staff/auth.py``."""

from __future__ import annotations

import hmac
from typing import Any
from urllib.parse import urlsplit

from litestar.connection import ASGIConnection

from ehalsodag.settings import Settings


def bearer(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    """The bearer token of the Authorization header, if any."""
    header = connection.headers.get("authorization", "")
    scheme, _sep, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


CSRF_COOKIE = "csrftoken"
CSRF_HEADER = "x-csrftoken"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def cookie_auth_allowed(connection: ASGIConnection[Any, Any, Any, Any]) -> bool:
    """Whether a session or attendee cookie may authenticate this request.

    Forms are covered by the CSRF middleware and websockets by the Origin check; an unsafe JSON API
    request that relies on a cookie must also carry the CSRF token in its header (as htmx does), so
    another site can never make a browser act through the API. Bearer tokens need no such token.
    """
    if connection.scope["type"] != "http" or connection.scope.get("method", "GET") in SAFE_METHODS:
        return True
    if not connection.scope["path"].startswith("/api/"):
        return True
    token = connection.cookies.get(CSRF_COOKIE)
    return bool(token) and hmac.compare_digest(token, connection.headers.get(CSRF_HEADER, ""))


def settings_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Settings:
    """The app's settings."""
    return connection.app.state.settings


def origin_allowed(connection: ASGIConnection[Any, Any, Any, Any]) -> bool:
    """Websocket handshakes from a browser must come from our own pages (no cross-site hijacking).

    Clients that send no Origin (scripts, the load generator) authenticate with a token instead.
    """
    origin = connection.headers.get("origin")
    if origin is None:
        return True
    origin_host = urlsplit(origin).netloc.lower()
    base_url = settings_of(connection).base_url
    allowed = {connection.headers.get("host", "").lower()}
    if base_url:
        allowed.add(urlsplit(base_url).netloc.lower())
    return origin_host in allowed
