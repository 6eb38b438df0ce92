"""protocol.keys against the RFC 8032 / SUPERCOP Ed25519 vectors.

The vectors come from the PyPI package `cryptography-vectors` (a test dependency), file
asymmetric/Ed25519/sign.input: one vector a line, `sk||pk:pk:msg:sig||msg:` in hex, where
sk is the 32-byte seed. Signing uses the empty domain tag, so `tag || message` is exactly
the RFC's message. For each vector: the seed gives the public key, signing gives exactly
the signature, the signature verifies, and any flipped bit makes it fail.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import pytest
from cryptography_vectors import open_vector_file

from protocol.errors import VerificationError
from protocol.keys import (
    PUBLIC_KEY_BYTES,
    SEED_BYTES,
    SIGNATURE_BYTES,
    SigningKey,
    verify_signature,
)

VECTOR_FILE = os.path.join("asymmetric", "Ed25519", "sign.input")
#: Lines in sign.input as shipped; a count read from the file is compared with it.
EXPECTED_VECTORS = 1024


@dataclass(frozen=True, slots=True)
class Vector:
    line: int
    seed: bytes
    public_key: bytes
    message: bytes
    signature: bytes


def _parse(line_number: int, line: str) -> Vector:
    sk_pk, pk, msg, sig_msg, rest = (bytes.fromhex(part) for part in line.split(":"))
    assert rest == b"" and len(sk_pk) == SEED_BYTES + PUBLIC_KEY_BYTES, line_number
    signature, signed_message = sig_msg[:SIGNATURE_BYTES], sig_msg[SIGNATURE_BYTES:]
    assert sk_pk[SEED_BYTES:] == pk and signed_message == msg, line_number
    return Vector(line_number, sk_pk[:SEED_BYTES], pk, msg, signature)


def _load() -> list[Vector]:
    with open_vector_file(VECTOR_FILE, "r") as f:
        lines = f.read().splitlines()
    return [_parse(n, line) for n, line in enumerate(lines, start=1) if line]


VECTORS = _load()


def test_every_vector_is_read() -> None:
    assert len(VECTORS) == EXPECTED_VECTORS


@pytest.mark.parametrize("vector", VECTORS, ids=lambda v: f"line-{v.line:04d}")
def test_vector(vector: Vector) -> None:
    key = SigningKey(vector.seed)
    assert key.public == vector.public_key
    assert key.sign(b"", vector.message) == vector.signature
    verify_signature(vector.public_key, b"", vector.message, vector.signature)

    flipped = bytearray(vector.signature)
    flipped[vector.line % SIGNATURE_BYTES] ^= 1 << (vector.line % 8)
    with pytest.raises(VerificationError) as info:
        verify_signature(vector.public_key, b"", vector.message, bytes(flipped))
    assert info.value.code == "verify.bad-signature"
