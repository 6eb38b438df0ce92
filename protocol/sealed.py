"""Sealed files: a customer's private part file, readable only by its recipients
(specs/0011-capabilities.md §6).

A sealed file is `MAGIC || u32 header length || header || payload`. The header is a
canonical msgpack map {version, suite, chunk_bytes, recipients}; each recipient is
{key_id, sealed_key}: the file's random 32-byte content key sealed with HPKE (RFC 9180,
base mode, single shot, info `INFO`) to that recipient's public key, and `key_id` =
SHA-256(suite || public key). The payload is the plaintext cut into `chunk_bytes`
chunks, each sealed with ChaCha20-Poly1305 under the content key, nonce = 11-byte
big-endian chunk counter || last-chunk flag (the STREAM construction: truncation,
reordering and extension are detected), associated data = SHA-256(header). Suites:
X25519 (DHKEM(X25519, HKDF-SHA256)) and the hybrid post-quantum ML-KEM-768 + X25519,
both with HKDF-SHA256 and ChaCha20-Poly1305, from `cryptography`'s hpke module.

Guarantees: `open_sealed` returns the exact plaintext or raises a typed error —
decode.too-large / decode.bad-sealed-file (malformed, checked before any
decryption), misuse.not-a-recipient (no stanza for this key), verify.sealed-tampered
(any bit changed). Who may read a file is the sealer's choice; that the blob is the
one a job names is the signed job record's business (its SHA-256). Pure: no I/O;
the only randomness is the content key and HPKE's ephemeral keys.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hpke
from cryptography.hazmat.primitives.asymmetric import mlkem, x25519
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from protocol import canonical
from protocol.capability import SealKey
from protocol.errors import CommonsError, DecodeError, LocalMisuseError, VerificationError

MAGIC: Final = b"FCSEAL\x00\x01"
VERSION: Final = 1
INFO: Final = b"fabcommons/sealed-file/v1"
X25519_SUITE: Final = "x25519-hkdf-sha256-chacha20poly1305"
HYBRID_SUITE: Final = "mlkem768x25519-hkdf-sha256-chacha20poly1305"
CHUNK_BYTES: Final = 64 * 1024
TAG_BYTES: Final = 16
CONTENT_KEY_BYTES: Final = 32
MAX_RECIPIENTS: Final = 8
MAX_HEADER_BYTES: Final = 32 * 1024
#: Largest plaintext a sealed file carries (the default blob limit, 1 GiB, less room).
MAX_PLAINTEXT_BYTES: Final = 1024 * 1024 * 1024 - 64 * 1024 * 1024
PRIVATE_KEY_BYTES: Final = {X25519_SUITE: 32, HYBRID_SUITE: 64 + 32}
_KEMS: Final = {X25519_SUITE: hpke.KEM.X25519, HYBRID_SUITE: hpke.KEM.MLKEM768_X25519}
_LENGTH = struct.Struct(">I")

PublicKey = x25519.X25519PublicKey | hpke.MLKEM768X25519PublicKey
PrivateKey = x25519.X25519PrivateKey | hpke.MLKEM768X25519PrivateKey


def _suite(name: str) -> hpke.Suite:
    return hpke.Suite(_KEMS[name], hpke.KDF.HKDF_SHA256, hpke.AEAD.CHACHA20_POLY1305)


def key_id(key: SealKey) -> bytes:
    """SHA-256(suite || public key): how a header names a recipient."""
    return hashlib.sha256(key.suite.encode() + key.public_key).digest()


@dataclass(frozen=True, slots=True)
class SealPrivateKey:
    """A recipient's private key: X25519 raw (32 bytes), or ML-KEM-768 seed (64)
    followed by X25519 raw (32) for the hybrid suite."""

    suite: str
    private_bytes: bytes

    def __post_init__(self) -> None:
        want = PRIVATE_KEY_BYTES.get(self.suite)
        if want is None or len(self.private_bytes) != want:
            raise LocalMisuseError("misuse.bad-seal-key", f"not a {self.suite} private key")

    def _key(self) -> PrivateKey:
        if self.suite == X25519_SUITE:
            return x25519.X25519PrivateKey.from_private_bytes(self.private_bytes)
        return hpke.MLKEM768X25519PrivateKey(
            mlkem.MLKEM768PrivateKey.from_seed_bytes(self.private_bytes[:64]),
            x25519.X25519PrivateKey.from_private_bytes(self.private_bytes[64:]),
        )

    def public(self) -> SealKey:
        """The public key, as an advert publishes it."""
        x_private = x25519.X25519PrivateKey.from_private_bytes(self.private_bytes[-32:])
        raw = x_private.public_key().public_bytes_raw()
        if self.suite == HYBRID_SUITE:
            ml = mlkem.MLKEM768PrivateKey.from_seed_bytes(self.private_bytes[:64])
            raw = ml.public_key().public_bytes_raw() + raw
        return SealKey.model_validate({"suite": self.suite, "public_key": raw})


def generate_key(suite: str = HYBRID_SUITE) -> SealPrivateKey:
    """A fresh private key of a suite (from OpenSSL's random source)."""
    if suite not in PRIVATE_KEY_BYTES:
        raise LocalMisuseError("misuse.bad-seal-key", f"unknown suite {suite!r}")
    x_raw = x25519.X25519PrivateKey.generate().private_bytes_raw()
    if suite == X25519_SUITE:
        return SealPrivateKey(suite, x_raw)
    return SealPrivateKey(suite, mlkem.MLKEM768PrivateKey.generate().private_bytes_raw() + x_raw)


def _public(key: SealKey) -> PublicKey:
    if key.suite == X25519_SUITE:
        return x25519.X25519PublicKey.from_public_bytes(key.public_key)
    return hpke.MLKEM768X25519PublicKey(
        mlkem.MLKEM768PublicKey.from_public_bytes(key.public_key[:1184]),
        x25519.X25519PublicKey.from_public_bytes(key.public_key[1184:]),
    )


def _nonce(counter: int, last: bool) -> bytes:
    return counter.to_bytes(11, "big") + (b"\x01" if last else b"\x00")


def seal(plaintext: bytes, recipients: Sequence[SealKey]) -> bytes:
    """Seal `plaintext` so that each of `recipients` (all of one suite) can open it."""
    if len(plaintext) > MAX_PLAINTEXT_BYTES:
        raise LocalMisuseError("misuse.too-large", f"{len(plaintext)} bytes to seal")
    suites = {r.suite for r in recipients}
    ids = [key_id(r) for r in recipients]
    if len(suites) != 1 or not 1 <= len(recipients) <= MAX_RECIPIENTS or len(set(ids)) != len(ids):
        raise LocalMisuseError(
            "misuse.bad-recipients", f"1-{MAX_RECIPIENTS} distinct keys of one suite"
        )
    suite = suites.pop()
    content_key = ChaCha20Poly1305.generate_key()
    stanzas = [
        {"key_id": kid, "sealed_key": _suite(suite).encrypt(content_key, _public(r), INFO)}
        for kid, r in zip(ids, recipients, strict=True)
    ]
    header = canonical.encode(
        {"version": VERSION, "suite": suite, "chunk_bytes": CHUNK_BYTES, "recipients": stanzas}
    )
    aad = hashlib.sha256(header).digest()
    aead = ChaCha20Poly1305(content_key)
    count = max(1, -(-len(plaintext) // CHUNK_BYTES))
    out = [MAGIC, _LENGTH.pack(len(header)), header]
    for i in range(count):
        chunk = plaintext[i * CHUNK_BYTES : (i + 1) * CHUNK_BYTES]
        out.append(aead.encrypt(_nonce(i, i == count - 1), chunk, aad))
    return b"".join(out)


@dataclass(frozen=True, slots=True)
class SealedHeader:
    """The parsed header: suite, chunk size and recipients' key ids and sealed keys."""

    suite: str
    chunk_bytes: int
    recipients: tuple[tuple[bytes, bytes], ...]
    header_bytes: bytes
    payload_offset: int


def _bad(message: str) -> DecodeError:
    return DecodeError("decode.bad-sealed-file", message)


def _stanza(value: Any, suite: str) -> tuple[bytes, bytes]:
    if not isinstance(value, dict) or set(value) != {"key_id", "sealed_key"}:
        raise _bad("a recipient is {key_id, sealed_key}")
    kid, sealed_key = value["key_id"], value["sealed_key"]
    want = _KEMS[suite].enc_length() + CONTENT_KEY_BYTES + TAG_BYTES
    if not isinstance(kid, bytes) or len(kid) != 32:
        raise _bad("key_id: want 32 bytes")
    if not isinstance(sealed_key, bytes) or len(sealed_key) != want:
        raise _bad(f"sealed_key: want {want} bytes")
    return kid, sealed_key


def read_header(sealed: bytes) -> SealedHeader:
    """Parse and bound-check a sealed file's header (no decryption)."""
    if len(sealed) > MAX_PLAINTEXT_BYTES + MAX_HEADER_BYTES + 1024 * 1024:
        raise DecodeError("decode.too-large", f"sealed file of {len(sealed)} bytes")
    if sealed[: len(MAGIC)] != MAGIC or len(sealed) < len(MAGIC) + _LENGTH.size:
        raise _bad("not a sealed file (magic)")
    (length,) = _LENGTH.unpack_from(sealed, len(MAGIC))
    start = len(MAGIC) + _LENGTH.size
    if length > MAX_HEADER_BYTES or start + length > len(sealed):
        raise _bad(f"header length {length} out of bounds")
    header_bytes = sealed[start : start + length]
    try:
        header = canonical.decode(header_bytes)
    except CommonsError as e:
        raise _bad(f"header: {e.message}") from e
    if not isinstance(header, dict) or set(header) != {
        "version",
        "suite",
        "chunk_bytes",
        "recipients",
    }:
        raise _bad("header is {version, suite, chunk_bytes, recipients}")
    if header["version"] != VERSION or header["suite"] not in _KEMS:
        raise _bad(f"unsupported version or suite {header['suite']!r}")
    if header["chunk_bytes"] != CHUNK_BYTES:
        raise _bad(f"chunk_bytes: got {header['chunk_bytes']!r}, want {CHUNK_BYTES}")
    recipients = header["recipients"]
    if not isinstance(recipients, list) or not 1 <= len(recipients) <= MAX_RECIPIENTS:
        raise _bad(f"recipients: 1-{MAX_RECIPIENTS}")
    stanzas = tuple(_stanza(r, header["suite"]) for r in recipients)
    if len({kid for kid, _ in stanzas}) != len(stanzas):
        raise _bad("recipients: a key_id repeats")
    if len(sealed) - start - length < TAG_BYTES:
        raise _bad("payload shorter than one chunk")
    return SealedHeader(header["suite"], CHUNK_BYTES, stanzas, header_bytes, start + length)


def open_sealed(sealed: bytes, key: SealPrivateKey) -> bytes:
    """The plaintext of a sealed file this key is a recipient of (§6), or a typed error."""
    header = read_header(sealed)
    if header.suite != key.suite:
        raise LocalMisuseError("misuse.not-a-recipient", "sealed to another suite")
    mine = key_id(key.public())
    stanza = next((sk for kid, sk in header.recipients if kid == mine), None)
    if stanza is None:
        raise LocalMisuseError("misuse.not-a-recipient", "this key is not among the recipients")
    tampered = VerificationError("verify.sealed-tampered", "the sealed file was altered")
    try:
        content_key = _suite(key.suite).decrypt(stanza, key._key(), INFO)
    except (InvalidTag, ValueError) as e:
        raise tampered from e
    aad = hashlib.sha256(header.header_bytes).digest()
    aead = ChaCha20Poly1305(content_key)
    payload = memoryview(sealed)[header.payload_offset :]
    step = CHUNK_BYTES + TAG_BYTES
    count = max(1, -(-len(payload) // step))
    parts = []
    for i in range(count):
        chunk = bytes(payload[i * step : (i + 1) * step])
        try:
            parts.append(aead.decrypt(_nonce(i, i == count - 1), chunk, aad))
        except InvalidTag as e:
            raise tampered from e
    return b"".join(parts)
