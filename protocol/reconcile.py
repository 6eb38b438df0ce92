"""Range-based set reconciliation, Negentropy v1 (specs/0005-sync.md §8), sans-IO.

Two parties each hold a set of items (timestamp, 32-byte id). The initiator calls
`initiate()` and sends the bytes; the responder answers each message with
`reconcile(msg).reply`; the initiator feeds each answer to `reconcile(msg)`, which
gives the next message (or None: done) and the ids found so far that only it has
(`have_ids`) and only the responder has (`need_ids`). When it is done, those are
exactly the symmetric difference of the two sets, whatever their sizes (checked by
tests/protocol/test_reconcile.py against plain set arithmetic).

The rules (hoytech/negentropy, cpp/negentropy.h; 0005 §8.3): a range whose
fingerprints differ is split by its receiver into `BUCKETS` ranges of equal item
counts, or sent as an IdList when it holds fewer than `ID_LIST_BELOW` items; a
responder answers an IdList with its own ids of that range; the initiator answers
one with nothing (Skip). A message never exceeds `max_message_bytes`: what does not
fit is covered by one Fingerprint of the rest, which the other side splits again.
Unlike the reference, the initial message is one Fingerprint of the whole set (an
empty IdList for an empty set), so two parties already in sync exchange a 20-byte
message and a 1-byte reply whatever the set's size.

Peer input is parsed by protocol.reconcile_wire (its size first); a message that
breaks the format raises RemoteFaultError. Misuse (duplicate items, a step out of
turn) raises LocalMisuseError. Nothing here reads a clock or does I/O.
"""

from __future__ import annotations

import bisect
import hashlib
import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

from protocol.errors import LocalMisuseError
from protocol.reconcile_wire import (
    FINGERPRINT_BYTES,
    ID_BYTES,
    INFINITY,
    MAX_MESSAGE_BYTES,
    MAX_U64,
    MODE_FINGERPRINT,
    MODE_ID_LIST,
    MODE_SKIP,
    ZERO,
    Bound,
    MessageWriter,
    WireRange,
    decode_message,
    encode_varint,
)

BUCKETS: Final = 16
#: A range of fewer items than this is sent as an IdList rather than split.
ID_LIST_BELOW: Final = 2 * BUCKETS
#: Room kept at the end of a message for the Skip and Fingerprint that close it.
CLOSING_RESERVE_BYTES: Final = 200
#: The smallest `max_message_bytes` (Negentropy's): a split or an IdList always fits.
MIN_MESSAGE_BYTES: Final = 4096
_MOD: Final = 1 << 256
_RANGE_HEADER_BYTES: Final = 64  # a bound (at most 43 bytes), a mode, a count

Item = tuple[int, bytes]


def fingerprint(ids: Iterable[bytes]) -> bytes:
    """SHA-256 of (the sum of the ids as little-endian integers mod 2^256, 32 bytes
    little-endian) || varint(count), first 16 bytes (Negentropy v1)."""
    total = count = 0
    for item_id in ids:
        total += int.from_bytes(item_id, "little")
        count += 1
    return _fingerprint(total % _MOD, count)


def _fingerprint(total: int, count: int) -> bytes:
    data = total.to_bytes(ID_BYTES, "little") + encode_varint(count)
    return hashlib.sha256(data).digest()[:FINGERPRINT_BYTES]


def round_trip_bound(items: int, differences: int, max_message_bytes: int) -> int:
    """The most round trips a reconciliation takes (0005 §8.4) between sets of at most
    `items` items differing in `differences`: ⌈log16 items⌉ + 2 splitting levels, plus
    one round trip per message's worth of what the differences cost (each at most an
    IdList on each side and one split per level)."""
    levels = max(1, math.ceil(math.log(max(items, 2), BUCKETS)))
    per_difference = 2 * ID_LIST_BELOW * ID_BYTES + levels * BUCKETS * _RANGE_HEADER_BYTES
    usable = max_message_bytes - CLOSING_RESERVE_BYTES - _RANGE_HEADER_BYTES
    return levels + 2 + math.ceil(differences * per_difference / usable)


