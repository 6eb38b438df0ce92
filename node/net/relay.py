"""Member relays: membership by host binding, reservations, relayed addresses (specs/0014 §7).

Both sides of `/fabcommons/membership/1`: a node presents its host binding (its
identity's signing key in force over (network, host key), protocol.host_binding) to
each peer it connects to; the peer checks it against its ledger (the key in force for
that identity, the identity admitted: a member or vouched for in a federation, any
identity whose log it holds on a development network) and answers whether it relays
for us: only a node our dial-back tally calls `public` offers relaying, and only to
peers whose binding it accepted (node.net.host wraps libp2p's hop handler with
`admits`). A node the tally calls `private` keeps reservations at up to MAX_RELAYS
peers that said yes, refreshes them, and puts `<relay addr>/p2p/<relay>/p2p-circuit`
in its address record (node.net.discovery), so others dial it through the relay.

Guarantees: one frame each way within IO_TIMEOUT_S; a binding that does not verify is
returned to the caller to charge the peer; acceptance ends when the peer disconnects.
Left to others: when to run (node.net.network's scheduler), DCUtR (node.net.host).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import trio

from node.net.host import P2PHost, Stream, read_frame, write_frame
from protocol.address import is_relayed, relayed_addr
from protocol.errors import CommonsError
from protocol.framing import FrameDecoder
from protocol.host_binding import (
    MAX_HOST_BINDING_BYTES,
    MAX_MEMBERSHIP_FRAME_BYTES,
    MEMBERSHIP_PROTOCOL_ID,
    decode_host_binding,
    decode_membership_request,
    decode_membership_response,
    encode_membership_request,
    encode_membership_response,
)
from protocol.peer_ids import host_key_of

__all__ = ["MEMBERSHIP_PROTOCOL_ID", "MemberRelays"]

log = logging.getLogger(__name__)
IO_TIMEOUT_S = 30.0
#: Reservations a private node keeps, and how often it refreshes each (libp2p's TTL:
#: 1 h); a refused or lost relay is replaced at the next round.
MAX_RELAYS = 2
RESERVE_REFRESH_S = 15 * 60.0
#: A peer that did not relay for us is asked again while we are private: it may not
#: have had our log (so our key) when we first connected, nor known yet that it is
#: public. First after PRESENT_RETRY_FIRST_S, then twice as long each time, at most
#: PRESENT_RETRY_S (a new node's relay usually says yes within seconds).
PRESENT_RETRY_FIRST_S = 4.0
PRESENT_RETRY_S = 30.0
MAX_ACCEPTED = 4096

#: (identity, key) -> whether the ledger admits that identity with that key in force.
Admits = Callable[[bytes, bytes], bool]


class MemberRelays:
    """Our host binding, the peers whose bindings we accepted, and our reservations."""

    def __init__(
        self,
        host: P2PHost,
        network: bytes,
        binding: Callable[[], Awaitable[bytes]],
        admits: Admits,
        offering: Callable[[], bool],
    ) -> None:
        self.host = host
        self.network = network
        self._binding = binding
        self._admits = admits
        self._offering = offering
        self.accepted: dict[str, bytes] = {}  # peer -> the identity its binding names
        self.willing: set[str] = set()  # peers that said they relay for us
        self.reserved: dict[str, float] = {}  # relay peer -> when we last reserved
        self.relayed_addrs: tuple[str, ...] = ()
        self._presented: dict[str, float] = {}  # peer -> when we last presented to it
        self._retry_after: dict[str, float] = {}  # peer -> how long before asking again
        self._presenting: set[str] = set()  # presents under way (one per peer at a time)
        self._reserving: set[str] = set()
        host.offer_relay(self.admits_peer)

    def admits_peer(self, peer: str) -> bool:
        """Whether our relay serves `peer` now (node.net.host asks at each hop stream)."""
        return self._offering() and peer in self.accepted

    # -- server --------------------------------------------------------------------
    async def serve(self, stream: Stream) -> CommonsError | None:
        """Check a peer's binding; answer whether we relay for it. The refusal of a
        binding that does not verify is returned, for the caller to charge."""
        peer = stream.remote_peer
        value = await read_frame(stream, _decoder(), IO_TIMEOUT_S)
        if value is None:
            return None
        refused: CommonsError | None = None
        try:
            signed = decode_membership_request(value)
            binding = decode_host_binding(signed, self.network, host_key_of(peer))
            if self._admits(binding.identity, binding.key):
                self.accepted.pop(peer, None)
                self.accepted[peer] = binding.identity
                if len(self.accepted) > MAX_ACCEPTED:
                    del self.accepted[next(iter(self.accepted))]
            else:
                log.info("membership: %s runs no admitted identity with its key in force", peer)
        except CommonsError as e:
            log.info("membership: refused the binding of %s: %s", peer, e.code)
            refused = e
        relay = refused is None and self.admits_peer(peer)
        frame = encode_membership_response(relay)
        limit = MAX_MEMBERSHIP_FRAME_BYTES
        await write_frame(stream, frame, max_frame_bytes=limit, timeout_s=IO_TIMEOUT_S)
        return refused

    # -- client --------------------------------------------------------------------
    def due(self, connected: set[str], private: bool) -> list[str]:
        """Peers to present our binding to now: new ones, and (while we are private and
        short of relays) those that did not say yes, again after 4, 8, 16, then every 30 s."""
        clock = trio.current_time()
        for peer in set(self._presented) - connected:
            self.forget(peer)
        due = []
        for peer in sorted(connected - self._presenting):
            last = self._presented.get(peer)
            retry = private and peer not in self.willing and len(self.reserved) < MAX_RELAYS
            wait = self._retry_after.get(peer, PRESENT_RETRY_FIRST_S)
            if last is None or (retry and clock - last >= wait):
                if last is not None:
                    self._retry_after[peer] = min(2 * wait, PRESENT_RETRY_S)
                self._presented[peer] = clock
                self._presenting.add(peer)
                due.append(peer)
        return due

    def forget(self, peer: str) -> None:
        """`peer` disconnected: its acceptance, its offer and our reservation end."""
        self._presented.pop(peer, None)
        self._retry_after.pop(peer, None)
        self.accepted.pop(peer, None)
        self.willing.discard(peer)
        self.reserved.pop(peer, None)

    async def present(self, peer: str) -> None:
        """Show `peer` our binding; note whether it relays for us."""
        try:
            relay = await self._present(peer)
        finally:
            self._presenting.discard(peer)
        log.info("membership: %s %s for us", peer, "relays" if relay else "does not relay")
        if relay:
            self.willing.add(peer)
        else:
            self.willing.discard(peer)

    async def _present(self, peer: str) -> bool:
        try:
            request = encode_membership_request(await self._binding())
            stream = await self.host.open_stream(peer, MEMBERSHIP_PROTOCOL_ID)
            try:
                limit = MAX_MEMBERSHIP_FRAME_BYTES
                await write_frame(stream, request, max_frame_bytes=limit, timeout_s=IO_TIMEOUT_S)
                value = await read_frame(stream, _decoder(), IO_TIMEOUT_S)
            finally:
                await stream.close()
            relay = value is not None and decode_membership_response(value)
        except CommonsError as e:  # a peer without the protocol, a reset: no relay
            log.info("no membership answer from %s: %s", peer, e.code)
            return False
        return bool(relay)

    def to_reserve(self, private: bool) -> list[str]:
        """Relays to reserve at (or refresh) now: while private, up to MAX_RELAYS."""
        if not private:
            self.reserved.clear()
            return []
        clock = trio.current_time()
        held = [p for p in self.reserved if p in self.willing]
        fresh = [p for p in sorted(self.willing) if p not in self.reserved]
        chosen = held + fresh[: max(0, MAX_RELAYS - len(held))]
        due = [
            p
            for p in chosen
            if p not in self._reserving
            and clock - self.reserved.get(p, -RESERVE_REFRESH_S) >= RESERVE_REFRESH_S
        ]
        self._reserving.update(due)
        return due

    async def reserve(self, relay: str) -> bool:
        """Reserve at `relay`; True if it accepted."""
        try:
            ok = await self.host.reserve(relay)
        except CommonsError as e:
            log.info("no reservation at %s: %s", relay, e.code)
            ok = False
        finally:
            self._reserving.discard(relay)
        if ok:
            self.reserved[relay] = trio.current_time()
        else:
            self.reserved.pop(relay, None)
            self.willing.discard(relay)
        return ok

    def addresses(self, relay_addrs: dict[str, tuple[str, ...]]) -> tuple[str, ...]:
        """Our relayed addresses: each reserved relay's direct record addresses, with
        /p2p/<relay>/p2p-circuit (§2.1), the relays' global addresses first."""
        found = []
        for relay in sorted(self.reserved):
            for addr in relay_addrs.get(relay, ()):
                if not is_relayed(addr):
                    try:
                        found.append(relayed_addr(addr, relay))
                    except CommonsError:
                        continue  # too long with the relay's id: not advertised
        return tuple(sorted(found))


def _decoder() -> FrameDecoder:
    return FrameDecoder(
        max_frame_bytes=MAX_MEMBERSHIP_FRAME_BYTES, max_bin_bytes=MAX_HOST_BINDING_BYTES,
        max_array_len=0,
    )  # fmt: skip
