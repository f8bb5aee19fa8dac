"""Running the app under uvicorn, with a shutdown that says goodbye (1001) on every websocket.

On SIGTERM uvicorn stops accepting connections and would cut websockets with 1012; we first close
them with 1001 "going away", so that browsers reconnect (to the restarted or another worker) at once.
Before that, ``/readyz`` turns 503 and, with ``EHALSODAG_SHUTDOWN_DRAIN_SECONDS``, the worker keeps serving that
long, so that a proxy polling ``/readyz`` stops sending it new sockets before the old ones reconnect.
"""

from __future__ import annotations

import asyncio
import os
import socket
from typing import Any

import uvicorn
import uvicorn.supervisors.multiprocess as uvicorn_multiprocess
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from uvicorn.supervisors import Multiprocess
from websockets.extensions.permessage_deflate import ServerPerMessageDeflateFactory
from websockets.http11 import Request
from websockets.server import ServerProtocol

from ehalsodag.live.hub import close_all_sockets
from ehalsodag.live.socket_state import SocketFlag, SocketInbox
from ehalsodag.operations.readiness import begin_shutdown
from ehalsodag.web.logs import uvicorn_log_config

#: Websocket frames larger than this are refused (close 1009): clients have nothing big to say.
WS_MAX_FRAME = 64 * 1024


class GracefulServer(uvicorn.Server):
    """uvicorn's server, closing every websocket with 1001 before its own shutdown."""

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        """Turn /readyz false, give the proxy the drain time, say goodbye on every socket, then shut down as uvicorn
        does."""
        begin_shutdown()
        drain = drain_seconds()
        if drain > 0:
            await asyncio.sleep(drain)  # still accepting: /readyz answers 503, the sockets stay open
        try:
            await close_all_sockets()
        except Exception:  # a goodbye that fails must not block the shutdown
            pass
        await super().shutdown(sockets)


class GracefulProcess(uvicorn_multiprocess.Process):
    """uvicorn's worker process, running :class:`GracefulServer`."""

    @property
    def server(self) -> uvicorn.Server:
        """The worker's server (created in the worker process)."""
        if self._server is None:
            self._server = GracefulServer(config=self.config)
        return self._server


def access_log() -> bool:
    """One log line per request is costly at thousands of votes a second; the reverse proxy usually
    keeps that log. ``EHALSODAG_ACCESS_LOG=1`` turns it on here."""
    return os.environ.get("EHALSODAG_ACCESS_LOG", "0") == "1"


def ws_compression() -> bool:
    """``EHALSODAG_WS_COMPRESSION=1``: websocket compression (permessage-deflate) for browsers that ask for it. Off by
    default: with it every push is compressed once per socket instead of written once for all (docs/performance.md
    measures both; :class:`SocketProtocol` keeps idle sockets free of compressors)."""
    return os.environ.get("EHALSODAG_WS_COMPRESSION", "0") == "1"


def log_format() -> str:
    """``EHALSODAG_LOG_FORMAT``: ``text`` (default) or ``json`` (see :mod:`ehalsodag.web.logs`)."""
    return (os.environ.get("EHALSODAG_LOG_FORMAT") or "text").lower()


def drain_seconds() -> float:
    """Seconds between SIGTERM (``/readyz`` turns 503) and closing the sockets: ``EHALSODAG_SHUTDOWN_DRAIN_SECONDS``,
    default 0. Set it a little above the proxy's health-check interval."""
    try:
        return max(0.0, float(os.environ.get("EHALSODAG_SHUTDOWN_DRAIN_SECONDS") or 0))
    except ValueError:
        return 0.0


def header_timeout() -> float:
    """Seconds a connection may take to send a request's line and headers: ``EHALSODAG_HEADER_TIMEOUT_SECONDS``,
    default 10. uvicorn has no such limit of its own (only an idle keep-alive timeout), so without a proxy in front
    a client that sends its headers one byte a minute ("slowloris") would hold its connection for ever."""
    try:
        return max(0.1, float(os.environ.get("EHALSODAG_HEADER_TIMEOUT_SECONDS") or 10))
    except ValueError:
        return 10.0


class SocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's websocket protocol, lighter for the thousands of sockets that sit idle for hours:

    - its inbox and its may-I-write flag are :mod:`ehalsodag.live.socket_state`'s, not an asyncio queue and event
      (about 3.5 KiB of empty deques per socket);
    - the handshake's request headers are let go once the ASGI scope has its copy (the websockets library's parser
      keeps the request for the socket's life), and its answer's once they are sent;
    - with compression on (:func:`ws_compression`), there is no context takeover either way: each message is
      compressed on its own, so an idle socket keeps no compressor (32 KiB or more each) and no decompressor
      between messages. It compresses a little less well; thousands of idle sockets cost far less.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.queue = SocketInbox()  # type: ignore[assignment]
        self.writable = SocketFlag()  # type: ignore[assignment]
        self.writable.set()
        if self.config.ws_per_message_deflate:
            self.conn = ServerProtocol(
                extensions=[ServerPerMessageDeflateFactory(
                    server_max_window_bits=12, client_max_window_bits=12, compress_settings={"memLevel": 5},
                    server_no_context_takeover=True, client_no_context_takeover=True)],
                max_size=self.config.ws_max_size, logger=self.conn.logger)

    def handle_connect(self, event: Request) -> None:
        """Answer the handshake as uvicorn does, then empty the request's headers: the scope holds its own copy."""
        super().handle_connect(event)
        event.headers.clear()

    async def send(self, message: Any) -> None:
        """Send as uvicorn does; once the handshake's answer is out, empty its headers (uvicorn keeps it)."""
        await super().send(message)
        if message["type"] == "websocket.accept":
            self.response.headers.clear()


class HeaderTimeoutProtocol(HttpToolsProtocol):
    """uvicorn's HTTP protocol (httptools), closing a connection whose request line and headers are not complete
    within :func:`header_timeout` of its opening, or of the previous response on a kept-alive connection. The clock
    stops when the headers are in: a slow upload, a long answer or a websocket are not cut."""

    _header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Start the clock for the first request's headers."""
        super().connection_made(transport)
        self._arm()

    def on_headers_complete(self) -> None:
        """The headers are in: stop the clock."""
        self._disarm()
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        """An idle kept-alive connection: its next request's headers get the same time."""
        super().on_response_complete()
        if self.timeout_keep_alive_task is not None:  # idle (no pipelined request is starting)
            self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        """Stop the clock."""
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._disarm()
        self._header_timer = self.loop.call_later(header_timeout(), self._too_slow)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _too_slow(self) -> None:
        self._header_timer = None
        if not self.transport.is_closing():
            self.transport.close()


def config(host: str, port: int, workers: int, *, forwarded_allow_ips: str | None = None,
           **extra: Any) -> uvicorn.Config:
    """The uvicorn configuration of ``ehalsodag serve``: logs without query strings (tokens), JSON if asked;
    in JSON mode the app writes the request lines, so uvicorn's access log is off."""
    fmt = log_format()
    if forwarded_allow_ips:  # the proxies whose X-Forwarded-For/-Proto count (default: uvicorn's 127.0.0.1)
        extra["forwarded_allow_ips"] = forwarded_allow_ips
    return uvicorn.Config(
        "ehalsodag.app:create_served_app", factory=True, host=host, port=port, workers=workers,
        ws_max_size=WS_MAX_FRAME, ws_per_message_deflate=ws_compression(), proxy_headers=True,
        http=HeaderTimeoutProtocol, ws=SocketProtocol,
        timeout_graceful_shutdown=20, log_level="info", access_log=access_log() and fmt != "json",
        log_config=uvicorn_log_config(fmt), **extra,
    )


def serve(host: str, port: int, workers: int = 1, *, forwarded_allow_ips: str | None = None) -> None:
    """Serve until SIGTERM or SIGINT; with ``workers`` > 1, several processes share the socket."""
    cfg = config(host, port, workers, forwarded_allow_ips=forwarded_allow_ips)
    server = GracefulServer(cfg)
    if workers > 1:
        # uvicorn's supervisor (health checks, restarts) creates its workers by this module-level name.
        uvicorn_multiprocess.Process = GracefulProcess  # type: ignore[misc]
        sock = cfg.bind_socket()
        Multiprocess(cfg, sockets=[sock]).run()
    else:
        server.run()
