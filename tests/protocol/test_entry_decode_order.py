"""Entry decoding follows the table of specs/0002 §3.1, row by row, and the kind grammar.

`reference_decode` is the table written out literally and slowly, with the kind grammar
checked by hand rather than by a regular expression; a hypothesis property feeds both it
and `decode_entry` payloads that break several rows at once and compares the error code
and field. The vectors in specs/vectors/entries/single/ pin the same order for others.
"""

from __future__ import annotations

import string
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol import canonical, limits, tags
from protocol.entry import decode_entry, sign_entry
from protocol.errors import CommonsError, DecodeError, LocalMisuseError
from protocol.keys import verify_signature
from tests.factory import NETWORK, Author, seeded_key

KEY = seeded_key("decode-order")
Outcome = tuple[str, str | None]
_SEGMENT_FIRST = set(string.ascii_lowercase)
_SEGMENT_REST = _SEGMENT_FIRST | set(string.digits) | {"-"}


def is_kind_name(value: str) -> bool:
    """specs/0002 §3: segments joined by full stops, each [a-z] then [a-z0-9-]*."""
    return all(
        seg != "" and seg[0] in _SEGMENT_FIRST and set(seg[1:]) <= _SEGMENT_REST
        for seg in value.split(".")
    )


def _is_bin32(value: Any) -> bool:
    return type(value) is bytes and len(value) == 32


def _is_uint(value: Any, low: int) -> bool:
    return type(value) is int and low <= value <= 2**64 - 1


def _field_rows(fields: list[Any]) -> list[tuple[str, Callable[[], bool]]]:
    """Rows 10-17, each a field name and its check (later rows may assume earlier ones)."""
    _, network, author, signer, seq, prev, ts, kind, body = fields
    return [
        ("network", lambda: _is_bin32(network)),
        ("author", lambda: _is_bin32(author)),
        ("signer", lambda: _is_bin32(signer)),
        ("seq", lambda: _is_uint(seq, 1)),
        ("prev", lambda: prev is None if seq == 1 else _is_bin32(prev)),
        ("timestamp_ms", lambda: _is_uint(ts, 0)),
        (
            "kind",
            lambda: (
                type(kind) is str
                and len(kind.encode()) <= limits.MAX_KIND_BYTES
                and is_kind_name(kind)
            ),
        ),
        ("body", lambda: type(body) is dict),
    ]


def reference_decode(data: bytes) -> Outcome:
    """specs/0002 §3.1 in table order: the (code, field) of the first failing row."""
    if len(data) > limits.MAX_ENTRY_BYTES:  # row 1
        return "decode.too-large", None
    try:
        outer = canonical.decode(data)  # row 2
    except DecodeError as e:
        return e.code, None
    if type(outer) is not list or len(outer) != 2:  # row 3
        return "decode.bad-field", "entry"
    payload, signature = outer
    if type(payload) is not bytes:  # row 4
        return "decode.bad-field", "payload"
    if type(signature) is not bytes or len(signature) != 64:  # row 5
        return "decode.bad-field", "signature"
    try:
        fields = canonical.decode(payload)  # row 6
    except DecodeError as e:
        return e.code, None
    if type(fields) is not list or not fields:  # row 7
        return "decode.bad-field", "payload"
    if type(fields[0]) is not int or fields[0] != 1:  # row 8
        return "decode.unsupported-version", None
    if len(fields) != 9:  # row 9
        return "decode.bad-field", "payload"
    for name, holds in _field_rows(fields):  # rows 10-17
        if not holds():
            return "decode.bad-field", name
    try:
        verify_signature(fields[3], tags.ENTRY_SIG, payload, signature)  # row 18
    except CommonsError as e:
        return e.code, None
    return "ok", None


def real_decode(data: bytes) -> Outcome:
    try:
        decode_entry(data)
    except CommonsError as e:
        return e.code, e.details.get("field")
    return "ok", None


def _valid_fields() -> list[Any]:
    author = Author("decode-order")
    return [1, NETWORK, author.id, KEY.public, 2, bytes(32), 1_700_000_000_000, "note", {}]


