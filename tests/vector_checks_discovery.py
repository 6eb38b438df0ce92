"""Checkers of the discovery area of the conformance vectors (specs/vectors/discovery/).

discovery/address-record  input.signed_hex, network_hex, now_ms -> protocol.address.
                          decode_address_record; expect peer_id, addrs, seq_ms; a valid
                          record keeps its signed bytes and travels in a frame unchanged.
discovery/address-frame   input.frame_hex -> decode_address_frame; expect records (a count).
discovery/dialback        input.message, frame_hex -> decode_dialback_request (port) or
                          decode_dialback_response (reached); encoders give the value back.
discovery/host-binding    input.signed_hex, network_hex, peer_id -> protocol.host_binding.
                          decode_host_binding(host_key_of(peer_id)); expect identity_hex, key_hex.
discovery/membership      input.message, frame_hex -> decode_membership_request (binding_hex)
                          or decode_membership_response (relay); encoders give the value back.
"""

from __future__ import annotations

from typing import Any

from protocol import canonical
from protocol.address import (
    MAX_ADDRESS_FRAME_BYTES,
    MAX_DIALBACK_FRAME_BYTES,
    decode_address_frame,
    decode_address_record,
    decode_dialback_request,
    decode_dialback_response,
    encode_address_frame,
    encode_dialback_request,
    encode_dialback_response,
)
from protocol.host_binding import (
    MAX_MEMBERSHIP_FRAME_BYTES,
    HostBinding,
    decode_host_binding,
    decode_membership_request,
    decode_membership_response,
    encode_membership_request,
    encode_membership_response,
)
from protocol.peer_ids import host_key_of
from tests.vector_support import Checker, expect_error, same


def check_address_record(data: dict[str, Any], expect: dict[str, Any]) -> None:
    signed = bytes.fromhex(data["signed_hex"])
    network = bytes.fromhex(data["network_hex"])
    now_ms: int = data["now_ms"]
    if not expect["ok"]:
        expect_error(expect, lambda: decode_address_record(signed, network, now_ms))
        return
    record = decode_address_record(signed, network, now_ms)
    got = {"ok": True, "peer_id": record.peer_id, "addrs": list(record.addrs),
           "seq_ms": record.seq_ms}  # fmt: skip
    assert same(got, expect)
    assert record.signed == signed
    assert decode_address_frame(encode_address_frame([signed])) == [signed]


DISCOVERY_CHECKERS: dict[tuple[str, str], Checker] = {
    ("discovery", "address-record"): check_address_record,
}


def check_address_frame(data: dict[str, Any], expect: dict[str, Any]) -> None:
    value = canonical.decode(bytes.fromhex(data["frame_hex"]), max_bytes=MAX_ADDRESS_FRAME_BYTES)
    if not expect["ok"]:
        expect_error(expect, lambda: decode_address_frame(value))
        return
    records = decode_address_frame(value)
    assert same({"ok": True, "records": len(records)}, expect)
    assert decode_address_frame(encode_address_frame(records)) == records


DISCOVERY_CHECKERS[("discovery", "address-frame")] = check_address_frame


def check_dialback(data: dict[str, Any], expect: dict[str, Any]) -> None:
    value = canonical.decode(bytes.fromhex(data["frame_hex"]), max_bytes=MAX_DIALBACK_FRAME_BYTES)
    request = data["message"] == "request"
    decode = decode_dialback_request if request else decode_dialback_response
    if not expect["ok"]:
        expect_error(expect, lambda: decode(value))
        return
    if request:
        port = decode_dialback_request(value)
        assert same({"ok": True, "port": port}, expect)
        assert encode_dialback_request(port) == value
    else:
        reached = decode_dialback_response(value)
        assert same({"ok": True, "reached": reached}, expect)
        assert encode_dialback_response(reached) == value


DISCOVERY_CHECKERS[("discovery", "dialback")] = check_dialback


def check_host_binding(data: dict[str, Any], expect: dict[str, Any]) -> None:
    signed = bytes.fromhex(data["signed_hex"])
    network = bytes.fromhex(data["network_hex"])

    def decode() -> HostBinding:
        return decode_host_binding(signed, network, host_key_of(data["peer_id"]))

    if not expect["ok"]:
        expect_error(expect, decode)
        return
    binding = decode()
    got = {"ok": True, "identity_hex": binding.identity.hex(), "key_hex": binding.key.hex()}
    assert same(got, expect)
    assert binding.signed == signed


DISCOVERY_CHECKERS[("discovery", "host-binding")] = check_host_binding


def check_membership(data: dict[str, Any], expect: dict[str, Any]) -> None:
    value = canonical.decode(bytes.fromhex(data["frame_hex"]), max_bytes=MAX_MEMBERSHIP_FRAME_BYTES)
    request = data["message"] == "request"
    decode = decode_membership_request if request else decode_membership_response
    if not expect["ok"]:
        expect_error(expect, lambda: decode(value))
        return
    if request:
        signed = decode_membership_request(value)
        assert same({"ok": True, "binding_hex": signed.hex()}, expect)
        assert encode_membership_request(signed) == value
    else:
        relay = decode_membership_response(value)
        assert same({"ok": True, "relay": relay}, expect)
        assert encode_membership_response(relay) == value


DISCOVERY_CHECKERS[("discovery", "membership")] = check_membership
