"""Deterministic generator of the conformance vectors in specs/vectors/.

Run from the repository root:
    .venv/bin/python specs/generate_vectors.py           # rewrite every vector file
    .venv/bin/python specs/generate_vectors.py --check   # write nothing; exit 1 if stale

Layout: `specs/vectors/<area>/<suite>/<case>.json`, one case per file, named after the
mutation it applies (kebab-case) or after the valid input it shows, plus a generated
`specs/vectors/README.md` with the case counts. The script owns every suite it writes:
it deletes the `.json` files there that it no longer produces, then rewrites all.
Keys come from fixed seeds (seed = SHA-256("fabcommons-vectors/" || name)), timestamps
are fixed and Ed25519 signatures are deterministic, so two runs give identical bytes;
nothing here reads the clock or a random source. Expectations are written from how each
input was built (what the specs say), never read back from the code under test; the
fold results of entries/log come from a small key model in `Log`. tests/test_vectors.py
checks the real code against every file.

Case file format (JSON, keys sorted, two-space indent, trailing newline):

    {"area": "<area>", "suite": "<suite>", "case": "<case>",
     "description": "<one sentence>",
     "input": {...},
     "expect": {"ok": true | false, "error": "<code>" (only when ok is false), ...}}

Bytes are lowercase hex strings under keys ending in `_hex`. Decoded msgpack values use a
tagged JSON form: a byte string is {"bin": "<hex>"}; nil, booleans, integers, text,
arrays and maps are written naturally (a map whose only key is "bin" with a text value
would be ambiguous, so no vector contains one). Integers may exceed 2**53: read them with
a JSON parser that keeps big integers exact. Ids in `expect` are in their text form
(protocol.ids.id_to_text). When `ok` is false, `error` is the stable error code; its
prefix names the error family (`decode.` -> DecodeError, `verify.` -> VerificationError).

Suites and their fields:
  encoding/canonical  input.encoded_hex -> protocol.canonical.decode.
                      expect.value: the decoded value, tagged (only when ok).
  ids/text            input.text -> protocol.ids.id_from_text.
                      expect.id_hex: the 32 id bytes (only when ok).
  entries/single      input.entry_hex -> protocol.entry.decode_entry.
                      When ok: expect.network/author/signer/prev/id (text ids, prev may
                      be null), seq, timestamp_ms, kind, body (tagged) and body_status
                      {"valid": bool, "code": null | "body.<code>"} from
                      protocol.kinds.check_body. When not ok, decode.bad-field errors
                      also give expect.field, the offending field.
  entries/log         input.network_hex, input.author_hex, input.entries_hex (in log
                      order) -> decode each entry, fold protocol.logstate.verify_next
                      from LogHead(network, author). When ok: expect.size, head_id,
                      revoked (half-open [from, to) seq ranges) and keys
                      {signing_key_hex, recovery_key_hex, key_event, established_seq}.
                      When not ok: expect.at, the 1-based index of the first entry
                      that fails (to decode or to extend the log).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Self

if __name__ == "__main__":  # run as a file: make the repository's packages importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from protocol import canonical, kinds, limits, tags
from protocol.entry import ENTRY_VERSION
from protocol.identity import development_network, identity_id
from protocol.ids import id_to_text
from protocol.jsonform import to_json as tagged
from protocol.keys import SigningKey

VECTORS_DIR = Path(__file__).resolve().parent / "vectors"
CASE_NAME = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
#: 2026-01-01T00:00:00Z; entry n of a log is stamped T0_MS + n seconds unless a case says.
T0_MS = 1_767_225_600_000


@dataclass(frozen=True, slots=True)
class Case:
    """One vector file."""

    area: str
    suite: str
    case: str
    description: str
    input: dict[str, Any]
    expect: dict[str, Any]

    @property
    def path(self) -> str:
        return f"{self.area}/{self.suite}/{self.case}.json"

    def to_text(self) -> str:
        fields = {
            "area": self.area,
            "suite": self.suite,
            "case": self.case,
            "description": self.description,
            "input": self.input,
            "expect": self.expect,
        }
        return json.dumps(fields, sort_keys=True, indent=2) + "\n"


def ok(**fields: Any) -> dict[str, Any]:
    return {"ok": True, **fields}


def error(code: str, **fields: Any) -> dict[str, Any]:
    return {"ok": False, "error": code, **fields}


def seed_key(name: str) -> SigningKey:
    return SigningKey(hashlib.sha256(b"fabcommons-vectors/" + name.encode()).digest())


# --- encoding/canonical -------------------------------------------------------------


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
            canonical.encode({long_key: 0}),
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


# --- ids/text -----------------------------------------------------------------------

_BASE32 = "abcdefghijklmnopqrstuvwxyz234567"


def id_cases() -> Iterator[Case]:
    def case(name: str, description: str, text: str, expect: dict[str, Any]) -> Case:
        return Case("ids", "text", name, description, {"text": text}, expect)

    digest = hashlib.sha256(b"fabcommons").digest()
    for name, description, raw in [
        ("all-zero", "The id of 32 zero bytes.", bytes(32)),
        ("all-ones", "The id of 32 0xff bytes.", b"\xff" * 32),
        ("sha256-digest", "The id of SHA-256('fabcommons').", digest),
    ]:
        yield case(name, description, id_to_text(raw), ok(id_hex=raw.hex()))
    text = id_to_text(digest)
    last = _BASE32.index(text[-1])
    assert last & 0b1111 == 0, "the last character carries 1 bit and 4 zero bits"
    for name, description, bad in [
        ("upper-case", "The base32 part is upper case.", "b" + text[1:].upper()),
        ("wrong-prefix", "The multibase prefix is z (base58btc), not b.", "z" + text[1:]),
        ("too-short", "The last character is removed.", text[:-1]),
        ("too-long", "One character is appended.", text + "a"),
        ("padding", "RFC 4648 padding (====) is appended.", text + "===="),
        (
            "non-alphabet",
            "One character is 1, outside the base32 alphabet.",
            text[:10] + "1" + text[11:],
        ),
        (
            "non-canonical-trailing-bits",
            "The last character sets an unused low bit.",
            text[:-1] + _BASE32[last | 1],
        ),
        ("empty", "The empty string is not an id.", ""),
        ("trailing-newline", "A newline in place of the last character.", text[:-1] + "\n"),
    ]:
        yield case(name, description, bad, error("decode.bad-id"))


# --- entries: identities and raw entry bytes -----------------------------------------


@dataclass(frozen=True, slots=True)
class Identity:
    """An author: its signing key, recovery key and the id they commit to."""

    signing: SigningKey
    recovery: SigningKey

    @property
    def id(self) -> bytes:
        return identity_id(self.signing.public, self.recovery.public)

    def inception_body(self) -> dict[str, Any]:
        return {"signing_key": self.signing.public, "recovery_key": self.recovery.public}


def identity(name: str) -> Identity:
    return Identity(seed_key(f"{name}/signing"), seed_key(f"{name}/recovery"))


ALICE = identity("alice")
BOB = identity("bob")
ALICE_NEXT = seed_key("alice/signing-2")
NETWORK = development_network("fabcommons-vectors")
OTHER_NETWORK = development_network("fabcommons-vectors-other")
UNKNOWN_KIND = "vectors.unknown-kind"


def payload_fields(
    *,
    signer: bytes,
    seq: Any,
    prev: Any,
    kind: Any,
    body: Any,
    author: bytes = ALICE.id,
    network: bytes = NETWORK,
    timestamp_ms: Any = None,
    version: Any = ENTRY_VERSION,
) -> list[Any]:
    """The nine payload fields, in wire order; any may be set to an invalid value."""
    ts = T0_MS + 1000 * seq if timestamp_ms is None else timestamp_ms
    return [version, network, author, signer, seq, prev, ts, kind, body]


def signed(key: SigningKey, payload: bytes, *, tag: bytes = tags.ENTRY_SIG) -> bytes:
    """Entry bytes [payload, signature] with `key` signing `tag || payload`."""
    return canonical.encode([payload, key.sign(tag, payload)])


def sign_fields(key: SigningKey, fields: list[Any]) -> bytes:
    return signed(key, canonical.encode(fields))


def entry_id(raw: bytes) -> bytes:
    return hashlib.sha256(raw).digest()


def text_id(raw: bytes | None) -> str | None:
    return None if raw is None else id_to_text(raw)


# --- entries/single -----------------------------------------------------------------

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


def single_cases() -> Iterator[Case]:
    def case(name: str, description: str, raw: bytes, expect: dict[str, Any]) -> Case:
        return Case("entries", "single", name, description, {"entry_hex": raw.hex()}, expect)

    for name, description, fields, status in [
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
    ]:
        raw = sign_fields(ALICE.signing, fields)
        yield case(name, description, raw, _decoded(fields, raw, status))
    for name, description, raw, expect in _entry_mutations():
        yield case(name, description, raw, expect)


def _decoded(fields: list[Any], raw: bytes, status_code: str | None) -> dict[str, Any]:
    _, network, author, signer, seq, prev, ts, kind, body = fields
    return ok(
        network=id_to_text(network),
        author=id_to_text(author),
        signer=id_to_text(signer),
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


# --- entries/log --------------------------------------------------------------------

ALICE_THIRD = seed_key("alice/signing-3")


class Log:
    """Builds one log's entries and models the keys a correct fold puts in force."""

    def __init__(self, author: Identity = ALICE) -> None:
        self.author = author
        self.raws: list[bytes] = []
        self.signing = author.signing
        self.key_event: bytes | None = None
        self.established_seq = 0

    @property
    def head(self) -> bytes | None:
        return entry_id(self.raws[-1]) if self.raws else None

    def add(
        self,
        kind: str,
        body: Any,
        *,
        key: SigningKey | None = None,
        seq: int | None = None,
        prev: bytes | Literal["head"] | None = "head",
        timestamp_ms: int | None = None,
        network: bytes = NETWORK,
        author: Identity | None = None,
    ) -> Self:
        """Append an entry: by default the next one, signed by the key in force."""
        key = key or self.signing
        fields = payload_fields(
            signer=key.public,
            seq=len(self.raws) + 1 if seq is None else seq,
            prev=self.head if isinstance(prev, str) else prev,
            kind=kind,
            body=body,
            author=(author or self.author).id,
            network=network,
            timestamp_ms=timestamp_ms,
        )
        self.raws.append(sign_fields(key, fields))
        return self

    def inception(self, **options: Any) -> Self:
        body = self.author.inception_body()
        return self._key_event(self.author.signing, kinds.INCEPTION, body, **options)

    def note(self, **options: Any) -> Self:
        return self.add(kinds.NOTE, {"text": f"note {len(self.raws) + 1}"}, **options)

    def rotate(self, next_key: SigningKey, **options: Any) -> Self:
        body = {
            "prev_key_event": options.pop("prev_key_event", self.key_event),
            "next_key": next_key.public,
        }
        return self._key_event(next_key, kinds.ROTATION, body, **options)

    def revoke(self, revoke_from_seq: int, next_key: SigningKey, **options: Any) -> Self:
        body = {
            "prev_key_event": options.pop("prev_key_event", self.key_event),
            "revoke_from_seq": revoke_from_seq,
            "next_key": next_key.public,
        }
        options.setdefault("key", self.author.recovery)
        return self._key_event(next_key, kinds.REVOCATION, body, **options)

    def _key_event(self, next_key: SigningKey, kind: str, body: Any, **options: Any) -> Self:
        self.add(kind, body, **options)
        self.signing, self.key_event, self.established_seq = next_key, self.head, len(self.raws)
        return self

    def ok(self, *revoked: tuple[int, int]) -> dict[str, Any]:
        """The expected fold result, from this model (not from protocol.logstate)."""
        assert self.head is not None and self.key_event is not None
        keys = {
            "signing_key_hex": self.signing.public.hex(),
            "recovery_key_hex": self.author.recovery.public.hex(),
            "key_event": id_to_text(self.key_event),
            "established_seq": self.established_seq,
        }
        revoked_ranges = [list(r) for r in revoked]
        return ok(
            size=len(self.raws), head_id=id_to_text(self.head), revoked=revoked_ranges, keys=keys
        )


