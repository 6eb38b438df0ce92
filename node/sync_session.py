"""One sync session's driver: bytes over a stream, the ledger's work on the storage
thread, and received range frames verified ahead of their commit (ARCHITECTURE §6).

A `SyncPeer` (ledger.syncpeer) holds the session; every call into it runs on the
node's storage thread, one at a time. Its range frames wait for this driver
(`defer_ranges`) and go through two stages:

- the stateless half of ingest, `prepare_ingest` (decode, canonical check, Ed25519
  verify: most of the CPU), on a worker thread, as soon as the frame is read;
- the stateful half, `SyncPeer.ingest_prepared` (log rules, Merkle root, the commit
  and its fsync), on the storage thread, frames in arrival order.

So frame N+1 is verified while frame N commits: libsodium (through cffi) and
sqlite3 release the GIL while they work. Verification runs on one thread at a time.
Three tasks joined by channels of FRAMES_AHEAD: reading (bytes in and out, the
SyncPeer fed on the storage thread), verifying, committing; reading runs apart so
the next frame's bytes are in hand when verification is free (a feed waits while a
commit holds the storage thread). Outcomes are those of ingesting each frame as it
arrives: a frame is committed whole or skipped and recorded. Bounded: besides the
frame being verified and the one committing, at most FRAMES_AHEAD frames wait at
each hand-over, plus those of one read.
The session is done when both sides have said so and every frame read is ingested.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol, TypeVar

import trio

from ledger.log import prepare_ingest
from ledger.syncpeer import SyncPeer
from node import operations
from node.operations import LedgerContext, release_memory
from protocol.entry import Entry
from protocol.errors import CommonsError
from protocol.sync import Range

T = TypeVar("T")
Prepared = tuple[Range, Sequence[Entry | CommonsError]]

READ_BYTES = 256 * 1024
IO_TIMEOUT_S = 30.0
RELEASE_EVERY_ENTRIES = 10_000  # a sync gives free heap back this often (node.memory)
FRAMES_AHEAD = 1


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
    """Run `peer`'s session over `stream` to its end (see the module doc). A
    CommonsError of any stage (a stream timeout, a storage failure) stops them all
    and is raised as itself; nothing of a frame not committed is kept."""
    peer.defer_ranges = True
    read, to_verify = trio.open_memory_channel[Range](FRAMES_AHEAD)
    verified, to_commit = trio.open_memory_channel[Prepared](FRAMES_AHEAD)
    failed: list[CommonsError] = []
    async with trio.open_nursery() as nursery:

        async def stage(work: Awaitable[None]) -> None:
            try:
                await work
            except CommonsError as e:
                failed.append(e)
                nursery.cancel_scope.cancel()

        nursery.start_soon(stage, _commit_frames(peer, to_commit, on_ledger, on_progress))
        nursery.start_soon(stage, _verify_frames(to_verify, verified))
        await stage(_read_frames(peer, stream, on_ledger, read))
    if failed:
        raise failed[0]


async def _read_frames(
    peer: SyncPeer,
    stream: SessionStream,
    on_ledger: OnLedger,
    read: trio.MemorySendChannel[Range],
) -> None:
    """Bytes in and out; range frames on to be verified. Runs apart from verifying
    so the next frame's bytes are in hand when the verifier is free."""
    async with read:
        await stream.write(peer.take_outbox(), IO_TIMEOUT_S)
        while not peer.conn.is_finished:
            data = await stream.read_some(READ_BYTES, IO_TIMEOUT_S)
            out, frames = await on_ledger(functools.partial(_feed, peer, data))
            if out:
                await stream.write(out, IO_TIMEOUT_S)
            for frame in frames:
                await read.send(frame)
            if not data:
                break


async def _verify_frames(
    to_verify: trio.MemoryReceiveChannel[Range], verified: trio.MemorySendChannel[Prepared]
) -> None:
    async with to_verify, verified:
        async for frame in to_verify:
            decoded = await trio.to_thread.run_sync(prepare_ingest, frame.entries)
            await verified.send((frame, decoded))


async def _commit_frames(
    peer: SyncPeer,
    receive: trio.MemoryReceiveChannel[Prepared],
    on_ledger: OnLedger,
    on_progress: Callable[[SyncPeer], None],
) -> None:
    async with receive:
        async for frame, decoded in receive:
            await on_ledger(functools.partial(_ingest, peer, frame, decoded))
            on_progress(peer)


def _feed(peer: SyncPeer, data: bytes, _ctx: LedgerContext) -> tuple[bytes, list[Range]]:
    out = peer.feed(data, operations.now_ms())
    return out, peer.take_waiting()


def _ingest(
    peer: SyncPeer, frame: Range, decoded: Sequence[Entry | CommonsError], ctx: LedgerContext
) -> None:
    before = peer.entries_ingested
    peer.ingest_prepared(frame, decoded)
    if peer.committed:
        operations.index_committed(ctx, peer.committed)
        peer.committed.clear()
    if before // RELEASE_EVERY_ENTRIES != peer.entries_ingested // RELEASE_EVERY_ENTRIES:
        release_memory(ctx)
