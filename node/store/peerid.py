"""The libp2p peer id of a node's host key, computed without importing libp2p.

A py-libp2p host started with `key_seed=seed` (node.net.host) has an Ed25519 key made
from that seed; its peer id is the base58btc text of the identity multihash of the
key's protobuf encoding (libp2p peer-ids spec: keys of 42 bytes or less are inlined):

    PublicKey { Type = 1 (Ed25519), Data = <32-byte public key> }
      = 08 01 12 20 <key>                      (protobuf, 36 bytes)
    multihash identity = 00 24 <36 bytes>      (code 0x00, length 36)

So `fabnode id` answers in a few milliseconds; tests check this against libp2p's own.
"""

from __future__ import annotations

import base58
import nacl.signing

from protocol.errors import LocalMisuseError

KEY_SEED_BYTES = 32
_ED25519_PROTOBUF_PREFIX = bytes([0x08, 0x01, 0x12, 0x20])
_IDENTITY_MULTIHASH = bytes([0x00, 0x24])


def peer_id_from_seed(seed: bytes) -> str:
    """The base58 peer id of a host started with `key_seed=seed`."""
    if len(seed) != KEY_SEED_BYTES:
        raise LocalMisuseError("misuse.bad-key-seed", f"got {len(seed)} bytes, want 32")
    public = bytes(nacl.signing.SigningKey(seed).verify_key)
    return base58.b58encode(_IDENTITY_MULTIHASH + _ED25519_PROTOBUF_PREFIX + public).decode()