def log_cases() -> Iterator[Case]:
    for builder in (_happy_logs, _key_event_logs, _chain_logs, _inception_logs):
        for name, description, log, expect in builder():
            data = {
                "network_hex": NETWORK.hex(),
                "author_hex": log.author.id.hex(),
                "entries_hex": [raw.hex() for raw in log.raws],
            }
            yield Case("entries", "log", name, description, data, expect)


LogCase = tuple[str, str, Log, dict[str, Any]]


def _at(code: str, at: int) -> dict[str, Any]:
    return error(code, at=at)


def _happy_logs() -> Iterator[LogCase]:
    log = Log().inception().note().note().note()
    yield "happy-path", "An inception then three notes.", log, log.ok()
    log = Log().inception().note().add(UNKNOWN_KIND, {"x": 1}).note()
    yield "unknown-kind-joins", "An entry of an unknown kind joins the log.", log, log.ok()
    log = Log().inception().add(kinds.NOTE, {"text": 42}).note()
    yield "invalid-body-joins", "A note whose text is an integer joins the log.", log, log.ok()
    log = Log().inception().note(timestamp_ms=T0_MS + 1000)
    yield "timestamp-equal", "Two entries may carry the same timestamp.", log, log.ok()
    log = Log().inception().note().note()
    log.raws[-1] = canonical.encode([canonical.decode(log.raws[-1])[0], bytes(64)])
    yield (
        "bad-signature-in-log",
        "Entry 3 has a zero signature.",
        log,
        _at("verify.bad-signature", 3),
    )


