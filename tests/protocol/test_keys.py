"""protocol.keys against the RFC 8032 / SUPERCOP Ed25519 vectors, and against the literal
model of the verification rule of specs/0002 §1.1 (specs/vectorgen/ed25519.py).

The vectors come from the PyPI package `cryptography-vectors` (a test dependency), file
asymmetric/Ed25519/sign.input: one vector a line, `sk||pk:pk:msg:sig||msg:` in hex, where
sk is the 32-byte seed. Signing uses the empty domain tag, so `tag || message` is exactly
the RFC's message. For each vector: the seed gives the public key, signing gives exactly
the signature, the signature verifies, and any flipped bit makes it fail.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

import nacl.bindings
import pytest
from cryptography_vectors import open_vector_file
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol.errors import VerificationError
from protocol.keys import (
    PUBLIC_KEY_BYTES,
    SEED_BYTES,
    SIGNATURE_BYTES,
    SigningKey,
    is_prime_order_key,
    verify_signature,
)
from specs.vectorgen import ed25519 as model
from tests.paths import ROOT

VECTOR_FILE = os.path.join("asymmetric", "Ed25519", "sign.input")
ED25519_VECTORS = ROOT / "specs" / "vectors" / "signatures" / "ed25519"
TORSION = model.torsion()  # a point of order 8
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


# --- the verification rule of specs/0002 §1.1 against its literal model ---------------------


@settings(max_examples=60, deadline=None)
@given(
    seed=st.binary(min_size=SEED_BYTES, max_size=SEED_BYTES),
    message=st.binary(max_size=64),
    flip=st.one_of(st.none(), st.integers(min_value=0, max_value=8 * SIGNATURE_BYTES - 1)),
    torsion=st.booleans(),
)
def test_verification_agrees_with_the_literal_model(
    seed: bytes, message: bytes, flip: int | None, torsion: bool
) -> None:
    """Valid, bit-flipped and mixed-order-key signatures: verify_signature accepts exactly
    what the model of the rule (specs/vectorgen/ed25519.py) accepts."""
    public, signature = model.sign(seed, message)
    if torsion:  # the same signature under the key plus a point of order 8
        public = model.encode(model.add(model.decode(public) or model.IDENTITY, TORSION))
    if flip is not None:
        changed = bytearray(signature)
        changed[flip // 8] ^= 1 << (flip % 8)
        signature = bytes(changed)
    want = model.verify(public, message, signature)
    if want:
        verify_signature(public, b"", message, signature)
    else:
        with pytest.raises(VerificationError) as info:
            verify_signature(public, b"", message, signature)
        assert info.value.code == "verify.bad-signature"


def test_a_mixed_order_key_is_refused_even_where_the_equation_holds() -> None:
    """The vector key-mixed-order: libsodium's crypto_sign_open alone accepts it."""
    case = json.loads((ED25519_VECTORS / "key-mixed-order.json").read_text(encoding="utf-8"))
    data = case["input"]
    key, message, signature = (
        bytes.fromhex(data[k]) for k in ("public_key_hex", "message_hex", "signature_hex")
    )
    nacl.bindings.crypto_sign_open(signature + message, key)  # libsodium: fine
    assert not is_prime_order_key(key)
    with pytest.raises(VerificationError) as info:
        verify_signature(key, b"", message, signature)
    assert info.value.code == "verify.bad-signature"
