"""Signed address records and the frames that carry them (specs/0014-reachability.md §2, §3).

A node says where it can be reached in a record signed by its host key, the Ed25519
key its libp2p peer id inlines, so the record is checked from the peer id alone:

    record = {"addrs": [str], "network": bin(32), "peer": bin(32), "seq_ms": uint, "v": 1}
    signed = {"record": bin(record bytes), "sig": bin(64)}

`decode_address_record` is the only way from bytes to an `AddressRecord`: size first,
then the canonical envelope and record, the address grammar (§2.1), the signature
over ADDRESS_RECORD_SIG || record bytes, the network and the clock. `sign_address_record`
refuses (misuse.bad-argument) whatever the decoder would refuse, so a node never
sends a record its peers drop. The exchange frame is `{"records": [bin], "v": 1}`
(`encode_address_frame` / `decode_address_frame`); each record in it is judged alone
by the caller. Pure: no clock, no I/O (the caller passes `now_ms`).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from protocol import canonical
from protocol.errors import CommonsError, DecodeError, LocalMisuseError, VerificationError
from protocol.keys import PUBLIC_KEY_BYTES, SIGNATURE_BYTES, SigningKey, verify_signature
from protocol.peer_ids import host_key_of, peer_id_of
from protocol.tags import ADDRESS_RECORD_SIG

ADDRESS_RECORD_VERSION: Final = 1
MAX_ADDRESS_RECORD_BYTES: Final = 2048
MAX_RECORD_ADDRS: Final = 8
MAX_MULTIADDR_CHARS: Final = 128
#: A record signed further ahead of the receiver's clock is refused (it would pin itself).
MAX_CLOCK_SKEW_MS: Final = 10 * 60 * 1000
MAX_SHARED_RECORDS: Final = 24
MAX_ADDRESS_FRAME_BYTES: Final = 64 * 1024
NETWORK_BYTES: Final = 32
ADDRESS_PROTOCOL_ID: Final = "/fabcommons/addresses/1"

_RECORD_KEYS: Final = frozenset({"addrs", "network", "peer", "seq_ms", "v"})
_ADDR = re.compile(r"/(ip4|ip6|dns4|dns6|dns)/([^/]{1,253})/tcp/([1-9][0-9]{0,4})")
RELAYED_SUFFIX: Final = "/p2p-circuit"
_RELAYED = re.compile(r"(/[^/]+/[^/]+/tcp/[^/]+)/p2p/([1-9A-HJ-NP-Za-km-z]{1,64})/p2p-circuit")
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_DNS_NAME = re.compile(rf"{_LABEL}(?:\.{_LABEL})*")


@dataclass(frozen=True, slots=True)
class AddressRecord:
    """A verified record: the peer's key and id, where it listens, when it said so."""

    peer: bytes  # the host's Ed25519 public key
    network: bytes
    addrs: tuple[str, ...]
    seq_ms: int
    signed: bytes  # the signed bytes as received: what a node shares on

    @property
    def peer_id(self) -> str:
        return peer_id_of(self.peer)


def check_multiaddr(text: str) -> str:
    """`text` if it is an address of §2.1 (direct, or relayed through a member relay at
    a direct address), else DecodeError decode.bad-address."""
    relayed = _RELAYED.fullmatch(text) if len(text) <= MAX_MULTIADDR_CHARS else None
    if relayed is not None:
        try:
            host_key_of(relayed.group(2))
        except DecodeError as e:
            raise DecodeError("decode.bad-address", f"not a relay's peer id: {text!r}") from e
        _check_direct(relayed.group(1))
        return text
    _check_direct(text)
    return text


def is_relayed(addr: str) -> bool:
    """Whether a checked address goes through a relay (§2.1)."""
    return addr.endswith(RELAYED_SUFFIX)


def relayed_addr(relay_addr: str, relay: str) -> str:
    """Our address through `relay` reached at its direct `relay_addr` (§2.1), checked."""
    return check_multiaddr(f"{relay_addr}/p2p/{relay}{RELAYED_SUFFIX}")


