"""Properties of canonical msgpack (specs/0001-encoding.md)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol import canonical, limits
from protocol.errors import CommonsError, DecodeError, LocalMisuseError
from protocol.jsonform import from_json, to_json

keys = st.text(max_size=12).filter(lambda k: len(k.encode()) <= limits.MAX_KEY_BYTES)
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=limits.MIN_INT, max_value=limits.MAX_INT)
    | st.text(max_size=40)
    | st.binary(max_size=40)
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=6) | st.dictionaries(keys, inner, max_size=6),
    max_leaves=30,
)


@given(values)
def test_round_trip(value: Any) -> None:
    data = canonical.encode(value)
    assert canonical.decode(data) == value
    assert canonical.encode(canonical.decode(data)) == data


@given(st.binary(max_size=200))
@settings(max_examples=2000)
def test_random_bytes_only_raise_commons_errors(data: bytes) -> None:
    try:
        value = canonical.decode(data)
    except CommonsError:
        return
    assert canonical.encode(value) == data


@given(values)
def test_any_other_msgpack_form_is_rejected(value: Any) -> None:
    """msgpack's own packer with unsorted keys or float types is not canonical."""
    data = canonical.encode(value)
    loose: bytes = msgpack.packb(value, use_bin_type=True, use_single_float=True)
    if loose != data:
        with pytest.raises(DecodeError):
            canonical.decode(loose)


@given(st.floats(allow_nan=False))
def test_floats_are_refused_both_ways(x: float) -> None:
    with pytest.raises(DecodeError) as err:
        canonical.decode(msgpack.packb(x))
    assert err.value.code == "decode.float"
    with pytest.raises(LocalMisuseError):
        canonical.encode(x)


def test_size_is_checked_before_parsing() -> None:
    # A huge declared array that is never read: the size check comes first.
    data = b"\xdd\xff\xff\xff\xff" + b"\x00" * 100
    with pytest.raises(DecodeError) as err:
        canonical.decode(data, max_bytes=50)
    assert err.value.code == "decode.too-large"


def test_encode_sorts_keys_by_utf8_bytes() -> None:
    data = canonical.encode({"é": 1, "a": 2, "Z": 3})
    assert list(canonical.decode(data)) == ["Z", "a", "é"]


def test_integer_range() -> None:
    with pytest.raises(LocalMisuseError):
        canonical.encode(2**64)
    assert canonical.decode(canonical.encode(2**64 - 1)) == 2**64 - 1
    assert canonical.decode(canonical.encode(-(2**63))) == -(2**63)


@given(values)
def test_json_form_round_trips(value: Any) -> None:
    assert from_json(to_json(value)) == value


def test_json_form_is_unambiguous_for_tag_like_maps() -> None:
    for tricky in ({"bin": "00"}, {"map": {"bin": "00"}}, {"map": b"x"}):
        assert from_json(to_json(tricky)) == tricky


def test_ext_types_decoded_by_msgpack_itself_are_refused() -> None:
    with pytest.raises(DecodeError) as err:
        canonical.decode(bytes.fromhex("d6ff00000000"))  # msgpack timestamp ext
    assert err.value.code == "decode.bad-type"


def test_depth_counts_containers() -> None:
    deepest = b"\x91" * (limits.MAX_DEPTH - 1) + b"\x91\x01"
    assert canonical.decode(deepest) is not None
    with pytest.raises(DecodeError) as err:
        canonical.decode(b"\x91" * limits.MAX_DEPTH + b"\x90")
    assert err.value.code == "decode.too-deep"


def test_a_value_refused_halfway_leaves_nothing_for_the_next_encoding() -> None:
    # The list's header and first item are packed before the lone surrogate fails.
    with pytest.raises(LocalMisuseError):
        canonical.encode(["a", "\ud800"])
    assert canonical.encode(["b"]) == bytes.fromhex("91a162")


def test_threads_encoding_at_once_each_get_their_own_bytes() -> None:
    values = [{"n": i, "text": "x" * (i % 50)} for i in range(2_000)]
    expected = [canonical.encode(v) for v in values]
    with ThreadPoolExecutor(max_workers=4) as pool:
        for _ in range(3):
            assert list(pool.map(canonical.encode, values)) == expected