_ODD_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-2, max_value=3),
    st.binary(max_size=33),
    st.sampled_from(
        [bytes(31), bytes(33), "note\n", " note", "note.", "Note", "a.b-c", "k" * 65, "\u00e9"]
    ),
    st.text(max_size=4),
    st.lists(st.integers(0, 3), max_size=2),
    st.dictionaries(st.text(max_size=2), st.integers(0, 3), max_size=2),
)


@st.composite
def mangled_entries(draw: st.DrawFn) -> bytes:
    """An entry whose payload breaks any number of rows of specs/0002 §3.1."""
    fields: Any = _valid_fields()
    for i in range(len(fields)):
        if draw(st.integers(0, 3)) == 0:
            fields[i] = draw(_ODD_VALUES)
    shape = draw(st.sampled_from(["nine"] * 5 + ["short", "long", "empty", "map", "scalar"]))
    if shape == "short":
        fields = fields[: draw(st.integers(1, 8))]
    elif shape == "long":
        fields = fields + draw(st.lists(_ODD_VALUES, min_size=1, max_size=2))
    elif shape == "empty":
        fields = []
    elif shape == "map":
        fields = {"version": fields[0]}
    elif shape == "scalar":
        fields = fields[0]
    payload = canonical.encode(fields)
    signature = KEY.sign(tags.ENTRY_SIG, payload)
    damage = draw(st.sampled_from(["none"] * 5 + ["flip", "short", "not-bin"]))
    if damage == "flip":
        signature = bytes([signature[0] ^ 1]) + signature[1:]
    elif damage == "short":
        signature = signature[:63]
    outer: list[Any] = [payload, signature if damage != "not-bin" else "signature"]
    return canonical.encode(outer)


@given(mangled_entries())
@settings(max_examples=1500)
def test_decoding_reports_the_first_failing_row_of_the_table(raw: bytes) -> None:
    assert real_decode(raw) == reference_decode(raw)


def test_the_version_is_judged_before_the_payload_shape() -> None:
    fields = _valid_fields()
    for payload_fields in ([2, *fields[1:], "extra"], [2, *fields[1:-1]], [2, "x"]):
        payload = canonical.encode(payload_fields)
        raw = canonical.encode([payload, KEY.sign(tags.ENTRY_SIG, payload)])
        assert real_decode(raw) == ("decode.unsupported-version", None)
    for payload_fields in ([*fields, "extra"], fields[:-1]):
        payload = canonical.encode(payload_fields)
        raw = canonical.encode([payload, KEY.sign(tags.ENTRY_SIG, payload)])
        assert real_decode(raw) == ("decode.bad-field", "payload")


@pytest.mark.parametrize(
    "kind", ["note\n", "note\r\n", " note", "note ", "note.", ".note", "no..te", "9note", "Note"]
)
def test_a_kind_name_must_match_the_grammar_whole(kind: str) -> None:
    fields = _valid_fields()
    fields[7] = kind
    payload = canonical.encode(fields)
    raw = canonical.encode([payload, KEY.sign(tags.ENTRY_SIG, payload)])
    assert real_decode(raw) == ("decode.bad-field", "kind")
    with pytest.raises(LocalMisuseError) as info:  # an encoder refuses what decoders refuse
        sign_entry(
            KEY,
            network=NETWORK,
            author=fields[2],
            seq=2,
            prev=bytes(32),
            timestamp_ms=1,
            kind=kind,
            body={},
        )
    assert info.value.code == "misuse.bad-entry"


@pytest.mark.parametrize("kind", ["note", "a", "job.offer", "a-1.b2-", "x" * 64])
def test_kind_names_of_the_grammar_decode(kind: str) -> None:
    fields = _valid_fields()
    fields[7] = kind
    payload = canonical.encode(fields)
    raw = canonical.encode([payload, KEY.sign(tags.ENTRY_SIG, payload)])
    assert real_decode(raw) == ("ok", None) == reference_decode(raw)
