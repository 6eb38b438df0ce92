"""Blobs from anywhere: ask peers who holds a blob, and fetch through a peer that can
get it (specs/0009-blobs.md §12; the frames are protocol/blob_route.py's).

- Asking (`BlobRouter.holders`): every connected peer is asked `have` at once, each
  within HAVE_TIMEOUT_S; a peer that does not answer (an older node, a slow one) is
  `None`, not "not held".
- Fetching (`BlobRouter.fetch`): first from the holders, then from the peers that gave
  no answer (they may hold it: an older node is still asked directly, as before),
  through the exchange (node/net/blob_exchange.py: random order, the partial's source
  first, verified, resumable, faults charged). If none gave it, up to MAX_RELAY_ASKS
  peers that answered are asked `get`: such a peer fetches the blob from ITS direct
  peers (one hop only: a `get` is never passed on) and answers `ready`; the blob is
  then fetched from it like from any holder, verified and resumable as ever.
- Proving (`BlobRouter.prove`, §12.4): a node that holds a blob asks a peer that says
  it holds it to hash a random range of it with a fresh nonce, and checks the answer
  against its own bytes: only a node that can read those bytes answers right.
- Serving: a `have` is answered from the store (a blocked or withheld blob is "not
  held", §9); a `prove` the same way, with the range's `proof_digest`. A `get` is
  served only for a blob the node would keep itself (`keeps`: a live design's file or
  a job's, and one its policy serves), at most one `get` per peer and
  MAX_RELAY_FETCHES in all at once; more, or another blob, get an `error`.
Left to others: the blob conversations and their limits (the exchange), what the node
keeps (the daemon's `keeps`), pinning (node/ops/pinning.py).
"""

from __future__ import annotations

import collections
import os
import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final

import trio

from node.net.blob_exchange import BlobExchange, FetchOutcome
from node.net.streams import Stream, read_frame, write_frame
from protocol.blob_route import (
    BAD,
    MAX_ASKED_BLOBS,
    MAX_MESSAGE_BYTES,
    MAX_PROOF_BYTES,
    MAX_ROUTE_FRAME_BYTES,
    NONCE_BYTES,
    PROOF_PROTOCOL_ID,
    ROUTE_PROTOCOL_ID,
    Get,
    Have,
    Held,
    Proof,
    Prove,
    Ready,
    Request,
    RouteError,
    RouteMessage,
    decode_message,
    encode_message,
    judge_answer,
    proof_digest,
)
from protocol.errors import CommonsError, DecodeError, RemoteFaultError
from protocol.framing import FrameDecoder
from protocol.ids import ID_BYTES, id_to_text

__all__ = ["PROOF_PROTOCOL_ID", "ROUTE_PROTOCOL_ID", "BlobRouter", "Holders"]

#: Longest wait for a `have` answer (and for a request to arrive, serving).
HAVE_TIMEOUT_S: Final = 5.0
#: Longest wait for a `get` answer: the peer fetches the blob meanwhile.
GET_TIMEOUT_S: Final = 600.0
#: Peers asked to fetch a blob for us, one after the other, before we give up.
MAX_RELAY_ASKS: Final = 3
#: `get`s a node serves at once, in all (each is one fetch of its own).
MAX_RELAY_FETCHES: Final = 4
#: Proofs answered at once: per peer and in all (each is one read of up to 64 KiB and a
#: hash on a worker thread); more are refused before anything is read.
MAX_PROOFS_PER_PEER: Final = 1
MAX_PROOFS: Final = 4
NOT_RELAYING: Final = "remote.not-relaying"
TOO_MANY: Final = "remote.too-many-requests"
UNAVAILABLE: Final = "remote.blob-unavailable"


@dataclass(frozen=True)
class Holders:
    """What the connected peers said of one blob: True held, False not, None no answer."""

    blob: bytes
    peers: dict[str, bool | None]

    def to_json(self) -> list[dict[str, Any]]:
        return [{"peer": p, "held": h} for p, h in sorted(self.peers.items())]