@dataclass(frozen=True, slots=True)
class ReconcileStep:
    """What one message gave: the reply to send (None: the initiator is done), and,
    for the initiator, the ids it learned only it has and only the other side has."""

    reply: bytes | None
    have_ids: tuple[bytes, ...] = ()
    need_ids: tuple[bytes, ...] = ()


@dataclass(frozen=True, slots=True)
class ItemIndex:
    """A set of items sorted, with the running sums of their ids (`sums[i]` is the
    sum of the first i ids as integers): what a Reconciler reads. Immutable, so one
    index serves any number of reconciliations over the same set (ledger.syncitems
    keeps one per ledger and builds it again only when an item changes)."""

    keys: Sequence[Item]
    sums: Sequence[int]

    @classmethod
    def build(cls, items: Iterable[Item]) -> ItemIndex:
        return cls.from_sorted(sorted(items))

    @classmethod
    def from_sorted(cls, keys: Sequence[Item], *, checked: bool = False) -> ItemIndex:
        """From items already in order; raises LocalMisuseError for a bad or repeated one
        (`checked`: the caller made them well formed and in order, skip the look)."""
        for i, (timestamp, item_id) in enumerate(() if checked else keys):
            if not 0 <= timestamp < MAX_U64 or type(item_id) is not bytes or len(item_id) != 32:
                raise LocalMisuseError("misuse.bad-argument", "want (timestamp, 32-byte id) items")
            if i and keys[i - 1] >= keys[i]:
                raise LocalMisuseError(
                    "misuse.bad-argument", "an item appears twice or out of order"
                )
        ints = (int.from_bytes(item_id, "little") for _, item_id in keys)
        return cls(keys, list(itertools.accumulate(ints, initial=0)))


