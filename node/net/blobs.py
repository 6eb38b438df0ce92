"""Trio drivers of the blob exchange with one peer (specs/0009-blobs.md §3-§6, §8).

`fetch_blob` and `serve_blobs` run the sans-IO machines of protocol/blob.py over one
stream given as two async callables, `read(max_bytes) -> bytes` (b"" at the end of
the stream) and `write(data)`: a trio stream's `receive_some`/`send_all`, or a
libp2p stream's `read`/`write`, fit as they are.

Guarantees: a fetched blob becomes final only after its whole-file SHA-256 equals
its id (BlobStore does the check); the partial file holds the bytes of one source
only, so a fetch from another peer first drops what an earlier one sent (0009 §6),
and a hash that fails names the one peer that sent every byte; an interrupted fetch
(cancelled, timed out, a faulty peer) leaves its in-order prefix in the partial for
the next fetch from the same peer; an empty partial is never left behind. Every read
and write has a deadline (`remote.timeout`), and a fetch must average at least
`FetchLimits.min_bytes_per_s` after a grace period (`remote.too-slow`), so no server
holds a fetch longer than `grace_s` + the blob's size / that rate (0009 §8). A
server paces what it sends with the caller's `spend` (a per-peer budget). Disk work
runs in worker threads, so the event loop never waits on the disk.
Left to others: opening and closing streams, choosing peers, charging them
(node/net/blob_exchange.py).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Final, Literal, Protocol, TypeVar

import trio

from node.store.blobs import BlobStore, PartialBlob
from protocol.blob import (
    MAX_FRAME_BYTES,
    BlobFetch,
    BlobServe,
    ChunkReceived,
    Finished,
    Want,
)
from protocol.errors import RemoteFaultError
from protocol.ids import id_to_text

T = TypeVar("T")
Read = Callable[[int], Awaitable[bytes | bytearray]]
Write = Callable[[bytes], Awaitable[None]]
Spend = Callable[[int], Awaitable[None]]


class OffLoop(Protocol):
    """Runs a blocking call (disk work) away from the event loop: trio.to_thread.run_sync,
    or, under a test's mock clock, inline (the mock clock would run on while a thread
    works and fire timeouts that real time would not)."""

    def __call__(self, fn: Callable[[], T], /) -> Awaitable[T]: ...


#: Longest wait for one read or one write before the peer is deemed gone.
IO_TIMEOUT_S: Final = 30.0
#: Most bytes asked of the transport per read: one full frame.
READ_BYTES: Final = MAX_FRAME_BYTES


@dataclass(frozen=True)
class FetchLimits:
    """How slow one fetch may be (0009 §8). After `grace_s` a fetch must have read at
    least `min_bytes_per_s` per second since it began, so it ends by `grace_s` + (the
    bytes it reads) / `min_bytes_per_s` whatever the server does: a 1 MiB blob within
    46 s, a 1 GiB one within 4 h 34 min; each read or write waits `io_timeout_s` at
    most. 64 KiB/s is a 512 kbit/s link; a slower holder is left for another, or
    resumed from where it stopped (the partial keeps its bytes for it)."""

    io_timeout_s: float = IO_TIMEOUT_S
    grace_s: float = 30.0
    min_bytes_per_s: float = 64 * 1024


@dataclass(frozen=True)
class FetchResult:
    """What one fetch did. `status`: stored (fetched and verified), held (it already
    was; nothing was sent), missing (the peer does not hold it; any partial is kept).
    `dropped_bytes`: a partial another source had left, dropped before fetching."""

    blob_id: bytes
    status: Literal["stored", "held", "missing"]
    size: int | None
    resumed_from: int
    received_bytes: int
    dropped_bytes: int = 0


@dataclass
class ServeStats:
    """What one served conversation sent."""

    chunks: int = 0
    not_held: int = 0
    data_bytes: int = 0


async def fetch_blob(
    stream_read: Read,
    stream_write: Write,
    store: BlobStore,
    blob_id: bytes,
    max_blob_bytes: int,
    *,
    source: str,
    limits: FetchLimits | None = None,
    off_loop: OffLoop = trio.to_thread.run_sync,
) -> FetchResult:
    """Fetch `blob_id` from the peer `source` at the other end of the stream into `store`.

    Raises RemoteFaultError (the peer broke the protocol, refused, closed, timed out or
    was too slow), VerificationError("verify.blob-hash-mismatch") (the bytes, all sent
    by `source`, were not the blob; the partial is deleted),
    LocalMisuseError("misuse.blob-busy") (another fetch of the same blob is under way)
    or ("misuse.blob-io").
    """
    limits = limits or FetchLimits()
    began = trio.current_time()
    if await off_loop(lambda: store.has(blob_id)):
        size = await off_loop(lambda: store.size(blob_id))
        return FetchResult(blob_id, "held", size, size, 0)
    partial = await off_loop(lambda: store.open_partial(blob_id, source=source))
    dropped = partial.dropped_bytes
    try:
        if partial.offset > max_blob_bytes:  # left by a peer that lied about the size
            partial.discard()
            partial = await off_loop(lambda: store.open_partial(blob_id, source=source))
        fetch = BlobFetch(blob_id, max_blob_bytes, partial.offset)
        pace = _Pace(limits, began, off_loop)
        result = await _run_fetch(fetch, partial, stream_read, stream_write, pace)
        return dataclasses.replace(result, dropped_bytes=dropped)
    finally:
        if partial.is_open and partial.offset == 0:
            partial.discard()
        partial.close()


@dataclass
class _Pace:
    """One fetch against its FetchLimits, on trio's clock."""

    limits: FetchLimits
    began: float
    off_loop: OffLoop
    read_bytes: int = 0

    def read_deadline(self) -> tuple[float, bool]:
        """When the next read must have returned, and whether that is the rate's
        deadline (True) or the idle timeout (False)."""
        idle = trio.current_time() + self.limits.io_timeout_s
        rate = self.began + self.limits.grace_s + self.read_bytes / self.limits.min_bytes_per_s
        return (rate, True) if rate < idle else (idle, False)


