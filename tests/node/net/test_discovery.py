"""node.net.discovery: the address-record exchange (specs/0014 §3) between real libp2p
hosts on 127.0.0.1 in this process, with real peer-store files."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import pytest
import trio

from node.net.discovery import ADDRESS_PROTOCOL_ID, Discovery, dialable_addrs
from node.net.host import HostConfig, Stream, open_host, read_frame, write_frame
from node.store.peers import PeerStore
from protocol.address import (
    MAX_ADDRESS_FRAME_BYTES,
    decode_address_frame,
    encode_address_frame,
    judge_records,
    sign_address_record,
)
from protocol.errors import RemoteFaultError
from protocol.framing import FrameDecoder
from protocol.keys import SigningKey
from protocol.peer_ids import peer_id_of

NETWORK = hashlib.sha256(b"discovery test network").digest()


def seed(i: int) -> bytes:
    return hashlib.sha256(b"discovery host %d" % i).digest()


def test_only_dialable_listen_addresses_go_in_the_record() -> None:
    got = dialable_addrs(
        ["/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWx", "/ip4/0.0.0.0/tcp/4001", "/ip6/::1/tcp/9"]
    )
    assert got == ["/ip4/127.0.0.1/tcp/4001", "/ip6/::1/tcp/9"]
    wildcard = dialable_addrs(
        ["/ip4/0.0.0.0/tcp/4001/p2p/x", "/ip6/::/tcp/4001"],
        ["192.168.1.5", "93.184.216.34", "fd00::2"],
    )
    assert wildcard == [
        "/ip4/192.168.1.5/tcp/4001", "/ip4/93.184.216.34/tcp/4001", "/ip6/fd00::2/tcp/4001"
    ]  # fmt: skip
    many = dialable_addrs(
        ["/ip4/0.0.0.0/tcp/1"], [f"10.0.0.{i}" for i in range(1, 20)] + ["9.9.9.9"]
    )
    assert len(many) == 8 and "/ip4/9.9.9.9/tcp/1" in many  # the global one is kept


async def test_a_server_shares_its_record_and_those_it_holds_not_the_clients(
    tmp_path: Path,
) -> None:
    third = SigningKey(seed(3))
    now = time.time_ns() // 1_000_000
    stored_third = sign_address_record(third, NETWORK, ["/ip4/192.0.2.3/tcp/4001"], now)
    async with (
        open_host(HostConfig(key_seed=seed(1))) as a,
        open_host(HostConfig(key_seed=seed(2))) as b,
    ):
        server = Discovery(a, PeerStore(tmp_path / "a.sqlite3", NETWORK), SigningKey(seed(1)))
        client = Discovery(b, PeerStore(tmp_path / "b.sqlite3", NETWORK), SigningKey(seed(2)))
        await server._keep([stored_third])  # a heard of a third lab earlier
        refusals: list[str] = []

        async def serve(stream: Stream) -> None:
            refusals.extend(e.code for e in (await server.serve(stream))[1])

        a.set_stream_handler(ADDRESS_PROTOCOL_ID, serve)
        await b.connect(a.listen_addrs[0])
        learned, refused = await client.exchange(a.peer_id)
        assert {r.peer_id for r in learned} == {a.peer_id, peer_id_of(third.public)}
        assert refused == []
        assert client.addresses[a.peer_id] == tuple(dialable_addrs(a.listen_addrs))
        stored = {p.peer_id for p in server.store.peers(now)}
        assert b.peer_id in stored  # the client's own record was kept by the server
        with pytest.raises(RemoteFaultError):  # asking again at once: reset unanswered
            await client.exchange(a.peer_id)
        server._served.clear()  # (as if MIN_REQUEST_INTERVAL_S had passed)
        again, _ = await client.exchange(a.peer_id)
        assert again == []  # nothing newer the second time
        server._served.clear()

        # a client whose record is signed by another key: refused, counted, not kept
        forged = sign_address_record(third, NETWORK, ["/ip4/192.0.2.9/tcp/1"], now)
        bad = forged[:-1] + bytes([forged[-1] ^ 1])
        stream = await b.open_stream(a.peer_id, ADDRESS_PROTOCOL_ID)
        frame = encode_address_frame([bad])
        await write_frame(stream, frame, max_frame_bytes=MAX_ADDRESS_FRAME_BYTES, timeout_s=10)
        decoder = FrameDecoder(max_frame_bytes=65536, max_bin_bytes=2048, max_array_len=24)
        answer = decode_address_frame(await read_frame(stream, decoder, 10))
        shared, _ = judge_records(answer, NETWORK, now)
        assert b.peer_id not in {r.peer_id for r in shared}  # never the client's own
        assert a.peer_id in {r.peer_id for r in shared}
        with trio.fail_after(10):
            while not refusals:
                await trio.sleep(0.01)
        assert refusals == ["verify.bad-signature"]
