"""One sync session's driver: bytes over a stream, the ledger's work on the storage
thread (specs/0005-sync.md §6; docs/architecture.md §4), within the limits a hostile
peer meets (specs/0012 §5).

A `SyncPeer` (ledger.syncpeer) holds the session. A reader task reads the stream
one chunk ahead; each chunk is fed to the peer in one job on the node's storage
thread, where every range frame it completes is ingested whole (`Ledger.ingest_range`)
or refused and recorded, and the entries committed reach the views in the same job.
Answers to the peer's gets are built one frame at a time (`SyncPeer.produce`, a job
per frame) and written before the next is built, so a session never holds more than
one answer frame and one read chunk, whatever the peer asks (finding 3).

Limits (`SessionLimits`): the whole session ends after `deadline_s`; after a grace
period it must move at least `min_bytes_per_window` bytes (either way) in every
`window_s`; a frame the peer has begun must be complete within `frame_deadline_s`;
and the bytes every session holds in partial frames together stay under a
`BufferBudget` shared by the node's sessions (finding 2). A session over a limit
ends with a RemoteFaultError the network charges to the peer.

Frames are not verified on another thread while the previous one commits. That
was built and measured (bench.sync_receive; README "Benchmarks"): on two cores the
Python halves of both stages fight for the GIL, so the replayed receive path gained
~2 % wall-clock for ~7 % more CPU, and a catch-up from a peer on the same machine
went from 15,500 to 12,700 entries/s with 25 MiB more resident memory.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

import trio

from ledger.peering import IO_TIMEOUT_MS
from ledger.syncpeer import SyncPeer
from node.ops import context as operations
from node.ops.context import LedgerContext, release_memory
from protocol.errors import CommonsError, RemoteFaultError

T = TypeVar("T")

READ_BYTES = 256 * 1024
IO_TIMEOUT_S = IO_TIMEOUT_MS / 1000  # the peering policy's (specs/0005 §6.1)
RELEASE_EVERY_ENTRIES = 10_000  # a sync gives free heap back this often (node.store.memory)


@dataclass(frozen=True)
class SessionLimits:
    """What one session may take (specs/0012 §5). The defaults let a 1 MiB frame
    through a 70 kbit/s link and a 5 MiB one through 350 kbit/s."""

    deadline_s: float = 600.0
    window_s: float = 60.0
    min_bytes_per_window: int = 16 * 1024
    frame_deadline_s: float = 120.0


@dataclass
class BufferBudget:
    """Bytes all sessions together may hold in frames not yet complete."""

    limit_bytes: int = 32 * 1024 * 1024
    held: dict[int, int] = field(default_factory=dict)

    def update(self, session: int, held_bytes: int) -> None:
        """Record what `session` holds; raise if the total would pass the limit."""
        others = sum(v for k, v in self.held.items() if k != session)
        if held_bytes and others + held_bytes > self.limit_bytes:
            self.held.pop(session, None)
            raise RemoteFaultError(
                "remote.over-budget",
                f"partial frames would hold {others + held_bytes} bytes, the node's limit is"
                f" {self.limit_bytes}",
            )
        if held_bytes:
            self.held[session] = held_bytes
        else:
            self.held.pop(session, None)

    @property
    def total_bytes(self) -> int:
        return sum(self.held.values())


class OnLedger(Protocol):
    """Runs a function of the ledger context on the storage thread (LedgerRunner.on_ledger)."""

    def __call__(self, fn: Callable[[LedgerContext], T], /) -> Awaitable[T]: ...


class SessionStream(Protocol):
    async def read_some(self, max_bytes: int, timeout_s: float) -> bytes: ...

    async def write(self, data: bytes, timeout_s: float) -> None: ...


@dataclass
class _Pace:
    """Progress of one session against its limits, on trio's clock."""

    limits: SessionLimits
    started: float
    window_start: float
    window_bytes: int = 0
    frame_since: float | None = None

    def moved(self, nbytes: int, buffered: int) -> None:
        now = trio.current_time()
        self.window_bytes += nbytes
        if now - self.window_start >= self.limits.window_s:
            grace_over = now - self.started >= self.limits.window_s
            if grace_over and self.window_bytes < self.limits.min_bytes_per_window:
                raise RemoteFaultError(
                    "remote.too-slow",
                    f"{self.window_bytes} bytes in {now - self.window_start:.0f} s",
                )
            self.window_start, self.window_bytes = now, 0
        if not buffered:
            self.frame_since = None
        elif self.frame_since is None:
            self.frame_since = now
        elif now - self.frame_since > self.limits.frame_deadline_s:
            raise RemoteFaultError(
                "remote.too-slow", f"a frame unfinished after {self.limits.frame_deadline_s} s"
            )


