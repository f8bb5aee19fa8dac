"""Security headers for every response, and the Content-Security-Policy of each page.

The policy allows scripts, styles, images and connections from this server only; frames (and HLS
media) only from the stream hosts an event actually embeds. Pages send no requests to anyone else.
"""

from __future__ import annotations

from collections.abc import Iterable

from litestar.types import ASGIApp, Message, Receive, Scope, Send

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
    message["headers"] = headers


def _has_nul(scope: Scope) -> bool:
    query = scope.get("query_string", b"")
    return "\x00" in scope.get("path", "") or b"\x00" in query or b"%00" in query.lower()


def refuse_nul_bytes(app: ASGIApp) -> ASGIApp:
    """ASGI middleware: a path or query string with a NUL byte (``%00``) is refused with 400 before routing.

    Nothing a person types or clicks carries one, and PostgreSQL refuses it in any text (a 500 otherwise, wherever
    a slug, a stage or a code reaches a query). Bodies are checked field by field at decoding
    (:mod:`ehalsodag.web.bounds`)."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and _has_nul(scope):
            body = b'{"status_code":400,"detail":"NUL bytes are not allowed in addresses."}'
            await send({"type": "http.response.start", "status": 400, "headers": [
                (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})
            return
        if scope["type"] == "websocket" and _has_nul(scope):
            await send({"type": "websocket.close", "code": 1008, "reason": "NUL byte in the address"})
            return
        await app(scope, receive, send)

    return middleware