def _key_event_logs() -> Iterator[LogCase]:
    nif, bke = "verify.key-not-in-force", "verify.bad-key-event"
    log = Log().inception().note().rotate(ALICE_NEXT).note()
    yield "rotation", "A rotation, then a note by the next key.", log, log.ok()
    log = Log().inception().note().rotate(ALICE_NEXT).note(key=ALICE.signing)
    yield "rotated-key-old-signer", "The rotated-out key signs after a rotation.", log, _at(nif, 4)
    log = Log().inception().rotate(ALICE_NEXT, key=ALICE.recovery)
    yield "rotation-signed-by-recovery-key", "The recovery key signs a rotation.", log, _at(nif, 2)
    log = Log().inception().note()
    log.rotate(ALICE_NEXT, prev_key_event=log.head)
    yield (
        "rotation-wrong-prev-key-event",
        "A rotation's prev_key_event names a note.",
        log,
        _at(bke, 3),
    )
    log = Log().inception().add(kinds.ROTATION, {"next_key": ALICE_NEXT.public})
    yield "rotation-invalid-body", "A rotation lacks prev_key_event.", log, _at(bke, 2)
    log = Log().inception().note().note().note().revoke(3, ALICE_NEXT).note()
    yield "revocation", "Seq 5 revokes from 3; the next key signs 6.", log, log.ok((3, 5))
    log = Log().inception().note().rotate(ALICE_NEXT).note().revoke(3, ALICE_THIRD).note()
    yield (
        "revocation-after-rotation",
        "Recovery revokes a rotation and the entry after it.",
        log,
        log.ok((3, 5)),
    )
    log = Log().inception().note().revoke(3, ALICE_NEXT)
    yield "revoke-from-own-seq", "A revocation from its own seq voids nothing.", log, log.ok()
    log = Log().inception().note().revoke(2, ALICE_NEXT).note(key=ALICE.signing)
    yield "revoked-key-old-signer", "The revoked key signs after a revocation.", log, _at(nif, 4)
    log = Log().inception().note().revoke(2, ALICE_NEXT, key=ALICE.signing)
    yield (
        "revocation-signed-by-signing-key",
        "The signing key signs a revocation.",
        log,
        _at(nif, 3),
    )
    log = Log().inception().note().revoke(4, ALICE_NEXT)
    yield "revoke-from-out-of-range", "revoke_from_seq is after the revocation.", log, _at(bke, 3)
    log = Log().inception().note().revoke(1, ALICE_NEXT)
    yield "revoke-from-seq-one", "revoke_from_seq names the inception.", log, _at(bke, 3)


