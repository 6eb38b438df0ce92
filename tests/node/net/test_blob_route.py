"""node/net/blob_route.py: who holds a blob, and fetching through a peer (specs/0009 §12).

Three real libp2p hosts in this process on 127.0.0.1, each with a real blob store, in a
line: A holds a file, B is connected to A only, C to B only. Real node processes do the
same in tests/integration/test_availability.py.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from node.net.blob_exchange import BlobExchange
from node.net.blob_route import MAX_PROOFS_PER_PEER, NOT_RELAYING, BlobRouter, route_decoder
from node.net.host import HostConfig, P2PHost, open_host
from node.net.streams import read_frame, write_frame
from node.store.blobs import BlobStore
from protocol.blob import DEFAULT_MAX_BLOB_BYTES, MAX_CHUNK_BYTES, PROTOCOL_ID
from protocol.blob_route import (
    MAX_ROUTE_FRAME_BYTES,
    PROOF_PROTOCOL_ID,
    ROUTE_PROTOCOL_ID,
    RouteError,
    decode_message,
)
from protocol.errors import RemoteFaultError

FILE = random.Random(7).randbytes(3 * MAX_CHUNK_BYTES + 5)  # four chunks


def pid(routing: BlobRouter) -> str:
    host = routing.exchange.host
    assert isinstance(host, P2PHost)
    return host.peer_id


def router(host: P2PHost, folder: Path, *, keeps: bool, proofs: bool = True) -> BlobRouter:
    async def keeps_it(blob_id: bytes) -> bool:
        return keeps

    exchange = BlobExchange(host, BlobStore(folder), rng=random.Random(1))
    routing = BlobRouter(exchange, lambda: DEFAULT_MAX_BLOB_BYTES, keeps=keeps_it)
    host.set_stream_handler(PROTOCOL_ID, exchange.serve)
    host.set_stream_handler(ROUTE_PROTOCOL_ID, routing.serve)
    if proofs:  # a node before 0009 §12.4 has no proof protocol
        host.set_stream_handler(PROOF_PROTOCOL_ID, routing.serve_proof)
    return routing


@asynccontextmanager
async def line(tmp_path: Path, *, b_keeps: bool) -> AsyncIterator[tuple[BlobRouter, ...]]:
    """A - B - C, connected in a line; A holds FILE."""
    async with (
        open_host(HostConfig(key_seed=bytes(31) + b"\x0a")) as a,
        open_host(HostConfig(key_seed=bytes(31) + b"\x0b")) as b,
        open_host(HostConfig(key_seed=bytes(31) + b"\x0c")) as c,
    ):
        routers = (
            router(a, tmp_path / "a", keeps=True),
            router(b, tmp_path / "b", keeps=b_keeps),
            router(c, tmp_path / "c", keeps=True),
        )
        routers[0].exchange.store.add_bytes(FILE)
        await b.connect(a.listen_addrs[0])
        await c.connect(b.listen_addrs[0])
        assert a.peer_id not in c.connected_peers()
        yield routers


async def test_a_blob_two_hops_away_is_fetched_through_the_peer_between(tmp_path: Path) -> None:
    async with line(tmp_path, b_keeps=True) as (a, b, c):
        blob_id = a.exchange.store.add_bytes(FILE)[0]
        holders = await c.holders(blob_id)
        assert holders.peers == {pid(b): False}  # B does not hold it yet
        outcome = await c.fetch(blob_id)
        assert outcome.result.status == "stored"
        assert outcome.peer == pid(b)
        assert outcome.through == pid(b)
        # verified on both hops, and B keeps its copy: now a holder itself
        assert c.exchange.store.path_of(blob_id).read_bytes() == FILE
        assert b.exchange.store.has(blob_id)
        assert (await c.holders(blob_id)).peers == {pid(b): True}
        assert b.stats["relayed_for_peers"] == 1 and c.stats["fetched_through"] == 1


async def test_a_peer_fetches_through_only_what_it_would_keep(tmp_path: Path) -> None:
    async with line(tmp_path, b_keeps=False) as (a, b, c):
        blob_id = a.exchange.store.add_bytes(FILE)[0]
        with pytest.raises(RemoteFaultError) as info:
            await c.fetch(blob_id)
        assert info.value.code == "remote.blob-unavailable"
        assert info.value.details["tried"] == [{"peer": pid(b), "code": NOT_RELAYING}]
        assert not b.exchange.store.has(blob_id) and not c.exchange.store.has(blob_id)


async def test_a_direct_holder_is_found_by_asking(tmp_path: Path) -> None:
    async with line(tmp_path, b_keeps=True) as (a, b, c):
        blob_id = a.exchange.store.add_bytes(FILE)[0]
        assert (await b.holders(blob_id)).peers == {pid(a): True, pid(c): False}
        outcome = await b.fetch(blob_id)
        assert outcome.peer == pid(a) and outcome.through is None
        assert outcome.tried == ()  # C, which said it does not hold it, was not asked
        unknown = bytes(32)
        assert (await b.holders(unknown)).peers == {pid(a): False, pid(c): False}


@pytest.mark.parametrize(
    "bogus",
    [{"blob": bytes(32), "t": "want", "v": 1}, {"held": [], "t": "held", "v": 1}],
    ids=["not-a-message", "an-answer"],
)
async def test_a_request_that_is_no_request_is_answered_with_its_code(
    tmp_path: Path, bogus: dict[str, object]
) -> None:
    async with line(tmp_path, b_keeps=True) as (_, b, c):
        host = c.exchange.host
        stream = await host.open_stream(pid(b), ROUTE_PROTOCOL_ID)
        await write_frame(stream, bogus, max_frame_bytes=MAX_ROUTE_FRAME_BYTES, timeout_s=5)
        decoder = route_decoder()
        answer = decode_message(await read_frame(stream, decoder, 5))
        await stream.close()
        assert isinstance(answer, RouteError) and answer.code == "decode.bad-blob-route"


async def test_a_holder_proves_its_copy_and_a_bad_copy_fails(tmp_path: Path) -> None:
    """0009 §12.4: B, holding the file, challenges A on random ranges; a copy whose bytes
    differ fails whatever range is drawn; a peer without the blob refuses."""
    async with line(tmp_path, b_keeps=True) as (a, b, c):
        blob_id = a.exchange.store.add_bytes(FILE)[0]
        await b.fetch(blob_id)
        b.rng = random.Random(3)
        assert [await b.prove(pid(a), blob_id) for _ in range(5)] == [True] * 5
        assert await b.prove(pid(c), blob_id) is False  # C holds nothing: it refuses

        path = a.exchange.store.path_of(blob_id)
        path.chmod(0o644)
        path.write_bytes(bytes(x ^ 0xFF for x in FILE))  # rotten: every byte differs
        assert (await b.holders(blob_id)).peers[pid(a)] is True  # it still says held
        assert [await b.prove(pid(a), blob_id) for _ in range(5)] == [False] * 5


async def test_a_node_without_proofs_is_unanswered_and_charges_nothing(tmp_path: Path) -> None:
    """An older node (no proof protocol) refuses the stream: the claim is unanswered,
    and the asker is not charged, as it was when `prove` went on the route protocol."""
    async with (
        open_host(HostConfig(key_seed=bytes(31) + b"\x0d")) as old,
        open_host(HostConfig(key_seed=bytes(31) + b"\x0e")) as new,
    ):
        older = router(old, tmp_path / "old", keeps=True, proofs=False)
        newer = router(new, tmp_path / "new", keeps=True)
        blob_id = older.exchange.store.add_bytes(FILE)[0]
        newer.exchange.store.add_bytes(FILE)
        await new.connect(old.listen_addrs[0])
        assert (await newer.holders(blob_id)).peers[old.peer_id] is True
        assert await newer.prove(old.peer_id, blob_id) is None
        assert old.statistics().rejects.get(new.peer_id, 0) == 0


async def test_a_malformed_proof_fails_and_a_flood_is_refused_before_reading(
    tmp_path: Path,
) -> None:
    async with (
        open_host(HostConfig(key_seed=bytes(31) + b"\x1d")) as liar,
        open_host(HostConfig(key_seed=bytes(31) + b"\x1e")) as asker,
    ):
        honest = router(asker, tmp_path / "asker", keeps=True)
        blob_id = honest.exchange.store.add_bytes(FILE)[0]

        async def short_digest(stream: Any) -> None:  # claims to hold it, answers nonsense
            decoder = route_decoder()
            await read_frame(stream, decoder, 5)
            bogus = {"blob": blob_id, "digest": bytes(31), "t": "proof", "v": 1}
            await write_frame(stream, bogus, max_frame_bytes=MAX_ROUTE_FRAME_BYTES, timeout_s=5)
            await stream.close()

        liar.set_stream_handler(PROOF_PROTOCOL_ID, short_digest)
        await asker.connect(liar.listen_addrs[0])
        assert await honest.prove(liar.peer_id, blob_id) is False

        # the asker's own server: a second prove from one peer while one is under way
        honest._proving[liar.peer_id] = MAX_PROOFS_PER_PEER
        stream = await liar.open_stream(asker.peer_id, PROOF_PROTOCOL_ID)
        request = {"blob": blob_id, "length": 1, "nonce": bytes(16), "offset": 0,
                   "t": "prove", "v": 1}  # fmt: skip
        await write_frame(stream, request, max_frame_bytes=MAX_ROUTE_FRAME_BYTES, timeout_s=5)
        decoder = route_decoder()
        answer = decode_message(await read_frame(stream, decoder, 5))
        await stream.close()
        assert isinstance(answer, RouteError) and answer.code == "remote.too-many-requests"
