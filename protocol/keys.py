"""Ed25519 keys for signing and verifying (specs/0002-identities-and-entries.md §1).

Verification is the rule of specs/0002 §1.1, which RFC 8032 leaves open and
implementations disagree on ("Taming the many EdDSAs"): a canonical key of prime
order L (small-order and mixed-order keys refused), a canonical S < L, R not of small
order, and the cofactorless equation compared byte for byte. libsodium (through
PyNaCl: about twice as fast as `cryptography` here, and already a dependency of
libp2p) checks all of it but the key's order L: a mixed-order key passes its
`crypto_sign_open`. So a key is also checked with `crypto_core_ed25519_is_valid_point`
(canonical, on the curve, not of small order, in the prime-order subgroup), once per
key: the answer is cached, as a node sees few keys many times.

Every signature is over a domain tag followed by exact bytes (see protocol.tags).
Secret keys are 32-byte seeds; this module never touches files.
"""

from __future__ import annotations

import functools

import nacl.bindings
import nacl.exceptions
import nacl.signing

from protocol.errors import DecodeError, LocalMisuseError, VerificationError

PUBLIC_KEY_BYTES = 32
SEED_BYTES = 32
SIGNATURE_BYTES = 64


class SigningKey:
    """An Ed25519 secret key, made from a 32-byte seed."""

    __slots__ = ("_key", "public", "seed")

    def __init__(self, seed: bytes) -> None:
        if len(seed) != SEED_BYTES:
            raise LocalMisuseError("misuse.bad-key", f"seed of {len(seed)} bytes")
        self.seed = bytes(seed)
        self._key = nacl.signing.SigningKey(self.seed)
        self.public = bytes(self._key.verify_key)

    def sign(self, tag: bytes, message: bytes) -> bytes:
        """The 64-byte signature over `tag || message`."""
        return self._key.sign(tag + message).signature

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SigningKey) and other.seed == self.seed

    def __hash__(self) -> int:
        return hash(self.public)

    def __repr__(self) -> str:  # never print secrets
        return f"SigningKey(public={self.public.hex()[:16]}…)"


def verify_signature(public_key: bytes, tag: bytes, message: bytes, signature: bytes) -> None:
    """Raise VerificationError unless `signature` is valid over `tag || message`."""
    if len(public_key) != PUBLIC_KEY_BYTES:
        raise DecodeError("decode.bad-key", f"public key of {len(public_key)} bytes")
    if len(signature) != SIGNATURE_BYTES:
        raise DecodeError("decode.bad-signature", f"signature of {len(signature)} bytes")
    try:
        nacl.bindings.crypto_sign_open(signature + tag + message, public_key)
    except (nacl.exceptions.BadSignatureError, nacl.exceptions.ValueError) as e:
        raise VerificationError("verify.bad-signature", "signature does not verify") from e
    except nacl.exceptions.CryptoError as e:
        raise VerificationError("verify.bad-signature", f"signature rejected: {e}") from e
    if not is_prime_order_key(public_key):  # after the signature: a forger pays first
        raise VerificationError("verify.bad-signature", "the key is not of prime order")


@functools.lru_cache(maxsize=8192)
def is_prime_order_key(public_key: bytes) -> bool:
    """Is this the canonical encoding of a curve point of order L (specs/0002 §1.1, rows
    1-2)? ~70 us in libsodium, hence the cache (thread-safe, as the node verifies on
    every core)."""
    return bool(nacl.bindings.crypto_core_ed25519_is_valid_point(public_key))
