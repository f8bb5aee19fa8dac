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
import os
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
        sampler = Sampler(os.environ["EHALSODAG_BENCH_SAMPLE"]) if os.environ.get("EHALSODAG_BENCH_SAMPLE") else None
        try:
            server.GracefulServer(cfg).run()
        finally:
            if sampler is not None:
                sampler.stop()


class Sampler:
    """A small sampling profiler for a profiling run (``EHALSODAG_BENCH_SAMPLE=<file>``, one worker): every few
    milliseconds, the main thread's stack; at the end, per function, the share of samples it was on the stack
    in (inclusive) and on top of it (self), written to ``<file>``. No figures of such a run are reported."""

    def __init__(self, path: str, interval: float = 0.005) -> None:
        import gc
        import threading

        #: Garbage collections: per generation, how many and how long in all; the longest ones, with when.
        self.collections: dict[int, list[float]] = {0: [0, 0.0], 1: [0, 0.0], 2: [0, 0.0]}
        self.long_collections: list[tuple[float, int, float, int]] = []
        self._collecting = 0.0
        gc.callbacks.append(self._collection)
        self.path = path
        self.interval = interval
        self.samples = 0
        self.inclusive: dict[str, int] = {}
        self.own: dict[str, int] = {}
        self.main = threading.main_thread().ident
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        import sys

        while not self.stopped.wait(self.interval):
            frame = sys._current_frames().get(self.main)  # noqa: SLF001
            if frame is None:
                continue
            self.samples += 1
            seen = set()
            top = True
            while frame is not None:
                code = frame.f_code
                name = f"{code.co_filename.rsplit('site-packages/', 1)[-1]}:{code.co_name}"
                if top:
                    self.own[name] = self.own.get(name, 0) + 1
                    top = False
                if name not in seen:
                    seen.add(name)
                    self.inclusive[name] = self.inclusive.get(name, 0) + 1
                frame = frame.f_back
            if self.samples % 400 == 0:  # the server may be killed at the end, so write as it goes
                self.write()

    def _collection(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._collecting = time.perf_counter()
            return
        took = time.perf_counter() - self._collecting
        entry = self.collections[info["generation"]]
        entry[0] += 1
        entry[1] += took
        if took > 0.02:
            self.long_collections.append((time.time(), info["generation"], took, info.get("collected", 0)))

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join()
        self.write()

    def write(self) -> None:
        total = max(1, self.samples)
        lines = [f"{self.samples} samples every {self.interval * 1000:.0f} ms", "", "inclusive %, function"]
        lines += [f"{100 * n / total:5.1f} {name}" for name, n in
                  sorted(self.inclusive.items(), key=lambda item: -item[1])[:120]]
        lines += ["", "garbage collections: generation, count, seconds in all"]
        lines += [f"{generation} {count} {seconds:.2f}" for generation, (count, seconds) in self.collections.items()]
        lines += ["longer than 20 ms: epoch s, generation, seconds, collected"]
        lines += [f"{at:.3f} {generation} {took:.3f} {collected}"
                  for at, generation, took, collected in self.long_collections[-200:]]
        lines += ["", "self %, function"]
        lines += [f"{100 * n / total:5.1f} {name}" for name, n in
                  sorted(self.own.items(), key=lambda item: -item[1])[:60]]
        with open(self.path, "w") as out:
            out.write("\n".join(lines) + "\n")


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
