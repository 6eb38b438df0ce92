"""The node's blob exchange with its peers: whom to ask, what a fault costs, and how
much each peer may take (specs/0009-blobs.md §6-§8; specs/0012 §5, findings 8, 12).

- Fetching (`BlobExchange.fetch`): the connected peers are asked one at a time until
  one gives the blob, in random order (the node's randomness, passed in), except that
  the peer whose bytes a partial already holds is asked first, to resume it. Each
  conversation is `fetch_blob` (node/net/blobs.py) under `FetchLimits`; the partial
  holds one peer's bytes only, so another peer's garbage is never resumed and a
  failed hash names its sender.
- Charging (`fault_weight`): what a peer did wrong in a blob conversation costs it on
  the host's decaying count (`penalise`, specs/0012 §5 finding 10): 1 for what only a
  broken or hostile peer does (bytes that fail the hash, a malformed or unasked-for
  message), 0.25 for what a bad link also causes (timeout, too slow, closed, reset),
  0 for a refusal, a blob over our size rule, or not speaking the protocol.
- Serving (`ServeBudget`): each peer may hold `streams_per_peer` blob streams at once
  and the node `streams` in all; a stream over either is answered `error
  remote.too-many-streams` and closed (charged 0.25 if over the peer's own cap). What
  a peer is sent is paced by a token bucket per peer (`bytes_per_s`, `burst_bytes`):
  by any time t a peer has been sent at most burst + rate x t bytes, however many
  streams it opens, and reconnecting does not refill it.
Left to others: the host (streams, bans), the store, the node's status counters
(`on_refused` is told the code of every charge and every refused stream).
"""

from __future__ import annotations

import collections
import contextlib
import functools
import random
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final, Protocol

import trio

from ledger.takedown import BLOCKED
from node.net.blobs import FetchLimits, FetchResult, fetch_blob, serve_blobs
from node.net.streams import Stream
from node.store.blobs import BlobStore
from protocol.blob import PROTOCOL_ID, BlobServe
from protocol.errors import CommonsError, LocalMisuseError, RemoteFaultError
from protocol.ids import id_to_text

MiB: Final = 1024 * 1024
#: Peers whose serving budget is remembered; beyond, those with a full bucket are forgotten.
MAX_TRACKED_PEERS: Final = 4096
#: Faults only a broken or hostile peer commits (either side of a conversation).
BROKEN_PEER_FAULTS: Final = frozenset(
    {
        "verify.blob-hash-mismatch",
        "remote.bad-frame",
        "remote.bad-message",
        "remote.unexpected-chunk",
        "remote.size-changed",
        "remote.overlong-chunk",
        "remote.short-chunk",
        "remote.want-too-large",
        "remote.too-many-wants",
    }
)
#: Faults a bad link causes too.
LINK_FAULTS: Final = frozenset(
    {
        "remote.timeout",
        "remote.too-slow",
        "remote.closed",
        "remote.stream-reset",
        "remote.stream-closed",
        "remote.stream-failed",
    }
)
LINK_FAULT_WEIGHT: Final = 0.25
TOO_MANY_STREAMS: Final = "remote.too-many-streams"


def fault_weight(code: str) -> float:
    """What a blob conversation's fault `code` costs the peer that committed it."""
    if code in BROKEN_PEER_FAULTS:
        return 1.0
    return LINK_FAULT_WEIGHT if code in LINK_FAULTS else 0.0


def fetch_order(peers: Sequence[str], first: str | None, rng: random.Random) -> list[str]:
    """`peers` in the order to ask them: `first` (the partial's source) if among them,
    then the others shuffled by `rng`."""
    rest = [p for p in peers if p != first]
    rng.shuffle(rest)
    return [first, *rest] if first is not None and first in peers else rest


class BlobHost(Protocol):
    """What the exchange needs of the libp2p host (node.net.host.P2PHost)."""

    def connected_peers(self) -> list[str]: ...

    async def open_stream(self, peer_id: str, protocol_id: str) -> Stream: ...

    def penalise(self, peer_id: str, code: str, weight: float = 1.0) -> None: ...


@dataclass(frozen=True)
class ServeLimits:
    """What one peer may take of our blob serving (0009 §8). 4 MiB/s a peer is
    32 Mbit/s: a lab's uplink shared by a few fetchers; the burst serves a 16 MiB
    design file at once."""

    bytes_per_s: float = 4 * MiB
    burst_bytes: int = 16 * MiB
    streams_per_peer: int = 2
    streams: int = 32


