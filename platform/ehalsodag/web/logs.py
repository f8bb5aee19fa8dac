"""Operational logs: one JSON line per request and per socket event when ``EHALSODAG_LOG_FORMAT=json``.

A line carries what an operator needs on the day and nothing personal: the method, the route's path
*template* (``/e/{slug:str}/questions``, never the path with its values), the status, the duration, the
event's slug and, for a websocket, the page it serves (``attendee``, ``control``, ``screen``, ``overlay``)
and its close code. No query string (attendee tokens travel as ``?token=``), no body, no header, no
client address, no name.

The line is written by :func:`request_log`, an ASGI wrapper around the whole app that reads what
Litestar's router put into the scope (``path_template``, ``path_params``) once the request is done; it
sees 404s and errors too, and a socket's handshake, refusal and goodbye. Litestar's logging middleware
writes two lines per request, knows no websockets and logs raw paths, so it is not used here.

uvicorn's own logs go through :func:`uvicorn_log_config`: JSON in JSON mode (its access log is off there:
our line replaces it), and in both formats without query strings, so a token never reaches a log.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import logging
import time
from typing import Any
from urllib.parse import parse_qs

from litestar.logging.config import LoggingConfig
from litestar.types import ASGIApp, Message, Receive, Scope, Send

LOG_FORMATS = ("text", "json")
#: The logger of the request and socket lines.
ACCESS_LOGGER = "ehalsodag.access"
#: The pages a websocket may serve (``?view=``); anything else is logged as the default, ``attendee``.
SOCKET_VIEWS = frozenset({"attendee", "control", "screen", "overlay"})

#: A record's own attributes (and uvicorn's coloured copy of its message): not repeated in the line.
_RECORD_FIELDS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message", "asctime", "color_message"}


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time (UTC), level, logger, message and the record's ``extra`` fields."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line of JSON."""
        line: dict[str, Any] = {
            "ts": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "pid": record.process,
            "msg": record.getMessage(),
        }
        line.update((key, value) for key, value in vars(record).items() if key not in _RECORD_FIELDS)
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


#: uvicorn's own lines about a websocket (its handshake line carries the query string, hence the token).
_SOCKET_LINES = ('%s - "WebSocket', "connection open", "connection closed", "connection rejected")


def _without_query(value: object) -> object:
    if isinstance(value, str) and value.startswith("/") and "?" in value:
        return value.split("?", 1)[0]
    return value


class QueryStringFilter(logging.Filter):
    """Strip query strings from the paths uvicorn logs (its access lines and websocket handshakes).

    With ``drop_socket_lines`` uvicorn's handshake and "connection open/closed/rejected" lines are dropped
    altogether: in JSON mode :func:`request_log` writes one line per socket event itself.
    """

    def __init__(self, drop_socket_lines: bool = False) -> None:
        super().__init__()
        self.drop_socket_lines = drop_socket_lines

    def filter(self, record: logging.LogRecord) -> bool:
        """False for a dropped line; otherwise the record, its paths without query strings."""
        if self.drop_socket_lines and isinstance(record.msg, str) and record.msg.startswith(_SOCKET_LINES):
            return False
        if isinstance(record.args, tuple):
            record.args = tuple(_without_query(arg) for arg in record.args)
        return True


def uvicorn_log_config(log_format: str) -> dict[str, Any]:
    """uvicorn's logging configuration for ``log_format``: its defaults, no query strings, JSON if asked."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    json_mode = log_format == "json"
    config["filters"] = {"no_query": {"()": QueryStringFilter, "drop_socket_lines": json_mode}}
    for handler in config["handlers"].values():
        handler["filters"] = ["no_query"]
    if json_mode:
        config["formatters"] = {name: {"()": JsonFormatter} for name in config["formatters"]}
        config["handlers"]["access"]["stream"] = "ext://sys.stderr"
    return config


def litestar_logging_config(log_format: str) -> LoggingConfig:
    """Litestar's logging (its own logger and the root logger, which the platform's loggers reach)."""
    if log_format == "json":
        return LoggingConfig(formatters={"standard": {"()": JsonFormatter}})
    return LoggingConfig()


def _socket_view(scope: Scope) -> str:
    view = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("view", ["attendee"])[0]
    return view if view in SOCKET_VIEWS else "attendee"


def _route_fields(scope: Scope) -> dict[str, Any]:
    """The route template and the event's slug, as the router left them in the scope (None if unrouted)."""
    params = scope.get("path_params") or {}
    slug = params.get("slug")
    return {"route": scope.get("path_template"), "event": slug if isinstance(slug, str) else None}


def request_log(app: ASGIApp) -> ASGIApp:
    """``app``, writing one line per HTTP request and per websocket connect, refusal and disconnect."""
    log = logging.getLogger(ACCESS_LOGGER)

    async def http(scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        status: int | None = None

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await app(scope, receive, send_status)
        finally:
            log.info("request", extra={"kind": "http", "method": scope["method"], **_route_fields(scope),
                                       "status": status if status is not None else 500,
                                       "ms": round((time.perf_counter() - started) * 1000, 1)})

    async def websocket(scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        accepted = False
        code: int | None = None

        def line(action: str, **fields: Any) -> None:
            log.info("socket", extra={"kind": "ws", "action": action, **_route_fields(scope),
                                      "audience": _socket_view(scope), **fields})

        async def watch_send(message: Message) -> None:
            nonlocal accepted, code
            if message["type"] == "websocket.accept":
                accepted = True
                line("connect")
            elif message["type"] == "websocket.close" and code is None:
                code = message.get("code", 1000)
            await send(message)

        async def watch_receive() -> Message:
            nonlocal code
            message = await receive()
            if message["type"] == "websocket.disconnect" and code is None:
                code = message.get("code", 1005)
            return message

        try:
            await app(scope, watch_receive, watch_send)
        finally:
            if accepted:
                line("disconnect", code=code, seconds=round(time.perf_counter() - started, 1))
            else:
                line("refused", code=code)

    async def logged(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await http(scope, receive, send)
        elif scope["type"] == "websocket":
            await websocket(scope, receive, send)
        else:
            await app(scope, receive, send)

    return logged