class BlobRouter:
    """Content routing over the exchange's host and store (module doc)."""

    def __init__(
        self,
        exchange: BlobExchange,
        max_blob_bytes: Callable[[], int],
        *,
        keeps: Callable[[bytes], Awaitable[bool]],
        rng: random.Random | None = None,
    ) -> None:
        self.exchange = exchange
        self.max_blob_bytes = max_blob_bytes
        self.keeps = keeps
        self.rng = rng or random.SystemRandom()
        self._relaying: collections.Counter[str] = collections.Counter()
        self._proving: collections.Counter[str] = collections.Counter()
        #: What this node did for others and through others (the node's status).
        self.stats: collections.Counter[str] = collections.Counter()

    # -- asking ------------------------------------------------------------------------
    async def holders(self, blob_id: bytes, peers: Sequence[str] | None = None) -> Holders:
        """Ask each of `peers` (the connected ones by default) whether it holds the blob."""
        host = self.exchange.host
        asked = host.connected_peers() if peers is None else list(peers)
        answers: dict[str, bool | None] = {}

        async def ask(peer: str) -> None:
            try:
                held = await self._ask(peer, Have((blob_id,)), HAVE_TIMEOUT_S)
            except CommonsError:
                answers[peer] = None
                return
            assert isinstance(held, Held)
            answers[peer] = blob_id in held.held

        async with trio.open_nursery() as nursery:
            for peer in asked:
                nursery.start_soon(ask, peer)
        return Holders(blob_id, answers)

    async def prove(self, peer: str, blob_id: bytes) -> bool | None:
        """Whether `peer` proves it holds `blob_id`, which we hold (0009 §12.4): True, a
        right digest of a random range; False, a wrong one or a refusal; None, no answer
        (an older node, a timeout; or our own copy could not be read). Not charged: a bad
        copy may be the disk's fault."""
        store = self.exchange.store
        try:
            size = await trio.to_thread.run_sync(store.size, blob_id)
            offset = self.rng.randrange(size) if size else 0
            length = max(1, min(MAX_PROOF_BYTES, size - offset))
            data = await trio.to_thread.run_sync(store.read_chunk, blob_id, offset, length)
        except CommonsError:  # ours went meanwhile, or cannot be read: nothing to check
            return None
        nonce = os.urandom(NONCE_BYTES)
        request = Prove(blob_id, length, nonce, offset)
        try:
            proof = await self._ask(peer, request, HAVE_TIMEOUT_S, PROOF_PROTOCOL_ID)
        except DecodeError:  # an answer that does not answer (§12.4): failed
            return False
        except RemoteFaultError as e:
            if e.details.get("peer_code") == TOO_MANY:
                return None  # busy with other proofs: not checked this time
            return False if e.code in ("remote.refused", "remote.unexpected-answer") else None
        except CommonsError:
            return None
        assert isinstance(proof, Proof)
        return proof.digest == proof_digest(blob_id, nonce, data)

    async def _ask(
        self, peer: str, request: Request, timeout_s: float, protocol: str = ROUTE_PROTOCOL_ID
    ) -> Held | Ready | Proof:
        stream = await self.exchange.host.open_stream(peer, protocol)
        try:
            await write_frame(
                stream,
                encode_message(request),
                max_frame_bytes=MAX_ROUTE_FRAME_BYTES,
                timeout_s=HAVE_TIMEOUT_S,
            )
            value = await read_frame(stream, route_decoder(), timeout_s)
            if value is None:
                raise RemoteFaultError("remote.closed", f"{peer} closed without an answer")
            return judge_answer(request, decode_message(value))
        finally:
            await stream.close()

    # -- fetching ----------------------------------------------------------------------
    async def fetch(self, blob_id: bytes, *, through_peers: bool = True) -> FetchOutcome:
        """Fetch from a holder, else (with `through_peers`) through a peer that gets it.
        RemoteFaultError("remote.blob-unavailable") when neither works (`tried`)."""
        exchange = self.exchange
        refused = exchange.store.policy.fetch_refusal(blob_id)
        if refused is not None:
            raise refused
        if await trio.to_thread.run_sync(exchange.store.has, blob_id):
            return await exchange.fetch(blob_id, self.max_blob_bytes(), peers=[])
        found = await self.holders(blob_id)
        held = [p for p, h in found.peers.items() if h]
        silent = [p for p, h in found.peers.items() if h is None]
        source = await trio.to_thread.run_sync(exchange.store.partial_source, blob_id)
        if source in silent:  # asked first with the holders, to resume its partial (§6)
            silent.remove(source)
            held.append(source)
        tried: list[tuple[str, str]] = []
        for group in (held, silent):
            if group:
                try:
                    return await exchange.fetch(blob_id, self.max_blob_bytes(), peers=group)
                except RemoteFaultError as e:
                    if e.code != UNAVAILABLE:
                        raise
                    tried += [(t["peer"], t["code"]) for t in e.details.get("tried", ())]
        if through_peers:
            relays = [p for p, h in found.peers.items() if h is False]
            self.rng.shuffle(relays)
            for relay in relays[:MAX_RELAY_ASKS]:
                outcome = await self._fetch_through(relay, blob_id, tried)
                if outcome is not None:
                    return outcome
        raise RemoteFaultError(
            UNAVAILABLE,
            f"no peer gave blob {id_to_text(blob_id)}",
            tried=[{"peer": p, "code": c} for p, c in tried],
        )

    async def _fetch_through(
        self, relay: str, blob_id: bytes, tried: list[tuple[str, str]]
    ) -> FetchOutcome | None:
        try:
            await self._ask(relay, Get(blob_id), GET_TIMEOUT_S)
            outcome = await self.exchange.fetch(blob_id, self.max_blob_bytes(), peers=[relay])
        except RemoteFaultError as e:
            tried.append((relay, str(e.details.get("peer_code") or e.code)))
            return None
        self.stats["fetched_through"] += 1
        return FetchOutcome(outcome.result, outcome.peer, tuple(tried), through=relay)

    # -- serving -----------------------------------------------------------------------
    async def serve(self, stream: Stream) -> None:
        """Answer one request on a route stream, then close it."""
        peer = stream.remote_peer
        request = await self._request(stream)
        if request is None:
            return
        if isinstance(request, Have):
            policy, store = self.exchange.store.policy, self.exchange.store
            held = await trio.to_thread.run_sync(
                lambda: tuple(b for b in request.blobs if policy.serves(b) and store.has(b))
            )
            await self._answer(stream, Held(held))
        elif isinstance(request, Get):
            await self._answer(stream, await self._relay(peer, request.blob))
        elif isinstance(request, Prove):  # its own protocol now (§12.4): not the peer's fault
            await self._answer(stream, RouteError(BAD, f"a prove goes on {PROOF_PROTOCOL_ID}"))
        else:  # an answer sent as a request: the peer's fault, as any bad message
            self.exchange.host.penalise(peer, BAD, 1.0)
            await self._answer(stream, RouteError(BAD, "a client sends have or get"))

    async def serve_proof(self, stream: Stream) -> None:
        """Answer one `prove` on a proof stream (§12.4), within MAX_PROOFS_PER_PEER and
        MAX_PROOFS at once (refused before anything is read), then close it."""
        peer = stream.remote_peer
        request = await self._request(stream)
        if request is None:
            return
        if not isinstance(request, Prove):
            self.exchange.host.penalise(peer, BAD, 1.0)
            await self._answer(stream, RouteError(BAD, "a proof stream carries one prove"))
            return
        if self._proving[peer] >= MAX_PROOFS_PER_PEER or self._proving.total() >= MAX_PROOFS:
            await self._answer(stream, RouteError(TOO_MANY, "a proof for this peer is under way"))
            return
        self._proving[peer] += 1
        try:
            answer = await self._proof(request)
        finally:
            self._proving[peer] -= 1
            if self._proving[peer] <= 0:
                del self._proving[peer]
        await self._answer(stream, answer)

    async def _request(self, stream: Stream) -> RouteMessage | None:
        """The one request of a stream; None when there is none, or when it does not
        decode (then the peer is charged and answered with the decoder's code)."""
        value = await read_frame(stream, route_decoder(), HAVE_TIMEOUT_S)
        if value is None:
            return None
        try:
            return decode_message(value)
        except CommonsError as e:
            self.exchange.host.penalise(stream.remote_peer, e.code, 1.0)
            await self._answer(stream, _refusal(e.code, e.message))
            return None

    async def _proof(self, request: Prove) -> Proof | RouteError:
        """The digest of the asked range of a blob we hold and serve (at most 64 KiB read)."""
        store, blob = self.exchange.store, request.blob

        def read() -> bytes | None:
            if not store.policy.serves(blob) or not store.has(blob):
                return None
            offset = min(request.offset, store.size(blob))
            return store.read_chunk(blob, offset, request.length)

        try:
            data = await trio.to_thread.run_sync(read)
        except CommonsError as e:  # gone meanwhile, unreadable
            return _refusal(e.code, e.message)
        if data is None:
            return RouteError(UNAVAILABLE, f"{id_to_text(blob)} is not held here")
        return Proof(blob, proof_digest(blob, request.nonce, data))

    async def _relay(self, peer: str, blob_id: bytes) -> Ready | RouteError:
        """Fetch `blob_id` from our own holders for `peer`, if we would keep it."""
        store = self.exchange.store
        if not store.policy.serves(blob_id) or not await self.keeps(blob_id):
            return RouteError(NOT_RELAYING, f"{id_to_text(blob_id)} is not a blob we keep")
        if self._relaying[peer] >= 1 or self._relaying.total() >= MAX_RELAY_FETCHES:
            return RouteError(TOO_MANY, "a fetch for this peer, or too many, is under way")
        self._relaying[peer] += 1
        try:
            outcome = await self.fetch(blob_id, through_peers=False)  # one hop, never two
        except CommonsError as e:
            return _refusal(e.code, e.message)
        finally:
            self._relaying[peer] -= 1
            if self._relaying[peer] <= 0:
                del self._relaying[peer]
        self.stats["relayed_for_peers"] += 1
        size = outcome.result.size
        return Ready(blob_id, 0 if size is None else size)

    async def _answer(self, stream: Stream, message: RouteMessage) -> None:
        await write_frame(
            stream,
            encode_message(message),
            max_frame_bytes=MAX_ROUTE_FRAME_BYTES,
            timeout_s=HAVE_TIMEOUT_S,
        )


def _refusal(code: str, message: str) -> RouteError:
    """An `error` within the field limits (our own text cut at a character boundary)."""
    text = message.encode()[:MAX_MESSAGE_BYTES].decode(errors="ignore")
    return RouteError(code, text)


def route_decoder() -> FrameDecoder:
    return FrameDecoder(
        max_frame_bytes=MAX_ROUTE_FRAME_BYTES, max_bin_bytes=ID_BYTES, max_array_len=MAX_ASKED_BLOBS
    )
