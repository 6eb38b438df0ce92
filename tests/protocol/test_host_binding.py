"""protocol.host_binding: an identity's binding of a host key (specs/0014 §7.1) — round
trips, the host key read back from a real libp2p peer id, mutations end in typed errors,
the encoders refuse what the decoders would."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from node.store.peerid import peer_id_from_seed
from protocol import canonical
from protocol.errors import CommonsError, DecodeError, LocalMisuseError, VerificationError
from protocol.host_binding import (
    MAX_HOST_BINDING_BYTES,
    decode_host_binding,
    decode_membership_request,
    decode_membership_response,
    encode_membership_request,
    encode_membership_response,
    sign_host_binding,
)
from protocol.keys import SigningKey
from protocol.peer_ids import host_key_of, peer_id_of

NETWORK = bytes(range(32))
IDENTITY = bytes(range(32, 64))
KEY = SigningKey(bytes(range(1, 33)))
HOST = SigningKey(bytes(range(2, 34)))


def test_a_binding_round_trips_and_names_its_identity_and_key() -> None:
    signed = sign_host_binding(KEY, IDENTITY, NETWORK, HOST.public)
    assert len(signed) <= MAX_HOST_BINDING_BYTES
    binding = decode_host_binding(signed, NETWORK, HOST.public)
    assert (binding.identity, binding.key, binding.host) == (IDENTITY, KEY.public, HOST.public)
    assert decode_membership_request(encode_membership_request(signed)) == signed


def test_the_host_key_is_read_back_from_libp2ps_own_peer_id() -> None:
    seed = bytes(range(5, 37))
    assert peer_id_of(host_key_of(peer_id_from_seed(seed))) == peer_id_from_seed(seed)


def test_a_binding_of_another_host_or_network_is_refused() -> None:
    signed = sign_host_binding(KEY, IDENTITY, NETWORK, HOST.public)
    with pytest.raises(VerificationError) as e:
        decode_host_binding(signed, NETWORK, KEY.public)
    assert e.value.code == "verify.wrong-host"
    with pytest.raises(VerificationError) as e:
        decode_host_binding(signed, bytes(32), HOST.public)
    assert e.value.code == "verify.wrong-network"


@settings(max_examples=300)
@given(st.data())
def test_every_changed_byte_ends_in_a_typed_error_or_the_same_binding(data: st.DataObject) -> None:
    signed = bytearray(sign_host_binding(KEY, IDENTITY, NETWORK, HOST.public))
    at = data.draw(st.integers(0, len(signed) - 1))
    signed[at] ^= data.draw(st.integers(1, 255))
    try:
        binding = decode_host_binding(bytes(signed), NETWORK, HOST.public)
    except (DecodeError, VerificationError):
        return
    assert binding.identity == IDENTITY  # a flipped byte that still verifies changed nothing


def test_encoders_refuse_what_decoders_would() -> None:
    with pytest.raises(LocalMisuseError):
        sign_host_binding(KEY, IDENTITY[:31], NETWORK, HOST.public)
    with pytest.raises(LocalMisuseError):
        encode_membership_request(bytes(MAX_HOST_BINDING_BYTES + 1))
    assert decode_membership_response(encode_membership_response(True)) is True
    bads: list[object] = [{"relay": True}, {"relay": "yes", "v": 1}, [], {"binding": b"", "v": 1}]
    for bad in bads:
        with pytest.raises(CommonsError) as e:
            decode_membership_response(bad)
        assert e.value.code == "decode.bad-membership-frame"
    with pytest.raises(DecodeError) as e:
        host_key_of("not-base58-0OIl")
    assert e.value.code == "decode.bad-peer-id"
    assert canonical.decode(canonical.encode(encode_membership_response(False))) == {
        "relay": False, "v": 1}  # fmt: skip
