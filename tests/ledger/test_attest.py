"""Checkpoint-attested ranges (specs/0003 §4.2) and the proof against an author who
signed a root over an entry whose signature fails (specs/0004 §2.1, "invalid-entry").

The pure rule (`ledger.attest.verify_range_root`) is checked on random logs: the
held tree plus the range gives the checkpoint root (or is consistent with it), and
any changed leaf is refused. The ledger: one signature check commits a range, its
entries wait unchecked, `settle_checks` records their checks, a bad one freezes its
author with a proof anyone can verify, and `verify_held` checks before evidence use.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger import attest, merkle
from ledger.audit import audit
from ledger.checkpoint import Checkpoint, sign_checkpoint
from ledger.forkproof import KIND_INVALID_ENTRY, encode_fork_proof, verify_fork_proof
from ledger.log import Ledger, checkpoint_side
from ledger.store import FAILED, UNCHECKED, Batch, MemoryLogStore, stored_entry
from protocol.entry import Entry, check_signatures, read_stored_entry
from protocol.errors import CommonsError, ProofError, VerificationError
from protocol.logstate import LogHead, verify_next
from tests.factory import NETWORK, Author, author_with_bad_entry, badly_signed_note

SETTINGS = settings(max_examples=60, deadline=None)


@st.composite
def split_logs(draw: st.DrawFn) -> tuple[list[bytes], int, int, int]:
    """Leaf data of a random log, how many are held, where the range ends, and the
    checkpoint's size (at or beyond the range's end)."""
    leaves = draw(st.lists(st.binary(min_size=0, max_size=8), min_size=1, max_size=70))
    end = draw(st.integers(1, len(leaves)))
    held = draw(st.integers(0, end - 1))
    size = draw(st.integers(end, len(leaves)))
    return leaves, held, end, size


def _rule(
    data: list[bytes], held: int, end: int, size: int
) -> tuple[merkle.MerkleTree, list[bytes], Checkpoint, list[bytes]]:
    hashes = [merkle.leaf_hash(d) for d in data]
    full = merkle.MerkleTree.from_leaves(hashes[:size])
    cp = Checkpoint.of_log(NETWORK, b"\x01" * 32, size, full.root())
    proof = full.consistency_proof(end, size) if end < size else []
    return merkle.MerkleTree.from_leaves(hashes[:held]), hashes[held:end], cp, proof


@SETTINGS
@given(split_logs())
def test_a_range_that_gives_the_checkpoint_root_is_accepted(
    case: tuple[list[bytes], int, int, int],
) -> None:
    held, leaves, cp, proof = _rule(*case)
    before = held.root()
    attest.verify_range_root(held, leaves, cp, proof)
    assert held.root() == before  # the held tree is left as it was


@SETTINGS
@given(split_logs(), st.data())
def test_any_changed_leaf_is_refused(
    case: tuple[list[bytes], int, int, int], data: st.DataObject
) -> None:
    held, leaves, cp, proof = _rule(*case)
    at = data.draw(st.integers(0, len(leaves) - 1))
    changed = list(leaves)
    changed[at] = merkle.leaf_hash(b"changed" + leaves[at])
    with pytest.raises((VerificationError, ProofError)) as refused:
        attest.verify_range_root(held, changed, cp, proof)
    assert refused.value.code in ("verify.checkpoint-mismatch", "proof.root-mismatch")


def test_only_key_events_are_checked_at_once() -> None:
    author = Author("attest-keys")
    author.note("one")
    bad = badly_signed_note(author, "two")
    inception = author.entries[0]
    flipped = inception.raw[:-1] + bytes([inception.raw[-1] ^ 1])
    bad_inception = read_stored_entry(flipped)
    verdicts = attest.check_key_events([inception, bad, bad_inception])
    assert verdicts[0] is None and verdicts[1] is None
    assert isinstance(verdicts[2], CommonsError) and verdicts[2].code == "verify.bad-signature"


# -- the ledger ------------------------------------------------------------------------


def served(author: Author) -> tuple[list[bytes], bytes]:
    """The author's entries and its checkpoint over all of them, as a peer serves them."""
    raws = [e.raw for e in author.entries]
    root = merkle.MerkleTree.from_leaves(merkle.leaf_hash(r) for r in raws).root()
    note = sign_checkpoint(author.signing, NETWORK, author.id, len(raws), root).text
    return raws, note


def test_a_range_is_committed_with_one_check_and_waits_unchecked() -> None:
    author = author_with_bad_entry("attest-good", bad_at=0)
    raws, note = served(author)
    ledger = Ledger(MemoryLogStore())
    calls: list[int] = []

    def counted(entries: Sequence[Entry]) -> list[CommonsError | None]:
        calls.append(len(entries))
        return check_signatures(entries)

    ledger.check_signatures = counted
    ledger.ingest_range(NETWORK, author.id, raws, note, [])
    assert calls == []  # not one entry's signature went through the full check
    assert ledger.store.count_unchecked() == len(raws) - 1  # the inception was checked
    assert ledger.store.check_state(NETWORK, author.id, 1) is None
    entries = ledger.unchecked_entries(100)
    settled = ledger.settle_checks(entries, check_signatures(entries))
    assert (settled.checked, settled.failed, settled.proofs) == (len(raws) - 1, 0, [])
    assert ledger.store.count_unchecked() == 0


