"""The platform as the benchmark runs it: ``python -m ehalsodag_bench.server --port N [--workers N]``.

The same app as ``ehalsodag serve`` (:func:`ehalsodag.app.create_app`, served through the server's own
websocket send as :func:`ehalsodag.app.create_served_app` does, under the same uvicorn configuration
and graceful shutdown), plus ONE observer on the hub: :func:`stamp`, which appends the moment a frame
was published, ``<!--bench-push:TS-->``, to every frame. Browsers ignore the comment (a frame's
instructions are its top-level elements); the benchmark times fan-out from it. Neither the app nor any
request handler knows about the benchmark.
"""

from __future__ import annotations

import argparse
import time

from litestar.types import ASGIApp, Receive, Scope, Send

from ehalsodag_bench.common import require_loopback

#: The uvicorn factory (an import string: every worker process builds its own app).
APP = "ehalsodag_bench.server:create_app"
#: What :func:`stamp` appends (``%.3f`` ms since the epoch).
STAMP_FORMAT = "<!--bench-push:{:.3f}-->"


def stamp(_event_id: int, _audience: str, by_language: dict[str, str]) -> dict[str, str]:
    """The hub observer: every language's frame gets the time of this publish appended."""
    mark = STAMP_FORMAT.format(time.time() * 1000)
    return {language: frame + mark for language, frame in by_language.items()}


def create_app() -> ASGIApp:
    """The served app with the benchmark's observer on its hub (a uvicorn factory, one per worker)."""
    from ehalsodag.app import create_app as create_platform
    from ehalsodag.live.hub import RAW_SEND_KEY

    app = create_platform()
    app.state.hub.observers.append(stamp)

    async def served(scope: Scope, receive: Receive, send: Send) -> None:  # as create_served_app does
        if scope["type"] == "websocket":
            scope[RAW_SEND_KEY] = send  # type: ignore[literal-required]
        await app(scope, receive, send)

    return served


def serve(host: str, port: int, workers: int) -> None:
    """Serve :func:`create_app` as ``ehalsodag.server.serve`` serves the platform's app."""
    import uvicorn.supervisors.multiprocess as uvicorn_multiprocess
    from uvicorn.supervisors import Multiprocess

    from ehalsodag import server

    cfg = server.config(host, port, workers)
    cfg.app = APP
    if workers > 1:
        uvicorn_multiprocess.Process = server.GracefulProcess  # type: ignore[misc]
        Multiprocess(cfg, sockets=[cfg.bind_socket()]).run()
    else:
        server.GracefulServer(cfg).run()


def main() -> None:
    """Command line: host, port and workers."""
    parser = argparse.ArgumentParser(prog="python -m ehalsodag_bench.server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    require_loopback(f"http://{args.host}")
    serve(args.host, args.port, args.workers)


if __name__ == "__main__":
    main()
