"""The node's libp2p host: identity, dialing, stream protocols, gossipsub, peer scoring.

The ONLY module of Fab Commons that imports libp2p or multiaddr (docs/architecture.md §4).
Others get `open_host` and a `P2PHost` whose peer ids and multiaddrs are text and
whose streams are node.p2p_streams.Stream. libp2p failures leave this module as
RemoteFaultError (remote.dial-failed, remote.protocol-unsupported, remote.timeout,
remote.stream-reset, remote.stream-closed, remote.stream-failed) or LocalMisuseError
(misuse.bad-key-seed, misuse.bad-multiaddr, misuse.bad-peer-id, misuse.listen-failed,
misuse.already-subscribed, misuse.publish-rejected).

What py-libp2p 0.8.1 does and what we do about it (measured on this machine):
- Host: TCP + noise + yamux only (new_host would also offer TLS, secio, plaintext,
  mplex, and QUIC/WebSocket from the listen addresses). It listens with
  SO_REUSEPORT, so a second node on a busy port would bind too: we probe first.
  `host.run()` alone leaves system tasks (TCP listener, identify) and dialed
  sockets behind, so we also `host.close()`; Pubsub's seen-cache thread is
  never stopped either, so we stop it. Its auto-connector dials known peers
  towards 150 connections: we aim at 8 to 64. Its bootstrap blocks startup on its
  dials: we dial `bootstrap` ourselves, again every 30 s.
- Gossip message id = SHA-256 of the data (duplicates are one message for
  `seen_ttl_s`); strict signing, so `Message.from_peer` is authenticated.
- Heartbeat 120 s -> 1 s. "Adaptive gossip" is off: when the mesh looks unhealthy
  it raises the heartbeat to 30-60 s. Spam protection counts per forwarder and
  topic, own publishes included, and drops silently above the limit: raised to
  200/s, and `publish` paces itself to 50/s per topic. Each publish puts two RPCs
  (message + IDONTWANT) in a 32-slot per-peer queue that drops silently when
  full: `publish` waits for room. Subscription buffers 32 -> `subscription_buffer`.
- Validators only say yes/no. REJECT is "no" (libp2p then counts an invalid
  message, P4, against the forwarder). IGNORE is "no" plus an excuse that
  `_Scorer` consumes, so no penalty; its id is marked seen so copies from other
  peers are dropped unvalidated. Our own publish is validated too: REJECT raises
  misuse.publish-rejected; IGNORE passes (nothing new to us may be new to others).
- Scoring (libp2p/pubsub/score.py): P2 first deliveries, P4 invalid messages and
  P5 behaviour (spam, GRAFT floods, equivocation) work, linear, and SUBTRACTED
  (a positive libp2p weight is a penalty): ScoreConfig takes spec-signed weights
  and we flip them. P1 counts mesh joins, not time; P3 is never updated; both 0.
  Below publish_threshold a peer's messages are dropped before validation, below
  gossip_threshold we stop forwarding to it, graylisted peers' GRAFTs are refused.
  Not in 0.8.1: pruning negative peers from the mesh, disconnecting them, keeping
  a score across reconnects, penalising bad signatures. Our minimum: `_Scorer`
  keeps a reject count per peer (decaying like P4, surviving reconnects); at
  `ban_after_rejects` the peer is blacklisted from pubsub, refused on our stream
  protocols and disconnected for `ban_duration_s`.
Delivery stays best effort; pull sync is what makes it reliable.
"""

from __future__ import annotations

import collections
import contextlib
import hashlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import multiaddr
import trio
from libp2p import new_host
from libp2p.abc import INotifee
from libp2p.crypto.ed25519 import create_new_key_pair
from libp2p.crypto.x25519 import create_new_key_pair as create_new_x25519_key_pair
from libp2p.custom_types import TProtocol
from libp2p.discovery.events.peerDiscovery import peerDiscovery
from libp2p.host.exceptions import StreamFailure
from libp2p.network.config import ConnectionConfig
from libp2p.network.exceptions import SwarmException
from libp2p.network.stream.exceptions import StreamClosed, StreamEOF, StreamReset
from libp2p.peer.id import ID
from libp2p.peer.peerinfo import PeerInfo, info_from_p2p_addr
from libp2p.pubsub.score import PeerScorer, ScoreParams, TopicScoreParams
from libp2p.relay.circuit_v2.config import RelayConfig, RelayRole
from libp2p.relay.circuit_v2.dcutr import DCUtRProtocol
from libp2p.relay.circuit_v2.pb.circuit_pb2 import HopMessage
from libp2p.relay.circuit_v2.protocol import PROTOCOL_ID as HOP_PROTOCOL_ID
from libp2p.relay.circuit_v2.protocol import CircuitV2Protocol
from libp2p.relay.circuit_v2.protocol_buffer import StatusCode, to_proto_status
from libp2p.relay.circuit_v2.resources import RelayLimits as Libp2pRelayLimits
from libp2p.relay.circuit_v2.transport import CircuitV2Transport
from libp2p.relay.circuit_v2.utils import write_delimited_msg
from libp2p.security.noise.transport import PROTOCOL_ID as NOISE_ID
from libp2p.security.noise.transport import Transport as NoiseTransport
from libp2p.stream_muxer.yamux.yamux import PROTOCOL_ID as YAMUX_ID
from libp2p.stream_muxer.yamux.yamux import Yamux
from libp2p.tools.anyio_service import background_trio_service

