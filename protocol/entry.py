"""The signed entry envelope (specs/0002-identities-and-entries.md §3).

Wire form, canonical msgpack:  entry   = [payload: bin, signature: bin(64)]
                               payload = [version=1, network: bin(32), author: bin(32),
                                          signer: bin(32), seq: uint >= 1,
                                          prev: bin(32) | nil, timestamp_ms: uint,
                                          kind: str, body: map]
The signature is Ed25519 by `signer` over ENTRY_SIG || payload: the exact payload
bytes, never a re-serialisation. The entry id is SHA-256 of the whole entry
bytes (so it commits to the signature too).

`decode_entry` checks form only (canonical bytes, field types, signature by the
named signer), in the order of the table of specs/0002 §3.1, so the first check an
input fails names its error: the version before the payload's length, so a payload
of another version is `decode.unsupported-version` whatever its shape. Whether
`signer` is the author's key in force at `seq`, whether a first entry is an
inception, and whether the entry extends the author's chain, is log validity: see
protocol.logstate. Whether the body fits its kind is body validity: see
protocol.kinds.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn

from protocol import canonical, limits, tags
from protocol.errors import CommonsError, DecodeError, LocalMisuseError
from protocol.keys import PUBLIC_KEY_BYTES, SIGNATURE_BYTES, SigningKey, verify_signature

ENTRY_VERSION = 1
#: The kind grammar of specs/0002 §3, always used with `fullmatch`: the whole name must
#: match (`re.match` with a final `$` would also accept the name followed by "\n").
KIND_PATTERN = re.compile(r"[a-z][a-z0-9-]*(?:\.[a-z][a-z0-9-]*)*")
_PAYLOAD_FIELDS = 9


@dataclass(frozen=True, slots=True)
class Entry:
    """A decoded entry whose signature by `signer` holds. Not yet placed in a log."""

    network: bytes
    author: bytes
    signer: bytes
    seq: int
    prev: bytes | None
    timestamp_ms: int
    kind: str
    body: dict[str, Any]
    signature: bytes
    payload: bytes
    raw: bytes
    id: bytes


def sign_entry(
    key: SigningKey,
    *,
    network: bytes,
    author: bytes,
    seq: int,
    prev: bytes | None,
    timestamp_ms: int,
    kind: str,
    body: dict[str, Any],
) -> Entry:
    """Build and sign an entry; raise LocalMisuseError if it would not decode."""
    fields = [ENTRY_VERSION, network, author, key.public, seq, prev, timestamp_ms, kind, body]
    payload = canonical.encode(fields)
    signature = key.sign(tags.ENTRY_SIG, payload)
    raw = canonical.encode([payload, signature])
    if len(raw) > limits.MAX_ENTRY_BYTES:
        raise LocalMisuseError(
            "misuse.bad-entry", f"entry of {len(raw)} bytes exceeds {limits.MAX_ENTRY_BYTES}"
        )
    try:
        # Our own signature is not verified again: only the form is checked.
        return _entry_from_payload(raw, payload, signature, limits.MAX_ENTRY_BYTES)
    except DecodeError as e:
        raise LocalMisuseError("misuse.bad-entry", f"would not decode: {e.message}") from e


def decode_entry(data: bytes, *, max_bytes: int = limits.MAX_ENTRY_BYTES) -> Entry:
    """Decode entry bytes and check their signature; raise DecodeError/VerificationError."""
    entry = _decode_form(data, max_bytes)
    verify_signature(entry.signer, tags.ENTRY_SIG, entry.payload, entry.signature)
    return entry


def check_signatures(entries: Sequence[Entry]) -> list[CommonsError | None]:
    """Each entry's signature checked, in order: None, or the error it raised."""
    out: list[CommonsError | None] = []
    for entry in entries:
        try:
            verify_signature(entry.signer, tags.ENTRY_SIG, entry.payload, entry.signature)
            out.append(None)
        except CommonsError as e:
            out.append(e)
    return out


# How a batch's signatures are checked: `check_signatures`, or any function giving
# the same answers (the node spreads a large batch over its cores: node.ops.verifier).
SignatureCheck = Callable[[Sequence[Entry]], list[CommonsError | None]]


def decode_entries(
    items: Sequence[bytes],
    *,
    max_bytes: int = limits.MAX_ENTRY_BYTES,
    check: SignatureCheck = check_signatures,
) -> list[Entry | CommonsError]:
    """`decode_entry` of each item, in order: its Entry, or the error it raised.

    The same checks and the same errors, in two passes: every item's form first,
    then the signatures of those well formed, by `check`. Back-to-back Ed25519
    checks keep libsodium's code and tables in the CPU caches, which interleaved
    decoding would evict: received batches (ledger ingest, sync ranges) take this
    path.
    """
    out: list[Entry | CommonsError] = []
    for data in items:
        try:
            out.append(_decode_form(data, max_bytes))
        except CommonsError as e:
            out.append(e)
    formed = [(i, item) for i, item in enumerate(out) if isinstance(item, Entry)]
    verdicts = check([entry for _, entry in formed])
    for (i, _), error in zip(formed, verdicts, strict=True):
        if error is not None:
            out[i] = error
    return out


def _decode_form(data: bytes, max_bytes: int) -> Entry:
    """Everything `decode_entry` checks but the signature."""
    if len(data) > max_bytes:
        raise DecodeError("decode.too-large", f"got {len(data)} bytes, limit {max_bytes}")
    raw = data if type(data) is bytes else bytes(data)
    payload, signature = _split_outer(raw)
    return _entry_from_payload(raw, payload, signature, max_bytes)


