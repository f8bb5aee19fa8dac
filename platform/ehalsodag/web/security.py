"""Security headers for every response, and the Content-Security-Policy of each page.

The policy allows scripts, styles, images and connections from this server only; frames (and HLS
media) only from the stream hosts an event actually embeds. Pages send no requests to anyone else.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from urllib.parse import urlsplit

from litestar.types import ASGIApp, Message, Receive, Scope, Send

from ehalsodag.i18n import _

BASE_HEADERS = {
    b"x-content-type-options": b"nosniff",
    b"referrer-policy": b"strict-origin-when-cross-origin",
    b"x-frame-options": b"DENY",
    b"permissions-policy": b"camera=(), microphone=(), geolocation=(), payment=()",
    b"cross-origin-opener-policy": b"same-origin",
}


def content_security_policy(frame_hosts: Iterable[str] = (), media_hosts: Iterable[str] = ()) -> str:
    """The page's CSP: self only, plus the given stream hosts for frames and HLS media."""
    frames = " ".join(sorted({f"https://{h}" for h in frame_hosts})) or "'none'"
    media = " ".join(["'self'", "blob:", *sorted({f"https://{h}" for h in media_hosts})])
    connect = " ".join(["'self'", *sorted({f"https://{h}" for h in media_hosts})])
    return (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        f"connect-src {connect}; media-src {media}; frame-src {frames}; object-src 'none'; base-uri 'none'; "
        "form-action 'self'; frame-ancestors 'none'"
    )


DEFAULT_CSP = content_security_policy().encode()
#: Sent when the public base URL is https (not for subdomains: the agency's other hosts are not ours to pin).
HSTS = b"max-age=31536000"


async def add_security_headers(message: Message, scope: Scope) -> None:
    """Litestar ``before_send`` hook: add the security headers (and a strict CSP unless the page set its
    own) to every HTTP response, 404s for unknown paths included."""
    if message["type"] != "http.response.start":
        return
    headers = list(message.get("headers", []))
    present = {bytes(name).lower() for name, _value in headers}
    for name, value in BASE_HEADERS.items():
        if name not in present:
            headers.append((name, value))
    if b"content-security-policy" not in present:
        headers.append((b"content-security-policy", DEFAULT_CSP))
    app = scope.get("app")
    if app is not None and app.state.settings.https and b"strict-transport-security" not in present:
        headers.append((b"strict-transport-security", HSTS))  # browsers never try plain http again for a year
    message["headers"] = headers


async def refuse(send: Send, status: int, detail: str) -> None:
    """Answer with the API's error body ``{status_code, detail}`` without going further."""
    body = json.dumps({"status_code": status, "detail": detail}, ensure_ascii=False).encode()
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def _has_nul(scope: Scope) -> bool:
    query = scope.get("query_string", b"")
    return "\x00" in scope.get("path", "") or b"\x00" in query or b"%00" in query.lower()


def refuse_nul_bytes(app: ASGIApp) -> ASGIApp:
    """ASGI middleware: a path or query string with a NUL byte (``%00``) is refused with 400 before any work.

    Nothing a person types or clicks carries one, and PostgreSQL refuses it in any text (a 500 otherwise, wherever
    a slug, a stage or a code reaches a query). Bodies are checked field by field at decoding
    (:mod:`ehalsodag.web.bounds`)."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and _has_nul(scope):
            await refuse(send, 400, _("NUL bytes are not allowed in addresses."))
            return
        if scope["type"] == "websocket" and _has_nul(scope):
            await send({"type": "websocket.close", "code": 1008, "reason": "NUL byte in the address"})
            return
        await app(scope, receive, send)

    return middleware


#: What a page on another site can send without the browser asking first (CORS "simple" requests).
SIMPLE_CONTENT_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data", "text/plain")
_SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return bytes(value).decode("latin-1")
    return None


def _own_hosts(scope: Scope) -> set[str]:
    hosts = {(_header(scope, b"host") or "").lower()}
    base_url = scope["app"].state.settings.base_url
    if base_url:
        hosts.add(urlsplit(base_url).netloc.lower())
    return hosts


def guard_api_writes(app: ASGIApp) -> ASGIApp:
    """ASGI middleware: a write to the JSON API (POST, PUT, PATCH, DELETE under ``/api/``) is refused when another
    site's page could have sent it from a visitor's browser, before its body is read.

    * 403 when the request names another origin (``Origin``, or ``Sec-Fetch-Site: cross-site``).
    * 415 when its body comes as a type a cross-site form or a "simple" fetch can send without the browser asking
      the server first (``text/plain``, form encodings), or without a type at all. JSON bodies must say
      ``application/json`` (or another type, such as ``application/toml``, that no form can send).

    So a page elsewhere can never join, ask or vote in a visitor's name (the join API sets the attendee cookie),
    even though the API takes no CSRF token. Scripts with bearer tokens send JSON and no ``Origin``: unaffected.
    An action with an empty body (``curl -X POST …/evaluation/open``) needs no type."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] not in _SAFE_METHODS and scope["path"].startswith("/api/"):
            origin = _header(scope, b"origin")
            cross_site = _header(scope, b"sec-fetch-site") == "cross-site"
            if cross_site or (origin is not None and urlsplit(origin).netloc.lower() not in _own_hosts(scope)):
                await refuse(send, 403, _("Requests from other sites are not allowed."))
                return
            content_type = (_header(scope, b"content-type") or "").split(";")[0].strip().lower()
            has_body = _header(scope, b"transfer-encoding") is not None or (_header(scope, b"content-length") or "0")\
                .strip() not in ("", "0")
            if content_type in SIMPLE_CONTENT_TYPES or (has_body and not content_type):
                await refuse(send, 415, _("Send the body as JSON (Content-Type: application/json)."))
                return
        await app(scope, receive, send)

    return middleware


#: Paths a load balancer or monitoring probes by address rather than by name: they answer whatever the Host.
HOST_FREE_PATHS = ("/healthz", "/readyz", "/metrics")


def refuse_unknown_hosts(app: ASGIApp) -> ASGIApp:
    """ASGI middleware: with ``EHALSODAG_BASE_URL`` set, a request (or websocket) naming another ``Host`` is refused
    (400, or close 1008), so that no page, redirect, join QR code or schedule export is ever built for a host an
    attacker chose (cache poisoning, links to a look-alike site). Without a base URL (a development machine) every
    host is served; production refuses to start without one (``configuration_problems``)."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and not scope["path"].startswith(HOST_FREE_PATHS):
            base_url = scope["app"].state.settings.base_url
            host = (_header(scope, b"host") or "").lower()
            if base_url and host != urlsplit(base_url).netloc.lower():
                if scope["type"] == "http":
                    await refuse(send, 400, _("This server does not answer for that host name."))
                else:
                    await send({"type": "websocket.close", "code": 1008, "reason": "unknown host"})
                return
        await app(scope, receive, send)

    return middleware