from node.net.gossipsub import gossip_router, msg_id, pubsub_over
from node.net.streams import (
    ConnectionInfo,
    GossipConfig,
    HostConfig,
    Message,
    P2PStatistics,
    PublishPacer,
    RelayLimits,
    RelayStatistics,
    ScoreConfig,
    Stream,
    Subscription,
    read_frame,
    serve_stream,
    write_frame,
)
from protocol.address import RELAYED_SUFFIX
from protocol.announce import Verdict
from protocol.errors import CommonsError, LocalMisuseError, RemoteFaultError

__all__ = [
    "ConnectionInfo", "GossipConfig", "HostConfig", "Message", "P2PHost", "P2PStatistics",
    "RelayLimits", "RelayStatistics", "ScoreConfig", "Stream", "Subscription", "Verdict",
    "open_host", "read_frame", "write_frame",
]  # fmt: skip

logger = logging.getLogger(__name__)
KEY_SEED_BYTES = 32
BOOTSTRAP_RETRY_S = 30.0
MAX_TRACKED_PEERS = 4096
MAX_BAN_S = 24 * 3600.0
#: How fast an address's record of bans fades: halved every hour (_Scorer.ban_limit).
ADDRESS_BAN_HALF_LIFE_S = 3600.0
#: Inbound connections one IP address may have in setup or held at once, and how long
#: an inbound connection may take to finish its handshake (libp2p's default: 10 s).
MAX_INBOUND_PER_IP = 64  # a 20-node cluster on one machine shares one address
INBOUND_HANDSHAKE_S = 5.0  # a repeat offender's ban doubles up to a day


def _key_pair(seed: bytes) -> Any:
    if len(seed) != KEY_SEED_BYTES:
        raise LocalMisuseError("misuse.bad-key-seed", f"got {len(seed)} bytes, want 32")
    try:
        return create_new_key_pair(seed)
    except ValueError as e:
        raise LocalMisuseError("misuse.bad-key-seed", str(e)) from e


def _parse_maddr(text: str) -> Any:
    try:
        return multiaddr.Multiaddr(text)
    except Exception as e:  # multiaddr raises a zoo of ValueError subclasses
        raise LocalMisuseError("misuse.bad-multiaddr", f"not a multiaddr: {text!r}") from e


async def _parse_listen(text: str) -> Any:
    """A TCP listen address whose port no one holds: libp2p binds with SO_REUSEPORT, so
    a second node on a busy port would bind too and get half of its connections."""
    addr = _parse_maddr(text)
    names = [p.name for p in addr.protocols()]
    if len(names) != 2 or names[0] not in ("ip4", "ip6") or names[1] != "tcp":
        raise LocalMisuseError(
            "misuse.bad-multiaddr", f"listen on /ip4|ip6/<ip>/tcp/<port>: {text}"
        )
    port = int(addr.value_for_protocol("tcp"))
    family = trio.socket.AF_INET6 if names[0] == "ip6" else trio.socket.AF_INET
    with trio.socket.socket(family) as probe:
        probe.setsockopt(trio.socket.SOL_SOCKET, trio.socket.SO_REUSEADDR, 1)
        try:
            await probe.bind((addr.value_for_protocol(names[0]), port))
        except OSError as e:
            raise LocalMisuseError("misuse.listen-failed", f"{text}: {e}") from e
    return addr


def _parse_peer_id(text: str) -> Any:
    try:
        return ID.from_base58(text)
    except Exception as e:
        raise LocalMisuseError("misuse.bad-peer-id", f"not a peer id: {text!r}") from e


def _remote_fault(e: Exception, peer: str, what: str) -> RemoteFaultError:
    if isinstance(e, StreamReset):
        code = "remote.stream-reset"
    elif isinstance(e, StreamClosed):
        code = "remote.stream-closed"
    elif isinstance(e, StreamFailure) and "not supported" in str(e.__cause__):
        code = "remote.protocol-unsupported"  # only the message tells it apart
    elif isinstance(e, SwarmException):  # no address known, or none answered
        code = "remote.dial-failed"
    else:
        code = "remote.stream-failed"
    return RemoteFaultError(code, f"{what} with {peer}: {type(e).__name__}: {e}", peer=peer)


class _RawStream:
    """A libp2p net stream as node.p2p_streams.RawStream: our errors, b"" at the end."""

    def __init__(self, stream: Any, peer: str) -> None:
        self._stream = stream
        self._peer = peer

    async def read(self, max_bytes: int) -> bytes:
        try:
            return bytes(await self._stream.read(max_bytes))
        except StreamEOF:
            return b""
        except Exception as e:
            raise _remote_fault(e, self._peer, "read") from e

    async def write(self, data: bytes) -> None:
        await self._call("write", data)

    async def close(self) -> None:
        await self._call("close")

    async def reset(self) -> None:
        await self._call("reset")

    async def _call(self, name: str, *args: Any) -> None:
        try:
            await getattr(self._stream, name)(*args)
        except Exception as e:
            raise _remote_fault(e, self._peer, name) from e


def _wrap_stream(net_stream: Any) -> Stream:
    peer = net_stream.muxed_conn.peer_id.to_base58()
    raw = _RawStream(net_stream, peer)
    return Stream(raw, remote_peer=peer, protocol=str(net_stream.get_protocol()))


