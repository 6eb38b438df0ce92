"""A raw py-libp2p gossipsub peer for the js interop test (tests/integration/test_interop_js.py).

What it does: `open_py_peer(topic)` starts one py-libp2p 0.8.1 host on 127.0.0.1 (tcp, noise,
yamux, identify) with gossipsub on top, subscribes it to `topic`, and yields a `PyPeer`:
connect, publish, receive, and read-only views of the mesh, the connections and the
seen-message cache, all in trio. Leaving the context closes the peer.

What it guarantees: the settings are the ones docs/architecture.md §4 measured on this machine
(Ed25519 identity, explicit noise key, yamux, meshsub 1.2/1.1/1.0, a 1 s heartbeat, strict
signing) and the message id is SHA-256 of the message data, raw 32 bytes, as on the js side.

What it leaves to others: this is deliberately NOT node/net/host.py. The test only uses the
`PyPeer` protocol below, so moving the test to our own wrapper means rewriting
`open_py_peer` (and the private `_RawPeer` behind it) on top of node/net/host.py; nothing in the
test changes.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Protocol

import trio
from libp2p import new_host
from libp2p.abc import IHost, ISubscriptionAPI
from libp2p.crypto.ed25519 import create_new_key_pair
from libp2p.crypto.x25519 import create_new_key_pair as create_new_x25519_key_pair
from libp2p.custom_types import TProtocol
from libp2p.peer.id import ID
from libp2p.peer.peerinfo import info_from_p2p_addr
from libp2p.pubsub.gossipsub import PROTOCOL_ID, PROTOCOL_ID_V11, PROTOCOL_ID_V12, GossipSub
from libp2p.pubsub.pubsub import Pubsub
from libp2p.security.noise.transport import PROTOCOL_ID as NOISE_PROTOCOL_ID
from libp2p.security.noise.transport import Transport as NoiseTransport
from libp2p.stream_muxer.yamux.yamux import PROTOCOL_ID as YAMUX_PROTOCOL_ID
from libp2p.stream_muxer.yamux.yamux import Yamux
from libp2p.tools.anyio_service import background_trio_service
from multiaddr import Multiaddr

LISTEN_ADDR = "/ip4/127.0.0.1/tcp/0"
POLL_INTERVAL_S = 0.05


def message_id(data: bytes) -> bytes:
    """The gossip message id both sides use: SHA-256 of the message data (32 raw bytes)."""
    return hashlib.sha256(data).digest()


@dataclass(frozen=True)
class Received:
    """One gossip message as a subscriber sees it. `from_peer` is the signed author."""

    from_peer: str
    data: bytes


class PyPeer(Protocol):
    """What the interop test needs from a Python peer; peer ids are base58 strings."""

    @property
    def peer_id(self) -> str: ...

    @property
    def addrs(self) -> list[str]:
        """Dialable multiaddrs, each ending in /p2p/<peer_id>."""
        ...

    async def connect(self, addr: str) -> None: ...

    async def publish(self, data: bytes) -> None: ...

    async def receive(self) -> Received:
        """The next message on the topic from another author (the caller sets the deadline)."""
        ...

    def mesh_peers(self) -> set[str]: ...

    def connected_peers(self) -> set[str]: ...

    def has_seen(self, msg_id: bytes) -> bool:
        """Whether the pubsub layer recorded a message under exactly this id."""
        ...


async def wait_until(predicate: Callable[[], bool], what: str, timeout_s: float) -> None:
    """Poll `predicate` until it holds; raise TimeoutError naming `what` after `timeout_s`."""
    try:
        with trio.fail_after(timeout_s):
            while not predicate():
                await trio.sleep(POLL_INTERVAL_S)
    except trio.TooSlowError:
        raise TimeoutError(f"{what}: not true after {timeout_s} s") from None


class _RawPeer:
    """`PyPeer` over a raw py-libp2p host, Pubsub and GossipSub."""

    def __init__(
        self,
        host: IHost,
        pubsub: Pubsub,
        gossipsub: GossipSub,
        topic: str,
        subscription: ISubscriptionAPI,
    ) -> None:
        self._host = host
        self._pubsub = pubsub
        self._gossipsub = gossipsub
        self._topic = topic
        self._subscription = subscription

    @property
    def peer_id(self) -> str:
        return str(self._host.get_id())

    @property
    def addrs(self) -> list[str]:
        suffix = f"/p2p/{self.peer_id}"
        return [a if a.endswith(suffix) else a + suffix for a in map(str, self._host.get_addrs())]

    async def connect(self, addr: str) -> None:
        await self._host.connect(info_from_p2p_addr(Multiaddr(addr)))

    async def publish(self, data: bytes) -> None:
        await self._pubsub.publish(self._topic, data)

    async def receive(self) -> Received:
        # py-libp2p hands our own publishes to our own subscription too (js-libp2p's
        # emitSelf: false has no counterpart here); skip them.
        while True:
            msg = await self._subscription.get()
            author = ID(msg.from_id)
            if author != self._host.get_id():
                return Received(from_peer=str(author), data=bytes(msg.data))

    def mesh_peers(self) -> set[str]:
        return {str(p) for p in self._gossipsub.mesh.get(self._topic, ())}

    def connected_peers(self) -> set[str]:
        return {str(p) for p in self._host.get_network().connections}

    def has_seen(self, msg_id: bytes) -> bool:
        return bool(self._pubsub.seen_messages.has(msg_id))


@asynccontextmanager
async def open_py_peer(topic: str) -> AsyncIterator[PyPeer]:
    """Start a py-libp2p gossipsub peer on 127.0.0.1, subscribed to `topic`.

    This is the one function to replace when the test moves to node/net/host.py.
    """
    key_pair = create_new_key_pair()
    host = new_host(
        key_pair=key_pair,
        sec_opt={
            NOISE_PROTOCOL_ID: NoiseTransport(
                key_pair, noise_privkey=create_new_x25519_key_pair().private_key
            )
        },
        muxer_opt={TProtocol(YAMUX_PROTOCOL_ID): Yamux},
    )
    gossipsub = GossipSub(
        protocols=[PROTOCOL_ID_V12, PROTOCOL_ID_V11, PROTOCOL_ID],
        degree=6,
        degree_low=4,
        degree_high=12,
        heartbeat_interval=1,  # default 120 s: a mesh would take minutes to form
        spam_protection_enabled=False,  # would cap forwarding (own publishes too) at 10/s
    )
    pubsub = Pubsub(host, gossipsub, msg_id_constructor=lambda msg: message_id(msg.data))
    async with (
        host.run(listen_addrs=[Multiaddr(LISTEN_ADDR)]),
        background_trio_service(pubsub),
        background_trio_service(gossipsub),
    ):
        await pubsub.wait_until_ready()
        subscription = await pubsub.subscribe(topic)
        yield _RawPeer(host, pubsub, gossipsub, topic, subscription)