def relay_of(addr: str) -> str | None:
    """The relay's peer id in a relayed address (§2.1); None for a direct one."""
    relayed = _RELAYED.fullmatch(addr) if len(addr) <= MAX_MULTIADDR_CHARS else None
    return None if relayed is None else relayed.group(2)


def _check_direct(text: str) -> None:
    match = _ADDR.fullmatch(text) if len(text) <= MAX_MULTIADDR_CHARS else None
    if match is None:
        raise DecodeError("decode.bad-address", f"not /ip4|ip6|dns/<host>/tcp/<port>: {text!r}")
    proto, host, port = match.groups()
    if int(port) > 65535:
        raise DecodeError("decode.bad-address", f"port {port} out of range")
    if proto in ("ip4", "ip6"):
        try:
            ip = ipaddress.ip_address(host)
        except ValueError as e:
            raise DecodeError("decode.bad-address", f"not an IP address: {host!r}") from e
        if ip.version != int(proto[-1]) or str(ip) != host or ip.is_unspecified:
            raise DecodeError("decode.bad-address", f"not the one text of a usable {proto}: {host}")
    elif _DNS_NAME.fullmatch(host) is None:
        raise DecodeError("decode.bad-address", f"not a DNS name: {host!r}")


def sign_address_record(
    key: SigningKey, network: bytes, addrs: Sequence[str], seq_ms: int
) -> bytes:
    """The signed record of `addrs` (sorted and deduplicated here) for `network`."""
    unique = sorted(set(addrs))
    try:
        for addr in unique:
            check_multiaddr(addr)
    except DecodeError as e:
        raise LocalMisuseError("misuse.bad-argument", e.message) from e
    if not 1 <= len(unique) <= MAX_RECORD_ADDRS:
        raise LocalMisuseError("misuse.bad-argument", f"{len(unique)} addresses, want 1..8")
    if len(network) != NETWORK_BYTES or seq_ms < 0:
        raise LocalMisuseError("misuse.bad-argument", "a 32-byte network and seq_ms >= 0")
    record = canonical.encode(
        {"addrs": unique, "network": network, "peer": key.public, "seq_ms": seq_ms,
         "v": ADDRESS_RECORD_VERSION}
    )  # fmt: skip
    signed = canonical.encode({"record": record, "sig": key.sign(ADDRESS_RECORD_SIG, record)})
    if len(signed) > MAX_ADDRESS_RECORD_BYTES:
        raise LocalMisuseError("misuse.bad-argument", f"record of {len(signed)} bytes")
    return signed


def decode_address_record(data: bytes, network: bytes, now_ms: int) -> AddressRecord:
    """Verify a signed record of `network` (§2.2); raise a typed CommonsError."""
    envelope = _map(canonical.decode(data, max_bytes=MAX_ADDRESS_RECORD_BYTES), {"record", "sig"})
    raw, sig = envelope["record"], envelope["sig"]
    if not isinstance(raw, bytes) or not isinstance(sig, bytes) or len(sig) != SIGNATURE_BYTES:
        raise DecodeError("decode.bad-address-record", "want record: bin, sig: bin(64)")
    fields = _map(canonical.decode(raw, max_bytes=MAX_ADDRESS_RECORD_BYTES), _RECORD_KEYS)
    peer, addrs = fields["peer"], fields["addrs"]
    if (
        fields["v"] != ADDRESS_RECORD_VERSION
        or not _is_bin(peer, PUBLIC_KEY_BYTES)
        or not _is_bin(fields["network"], NETWORK_BYTES)
        or type(fields["seq_ms"]) is not int
        or fields["seq_ms"] < 0
        or not isinstance(addrs, list)
        or not 1 <= len(addrs) <= MAX_RECORD_ADDRS
        or not all(isinstance(a, str) for a in addrs)
    ):
        raise DecodeError("decode.bad-address-record", "fields of the wrong type or size")
    for addr in addrs:
        check_multiaddr(addr)
    if addrs != sorted(set(addrs)):
        raise DecodeError("decode.bad-address-record", "addresses not sorted and unique")
    verify_signature(peer, ADDRESS_RECORD_SIG, raw, sig)
    if fields["network"] != network:
        raise VerificationError("verify.wrong-network", "address record of another network")
    if fields["seq_ms"] > now_ms + MAX_CLOCK_SKEW_MS:
        got, limit = fields["seq_ms"], now_ms + MAX_CLOCK_SKEW_MS
        raise VerificationError("verify.address-from-future", f"seq_ms {got}, want <= {limit}")
    return AddressRecord(peer, network, tuple(addrs), fields["seq_ms"], bytes(data))


