"""node.net.relay: the membership exchange (specs/0014 §7.2) and reservations (§7.4)
between real libp2p hosts on 127.0.0.1, in this process."""

from __future__ import annotations

import hashlib

import trio

from node.net.host import HostConfig, P2PHost, Stream, open_host
from node.net.relay import MAX_RELAYS, MEMBERSHIP_PROTOCOL_ID, MemberRelays
from protocol.errors import CommonsError
from protocol.host_binding import sign_host_binding
from protocol.keys import SigningKey
from protocol.peer_ids import host_key_of

NETWORK = bytes(range(32))
OTHER_NETWORK = bytes(32)


def seed(i: int) -> bytes:
    return hashlib.sha256(b"member relay host %d" % i).digest()


IDENTITY_KEY = SigningKey(seed(100))
IDENTITY = hashlib.sha256(b"an identity").digest()


async def test_a_public_relay_relays_for_an_admitted_binding_only() -> None:
    async with (
        open_host(HostConfig(key_seed=seed(1))) as relay_host,
        open_host(HostConfig(key_seed=seed(2))) as lab_host,
        open_host(HostConfig(key_seed=seed(3))) as other_host,
    ):
        offering = [False]
        admitted: set[bytes] = {IDENTITY}
        refused: list[CommonsError] = []

        def admits(identity: bytes, key: bytes) -> bool:
            return identity in admitted and key == IDENTITY_KEY.public

        async def no_binding() -> bytes:
            return b""

        relay = MemberRelays(relay_host, NETWORK, no_binding, admits, lambda: offering[0])

        async def serve(stream: Stream) -> None:
            error = await relay.serve(stream)
            if error is not None:
                refused.append(error)

        relay_host.set_stream_handler(MEMBERSHIP_PROTOCOL_ID, serve)

        def client(host: P2PHost, network: bytes) -> MemberRelays:
            async def binding() -> bytes:
                peer_key = host_key_of(host.peer_id)
                return sign_host_binding(IDENTITY_KEY, IDENTITY, network, peer_key)

            return MemberRelays(host, NETWORK, binding, admits, lambda: False)

        lab, other = client(lab_host, NETWORK), client(other_host, OTHER_NETWORK)
        for host in (lab_host, other_host):
            await host.connect(relay_host.listen_addrs[0])

        connected = {relay_host.peer_id}
        assert lab.due(connected, private=True) == [relay_host.peer_id]
        await lab.present(relay_host.peer_id)
        assert lab.willing == set()  # accepted, but the relay is not public yet
        assert relay.accepted == {lab_host.peer_id: IDENTITY}
        assert lab.due(connected, private=True) == []  # not at once: after 4, 8, 16, 30 s

        def asked_again_after(seconds: float) -> bool:
            lab._presented[relay_host.peer_id] = trio.current_time() - seconds
            asked = lab.due(connected, private=True) == [relay_host.peer_id]
            if asked:  # one present at a time: not again while this one runs
                lab._presented[relay_host.peer_id] = trio.current_time() - 3600
                assert lab.due(connected, private=True) == []
                lab._presenting.clear()  # (as when the present ends)
            return asked

        waits = [4.0, 8.0, 16.0, 30.0, 30.0]
        for wait in waits:
            assert not asked_again_after(wait - 0.5)
            assert asked_again_after(wait)
        lab._presented[relay_host.peer_id] = trio.current_time() - 3600
        assert lab.due(connected, private=False) == []  # public: no need to ask again

        offering[0] = True
        await lab.present(relay_host.peer_id)
        assert lab.willing == {relay_host.peer_id}
        assert relay.admits_peer(lab_host.peer_id)
        assert lab.to_reserve(private=False) == []
        assert lab.to_reserve(private=True) == [relay_host.peer_id]
        assert lab.to_reserve(private=True) == []  # already reserving
        assert await lab.reserve(relay_host.peer_id)
        assert relay_host.relay_statistics().reservations == [lab_host.peer_id]
        relayed = lab.addresses({relay_host.peer_id: ("/ip4/127.0.0.1/tcp/4001",)})
        assert relayed == (f"/ip4/127.0.0.1/tcp/4001/p2p/{relay_host.peer_id}/p2p-circuit",)
        assert MAX_RELAYS == 2

        await other.present(relay_host.peer_id)  # a binding for another network
        assert other.willing == set()
        assert not relay.admits_peer(other_host.peer_id)
        assert [e.code for e in refused] == ["verify.wrong-network"]
        assert not await other.reserve(relay_host.peer_id)

        lab.forget(relay_host.peer_id)
        assert lab.reserved == {} and lab.addresses({}) == ()