async def _run_fetch(
    fetch: BlobFetch, partial: PartialBlob, read: Read, write: Write, pace: _Pace
) -> FetchResult:
    resumed_from = partial.offset
    while True:
        while (want := fetch.send_next()) is not None:
            await _write(write, want, pace.limits.io_timeout_s)
        try:
            event = fetch.next_event()
        except RemoteFaultError as e:
            if e.details.get("peer_code") == "remote.bad-range" and resumed_from > 0:
                partial.discard()  # our partial is longer than the blob this peer holds
            raise
        if event is None:
            data = await _paced_read(read, pace)
            if not data:
                raise RemoteFaultError("remote.closed", "the server closed the stream early")
            fetch.receive_data(data)
        elif isinstance(event, ChunkReceived):
            await pace.off_loop(functools.partial(partial.append, event.offset, event.data))
        elif isinstance(event, Finished):
            size = await pace.off_loop(partial.finish)
            return FetchResult(fetch.blob_id, "stored", size, resumed_from, size - resumed_from)
        else:  # Missing
            received = partial.offset - resumed_from
            return FetchResult(fetch.blob_id, "missing", None, resumed_from, received)


async def _paced_read(read: Read, pace: _Pace) -> bytes:
    deadline, is_rate = pace.read_deadline()
    try:
        with trio.fail_at(deadline):
            data = await read(READ_BYTES)
    except trio.BrokenResourceError as e:
        raise RemoteFaultError("remote.closed", "the stream broke") from e
    except trio.TooSlowError as e:
        elapsed = trio.current_time() - pace.began
        if is_rate:
            raise RemoteFaultError(
                "remote.too-slow",
                f"{pace.read_bytes} bytes in {elapsed:.0f} s, under "
                f"{pace.limits.min_bytes_per_s:.0f} B/s after {pace.limits.grace_s} s",
            ) from e
        raise RemoteFaultError(
            "remote.timeout", f"nothing to read for {pace.limits.io_timeout_s} s"
        ) from e
    pace.read_bytes += len(data)
    return data if type(data) is bytes else bytes(data)


async def serve_blobs(
    stream_read: Read,
    stream_write: Write,
    store: BlobStore,
    *,
    timeout_s: float = IO_TIMEOUT_S,
    spend: Spend | None = None,
    off_loop: OffLoop = trio.to_thread.run_sync,
) -> ServeStats:
    """Answer a client's wants from `store` until it closes the stream.

    Before each chunk is sent, `await spend(len(data))` (the caller's budget for this
    peer) may hold it back. A client that breaks the protocol gets an `error`
    message, then the RemoteFaultError is raised (for the caller to close the stream
    and charge the peer).
    """
    serve = BlobServe()
    stats = ServeStats()
    while True:
        while (want := serve.next_request()) is not None:
            frame = await _answer(serve, store, want, stats, spend, off_loop)
            await _write(stream_write, frame, timeout_s)
            if serve.closed:
                return stats
        data = await _read(stream_read, timeout_s)
        if not data:
            return stats
        try:
            serve.receive_data(data)
        except RemoteFaultError as e:
            await _write(stream_write, serve.respond_error(e.code, e.message), timeout_s)
            raise


async def _answer(
    serve: BlobServe,
    store: BlobStore,
    want: Want,
    stats: ServeStats,
    spend: Spend | None,
    off_loop: OffLoop,
) -> bytes:
    size = await off_loop(functools.partial(_size_of, store, want.blob))
    if size is None:
        stats.not_held += 1
        return serve.respond_none(want.blob)
    try:
        start, end = serve.chunk_range(want.blob, size)
    except RemoteFaultError as e:  # not a fault to charge: our blob may be shorter
        return serve.respond_error(e.code, f"{id_to_text(want.blob)}: {e.message}")
    data = await off_loop(functools.partial(store.read_chunk, want.blob, start, end - start))
    if spend is not None and data:
        await spend(len(data))
    stats.chunks += 1
    stats.data_bytes += len(data)
    return serve.respond_chunk(want.blob, want.offset, size, data)


def _size_of(store: BlobStore, blob_id: bytes) -> int | None:
    """The size of a held blob we serve, or None: not held, blocked, or withheld as a
    withdrawn design's (answered `none` as if not held, specs/0009 §9)."""
    if not store.policy.serves(blob_id):
        return None
    return store.size(blob_id) if store.has(blob_id) else None


async def _read(read: Read, timeout_s: float) -> bytes:
    try:
        with trio.fail_after(timeout_s):
            data = await read(READ_BYTES)
    except trio.BrokenResourceError as e:
        raise RemoteFaultError("remote.closed", "the stream broke") from e
    except trio.TooSlowError as e:
        raise RemoteFaultError("remote.timeout", f"nothing to read for {timeout_s} s") from e
    return data if type(data) is bytes else bytes(data)


async def _write(write: Write, data: bytes, timeout_s: float) -> None:
    try:
        with trio.fail_after(timeout_s):
            await write(data)
    except trio.BrokenResourceError as e:
        raise RemoteFaultError("remote.closed", "the stream broke") from e
    except trio.TooSlowError as e:
        raise RemoteFaultError("remote.timeout", f"could not write for {timeout_s} s") from e
