"""Trio drivers of the blob exchange (specs/0009-blobs.md §3-§6).

`fetch_blob` and `serve_blobs` run the sans-IO machines of protocol/blob.py over one
stream given as two async callables, `read(max_bytes) -> bytes` (b"" at the end of
the stream) and `write(data)`: a trio stream's `receive_some`/`send_all`, or a
libp2p stream's `read`/`write`, fit as they are.

Guarantees: a fetched blob becomes final only after its whole-file SHA-256 equals
its id (BlobStore does the check); an interrupted fetch (cancelled, timed out, a
faulty peer) leaves its verified-in-order prefix in the store's partial file, and
the next fetch, from any peer, resumes there; an empty partial is never left behind.
Every read and write has a deadline (RemoteFaultError("remote.timeout")). Disk work
runs in worker threads, so the event loop never waits on the disk.
Left to others: opening and closing streams, choosing peers, retrying.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Final, Literal

import trio

from node.store.blobs import BlobStore, PartialBlob
from protocol.blob import (
    MAX_FRAME_BYTES,
    BlobFetch,
    BlobServe,
    ChunkReceived,
    Finished,
    Missing,
    Want,
)
from protocol.errors import RemoteFaultError
from protocol.ids import id_to_text

Read = Callable[[int], Awaitable[bytes | bytearray]]
Write = Callable[[bytes], Awaitable[None]]

#: Longest wait for one read or one write before the peer is deemed gone.
IO_TIMEOUT_S: Final = 30.0
#: Most bytes asked of the transport per read: one full frame.
READ_BYTES: Final = MAX_FRAME_BYTES


@dataclass(frozen=True)
class FetchResult:
    """What one fetch did. `status`: stored (fetched and verified), held (it already
    was; nothing was sent), missing (the peer does not hold it; any partial is kept)."""

    blob_id: bytes
    status: Literal["stored", "held", "missing"]
    size: int | None
    resumed_from: int
    received_bytes: int


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
    timeout_s: float = IO_TIMEOUT_S,
) -> FetchResult:
    """Fetch `blob_id` from the peer at the other end of the stream into `store`.

    Raises RemoteFaultError (the peer broke the protocol, refused, closed or timed
    out), VerificationError("verify.blob-hash-mismatch") (the bytes were not the
    blob; the partial is deleted), LocalMisuseError("misuse.blob-busy") (another
    fetch of the same blob is under way) or ("misuse.blob-io").
    """
    if await trio.to_thread.run_sync(store.has, blob_id):
        size = await trio.to_thread.run_sync(store.size, blob_id)
        return FetchResult(blob_id, "held", size, size, 0)
    partial = await trio.to_thread.run_sync(store.open_partial, blob_id)
    try:
        if partial.offset > max_blob_bytes:  # left by a peer that lied about the size
            partial.discard()
            partial = await trio.to_thread.run_sync(store.open_partial, blob_id)
        fetch = BlobFetch(blob_id, max_blob_bytes, partial.offset)
        return await _run_fetch(fetch, partial, stream_read, stream_write, timeout_s)
    finally:
        if partial.is_open and partial.offset == 0:
            partial.discard()
        partial.close()


async def _run_fetch(
    fetch: BlobFetch, partial: PartialBlob, read: Read, write: Write, timeout_s: float
) -> FetchResult:
    resumed_from = partial.offset
    while True:
        while (want := fetch.send_next()) is not None:
            await _write(write, want, timeout_s)
        event = fetch.next_event()
        if event is None:
            data = await _read(read, timeout_s)
            if not data:
                raise RemoteFaultError("remote.closed", "the server closed the stream early")
            fetch.receive_data(data)
        elif isinstance(event, ChunkReceived):
            await trio.to_thread.run_sync(partial.append, event.offset, event.data)
        elif isinstance(event, Finished):
            size = await trio.to_thread.run_sync(partial.finish)
            return FetchResult(fetch.blob_id, "stored", size, resumed_from, size - resumed_from)
        elif isinstance(event, Missing):
            received = partial.offset - resumed_from
            return FetchResult(fetch.blob_id, "missing", None, resumed_from, received)
        else:
            if event.code == "remote.bad-range" and resumed_from > 0:
                partial.discard()  # our partial is longer than the blob this peer holds
            raise RemoteFaultError(
                "remote.refused",
                f"the server refused: {event.code}: {event.message[:200]}",
                peer_code=event.code,
            )


async def serve_blobs(
    stream_read: Read,
    stream_write: Write,
    store: BlobStore,
    *,
    timeout_s: float = IO_TIMEOUT_S,
) -> ServeStats:
    """Answer a client's wants from `store` until it closes the stream.

    A client that breaks the protocol gets an `error` message, then the
    RemoteFaultError is raised (for the caller to close the stream and mark the peer).
    """
    serve = BlobServe()
    stats = ServeStats()
    while True:
        while (want := serve.next_request()) is not None:
            await _write(stream_write, await _answer(serve, store, want, stats), timeout_s)
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


async def _answer(serve: BlobServe, store: BlobStore, want: Want, stats: ServeStats) -> bytes:
    held = await trio.to_thread.run_sync(_read_for, store, want)
    if held is None:
        stats.not_held += 1
        return serve.respond_none(want.blob)
    size, data = held
    if data is None:
        why = f"offset {want.offset} is past the end of {id_to_text(want.blob)} ({size} bytes)"
        return serve.respond_error("remote.bad-range", why)
    stats.chunks += 1
    stats.data_bytes += len(data)
    return serve.respond_chunk(want.blob, want.offset, size, data)


def _read_for(store: BlobStore, want: Want) -> tuple[int, bytes | None] | None:
    """(size, data) of the want; data None if the offset is past the end; None if not held."""
    if not store.has(want.blob):
        return None
    size = store.size(want.blob)
    if want.offset > size:
        return size, None
    return size, store.read_chunk(want.blob, want.offset, want.length)


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
