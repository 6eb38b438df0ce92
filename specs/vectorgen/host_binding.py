"""discovery/host-binding and discovery/membership (specs/0014 §7): an identity's
signature over (network, host key), and the frames of the membership exchange.

Bindings are built here field by field and signed with fixed-seed keys, so every
invalid case is one mutation of a valid binding; the host key is given to the checker
as the libp2p peer id of the connection, written out below by the peer-ids rule.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import base58

from protocol import canonical, tags
from protocol.keys import SigningKey
from specs.vectorgen.common import ALICE, BOB, NETWORK, OTHER_NETWORK, Case, error, ok, seed_key

HOST = seed_key("hosts/lab-a")
OTHER_HOST = seed_key("hosts/lab-b")


def _peer_id(public: bytes) -> str:
    # identity multihash (00, length 36) of the protobuf PublicKey {Type: Ed25519, Data}
    return base58.b58encode(bytes([0, 36, 8, 1, 18, 32]) + public).decode()


_DROP = object()


def _binding(**changes: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {"host": HOST.public, "identity": ALICE.id,
                              "key": ALICE.signing.public, "network": NETWORK, "v": 1}  # fmt: skip
    fields.update(changes)
    return {k: v for k, v in fields.items() if v is not _DROP}


def _signed(binding: dict[str, Any], key: SigningKey = ALICE.signing,
            tag: bytes = tags.HANDSHAKE_SIG) -> bytes:  # fmt: skip
    raw = canonical.encode(binding)
    return canonical.encode({"binding": raw, "sig": key.sign(tag, raw)})


def _case(name: str, description: str, signed: bytes, expect: dict[str, Any],
          peer_id: str = _peer_id(HOST.public)) -> Case:  # fmt: skip
    data = {"signed_hex": signed.hex(), "network_hex": NETWORK.hex(), "peer_id": peer_id}
    return Case("discovery", "host-binding", name, description, data, expect)


def cases() -> Iterator[Case]:
    valid = ok(identity_hex=ALICE.id.hex(), key_hex=ALICE.signing.public.hex())
    yield _case("happy-path", "Alice's signing key binds lab A's host to Alice.",
                _signed(_binding()), valid)  # fmt: skip
    yield _case("another-host", "A valid binding of lab A's host, shown on lab B's connection "
                "(a binding replayed by another node).", _signed(_binding()),
                error("verify.wrong-host"), peer_id=_peer_id(OTHER_HOST.public))  # fmt: skip
    yield _case("wrong-network", "A valid binding for another federation.",
                _signed(_binding(network=OTHER_NETWORK)),
                error("verify.wrong-network"))  # fmt: skip
    yield _case("signed-by-another-key", "Names Alice's key; Bob's key signed.",
                _signed(_binding(), BOB.signing), error("verify.bad-signature"))  # fmt: skip
    yield _case("signed-by-the-host", "Signed by the host key, not the identity's.",
                _signed(_binding(key=HOST.public), HOST), ok(identity_hex=ALICE.id.hex(),
                key_hex=HOST.public.hex()))  # fmt: skip
    yield _case("address-tag-signature", "Signed under the address-record tag.",
                _signed(_binding(), tag=tags.ADDRESS_RECORD_SIG),
                error("verify.bad-signature"))  # fmt: skip
    yield _case("version-2", "v is 2.", _signed(_binding(v=2)), error("decode.bad-host-binding"))
    yield _case("missing-identity", "No identity.", _signed(_binding(identity=_DROP)),
                error("decode.bad-host-binding"))  # fmt: skip
    yield _case("extra-field", "An extra key `addrs`.", _signed(_binding(addrs=[])),
                error("decode.bad-host-binding"))  # fmt: skip
    yield _case("short-host", "A 31-byte host key.", _signed(_binding(host=HOST.public[:31])),
                error("decode.bad-host-binding"))  # fmt: skip
    yield _case("trailing-byte", "A valid binding followed by one zero byte.",
                _signed(_binding()) + b"\x00", error("decode.trailing-bytes"))  # fmt: skip
    yield _case("too-large", "513 bytes: refused before parsing.", bytes(513),
                error("decode.too-large"))  # fmt: skip
    rsa_like = base58.b58encode(bytes([0x12, 0x20]) + bytes(32)).decode()
    yield _case("sha256-peer-id", "The connection's peer id is a SHA-256 multihash (an RSA "
                "or secp256k1 host), not an inlined Ed25519 key.", _signed(_binding()),
                error("decode.bad-peer-id"), peer_id=rsa_like)  # fmt: skip


def _frame_case(name: str, description: str, message: str, value: Any,
                expect: dict[str, Any]) -> Case:  # fmt: skip
    data = {"message": message, "frame_hex": canonical.encode(value).hex()}
    return Case("discovery", "membership", name, description, data, expect)


def frame_cases() -> Iterator[Case]:
    signed = _signed(_binding())
    yield _frame_case("request", "A node presents its binding.", "request",
                      {"binding": signed, "v": 1}, ok(binding_hex=signed.hex()))  # fmt: skip
    yield _frame_case("response-relay", "The server relays for us.", "response",
                      {"relay": True, "v": 1}, ok(relay=True))  # fmt: skip
    yield _frame_case("response-no-relay", "The server does not relay for us.", "response",
                      {"relay": False, "v": 1}, ok(relay=False))  # fmt: skip
    yield _frame_case("binding-too-large", "A binding of 513 bytes.", "request",
                      {"binding": bytes(513), "v": 1},
                      error("decode.bad-membership-frame"))  # fmt: skip
    yield _frame_case("relay-as-integer", "relay is 1, not true.", "response",
                      {"relay": 1, "v": 1}, error("decode.bad-membership-frame"))  # fmt: skip
    yield _frame_case("version-2", "v is 2.", "request", {"binding": signed, "v": 2},
                      error("decode.bad-membership-frame"))  # fmt: skip
