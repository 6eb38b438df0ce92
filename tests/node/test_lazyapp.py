"""The daemon's lazily built API (node.lazyapp): the server's lifespan is answered at
once, a request that comes before the build waits for it, then every request reaches
the application built."""

from __future__ import annotations

from typing import Any

import trio
import trio.testing

from node.lazyapp import LazyApp, Message, Receive, Scope, Send


async def test_lifespan_is_answered_without_the_application() -> None:
    app = LazyApp()
    inbox = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    sent: list[Message] = []

    async def receive() -> Message:
        return inbox.pop(0)

    async def send(message: Message) -> None:
        sent.append(message)

    await app({"type": "lifespan"}, receive, send)
    assert [m["type"] for m in sent] == [
        "lifespan.startup.complete",
        "lifespan.shutdown.complete",
    ]
    assert not app.is_built


async def test_a_request_before_the_build_waits_for_it() -> None:
    app = LazyApp()
    seen: list[str] = []

    async def real(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope["path"])
        await send({"type": "http.response.start", "status": 200})

    answered: list[Any] = []

    async def receive() -> Message:
        return {"type": "http.request"}

    async def send(message: Message) -> None:
        answered.append(message["status"])

    async with trio.open_nursery() as nursery:
        nursery.start_soon(app, {"type": "http", "path": "/early"}, receive, send)
        await trio.testing.wait_all_tasks_blocked()
        assert seen == [] and answered == []  # waiting for the build
        await app.build(lambda: real)
    assert app.is_built
    await app({"type": "http", "path": "/late"}, receive, send)
    assert seen == ["/early", "/late"]
    assert answered == [200, 200]
