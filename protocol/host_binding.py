"""Host bindings: an identity vouches for the libp2p host that runs it (specs/0014 §7.1).

An address record (0014 §2) is signed by the host key alone, so it says nothing of
who runs the host. A host binding is the missing link: the identity's signing key in
force signs (network, host key), so a member relay can tell a member's node from a
stranger's before it serves a reservation or a circuit:

    binding = {"host": bin(32), "identity": bin(32), "key": bin(32), "network": bin(32), "v": 1}
    signed  = {"binding": bin(binding bytes), "sig": bin(64)}
    sig     = Ed25519(key, HANDSHAKE_SIG || binding bytes)

`decode_host_binding` checks size, shape, signature, network and that the bound host
is the peer on the other end of the connection; whether `key` is the identity's key
in force and whether the identity is admitted is the ledger's to say (the caller's).
The frames of `/fabcommons/membership/1` (§7.2) carry one binding and one answer.
Pure: no clock, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from protocol import canonical
from protocol.errors import DecodeError, LocalMisuseError, VerificationError
from protocol.keys import PUBLIC_KEY_BYTES, SIGNATURE_BYTES, SigningKey, verify_signature
from protocol.tags import HANDSHAKE_SIG

HOST_BINDING_VERSION: Final = 1
MAX_HOST_BINDING_BYTES: Final = 512
MAX_MEMBERSHIP_FRAME_BYTES: Final = 1024
ID_BYTES: Final = 32
MEMBERSHIP_PROTOCOL_ID: Final = "/fabcommons/membership/1"

_BINDING_KEYS: Final = frozenset({"host", "identity", "key", "network", "v"})


@dataclass(frozen=True, slots=True)
class HostBinding:
    """A checked binding: `identity` (through its key `key`) runs the host `host`."""

    identity: bytes
    key: bytes  # the identity's signing key that signed; the ledger says if it is in force
    host: bytes  # the host's Ed25519 public key (the peer id inlines it)
    network: bytes
    signed: bytes


def sign_host_binding(key: SigningKey, identity: bytes, network: bytes, host: bytes) -> bytes:
    """The signed binding of `host` (a host's public key) to `identity` on `network`."""
    if len(identity) != ID_BYTES or len(network) != ID_BYTES or len(host) != PUBLIC_KEY_BYTES:
        raise LocalMisuseError("misuse.bad-argument", "a 32-byte identity, network and host key")
    binding = canonical.encode(
        {"host": host, "identity": identity, "key": key.public, "network": network,
         "v": HOST_BINDING_VERSION}
    )  # fmt: skip
    return canonical.encode({"binding": binding, "sig": key.sign(HANDSHAKE_SIG, binding)})


def decode_host_binding(data: bytes, network: bytes, host: bytes) -> HostBinding:
    """Verify a signed binding of the host `host` on `network` (§7.1), in order: size,
    shape (decode.bad-host-binding), signature, network, host (verify.wrong-host)."""
    envelope = _map(canonical.decode(data, max_bytes=MAX_HOST_BINDING_BYTES), {"binding", "sig"})
    raw, sig = envelope["binding"], envelope["sig"]
    if not isinstance(raw, bytes) or not _is_bin(sig, SIGNATURE_BYTES):
        raise DecodeError("decode.bad-host-binding", "want binding: bin, sig: bin(64)")
    fields = _map(canonical.decode(raw, max_bytes=MAX_HOST_BINDING_BYTES), _BINDING_KEYS)
    if fields["v"] != HOST_BINDING_VERSION or not all(
        _is_bin(fields[k], 32) for k in ("host", "identity", "key", "network")
    ):
        raise DecodeError("decode.bad-host-binding", "fields of the wrong type or size")
    verify_signature(fields["key"], HANDSHAKE_SIG, raw, sig)
    if fields["network"] != network:
        raise VerificationError("verify.wrong-network", "host binding of another network")
    if fields["host"] != host:
        raise VerificationError("verify.wrong-host", "the binding names another host key")
    return HostBinding(fields["identity"], fields["key"], host, network, bytes(data))


# -- the membership exchange (§7.2) ------------------------------------------------------


def encode_membership_request(signed: bytes) -> dict[str, Any]:
    if not isinstance(signed, bytes) or len(signed) > MAX_HOST_BINDING_BYTES:
        raise LocalMisuseError("misuse.bad-argument", "a signed binding of at most 512 bytes")
    return {"binding": signed, "v": HOST_BINDING_VERSION}


def decode_membership_request(value: Any) -> bytes:
    """The signed binding a request carries, not yet verified."""
    fields = _frame(value, {"binding", "v"})
    if not isinstance(fields["binding"], bytes) or len(fields["binding"]) > MAX_HOST_BINDING_BYTES:
        raise DecodeError("decode.bad-membership-frame", "binding: bin of at most 512 bytes")
    return bytes(fields["binding"])


def encode_membership_response(relay: bool) -> dict[str, Any]:
    return {"relay": bool(relay), "v": HOST_BINDING_VERSION}


def decode_membership_response(value: Any) -> bool:
    """Whether the server relays for us (it accepted the binding and offers hop)."""
    fields = _frame(value, {"relay", "v"})
    if type(fields["relay"]) is not bool:
        raise DecodeError("decode.bad-membership-frame", "relay must be true or false")
    return bool(fields["relay"])


def _frame(value: Any, keys: set[str]) -> dict[str, Any]:
    if not isinstance(value, dict) or set(value) != keys:
        raise DecodeError("decode.bad-membership-frame", f"want a map of {sorted(keys)}")
    if value["v"] != HOST_BINDING_VERSION:
        raise DecodeError("decode.bad-membership-frame", f"v {value['v']!r}, want 1")
    return value


def _map(value: Any, keys: frozenset[str] | set[str]) -> dict[str, Any]:
    if not isinstance(value, dict) or set(value) != keys:
        raise DecodeError("decode.bad-host-binding", f"want a map of {sorted(keys)}")
    return value


def _is_bin(value: Any, length: int) -> bool:
    return isinstance(value, bytes) and len(value) == length
