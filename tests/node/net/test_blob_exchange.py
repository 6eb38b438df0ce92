"""node/net/blob_exchange.py: whom a fetch asks, what a fault costs, and what a
peer may take of our serving (specs/0009 §6-§8; specs/0012 §5, findings 8 and 12).

The serving budget runs under trio's mock clock over in-memory streams; times are
the mock clock's. Fetching runs between real libp2p hosts in this process, and
against real node processes in tests/integration/test_hostile_blobs.py.
"""

from __future__ import annotations

import functools
import random
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest
import trio
import trio.testing

from node.net.blob_exchange import (
    LINK_FAULT_WEIGHT,
    TOO_MANY_STREAMS,
    BlobExchange,
    FetchOutcome,
    ServeBudget,
    ServeLimits,
    fault_weight,
    fetch_order,
)
from node.net.blobs import FetchResult, fetch_blob, serve_blobs
from node.net.host import HostConfig, open_host
from node.store.blobs import BlobStore
from protocol.blob import DEFAULT_MAX_BLOB_BYTES, MAX_CHUNK_BYTES, PROTOCOL_ID

MiB = MAX_CHUNK_BYTES
T = TypeVar("T")
PEERS = [f"Peer{i}" for i in range(5)]


async def inline(fn: Callable[[], T]) -> T:
    """Disk work on the event loop: the mock clock must not run on while a thread works."""
    return fn()


@pytest.mark.parametrize(
    ("code", "weight"),
    [
        ("verify.blob-hash-mismatch", 1.0),  # every byte came from that peer (0009 §6)
        ("remote.overlong-chunk", 1.0),
        ("remote.unexpected-chunk", 1.0),
        ("remote.too-many-wants", 1.0),
        ("remote.too-slow", LINK_FAULT_WEIGHT),
        ("remote.timeout", LINK_FAULT_WEIGHT),
        ("remote.stream-reset", LINK_FAULT_WEIGHT),
        ("remote.refused", 0.0),  # the server said no: its right
        ("remote.blob-too-large", 0.0),  # over our rule, not necessarily a lie
        ("remote.protocol-unsupported", 0.0),
        ("rule.blob-too-large", 0.0),
    ],
)
def test_what_a_fault_costs(code: str, weight: float) -> None:
    assert fault_weight(code) == weight


def test_holders_are_asked_in_random_order_the_partials_source_first() -> None:
    firsts = Counter(fetch_order(PEERS, None, random.Random(seed))[0] for seed in range(200))
    assert set(firsts) == set(PEERS)  # whoever sorts first is not always asked first
    for seed in range(20):
        order = fetch_order(PEERS, "Peer3", random.Random(seed))
        assert order[0] == "Peer3" and sorted(order) == PEERS
    assert sorted(fetch_order(PEERS, "Gone", random.Random(1))) == PEERS  # not connected
    assert fetch_order(PEERS, None, random.Random(7)) == fetch_order(PEERS, None, random.Random(7))


def test_streams_are_counted_per_peer_and_in_all() -> None:
    budget = ServeBudget(ServeLimits(streams_per_peer=2, streams=3))
    assert budget.admit("A") is None and budget.admit("A") is None
    refusal = budget.admit("A")
    assert refusal is not None and (refusal.code, refusal.weight) == (
        TOO_MANY_STREAMS,
        LINK_FAULT_WEIGHT,
    )
    assert budget.admit("B") is None
    refusal = budget.admit("C")  # the node is full: not C's doing, not charged
    assert refusal is not None and (refusal.code, refusal.weight) == (TOO_MANY_STREAMS, 0.0)
    budget.release("A")
    assert budget.admit("C") is None
    assert budget.streams == Counter({"A": 1, "B": 1, "C": 1})


async def test_a_bucket_is_not_refilled_by_coming_back(autojump_clock: trio.abc.Clock) -> None:
    budget = ServeBudget(ServeLimits(bytes_per_s=MiB, burst_bytes=2 * MiB))
    start = trio.current_time()
    await budget.spend("A", 2 * MiB)  # the burst, at once
    assert trio.current_time() == start
    assert budget.admit("A") is None
    budget.release("A")  # its stream ended; it opens another
    assert budget.admit("A") is None
    await budget.spend("A", MiB)
    assert trio.current_time() - start == pytest.approx(1.0)