async def drive(
    peer: SyncPeer,
    stream: SessionStream,
    on_ledger: OnLedger,
    on_progress: Callable[[SyncPeer], None] = lambda _peer: None,
    *,
    limits: SessionLimits | None = None,
    budget: BufferBudget | None = None,
) -> None:
    """Run `peer`'s session (started: its hello queued) over `stream` to its end.
    A CommonsError of the stream (a timeout, a reset), of a limit or of storage is
    raised as itself; every frame already committed stays, nothing of another is kept."""
    limits = limits or SessionLimits()
    budget = budget or BufferBudget()
    peer.lazy_answers = True
    now = trio.current_time()
    pace = _Pace(limits, now, now)
    key = id(peer)
    try:
        with trio.fail_after(limits.deadline_s):
            await _Session(peer, stream, on_ledger, on_progress, pace, budget, key).run()
    except trio.TooSlowError as e:
        raise RemoteFaultError(
            "remote.too-slow", f"the session passed its {limits.deadline_s} s deadline"
        ) from e
    finally:
        budget.update(key, 0)


@dataclass
class _Session:
    """One session's parts, as `drive` got them."""

    peer: SyncPeer
    stream: SessionStream
    on_ledger: OnLedger
    on_progress: Callable[[SyncPeer], None]
    pace: _Pace
    budget: BufferBudget
    key: int

    async def run(self) -> None:
        await self.send(self.peer.take_outbox())
        send, chunks = trio.open_memory_channel[bytes | CommonsError](1)  # one chunk ahead
        with _single_error():
            async with trio.open_nursery() as nursery:
                nursery.start_soon(_read_all, self.stream, send)
                await self.exchange(chunks)
                nursery.cancel_scope.cancel()

    async def exchange(self, chunks: trio.MemoryReceiveChannel[bytes | CommonsError]) -> None:
        """Feed what the reader hands over; between reads, write the answers' frames."""
        peer = self.peer
        while not peer.conn.is_finished:
            if peer.producing:
                await self.send(await self.on_ledger(lambda _ctx: peer.produce()))
                try:
                    item = chunks.receive_nowait()
                except trio.WouldBlock:
                    continue
            else:
                item = await chunks.receive()
            if isinstance(item, CommonsError):
                raise item
            out = await self.on_ledger(functools.partial(_feed, peer, item))
            self.pace.moved(len(item), peer.conn.buffered_bytes)
            self.budget.update(self.key, peer.conn.buffered_bytes)
            self.on_progress(peer)
            await self.send(out)
            if not item:
                break

    async def send(self, data: bytes) -> None:
        if data:
            await self.stream.write(data, IO_TIMEOUT_S)
            self.pace.moved(len(data), self.peer.conn.buffered_bytes)


@contextlib.contextmanager
def _single_error() -> Iterator[None]:
    """A nursery's group of one CommonsError is raised as that error, so callers
    catch what the session failed with (trio wraps whatever a nursery raises)."""
    try:
        yield
    except BaseExceptionGroup as group:
        leaves = _leaves(group)
        if len(leaves) == 1 and isinstance(leaves[0], CommonsError):
            raise leaves[0] from None
        raise


def _leaves(group: BaseExceptionGroup[BaseException]) -> list[BaseException]:
    out: list[BaseException] = []
    for item in group.exceptions:
        out += _leaves(item) if isinstance(item, BaseExceptionGroup) else [item]
    return out


async def _read_all(
    stream: SessionStream, send: trio.MemorySendChannel[bytes | CommonsError]
) -> None:
    """Read until the end of the stream; a stream error is handed over, not raised,
    so the session raises it as itself (not inside a nursery's group)."""
    async with send:
        while True:
            try:
                data = await stream.read_some(READ_BYTES, IO_TIMEOUT_S)
            except CommonsError as e:
                await send.send(e)
                return
            await send.send(data)
            if not data:
                return


def _feed(peer: SyncPeer, data: bytes, ctx: LedgerContext) -> bytes:
    before = peer.entries_ingested
    out = peer.feed(data, operations.now_ms())
    if peer.committed:
        operations.index_committed(ctx, peer.committed)
        peer.committed.clear()
    if before // RELEASE_EVERY_ENTRIES != peer.entries_ingested // RELEASE_EVERY_ENTRIES:
        release_memory(ctx)
    return out
