"""The ledger over an in-memory store: appends, ingest, gaps, forks and freezing."""

from __future__ import annotations

import pytest

from ledger import merkle
from ledger.forkproof import verify_fork_proof
from ledger.log import Ledger
from ledger.store import MemoryLogStore
from protocol import kinds
from protocol.errors import RuleViolationError
from protocol.logstate import LogHead
from tests.factory import Author, seeded_key


def test_append_own_log_and_read_it_back() -> None:
    author = Author("lab")  # only used for keys and id
    ledger = Ledger(MemoryLogStore())
    inception = (
        kinds.INCEPTION,
        {"signing_key": author.signing.public, "recovery_key": author.recovery.public},
    )
    made = ledger.append(
        author.signing, author.network, author.id, [inception, ("note", {"text": "hi"})], 5
    )
    assert [e.seq for e in made] == [1, 2]
    head = ledger.head(author.network, author.id)
    assert head is not None and head.size == 2
    tree = ledger.tree(author.network, author.id)
    assert (
        tree.root() == merkle.MerkleTree.from_leaves(merkle.leaf_hash(e.raw) for e in made).root()
    )
    # The clock went backwards: the timestamp is clamped, never regresses.
    later = ledger.append(author.signing, author.network, author.id, [("note", {"text": "x"})], 1)
    assert later[0].timestamp_ms == 5


def test_ingest_is_idempotent_and_waits_for_gaps() -> None:
    author = Author("remote")
    for i in range(5):
        author.note(f"n{i}")
    ledger = Ledger(MemoryLogStore())
    raws = [e.raw for e in author.entries]
    report = ledger.ingest([raws[0], raws[1], raws[4]])
    assert len(report.accepted) == 2
    assert report.gaps == {(author.network, author.id): 5}
    report = ledger.ingest(raws)
    assert len(report.accepted) == 4 and report.duplicates == 2
    head = ledger.head(author.network, author.id)
    assert head is not None and head.size == 6


def test_bad_entries_are_rejected_and_nothing_of_them_is_stored() -> None:
    author = Author("rogue")
    author.note("fine")
    store = MemoryLogStore()
    ledger = Ledger(store)
    broken = bytearray(author.entries[1].raw)
    broken[-3] ^= 0xFF
    report = ledger.ingest([author.entries[0].raw, bytes(broken), b"\x00garbage"])
    assert len(report.accepted) == 1
    assert {e.code for _, e in report.rejected} <= {
        "verify.bad-signature",
        "decode.malformed",
        "decode.trailing-bytes",
        "decode.bad-field",
        "decode.non-canonical",
    }
    assert len(report.rejected) == 2
    assert store.read_entries(author.network, author.id, 1, 10) == [author.entries[0].raw]


def test_equivocation_becomes_a_fork_proof_and_freezes_the_author() -> None:
    honest = Author("forker")
    honest.note("one history")
    twin = Author("forker")  # same keys, same identity: a restored backup
    twin.clock_ms += 7
    twin.note("another history")
    assert honest.entries[1].id != twin.entries[1].id
    ledger = Ledger(MemoryLogStore())
    ledger.ingest([e.raw for e in honest.entries])
    report = ledger.ingest([twin.entries[1].raw])
    assert len(report.forks) == 1
    proof = report.forks[0]
    assert proof.position == 2
    assert verify_fork_proof(proof.raw).id == proof.id  # verifiable with no context
    assert ledger.is_frozen(honest.network, honest.id)
    honest.note("after the fork")
    report = ledger.ingest([honest.entries[-1].raw])
    assert [e.code for _, e in report.rejected] == ["rule.frozen-author"]
    # Another node learns of the fork from the proof alone and freezes too.
    other = Ledger(MemoryLogStore())
    other.add_fork_proof(proof.raw)
    assert other.is_frozen(honest.network, honest.id)
    with pytest.raises(RuleViolationError):
        other.append(honest.signing, honest.network, honest.id, [("note", {"text": "x"})], 1)


def test_a_rotated_away_key_cannot_frame_its_author() -> None:
    author = Author("rotator")
    old = author.signing
    author.rotate(seeded_key("rotator/new"))
    author.note("new key at seq 3")
    ledger = Ledger(MemoryLogStore())
    ledger.ingest([e.raw for e in author.entries])
    thief = Author("rotator")
    thief.entries = list(author.entries[:2])
    thief.signing = old
    thief.note("old key signs seq 3")
    report = ledger.ingest([thief.entries[-1].raw])
    assert report.forks == []
    assert [e.code for _, e in report.rejected] == ["verify.key-not-in-force"]


def test_state_survives_a_new_ledger_on_the_same_store() -> None:
    author = Author("persist")
    author.note("a")
    store = MemoryLogStore()
    Ledger(store).ingest([e.raw for e in author.entries])
    again = Ledger(store)
    head = again.head(author.network, author.id)
    assert isinstance(head, LogHead) and head.size == 2
