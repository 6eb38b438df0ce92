"""The running node's operations, as async methods (used by the API and the network).

The ledger lives on the storage thread: every operation runs there as one job
(`StorageThread.run`), calling the same functions the CLI runs locally
(node.operations). So the trio loop never blocks on SQLite or on signature
checks of a large batch, and there is exactly one writer.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from node import operations
from node.operations import LedgerContext
from node.storage_thread import StorageThread
from protocol.ids import id_to_text

T = TypeVar("T")


@dataclass
class NodeService:
    storage: StorageThread
    ctx: LedgerContext
    started_ms: int = field(default_factory=lambda: time.time_ns() // 1_000_000)
    peer_id: str | None = None
    listen_addrs: list[str] = field(default_factory=list)
    network_status: Callable[[], dict[str, Any]] | None = None
    api_url: str | None = None

    async def on_ledger(self, fn: Callable[[LedgerContext], T]) -> T:
        """Run `fn(ctx)` on the storage thread, where the ledger lives."""
        return await self.storage.run(lambda _store: fn(self.ctx))

    async def note(self, text: str) -> dict[str, Any]:
        return await self.on_ledger(lambda ctx: operations.note(ctx, text))

    async def entries(self, author: bytes | None, limit: int) -> list[dict[str, Any]]:
        return await self.on_ledger(lambda ctx: operations.list_entries(ctx, author, limit))

    async def verify(self) -> dict[str, Any]:
        return await self.on_ledger(lambda ctx: operations.verify(ctx, None))

    async def prove(self, entry_id: bytes) -> dict[str, Any]:
        return await self.on_ledger(lambda ctx: operations.prove(ctx, entry_id))

    async def status(self) -> dict[str, Any]:
        heads = await self.on_ledger(operations.log_heads)
        out: dict[str, Any] = {
            "identity": id_to_text(self.ctx.identity.id),
            "peer_id": self.peer_id,
            "network": {"name": self.ctx.network_name, "id": id_to_text(self.ctx.network)},
            "listen_addrs": self.listen_addrs,
            "uptime_ms": time.time_ns() // 1_000_000 - self.started_ms,
            "logs": heads,
            "storage": vars(self.storage.statistics()),
        }
        if self.network_status is not None:
            out.update(self.network_status())
        return out
