"""Every wire encoder of protocol/ against its decoder (specs/0012 §1; h11's rule).

Whatever an encoder produces, its decoder accepts and gives back the same value; given
a value over a cap its decoder checks, the encoder raises LocalMisuseError (`misuse.*`)
and produces nothing, so a peer never sees bytes it must refuse. Here: canonical.encode
(and the JSON form), framing.encode_frame, entry.sign_entry, announce.encode_announcement
and build_announcements, blob.encode_message. Sync messages (SyncConnection.send):
test_sync_encoders.py; record encoders (entry bodies, charters, OKW documents, sealed
files): test_record_encoders.py.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol import blob, canonical, limits
from protocol.announce import (
    MAX_ANNOUNCE_BYTES,
    MAX_ANNOUNCE_CHECKPOINTS,
    MAX_ANNOUNCE_ENTRIES,
    MAX_ANNOUNCE_FORKS,
    MAX_ANNOUNCE_ITEM_BYTES,
    Announcement,
    build_announcements,
    cut_announcements,
    decode_announcement,
    encode_announcement,
)
from protocol.entry import decode_entry, sign_entry
from protocol.errors import LocalMisuseError
from protocol.framing import FrameDecoder, encode_frame
from protocol.identity import development_network
from protocol.jsonform import from_json, to_json
from protocol.keys import SigningKey
from tests.protocol.strategies import WIDE, refused

NET = development_network("encoders")
KEY = SigningKey(bytes(range(32)))
AUTHOR = b"\x01" * 32
MAX_STR = limits.MAX_STR_BYTES
#: Decoder limits wide enough that only the caps every decode applies are in play.
WIDE_LIMITS: dict[str, Any] = {
    "max_bytes": 1 << 30,
    "max_bin_bytes": 1 << 30,
    "max_array_len": 1 << 20,
}


# -- canonical msgpack and its JSON form -----------------------------------------------

EDGE_TEXT = st.builds(
    lambda ch, n: ch * n,
    WIDE,
    st.sampled_from([MAX_STR // 4, MAX_STR // 4 + 1, MAX_STR // 2, MAX_STR, MAX_STR + 1]),
)
KEYS = st.text(max_size=4) | st.builds(lambda ch, n: ch * n, WIDE, st.sampled_from([16, 64, 65]))
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(limits.MIN_INT, limits.MAX_INT)
    | st.text(max_size=12)
    | st.binary(max_size=12)
    | EDGE_TEXT
)
WIDE_MAPS = st.integers(limits.MAX_MAP_LEN - 1, limits.MAX_MAP_LEN + 1).map(
    lambda n: {f"k{i:03d}": i for i in range(n)}
)


def _nest(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


DEEP = st.integers(limits.MAX_DEPTH - 1, limits.MAX_DEPTH + 1).map(_nest)
VALUES = st.recursive(
    SCALARS | WIDE_MAPS | DEEP,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=4),
    max_leaves=8,
)


def fits(value: Any, *, arrays: int = 1 << 20, bins: int = 1 << 30, depth: int = 0) -> bool:
    """A model of the decoder's per-item caps: text, map pairs, keys, depth, and the
    array and byte-string caps a caller passes."""
    if isinstance(value, str):
        return len(value.encode()) <= MAX_STR
    if isinstance(value, bytes):
        return len(value) <= bins
    if not isinstance(value, list | dict):
        return True
    if depth >= limits.MAX_DEPTH:
        return False
    if isinstance(value, dict):
        keys_ok = all(len(k.encode()) <= limits.MAX_KEY_BYTES for k in value)
        if len(value) > limits.MAX_MAP_LEN or not keys_ok:
            return False
        value = list(value.values())
    return len(value) <= arrays and all(
        fits(v, arrays=arrays, bins=bins, depth=depth + 1) for v in value
    )


@given(VALUES)
@settings(max_examples=150)
def test_canonical_values_round_trip_or_are_refused_by_the_encoder(value: Any) -> None:
    if not fits(value):
        refused("misuse.bad-argument", canonical.encode, value)
        return
    data = canonical.encode(value)
    assert canonical.decode(data, **WIDE_LIMITS) == value
    assert from_json(to_json(value)) == value


@given(VALUES, st.integers(1, 300))
@settings(max_examples=100)
def test_frames_round_trip_or_are_refused_over_their_limit(value: Any, limit: int) -> None:
    if not fits(value):
        return
    body = canonical.encode(value)
    if len(body) > limit:
        refused("misuse.frame-too-large", encode_frame, value, max_frame_bytes=limit)
        return
    decoder = FrameDecoder(max_frame_bytes=limit, max_bin_bytes=limit, max_array_len=1 << 20)
    decoder.receive_data(encode_frame(value, max_frame_bytes=limit))
    assert decoder.next_frame() == value
    assert decoder.buffered_bytes == 0


# -- entries ---------------------------------------------------------------------------

PADS = st.sampled_from([0, 100, 60_000, 65_300, limits.MAX_BIN_BYTES, limits.MAX_BIN_BYTES + 1])
ENTRY_BODIES = st.fixed_dictionaries(
    {"pad": PADS.map(bytes), "list": st.sampled_from([0, 1024, 1025]).map(lambda n: [0] * n)},
    optional={"x": VALUES},
)


def sign(body: dict[str, Any], kind: str = "test.pad", seq: int = 1) -> Any:
    prev = None if seq == 1 else bytes(32)
    return sign_entry(
        KEY, network=NET, author=AUTHOR, seq=seq, prev=prev, timestamp_ms=7, kind=kind, body=body
    )


@given(ENTRY_BODIES)
@settings(max_examples=60)
def test_signed_entries_decode_to_themselves_or_are_refused(body: dict[str, Any]) -> None:
    # the body is a map inside the payload array: its own depth starts at 1 (0002 §3.1)
    bounded = fits(body, arrays=limits.MAX_ARRAY_LEN, bins=limits.MAX_BIN_BYTES, depth=1)
    try:
        entry = sign(body)
    except LocalMisuseError as e:
        assert e.code in ("misuse.bad-entry", "misuse.bad-argument")
        if bounded:  # refused only for its size: the whole entry over 64 KiB
            payload = canonical.encode([1, NET, AUTHOR, KEY.public, 1, None, 7, "test.pad", body])
            assert len(canonical.encode([payload, bytes(64)])) > limits.MAX_ENTRY_BYTES
        return
    assert bounded
    assert decode_entry(entry.raw) == entry


# -- announcements ---------------------------------------------------------------------

#: Signed entries of many sizes, up to the largest an entry may be.
POOL = [sign({"pad": bytes(n)}, seq=i + 1).raw for i, n in enumerate([0, 900, 9_000, 40_000])]
POOL.append(sign({"pad": bytes(65_536 - 250)}, seq=9).raw)
ITEM_SIZES = st.sampled_from([0, 1, 255, 256, 30_000, 65_535, MAX_ANNOUNCE_ITEM_BYTES])
ITEMS = st.builds(lambda n, fill: bytes([fill]) * n, ITEM_SIZES, st.integers(0, 255))
LONG_ITEMS = st.sampled_from([MAX_ANNOUNCE_ITEM_BYTES + 1, 200_000]).map(bytes)


@given(
    st.lists(st.sampled_from(POOL), max_size=MAX_ANNOUNCE_ENTRIES + 2),
    st.lists(ITEMS | LONG_ITEMS, max_size=MAX_ANNOUNCE_CHECKPOINTS + 1),
    st.lists(ITEMS | LONG_ITEMS, max_size=MAX_ANNOUNCE_FORKS + 1),
)
@settings(max_examples=120)
def test_an_announcement_round_trips_or_is_refused_with_the_cap_it_breaks(
    entries: list[bytes], checkpoints: list[bytes], forks: list[bytes]
) -> None:
    lists = (entries, checkpoints, forks)
    caps = (MAX_ANNOUNCE_ENTRIES, MAX_ANNOUNCE_CHECKPOINTS, MAX_ANNOUNCE_FORKS)
    broken = {
        "misuse.too-many-items" for items, cap in zip(lists, caps, strict=True) if len(items) > cap
    }
    if any(len(i) > MAX_ANNOUNCE_ITEM_BYTES for items in lists for i in items):
        broken.add("misuse.too-large")
    if not broken:
        value = {"checkpoints": checkpoints, "entries": entries, "forks": forks, "network": NET}
        if len(canonical.encode({**value, "v": 1})) > MAX_ANNOUNCE_BYTES:
            broken.add("misuse.too-large")
    if broken:
        with pytest.raises(LocalMisuseError) as info:
            encode_announcement(NET, entries, checkpoints, forks)
        assert info.value.code in broken
        return
    data = encode_announcement(NET, entries, checkpoints, forks)
    expected = Announcement(NET, [decode_entry(e) for e in entries], checkpoints, forks)
    assert decode_announcement(data) == expected


@given(
    st.lists(st.sampled_from(POOL), max_size=80),
    st.lists(ITEMS, max_size=20),
    st.lists(ITEMS | LONG_ITEMS, max_size=12),
)
@settings(max_examples=60)
def test_any_news_is_cut_into_announcements_within_every_limit(
    entries: list[bytes], checkpoints: list[bytes], forks: list[bytes]
) -> None:
    out = build_announcements(NET, entries, checkpoints, forks)
    cut = cut_announcements(entries, checkpoints, forks)
    assert out == [encode_announcement(NET, *items) for items in cut]
    decoded = [decode_announcement(data) for data in out]  # each one within every limit
    assert all(len(data) <= MAX_ANNOUNCE_BYTES for data in out)
    assert [e.raw for a in decoded for e in a.entries] == entries
    assert [c for a in decoded for c in a.checkpoints] == checkpoints
    gossiped = [f for f in forks if len(f) <= MAX_ANNOUNCE_ITEM_BYTES]  # the rest: by sync
    assert [f for a in decoded for f in a.forks] == gossiped
    assert (out == []) == (not (entries or checkpoints or gossiped))
    news = [*entries, *checkpoints, *gossiped]
    at = 0
    for a in decoded[:-1]:  # greedy: the next item would not have fitted
        at += len(a.entries) + len(a.checkpoints) + len(a.forks)
        grown = [[e.raw for e in a.entries], list(a.checkpoints), list(a.forks)]
        grown[_field_of(at, entries, checkpoints)].append(news[at])
        with pytest.raises(LocalMisuseError):
            encode_announcement(NET, *grown)


def _field_of(at: int, entries: list[bytes], checkpoints: list[bytes]) -> int:
    return 0 if at < len(entries) else 1 if at < len(entries) + len(checkpoints) else 2


@pytest.mark.parametrize(
    ("entries", "checkpoints", "code"),
    [
        ([bytes(MAX_ANNOUNCE_ITEM_BYTES + 1)], [], "misuse.too-large"),
        ([], [bytes(MAX_ANNOUNCE_ITEM_BYTES + 1)], "misuse.too-large"),
        ([bytearray(b"entry")], [], "misuse.bad-argument"),
    ],
)
def test_news_no_announcement_can_carry_is_refused(
    entries: list[bytes], checkpoints: list[bytes], code: str
) -> None:
    refused(code, build_announcements, NET, entries, checkpoints)
    refused("misuse.bad-argument", build_announcements, NET[:31], [POOL[0]])


# -- blob messages ---------------------------------------------------------------------

BLOB_ID = bytes(range(32))
UINT = st.integers(0, limits.MAX_INT)
CHUNK_SIZES = st.sampled_from([0, 1, 1000, blob.MAX_CHUNK_BYTES, blob.MAX_CHUNK_BYTES + 1])
CODES = st.text(max_size=8) | st.builds(lambda ch, n: ch * n, WIDE, st.integers(0, 70))
TEXTS = st.text(max_size=8) | st.builds(lambda ch, n: ch * n, WIDE, st.integers(0, 1100))
BLOB_MESSAGES = st.one_of(
    st.builds(blob.Want, st.just(BLOB_ID), UINT, UINT),
    st.builds(blob.Chunk, st.just(BLOB_ID), UINT, UINT, CHUNK_SIZES.map(bytes)),
    st.builds(blob.NotHeld, st.just(BLOB_ID)),
    st.builds(blob.ErrorMessage, CODES, TEXTS | st.just("\ud800")),
)


def _blob_decoder(message: blob.Message) -> FrameDecoder:
    """The frame decoder of the side that receives `message` (BlobServe, BlobFetch)."""
    if isinstance(message, blob.Want):
        return FrameDecoder(
            max_frame_bytes=blob.MAX_WANT_FRAME_BYTES, max_bin_bytes=32, max_array_len=0
        )
    return FrameDecoder(
        max_frame_bytes=blob.MAX_FRAME_BYTES, max_bin_bytes=blob.MAX_CHUNK_BYTES, max_array_len=0
    )


def _blob_fits(message: blob.Message) -> bool:
    if isinstance(message, blob.Chunk):
        return len(message.data) <= blob.MAX_CHUNK_BYTES
    if isinstance(message, blob.ErrorMessage):
        code, text = (t.encode(errors="surrogatepass") for t in (message.code, message.message))
        ok = len(code) <= blob.MAX_CODE_BYTES and len(text) <= blob.MAX_ERROR_MESSAGE_BYTES
        return ok and "\ud800" not in message.code + message.message
    return True


@given(BLOB_MESSAGES)
@settings(max_examples=120)
def test_blob_messages_round_trip_or_are_refused(message: blob.Message) -> None:
    if not _blob_fits(message):
        refused("misuse.bad-argument", blob.encode_message, message)
        return
    decoder = _blob_decoder(message)
    decoder.receive_data(blob.encode_message(message))
    assert blob.decode_message(decoder.next_frame()) == message
