"""The fast paths of decoding agree with the reference ones (specs/0001, specs/0002 §4).

`canonical.decode` tries a plain parse plus one tree check before the strict
decoder; `decode_entries` checks forms, then signatures in a second pass. Both must
accept exactly what the reference accepts, return the same value, and raise the
same error codes: these properties compare them on valid, mutated and messy input.
"""

from __future__ import annotations

from typing import Any

import msgpack
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol import canonical, limits
from protocol.entry import decode_entries, decode_entry
from protocol.errors import CommonsError, DecodeError
from tests.factory import Author

keys = st.text(max_size=6)  # short: repeats and order clashes are frequent
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False)
    | st.text(max_size=8)
    | st.binary(max_size=8)
)
loose_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4),
    max_leaves=20,
)


def outcome_of(fn: Any, *args: Any) -> tuple[str, Any]:
    try:
        return "value", fn(*args)
    except CommonsError as e:
        return "error", (type(e), e.code)


def strict(data: bytes) -> Any:
    return canonical._decode_strict(data, limits.MAX_BIN_BYTES, limits.MAX_ARRAY_LEN)


def packed_loosely(value: Any, data: st.DataObject) -> bytes:
    """msgpack of `value` with maps in a drawn order, maybe with a key repeated."""

    def pairs(v: Any) -> Any:
        if isinstance(v, dict):
            items = [(k, pairs(x)) for k, x in v.items()]
            order = data.draw(st.permutations(items)) if items else []
            repeat: bool = data.draw(st.booleans())
            if order and repeat:
                order.append(order[0])  # a repeated key
            return _Pairs(order)
        if isinstance(v, list):
            return [pairs(x) for x in v]
        return v

    return bytes(_pack_pairs(pairs(value)))


class _Pairs(list[tuple[Any, Any]]):
    pass


def _pack_pairs(value: Any) -> bytearray:
    out = bytearray()
    if isinstance(value, _Pairs):
        n = len(value)
        out += bytes([0x80 | n]) if n < 16 else b"\xde" + n.to_bytes(2, "big")
        for k, v in value:
            out += _pack_pairs(k) + _pack_pairs(v)
    elif isinstance(value, list):
        n = len(value)
        out += bytes([0x90 | n]) if n < 16 else b"\xdc" + n.to_bytes(2, "big")
        for v in value:
            out += _pack_pairs(v)
    else:
        out += msgpack.packb(value, use_bin_type=True)
    return out


@given(loose_values, st.data())
@settings(max_examples=400)
def test_canonical_decode_agrees_with_the_strict_decoder(value: Any, data: st.DataObject) -> None:
    raw = packed_loosely(value, data)
    assert outcome_of(canonical.decode, raw) == outcome_of(strict, raw)


@given(st.binary(max_size=120))
@settings(max_examples=600)
def test_canonical_decode_agrees_on_random_bytes(raw: bytes) -> None:
    assert outcome_of(canonical.decode, raw) == outcome_of(strict, raw)


def test_a_repeated_key_is_still_an_unsorted_key() -> None:
    raw = b"\x82\xa1a\x01\xa1a\x01"  # {"a": 1, "a": 1}
    assert outcome_of(canonical.decode, raw) == ("error", (DecodeError, "decode.unsorted-keys"))


_AUTHOR = Author("fast-path")
for _i in range(6):
    _AUTHOR.note(f"note {_i}")
_RAWS = [e.raw for e in _AUTHOR.entries]


@given(
    st.lists(
        st.tuples(
            st.integers(0, len(_RAWS) - 1),
            st.sampled_from(["keep", "flip", "cut", "grow"]),
            st.integers(0, 400),
        ),
        max_size=8,
    )
)
@settings(max_examples=150)
def test_decode_entries_is_decode_entry_of_each(edits: list[tuple[int, str, int]]) -> None:
    items: list[bytes] = []
    for index, how, at in edits:
        raw = bytearray(_RAWS[index])
        if how == "flip":
            raw[at % len(raw)] ^= 0x01  # in the payload or the signature
        elif how == "cut":
            raw = raw[: at % len(raw)]
        elif how == "grow":
            raw += b"\x00"
        items.append(bytes(raw))
    batch = decode_entries(items)
    assert len(batch) == len(items)
    for item, got in zip(items, batch, strict=True):
        want = outcome_of(decode_entry, item)
        if isinstance(got, CommonsError):
            assert want == ("error", (type(got), got.code))
        else:
            assert want == ("value", got)
