"""The local API's ASGI application, built once the node is ready rather than before.

Importing FastAPI and every route module and building the routes is about a fifth of
a node's start-up (README "Benchmarks", start-up). Nothing of the node's own work
needs them: peers sync and gossip without the API. So the daemon serves `LazyApp`
from the start: the API socket accepts connections as soon as the node says ready,
`build(...)` then makes the real application (on a worker thread, right after the
ready line), and every request that arrived before waits for it. A build that
fails raises into the daemon's nursery and stops the node, as it did when the
application was built before the ready line.

It answers the ASGI lifespan protocol itself (the application has no lifespan
handlers), so the server starts without waiting for the build.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import trio

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Asgi = Callable[[Scope, Receive, Send], Awaitable[None]]


class LazyApp:
    def __init__(self) -> None:
        self._app: Asgi | None = None
        self._built = trio.Event()

    @property
    def is_built(self) -> bool:
        return self._built.is_set()

    async def build(self, make: Callable[[], Asgi]) -> None:
        """Make the application (`make()`, on a worker thread: the loop goes on, and
        the ready line goes out at once); then the requests waiting go on."""
        if self._app is None:
            self._app = await trio.to_thread.run_sync(make)
            self._built.set()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        await self._built.wait()
        assert self._app is not None
        await self._app(scope, receive, send)


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
