"""Signed entries and log validity (specs/0002-identities-and-entries.md)."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol import canonical, kinds
from protocol.entry import decode_entry, read_stored_entry
from protocol.errors import CommonsError, DecodeError, VerificationError
from protocol.logstate import LogHead, verify_next
from tests.factory import Author, seeded_key


def fold(author: Author) -> LogHead:
    head = LogHead(author.network, author.id)
    for entry in author.entries:
        head = verify_next(head, decode_entry(entry.raw))
    return head


def make_log(notes: int = 3) -> Author:
    author = Author("alice")
    for i in range(notes):
        author.note(f"note {i}")
    return author


def test_a_well_formed_log_verifies() -> None:
    author = make_log(5)
    head = fold(author)
    assert head.size == 6
    assert head.head_id == author.entries[-1].id
    assert head.keys is not None and head.keys.signing_key == author.signing.public


@given(st.data())
@settings(max_examples=300)
def test_any_mutation_of_a_signed_entry_is_rejected(data: st.DataObject) -> None:
    entry = make_log(1).entries[-1]
    raw = bytearray(entry.raw)
    choice = data.draw(st.sampled_from(["flip", "truncate", "extend", "replace"]))
    if choice == "flip":
        index = data.draw(st.integers(0, len(raw) - 1))
        raw[index] ^= 1 << data.draw(st.integers(0, 7))
    elif choice == "truncate":
        del raw[data.draw(st.integers(0, len(raw) - 1)) :]
    elif choice == "extend":
        raw += data.draw(st.binary(min_size=1, max_size=8))
    else:
        index = data.draw(st.integers(0, len(raw) - 1))
        raw[index] = data.draw(st.integers(0, 255).filter(lambda b: b != raw[index]))
    with pytest.raises(CommonsError) as err:
        decode_entry(bytes(raw))
    assert isinstance(err.value, DecodeError | VerificationError)


@given(st.binary(max_size=400))
@settings(max_examples=2000)
def test_random_bytes_never_raise_anything_but_commons_errors(data: bytes) -> None:
    with contextlib.suppress(CommonsError):
        decode_entry(data)


@given(st.integers(min_value=0, max_value=2), st.integers(min_value=0, max_value=2))
def test_replaying_an_entry_elsewhere_in_the_log_is_rejected(src: int, dst: int) -> None:
    author = make_log(3)
    entries = list(author.entries)
    if src == dst:
        return
    entries[dst + 1] = entries[src + 1]
    head = LogHead(author.network, author.id)
    with pytest.raises(VerificationError):
        for entry in entries:
            head = verify_next(head, entry)


def test_rotation_moves_the_key_and_the_old_key_is_refused() -> None:
    author = make_log(1)
    old = author.signing
    author.rotate(seeded_key("alice/second"))
    author.note("signed by the new key")
    head = fold(author)
    assert head.keys is not None and head.keys.signing_key == author.signing.public
    author.signing = old
    author.note("the old key tries again")
    with pytest.raises(VerificationError) as err:
        fold(author)
    assert err.value.code == "verify.key-not-in-force"


def test_recovery_key_revokes_a_stolen_key() -> None:
    author = make_log(2)
    thief_from = len(author.entries) + 1
    author.note("written by a thief with the stolen key")
    author.note("and again")
    assert author.key_event is not None
    author.append(
        kinds.REVOCATION,
        {
            "prev_key_event": author.key_event,
            "revoke_from_seq": thief_from,
            "next_key": seeded_key("alice/fresh").public,
        },
        key=author.recovery,
    )
    author.signing = seeded_key("alice/fresh")
    author.note("back in control")
    head = fold(author)
    assert head.revoked == ((thief_from, thief_from + 2),)
    assert [head.is_revoked(s) for s in range(1, head.size + 1)] == [
        False,
        False,
        False,
        True,
        True,
        False,
        False,
    ]
    # The stolen key can no longer sign.
    author.signing = Author("alice").signing
    author.note("thief after revocation")
    with pytest.raises(VerificationError) as err:
        fold(author)
    assert err.value.code == "verify.key-not-in-force"


def test_unknown_kinds_and_invalid_bodies_still_join_the_log() -> None:
    author = make_log(0)
    author.append("design.v9-from-the-future", {"anything": [1, 2, 3]})
    author.append(kinds.NOTE, {"text": 42})
    head = fold(author)
    assert head.size == 3
    statuses = [kinds.check_body(e.kind, e.body) for e in author.entries[1:]]
    assert [s.code for s in statuses] == ["body.unknown-kind", "body.invalid"]


def test_entry_round_trip_is_byte_exact() -> None:
    entry = make_log(1).entries[-1]
    again = decode_entry(entry.raw)
    assert again == entry
    outer = canonical.decode(entry.raw)
    assert outer[0] == entry.payload


def test_reading_stored_bytes_checks_form_but_not_the_signature_again() -> None:
    entry = make_log(1).entries[-1]
    assert read_stored_entry(entry.raw) == entry
    forged = bytearray(entry.raw)
    forged[-1] ^= 1  # only ledger verify / decode_entry catch a bad signature
    assert read_stored_entry(bytes(forged)).id != entry.id
    with pytest.raises(VerificationError):
        decode_entry(bytes(forged))
    with pytest.raises(DecodeError):
        read_stored_entry(entry.raw + b"\x00")


@given(st.binary(max_size=400))
@settings(max_examples=1000)
def test_stored_reader_on_random_bytes_raises_only_commons_errors(data: bytes) -> None:
    with contextlib.suppress(CommonsError):
        read_stored_entry(data)
