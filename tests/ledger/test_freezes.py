"""Lifting a freeze (specs/0004 §5): pure, over in-memory stores.

The story in every test: an author signs one history, restores a backup and signs
another at the same seq (a twin with the same keys); a node holding the first branch
finds the fork and freezes it; the network's governance lifts the freeze.
"""

from __future__ import annotations

import itertools

import pytest

from ledger.checkpoint import sign_checkpoint
from ledger.forkproof import ForkProof
from ledger.log import Ledger
from ledger.merkle import MerkleTree, leaf_hash
from ledger.store import MemoryLogStore
from protocol.errors import RuleViolationError, VerificationError
from tests.factory import Author


def forked() -> tuple[Author, Author, Ledger, ForkProof]:
    """The author's branch held by the node, the twin's branch, the node, the proof."""
    honest, twin = Author("forker"), Author("forker")
    honest.note("one history")
    twin.clock_ms += 7
    twin.note("another history")
    ledger = Ledger(MemoryLogStore())
    ledger.ingest([e.raw for e in honest.entries])
    (proof,) = ledger.ingest([twin.entries[1].raw]).forks
    assert proof.position == 2 and ledger.is_frozen(honest.network, honest.id)
    return honest, twin, ledger, proof


def twin_at_3(honest: Author, text: str) -> Author:
    """The author equivocating again, at seq 3, on top of the two entries held."""
    again = Author("forker")
    again.entries = list(honest.entries[:2])
    again.clock_ms = honest.clock_ms + 11
    again.note(text)
    return again


def note_of(author: Author, size: int) -> bytes:
    tree = MerkleTree.from_leaves(leaf_hash(e.raw) for e in author.entries[:size])
    return sign_checkpoint(author.signing, author.network, author.id, size, tree.root()).text


def test_a_lift_lets_the_log_go_on_from_the_branch_held() -> None:
    honest, twin, ledger, proof = forked()
    assert ledger.lift_freezes({proof.id})
    assert not ledger.is_frozen(honest.network, honest.id)
    assert not ledger.lift_freezes({proof.id})  # the same set again: nothing to do
    # The other branch: its entry at the fork is refused without a new proof, and what
    # follows it does not extend the log held here.
    twin.note("the twin goes on")
    report = ledger.ingest([twin.entries[1].raw])
    assert [e.code for _, e in report.rejected] == ["rule.lifted-fork"] and not report.forks
    report = ledger.ingest([twin.entries[2].raw])
    assert [e.code for _, e in report.rejected] == ["verify.bad-prev"]
    honest.note("after the lift")
    report = ledger.ingest([honest.entries[-1].raw])
    assert [e.seq for e in report.accepted] == [3] and not report.rejected
    # The proof stays stored (and so is served in sync), marked as lifted.
    assert [p.id for p in ledger.store.fork_proofs()] == [proof.id]
    assert ledger.is_lifted(proof.id)


def test_the_author_signs_again_after_a_lift() -> None:
    honest, _, ledger, proof = forked()
    note = [("note", {"text": "x"})]
    with pytest.raises(RuleViolationError) as e:
        ledger.append(honest.signing, honest.network, honest.id, note, honest.clock_ms + 1)
    assert e.value.code == "rule.frozen-author"
    ledger.lift_freezes({proof.id})
    made = ledger.append(honest.signing, honest.network, honest.id, note, honest.clock_ms + 1)
    assert [m.seq for m in made] == [3]


def test_a_new_fork_above_the_lifted_one_freezes_again() -> None:
    honest, _, ledger, proof = forked()
    ledger.lift_freezes({proof.id})
    honest.note("seq 3")
    ledger.ingest([honest.entries[-1].raw])
    again = twin_at_3(honest, "a second equivocation, at seq 3")
    (new,) = ledger.ingest([again.entries[-1].raw]).forks
    assert new.position == 3 and new.id != proof.id
    assert ledger.is_frozen(honest.network, honest.id)
    assert ledger.is_lifted(proof.id) and not ledger.is_lifted(new.id)


