"""ASGI middleware that sets the request's language from the ``ehd_lang`` cookie (Swedish by default)."""

from __future__ import annotations

from http.cookies import SimpleCookie

from litestar.types import ASGIApp, Receive, Scope, Send

from ehalsodag.i18n import DEFAULT_LANGUAGE, use_language

LANGUAGE_COOKIE = "ehd_lang"


def language_middleware(app: ASGIApp) -> ASGIApp:
    """Wrap ``app`` so that every request and websocket renders in the visitor's language."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        language = DEFAULT_LANGUAGE
        if scope["type"] in {"http", "websocket"}:
            for name, value in scope.get("headers", []):
                if name == b"cookie":
                    cookie: SimpleCookie = SimpleCookie()
                    try:
                        cookie.load(value.decode("latin-1"))
                    except Exception:  # a malformed cookie header just means the default language
                        continue
                    if LANGUAGE_COOKIE in cookie:
                        language = cookie[LANGUAGE_COOKIE].value
        with use_language(language):
            await app(scope, receive, send)

    return middleware
