"""libp2p peer ids of Ed25519 host keys, both ways, without importing libp2p.

A key of 42 bytes or less is inlined in its peer id (libp2p peer-ids spec): the peer
id is the base58btc text of the identity multihash of the key's protobuf encoding,

    PublicKey { Type = 1 (Ed25519), Data = <32-byte public key> }
      = 08 01 12 20 <key>                      (protobuf, 36 bytes)
    multihash identity = 00 24 <36 bytes>      (code 0x00, length 36)

Used by address records (0014 §2), host bindings (0014 §7.1) and `fabnode id`.
"""

from __future__ import annotations

from typing import Final

import base58

from protocol.errors import DecodeError, LocalMisuseError
from protocol.keys import PUBLIC_KEY_BYTES

#: identity multihash header (00 24) + protobuf of an Ed25519 PublicKey (08 01 12 20)
ED25519_PEER_PREFIX: Final = bytes([0x00, 0x24, 0x08, 0x01, 0x12, 0x20])


def peer_id_of(public_key: bytes) -> str:
    """The libp2p peer id (base58btc text) of an Ed25519 host key."""
    if len(public_key) != PUBLIC_KEY_BYTES:
        raise LocalMisuseError("misuse.bad-argument", f"key of {len(public_key)} bytes")
    return str(base58.b58encode(ED25519_PEER_PREFIX + public_key).decode("ascii"))


def host_key_of(peer_id: str) -> bytes:
    """The Ed25519 key a libp2p peer id inlines; DecodeError decode.bad-peer-id for any
    other peer id."""
    try:
        raw = base58.b58decode(peer_id.encode("ascii"))
    except ValueError as e:
        raise DecodeError("decode.bad-peer-id", f"not base58: {peer_id!r}") from e
    if len(raw) != len(ED25519_PEER_PREFIX) + PUBLIC_KEY_BYTES or not raw.startswith(
        ED25519_PEER_PREFIX
    ):
        raise DecodeError("decode.bad-peer-id", f"not an inlined Ed25519 key: {peer_id!r}")
    return raw[len(ED25519_PEER_PREFIX) :]
