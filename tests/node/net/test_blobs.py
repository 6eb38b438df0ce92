"""node/net/blobs.py: how slow a blob server may be (specs/0009 §8; specs/0012 §5,
finding 8), under trio's mock clock, over in-memory streams.

Times below are the mock clock's: the limits are stated in seconds of it, and
nothing here waits for real.
"""

from __future__ import annotations

import functools
import hashlib
import random
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import outcome
import pytest
import trio
import trio.testing

from node.net.blob_exchange import ServeBudget, ServeLimits
from node.net.blobs import FetchLimits, FetchResult, Spend, fetch_blob, serve_blobs
from node.store.blobs import BlobStore
from protocol.blob import DEFAULT_MAX_BLOB_BYTES, MAX_CHUNK_BYTES, Chunk, encode_message
from protocol.errors import RemoteFaultError

MiB = MAX_CHUNK_BYTES
LIMITS = FetchLimits()
T = TypeVar("T")


async def inline(fn: Callable[[], T]) -> T:
    """Disk work on the event loop: the mock clock must not run on while a thread works."""
    return fn()


def random_bytes(size: int, seed: int = 1) -> bytes:
    return random.Random(seed).randbytes(size)


async def fetch_from_server(
    server_store: BlobStore, client_store: BlobStore, blob_id: bytes, spend: Spend, source: str
) -> FetchResult:
    """Fetch `blob_id` from serve_blobs, whose chunks wait for `spend` before they go."""
    client, server = trio.testing.memory_stream_pair()
    async with trio.open_nursery() as nursery:
        serve = functools.partial(serve_blobs, spend=spend, off_loop=inline)
        nursery.start_soon(serve, server.receive_some, server.send_all, server_store)
        fetched = await outcome.acapture(
            functools.partial(fetch_blob, source=source, off_loop=inline),
            client.receive_some,
            client.send_all,
            client_store,
            blob_id,
            DEFAULT_MAX_BLOB_BYTES,
        )
        nursery.cancel_scope.cancel()
    return fetched.unwrap()


async def test_a_server_trickling_bytes_is_abandoned_within_the_deadline(
    tmp_path: Path, autojump_clock: trio.abc.Clock
) -> None:
    """A chunk frame sent one byte every 20 s never trips the 30 s idle timeout, so
    the fetch once hung for as long as the server liked; now it must average
    64 KiB/s after 30 s, and ends at once when it falls behind."""
    data = random_bytes(MiB)
    blob_id = hashlib.sha256(data).digest()
    store = BlobStore(tmp_path)
    client, server = trio.testing.memory_stream_pair()
    frame = encode_message(Chunk(blob_id, 0, len(data), data))

    async def trickle() -> None:
        await server.receive_some()  # the want
        for i in range(len(frame)):
            await server.send_all(frame[i : i + 1])
            await trio.sleep(20)

    began = trio.current_time()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(trickle)
        with pytest.raises(RemoteFaultError) as err:
            await fetch_blob(
                client.receive_some,
                client.send_all,
                store,
                blob_id,
                len(data),
                source="Trickler",
                off_loop=inline,
            )
        nursery.cancel_scope.cancel()
    assert err.value.code == "remote.too-slow"
    assert trio.current_time() - began <= LIMITS.grace_s + 1
    assert store.partial_source(blob_id) is None  # not one whole chunk: nothing kept


async def test_a_holder_below_the_floor_is_cut_off_but_keeps_what_it_sent(
    tmp_path: Path, autojump_clock: trio.abc.Clock
) -> None:
    """Whole chunks every 29 s (36 KiB/s, under the 64 KiB/s floor): each fetch ends
    by its deadline, grace + bytes read / floor, keeping the chunks it got; fetches
    from the same holder resume there, so even this holder's blob arrives."""
    data = random_bytes(4 * MiB + 3)
    server_store, client_store = BlobStore(tmp_path / "a"), BlobStore(tmp_path / "b")
    blob_id, _ = server_store.add_bytes(data)

    async def slow(nbytes: int) -> None:
        await trio.sleep(29)

    attempts = 0
    while not client_store.has(blob_id):
        attempts += 1
        held = client_store.partial_path(blob_id)
        before = held.stat().st_size if held.exists() else 0
        began = trio.current_time()
        try:
            await fetch_from_server(server_store, client_store, blob_id, slow, "Slow")
        except RemoteFaultError as e:
            assert e.code == "remote.too-slow"
            got = held.stat().st_size - before
            assert got >= MiB  # at least one chunk each time
            elapsed = trio.current_time() - began
            assert elapsed <= LIMITS.grace_s + (got + MiB) / LIMITS.min_bytes_per_s
    assert 1 < attempts <= 5
    assert client_store.path_of(blob_id).read_bytes() == data


async def test_a_server_paced_by_its_budget_above_the_floor_is_not_cut_off(
    tmp_path: Path, autojump_clock: trio.abc.Clock
) -> None:
    """A server's serving budget (here 128 KiB/s after a 1 MiB burst) and a client's
    floor (64 KiB/s) agree: the blob arrives whole, in no less time than the budget
    allows."""
    data = random_bytes(4 * MiB)
    server_store, client_store = BlobStore(tmp_path / "a"), BlobStore(tmp_path / "b")
    blob_id, _ = server_store.add_bytes(data)
    budget = ServeBudget(ServeLimits(bytes_per_s=128 * 1024, burst_bytes=MiB))
    began = trio.current_time()
    result = await fetch_from_server(
        server_store, client_store, blob_id, functools.partial(budget.spend, "Client"), "Server"
    )
    assert result == FetchResult(blob_id, "stored", len(data), 0, len(data))
    assert trio.current_time() - began >= 3 * MiB / (128 * 1024)