async def test_a_greedy_fetcher_gets_its_budget_and_no_more(
    tmp_path: Path, autojump_clock: trio.abc.Clock
) -> None:
    """specs/0012 §5 finding 12: one peer fetches two 6 MiB blobs at once on two
    streams, another peer a 2 MiB one. By any time t the greedy peer has been sent at
    most burst + rate x t, its two streams together; the other peer's bytes never
    wait for it."""
    limits = ServeLimits(bytes_per_s=MiB, burst_bytes=2 * MiB)
    budget = ServeBudget(limits)
    server_store = BlobStore(tmp_path / "server")
    blobs = [
        server_store.add_bytes(random.Random(i).randbytes(s))[0]
        for i, s in enumerate((6 * MiB, 6 * MiB, 2 * MiB))
    ]
    sent: list[tuple[str, float, int]] = []  # (peer, when released, bytes)
    waited: dict[str, float] = {"Greedy": 0.0, "Modest": 0.0}
    start = trio.current_time()

    async def spend(peer: str, nbytes: int) -> None:
        before = trio.current_time()
        await budget.spend(peer, nbytes)
        waited[peer] += trio.current_time() - before
        sent.append((peer, trio.current_time() - start, nbytes))

    async def fetch(peer: str, blob_id: bytes, results: list[FetchResult]) -> None:
        client, server = trio.testing.memory_stream_pair()
        store = BlobStore(tmp_path / peer)
        async with trio.open_nursery() as nursery:
            serve = functools.partial(
                serve_blobs, spend=functools.partial(spend, peer), off_loop=inline
            )
            nursery.start_soon(serve, server.receive_some, server.send_all, server_store)
            results.append(
                await fetch_blob(
                    client.receive_some,
                    client.send_all,
                    store,
                    blob_id,
                    DEFAULT_MAX_BLOB_BYTES,
                    source="Server",
                    off_loop=inline,
                )
            )
            await client.aclose()

    results: list[FetchResult] = []
    async with trio.open_nursery() as nursery:
        nursery.start_soon(fetch, "Greedy", blobs[0], results)
        nursery.start_soon(fetch, "Greedy", blobs[1], results)
        nursery.start_soon(fetch, "Modest", blobs[2], results)
    assert sorted(r.status for r in results) == ["stored"] * 3
    total = 0
    for peer, when, nbytes in sent:
        if peer == "Greedy":
            total += nbytes
            assert total <= limits.burst_bytes + limits.bytes_per_s * when
    assert total == 12 * MiB
    last = max(when for peer, when, _ in sent if peer == "Greedy")
    assert last >= (12 * MiB - limits.burst_bytes) / limits.bytes_per_s  # no more than that
    assert waited["Modest"] == 0.0 and waited["Greedy"] > 0


async def test_our_own_fetches_from_one_peer_keep_within_its_stream_cap(tmp_path: Path) -> None:
    """Two real libp2p hosts: five blobs fetched at once from one peer take turns on
    the two streams it grants (0009 §8.4), so the peer refuses none and charges
    nothing; every blob is stored, verified."""
    refused: list[tuple[str, str]] = []
    async with (
        open_host(HostConfig(key_seed=bytes(31) + b"\x01")) as a,
        open_host(HostConfig(key_seed=bytes(31) + b"\x02")) as b,
    ):
        serving = BlobExchange(
            b, BlobStore(tmp_path / "b"), on_refused=lambda peer, code: refused.append((peer, code))
        )
        b.set_stream_handler(PROTOCOL_ID, serving.serve)
        blobs = [serving.store.add_bytes(random.Random(i).randbytes(MiB + i))[0] for i in range(5)]
        fetching = BlobExchange(a, BlobStore(tmp_path / "a"), rng=random.Random(1))
        await a.connect(b.listen_addrs[0])
        outcomes: list[FetchOutcome] = []

        async def fetch(blob_id: bytes) -> None:
            outcomes.append(await fetching.fetch(blob_id, DEFAULT_MAX_BLOB_BYTES))

        async with trio.open_nursery() as nursery:
            for blob_id in blobs:
                nursery.start_soon(fetch, blob_id)
    assert sorted(o.result.status for o in outcomes) == ["stored"] * 5
    assert all(o.peer == b.peer_id and o.tried == () for o in outcomes)
    assert refused == []
    assert all(fetching.store.has(blob_id) for blob_id in blobs)
