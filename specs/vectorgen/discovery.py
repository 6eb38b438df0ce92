"""discovery/address-record (specs/0014 §2): signed address records and their refusals.

Records are built here field by field (canonical maps) and signed with fixed-seed host
keys, so every invalid case is exactly one mutation of a valid record; the expected
peer id is computed from the key by the libp2p peer-ids rule written out below, not by
the code under test.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import base58

from protocol import canonical, tags
from protocol.keys import SigningKey
from specs.vectorgen.common import NETWORK, OTHER_NETWORK, T0_MS, Case, error, ok, seed_key

HOST = seed_key("hosts/lab-a")
OTHER_HOST = seed_key("hosts/lab-b")
ADDRS = ["/dns4/lab-a.example.org/tcp/4001", "/ip4/192.0.2.10/tcp/4001"]
SKEW_MS = 10 * 60 * 1000


def _peer_id(key: SigningKey) -> str:
    # identity multihash (00, length 36) of the protobuf PublicKey {Type: Ed25519, Data}
    return base58.b58encode(bytes([0, 36, 8, 1, 18, 32]) + key.public).decode()


def _record(**changes: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {"addrs": ADDRS, "network": NETWORK, "peer": HOST.public,
                              "seq_ms": T0_MS, "v": 1}  # fmt: skip
    fields.update(changes)
    return {k: v for k, v in fields.items() if v is not _DROP}


_DROP = object()


def _signed(record: dict[str, Any], key: SigningKey = HOST, *, sig: bytes | None = None) -> bytes:
    raw = canonical.encode(record)
    return canonical.encode({"record": raw, "sig": sig or key.sign(tags.ADDRESS_RECORD_SIG, raw)})


def _case(name: str, description: str, signed: bytes, expect: dict[str, Any],
          now_ms: int = T0_MS) -> Case:  # fmt: skip
    data = {"signed_hex": signed.hex(), "network_hex": NETWORK.hex(), "now_ms": now_ms}
    return Case("discovery", "address-record", name, description, data, expect)


def _valid(addrs: list[str], seq_ms: int = T0_MS) -> dict[str, Any]:
    return ok(peer_id=_peer_id(HOST), addrs=addrs, seq_ms=seq_ms)


def cases() -> Iterator[Case]:
    yield _case("happy-path", "Two addresses, sorted: a DNS name and an IPv4 address.",
                _signed(_record()), _valid(ADDRS))  # fmt: skip
    ip6 = ["/ip6/2001:db8::10/tcp/4001"]
    yield _case("ip6-address", "One IPv6 address in its compressed form.",
                _signed(_record(addrs=ip6)), _valid(ip6))  # fmt: skip
    relayed = sorted(
        [ADDRS[1], f"/ip4/198.51.100.7/tcp/4001/p2p/{_peer_id(OTHER_HOST)}/p2p-circuit"]
    )
    yield _case("relayed-address-through-a-member", "A private lab's record: a direct address "
                "and one through the member relay lab B (0014 §2.1, §7.4).",
                _signed(_record(addrs=relayed)), _valid(relayed))  # fmt: skip
    yield _case("at-the-skew-limit", "seq_ms exactly MAX_CLOCK_SKEW_MS ahead: accepted.",
                _signed(_record()), _valid(ADDRS), now_ms=T0_MS - SKEW_MS)  # fmt: skip
    yield _case("from-the-future", "seq_ms one ms beyond the receiver's clock plus the skew.",
                _signed(_record()), error("verify.address-from-future"),
                now_ms=T0_MS - SKEW_MS - 1)  # fmt: skip
    yield _case(
        "wrong-network",
        "A valid record of another federation.",
        _signed(_record(network=OTHER_NETWORK)),
        error("verify.wrong-network"),
    )
    yield _case(
        "signed-by-another-key",
        "The record names lab A's key; lab B signed it.",
        _signed(_record(), OTHER_HOST),
        error("verify.bad-signature"),
    )
    yield _case("flipped-signature-bit", "One bit of the signature changed.",
                _signed(_record(), sig=bytes([HOST.sign(tags.ADDRESS_RECORD_SIG,
                        canonical.encode(_record()))[0] ^ 1]) + bytes(63)),
                error("verify.bad-signature"))  # fmt: skip
    wrong_tag = canonical.encode(_record())
    yield _case("entry-tag-signature", "Signed under the entry tag, not the address tag.",
                canonical.encode({"record": wrong_tag,
                                  "sig": HOST.sign(tags.ENTRY_SIG, wrong_tag)}),
                error("verify.bad-signature"))  # fmt: skip
    yield _case(
        "unsorted-addresses",
        "The same two addresses in the other order.",
        _signed(_record(addrs=ADDRS[::-1])),
        error("decode.bad-address-record"),
    )
    yield _case(
        "duplicate-address",
        "One address twice.",
        _signed(_record(addrs=[ADDRS[0], ADDRS[0]])),
        error("decode.bad-address-record"),
    )
    yield _case(
        "no-address",
        "An empty address list.",
        _signed(_record(addrs=[])),
        error("decode.bad-address-record"),
    )
    nine = [f"/ip4/192.0.2.{i}/tcp/4001" for i in range(10, 19)]
    yield _case(
        "nine-addresses",
        "One more address than MAX_RECORD_ADDRS (8).",
        _signed(_record(addrs=nine)),
        error("decode.bad-address-record"),
    )
    for name, addr, why in (
        ("wildcard-address", "/ip4/0.0.0.0/tcp/4001", "the unspecified address"),
        ("leading-zero-ip", "/ip4/192.0.2.010/tcp/4001", "an octet with a leading zero"),
        ("leading-zero-port", "/ip4/192.0.2.10/tcp/04001", "a port with a leading zero"),
        ("port-out-of-range", "/ip4/192.0.2.10/tcp/65536", "port 65536"),
        ("uncompressed-ip6", "/ip6/2001:db8:0:0:0:0:0:10/tcp/4001", "IPv6 not compressed"),
        ("relayed-address", "/ip4/192.0.2.10/tcp/4001/p2p-circuit", "a relayed address "
         "that names no relay"),
        ("relay-not-ed25519", "/ip4/192.0.2.10/tcp/4001/p2p/"
         + base58.b58encode(bytes([0x12, 0x20]) + bytes(32)).decode() + "/p2p-circuit",
         "a relay whose peer id is a SHA-256 multihash"),
        ("relayed-twice", f"/ip4/192.0.2.10/tcp/4001/p2p/{_peer_id(OTHER_HOST)}/p2p-circuit"
         f"/p2p/{_peer_id(OTHER_HOST)}/p2p-circuit", "a circuit through a circuit"),
        ("udp-address", "/ip4/192.0.2.10/udp/4001/quic-v1", "a QUIC address"),
        ("newline-after-address", "/ip4/192.0.2.10/tcp/4001\n", "a newline after the port"),
    ):  # fmt: skip
        yield _case(name, f"An address outside the grammar: {why}.",
                    _signed(_record(addrs=[addr])), error("decode.bad-address"))  # fmt: skip
    yield _case("version-2", "v is 2.", _signed(_record(v=2)), error("decode.bad-address-record"))
    yield _case(
        "extra-field",
        "An extra key `relay` in the record.",
        _signed(_record(relay=True)),
        error("decode.bad-address-record"),
    )
    yield _case(
        "missing-seq",
        "No seq_ms.",
        _signed(_record(seq_ms=_DROP)),
        error("decode.bad-address-record"),
    )
    yield _case(
        "short-key",
        "A 31-byte peer key.",
        _signed(_record(peer=HOST.public[:31])),
        error("decode.bad-address-record"),
    )
    yield _case(
        "negative-seq",
        "seq_ms is -1.",
        _signed(_record(seq_ms=-1)),
        error("decode.bad-address-record"),
    )
    good = _signed(_record())
    yield _case(
        "trailing-byte",
        "A valid signed record followed by one zero byte.",
        good + b"\x00",
        error("decode.trailing-bytes"),
    )
    yield _case(
        "too-large", "2,049 bytes: refused before parsing.", bytes(2049), error("decode.too-large")
    )


def _frame_case(name: str, description: str, value: Any, expect: dict[str, Any]) -> Case:
    data = {"frame_hex": canonical.encode(value).hex()}
    return Case("discovery", "address-frame", name, description, data, expect)


def frame_cases() -> Iterator[Case]:
    a, b = _signed(_record()), _signed(_record(peer=OTHER_HOST.public), OTHER_HOST)
    yield _frame_case("two-records", "Two signed records, as a server shares them.",
                      {"records": [a, b], "v": 1}, ok(records=2))  # fmt: skip
    yield _frame_case("no-records", "A client with no record of its own yet.",
                      {"records": [], "v": 1}, ok(records=0))  # fmt: skip
    yield _frame_case("bad-record-kept-apart", "A record that will not verify is still "
                      "carried: each record is judged alone (0014 §3).",
                      {"records": [b"\x00"], "v": 1}, ok(records=1))  # fmt: skip
    yield _frame_case(
        "too-many-records",
        "25 records, one more than MAX_SHARED_RECORDS.",
        {"records": [a] * 25, "v": 1},
        error("decode.bad-address-frame"),
    )
    yield _frame_case(
        "missing-version", "No `v`.", {"records": [a]}, error("decode.bad-address-frame")
    )
    yield _frame_case(
        "records-not-a-list",
        "`records` is one byte string.",
        {"records": a, "v": 1},
        error("decode.bad-address-frame"),
    )


def _dialback_case(name: str, description: str, message: str, value: Any,
                   expect: dict[str, Any]) -> Case:  # fmt: skip
    data = {"message": message, "frame_hex": canonical.encode(value).hex()}
    return Case("discovery", "dialback", name, description, data, expect)


def dialback_cases() -> Iterator[Case]:
    yield _dialback_case("request", "Dial me back on port 4001.", "request",
                         {"port": 4001, "v": 1}, ok(port=4001))  # fmt: skip
    yield _dialback_case("response-reached", "The server reached us on a new connection.",
                         "response", {"ok": True, "v": 1}, ok(reached=True))  # fmt: skip
    yield _dialback_case("response-not-reached", "The server could not reach us.",
                         "response", {"ok": False, "v": 1}, ok(reached=False))  # fmt: skip
    yield _dialback_case("port-zero", "Port 0 is no port.", "request",
                         {"port": 0, "v": 1}, error("decode.bad-dialback"))  # fmt: skip
    yield _dialback_case("port-too-large", "Port 65536.", "request",
                         {"port": 65536, "v": 1}, error("decode.bad-dialback"))  # fmt: skip
    yield _dialback_case("request-with-address", "A request naming an IP to dial: refused, "
                         "the server dials only the IP it sees (0014 §6).", "request",
                         {"ip": "192.0.2.1", "port": 4001, "v": 1},
                         error("decode.bad-dialback"))  # fmt: skip
    yield _dialback_case("ok-as-integer", "ok is 1, not true.", "response",
                         {"ok": 1, "v": 1}, error("decode.bad-dialback"))  # fmt: skip
    yield _dialback_case("version-2", "v is 2.", "request", {"port": 4001, "v": 2},
                         error("decode.bad-dialback"))  # fmt: skip