def _chain_logs() -> Iterator[LogCase]:
    log = Log().inception().note(seq=3)
    yield "seq-gap", "Entry 2 has seq 3.", log, _at("verify.seq-gap", 2)
    log = Log().inception().note().note(seq=2)
    yield "seq-stale", "Entry 3 repeats seq 2.", log, _at("verify.seq-stale", 3)
    log = Log().inception().note(prev=hashlib.sha256(b"not an entry").digest())
    yield "bad-prev", "Entry 2's prev does not name entry 1.", log, _at("verify.bad-prev", 2)
    log = Log().inception().note(network=OTHER_NETWORK)
    yield "wrong-network", "Entry 2 names another network.", log, _at("verify.wrong-network", 2)
    log = Log().inception().note(author=BOB, key=BOB.signing)
    yield "wrong-author", "Entry 2 is by another author.", log, _at("verify.wrong-author", 2)
    log = Log().inception().note(timestamp_ms=T0_MS)
    yield (
        "timestamp-regress",
        "Entry 2 is older than entry 1.",
        log,
        _at("verify.timestamp-regress", 2),
    )


def _inception_logs() -> Iterator[LogCase]:
    bad = "verify.bad-inception"
    log = Log().inception().note().inception()
    yield "inception-not-first", "Entry 3 is a second inception.", log, _at(bad, 3)
    log = Log().note()
    yield "first-not-inception", "Entry 1 is a note, not an inception.", log, _at(bad, 1)
    body = ALICE.inception_body() | {"recovery_key": BOB.recovery.public}
    log = Log().add(kinds.INCEPTION, body)
    yield "inception-keys-mismatch", "The inception names another recovery key.", log, _at(bad, 1)
    log = Log().add(kinds.INCEPTION, {"signing_key": ALICE.signing.public})
    yield (
        "inception-invalid-body",
        "The inception lacks its recovery key.",
        log,
        _at("verify.bad-key-event", 1),
    )
    log = Log().inception(key=ALICE.recovery)
    yield (
        "inception-wrong-signer",
        "The recovery key signs the inception.",
        log,
        _at("verify.key-not-in-force", 1),
    )