def read_stored_entry(data: bytes) -> Entry:
    """Decode entry bytes that passed `decode_entry` before they were stored.

    The form is checked as always; the signature is not checked again: a node's
    store holds only entries it verified once (ledger.store), and re-verifying on
    every read would cost an Ed25519 check per entry listed, synced or indexed.
    `fabnode ledger verify` is what re-checks stored bytes in full. Never use this
    for bytes from a peer or a file.
    """
    if len(data) > limits.MAX_ENTRY_BYTES:
        raise DecodeError("decode.too-large", f"got {len(data)} bytes")
    raw = data if type(data) is bytes else bytes(data)
    payload, signature = _split_outer(raw)
    return _entry_from_payload(raw, payload, signature, limits.MAX_ENTRY_BYTES)


def _split_outer(raw: bytes) -> tuple[bytes, bytes]:
    """The outer [payload: bin, signature: bin(64)], read straight from its bytes.

    Its canonical form is fixed: 0x92, the payload's shortest bin header and
    bytes, then c4 40 and 64 signature bytes, nothing after. Anything else goes
    through the general decoder, so the error is the same as for any value.
    """
    size = len(raw)
    if size > 3 and raw[0] == 0x92:
        if raw[1] == 0xC4:
            start, length = 3, raw[2]
        elif raw[1] == 0xC5 and size > 4:
            start, length = 4, int.from_bytes(raw[2:4], "big")
        else:
            start, length = 0, -1
        end = start + length
        canonical_header = (raw[1] == 0xC4) == (length < 256) and length >= 0
        if canonical_header and size == end + 66 and raw[end : end + 2] == b"\xc4\x40":
            return raw[start:end], raw[end + 2 :]
    outer = canonical.decode(raw, max_bytes=len(raw))
    if not (isinstance(outer, list) and len(outer) == 2):
        raise DecodeError("decode.bad-field", "an entry is [payload, signature]", field="entry")
    payload, signature = outer
    _need(isinstance(payload, bytes), "payload", "bin")
    good_signature = isinstance(signature, bytes) and len(signature) == SIGNATURE_BYTES
    _need(good_signature, "signature", "bin(64)")
    return payload, signature


def _entry_from_payload(raw: bytes, payload: bytes, signature: bytes, max_bytes: int) -> Entry:
    fields = canonical.decode(payload, max_bytes=max_bytes)
    if type(fields) is not list or len(fields) != _PAYLOAD_FIELDS:
        _diagnose(fields)
    version, network, author, signer, seq, prev, ts, kind, body = fields
    # The happy path in one expression (this runs once per entry received); any
    # failure is diagnosed field by field below, so the error names the field.
    if not (
        version == ENTRY_VERSION
        and type(version) is int
        and type(network) is bytes
        and len(network) == 32
        and type(author) is bytes
        and len(author) == 32
        and type(signer) is bytes
        and len(signer) == 32
        and type(seq) is int
        and 1 <= seq <= limits.MAX_INT
        and (prev is None if seq == 1 else type(prev) is bytes and len(prev) == 32)
        and type(ts) is int
        and 0 <= ts <= limits.MAX_INT
        and type(kind) is str
        and _is_kind_name(kind)
        and type(body) is dict
    ):
        _diagnose(fields)
    digest = hashlib.sha256(raw).digest()
    return Entry(
        network, author, signer, seq, prev, ts, kind, body, signature, payload, raw, digest
    )


def _diagnose(fields: Any) -> NoReturn:
    """Raise the error of the first payload check that fails (specs/0002 §3.1, rows 7-17).

    Called only for a payload that failed the fast check, it walks the table in order:
    the shape needed to read a version, the version, then the nine fields of version 1.
    """
    if type(fields) is not list or not fields:
        raise DecodeError(
            "decode.bad-field", "a payload is an array: [version, ...]", field="payload"
        )
    version = fields[0]
    if type(version) is not int or version != ENTRY_VERSION:
        raise DecodeError("decode.unsupported-version", f"entry version {version!r}")
    if len(fields) != _PAYLOAD_FIELDS:
        raise DecodeError(
            "decode.bad-field", f"payload has {len(fields)} fields, want 9", field="payload"
        )
    _, network, author, signer, seq, prev, ts, kind, body = fields
    _need(_is_id(network), "network", "bin(32)")
    _need(_is_id(author), "author", "bin(32)")
    _need(_is_id(signer), "signer", "bin(32)")
    _need(_is_uint(seq) and seq >= 1, "seq", "uint >= 1")
    _need(prev is None if seq == 1 else _is_id(prev), "prev", "nil at seq 1, else bin(32)")
    _need(_is_uint(ts), "timestamp_ms", "uint")
    _need(_is_kind(kind), "kind", "a kind name")
    _need(isinstance(body, dict), "body", "map")
    raise DecodeError("decode.bad-field", "payload fields are malformed", field="payload")


def _need(ok: bool, field: str, want: str) -> None:
    if not ok:
        raise DecodeError("decode.bad-field", f"field {field}: want {want}", field=field)


def _is_id(value: Any) -> bool:
    return isinstance(value, bytes) and len(value) == PUBLIC_KEY_BYTES


def _is_uint(value: Any) -> bool:
    return type(value) is int and 0 <= value <= limits.MAX_INT


def _is_kind(value: Any) -> bool:
    return isinstance(value, str) and _is_kind_name(value)


@functools.lru_cache(maxsize=1024)
def _is_kind_name(value: str) -> bool:
    """Kind names repeat in every log, so the pattern is matched once per name."""
    return (
        len(value.encode()) <= limits.MAX_KIND_BYTES and KIND_PATTERN.fullmatch(value) is not None
    )
