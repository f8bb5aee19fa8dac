"""Issue 18: the report's PDF is drawn without fetching anything, from the network or from files (no SSRF, no
local file read through a link in the page), while inline SVG and data: images are still drawn."""

from __future__ import annotations

import io
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

from pypdf import PdfReader

from ehalsodag.results.pdf import html_to_pdf


def test_links_in_the_page_reach_neither_a_server_nor_a_file(tmp_path):
    requests: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            requests.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "text/css")
            self.end_headers()
            self.wfile.write(b"h1 { color: red }")

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRET")
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        pdf = html_to_pdf(f"""<html><head><meta charset="utf-8"><link rel="stylesheet" href="{base}/app.css">
            <link rel="stylesheet" href="/static/css/app.css"></head><body><h1>Rapport Åre</h1>
            <img src="{base}/x.png"><img src="file://{secret}"><a href="file://{secret}">länk</a>
            <svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 20"><text x="1" y="15">Staplar 90 %</text></svg>
            </body></html>""")
    finally:
        server.shutdown()
    assert requests == []
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert "Rapport Åre" in text and "Staplar 90 %" in text and "TOPSECRET" not in text
