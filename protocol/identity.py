"""Identities (specs/0002-identities-and-entries.md §1).

An identity is created with two Ed25519 keys: a signing key, which signs its
entries and can be rotated, and a recovery key, kept offline, which can only
sign a revocation. The identity id commits to both:
    identity id = SHA-256(IDENTITY_ID tag || canonical([signing_key, recovery_key]))
so the first entry of every log (the inception) proves which keys the id
stands for, with no outside registry.
"""

from __future__ import annotations

from protocol import canonical, tags
from protocol.ids import digest


def identity_id(signing_key: bytes, recovery_key: bytes) -> bytes:
    """The 32-byte id an inception with these two public keys establishes."""
    return digest(tags.IDENTITY_ID, canonical.encode([signing_key, recovery_key]))


def network_id(charter_bytes: bytes) -> bytes:
    """The id of a network: the digest of its charter's canonical encoding."""
    return digest(tags.NETWORK_ID, charter_bytes)


def development_network(name: str) -> bytes:
    """Network id of a development network known only by name (no charter yet)."""
    return network_id(canonical.encode({"development": name}))
