"""The wire form of a range-based set reconciliation message (specs/0005-sync.md §8.3).

The format is Negentropy protocol version 1 (hoytech/negentropy,
docs/negentropy-protocol-v1.md; Nostr NIP-77), byte for byte, so any Negentropy
library reads and writes it:

    Message     := <protocolVersion 0x61> <Range>*
    Range       := <upperBound (Bound)> <mode (Varint)> <Skip | Fingerprint | IdList>
    Bound       := <encodedTimestamp (Varint)> <length (Varint)> <idPrefix (Byte)>*
    Skip        :=                                  (mode 0)
    Fingerprint := Byte{16}                         (mode 1)
    IdList      := <length (Varint)> <ids (Byte{32})>*   (mode 2)
    Varint      := <Digit+128>* <Digit>             base 128, most significant first

Here: `decode_message` (the only way from bytes to ranges; the size limit first,
then every field, refusing with `remote.oversized` or `remote.bad-reconcile`) and
`MessageWriter` (ranges to bytes, timestamps delta-encoded as the format wants).
What the ranges mean is protocol.reconcile's job.

Stricter than the reference decoders, so that one message has one encoding: varints
are minimal and fit in 64 bits, upper bounds strictly ascend, nothing follows the
infinity bound (whose prefix is empty), no two Skip ranges are adjacent and the last
range is not a Skip (it is implicit).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from protocol.errors import RemoteFaultError

PROTOCOL_VERSION: Final = 0x61
ID_BYTES: Final = 32
FINGERPRINT_BYTES: Final = 16
MAX_U64: Final = (1 << 64) - 1  #: the "infinity" timestamp, no item's
MODE_SKIP: Final = 0
MODE_FINGERPRINT: Final = 1
MODE_ID_LIST: Final = 2
#: A message's largest size, checked before a byte of it is parsed (0005 §8.3).
MAX_MESSAGE_BYTES: Final = 64 * 1024


@dataclass(frozen=True, slots=True, order=True)
class Bound:
    """A point of the (timestamp, id) order: items below it are those with a smaller
    timestamp, or the same timestamp and an id below `prefix` padded with zeros."""

    timestamp: int
    prefix: bytes = b""

    @property
    def key(self) -> tuple[int, bytes]:
        return (self.timestamp, self.prefix.ljust(ID_BYTES, b"\0"))


ZERO: Final = Bound(0, b"")
INFINITY: Final = Bound(MAX_U64, b"")


@dataclass(frozen=True, slots=True)
class WireRange:
    """One range of a message: [previous upper bound, `upper`), its mode and payload
    (None for Skip, 16 bytes for Fingerprint, the ids for IdList)."""

    upper: Bound
    mode: int
    fingerprint: bytes = b""
    ids: tuple[bytes, ...] = ()


def _bad(message: str) -> RemoteFaultError:
    return RemoteFaultError("remote.bad-reconcile", message)


# -- varints -----------------------------------------------------------------------
def encode_varint(value: int) -> bytes:
    if not 0 <= value <= MAX_U64:
        raise ValueError("a varint holds an integer in [0, 2^64 - 1]")
    digits = [value & 0x7F]
    value >>= 7
    while value:
        digits.append(0x80 | (value & 0x7F))
        value >>= 7
    return bytes(reversed(digits))


def _read_varint(data: bytes, pos: int) -> tuple[int, int]:
    if pos < len(data) and data[pos] == 0x80:
        raise _bad(f"varint at byte {pos} is not minimal")
    value = 0
    for i in range(pos, min(len(data), pos + 10)):
        value = (value << 7) | (data[i] & 0x7F)
        if not data[i] & 0x80:
            if value > MAX_U64:
                raise _bad(f"varint at byte {pos} exceeds 64 bits")
            return value, i + 1
    raise _bad(f"varint at byte {pos} is cut short or longer than 10 bytes")


def _take(data: bytes, pos: int, n: int) -> tuple[bytes, int]:
    if len(data) - pos < n:
        raise _bad(f"want {n} bytes at byte {pos}, {len(data) - pos} left")
    return data[pos : pos + n], pos + n


# -- decoding ------------------------------------------------------------------------
def decode_message(data: bytes, *, max_bytes: int = MAX_MESSAGE_BYTES) -> tuple[WireRange, ...]:
    """The ranges of one message; raises RemoteFaultError (`remote.oversized` before
    parsing when over `max_bytes`, else `remote.bad-reconcile`)."""
    if len(data) > max_bytes:
        raise RemoteFaultError(
            "remote.oversized", f"reconcile message of {len(data)} bytes, limit {max_bytes}"
        )
    if not data or data[0] != PROTOCOL_VERSION:
        raise _bad(f"want protocol version byte {PROTOCOL_VERSION:#x}")
    pos, last_ts, previous = 1, 0, ZERO
    out: list[WireRange] = []
    while pos < len(data):
        if previous == INFINITY:
            raise _bad("a range after the infinity bound")
        upper, pos, last_ts = _read_bound(data, pos, last_ts)
        if upper.key <= previous.key:
            raise _bad(f"upper bounds must ascend (byte {pos})")
        mode, pos = _read_varint(data, pos)
        if mode == MODE_SKIP:
            if out and out[-1].mode == MODE_SKIP:
                raise _bad("two adjacent Skip ranges")
            out.append(WireRange(upper, MODE_SKIP))
        elif mode == MODE_FINGERPRINT:
            fingerprint, pos = _take(data, pos, FINGERPRINT_BYTES)
            out.append(WireRange(upper, MODE_FINGERPRINT, fingerprint))
        elif mode == MODE_ID_LIST:
            count, pos = _read_varint(data, pos)
            if count > (len(data) - pos) // ID_BYTES:
                raise _bad(f"an IdList of {count} ids in {len(data) - pos} bytes")
            ids = tuple(data[pos + i * ID_BYTES : pos + (i + 1) * ID_BYTES] for i in range(count))
            pos += count * ID_BYTES
            out.append(WireRange(upper, MODE_ID_LIST, ids=ids))
        else:
            raise _bad(f"unknown mode {mode}")
        previous = upper
    if out and out[-1].mode == MODE_SKIP:
        raise _bad("a message does not end with a Skip range (it is implicit)")
    return tuple(out)


def _read_bound(data: bytes, pos: int, last_ts: int) -> tuple[Bound, int, int]:
    encoded, pos = _read_varint(data, pos)
    if encoded == 0:
        timestamp = MAX_U64
    else:
        timestamp = last_ts + encoded - 1
        if timestamp >= MAX_U64:
            raise _bad("a timestamp past 2^64 - 2")
    length, pos = _read_varint(data, pos)
    if length > ID_BYTES:
        raise _bad(f"an id prefix of {length} bytes")
    prefix, pos = _take(data, pos, length)
    if timestamp == MAX_U64 and prefix:
        raise _bad("the infinity bound has an empty id prefix")
    return Bound(timestamp, prefix), pos, timestamp


# -- encoding ------------------------------------------------------------------------
class MessageWriter:
    """Builds one message range by range; `mark`/`rewind` undo what did not fit."""

    def __init__(self) -> None:
        self.data = bytearray([PROTOCOL_VERSION])
        self._last_ts = 0

    def __len__(self) -> int:
        return len(self.data)

    def mark(self) -> tuple[int, int]:
        return len(self.data), self._last_ts

    def rewind(self, mark: tuple[int, int]) -> None:
        del self.data[mark[0] :]
        self._last_ts = mark[1]

    def bound(self, bound: Bound) -> None:
        if bound.timestamp == MAX_U64:
            self.data += encode_varint(0)
        else:
            self.data += encode_varint(bound.timestamp - self._last_ts + 1)
        self._last_ts = bound.timestamp
        self.data += encode_varint(len(bound.prefix)) + bound.prefix

    def skip(self, upper: Bound) -> None:
        self.bound(upper)
        self.data += encode_varint(MODE_SKIP)

    def fingerprint(self, upper: Bound, fingerprint: bytes) -> None:
        self.bound(upper)
        self.data += encode_varint(MODE_FINGERPRINT) + fingerprint

    def id_list(self, upper: Bound, ids: list[bytes]) -> None:
        self.bound(upper)
        self.data += encode_varint(MODE_ID_LIST) + encode_varint(len(ids)) + b"".join(ids)
