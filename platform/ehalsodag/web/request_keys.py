"""Request keys (``Idempotency-Key``): a write retried with the same key is done once.

A client that does not know whether its request went through (the answer was lost: a timeout, a dropped
connection, a proxy's 502) sends it again with the same ``Idempotency-Key`` header. The first successful
answer to a key is kept for ten minutes, per caller (their ``Authorization`` header or cookies) and path; a
retry gets that answer again (with ``Idempotent-Replayed: true``) and nothing is done twice: a retried
one-minute shift moves the day one minute. A retry while the first is still being handled answers 409 with
``Retry-After``; a request that failed (4xx, 5xx) keeps nothing, so it may be retried.

Kept in Redis when configured (every worker sees the key), else, and while Redis is away, in this process.
"""

from __future__ import annotations

import hashlib
import logging
import time
from typing import Any

import msgspec
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from redis.exceptions import RedisError

from ehalsodag import metrics
from ehalsodag.i18n import _

log = logging.getLogger(__name__)

HEADER = b"idempotency-key"
#: How long an answer is kept for retries (seconds).
KEEP_SECONDS = 600
_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
#: A claimed key whose request is still being handled.
_PENDING = b""


class Answer(msgspec.Struct):
    """A kept answer."""

    status: int
    content_type: str
    body: str  # latin-1, so that any bytes round-trip


class RequestKeys:
    """Where answers to request keys are kept."""

    def __init__(self, redis: Any = None, prefix: str = "ehalsodag", keep_seconds: int = KEEP_SECONDS) -> None:
        self.redis = redis
        self.prefix = prefix
        self.keep_seconds = keep_seconds
        self._memory: dict[str, tuple[float, bytes]] = {}

    def _local_claim(self, key: str) -> bytes | None:
        now = time.monotonic()
        if len(self._memory) > 10_000:
            for stale in [k for k, (until, _v) in self._memory.items() if until < now]:
                del self._memory[stale]
        kept = self._memory.get(key)
        if kept is not None and kept[0] > now:
            return kept[1]
        self._memory[key] = (now + self.keep_seconds, _PENDING)
        return None

    async def claim(self, key: str) -> bytes | None:
        """None: the key is new (now claimed); ``b""``: its request is being handled; else the kept answer."""
        if self.redis is not None:
            name = f"{self.prefix}:request:{key}"
            try:
                if await self.redis.set(name, _PENDING, nx=True, ex=self.keep_seconds):
                    return None
                kept = await self.redis.get(name)
                return kept if kept is not None else None
            except (RedisError, OSError):
                metrics.redis_error("request_key")
        return self._local_claim(key)

    async def keep(self, key: str, answer: bytes) -> None:
        """Keep the answer of a claimed key."""
        self._memory[key] = (time.monotonic() + self.keep_seconds, answer)
        if self.redis is not None:
            try:
                await self.redis.set(f"{self.prefix}:request:{key}", answer, ex=self.keep_seconds)
            except (RedisError, OSError):
                metrics.redis_error("request_key")

    async def release(self, key: str) -> None:
        """Forget a claimed key whose request failed (it may be retried)."""
        self._memory.pop(key, None)
        if self.redis is not None:
            try:
                await self.redis.delete(f"{self.prefix}:request:{key}")
            except (RedisError, OSError):
                metrics.redis_error("request_key")


def _key_of(scope: Scope) -> str | None:
    if scope["type"] != "http" or scope.get("method") not in _METHODS:
        return None
    headers = dict(scope.get("headers", []))
    given = headers.get(HEADER)
    if not given or len(given) > 200:
        return None
    caller = headers.get(b"authorization") or headers.get(b"cookie") or b""
    digest = hashlib.sha256()
    for part in (caller, scope["method"].encode(), scope.get("raw_path") or scope["path"].encode(), given):
        digest.update(part)
        digest.update(b"\0")
    return digest.hexdigest()


async def _send_json(send: Send, status: int, body: dict[str, Any], extra: list[tuple[bytes, bytes]]) -> None:
    payload = msgspec.json.encode(body)
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode()), *extra]})
    await send({"type": "http.response.body", "body": payload})


def request_key_middleware(app: ASGIApp) -> ASGIApp:
    """Wrap ``app`` so that a write with an ``Idempotency-Key`` header is done once (see the module)."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        key = _key_of(scope)
        keys: RequestKeys | None = getattr(scope["app"].state, "request_keys", None) if key else None
        if key is None or keys is None:
            await app(scope, receive, send)
            return
        kept = await keys.claim(key)
        if kept == _PENDING:
            await _send_json(send, 409, {"status_code": 409, "detail": _(
                "This request (its Idempotency-Key) is still being handled. Try again in a moment.")},
                [(b"retry-after", b"1")])
            return
        if kept is not None:
            answer = msgspec.json.decode(kept, type=Answer)
            body = answer.body.encode("latin-1")
            await send({"type": "http.response.start", "status": answer.status, "headers": [
                (b"content-type", answer.content_type.encode("latin-1")),
                (b"content-length", str(len(body)).encode()), (b"idempotent-replayed", b"true")]})
            await send({"type": "http.response.body", "body": body})
            return
        status = 0
        content_type = b""
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal status, content_type
            if message["type"] == "http.response.start":
                status = message["status"]
                content_type = dict(message.get("headers", [])).get(b"content-type", b"")
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            await send(message)

        try:
            await app(scope, receive, capture)
        except BaseException:
            await keys.release(key)
            raise
        if 200 <= status < 300:
            await keys.keep(key, msgspec.json.encode(Answer(status, content_type.decode("latin-1"),
                                                            b"".join(chunks).decode("latin-1"))))
        else:
            await keys.release(key)

    return middleware