@dataclass(frozen=True)
class Refusal:
    code: str
    message: str
    weight: float


class ServeBudget:
    """Blob streams per peer and in all, and a token bucket of bytes per peer."""

    def __init__(self, limits: ServeLimits | None = None) -> None:
        self.limits = limits or ServeLimits()
        self.streams: collections.Counter[str] = collections.Counter()
        self._buckets: dict[str, tuple[float, float]] = {}  # peer -> (tokens, when)

    def admit(self, peer: str) -> Refusal | None:
        """Count one more stream of `peer`, or say why not (then nothing is counted)."""
        if self.streams[peer] >= self.limits.streams_per_peer:
            why = f"{self.streams[peer]} blob streams open, {self.limits.streams_per_peer} a peer"
            return Refusal(TOO_MANY_STREAMS, why, LINK_FAULT_WEIGHT)
        if self.streams.total() >= self.limits.streams:
            why = f"{self.streams.total()} blob streams open, {self.limits.streams} in all"
            return Refusal(TOO_MANY_STREAMS, why, 0.0)  # not this peer's doing
        self.streams[peer] += 1
        return None

    def release(self, peer: str) -> None:
        """One stream of `peer` ended."""
        self.streams[peer] -= 1
        if self.streams[peer] <= 0:
            del self.streams[peer]

    def tokens(self, peer: str, now: float) -> float:
        """Bytes `peer` may be sent at `now` without waiting (negative: owed)."""
        held, when = self._buckets.get(peer, (float(self.limits.burst_bytes), now))
        return min(float(self.limits.burst_bytes), held + (now - when) * self.limits.bytes_per_s)

    async def spend(self, peer: str, nbytes: int) -> None:
        """Take `nbytes` from `peer`'s bucket, waiting until the bucket has covered them.
        Takers queue in the order they called: each reserves at once, then waits."""
        now = trio.current_time()
        left = self.tokens(peer, now) - nbytes
        self._buckets[peer] = (left, now)
        if len(self._buckets) > MAX_TRACKED_PEERS:
            self._forget_full(now)
        if left < 0:
            await trio.sleep(-left / self.limits.bytes_per_s)

    def _forget_full(self, now: float) -> None:
        """Drop the buckets that are full again: forgetting them changes nothing."""
        full = float(self.limits.burst_bytes)
        self._buckets = {
            p: b
            for p, b in self._buckets.items()
            if self.tokens(p, now) < full or p in self.streams
        }


@dataclass(frozen=True)
class FetchOutcome:
    """A fetch from the network: the result, the peer that gave it (None if held),
    and the (peer, error code) of every conversation that failed before."""

    result: FetchResult
    peer: str | None
    tried: tuple[tuple[str, str], ...] = ()
    #: The peer that fetched the blob from its own peers for us (0009 §12), if any.
    through: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "blob": id_to_text(self.result.blob_id),
            "status": self.result.status,
            "size": self.result.size,
        }
        if self.peer is not None:
            out["peer"] = self.peer
            out["dropped_bytes"] = self.result.dropped_bytes
            out["tried"] = [{"peer": p, "code": c} for p, c in self.tried]
        if self.through is not None:
            out["through"] = self.through
        return out


