"""The API's front door: the token and the body size, checked before a body is read.

FastAPI reads and parses a request's body before it runs the route's dependencies, so
the bearer-token dependency alone would let a stranger make the node buffer a body of
any size. `RequestGuard` is plain ASGI in front of the app: for every path but the
open ones (the dashboard's page and static files: no data, and they must load before
the page can ask for the token; /healthz: ok or not, nothing more) — the API, the
OpenAPI document, /metrics, any unknown path — it refuses a missing or wrong token
(401 misuse.unauthorized) before receiving any body byte, refuses a declared
Content-Length above the limit (413 decode.too-large), and reads the body itself,
counting, so that a body without a declared length is cut off at the limit too
(specs/0012 §2). The token dependency in node/api/app.py stays: it is
what the OpenAPI document shows, and a second lock.
"""

from __future__ import annotations

import hmac
import json
import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, Final

import trio

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: Largest request body the API reads, in bytes: a maximal batch of notes fits.
MAX_REQUEST_BODY_BYTES: Final = 32 * 1024 * 1024
#: Bodies over this size are read a few at a time (LARGE_BODIES_AT_ONCE): eight 31 MB
#: bodies at once once cost the node ~1 GB (specs/0012 §5, finding 12).
LARGE_BODY_BYTES: Final = 1024 * 1024
LARGE_BODIES_AT_ONCE: Final = 2
#: Host names the API answers to: a page on another name that resolves to 127.0.0.1
#: (DNS rebinding) is refused before anything is served (421 misuse.bad-host).
LOOPBACK_HOSTS: Final = frozenset({"127.0.0.1", "localhost", "[::1]"})


class RequestGuard:
    """ASGI middleware: token, then declared size, then the body read with a count."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        token: str,
        open_paths: frozenset[str] = frozenset(),
        open_prefixes: tuple[str, ...] = (),
        max_body_bytes: int = MAX_REQUEST_BODY_BYTES,
        streamed: re.Pattern[str] | None = None,
        hosts: frozenset[str] = LOOPBACK_HOSTS,
    ) -> None:
        self.app = app
        self.hosts = hosts
        self._large = trio.Semaphore(LARGE_BODIES_AT_ONCE)
        self.expected = f"Bearer {token}".encode()
        #: Paths served to anyone: exactly these, and everything under these prefixes.
        self.open_paths = open_paths
        self.open_prefixes = open_prefixes
        self.max_body_bytes = max_body_bytes
        #: Paths whose routes stream the body themselves, each under a limit of its own
        #: (file uploads): checked for the token here, never buffered.
        self.streamed = streamed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = str(scope.get("path", ""))
        if scope["type"] == "http" and not self._known_host(scope):
            await _error(send, 421, "misuse.bad-host", "this node answers to its own address only")
            return
        if (
            scope["type"] != "http"
            or path in self.open_paths
            or path.startswith(self.open_prefixes)
        ):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        if not hmac.compare_digest(headers.get(b"authorization", b""), self.expected):
            await _error(send, 401, "misuse.unauthorized", "missing or wrong bearer token")
            return
        if self.streamed is not None and self.streamed.fullmatch(path):
            await self.app(scope, receive, send)
            return
        declared = headers.get(b"content-length", b"0")
        if not declared.isdigit() or int(declared) > self.max_body_bytes:
            await _too_large(send, self.max_body_bytes)
            return
        if int(declared) > LARGE_BODY_BYTES:
            async with self._large:
                body = await self._read_body(receive)
                if body is not None:
                    await self.app(scope, _replay(body, receive), send)
                    return
            await _too_large(send, self.max_body_bytes)
            return
        body = await self._read_body(receive)
        if body is None:
            await _too_large(send, self.max_body_bytes)
            return
        await self.app(scope, _replay(body, receive), send)

    def _known_host(self, scope: Scope) -> bool:
        """Whether the Host header names this node (any port); none at all is HTTP/1.0."""
        host = dict(scope.get("headers") or []).get(b"host")
        if host is None:
            return True
        name = host.decode("latin-1").lower()
        name = name.rsplit(":", 1)[0] if not name.endswith("]") and ":" in name else name
        return name in self.hosts

    async def _read_body(self, receive: Receive) -> bytes | None:
        """The whole body, or None once it passes the limit (the rest is not read)."""
        parts: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return b"".join(parts)  # the client went away: the app sees an empty body
            chunk = bytes(message.get("body", b""))
            size += len(chunk)
            if size > self.max_body_bytes:
                return None
            parts.append(chunk)
            if not message.get("more_body", False):
                return b"".join(parts)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()  # after the body: disconnects, as the server says
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


async def _too_large(send: Send, limit: int) -> None:
    await _error(send, 413, "decode.too-large", f"request body above {limit} bytes")


async def _error(send: Send, status: int, code: str, message: str) -> None:
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