class _Scorer(PeerScorer):
    """libp2p's scorer, plus IGNORE excuses and our decaying reject count per peer."""

    def __init__(self, config: HostConfig) -> None:
        s = config.scoring
        if s.invalid_message_weight > 0 or s.behaviour_penalty_weight > 0:
            raise LocalMisuseError("misuse.bad-argument", "penalty weights must be <= 0")
        p2 = (s.first_delivery_weight, s.first_delivery_cap, s.first_delivery_decay)
        p4 = (-s.invalid_message_weight, s.invalid_message_cap, s.invalid_message_decay)
        super().__init__(
            ScoreParams(
                p2_first_message_deliveries=TopicScoreParams(*p2),
                p4_invalid_messages=TopicScoreParams(*p4),  # sign flipped: see module doc
                p5_behavior_penalty_weight=-s.behaviour_penalty_weight,
                p5_behavior_penalty_threshold=s.behaviour_penalty_threshold,
                p5_behavior_penalty_decay=s.behaviour_penalty_decay,
                gossip_threshold=s.gossip_threshold,
                publish_threshold=s.publish_threshold,
                graylist_threshold=s.graylist_threshold,
                accept_px_threshold=0.0,
            )
        )
        self.excused: collections.Counter[tuple[ID, str]] = collections.Counter()
        self.rejects: dict[ID, tuple[float, float]] = {}  # peer -> (count, when)
        self.on_ban: Callable[[ID], None] = lambda peer: None
        self.address_of: Callable[[ID], str | None] = lambda peer: None
        self.addresses: dict[ID, str] = {}  # peer -> its last known IP address
        self.bans_by_address: dict[str, tuple[float, float]] = {}  # address -> (bans, when)
        self._config = config

    def on_invalid_message(self, peer: ID, topic: str) -> None:
        if self.excused[(peer, topic)] > 0:  # the validator said IGNORE
            self.excused[(peer, topic)] -= 1
            self.excused += collections.Counter()  # drops the zeros
            return
        super().on_invalid_message(peer, topic)
        self.charge(peer)

    def charge(self, peer: ID, weight: float = 1.0) -> None:
        """Add `weight` rejects to the peer's decaying count; ban it at the limit.
        Gossip rejects and stream-protocol faults (sync, blobs) both land here."""
        count = self.reject_count(peer) + weight
        self.rejects[peer] = (count, trio.current_time())
        if len(self.rejects) > MAX_TRACKED_PEERS:  # forget who has nearly decayed away
            self.rejects = {p: r for p, r in self.rejects.items() if self.reject_count(p) > 1}
        limit = self.ban_limit(peer)
        if limit is not None and count >= limit:
            self.on_ban(peer)

    def ban_limit(self, peer: ID) -> float | None:
        """The count at which `peer` is banned: `ban_after_rejects`, halved for each ban
        (decaying) of a peer from the same address, down to 1. A fresh peer id from an
        address whose ids were banned buys 5, then 2.5, ... faults instead of 10: new
        ids cost an attacker nothing, addresses do. Honest peers behind the same NAT
        lose only slack they rarely use (gossipsub's IP colocation factor, softened)."""
        limit = self._config.scoring.ban_after_rejects
        if limit is None:
            return None
        address = self.address(peer)
        bans = 0.0 if address is None else self.address_bans(address)
        return max(1.0, limit / 2**bans)

    def address(self, peer: ID) -> str | None:
        """The peer's IP address, as last seen on one of its connections."""
        found = self.address_of(peer)
        if found is not None:
            self.addresses[peer] = found
            if len(self.addresses) > MAX_TRACKED_PEERS:
                self.addresses.pop(next(iter(self.addresses)))
        return self.addresses.get(peer)

    def address_bans(self, address: str) -> float:
        count, when = self.bans_by_address.get(address, (0.0, 0.0))
        return float(count * 0.5 ** ((trio.current_time() - when) / ADDRESS_BAN_HALF_LIFE_S))

    def note_ban(self, peer: ID) -> None:
        """Count a ban against the peer's address (before it is disconnected)."""
        address = self.address(peer)
        if address is not None:
            self.bans_by_address[address] = (self.address_bans(address) + 1.0, trio.current_time())
            if len(self.bans_by_address) > MAX_TRACKED_PEERS:
                self.bans_by_address.pop(next(iter(self.bans_by_address)))

    def reject_count(self, peer: ID) -> float:
        count, when = self.rejects.get(peer, (0.0, 0.0))
        beats = (trio.current_time() - when) / self._config.gossip.heartbeat_interval_s
        return float(count * self._config.scoring.invalid_message_decay**beats)


class _ConnectionsChanged(INotifee):
    """libp2p's network notifications, reduced to "the connections changed"."""

    def __init__(self, callback: Callable[[], None]) -> None:
        self._callback = callback

    async def connected(self, network: Any, conn: Any) -> None:
        self._callback()

    async def disconnected(self, network: Any, conn: Any) -> None:
        self._callback()

    async def opened_stream(self, network: Any, stream: Any) -> None:
        pass

    async def closed_stream(self, network: Any, stream: Any) -> None:
        pass

    async def listen(self, network: Any, multiaddr: Any) -> None:
        pass

    async def listen_close(self, network: Any, multiaddr: Any) -> None:
        pass