class BlobExchange:
    """Fetches blobs from the host's peers and serves ours to them (module doc)."""

    def __init__(
        self,
        host: BlobHost,
        store: BlobStore,
        *,
        rng: random.Random | None = None,
        fetch_limits: FetchLimits | None = None,
        serve_limits: ServeLimits | None = None,
        on_refused: Callable[[str, str], None] = lambda peer, code: None,
    ) -> None:
        self.host = host
        self.store = store
        self.rng = rng or random.SystemRandom()  # a hostile peer cannot predict it
        self.fetch_limits = fetch_limits or FetchLimits()
        self.budget = ServeBudget(serve_limits)
        self.on_refused = on_refused
        self._slots: dict[str, trio.Semaphore] = {}  # peer -> our streams to it

    async def fetch(
        self, blob_id: bytes, max_blob_bytes: int, *, peers: Sequence[str] | None = None
    ) -> FetchOutcome:
        """Fetch `blob_id` from the first of `peers` (the connected ones by default), in
        `fetch_order`, that gives it verified.

        RemoteFaultError("remote.blob-unavailable") when none does (`tried` says why);
        a LocalMisuseError (`misuse.blob-busy`: another fetch of it runs) at once; a
        RuleViolationError at once for a blob blocked (`rule.blob-blocked`) or only a
        withdrawn design's (`rule.design-withdrawn`, specs/0009 §9).
        """
        refused = self.store.policy.fetch_refusal(blob_id)
        if refused is not None:
            raise refused
        if await trio.to_thread.run_sync(self.store.has, blob_id):
            size = await trio.to_thread.run_sync(self.store.size, blob_id)
            return FetchOutcome(FetchResult(blob_id, "held", size, size, 0), None)
        first = await trio.to_thread.run_sync(self.store.partial_source, blob_id)
        tried: list[tuple[str, str]] = []
        asked = self.host.connected_peers() if peers is None else peers
        for peer in fetch_order(asked, first, self.rng):
            try:
                result = await self._fetch_from(peer, blob_id, max_blob_bytes)
            except LocalMisuseError:
                raise
            except CommonsError as e:
                if e.code == BLOCKED:  # blocked while we fetched: no peer may give it
                    raise
                tried.append((peer, e.code))
                self._charge(peer, e.code)
                continue
            if result.status != "missing":
                return FetchOutcome(result, peer, tuple(tried))
        raise RemoteFaultError(
            "remote.blob-unavailable",
            f"no peer gave blob {id_to_text(blob_id)}",
            tried=[{"peer": p, "code": c} for p, c in tried],
        )

    @contextlib.asynccontextmanager
    async def _slot(self, peer: str) -> AsyncIterator[None]:
        """Hold one of the `streams_per_peer` blob streams a peer grants (§8.4): our
        concurrent fetches from one peer wait for each other rather than be refused."""
        limit = self.budget.limits.streams_per_peer
        if peer not in self._slots and len(self._slots) >= MAX_TRACKED_PEERS:
            self._slots = {p: s for p, s in self._slots.items() if s.value < limit}  # in use
        async with self._slots.setdefault(peer, trio.Semaphore(limit)):
            yield

    async def _fetch_from(self, peer: str, blob_id: bytes, max_blob_bytes: int) -> FetchResult:
        async with self._slot(peer):
            return await self._fetch_on_stream(peer, blob_id, max_blob_bytes)

    async def _fetch_on_stream(self, peer: str, blob_id: bytes, max_blob_bytes: int) -> FetchResult:
        stream = await self.host.open_stream(peer, PROTOCOL_ID)
        timeout_s = self.fetch_limits.io_timeout_s
        done = False
        try:
            result = await fetch_blob(
                functools.partial(stream.read_some, timeout_s=timeout_s),
                functools.partial(stream.write, timeout_s=timeout_s),
                self.store,
                blob_id,
                max_blob_bytes,
                source=peer,
                limits=self.fetch_limits,
            )
            done = True
            return result
        finally:
            await (stream.close() if done else stream.reset())

    async def serve(self, stream: Stream) -> None:
        """Answer one peer's blob stream within its budget, then close it."""
        peer = stream.remote_peer
        timeout_s = self.fetch_limits.io_timeout_s
        refusal = self.budget.admit(peer)
        if refusal is not None:
            self.on_refused(peer, refusal.code)
            if refusal.weight:
                self.host.penalise(peer, refusal.code, refusal.weight)
            frame = BlobServe().respond_error(refusal.code, refusal.message)
            with contextlib.suppress(CommonsError):  # refused either way
                await stream.write(frame, timeout_s)
            await stream.close()
            return
        try:
            await serve_blobs(
                functools.partial(stream.read_some, timeout_s=timeout_s),
                functools.partial(stream.write, timeout_s=timeout_s),
                self.store,
                timeout_s=timeout_s,
                spend=functools.partial(self.budget.spend, peer),
            )
        except CommonsError as e:
            self._charge(peer, e.code)
        finally:
            self.budget.release(peer)
            await stream.close()

    def _charge(self, peer: str, code: str) -> None:
        weight = fault_weight(code)
        if weight:
            self.on_refused(peer, code)
            self.host.penalise(peer, code, weight)
