"""encoding/canonical: canonical msgpack values and the byte strings that break the rules."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from protocol import canonical, limits
from protocol.jsonform import to_json as tagged
from specs.vectorgen.common import Case, error, ok


def canonical_cases() -> Iterator[Case]:
    def case(name: str, description: str, data: bytes, expect: dict[str, Any]) -> Case:
        return Case("encoding", "canonical", name, description, {"encoded_hex": data.hex()}, expect)

    for name, description, value in _canonical_values():
        yield case(name, description, canonical.encode(value), ok(value=tagged(value)))
    for name, description, data, code in _canonical_mutations():
        yield case(name, description, data, error(code))


def _canonical_values() -> list[tuple[str, str, Any]]:
    depth_12: Any = 1
    for _ in range(limits.MAX_DEPTH):
        depth_12 = [depth_12]
    return [
        ("int-0", "Zero is a positive fixint.", 0),
        ("int-127", "127 is the largest positive fixint.", 127),
        ("int-128", "128 is the smallest uint8.", 128),
        ("int-255", "255 is the largest uint8.", 255),
        ("int-256", "256 is the smallest uint16.", 256),
        ("int-65535", "65535 is the largest uint16.", 65535),
        ("int-65536", "65536 is the smallest uint32.", 65536),
        ("int-2-pow-32", "2**32 is the smallest uint64.", 2**32),
        ("int-2-pow-64-minus-1", "2**64-1 is the largest integer allowed.", limits.MAX_INT),
        ("int-minus-1", "-1 is a negative fixint.", -1),
        ("int-minus-32", "-32 is the smallest negative fixint.", -32),
        ("int-minus-33", "-33 is the largest int8 outside fixint range.", -33),
        ("int-minus-2-pow-63", "-2**63 is the smallest integer allowed.", limits.MIN_INT),
        ("str-empty", "The empty text string is a fixstr.", ""),
        ("str-31-bytes", "31 bytes of text is the longest fixstr.", "a" * 31),
        ("str-32-bytes", "32 bytes of text is the shortest str8.", "a" * 32),
        ("str-utf8", "Text is UTF-8; the header counts bytes, not characters.", "Fab Lab é 😀"),
        ("bin-0-bytes", "An empty byte string still uses a bin8 header.", b""),
        ("bin-255-bytes", "255 bytes is the longest bin8.", bytes(range(256))[:255]),
        ("bin-256-bytes", "256 bytes is the shortest bin16.", bytes(range(256))),
        ("true", "True is 0xc3.", True),
        ("false", "False is 0xc2.", False),
        ("nil", "Nil is 0xc0.", None),
        ("array-empty", "An empty array is a fixarray.", []),
        ("map-empty", "An empty map is a fixmap.", {}),
        (
            "map-only-key-bin",
            'A map whose only key is "bin": its JSON form is wrapped, {"map": {"bin": ...}}.',
            {"bin": "00"},
        ),
        (
            "map-only-key-map",
            'A map whose only key is "map": its JSON form is wrapped too.',
            {"map": {"bin": b"\x00"}},
        ),
        ("nested-arrays", "Arrays nest inside arrays.", [1, [2, [3, []]], "x"]),
        (
            "nested-maps",
            "Maps nest, each with its keys sorted.",
            {"b": {"d": None, "c": [b"\x01"]}},
        ),
        ("map-keys-utf8-order", "Keys sort by UTF-8 bytes: Z < a < é.", {"a": 1, "é": 2, "Z": 3}),
        ("map-keys-prefix-order", "A key sorts before any longer key it prefixes.", _prefix_map()),
        ("map-keys-utf8-not-utf16-order", "U+FF61 sorts before U+1F600 in UTF-8.", _astral_map()),
        ("map-key-64-bytes", "A map key may have 64 bytes.", {"k" * limits.MAX_KEY_BYTES: 0}),
        ("array-1024-items", "An array may have 1024 items.", [0] * limits.MAX_ARRAY_LEN),
        ("map-256-pairs", "A map may have 256 pairs.", _big_map(limits.MAX_MAP_LEN)),
        ("depth-12", "A scalar inside 12 nested arrays is at the depth limit.", depth_12),
    ]


def _prefix_map() -> dict[str, int]:
    return {"aa": 1, "b": 2, "a": 3}


def _astral_map() -> dict[str, int]:
    return {"\U0001f600": 1, "\uff61": 2}


def _big_map(pairs: int) -> dict[str, int]:
    return {f"k{i:03d}": i for i in range(pairs)}


def _canonical_mutations() -> list[tuple[str, str, bytes, str]]:
    nc, ut, mal = "decode.non-canonical", "decode.unsorted-keys", "decode.malformed"
    lim = "decode.limit"
    long_str = b"\xda" + (limits.MAX_STR_BYTES + 1).to_bytes(2, "big")
    long_key = "k" * (limits.MAX_KEY_BYTES + 1)
    return [
        ("non-canonical-int", "5 encoded as uint8 instead of a fixint.", b"\xcc\x05", nc),
        ("non-canonical-uint16", "255 encoded as uint16 instead of uint8.", b"\xcd\x00\xff", nc),
        (
            "non-canonical-uint64",
            "1 encoded as uint64 instead of a fixint.",
            b"\xcf" + (1).to_bytes(8, "big"),
            nc,
        ),
        ("non-canonical-negative-int", "-1 encoded as int8 instead of a fixint.", b"\xd0\xff", nc),
        ("non-canonical-signed-positive", "128 encoded as int16, not uint8.", b"\xd1\x00\x80", nc),
        ("non-canonical-str-header", "A 1-byte string with a str8 header.", b"\xd9\x01a", nc),
        ("non-canonical-bin-header", "A 1-byte bin with a bin16 header.", b"\xc5\x00\x01a", nc),
        (
            "non-canonical-array-header",
            "A 1-item array with an array16 header.",
            b"\xdc\x00\x01\x01",
            nc,
        ),
        (
            "non-canonical-map-header",
            "A 1-pair map with a map16 header.",
            b"\xde\x00\x01\xa1a\x01",
            nc,
        ),
        ("unsorted-keys", "Map keys b, a are out of order.", b"\x82\xa1b\x01\xa1a\x02", ut),
        (
            "unsorted-keys-utf16-order",
            "Keys U+1F600, U+FF61 are in UTF-16 order, not UTF-8.",
            _utf16_sorted(),
            ut,
        ),
        ("duplicate-keys", "The map key a appears twice.", b"\x82\xa1a\x01\xa1a\x02", ut),
        (
            "trailing-bytes",
            "A byte follows a complete value.",
            b"\x01\x00",
            "decode.trailing-bytes",
        ),
        (
            "float32",
            "A float32 (1.0) is not in the subset.",
            b"\xca\x3f\x80\x00\x00",
            "decode.float",
        ),
        (
            "float64",
            "A float64 (1.0) is not in the subset.",
            b"\xcb\x3f\xf0" + bytes(6),
            "decode.float",
        ),
        (
            "ext-type",
            "An ext value (type 1) is not in the subset.",
            b"\xd4\x01\x00",
            "decode.bad-type",
        ),
        (
            "ext-timestamp",
            "The timestamp ext type -1 is not in the subset.",
            b"\xd6\xff" + bytes(4),
            "decode.bad-type",
        ),
        (
            "too-deep",
            "An integer inside 13 nested arrays.",
            b"\x91" * 13 + b"\x01",
            "decode.too-deep",
        ),
        ("too-large", "A canonical bin over the entry size cap.", _too_large(), "decode.too-large"),
        ("invalid-utf8", "A text string that is not UTF-8.", b"\xa2\xc3\x28", mal),
        ("int-map-key", "A map key is an integer, not a str.", b"\x81\x01\x01", "decode.bad-type"),
        ("bin-map-key", "A map key is a bin, not a str.", b"\x81\xc4\x01a\x01", "decode.bad-type"),
        ("truncated", "A uint16 missing its last byte.", b"\xcd\x01", mal),
        ("truncated-str", "A fixstr announces 5 bytes; 1 follows.", b"\xa5a", mal),
        ("reserved-byte-0xc1", "The reserved type byte 0xc1 is never valid.", b"\xc1", mal),
        ("empty-input", "The input is empty.", b"", mal),
        (
            "str-too-long",
            "A str one byte over the string cap.",
            long_str + b"a" * (limits.MAX_STR_BYTES + 1),
            lim,
        ),
        (
            "map-key-too-long",
            "A map key of 65 bytes is over the key cap.",
            _long_key_map(long_key),
            lim,
        ),
        (
            "array-too-long",
            "An array one item over the item cap.",
            _array(limits.MAX_ARRAY_LEN + 1),
            lim,
        ),
        ("map-too-long", "A map one pair over the pair cap.", _map(limits.MAX_MAP_LEN + 1), lim),
    ]


def _long_key_map(key: str) -> bytes:
    """{key: 0} written by hand: canonical.encode refuses a key over the key cap."""
    raw = key.encode()
    assert 32 <= len(raw) < 256  # a str8 header
    return b"\x81\xd9" + bytes([len(raw)]) + raw + b"\x00"


def _utf16_sorted() -> bytes:
    return b"\x82" + canonical.encode("\U0001f600") + b"\x01" + canonical.encode("\uff61") + b"\x02"


def _too_large() -> bytes:
    data = canonical.encode(bytes(limits.MAX_BIN_BYTES))
    assert len(data) > limits.MAX_ENTRY_BYTES
    return data


def _array(items: int) -> bytes:
    return b"\xdc" + items.to_bytes(2, "big") + b"\x00" * items


def _map(pairs: int) -> bytes:
    body = b"".join(canonical.encode(f"k{i:03d}") + b"\x00" for i in range(pairs))
    return b"\xde" + pairs.to_bytes(2, "big") + body
