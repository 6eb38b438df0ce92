"""One sync session's driver: bytes over a stream, the ledger's work on the storage
thread (specs/0005-sync.md §6; docs/architecture.md §4).

A `SyncPeer` (ledger.syncpeer) holds the session. Each read from the stream is fed
to it in one job on the node's storage thread, where every range frame completed
by those bytes is ingested whole (`Ledger.ingest_range`: decode, signatures, log
rules, Merkle consistency, one commit) or refused and recorded; the entries
committed reach the views (catalogue, governance) in the same job. What it answers
goes back out; the session ends when both sides have said so.

Frames are not verified on another thread while the previous one commits. That
was built and measured (bench.sync_receive; README "Benchmarks"): on two cores the
Python halves of both stages fight for the GIL, so the replayed receive path gained
~2 % wall-clock for ~7 % more CPU, and a catch-up from a peer on the same machine
went from 15,500 to 12,700 entries/s with 25 MiB more resident memory.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar

from ledger.syncpeer import SyncPeer
from node.ops import context as operations
from node.ops.context import LedgerContext, release_memory

T = TypeVar("T")

READ_BYTES = 256 * 1024
IO_TIMEOUT_S = 30.0
RELEASE_EVERY_ENTRIES = 10_000  # a sync gives free heap back this often (node.store.memory)


class OnLedger(Protocol):
    """Runs a function of the ledger context on the storage thread (NodeService.on_ledger)."""

    def __call__(self, fn: Callable[[LedgerContext], T], /) -> Awaitable[T]: ...


class SessionStream(Protocol):
    async def read_some(self, max_bytes: int, timeout_s: float) -> bytes: ...

    async def write(self, data: bytes, timeout_s: float) -> None: ...


async def drive(
    peer: SyncPeer,
    stream: SessionStream,
    on_ledger: OnLedger,
    on_progress: Callable[[SyncPeer], None] = lambda _peer: None,
) -> None:
    """Run `peer`'s session (started: its hello queued) over `stream` to its end.
    A CommonsError of the stream (a timeout, a reset) or of storage is raised as
    itself; every frame already committed stays, nothing of another is kept."""
    await stream.write(peer.take_outbox(), IO_TIMEOUT_S)
    while not peer.conn.is_finished:
        data = await stream.read_some(READ_BYTES, IO_TIMEOUT_S)
        out = await on_ledger(functools.partial(_feed, peer, data))
        on_progress(peer)
        if out:
            await stream.write(out, IO_TIMEOUT_S)
        if not data:
            break


def _feed(peer: SyncPeer, data: bytes, ctx: LedgerContext) -> bytes:
    before = peer.entries_ingested
    out = peer.feed(data, operations.now_ms())
    if peer.committed:
        operations.index_committed(ctx, peer.committed)
        peer.committed.clear()
    if before // RELEASE_EVERY_ENTRIES != peer.entries_ingested // RELEASE_EVERY_ENTRIES:
        release_memory(ctx)
    return out
