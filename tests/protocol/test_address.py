"""protocol.address: signed address records (specs/0014 §2) — round trips, every
mutation ends in a typed error, the encoder refuses what the decoder would."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from node.store.peerid import peer_id_from_seed
from protocol import canonical
from protocol.address import (
    MAX_ADDRESS_RECORD_BYTES,
    MAX_CLOCK_SKEW_MS,
    MAX_RECORD_ADDRS,
    check_multiaddr,
    decode_address_frame,
    decode_address_record,
    decode_dialback_request,
    decode_dialback_response,
    encode_address_frame,
    encode_dialback_request,
    encode_dialback_response,
    judge_records,
    sign_address_record,
)
from protocol.errors import CommonsError, DecodeError, LocalMisuseError, VerificationError
from protocol.keys import SigningKey
from protocol.peer_ids import peer_id_of

NETWORK = bytes(range(32))
KEY = SigningKey(bytes(range(1, 33)))

ip4 = st.builds(lambda n, p: f"/ip4/{ipaddress.IPv4Address(n)}/tcp/{p}",
                st.integers(1, 2**32 - 1), st.integers(1, 65535))  # fmt: skip
ip6 = st.builds(lambda n, p: f"/ip6/{ipaddress.IPv6Address(n)}/tcp/{p}",
                st.integers(1, 2**128 - 1), st.integers(1, 65535))  # fmt: skip
dns = st.builds(lambda h, p: f"/dns4/{h}.example.org/tcp/{p}",
                st.from_regex(r"[a-z][a-z0-9]{0,20}", fullmatch=True),
                st.integers(1, 65535))  # fmt: skip
addresses = st.lists(st.one_of(ip4, ip6, dns), min_size=1, max_size=MAX_RECORD_ADDRS, unique=True)


@given(addresses, st.integers(0, 2**53))
@settings(max_examples=200)
def test_round_trip(addrs: list[str], seq_ms: int) -> None:
    signed = sign_address_record(KEY, NETWORK, addrs, seq_ms)
    record = decode_address_record(signed, NETWORK, seq_ms)
    assert record.addrs == tuple(sorted(addrs))
    assert (record.seq_ms, record.peer, record.signed) == (seq_ms, KEY.public, signed)
    assert record.peer_id == peer_id_of(KEY.public)
    assert len(signed) <= MAX_ADDRESS_RECORD_BYTES


@given(st.binary(max_size=300), st.integers(0, 400))
@settings(max_examples=300)
def test_any_mutation_is_a_typed_error_or_the_same_record(noise: bytes, at: int) -> None:
    signed = sign_address_record(KEY, NETWORK, ["/ip4/192.0.2.1/tcp/4001"], 5)
    mutated = signed[:at] + noise + signed[at + len(noise) :]
    try:
        record = decode_address_record(mutated, NETWORK, 5)
    except (DecodeError, VerificationError):
        return
    assert mutated == signed and record.addrs == ("/ip4/192.0.2.1/tcp/4001",)


@given(st.text(max_size=200))
def test_the_address_grammar_is_total(text: str) -> None:
    try:
        assert check_multiaddr(text) == text
    except DecodeError as e:
        assert e.code == "decode.bad-address"


@pytest.mark.parametrize(
    ("addrs", "seq_ms", "network"),
    [
        ([], 1, NETWORK),
        ([f"/ip4/192.0.2.{i}/tcp/1" for i in range(MAX_RECORD_ADDRS + 1)], 1, NETWORK),
        (["/ip4/0.0.0.0/tcp/4001"], 1, NETWORK),
        (["/ip4/192.0.2.1/tcp/4001"], -1, NETWORK),
        (["/ip4/192.0.2.1/tcp/4001"], 1, bytes(31)),
    ],
)
def test_the_encoder_refuses_what_the_decoder_would(
    addrs: list[str], seq_ms: int, network: bytes
) -> None:
    with pytest.raises(LocalMisuseError) as info:
        sign_address_record(KEY, network, addrs, seq_ms)
    assert info.value.code == "misuse.bad-argument"


def test_the_clock_and_the_network_are_checked() -> None:
    signed = sign_address_record(KEY, NETWORK, ["/ip4/192.0.2.1/tcp/4001"], 10**12)
    with pytest.raises(VerificationError) as info:
        decode_address_record(signed, NETWORK, 10**12 - MAX_CLOCK_SKEW_MS - 1)
    assert info.value.code == "verify.address-from-future"
    with pytest.raises(VerificationError) as info:
        decode_address_record(signed, bytes(32), 10**12)
    assert info.value.code == "verify.wrong-network"


def test_records_in_a_frame_are_judged_alone() -> None:
    good = sign_address_record(KEY, NETWORK, ["/ip4/192.0.2.1/tcp/4001"], 1)
    frame = canonical.decode(canonical.encode(encode_address_frame([good, b"\x01", good[:-1]])))
    kept, refused = judge_records(decode_address_frame(frame), NETWORK, 1)
    assert [r.signed for r in kept] == [good]
    assert all(isinstance(e, CommonsError) for e in refused) and len(refused) == 2


def test_libp2p_agrees_on_the_peer_id() -> None:
    assert peer_id_of(KEY.public) == peer_id_from_seed(KEY.seed)


@given(st.integers(1, 65535), st.booleans())
def test_dialback_messages_round_trip(port: int, reached: bool) -> None:
    request = canonical.decode(canonical.encode(encode_dialback_request(port)))
    assert decode_dialback_request(request) == port
    response = canonical.decode(canonical.encode(encode_dialback_response(reached)))
    assert decode_dialback_response(response) is reached


@given(st.dictionaries(st.sampled_from(["ok", "port", "v", "ip"]), st.integers(-2, 70000)))
def test_any_dialback_map_is_a_port_or_a_typed_error(value: dict[str, int]) -> None:
    try:
        port = decode_dialback_request(value)
    except DecodeError as e:
        assert e.code == "decode.bad-dialback"
    else:
        assert value == {"port": port, "v": 1}
