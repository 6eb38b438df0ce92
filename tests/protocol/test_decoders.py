"""Properties every decoder shares (specs/0012 §2), for those no other test file covers.

  - the size limit is checked before parsing: any input one byte over the limit is
    refused with decode.too-large, whatever its content (so nothing was parsed);
  - arbitrary input raises nothing but the decoder's typed errors;
  - valid values round-trip.
The other decoders' arbitrary-input properties live beside their own tests
(test_canonical, test_entries, test_checkpoint, test_announce, test_blob_protocol,
test_sync_machine, test_geometry, test_licences, test_okh_import); the fuzz targets in
tests/fuzz exercise all of them again, coverage-guided.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.checkpoint import MAX_CHECKPOINT_BYTES, decode_note, decode_signed_checkpoint
from ledger.forkproof import MAX_FORK_PROOF_BYTES, verify_fork_proof
from ledger.inclusion import check_bundle
from ledger.log import checkpoint_side
from ledger.store import decode_head, encode_head
from licenses.okh import MAX_MANIFEST_BYTES, import_losh_toml, import_okh_v1_yaml
from licenses.spdx import MAX_EXPRESSION_CHARS, parse_expression
from protocol import blob, canonical, framing, limits
from protocol.announce import MAX_ANNOUNCE_BYTES, decode_announcement
from protocol.entry import decode_entry, read_stored_entry
from protocol.errors import (
    CommonsError,
    DecodeError,
    LocalMisuseError,
    RemoteFaultError,
    VerificationError,
)
from protocol.governance import (
    MAX_CHARTER_BYTES,
    MAX_CHARTER_TOML_BYTES,
    charter_bytes,
    charter_toml,
    decode_charter,
    parse_charter_toml,
)
from protocol.logstate import KeyState, LogHead
from tests.fuzz.targets import VECTORS

ByteDecoder = Callable[[bytes], object]

#: (name, decoder of bytes, limit in bytes): each refuses limit + 1 bytes unparsed.
BYTE_LIMITS: list[tuple[str, ByteDecoder, int]] = [
    ("canonical", canonical.decode, limits.MAX_ENTRY_BYTES),
    ("entry", decode_entry, limits.MAX_ENTRY_BYTES),
    ("stored-entry", read_stored_entry, limits.MAX_ENTRY_BYTES),
    ("note", decode_note, MAX_CHECKPOINT_BYTES),
    ("checkpoint", decode_signed_checkpoint, MAX_CHECKPOINT_BYTES),
    ("fork-proof", verify_fork_proof, MAX_FORK_PROOF_BYTES),
    ("announcement", decode_announcement, MAX_ANNOUNCE_BYTES),
    ("charter", decode_charter, MAX_CHARTER_BYTES),
]
#: The same for decoders of text, whose limit counts UTF-8 bytes (SPDX: characters).
TEXT_LIMITS: list[tuple[str, Callable[[str], object], int]] = [
    ("charter-toml", parse_charter_toml, MAX_CHARTER_TOML_BYTES),
    ("losh-toml", lambda t: import_losh_toml(t, source="x.toml"), MAX_MANIFEST_BYTES),
    ("okh-yaml", lambda t: import_okh_v1_yaml(t, source="x.yml"), MAX_MANIFEST_BYTES),
    ("spdx", parse_expression, MAX_EXPRESSION_CHARS),
]


@pytest.mark.parametrize(
    ("decoder", "limit"), [p[1:] for p in BYTE_LIMITS], ids=[p[0] for p in BYTE_LIMITS]
)
@given(prefix=st.binary(max_size=64), fill=st.integers(0, 255))
@settings(max_examples=20)
def test_one_byte_over_the_limit_is_refused_before_parsing(
    decoder: ByteDecoder, limit: int, prefix: bytes, fill: int
) -> None:
    data = prefix + bytes([fill]) * (limit + 1 - len(prefix))
    with pytest.raises(DecodeError) as info:
        decoder(data)
    assert info.value.code == "decode.too-large"


@pytest.mark.parametrize(
    ("decoder", "limit"), [p[1:] for p in TEXT_LIMITS], ids=[p[0] for p in TEXT_LIMITS]
)
@given(prefix=st.text(max_size=32), fill=st.sampled_from(["a", "[", "\n", "é", "'"]))
@settings(max_examples=20)
def test_text_over_the_limit_is_refused_before_parsing(
    decoder: Callable[[str], object], limit: int, prefix: str, fill: str
) -> None:
    text = prefix + fill * (limit + 1)
    with pytest.raises(DecodeError) as info:
        decoder(text)
    assert info.value.code == "decode.too-large"


def test_a_frame_longer_than_the_limit_is_refused_from_its_header() -> None:
    decoder = framing.FrameDecoder(max_frame_bytes=100, max_bin_bytes=100, max_array_len=8)
    with pytest.raises(RemoteFaultError) as info:
        decoder.receive_data((101).to_bytes(4, "big"))  # the header alone: no body buffered
    assert info.value.code == "remote.bad-frame"


# -- arbitrary input, typed errors --------------------------------------------------------


def _only(errors: tuple[type[CommonsError], ...], call: Callable[[], object]) -> None:
    try:
        call()
    except LocalMisuseError:
        raise  # a peer's bytes are never our misuse
    except errors:
        pass


@given(st.binary(max_size=400))
@settings(max_examples=150)
def test_any_bytes_are_a_charter_or_decode_errors(data: bytes) -> None:
    _only((DecodeError,), lambda: decode_charter(data))
    _only((DecodeError,), lambda: parse_charter_toml(data.decode("utf-8", "replace")))


TOML_VALUES = st.recursive(
    st.integers(-(2**70), 2**70) | st.text(max_size=8) | st.booleans() | st.floats(),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=10,
)
CHARTER_KEYS = st.sampled_from(["version", "name", "members", "rules", "text", "licences", "x"])


@given(st.dictionaries(CHARTER_KEYS, TOML_VALUES, max_size=6))
@settings(max_examples=200)
def test_any_charter_shaped_toml_is_a_charter_or_a_bad_charter(table: dict[str, Any]) -> None:
    text = "\n".join(f"{k} = {json.dumps(v)}" for k, v in table.items() if _toml_inline(v))
    _only((DecodeError,), lambda: parse_charter_toml(text))


def _toml_inline(value: Any) -> bool:
    """Whether json.dumps of `value` is also TOML (no maps, nulls or non-finite floats)."""
    if isinstance(value, list):
        return all(_toml_inline(v) for v in value)
    if isinstance(value, float):
        return math.isfinite(value)
    return isinstance(value, int | str | bool) and not isinstance(value, dict)


def _charter_texts() -> list[str]:
    texts = []
    for path in sorted((VECTORS / "governance" / "charter").glob("*.json")):
        case = json.loads(path.read_text())
        if case["expect"]["ok"]:
            texts.append(case["input"]["toml"])
    return texts


@pytest.mark.parametrize("text", _charter_texts())
def test_valid_charters_round_trip_through_toml_and_bytes(text: str) -> None:
    charter = parse_charter_toml(text)
    assert parse_charter_toml(charter_toml(charter)) == charter
    assert decode_charter(charter_bytes(charter)) == charter


@given(st.binary(max_size=600))
@settings(max_examples=150)
def test_any_bytes_are_a_fork_proof_or_typed_errors(data: bytes) -> None:
    _only(
        (DecodeError, VerificationError),
        lambda: verify_fork_proof(data, checkpoint_verifier=checkpoint_side),
    )


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=16,
)
BUNDLE_KEYS = st.sampled_from(
    ["version", "entry_hex", "checkpoint", "proof_hex", "key_events_hex", "witnesses", "x"]
)


@given(JSONISH | st.dictionaries(BUNDLE_KEYS, JSONISH, max_size=7))
@settings(max_examples=150)
def test_any_json_is_a_bundle_or_typed_errors(bundle: Any) -> None:
    _only((DecodeError, VerificationError), lambda: check_bundle(bundle))


@given(st.binary(max_size=300))
@settings(max_examples=150)
def test_any_bytes_are_a_stored_head_or_bad_state(data: bytes) -> None:
    _only((DecodeError,), lambda: decode_head(data))


IDS = st.binary(min_size=32, max_size=32)
HEADS = st.builds(
    LogHead,
    IDS,
    IDS,
    st.integers(0, 2**40),
    st.none() | IDS,
    st.integers(0, 2**50),
    st.none() | st.builds(KeyState, IDS, IDS, IDS, st.integers(1, 2**40)),
    st.lists(st.tuples(st.integers(1, 2**30), st.integers(1, 2**30)), max_size=4).map(tuple),
)


@given(HEADS)
def test_stored_heads_round_trip(head: LogHead) -> None:
    assert decode_head(encode_head(head)) == head


_ID, _OTHER = b"\x01" * 32, b"\x02" * 32
_HEAD = [_ID, _OTHER, 3, _OTHER, 5, [_ID, _OTHER, _ID, 1], [[2, 3]]]


@pytest.mark.parametrize(
    ("at", "value"),
    [
        (0, 53),  # a network that is not 32 bytes
        (1, _ID[:31]),
        (2, -1),
        (2, True),  # a boolean is not a size
        (3, b""),
        (4, "5"),
        (5, {}),  # the fuzz find: a map for the key state
        (5, [_ID, _OTHER, _ID]),
        (5, [_ID, _OTHER, _ID, 1, 2]),
        (5, [_ID, _OTHER, 7, 1]),
        (6, [[2]]),
        (6, [[2, b"3"]]),
        (6, {}),
    ],
)
def test_a_stored_head_of_the_wrong_shape_is_bad_state(at: int, value: Any) -> None:
    assert decode_head(canonical.encode(_HEAD)).size == 3
    damaged = [*_HEAD[:at], value, *_HEAD[at + 1 :]]
    with pytest.raises(DecodeError) as info:
        decode_head(canonical.encode(damaged))
    assert info.value.code == "decode.bad-state"


def test_a_stored_head_of_six_members_is_bad_state() -> None:
    with pytest.raises(DecodeError) as info:
        decode_head(canonical.encode(_HEAD[:6]))
    assert info.value.code == "decode.bad-state"


CANONICAL = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**64 - 1)
    | st.binary(max_size=40)
    | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=12,
)
BLOB_KEYS = st.sampled_from(["t", "blob", "offset", "length", "size", "data", "code", "message"])


@given(CANONICAL | st.dictionaries(BLOB_KEYS, CANONICAL, max_size=6))
@settings(max_examples=150)
def test_any_value_is_a_blob_message_or_a_remote_fault(value: Any) -> None:
    _only((RemoteFaultError,), lambda: blob.decode_message(value))


@given(st.text(max_size=40))
def test_text_with_a_lone_surrogate_is_refused_by_the_encoder(text: str) -> None:
    value = {"text": text + "\ud822"}
    with pytest.raises(LocalMisuseError) as info:
        canonical.encode(value)
    assert info.value.code == "misuse.bad-argument"