class P2PHost:
    """A running libp2p host, made by `open_host` and valid inside its `async with`."""

    def __init__(
        self,
        host: Any,
        pubsub: Any,
        config: HostConfig,
        nursery: trio.Nursery,
        relay: _MemberRelay,
        dcutr: _CountedDCUtR,
    ) -> None:
        self._host = host
        self._relay = relay
        self._dcutr = dcutr
        self._circuits = CircuitV2Transport(host, relay.protocol, RelayConfig(roles=RelayRole.STOP))
        self._pubsub = pubsub
        self._config = config
        self._nursery = nursery
        self._scorer: _Scorer = pubsub.router.scorer
        self._scorer.on_ban = self._ban
        self._scorer.address_of = self._address_of
        self._banned: set[ID] = set()
        self._bans: dict[ID, int] = {}  # peer -> bans so far (the next one lasts longer)
        self._validators: dict[str, Callable[[str, bytes], Verdict]] = {}
        self._own_verdicts: dict[bytes, Verdict] = {}
        queues = pubsub.peer_queues
        self._pacer = PublishPacer(config.gossip, lambda: (len(q) for q in queues.values()))
        self.peer_id: str = host.get_id().to_base58()
        self.listen_addrs = [f"{a}/p2p/{self.peer_id}" for a in host.get_transport_addrs()]

    def _address_of(self, peer: ID) -> str | None:
        """The IP address of one of the peer's live direct connections, if any. A relayed
        connection's remote address is the relay's: bans are never counted against it."""
        for conn in self._host.get_network().get_connections(peer):
            with contextlib.suppress(Exception):  # a connection closing meanwhile
                remote = conn.muxed_conn.get_remote_address()
                if remote and not _is_relayed(conn):
                    return str(remote[0])
        return None

    async def connect(self, maddr: str) -> str:
        """Dial `maddr` (ending in /p2p/<peer id>) unless already connected; the peer id."""
        addr = _parse_maddr(maddr)
        try:
            info = info_from_p2p_addr(addr)
        except Exception as e:
            raise LocalMisuseError("misuse.bad-multiaddr", f"no /p2p/<id> in {maddr}") from e
        peer = str(info.peer_id.to_base58())
        try:
            with trio.fail_after(self._config.dial_timeout_s):
                if RELAYED_SUFFIX in maddr:  # through a relay: libp2p's swarm cannot
                    if peer not in self.connected_peers():
                        await self._circuits.dial(addr)
                else:
                    await self._host.connect(info)
        except Exception as e:
            raise RemoteFaultError(
                "remote.dial-failed", f"dialing {maddr}: {type(e).__name__}: {e}", peer=peer
            ) from e
        return peer

    def connected_peers(self) -> list[str]:
        return sorted(p.to_base58() for p in self._host.get_connected_peers())

    def on_connections_changed(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Call `callback` (on the trio thread, it must not block) whenever a connection
        opens or closes, so a watcher of `connected_peers` need not wait for its poll;
        returns what stops it."""
        network = self._host.get_network()
        notifee = _ConnectionsChanged(callback)
        network.register_notifee(notifee)
        return lambda: network.remove_notifee(notifee)

    def connections(self) -> list[ConnectionInfo]:
        """Each live connection: its peer, whether it is relayed, its remote address."""
        found = []
        for peer, conns in self._host.get_network().get_connections_map().items():
            for conn in conns:
                with contextlib.suppress(Exception):  # a connection closing meanwhile
                    relayed = _is_relayed(conn)
                    remote = conn.muxed_conn.get_remote_address()
                    where = f"{remote[0]}:{remote[1]}" if remote else None
                    found.append(ConnectionInfo(peer.to_base58(), relayed, where))
        return sorted(found, key=lambda c: (c.peer, c.remote or ""))

    def observed_addrs(self) -> tuple[list[str], list[str]]:
        """(confirmed, seen): the addresses peers report seeing us at through identify;
        confirmed by libp2p's 4 distinct observers, or seen by at least one (0014 §1.1)."""
        manager = getattr(self._host, "_observed_addr_manager", None)
        if manager is None:
            return [], []
        try:
            return [str(a) for a in manager.addrs()], [str(a) for a in manager.addrs(1)]
        except Exception as e:  # an internal of libp2p: its failure is not ours
            logger.info("observed addresses unavailable: %s", e)
            return [], []

    def remote_ip(self, peer_id: str) -> str | None:
        """The IP address `peer_id` is connected to us from (a direct connection)."""
        try:
            return self._address_of(_parse_peer_id(peer_id))
        except LocalMisuseError:
            return None

    async def dial_back(self, peer_id: str, ip: str, port: int, timeout_s: float) -> bool:
        """Can `peer_id` be reached at ip:port on a NEW connection (specs/0014 §6)?

        libp2p's AutoNAT dials back with `host.connect`, which reuses the connection
        the request came on and so always succeeds (0014 §1.2); the swarm's `dial_addr`
        opens a new one and checks the peer id in the handshake. It is closed at once."""
        peer = _parse_peer_id(peer_id)
        family = "ip6" if ":" in ip else "ip4"
        addr = _parse_maddr(f"/{family}/{ip}/tcp/{port}")
        conn = None
        try:
            with trio.fail_after(timeout_s):
                conn = await self._host.get_network().dial_addr(addr, peer)
            return True
        except Exception as e:  # unreachable, refused, timed out, another peer: all "no"
            logger.info("dial-back to %s at %s failed: %s", peer_id, addr, type(e).__name__)
            return False
        finally:
            if conn is not None:
                with contextlib.suppress(Exception):
                    await conn.close()

    # -- member relays (specs/0014 §7) --------------------------------------------------

    def offer_relay(self, admits: Callable[[str], bool]) -> None:
        """Serve circuit relay v2 hop to the peers `admits` says yes to (asked at each
        hop stream, so a change of mind holds for the next request)."""
        self._relay.admits = admits

    async def reserve(self, relay_peer_id: str) -> bool:
        """Hold (or refresh) a reservation at a connected relay; False if it refused."""
        relay = _parse_peer_id(relay_peer_id)
        try:
            with trio.fail_after(self._config.dial_timeout_s):
                net_stream = await self._host.new_stream(relay, [HOP_PROTOCOL_ID])
        except Exception as e:
            raise _remote_fault(e, relay_peer_id, "opening a reservation") from e
        try:
            return bool(await self._circuits._make_reservation(net_stream, relay))
        finally:
            with contextlib.suppress(Exception):
                await net_stream.close()

    def relay_statistics(self) -> RelayStatistics:
        return self._relay.statistics(self._dcutr)

    def set_stream_handler(
        self, protocol_id: str, handler: Callable[[Stream], Awaitable[None]]
    ) -> None:
        """Serve `protocol_id`: `handler` gets each inbound stream (see `serve_stream`)."""

        async def serve(net_stream: Any) -> None:
            stream = _wrap_stream(net_stream)
            if net_stream.muxed_conn.peer_id in self._banned:
                await stream.reset()
            else:
                await serve_stream(stream, handler)

        self._host.set_stream_handler(TProtocol(protocol_id), serve)

    async def open_stream(self, peer_id: str, protocol_id: str) -> Stream:
        """A new stream to `peer_id` speaking `protocol_id` (dialing known addrs if needed)."""
        peer = _parse_peer_id(peer_id)
        try:
            with trio.fail_after(self._config.dial_timeout_s):
                net_stream = await self._host.new_stream(peer, [TProtocol(protocol_id)])
        except trio.TooSlowError as e:
            msg = f"opening {protocol_id} with {peer_id}"
            raise RemoteFaultError("remote.timeout", msg, peer=peer_id) from e
        except Exception as e:
            raise _remote_fault(e, peer_id, f"opening {protocol_id}") from e
        return _wrap_stream(net_stream)

    async def subscribe(
        self, topic: str, validator: Callable[[str, bytes], Verdict]
    ) -> Subscription:
        """Join `topic`. `validator(from_peer, data)` judges every message before
        anything else sees it, ours included; raising a CommonsError is REJECT."""
        if topic in self._validators:
            raise LocalMisuseError("misuse.already-subscribed", f"already subscribed to {topic}")
        self._validators[topic] = validator
        self._pubsub.set_topic_validator(topic, self._router_validator(topic), False)
        await self._pubsub.subscribe(topic)
        # Swap libp2p's 32-message channel for a larger one, moving what arrived meanwhile.
        send, receive = trio.open_memory_channel[Any](self._config.gossip.subscription_buffer)
        old_send = self._pubsub.subscribed_topics_send[topic]
        old_receive = self._pubsub.subscribed_topics_receive[topic].receive_channel
        self._pubsub.subscribed_topics_send[topic] = send
        with contextlib.suppress(trio.WouldBlock):
            while True:
                send.send_nowait(old_receive.receive_nowait())
        old_send.close()
        old_receive.close()
        return Subscription(topic, receive, self._to_message, lambda: self._unsubscribe(topic))

    def _to_message(self, msg: Any) -> Message | None:
        from_peer = ID(msg.from_id).to_base58()
        own = from_peer == self.peer_id
        return None if own else Message(from_peer, bytes(msg.data), msg_id(msg))

    async def _unsubscribe(self, topic: str) -> None:
        if topic in self._validators:  # keeps validating until we are out of the topic
            await self._pubsub.unsubscribe(topic)
            self._pubsub.remove_topic_validator(topic)
            self._validators.pop(topic, None)

    async def publish(self, topic: str, data: bytes) -> None:
        """Send `data` on `topic`, subscribed or not. The same bytes again are dropped as
        seen. Waits (rather than let libp2p drop) while we are at the spam limit or
        libp2p's outbound queues are full; delivery is still best effort."""
        await self._pacer.wait(topic)
        try:
            await self._pubsub.publish(topic, data)
        finally:
            verdict = self._own_verdicts.pop(hashlib.sha256(data).digest(), None)
        if verdict is Verdict.REJECT:
            msg = f"our own validator rejects this {topic} message"
            raise LocalMisuseError("misuse.publish-rejected", msg)

    def statistics(self) -> P2PStatistics:
        topics = sorted(self._pubsub.topic_ids)
        mesh = self._pubsub.router.mesh
        peers = self._host.get_connected_peers()
        return P2PStatistics(
            peer_id=self.peer_id,
            connected_peers=self.connected_peers(),
            topics={
                t: (len(self._pubsub.peer_topics.get(t, ())), len(mesh.get(t, ()))) for t in topics
            },
            peer_scores={p.to_base58(): self._scorer.score(p, topics) for p in peers},
            rejects={p.to_base58(): self._scorer.reject_count(p) for p in self._scorer.rejects},
            banned_peers=sorted(p.to_base58() for p in self._banned),
            address_bans={a: self._scorer.address_bans(a) for a in self._scorer.bans_by_address},
        )

    def _router_validator(self, topic: str) -> Callable[[ID, Any], bool]:
        """The yes/no validator libp2p calls, from our three-way one (see module doc)."""

        def check(forwarder: ID, msg: Any) -> bool:
            try:
                verdict = self._validators[topic](ID(msg.from_id).to_base58(), bytes(msg.data))
            except CommonsError:
                verdict = Verdict.REJECT
            except Exception:
                logger.exception("validator of %s failed; ignoring the message", topic)
                verdict = Verdict.IGNORE
            own = forwarder == self._host.get_id()
            if own:
                self._own_verdicts[msg_id(msg)] = verdict
            passed = verdict is Verdict.ACCEPT or (own and verdict is Verdict.IGNORE)
            if not passed and (own or verdict is Verdict.IGNORE):  # no penalty
                self._scorer.excused.update((forwarder, t) for t in msg.topicIDs)
            if not own and verdict is Verdict.IGNORE:
                self._pubsub._mark_msg_seen(msg)
            return passed

        return check

    def penalise(self, peer_id: str, code: str, weight: float = 1.0) -> None:
        """Charge a peer for a fault of ours to judge (a sync or blob protocol error, a
        refused frame): the same decaying count gossip rejects feed, and the same ban
        (specs/0012 §5, finding 10). Logged at WARNING."""
        peer = _parse_peer_id(peer_id)
        if peer in self._banned:
            return
        self._scorer.charge(peer, weight)
        limit = self._scorer.ban_limit(peer)
        logger.warning(
            "peer %s: %s (penalty %.1f of %s)",
            peer_id,
            code,
            self._scorer.reject_count(peer),
            limit,
        )

    def _ban(self, peer: ID) -> None:
        if peer not in self._banned:
            self._scorer.note_ban(peer)
            self._banned.add(peer)
            self._bans[peer] = self._bans.get(peer, 0) + 1
            self._pubsub.blacklisted_peers.add(peer)
            self._nursery.start_soon(self._serve_ban, peer)

    async def _serve_ban(self, peer: ID) -> None:
        """Ban for ban_duration_s, doubled for each earlier ban of the peer (at most
        MAX_BAN_S); the ban holds across reconnections (streams are reset, gossip is
        dropped) and the peer's record of bans is kept after it lifts."""
        repeats = self._bans.get(peer, 1) - 1
        ban_s = min(self._config.scoring.ban_duration_s * 2**repeats, MAX_BAN_S)
        logger.warning("banning %s for %s s: too many faults (ban %d)", peer, ban_s, repeats + 1)
        with contextlib.suppress(Exception), trio.move_on_after(self._config.dial_timeout_s):
            await self._host.disconnect(peer)
        await trio.sleep(ban_s)
        self._pubsub.blacklisted_peers.discard(peer)
        self._banned.discard(peer)
        self._scorer.rejects.pop(peer, None)

    async def _keep_bootstrap_peers(self) -> None:
        while True:
            async with trio.open_nursery() as nursery:
                for maddr in self._config.bootstrap:
                    nursery.start_soon(self._try_connect, maddr)
            await trio.sleep(BOOTSTRAP_RETRY_S)

    async def _try_connect(self, maddr: str) -> None:
        try:
            await self.connect(maddr)
        except CommonsError as e:
            logger.info("could not connect to %s: %s", maddr, e)

    async def _dial_discovered(self) -> None:
        """Dial the peers mDNS finds (libp2p only records them); zeroconf's thread calls us."""
        send, receive = trio.open_memory_channel[PeerInfo](64)
        token = trio.lowlevel.current_trio_token()

        def found(info: PeerInfo) -> None:
            token.run_sync_soon(_send_or_drop, send, info)

        peerDiscovery.register_peer_discovered_handler(found)
        try:
            async for info in receive:
                if info.addrs and info.peer_id not in (self._host.get_id(), *self._banned):
                    await self._try_connect(f"{info.addrs[0]}/p2p/{info.peer_id}")
        finally:
            peerDiscovery.unregister_peer_discovered_handler(found)


class _Circuit:
    """One CONNECT at our relay, from the request to its end (specs/0014 §7.3)."""

    def __init__(self, hop_stream: Any) -> None:
        self.streams = [hop_stream]  # the source's hop stream, then the destination's
        self.open = False  # libp2p answered OK: the circuit carries bytes
        self.deadline: float | None = None  # libp2p's, on time.monotonic()
        self.end = "closed"  # why it ended: CIRCUIT_ENDS
        self.directions: list[trio.CancelScope] = []  # libp2p's two relaying loops


class _CountedStream:
    """The destination side of one relaying direction: counts the bytes libp2p writes."""

    def __init__(self, stream: Any, relay: _MemberRelay) -> None:
        self._stream, self._relay = stream, relay

    async def write(self, data: bytes) -> None:
        await self._stream.write(data)
        self._relay.bytes_relayed += len(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


#: Why libp2p refused a CONNECT that passed our checks, by the status it answered.
LIBP2P_REFUSALS: dict[int, str] = {
    StatusCode.NO_RESERVATION: "no-reservation",  # none at the destination, or its 8 in use
    StatusCode.RESOURCE_LIMIT_EXCEEDED: "circuits-per-reservation",  # the source's
    StatusCode.PERMISSION_DENIED: "bad-voucher",
    StatusCode.CONNECTION_FAILED: "destination-unreachable",
}
#: Why an open circuit ended: either end closed or reset it, or a limit cut it.
CIRCUIT_ENDS = ("closed", "data-limit", "duration-limit")


class _MemberRelay:
    """libp2p's circuit relay v2 (hop), for members only, with our limits (specs/0014
    §1.3, §7.3). libp2p has no access control, takes a reservation's peer from the
    request (so one peer could reserve in another's name) and enforces only the
    reservations in all, circuits per reservation and each circuit's bytes; its
    duration only while bytes move. Its handlers are wrapped on the instance, before
    `run` registers them: the hop stream of a peer `admits` refuses is answered
    PERMISSION_DENIED before libp2p reads it; RESERVE must name the connection's own
    peer; CONNECT is counted per source peer and in all, and cut at its duration.
    libp2p counts nothing: the wrappers of its status replies and of its relaying loop
    count the circuits opened, refused and ended, by reason, and the bytes relayed."""

    GRACE_S = 5.0  # beyond a circuit's duration, for libp2p's own cut to come first

    def __init__(self, host: Any, limits: RelayLimits) -> None:
        self.limits = limits
        self.admits: Callable[[str], bool] = lambda peer: False
        self.protocol = protocol = CircuitV2Protocol(
            host,
            Libp2pRelayLimits(
                duration=limits.circuit_duration_s,
                data=limits.circuit_bytes,
                max_circuit_conns=limits.circuits_per_reservation,
                max_reservations=limits.reservations,
                reservation_ttl=limits.reservation_ttl_s,
            ),
            allow_hop=True,
        )
        self.circuits: collections.Counter[str] = collections.Counter()
        self.served: collections.Counter[str] = collections.Counter()
        self.refused: collections.Counter[str] = collections.Counter()
        self.ended: collections.Counter[str] = collections.Counter()
        self.bytes_relayed = 0
        self._open: dict[int, _Circuit] = {}  # id() of each of its streams -> circuit
        self._hop, self._reserve = protocol._handle_hop_stream, protocol._handle_reserve
        self._connect, self._relay = protocol._handle_connect, protocol._relay_data
        self._status = protocol._send_status
        protocol._handle_hop_stream = self._handle_hop  # type: ignore[method-assign]
        protocol._handle_reserve = self._handle_reserve  # type: ignore[method-assign]
        protocol._handle_connect = self._handle_connect  # type: ignore[method-assign]
        protocol._relay_data = self._relay_data  # type: ignore[method-assign]
        protocol._send_status = self._send_status  # type: ignore[method-assign]

    async def _handle_hop(self, stream: Any) -> None:
        if not self.admits(stream.muxed_conn.peer_id.to_base58()):
            await self._refuse(stream, "not-a-member", StatusCode.PERMISSION_DENIED)
            return
        await self._hop(stream)

    async def _handle_reserve(self, stream: Any, msg: Any) -> None:
        remote = stream.muxed_conn.peer_id
        if msg.HasField("peer") and msg.peer.id and ID(msg.peer.id) != remote:
            await self._refuse(stream, "reserve-for-another", StatusCode.PERMISSION_DENIED)
            return
        await self._reserve(stream, msg)
        if self.protocol.resource_manager.has_reservation(remote):
            self.served["reservations"] += 1

    async def _handle_connect(self, stream: Any, msg: Any) -> None:
        source, limits = stream.muxed_conn.peer_id.to_base58(), self.limits
        if self.circuits[source] >= limits.circuits_per_peer:
            await self._refuse(stream, "circuits-per-peer", StatusCode.RESOURCE_LIMIT_EXCEEDED)
            return
        if sum(self.circuits.values()) >= limits.circuits:
            await self._refuse(stream, "circuits", StatusCode.RESOURCE_LIMIT_EXCEEDED)
            return
        self.circuits[source] += 1
        circuit = self._open[id(stream)] = _Circuit(stream)
        try:
            with trio.move_on_after(limits.circuit_duration_s + self.GRACE_S) as scope:
                await self._connect(stream, msg)
            if scope.cancelled_caught:  # idle past its duration: libp2p never looked
                circuit.end = "duration-limit"
                await self._cut(stream, ID(msg.peer.id))
        finally:
            self.circuits[source] -= 1
            self.circuits += collections.Counter()  # drops the zeros
            for each in circuit.streams:
                self._open.pop(id(each), None)
            relays = self.protocol._active_relays  # what a cancelled loop left behind
            for peer in (stream.muxed_conn.peer_id, ID(msg.peer.id)):
                if relays.get(peer, (None, None))[0] is stream:
                    del relays[peer]
            if circuit.open:
                self.ended[circuit.end] += 1

    async def _send_status(self, stream: Any, code: Any, message: str, limit: Any = None) -> None:
        """libp2p's status reply, noted first: OK opens a circuit; any other code to a
        CONNECT refuses it (LIBP2P_REFUSALS) or, once open, says a limit cut it."""
        circuit = self._open.get(id(stream))
        if circuit is not None and not circuit.open:
            if code == StatusCode.OK:
                circuit.open = True
                self.served["circuits"] += 1
            else:
                self.refused[LIBP2P_REFUSALS.get(int(code), "other")] += 1
        elif circuit is not None and code == StatusCode.RESOURCE_LIMIT_EXCEEDED:
            # libp2p says which limit cut it ("Circuit duration limit exceeded", "Data
            # transfer limit exceeded"); its deadline check runs first, so a read that
            # blocked past the deadline and then overran the bytes is still a data cut
            if "data" in message.lower():
                circuit.end = "data-limit"
            elif "duration" in message.lower():
                circuit.end = "duration-limit"
            else:
                late = circuit.deadline is not None and time.monotonic() > circuit.deadline
                circuit.end = "duration-limit" if late else "data-limit"
        await self._status(stream, code, message, limit)

    async def _relay_data(
        self,
        src_stream: Any,
        dst_stream: Any,
        peer_id: Any,
        deadline: float | None = None,
        circuit_data_limit: list[int] | None = None,
    ) -> None:
        """One direction of an open circuit: libp2p's loop, writing through a counter."""
        circuit = self._open.get(id(src_stream)) or self._open.get(id(dst_stream))
        if circuit is None:
            await self._relay(src_stream, dst_stream, peer_id, deadline, circuit_data_limit)
            return
        for each in (src_stream, dst_stream):
            if id(each) not in self._open:
                circuit.streams.append(each)
                self._open[id(each)] = circuit
        circuit.deadline = deadline
        counted: Any = _CountedStream(dst_stream, self)
        with trio.CancelScope() as scope:
            circuit.directions.append(scope)
            await self._relay(src_stream, counted, peer_id, deadline, circuit_data_limit)
        if circuit.end != "closed":  # libp2p reset both streams at a limit, but its read
            for direction in circuit.directions:  # of one it reset can wait for ever: the
                direction.cancel()  # circuit would hold its source's slot till GRACE_S

    async def _refuse(self, stream: Any, why: str, code: Any) -> None:
        self.refused[why] += 1
        peer = stream.muxed_conn.peer_id.to_base58()
        logger.info("relay: refusing %s: %s", peer, why)
        with contextlib.suppress(Exception), trio.move_on_after(5.0):
            msg = HopMessage(type=HopMessage.STATUS, status=to_proto_status(code))
            await write_delimited_msg(stream, msg)
            await stream.close()

    async def _cut(self, stream: Any, destination: Any) -> None:
        with trio.CancelScope(shield=True), trio.move_on_after(5.0):
            pair = self.protocol._active_relays.pop(destination, (None, None))
            for each in (stream, *pair):
                if each is not None:
                    with contextlib.suppress(Exception):
                        await each.reset()

    def statistics(self, dcutr: _CountedDCUtR) -> RelayStatistics:
        manager = self.protocol.resource_manager
        manager._clean_expired()
        return RelayStatistics(
            reservations=sorted(p.to_base58() for p in manager._reservations),
            circuits=dict(self.circuits),
            served=dict(self.served),
            refused=dict(self.refused),
            dcutr_attempts=dcutr.attempts,
            dcutr_successes=dcutr.successes,
            ended=dict(self.ended),
            bytes_relayed=self.bytes_relayed,
        )


class _CountedDCUtR:
    """libp2p's DCUtR, counting the hole punches we start and those that end with a
    direct connection (libp2p counts neither: specs/0014 §1.4, §7.5)."""

    def __init__(self, host: Any) -> None:
        self.protocol = DCUtRProtocol(host)
        self.attempts = 0
        self.successes = 0
        initiate = self.protocol.initiate_hole_punch

        async def counted(peer_id: Any) -> bool:
            self.attempts += 1
            ok = bool(await initiate(peer_id))
            self.successes += ok
            logger.info("DCUtR with %s: %s", peer_id, "direct" if ok else "still relayed")
            return ok

        self.protocol.initiate_hole_punch = counted  # type: ignore[method-assign]


def _limit_inbound_per_ip(swarm: Any, limit: int) -> None:
    """At most `limit` inbound connections from one IP address being set up or held
    at once; more are closed before any handshake (specs/0012 §5, finding 9: ~1,100
    never-handshaking connections from one host filled libp2p's inbound slots and kept
    honest nodes out). py-libp2p 0.8.1 calls `_handle_inbound_connection` for every
    accepted connection; wrapping it is the one hook before the handshake."""
    handle = swarm._handle_inbound_connection
    held: collections.Counter[str] = collections.Counter()

    async def limited(read_write_closer: Any, maddr: Any) -> None:
        try:
            ip = str(read_write_closer.get_remote_address()[0])
        except Exception:  # no address: libp2p's own checks decide
            ip = ""
        if ip and held[ip] >= limit:
            logger.info("refusing an inbound connection from %s: %d held", ip, held[ip])
            with contextlib.suppress(Exception):
                await read_write_closer.close()
            return
        held[ip] += 1
        try:
            await handle(read_write_closer, maddr)
        finally:
            held[ip] -= 1
            if held[ip] <= 0:
                del held[ip]

    swarm._handle_inbound_connection = limited


def _is_relayed(conn: Any) -> bool:
    """Whether a swarm connection runs through a relay's circuit."""
    return any(RELAYED_SUFFIX in str(a) for a in conn.get_transport_addresses())


def _send_or_drop(send: trio.MemorySendChannel[Any], item: Any) -> None:
    with contextlib.suppress(trio.WouldBlock, trio.ClosedResourceError):
        send.send_nowait(item)


@contextlib.asynccontextmanager
async def open_host(config: HostConfig) -> AsyncIterator[P2PHost]:
    """Run a host until the block exits; every task it started has ended when it does."""
    key_pair = _key_pair(config.key_seed)
    listen = [await _parse_listen(a) for a in config.listen]
    g = config.gossip
    host = new_host(
        key_pair=key_pair,
        sec_opt={NOISE_ID: NoiseTransport(key_pair, create_new_x25519_key_pair().private_key)},
        muxer_opt={TProtocol(YAMUX_ID): Yamux},
        listen_addrs=listen,
        enable_mDNS=config.mdns,
        connection_config=ConnectionConfig(
            min_connections=8,
            low_watermark=8,
            high_watermark=64,
            dial_timeout=config.dial_timeout_s,
            inbound_upgrade_timeout=INBOUND_HANDSHAKE_S,
        ),
    )
    _limit_inbound_per_ip(host.get_network(), MAX_INBOUND_PER_IP)
    router = gossip_router(g)
    router.scorer = _Scorer(config)
    pubsub = pubsub_over(host, router, g)
    async with contextlib.AsyncExitStack() as stack:
        stack.callback(pubsub.seen_messages.stop)  # a thread per Pubsub, never stopped
        try:
            await stack.enter_async_context(host.run(listen_addrs=listen))
        except Exception as e:
            where = ", ".join(config.listen)
            raise LocalMisuseError("misuse.listen-failed", f"on {where}: {e}") from e
        stack.push_async_callback(host.close)  # host.run() alone leaks tasks and sockets
        await stack.enter_async_context(background_trio_service(pubsub))
        await stack.enter_async_context(background_trio_service(router))
        await pubsub.wait_until_ready()
        relay, dcutr = _MemberRelay(host, config.relay), _CountedDCUtR(host)
        await stack.enter_async_context(background_trio_service(relay.protocol))
        await stack.enter_async_context(background_trio_service(dcutr.protocol))
        nursery = await stack.enter_async_context(trio.open_nursery())
        p2p = P2PHost(host, pubsub, config, nursery, relay, dcutr)
        if config.bootstrap:
            nursery.start_soon(p2p._keep_bootstrap_peers)
        if config.mdns:
            nursery.start_soon(p2p._dial_discovered)
        try:
            yield p2p
        finally:
            nursery.cancel_scope.cancel()
