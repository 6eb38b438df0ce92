"""The libp2p peer id of a node's host key, computed without importing libp2p.

A py-libp2p host started with `key_seed=seed` (node.net.host) has an Ed25519 key made
from that seed; its peer id inlines that key (protocol.peer_ids).

So `fabnode id` answers in a few milliseconds; tests check this against libp2p's own.
"""

from __future__ import annotations

import nacl.signing

from protocol.errors import LocalMisuseError
from protocol.peer_ids import peer_id_of

KEY_SEED_BYTES = 32


def peer_id_from_seed(seed: bytes) -> str:
    """The base58 peer id of a host started with `key_seed=seed`."""
    if len(seed) != KEY_SEED_BYTES:
        raise LocalMisuseError("misuse.bad-key-seed", f"got {len(seed)} bytes, want 32")
    public = bytes(nacl.signing.SigningKey(seed).verify_key)
    return peer_id_of(public)