def encode_address_frame(records: Sequence[bytes]) -> Mapping[str, Any]:
    """The exchange frame's value (protocol.framing encodes it) of signed records."""
    if len(records) > MAX_SHARED_RECORDS or any(len(r) > MAX_ADDRESS_RECORD_BYTES for r in records):
        raise LocalMisuseError("misuse.bad-argument", "too many or too large records")
    return {"records": list(records), "v": ADDRESS_RECORD_VERSION}


def decode_address_frame(value: Any) -> list[bytes]:
    """The signed records of an exchange frame's value (§3), not yet judged."""
    try:
        fields = _map(value, {"records", "v"})
    except DecodeError as e:
        raise DecodeError("decode.bad-address-frame", e.message) from e
    records = fields["records"]
    if (
        fields["v"] != ADDRESS_RECORD_VERSION
        or not isinstance(records, list)
        or len(records) > MAX_SHARED_RECORDS
        or not all(isinstance(r, bytes) and len(r) <= MAX_ADDRESS_RECORD_BYTES for r in records)
    ):
        raise DecodeError("decode.bad-address-frame", "want records: [bin], at most 24")
    return list(records)


def judge_records(
    records: Sequence[bytes], network: bytes, now_ms: int
) -> tuple[list[AddressRecord], list[CommonsError]]:
    """Each record judged alone: the good ones, and why each other one was refused."""
    good: list[AddressRecord] = []
    bad: list[CommonsError] = []
    for data in records:
        try:
            good.append(decode_address_record(data, network, now_ms))
        except CommonsError as e:
            bad.append(e)
    return good, bad


def _map(value: Any, keys: frozenset[str] | set[str]) -> dict[str, Any]:
    if not isinstance(value, dict) or set(value) != keys:
        raise DecodeError("decode.bad-address-record", f"want a map of {sorted(keys)}")
    return value


def _is_bin(value: Any, length: int) -> bool:
    return isinstance(value, bytes) and len(value) == length


# -- dial-back (specs/0014 §6) -------------------------------------------------------------

DIALBACK_PROTOCOL_ID: Final = "/fabcommons/dialback/1"
MAX_DIALBACK_FRAME_BYTES: Final = 64


def encode_dialback_request(port: int) -> dict[str, Any]:
    """Ask a peer to dial us back on `port` at the IP it sees us at."""
    if type(port) is not int or not 1 <= port <= 65535:
        raise LocalMisuseError("misuse.bad-argument", f"port {port!r}, want 1..65535")
    return {"port": port, "v": ADDRESS_RECORD_VERSION}


def decode_dialback_request(value: Any) -> int:
    """The port a dial-back request names; DecodeError decode.bad-dialback otherwise."""
    fields = _dialback_map(value, {"port", "v"})
    port = fields["port"]
    if type(port) is not int or not 1 <= port <= 65535:
        raise DecodeError("decode.bad-dialback", f"port {port!r}, want 1..65535")
    return int(port)


def encode_dialback_response(ok: bool) -> dict[str, Any]:
    return {"ok": bool(ok), "v": ADDRESS_RECORD_VERSION}


def decode_dialback_response(value: Any) -> bool:
    """Whether the server reached us on a new connection."""
    fields = _dialback_map(value, {"ok", "v"})
    if type(fields["ok"]) is not bool:
        raise DecodeError("decode.bad-dialback", "ok must be true or false")
    return bool(fields["ok"])


def _dialback_map(value: Any, keys: set[str]) -> dict[str, Any]:
    if not isinstance(value, dict) or set(value) != keys:
        raise DecodeError("decode.bad-dialback", f"want a map of {sorted(keys)}")
    if value["v"] != ADDRESS_RECORD_VERSION:
        raise DecodeError("decode.bad-dialback", f"v {value['v']!r}, want 1")
    return value
