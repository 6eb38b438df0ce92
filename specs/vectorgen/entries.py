"""entries/single: one signed entry's bytes, valid or mutated."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from protocol import canonical, kinds, limits, tags
from protocol.ids import id_to_text
from protocol.jsonform import to_json as tagged
from protocol.keys import SigningKey
from specs.vectorgen import logs
from specs.vectorgen.common import (
    ALICE,
    BOB,
    NETWORK,
    UNKNOWN_KIND,
    Case,
    entry_id,
    error,
    ok,
    payload_fields,
    sign_fields,
    signed,
    text_id,
)

_INCEPTION = payload_fields(
    signer=ALICE.signing.public,
    seq=1,
    prev=None,
    kind=kinds.INCEPTION,
    body=ALICE.inception_body(),
)
_INCEPTION_ID = entry_id(sign_fields(ALICE.signing, _INCEPTION))


def _note_fields(**changes: Any) -> list[Any]:
    fields: dict[str, Any] = {
        "signer": ALICE.signing.public,
        "seq": 2,
        "prev": _INCEPTION_ID,
        "kind": kinds.NOTE,
        "body": {"text": "hello, fab labs"},
    }
    return payload_fields(**(fields | changes))


def _first_fields(kind: str, body: Any) -> list[Any]:
    """Alice's entry at seq 1 of this kind and body (prev nil), as a log's first entry."""
    return payload_fields(signer=ALICE.signing.public, seq=1, prev=None, kind=kind, body=body)


#: A kind name of exactly MAX_KIND_BYTES bytes (unknown here).
_LONGEST_KIND = "vectors." + "k" * (limits.MAX_KIND_BYTES - len("vectors."))


def single_cases() -> Iterator[Case]:
    def case(name: str, description: str, raw: bytes, expect: dict[str, Any]) -> Case:
        return Case("entries", "single", name, description, {"entry_hex": raw.hex()}, expect)

    for name, description, fields, status in [*_valid_cases(), *_log_checks_are_not_decoding()]:
        raw = sign_fields(ALICE.signing, fields)
        yield case(name, description, raw, _decoded(fields, raw, status))
    for name, description, raw, expect in _entry_mutations():
        yield case(name, description, raw, expect)


def _valid_cases() -> list[tuple[str, str, list[Any], str | None]]:
    return [
        ("inception", "A valid identity.inception at seq 1.", _INCEPTION, None),
        ("note", "A valid note at seq 2.", _note_fields(), None),
        (
            "unknown-kind",
            "An entry of an unknown kind decodes.",
            _note_fields(kind=UNKNOWN_KIND, body={"any": [1, b"\x00"]}),
            "body.unknown-kind",
        ),
        (
            "note-invalid-body",
            "A note whose text is an integer decodes.",
            _note_fields(body={"text": 42}),
            "body.invalid",
        ),
        (
            "max-size",
            "An entry of exactly the size cap decodes.",
            _padded_fields(limits.MAX_ENTRY_BYTES),
            "body.unknown-kind",
        ),
        (
            "kind-max-length",
            "A kind name of exactly 64 bytes decodes (an unknown kind).",
            _note_fields(kind=_LONGEST_KIND, body={"any": 1}),
            "body.unknown-kind",
        ),
        (
            "body-depth-limit",
            "The body holds 10 nested arrays: payload array, body map and those 10 make 12 "
            "containers, the depth limit.",
            _note_fields(kind=UNKNOWN_KIND, body={"deep": _nested(BODY_DEPTH)}),
            "body.unknown-kind",
        ),
    ]


#: Containers a body may hold below itself: MAX_DEPTH less the payload array and the
#: body map (specs/0001 §4, 0002 §3).
BODY_DEPTH = limits.MAX_DEPTH - 2


def _nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


def _too_deep_body(key: SigningKey) -> bytes:
    """`body-depth-limit` with one array more, spliced in (the encoder refuses to make it)."""
    payload = canonical.encode(_note_fields(kind=UNKNOWN_KIND, body={"deep": _nested(BODY_DEPTH)}))
    deepest = b"\x91" * BODY_DEPTH + b"\x01"
    assert payload.count(deepest) == 1
    return signed(key, payload.replace(deepest, b"\x91" + deepest))


def _log_checks_are_not_decoding() -> list[tuple[str, str, list[Any], str | None]]:
    """First entries that decode though their log refuses them (specs/0002 §3.1, §6).

    Each is byte for byte the first entry of the entries/log case of the same name.
    """
    cases = [
        (
            "first-not-inception",
            "A note at seq 1 decodes: that a first entry is an inception is a log check "
            "(verify.bad-inception in entries/log/first-not-inception), not decoding.",
            _first_fields(kinds.NOTE, {"text": "note 1"}),
            None,
        ),
        (
            "inception-keys-mismatch",
            "An inception naming Bob's recovery key decodes: that its keys hash to the "
            "author is a log check (entries/log/inception-keys-mismatch).",
            _first_fields(
                kinds.INCEPTION, ALICE.inception_body() | {"recovery_key": BOB.recovery.public}
            ),
            None,
        ),
        (
            "inception-invalid-body",
            "An inception without its recovery key decodes, its body invalid; the log "
            "refuses it (entries/log/inception-invalid-body).",
            _first_fields(kinds.INCEPTION, {"signing_key": ALICE.signing.public}),
            "body.invalid",
        ),
    ]
    firsts = {c.case: c.input["entries_hex"][0] for c in logs.log_cases()}
    for name, _, fields, _ in cases:
        assert sign_fields(ALICE.signing, fields).hex() == firsts[name], name
    return cases


def _decoded(fields: list[Any], raw: bytes, status_code: str | None) -> dict[str, Any]:
    _, network, author, signer, seq, prev, ts, kind, body = fields
    return ok(
        network=id_to_text(network),
        author=id_to_text(author),
        signer_hex=signer.hex(),
        seq=seq,
        prev=text_id(prev),
        timestamp_ms=ts,
        kind=kind,
        body=tagged(body),
        id=id_to_text(entry_id(raw)),
        body_status={"valid": status_code is None, "code": status_code},
    )


def _padded_fields(total_bytes: int) -> list[Any]:
    """Fields of an unknown-kind entry whose encoding is exactly `total_bytes` long."""
    pads = total_bytes // limits.MAX_STR_BYTES - 1
    fixed = {f"pad{i}": "x" * limits.MAX_STR_BYTES for i in range(pads)}
    last = 0
    for _ in range(8):
        fields = _note_fields(kind="vectors.padding", body=fixed | {"tail": "x" * last})
        size = len(sign_fields(ALICE.signing, fields))
        if size == total_bytes:
            return fields
        last += total_bytes - size
    raise AssertionError(f"cannot pad an entry to {total_bytes} bytes")


def _bad_field(field: str) -> dict[str, Any]:
    return error("decode.bad-field", field=field)


def _entry_mutations() -> Iterator[tuple[str, str, bytes, dict[str, Any]]]:
    key, enc = ALICE.signing, canonical.encode
    payload = enc(_note_fields())
    sig = key.sign(tags.ENTRY_SIG, payload)
    flipped_sig = bytes([sig[0] ^ 1]) + sig[1:]
    at = payload.index(b"hello")
    flipped_payload = payload[:at] + bytes([payload[at] ^ 1]) + payload[at + 1 :]
    wide = b"\x99\xcc\x01" + b"".join(enc(f) for f in _note_fields()[1:])
    bad_sig, version = error("verify.bad-signature"), error("decode.unsupported-version")

    def fields(**changes: Any) -> bytes:
        return sign_fields(key, _note_fields(**changes))

    yield from _grammar_mutations(fields)
    yield from _order_mutations(key, fields, sig, wide)
    yield (
        "body-too-deep",
        "The body holds 11 nested arrays: 13 containers with the payload array and the body.",
        _too_deep_body(key),
        error("decode.too-deep"),
    )

    yield (
        "bad-signature",
        "One bit of the signature is flipped.",
        enc([payload, flipped_sig]),
        bad_sig,
    )
    yield (
        "wrong-domain-tag",
        "The signature is over the handshake tag.",
        signed(key, payload, tag=tags.HANDSHAKE_SIG),
        bad_sig,
    )
    yield (
        "signed-by-other-key",
        "Another key than the signer signed it.",
        signed(BOB.signing, payload),
        bad_sig,
    )
    yield (
        "payload-bit-flip",
        "One payload bit is flipped after signing.",
        enc([flipped_payload, sig]),
        bad_sig,
    )
    yield (
        "trailing-bytes",
        "A zero byte follows the entry.",
        enc([payload, sig]) + b"\x00",
        error("decode.trailing-bytes"),
    )
    yield (
        "non-canonical-payload",
        "The payload has version as uint8, re-signed.",
        signed(key, wide),
        error("decode.non-canonical"),
    )
    yield "unsupported-version", "The payload version is 2.", fields(version=2), version
    yield "version-true", "The payload version is true, not 1.", fields(version=True), version
    yield (
        "missing-field",
        "The payload has 8 fields: no body.",
        sign_fields(key, _note_fields()[:-1]),
        _bad_field("payload"),
    )
    yield "seq-zero", "Seq is 0 (prev is nil).", fields(seq=0, prev=None), _bad_field("seq")
    yield "prev-at-seq-one", "Seq 1 names a prev.", fields(seq=1), _bad_field("prev")
    yield "missing-prev", "Seq 2 has a nil prev.", fields(prev=None), _bad_field("prev")
    yield "bad-kind-name", "The kind Note has upper case.", fields(kind="Note"), _bad_field("kind")
    yield "kind-too-long", "The kind name has 65 bytes.", fields(kind="k" * 65), _bad_field("kind")
    yield "body-not-map", "The body is an array, not a map.", fields(body=[]), _bad_field("body")
    yield (
        "timestamp-negative",
        "The timestamp_ms is -1.",
        fields(timestamp_ms=-1),
        _bad_field("timestamp_ms"),
    )
    yield (
        "signer-wrong-length",
        "The signer has 31 bytes.",
        fields(signer=key.public[:31]),
        _bad_field("signer"),
    )
    yield (
        "signature-wrong-length",
        "The signature has 63 bytes.",
        enc([payload, sig[:63]]),
        _bad_field("signature"),
    )
    yield (
        "payload-not-bin",
        "The payload is an array, not bin.",
        enc([_note_fields(), sig]),
        _bad_field("payload"),
    )
    yield (
        "entry-not-array",
        "The entry is a map, not an array.",
        enc({"payload": payload, "sig": sig}),
        _bad_field("entry"),
    )
    yield (
        "too-large",
        "An entry one byte over the size cap.",
        sign_fields(key, _padded_fields(limits.MAX_ENTRY_BYTES + 1)),
        error("decode.too-large"),
    )


def _grammar_mutations(
    fields: Callable[..., bytes],
) -> Iterator[tuple[str, str, bytes, dict[str, Any]]]:
    """Kind names the grammar refuses (specs/0002 §3; whole-value match, 0001 §8)."""
    for name, kind, description in [
        ("kind-trailing-newline", "note\n", "The kind is note followed by a newline."),
        ("kind-leading-space", " note", "The kind is note after a space."),
        ("kind-trailing-dot", "note.", "The kind ends with a full stop: an empty segment."),
    ]:
        yield name, description, fields(kind=kind), _bad_field("kind")


def _order_mutations(
    key: SigningKey, fields: Callable[..., bytes], sig: bytes, wide: bytes
) -> Iterator[tuple[str, str, bytes, dict[str, Any]]]:
    """Inputs failing two checks of specs/0002 §3.1: the error is the earlier row's."""
    enc = canonical.encode
    version = error("decode.unsupported-version")

    def flipped_signature(payload: bytes) -> bytes:
        good = key.sign(tags.ENTRY_SIG, payload)
        return bytes([good[0] ^ 1]) + good[1:]

    v2 = _note_fields(version=2)
    yield (
        "version-two-ten-fields",
        "A version-2 payload of ten items: the version (0002 §3.1 row 8) before the count (row 9).",
        sign_fields(key, [*v2, "extra"]),
        version,
    )
    yield (
        "version-two-eight-fields",
        "A version-2 payload of eight items: the version (0002 §3.1 row 8) before the "
        "count (row 9).",
        sign_fields(key, v2[:-1]),
        version,
    )
    yield (
        "version-two-bad-network",
        "A version-2 payload whose network has 31 bytes: the version before the fields "
        "(0002 §3.1).",
        fields(version=2, network=NETWORK[:31]),
        version,
    )
    yield (
        "version-two-bad-signature",
        "A version-2 payload whose signature does not verify: the version (0002 §3.1 row 8) before "
        "the signature (row 18).",
        enc([enc(v2), flipped_signature(enc(v2))]),
        version,
    )
    yield "version-text", "The version is the text 1.", fields(version="1"), version
    yield (
        "ten-fields",
        "A version-1 payload of ten items: decode.bad-field for the payload (0002 §3.1 row 9).",
        sign_fields(key, [*_note_fields(), "extra"]),
        _bad_field("payload"),
    )
    yield (
        "payload-empty-array",
        "The payload is an empty array: no version to read (0002 §3.1 row 7).",
        signed(key, enc([])),
        _bad_field("payload"),
    )
    yield (
        "payload-is-a-map",
        "The payload is the map {version: 1}, not an array (0002 §3.1 row 7).",
        signed(key, enc({"version": 1})),
        _bad_field("payload"),
    )
    yield (
        "bad-network-and-body",
        "The network has 31 bytes and the body is an array: network (0002 §3.1 row 10) "
        "comes first.",
        fields(network=NETWORK[:31], body=[]),
        _bad_field("network"),
    )
    yield (
        "bad-kind-and-body",
        "The kind is Note and the body is an array: kind (0002 §3.1 row 16) comes first.",
        fields(kind="Note", body=[]),
        _bad_field("kind"),
    )
    bad_kind = enc(_note_fields(kind="Note"))
    yield (
        "bad-kind-and-signature",
        "The kind is Note and the signature does not verify: the fields (0002 §3.1 row 16) before "
        "the signature (row 18).",
        enc([bad_kind, flipped_signature(bad_kind)]),
        _bad_field("kind"),
    )
    yield (
        "short-signature-and-non-canonical-payload",
        "A 63-byte signature and a payload with a wide version: the outer array (0002 §3.1 row 5) "
        "before the payload's encoding (row 6).",
        enc([wide, sig[:63]]),
        _bad_field("signature"),
    )
