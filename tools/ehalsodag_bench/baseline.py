"""The calibration baseline: a bare ``websockets`` server broadcasting frames as large as the platform's
announcement pushes to as many clients, from as many generator processes, in the same run."""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import subprocess
import sys
import time
from typing import Any

from ehalsodag_bench.common import connect_all, free_port, percentiles, shares, wait_for
from ehalsodag_bench.frames import Recorder, SocketState, delivery_rate, merge_spans

SERVER = r"""
import asyncio, sys, time, websockets
clients = set()
async def handler(ws):
    if ws.request.path == "/control":
        async for message in ws:
            _, count, size = message.split()
            for i in range(int(count)):
                frame = f"bench-{time.time() * 1000:.3f} " + "x" * int(size)
                websockets.broadcast(clients, frame)
                await asyncio.sleep(0.5)
            await ws.send("done")
        return
    clients.add(ws)
    try:
        await ws.wait_closed()
    finally:
        clients.discard(ws)
async def main():
    async with websockets.serve(handler, "127.0.0.1", int(sys.argv[1]), compression=None, max_queue=None,
                                ping_interval=None):
        await asyncio.Future()
asyncio.run(main())
"""


def baseline_process(url: str, clients: int, count: int, out: Any) -> None:
    """One baseline generator process: hold ``clients`` sockets and time ``count`` broadcasts."""
    out.put(asyncio.run(_baseline_clients(url, clients, count, out)))


async def _baseline_clients(url: str, clients: int, count: int, out: Any) -> dict[str, Any]:
    sockets, failures = await connect_all([url] * clients)
    recorder = Recorder()

    async def reader(ws: Any) -> None:
        state = SocketState()
        for _ in range(count):
            frame = await ws.recv(decode=False)
            recorder.baseline_frame(state, frame, time.time() * 1000)

    readers = [asyncio.create_task(reader(ws)) for ws in sockets]
    out.put(("ready", len(sockets)))
    await asyncio.wait(readers, timeout=60 + count)
    for ws in sockets:
        await ws.close()
    return {**recorder.summary(), "errors": failures, "clients": len(sockets)}


def run_baseline(attendees: int, processes: int, count: int, size: int, timeout: float) -> dict[str, Any]:
    """``count`` frames of ``size`` bytes broadcast to ``attendees`` clients held by ``processes`` processes."""
    import websockets.sync.client

    port = free_port()
    server = subprocess.Popen([sys.executable, "-c", SERVER, str(port)])
    context = mp.get_context("spawn")
    out = context.Queue()
    url = f"ws://127.0.0.1:{port}/"
    try:
        time.sleep(0.8)
        workers = [context.Process(target=baseline_process, args=(url, share, count, out))
                   for share in shares(attendees, processes)]
        for worker in workers:
            worker.start()
        results: list[dict[str, Any]] = []
        wait_for(out, len(workers), "ready", results, timeout)
        time.sleep(1)
        with websockets.sync.client.connect(url + "control") as control:
            control.send(f"go {count} {size}")
            control.recv(timeout=60 + count)
        while len(results) < len(workers):
            results.append(out.get(timeout=timeout))
        for worker in workers:
            worker.join(timeout=30)
    finally:
        server.terminate()
        server.wait(timeout=10)
    latencies = [v for r in results for v in r["broadcast_ms"]]
    return {"deliveries_per_s": delivery_rate(merge_spans(results)), "broadcast_ms": percentiles(latencies),
            "errors": sum(r["errors"] for r in results), "clients": sum(r.get("clients", 0) for r in results)}
