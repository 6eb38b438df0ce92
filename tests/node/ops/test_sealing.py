"""Sealed files (specs/0011-capabilities.md §6): HPKE to each recipient, STREAM payload."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography.hazmat.bindings._rust import openssl as rust_openssl
from cryptography.hazmat.primitives import hpke
from cryptography.hazmat.primitives.asymmetric import x25519
from hypothesis import given, settings
from hypothesis import strategies as st

from node.ops import sealing
from node.store.blobs import BlobStore
from node.store.home import GOVERNANCE_FILE, NodeHome
from protocol.errors import (
    CommonsError,
    DecodeError,
    LocalMisuseError,
    RuleViolationError,
    VerificationError,
)
from protocol.ids import id_from_text
from protocol.sealed import (
    CHUNK_BYTES,
    HYBRID_SUITE,
    INFO,
    MAGIC,
    X25519_SUITE,
    SealPrivateKey,
    generate_key,
    key_id,
    open_sealed,
    read_header,
    seal,
)

KEYS = {suite: [generate_key(suite) for _ in range(3)] for suite in (X25519_SUITE, HYBRID_SUITE)}


def test_hpke_matches_rfc_9180_a_2_1() -> None:
    """DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, ChaCha20-Poly1305, base mode: the first
    encryption of RFC 9180 appendix A.2.1 opens with its recipient key (the suite the
    x25519 sealed files use; aad is only reachable through the binding's helper)."""
    suite = hpke.Suite(hpke.KEM.X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.CHACHA20_POLY1305)
    sk = x25519.X25519PrivateKey.from_private_bytes(
        bytes.fromhex("8057991eef8f1f1af18f4a9491d16a1ce333f695d4db8e38da75975c4478e0fb")
    )
    enc = bytes.fromhex("1afa08d3dec047a643885163f1180476fa7ddb54c6a8029ea33f95796bf2ac4a")
    ct = bytes.fromhex(
        "1c5250d8034ec2b784ba2cfd69dbdb8af406cfe3ff938e131f0def8c8b60b4db21993c62ce81883d2dd1b51a28"
    )
    info = bytes.fromhex("4f6465206f6e2061204772656369616e2055726e")
    aad = b"Count-0"
    got = rust_openssl.hpke._decrypt_with_aad(suite, enc + ct, sk, info, aad)
    assert got == b"Beauty is truth, truth beauty"
    assert (
        sk.public_key().public_bytes_raw().hex()
        == "4310ee97d88cc1f088a5576c77ab0cf5c3ac797f3d95139c6c84b5429c59662a"
    )
    assert INFO == b"fabcommons/sealed-file/v1"


@pytest.mark.parametrize("suite", [X25519_SUITE, HYBRID_SUITE])
@pytest.mark.parametrize("size", [0, 1, CHUNK_BYTES - 1, CHUNK_BYTES, 2 * CHUNK_BYTES + 7])
def test_both_recipients_open_and_a_third_cannot(suite: str, size: int) -> None:
    customer, lab, third = KEYS[suite]
    plaintext = bytes(i % 251 for i in range(size))
    sealed = seal(plaintext, [customer.public(), lab.public()])
    assert open_sealed(sealed, customer) == plaintext
    assert open_sealed(sealed, lab) == plaintext
    with pytest.raises(LocalMisuseError) as e:
        open_sealed(sealed, third)
    assert e.value.code == "misuse.not-a-recipient"
    header = read_header(sealed)
    assert {kid for kid, _ in header.recipients} == {
        key_id(customer.public()),
        key_id(lab.public()),
    }


def test_public_keys_have_the_advertised_sizes() -> None:
    assert len(KEYS[X25519_SUITE][0].public().public_key) == 32
    assert len(KEYS[HYBRID_SUITE][0].public().public_key) == 1216
    again = SealPrivateKey(HYBRID_SUITE, KEYS[HYBRID_SUITE][0].private_bytes)
    assert again.public() == KEYS[HYBRID_SUITE][0].public()


def test_another_suite_is_not_a_recipient() -> None:
    sealed = seal(b"part", [KEYS[X25519_SUITE][0].public()])
    with pytest.raises(LocalMisuseError):
        open_sealed(sealed, KEYS[HYBRID_SUITE][0])


def test_sealing_needs_distinct_keys_of_one_suite() -> None:
    a, b = KEYS[X25519_SUITE][0], KEYS[HYBRID_SUITE][0]
    for recipients in ([], [a.public(), b.public()], [a.public(), a.public()]):
        with pytest.raises(LocalMisuseError) as e:
            seal(b"x", recipients)
        assert e.value.code == "misuse.bad-recipients"


SEALED = seal(
    bytes(range(256)) * 300, [KEYS[X25519_SUITE][0].public(), KEYS[X25519_SUITE][1].public()]
)


@settings(max_examples=150, deadline=None)
@given(st.integers(0, len(SEALED) - 1), st.integers(0, 7))
def test_every_bit_flip_is_a_typed_error(at: int, bit: int) -> None:
    tampered = bytearray(SEALED)
    tampered[at] ^= 1 << bit
    with pytest.raises(CommonsError) as e:
        open_sealed(bytes(tampered), KEYS[X25519_SUITE][0])
    assert isinstance(e.value, DecodeError | VerificationError | LocalMisuseError)


def test_tampering_with_the_payload_is_detected() -> None:
    header = read_header(SEALED)
    for at in (header.payload_offset, len(SEALED) - 1, header.payload_offset + CHUNK_BYTES + 20):
        tampered = bytearray(SEALED)
        tampered[at] ^= 0x40
        with pytest.raises(VerificationError) as e:
            open_sealed(bytes(tampered), KEYS[X25519_SUITE][1])
        assert e.value.code == "verify.sealed-tampered"


def test_truncation_and_extension_are_detected() -> None:
    step = CHUNK_BYTES + 16
    header = read_header(SEALED)
    whole_chunks = SEALED[: header.payload_offset + step]
    for altered in (whole_chunks, SEALED + SEALED[-step:], SEALED[:-1]):
        with pytest.raises(VerificationError):
            open_sealed(altered, KEYS[X25519_SUITE][0])


@settings(max_examples=200)
@given(st.binary(max_size=300))
def test_garbage_is_a_decode_error(data: bytes) -> None:
    for candidate in (data, MAGIC + data):
        with pytest.raises(DecodeError):
            read_header(candidate)


def test_a_node_seals_under_the_federations_blob_rule(tmp_path: Path) -> None:
    """Sealing refuses a blob above the federation's max_blob_bytes (which the node writes
    to governance.json), as peers would refuse to fetch it; below it, the blob opens."""
    home = NodeHome(tmp_path / "lab")
    home.create_identity()
    rule_bytes = 4 * CHUNK_BYTES
    (home.path / GOVERNANCE_FILE).write_text(json.dumps({"rules": {"max_blob_bytes": rule_bytes}}))
    lab = KEYS[X25519_SUITE][1].public()
    with pytest.raises(RuleViolationError) as e:
        sealing.seal_bytes_to_blob(home, bytes(rule_bytes), lab)
    assert e.value.code == "rule.blob-too-large"
    assert not any(p.is_file() for p in home.blobs.rglob("*"))
    small = sealing.seal_bytes_to_blob(home, b"a job file", lab)
    assert sealing.open_blob_bytes(home, id_from_text(small["blob"])) == b"a job file"


def test_a_held_sealed_blob_changed_on_disk_is_refused_before_it_is_opened(
    tmp_path: Path,
) -> None:
    """A job file or a message is opened only if its bytes still hash to its id: a bit
    changed where it is stored is verify.blob-hash-mismatch, never a plaintext."""
    home = NodeHome(tmp_path / "lab")
    home.create_identity()
    made = sealing.seal_bytes_to_blob(home, b"a job file", KEYS[X25519_SUITE][1].public())
    blob = id_from_text(made["blob"])
    assert sealing.open_blob_bytes(home, blob) == b"a job file"
    path = BlobStore(home.blobs).path_of(blob)
    data = bytearray(path.read_bytes())
    data[-1] ^= 1
    path.write_bytes(bytes(data))
    with pytest.raises(VerificationError) as e:
        sealing.open_blob_bytes(home, blob)
    assert e.value.code == "verify.blob-hash-mismatch"
