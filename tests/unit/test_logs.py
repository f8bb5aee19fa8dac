"""The log plumbing of ehalsodag.web.logs: no query string reaches a log in either format, JSON lines parse."""

import json
import logging

from ehalsodag.web.logs import JsonFormatter, QueryStringFilter, uvicorn_log_config


def record(msg, *args, name="uvicorn.error"):
    return logging.LogRecord(name, logging.INFO, __file__, 1, msg, args, None)


def test_uvicorns_lines_lose_their_query_strings_in_text_mode():
    keep = QueryStringFilter()
    access = record('%s - "%s %s HTTP/%s" %d', "10.0.0.1:5", "GET", "/e/day?token=secret", "1.1", 200,
                    name="uvicorn.access")
    handshake = record('%s - "WebSocket %s" [accepted]', "10.0.0.1:5", "/e/day/ws?view=control&token=secret")
    assert keep.filter(access) and keep.filter(handshake)
    assert "secret" not in access.getMessage() and "/e/day" in access.getMessage()
    assert "secret" not in handshake.getMessage() and "/e/day/ws" in handshake.getMessage()


def test_json_mode_drops_uvicorns_socket_lines_and_writes_json():
    drop = QueryStringFilter(drop_socket_lines=True)
    assert not drop.filter(record('%s - "WebSocket %s" [accepted]', "10.0.0.1:5", "/e/day/ws?token=secret"))
    assert not drop.filter(record("connection open"))
    assert drop.filter(record("Application startup complete."))
    line = json.loads(JsonFormatter().format(logging.makeLogRecord(
        {"name": "ehalsodag.access", "msg": "request", "levelname": "INFO", "route": "/e/{slug}", "status": 200})))
    assert line["route"] == "/e/{slug}" and line["status"] == 200 and line["level"] == "info"
    config = uvicorn_log_config("json")
    assert all(formatter["()"] is JsonFormatter for formatter in config["formatters"].values())
    assert uvicorn_log_config("text")["formatters"]["default"]["()"] == "uvicorn.logging.DefaultFormatter"