# --- writing and checking -----------------------------------------------------------


def all_cases() -> list[Case]:
    cases = [*canonical_cases(), *id_cases(), *single_cases(), *log_cases()]
    paths = [c.path for c in cases]
    assert len(set(paths)) == len(paths), "two cases share a file name"
    for c in cases:
        assert CASE_NAME.match(c.case), f"case name {c.case!r} is not kebab-case"
    return cases


def readme(cases: Sequence[Case]) -> str:
    """The generated index: one row per suite with its case counts."""
    counts: dict[tuple[str, str], list[int]] = {}
    for c in cases:
        row = counts.setdefault((c.area, c.suite), [0, 0])
        row[0 if c.expect["ok"] else 1] += 1
    lines = [
        "# Conformance vectors",
        "",
        "Generated by `specs/generate_vectors.py`; do not edit by hand. The file format is",
        "described in that script's docstring. Regenerate with",
        "`.venv/bin/python specs/generate_vectors.py` and check with `--check`.",
        "",
        "| suite | valid | invalid | cases |",
        "|---|---:|---:|---:|",
    ]
    for (area, suite), (valid, invalid) in sorted(counts.items()):
        lines.append(f"| `{area}/{suite}/` | {valid} | {invalid} | {valid + invalid} |")
    valid_total = sum(v for v, _ in counts.values())
    lines.append(f"| **total** | {valid_total} | {len(cases) - valid_total} | {len(cases)} |")
    return "\n".join(lines) + "\n"


def expected_files(cases: Sequence[Case]) -> dict[Path, str]:
    files = {VECTORS_DIR / c.path: c.to_text() for c in cases}
    files[VECTORS_DIR / "README.md"] = readme(cases)
    return files


def stale_files(cases: Sequence[Case], files: dict[Path, str]) -> list[Path]:
    """Vector files in the suites this script owns that it no longer produces."""
    suites = sorted({VECTORS_DIR / c.area / c.suite for c in cases})
    return [p for d in suites for p in sorted(d.glob("*.json")) if p not in files]


def differences(files: dict[Path, str], stale: Sequence[Path]) -> list[str]:
    out = [f"stale: {p.relative_to(VECTORS_DIR)}" for p in stale]
    for path, text in files.items():
        if not path.exists():
            out.append(f"missing: {path.relative_to(VECTORS_DIR)}")
        elif path.read_bytes() != text.encode():
            out.append(f"differs: {path.relative_to(VECTORS_DIR)}")
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if stale")
    args = parser.parse_args(argv)
    cases = all_cases()
    files = expected_files(cases)
    stale = stale_files(cases, files)
    if args.check:
        diff = differences(files, stale)
        for line in diff:
            print(line)
        print(f"{len(diff)} file(s) would change" if diff else f"{len(cases)} vectors up to date")
        return 1 if diff else 0
    for path in stale:
        path.unlink()
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode())
    print(f"wrote {len(cases)} vectors in {VECTORS_DIR}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
