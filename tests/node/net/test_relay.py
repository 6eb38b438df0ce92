"""Member relays at the host (specs/0014 §7.3): real libp2p hosts on 127.0.0.1, in this
process. The relay serves only the peers it admits; a member reserves and is reached
through a circuit that carries a stream's bytes both ways; a stranger is refused both
a reservation and a circuit; a circuit's bytes are capped, and hold a large catch-up."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterator

import pytest
import trio

from ledger.log import Ledger
from ledger.store import MemoryLogStore
from node.net.host import HostConfig, P2PHost, RelayLimits, Stream, open_host
from protocol.errors import CommonsError, RemoteFaultError
from tests.factory import NETWORK, Author
from tests.sync_harness import Peer, ledger_holding, run_session, whole

ECHO = "/fabcommons-test/echo/1"
MIB = 1024 * 1024
N_ENTRIES = 3000


def seed(i: int) -> bytes:
    return hashlib.sha256(b"relay host %d" % i).digest()


def circuit(relay: P2PHost, target: P2PHost) -> str:
    return f"{relay.listen_addrs[0]}/p2p-circuit/p2p/{target.peer_id}"


async def echo(stream: Stream) -> None:
    while data := await stream.read_some(64 * 1024, 30.0):
        await stream.write(data, 30.0)
    await stream.close()


async def round_trip(client: P2PHost, server: str, size: int) -> float:
    """Send `size` bytes to `server`'s echo and read them back; the seconds it took."""
    started = time.monotonic()
    stream = await client.open_stream(server, ECHO)
    sent = received = 0
    chunk = bytes(32 * 1024)
    while received < size:
        if sent < size:
            await stream.write(chunk[: size - sent], 30.0)
            sent += min(len(chunk), size - sent)
        data = await stream.read_some(64 * 1024, 30.0)
        if not data:
            raise RemoteFaultError("remote.closed-early", f"{received} of {size} bytes back")
        received += len(data)
    await stream.close()
    return time.monotonic() - started


async def test_a_member_is_reached_through_the_relay_and_a_stranger_is_refused() -> None:
    async with (
        open_host(HostConfig(key_seed=seed(1))) as relay,
        open_host(HostConfig(key_seed=seed(2))) as lab_a,
        open_host(HostConfig(key_seed=seed(4))) as stranger,
    ):
        async with open_host(HostConfig(key_seed=seed(3))) as lab_b:
            members = {lab_a.peer_id, lab_b.peer_id}
            relay.offer_relay(lambda peer: peer in members)
            lab_a.set_stream_handler(ECHO, echo)
            for host in (lab_a, lab_b, stranger):
                await host.connect(relay.listen_addrs[0])
            assert await lab_a.reserve(relay.peer_id)
            assert not await stranger.reserve(relay.peer_id)
            stats = relay.relay_statistics()
            assert stats.reservations == [lab_a.peer_id]
            assert stats.refused == {"not-a-member": 1}

            await lab_b.connect(circuit(relay, lab_a))
            assert [c.relayed for c in lab_b.connections() if c.peer == lab_a.peer_id] == [True]
            # The circuit's remote address is the relay's: a ban of lab A must not count
            # against the relay's IP, so the relayed peer has no address of its own here.
            assert lab_b.remote_ip(lab_a.peer_id) is None
            assert lab_b.remote_ip(relay.peer_id) == "127.0.0.1"
            before = relay.relay_statistics().bytes_relayed  # the circuit's handshakes
            seconds = await round_trip(lab_b, lab_a.peer_id, MIB)
            print(f"\n[relay] 1 MiB each way through a loopback relay: {seconds:.2f} s")
            carried = relay.relay_statistics().bytes_relayed - before
            assert 2 * MIB <= carried < 2 * MIB + 64 * 1024  # the bytes, noise, yamux

            with pytest.raises(CommonsError) as e:
                await stranger.connect(circuit(relay, lab_a))
            assert e.value.code == "remote.dial-failed"
            stats = relay.relay_statistics()
            assert stats.refused == {"not-a-member": 2}
            assert stats.served["circuits"] == 1 and stats.ended == {}  # still open
        # lab B stopped: the relay sees its circuit end
        await wait_until(lambda: relay.relay_statistics().ended == {"closed": 1})
        assert relay.relay_statistics().circuits == {}


async def wait_until(condition: Callable[[], bool], timeout_s: float = 20.0) -> None:
    with trio.fail_after(timeout_s):
        while not condition():
            await trio.sleep(0.05)


async def test_a_circuit_is_cut_at_its_byte_limit() -> None:
    limits = RelayLimits(circuit_bytes=256 * 1024)
    async with (
        open_host(HostConfig(key_seed=seed(5), relay=limits)) as relay,
        open_host(HostConfig(key_seed=seed(6))) as lab_a,
        open_host(HostConfig(key_seed=seed(7))) as lab_b,
    ):
        relay.offer_relay(lambda peer: True)
        lab_a.set_stream_handler(ECHO, echo)
        for host in (lab_a, lab_b):
            await host.connect(relay.listen_addrs[0])
        assert await lab_a.reserve(relay.peer_id)
        await lab_b.connect(circuit(relay, lab_a))
        await round_trip(lab_b, lab_a.peer_id, 16 * 1024)  # well within the limit
        with pytest.raises(CommonsError):
            await round_trip(lab_b, lab_a.peer_id, MIB)
        await wait_until(lambda: relay.relay_statistics().ended == {"data-limit": 1})
        assert relay.relay_statistics().bytes_relayed <= limits.circuit_bytes


def test_the_circuit_byte_limit_carries_a_large_catch_up() -> None:
    """What a sync of N entries puts on a circuit (both ways), by the real session
    machines (tests/sync_harness.py): the figure behind the 64 MiB of 0014 §7.3."""
    author = Author("relay-catch-up")
    for i in range(N_ENTRIES):
        author.note(f"printer {i % 7} calibrated, nozzle 0.4 mm, bed 60 C")
    source, sink = ledger_holding(author), Ledger(MemoryLogStore())
    moved = [0]

    def counted(data: bytes) -> Iterator[bytes]:
        moved[0] += len(data)
        yield from whole(data)

    run_session(Peer("source", source), Peer("sink", sink), counted)
    head = sink.head(NETWORK, author.id)
    assert head is not None and head.size == len(author.entries)  # the inception too
    per_entry = moved[0] / len(author.entries)
    fits = RelayLimits().circuit_bytes // per_entry
    print(f"\n[relay] catch-up of {N_ENTRIES} notes: {moved[0]} bytes on the wire, "
          f"{per_entry:.0f} per entry; one circuit carries {fits:,.0f} entries")  # fmt: skip
    assert fits >= 200_000
