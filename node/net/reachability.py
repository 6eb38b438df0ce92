"""Reachability: our dial-back protocol, `/fabcommons/dialback/1` (specs/0014 §6).

A node asks connected peers to dial it back on its listen port at the IP they see it
at, on a NEW connection (py-libp2p 0.8.1's AutoNAT reuses the request's connection and
so reports every node public: 0014 §1.2). The answers feed ledger.reachability's tally.

Server side: one request per peer per REQUEST_INTERVAL_S (more are refused unread), no
request over a relayed connection (no IP to check), only the requester's own IP is
dialed (no amplification), within DIALBACK_TIMEOUT_S. Client side: at most
MAX_PARALLEL_ASKS asks at once, each server again after the tally's interval.
"""

from __future__ import annotations

import logging

import trio

from ledger.reachability import ReachabilityTally
from node.net.host import P2PHost, Stream, read_frame, write_frame
from node.ops.doctor import listen_port
from protocol.address import (
    DIALBACK_PROTOCOL_ID,
    MAX_DIALBACK_FRAME_BYTES,
    decode_dialback_request,
    decode_dialback_response,
    encode_dialback_request,
    encode_dialback_response,
)
from protocol.errors import CommonsError
from protocol.framing import FrameDecoder

__all__ = ["DIALBACK_PROTOCOL_ID", "Reachability"]

log = logging.getLogger(__name__)
DIALBACK_TIMEOUT_S = 10.0
IO_TIMEOUT_S = DIALBACK_TIMEOUT_S + 10.0  # the client waits for the server's dial
REQUEST_INTERVAL_S = 30.0  # a restarted node asks again: ledger.reachability.RETRY_AFTER_MS
MAX_PARALLEL_ASKS = 2
MAX_REQUESTERS = 4096


def _ms() -> int:
    return int(trio.current_time() * 1000)


class Reachability:
    """Both sides of the dial-back, and the tally of what servers told us."""

    def __init__(self, host: P2PHost) -> None:
        self.host = host
        self.tally: ReachabilityTally[str] = ReachabilityTally()
        self._served: dict[str, float] = {}  # requester -> when we last dialed it back
        self._asking: set[str] = set()

    async def serve(self, stream: Stream) -> None:
        peer = stream.remote_peer
        value = await read_frame(stream, _decoder(), IO_TIMEOUT_S)
        if value is None:
            return
        port = decode_dialback_request(value)
        now = trio.current_time()
        if now - self._served.get(peer, -REQUEST_INTERVAL_S) < REQUEST_INTERVAL_S:
            await stream.reset()  # too soon: refused unanswered
            return
        self._served[peer] = now
        if len(self._served) > MAX_REQUESTERS:
            del self._served[next(iter(self._served))]
        ip = self.host.remote_ip(peer)  # None over a relayed connection: not dialed
        reached = ip is not None and await self.host.dial_back(peer, ip, port, DIALBACK_TIMEOUT_S)
        await write_frame(
            stream,
            encode_dialback_response(reached),
            max_frame_bytes=MAX_DIALBACK_FRAME_BYTES,
            timeout_s=IO_TIMEOUT_S,
        )

    def due(self, connected: set[str]) -> list[str]:
        """The connected peers to ask now (marked asked)."""
        free = MAX_PARALLEL_ASKS - len(self._asking)
        now = _ms()
        chosen = [p for p in sorted(connected - self._asking) if self.tally.should_ask(p, now)]
        for peer in chosen[: max(free, 0)]:
            self.tally.asked(peer, now)
            self._asking.add(peer)
        return chosen[: max(free, 0)]

    async def ask(self, peer: str) -> None:
        """Ask `peer` to dial us back; its answer (or its silence: no verdict) is tallied."""
        try:
            port = listen_port(self.host.listen_addrs)
            if port is None:
                return
            stream = await self.host.open_stream(peer, DIALBACK_PROTOCOL_ID)
            try:
                request = encode_dialback_request(port)
                limit = MAX_DIALBACK_FRAME_BYTES
                await write_frame(stream, request, max_frame_bytes=limit, timeout_s=IO_TIMEOUT_S)
                value = await read_frame(stream, _decoder(), IO_TIMEOUT_S)
            finally:
                await stream.close()
            if value is None:
                self.tally.no_answer(peer, _ms())
            else:
                self.tally.verdict(peer, decode_dialback_response(value), _ms())
        except CommonsError as e:  # a peer without the protocol, a reset: no verdict
            log.info("no dial-back from %s: %s", peer, e.code)
            self.tally.no_answer(peer, _ms())
        finally:
            self._asking.discard(peer)


def _decoder() -> FrameDecoder:
    return FrameDecoder(max_frame_bytes=MAX_DIALBACK_FRAME_BYTES, max_bin_bytes=0, max_array_len=0)