class Reconciler:
    """One party of one reconciliation over a fixed set of items (or their index)."""

    def __init__(
        self, items: Iterable[Item] | ItemIndex, *, max_message_bytes: int = MAX_MESSAGE_BYTES
    ) -> None:
        if not MIN_MESSAGE_BYTES <= max_message_bytes <= MAX_MESSAGE_BYTES:
            raise LocalMisuseError(
                "misuse.bad-argument",
                f"max_message_bytes must be in [{MIN_MESSAGE_BYTES}, {MAX_MESSAGE_BYTES}]",
            )
        self.max_message_bytes = max_message_bytes
        index = items if isinstance(items, ItemIndex) else ItemIndex.build(items)
        self._keys = index.keys
        self._sums = index.sums
        self.is_initiator = False
        self.is_done = False

    def __len__(self) -> int:
        return len(self._keys)

    def range_fingerprint(self, lower: int, upper: int) -> bytes:
        """The fingerprint of our items [lower, upper) (indices in sorted order)."""
        return _fingerprint((self._sums[upper] - self._sums[lower]) % _MOD, upper - lower)

    # -- the two calls ---------------------------------------------------------------------
    def initiate(self) -> bytes:
        """The first message: one Fingerprint of every item (an empty IdList when we
        hold none: then every item of the other side is news)."""
        if self.is_initiator or self.is_done:
            raise LocalMisuseError("misuse.unexpected-message", "initiate() once, first")
        self.is_initiator = True
        out = MessageWriter()
        if not self._keys:
            out.id_list(INFINITY, [])
        else:
            out.fingerprint(INFINITY, self.range_fingerprint(0, len(self._keys)))
        return bytes(out.data)

    def reconcile(
        self, message: bytes, ranges: tuple[WireRange, ...] | None = None
    ) -> ReconcileStep:
        """Process the other side's message; the reply, and what the initiator learned.
        `ranges`: the message already decoded (by protocol.sync_messages' parser)."""
        if self.is_done:
            raise LocalMisuseError("misuse.unexpected-message", "the reconciliation is over")
        if ranges is None:
            ranges = decode_message(message)
        out = MessageWriter()
        have: list[bytes] = []
        need: list[bytes] = []
        previous, lower, skipping = ZERO, 0, False
        for r in ranges:
            upper = bisect.bisect_left(self._keys, r.upper.key, lower)
            mark, skipped_before, overflow = out.mark(), skipping, False
            settled = r.mode == MODE_SKIP or (
                r.mode == MODE_FINGERPRINT and r.fingerprint == self.range_fingerprint(lower, upper)
            )
            if settled:
                skipping = True
            elif r.mode == MODE_ID_LIST and self.is_initiator:
                ours = set(self._ids(lower, upper))
                theirs = set(r.ids)
                have += ours - theirs
                need += theirs - ours
                skipping = True
            else:
                if skipping:
                    out.skip(previous)
                    skipping = False
                if r.mode == MODE_FINGERPRINT:
                    self._split(out, lower, upper, r.upper)
                else:  # a responder answers an IdList with its own ids of the range
                    stop = self._fitting(out, lower, upper)
                    if stop > lower or stop == upper:
                        bound = r.upper if stop == upper else self._between(stop)
                        out.id_list(bound, self._ids(lower, stop))
                    if lower < stop < upper:  # cut by the size limit: the rest as one fingerprint
                        out.fingerprint(INFINITY, self.range_fingerprint(stop, len(self._keys)))
                        break
                    overflow = stop < upper
            if overflow or len(out) > self.max_message_bytes - CLOSING_RESERVE_BYTES:
                out.rewind(mark)  # what does not fit: one fingerprint from `previous` on
                if skipped_before:
                    out.skip(previous)
                out.fingerprint(INFINITY, self.range_fingerprint(lower, len(self._keys)))
                break
            previous, lower = r.upper, upper
        return self._step(out, have, need)

    def _step(self, out: MessageWriter, have: list[bytes], need: list[bytes]) -> ReconcileStep:
        if not self.is_initiator:
            return ReconcileStep(bytes(out.data))
        if len(out) == 1:  # nothing left to ask: done
            self.is_done = True
            return ReconcileStep(None, tuple(sorted(have)), tuple(sorted(need)))
        return ReconcileStep(bytes(out.data), tuple(sorted(have)), tuple(sorted(need)))

    # -- writing ranges ------------------------------------------------------------------
    def _split(self, out: MessageWriter, lower: int, upper: int, upper_bound: Bound) -> None:
        """Our items [lower, upper) as an IdList, or as BUCKETS fingerprinted ranges."""
        count = upper - lower
        if count < ID_LIST_BELOW:
            out.id_list(upper_bound, self._ids(lower, upper))
            return
        per_bucket, extra = divmod(count, BUCKETS)
        current = lower
        for i in range(BUCKETS):
            start, current = current, current + per_bucket + (1 if i < extra else 0)
            bound = upper_bound if current == upper else self._between(current)
            out.fingerprint(bound, self.range_fingerprint(start, current))

    def _fitting(self, out: MessageWriter, lower: int, upper: int) -> int:
        """How far an IdList of our items from `lower` may go and leave the closing
        reserve free: `upper`, or fewer (`lower` when not one id fits)."""
        room = self.max_message_bytes - CLOSING_RESERVE_BYTES - len(out) - _RANGE_HEADER_BYTES
        return min(upper, lower + max(0, room // ID_BYTES))

    def _ids(self, lower: int, upper: int) -> list[bytes]:
        return [k[1] for k in self._keys[lower:upper]]

    def _between(self, index: int) -> Bound:
        """The shortest bound above item index - 1 and at most item index."""
        (t0, id0), (t1, id1) = self._keys[index - 1], self._keys[index]
        if t0 != t1:
            return Bound(t1)
        shared = next(i for i in range(ID_BYTES) if id0[i] != id1[i])
        return Bound(t1, id1[: shared + 1])
