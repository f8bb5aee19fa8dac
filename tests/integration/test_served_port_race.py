"""The test servers' own start: a port picked for a server can be taken by another test's server before it binds
(two test processes run side by side). ``start_server`` must then start it elsewhere, and never take another
server's answer on that port for its own (the cause of a red CI run: a module's fixture talked to a stranger)."""

from __future__ import annotations

import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

import tests.conftest as support
from tests.conftest import listens_on, start_server, stop_server


class _Stranger(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (the standard library's name)
        self.send_response(200)
        self.send_header("Content-Length", "8")
        self.end_headers()
        self.wfile.write(b"stranger")

    def log_message(self, *args: object) -> None:
        pass


async def test_a_server_whose_port_was_taken_starts_on_another_and_is_its_own(settings, tmp_path, monkeypatch):
    stranger = ThreadingHTTPServer(("127.0.0.1", 0), _Stranger)
    taken = stranger.server_address[1]
    threading.Thread(target=stranger.serve_forever, daemon=True).start()
    picks = iter([taken])
    real_free_port = support.free_port
    monkeypatch.setattr(support, "free_port", lambda: next(picks, None) or real_free_port())
    try:
        assert httpx.get(f"http://127.0.0.1:{taken}/").text == "stranger"
        assert listens_on(os.getpid(), taken)  # this process holds the stranger's socket
        server = start_server(settings, tmp_path / "server.log")
        try:
            assert not server.base_url.endswith(f":{taken}")
            assert listens_on(server.process.pid, int(server.base_url.rsplit(":", 1)[1]))
            assert "stranger" not in httpx.get(server.base_url + "/").text
        finally:
            stop_server(server)
    finally:
        stranger.shutdown()
        stranger.server_close()