def test_a_range_that_misses_the_root_is_refused_and_nothing_is_kept() -> None:
    author = author_with_bad_entry("attest-mismatch", bad_at=0)
    raws, _ = served(author)
    other = Author("attest-mismatch")  # the same keys, another history
    while len(other.entries) < len(raws):
        other.note(f"other {len(other.entries)}")
    _, note = served(other)
    ledger = Ledger(MemoryLogStore())
    with pytest.raises(VerificationError) as refused:
        ledger.ingest_range(NETWORK, author.id, raws, note, [])
    assert refused.value.code == "verify.checkpoint-mismatch"
    assert ledger.head(NETWORK, author.id) is None and ledger.store.count_unchecked() == 0


def test_a_bad_signature_under_a_valid_checkpoint_yields_the_proof_and_freezes() -> None:
    author = author_with_bad_entry("attest-bad", bad_at=6)
    raws, note = served(author)
    ledger = Ledger(MemoryLogStore())
    assert len(ledger.ingest_range(NETWORK, author.id, raws, note, [])) == len(raws)
    assert not ledger.is_frozen(NETWORK, author.id)
    entries = ledger.unchecked_entries(100)
    settled = ledger.settle_checks(entries, check_signatures(entries))
    assert (settled.checked, settled.failed) == (len(raws) - 2, 1)
    [proof] = settled.proofs
    assert proof.kind == KIND_INVALID_ENTRY and proof.position == 6
    assert ledger.is_frozen(NETWORK, author.id)
    assert ledger.store.check_state(NETWORK, author.id, 6) == FAILED
    again = verify_fork_proof(proof.raw, checkpoint_verifier=checkpoint_side)
    assert again.id == proof.id
    # another node takes it from a peer, verifies it, freezes the author
    other = Ledger(MemoryLogStore())
    assert other.add_fork_proof(proof.raw) is not None
    assert other.is_frozen(NETWORK, author.id)
    with pytest.raises(VerificationError) as refused:
        ledger.verify_held(NETWORK, author.id, 6)
    assert refused.value.code == "verify.signed-invalid-entry"
    # `fabnode ledger verify` accepts the proven-invalid entry, and no other bad one
    assert audit(ledger.store).errors == []


def test_an_unchecked_entry_is_checked_before_it_is_proven_alone() -> None:
    author = author_with_bad_entry("attest-prove", bad_at=6)
    raws, note = served(author)
    ledger = Ledger(MemoryLogStore())
    ledger.ingest_range(NETWORK, author.id, raws, note, [])
    good_id = author.entries[4].id
    assert ledger.store.check_state(NETWORK, author.id, 5) == UNCHECKED
    assert ledger.prove(good_id)["entry_hex"] == raws[4].hex()  # checked now, then proven
    assert ledger.store.check_state(NETWORK, author.id, 5) is None
    with pytest.raises(VerificationError) as refused:
        ledger.prove(author.entries[5].id)
    assert refused.value.code == "verify.signed-invalid-entry"
    assert ledger.is_frozen(NETWORK, author.id)


def test_a_failure_no_held_checkpoint_covers_waits_for_one() -> None:
    author = author_with_bad_entry("attest-later", n=12, bad_at=3)
    raws, note = served(author)
    tree = merkle.MerkleTree.from_leaves(merkle.leaf_hash(r) for r in raws)
    ledger = Ledger(MemoryLogStore())
    ledger.ingest_range(NETWORK, author.id, raws[:5], note, tree.consistency_proof(5, 12))
    entries = ledger.unchecked_entries(100)
    settled = ledger.settle_checks(entries, check_signatures(entries))
    assert (settled.checked, settled.failed, settled.proofs) == (3, 0, [])
    assert ledger.store.count_unchecked() == 1  # seq 3 waits: no checkpoint within 5 yet
    ledger.ingest_range(NETWORK, author.id, raws[5:], note, [])
    entries = ledger.unchecked_entries(100)
    settled = ledger.settle_checks(entries, check_signatures(entries))
    assert settled.failed == 1 and settled.proofs[0].position == 3


def test_a_proof_whose_entry_signature_holds_is_refused() -> None:
    author = author_with_bad_entry("attest-false", bad_at=0)
    raws, note = served(author)
    store = MemoryLogStore()
    head = LogHead(NETWORK, author.id)
    for entry in author.entries:
        head = verify_next(head, entry)
    store.commit(Batch(heads=[head], entries=[stored_entry(e) for e in author.entries]))
    ledger = Ledger(store)
    ledger.add_checkpoint(note)
    entry = author.entries[4]
    inclusion = ledger.tree(NETWORK, author.id).inclusion_proof(4, len(raws))
    side = attest.encode_invalid_entry_side(entry.raw, inclusion)
    events = [author.entries[0].raw]
    raw = encode_fork_proof(KIND_INVALID_ENTRY, NETWORK, author.id, note, side, events)
    with pytest.raises(VerificationError) as refused:
        verify_fork_proof(raw, checkpoint_verifier=checkpoint_side)
    assert refused.value.code == "verify.bad-fork-proof"