def test_the_lifts_follow_the_set_given_and_a_restart_needs_them_again() -> None:
    honest, _, ledger, proof = forked()
    ledger.lift_freezes({proof.id})
    assert ledger.lift_freezes(set())  # (the state in force no longer lifts it)
    assert ledger.is_frozen(honest.network, honest.id)
    ledger.lift_freezes({proof.id})
    reopened = Ledger(ledger.store)  # the node derives the lifts from governance again
    assert reopened.is_frozen(honest.network, honest.id)
    reopened.lift_freezes({proof.id})
    assert not reopened.is_frozen(honest.network, honest.id)


def test_the_same_split_at_the_same_size_in_checkpoints_is_forgiven_too() -> None:
    honest, twin, ledger, proof = forked()
    ledger.add_checkpoint(note_of(honest, 2))
    with pytest.raises(VerificationError) as e:  # frozen, and a second proof of the split
        ledger.add_checkpoint(note_of(twin, 2))
    assert e.value.code == "verify.inconsistent-checkpoint"
    stored = ledger.store.fork_proofs()
    assert len(stored) == 2
    ledger.lift_freezes({proof.id})  # names only the entries proof
    assert not ledger.is_frozen(honest.network, honest.id)
    assert all(ledger.is_lifted(p.id) for p in stored)
    with pytest.raises(RuleViolationError) as lifted:
        ledger.add_checkpoint(note_of(twin, 2))
    assert lifted.value.code == "rule.lifted-fork"
    assert len(ledger.store.fork_proofs()) == 2


def test_a_node_that_learns_the_proof_after_the_lift_stores_it_and_is_not_frozen() -> None:
    honest, twin, ledger, proof = forked()
    other = Ledger(MemoryLogStore())
    other.ingest([e.raw for e in honest.entries])
    other.lift_freezes({proof.id})  # its governance is in force before the proof arrives
    other.add_fork_proof(proof.raw)
    assert [p.id for p in other.store.fork_proofs()] == [proof.id]
    assert not other.is_frozen(honest.network, honest.id)
    # A proof of the same split that no lift names is covered, so not stored.
    ledger.add_checkpoint(note_of(honest, 2))
    other.add_checkpoint(note_of(honest, 2))
    with pytest.raises(VerificationError):
        ledger.add_checkpoint(note_of(twin, 2))
    (cps,) = [p for p in ledger.store.fork_proofs() if p.id != proof.id]
    other.add_fork_proof(cps.raw)
    assert len(other.store.fork_proofs()) == 1 and not other.is_frozen(honest.network, honest.id)


def test_every_order_of_proofs_and_lift_ends_in_the_same_freezes() -> None:
    """Proofs and the lift in any order; then every proof offered again, as each sync
    session does: the same freezes and lifted proofs on every node."""
    honest, twin, source, entries_proof = forked()
    source.add_checkpoint(note_of(honest, 2))
    with pytest.raises(VerificationError):
        source.add_checkpoint(note_of(twin, 2))
    source.lift_freezes({entries_proof.id})
    honest.note("seq 3")
    source.ingest([honest.entries[-1].raw])
    later = twin_at_3(honest, "seq 3 again")
    (new,) = source.ingest([later.entries[-1].raw]).forks  # a new fork: frozen again
    raws = [p.raw for p in source.store.fork_proofs()]
    assert len(raws) == 3
    outcomes = set()
    for order in itertools.permutations([*range(3), "lift"]):
        node = Ledger(MemoryLogStore())
        node.ingest([e.raw for e in honest.entries])
        for step in order:
            if step == "lift":
                node.lift_freezes({entries_proof.id})
            else:
                node.add_fork_proof(raws[step])
        for raw in raws:
            node.add_fork_proof(raw)
        freezing = {p.id for p in node.store.fork_proofs() if not node.is_lifted(p.id)}
        outcomes.add((node.is_frozen(honest.network, honest.id), frozenset(freezing)))
    assert new.position == 3
    assert outcomes == {(True, frozenset({new.id}))}
