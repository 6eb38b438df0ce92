"""Discovery: the address-record exchange, `/fabcommons/addresses/1` (specs/0014 §3).

A node signs a record of where it listens (protocol.address, with its host key) and
swaps records with each peer it connects to: it sends its own, the peer answers with
its own and the freshest records it holds of others. Every record is judged alone
(signature, network, clock) before it reaches the peer store (node.store.peers); a
bad one is dropped and counted against the peer that sent it. What to dial, and when,
is the peering machine's (ledger.peering; node.net.network drives both).

Guarantees: one frame each way, each within MAX_ADDRESS_FRAME_BYTES and the I/O
timeout; our own record is re-signed only when our addresses change; the store is
touched from worker threads only. Left to others: the dials (node.net.network), the
addresses a NAT hides (reachability, specs/0014 §6).
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import time

import ifaddr
import trio

from node.net.host import P2PHost, Stream, read_frame, write_frame
from node.store.peers import PeerStore, StoredPeer
from protocol.address import (
    ADDRESS_PROTOCOL_ID,
    MAX_ADDRESS_FRAME_BYTES,
    MAX_ADDRESS_RECORD_BYTES,
    MAX_RECORD_ADDRS,
    MAX_SHARED_RECORDS,
    AddressRecord,
    check_multiaddr,
    decode_address_frame,
    encode_address_frame,
    judge_records,
    sign_address_record,
)
from protocol.errors import CommonsError
from protocol.framing import FrameDecoder
from protocol.keys import SigningKey

__all__ = ["ADDRESS_PROTOCOL_ID", "Discovery"]

log = logging.getLogger(__name__)
IO_TIMEOUT_S = 30.0
#: How often the records are swapped again with a peer that stays connected.
EXCHANGE_INTERVAL_S = 600.0
#: A peer asking again sooner is reset unanswered: each answer costs up to 24 signature
#: checks of stored records, and an honest peer asks once per connection or 10 minutes.
MIN_REQUEST_INTERVAL_S = 5.0
MAX_REQUESTERS = 4096
#: Relayed addresses a record holds at most (the rest of its 8 are direct ones).
MAX_RELAYED = 4


def _wall_ms() -> int:
    return time.time_ns() // 1_000_000


def interface_ips() -> list[str]:
    """This machine's addresses another machine may dial: no loopback, no link-local."""
    found = []
    for adapter in ifaddr.get_adapters():
        for ip in adapter.ips:
            text = ip.ip if isinstance(ip.ip, str) else ip.ip[0]
            with contextlib.suppress(ValueError):
                parsed = ipaddress.ip_address(text)
                if not (parsed.is_loopback or parsed.is_link_local or parsed.is_unspecified):
                    found.append(str(parsed))
    return found


def dialable_addrs(listen_addrs: list[str], interfaces: list[str] | None = None) -> list[str]:
    """Our listen addresses a peer can dial, without /p2p/<id>: a wildcard listen
    (0.0.0.0, ::) stands for each of `interfaces` of its family (specs/0014 §2.1).
    Global addresses first, then the others, at most MAX_RECORD_ADDRS."""
    found: set[str] = set()
    for addr in listen_addrs:
        bare = addr.split("/p2p/", 1)[0]
        parts = bare.split("/")
        if len(parts) == 5 and parts[2] in ("0.0.0.0", "::"):
            family = 4 if parts[1] == "ip4" else 6
            for ip in interfaces or []:
                if ipaddress.ip_address(ip).version == family:
                    found.add(f"/{parts[1]}/{ip}/tcp/{parts[4]}")
            continue
        with contextlib.suppress(CommonsError):
            found.add(check_multiaddr(bare))
    ranked = sorted(found, key=lambda a: (not _is_global(a), a))
    return sorted(ranked[:MAX_RECORD_ADDRS])


def _is_global(addr: str) -> bool:
    try:
        return ipaddress.ip_address(addr.split("/")[2]).is_global
    except ValueError:
        return True  # a DNS name: as good as a public address


class Discovery:
    """Our address record, the exchange's two sides, and the peer store behind them."""

    def __init__(
        self,
        host: P2PHost,
        store: PeerStore,
        key: SigningKey,
    ) -> None:
        self.host = host
        self.store = store
        self.network = store.network
        self.key = key
        self.addresses: dict[str, tuple[str, ...]] = {}  # peer id -> its record's addresses
        self.exchanges = 0
        self.records_learned = 0
        self._own: tuple[tuple[str, ...], bytes] | None = None
        self._interfaces = interface_ips()  # read once: a lab's interfaces rarely change
        self._served: dict[str, float] = {}  # client -> when we last answered it
        #: Our addresses through member relays (node.net.relay), advertised first.
        self.relayed: tuple[str, ...] = ()
        #: Our address at the router, mapped by UPnP (node.net.upnp), advertised too.
        self.mapped: tuple[str, ...] = ()

    def own_record(self) -> bytes | None:
        """Our signed record, re-signed when our addresses change; None with none dialable."""
        direct = dialable_addrs(self.host.listen_addrs, self._interfaces)
        mine = [*self.relayed[:MAX_RELAYED], *self.mapped, *direct]
        addrs = tuple(sorted(list(dict.fromkeys(mine))[:MAX_RECORD_ADDRS]))
        if not addrs:
            return None
        if self._own is None or self._own[0] != addrs:
            self._own = (addrs, sign_address_record(self.key, self.network, addrs, _wall_ms()))
        return self._own[1]

    async def load(self) -> list[StoredPeer]:
        """The stored peers (a restart dials them); their addresses are remembered."""
        peers = await trio.to_thread.run_sync(self.store.peers, _wall_ms())
        for peer in peers:
            self.addresses[peer.peer_id] = peer.record.addrs
        return peers

    async def serve(self, stream: Stream) -> tuple[list[AddressRecord], list[CommonsError]]:
        """The server side: take the client's record, answer with ours and others';
        the new records the client taught us, and why each record it sent was refused
        (for the caller to charge)."""
        now = trio.current_time()
        last = self._served.get(stream.remote_peer)
        if last is not None and now - last < MIN_REQUEST_INTERVAL_S:
            await stream.reset()
            return [], []
        self._served.pop(stream.remote_peer, None)
        self._served[stream.remote_peer] = now
        if len(self._served) > MAX_REQUESTERS:
            del self._served[next(iter(self._served))]
        value = await read_frame(stream, _decoder(), IO_TIMEOUT_S)
        if value is None:
            return [], []
        learned, refused = await self._keep(decode_address_frame(value))
        await write_frame(
            stream,
            encode_address_frame(await self._to_share(stream.remote_peer)),
            max_frame_bytes=MAX_ADDRESS_FRAME_BYTES,
            timeout_s=IO_TIMEOUT_S,
        )
        return learned, refused

    async def exchange(self, peer: str) -> tuple[list[AddressRecord], list[CommonsError]]:
        """The client side with a connected `peer`: the new records it taught us, and
        why each record it sent was refused."""
        own = self.own_record()
        stream = await self.host.open_stream(peer, ADDRESS_PROTOCOL_ID)
        try:
            frame = encode_address_frame([] if own is None else [own])
            await write_frame(
                stream, frame, max_frame_bytes=MAX_ADDRESS_FRAME_BYTES, timeout_s=IO_TIMEOUT_S
            )
            value = await read_frame(stream, _decoder(), IO_TIMEOUT_S)
        except CommonsError:
            await stream.reset()
            raise
        await stream.close()
        self.exchanges += 1
        return ([], []) if value is None else await self._keep(decode_address_frame(value))

    async def note_connected(self, peer: str) -> None:
        await trio.to_thread.run_sync(self.store.note_connected, peer, _wall_ms())

    async def note_dial_failed(self, peer: str) -> None:
        await trio.to_thread.run_sync(self.store.note_dial_failed, peer, _wall_ms())

    async def _keep(self, records: list[bytes]) -> tuple[list[AddressRecord], list[CommonsError]]:
        """Judge each record alone; store the good ones: (the new ones, the refusals)."""
        now = _wall_ms()
        good, bad = judge_records(records, self.network, now)
        new = []
        for record in good:
            if record.peer_id == self.host.peer_id:
                continue
            if await trio.to_thread.run_sync(self.store.put, record, now):
                self.addresses[record.peer_id] = record.addrs
                new.append(record)
        self.records_learned += len(new)
        return new, bad

    async def _to_share(self, client: str) -> list[bytes]:
        own = self.own_record()
        peers = await trio.to_thread.run_sync(self.store.peers, _wall_ms(), MAX_SHARED_RECORDS)
        others = [p.record.signed for p in peers if p.peer_id != client]
        shared = ([] if own is None else [own]) + others
        return shared[:MAX_SHARED_RECORDS]


def _decoder() -> FrameDecoder:
    return FrameDecoder(
        max_frame_bytes=MAX_ADDRESS_FRAME_BYTES,
        max_bin_bytes=MAX_ADDRESS_RECORD_BYTES,
        max_array_len=MAX_SHARED_RECORDS,
    )
