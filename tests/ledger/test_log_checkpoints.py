"""Checkpoints, witnessing, range sync and inclusion proofs through the Ledger."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from ledger import merkle
from ledger.audit import audit
from ledger.checkpoint import sign_checkpoint, witness_name
from ledger.inclusion import MAX_BUNDLE_BYTES, check_bundle, parse_bundle
from ledger.log import Ledger, _stored_checkpoint
from ledger.store import Batch, MemoryLogStore
from protocol import kinds
from protocol.errors import CommonsError, DecodeError, ProofError, VerificationError
from tests.factory import Author, seeded_key

NOW_S = 1_800_000_000


def own_ledger(name: str, notes: int) -> tuple[Author, Ledger]:
    author = Author(name)
    for i in range(notes):
        author.note(f"{name} {i}")
    ledger = Ledger(MemoryLogStore())
    ledger.ingest([e.raw for e in author.entries])
    return author, ledger


def test_range_with_checkpoint_and_consistency_proof_is_accepted() -> None:
    author, source = own_ledger("src", 9)
    sink = Ledger(MemoryLogStore())
    # First 5 entries with a checkpoint at 5 (from empty: no proof needed).
    tree = merkle.MerkleTree.from_leaves(merkle.leaf_hash(e.raw) for e in author.entries[:5])
    cp5 = sign_checkpoint(author.signing, author.network, author.id, 5, tree.root())
    sink.ingest_range(author.network, author.id, [e.raw for e in author.entries[:5]], cp5.text, [])
    cp10 = source.sign_checkpoint(author.signing, author.network, author.id)
    rest = [e.raw for e in author.entries[5:]]
    sink.ingest_range(author.network, author.id, rest, cp10.text, [])  # reaches it: no proof
    head = sink.head(author.network, author.id)
    assert head is not None and head.size == 10
    assert sink.tree(author.network, author.id).root() == cp10.checkpoint.root


def test_a_bad_range_stores_nothing() -> None:
    author, source = own_ledger("atomic", 9)
    cp = source.sign_checkpoint(author.signing, author.network, author.id)
    raws = [e.raw for e in author.entries]
    store = MemoryLogStore()
    sink = Ledger(store)
    sink.ingest([raws[0]])
    tree = source.tree(author.network, author.id)
    # Entries 2..5 proven against the checkpoint at 10 by a consistency proof 5 -> 10.
    proof = tree.consistency_proof(5, 10)
    with pytest.raises(ProofError):
        sink.ingest_range(author.network, author.id, raws[1:5], cp.text, [bytes(32), *proof[1:]])
    tampered = list(raws[1:])
    tampered[4] = raws[2]  # a replayed entry in the middle
    with pytest.raises(VerificationError):
        sink.ingest_range(author.network, author.id, tampered, cp.text, [])
    with pytest.raises(VerificationError):  # the checkpoint does not cover the range
        small = sign_checkpoint(author.signing, author.network, author.id, 3, tree.root(3))
        sink.ingest_range(author.network, author.id, raws[1:5], small.text, [])
    assert store.commits == 1
    assert store.read_entries(author.network, author.id, 1, 20) == [raws[0]]
    assert sink.tree(author.network, author.id).size == 1  # the refused leaves taken back
    sink.ingest_range(author.network, author.id, raws[1:5], cp.text, proof)
    assert store.read_entries(author.network, author.id, 1, 20) == raws[:5]
    assert sink.tree(author.network, author.id).root() == tree.root(5)


def test_a_checkpoint_signed_after_an_unfetched_rotation_is_checked() -> None:
    author, source = own_ledger("later", 3)
    rotation = author.rotate(seeded_key("later/2"))
    author.note("after the rotation")
    source.ingest([e.raw for e in author.entries[4:]])
    cp = source.sign_checkpoint(author.signing, author.network, author.id)
    proof = source.tree(author.network, author.id).consistency_proof(3, 6)
    sink = Ledger(MemoryLogStore())
    raws = [e.raw for e in author.entries[:3]]
    with pytest.raises(VerificationError):  # the new key is unknown without the event
        sink.ingest_range(author.network, author.id, raws, cp.text, proof)
    sink.ingest_range(author.network, author.id, raws, cp.text, proof, [rotation.raw])
    head = sink.head(author.network, author.id)
    assert head is not None and head.size == 3


def test_inclusion_bundle_verifies_alone_and_mutations_fail() -> None:
    author, ledger = own_ledger("prover", 6)
    witness = Author("witness")
    ledger.ingest([e.raw for e in witness.entries])
    ledger.sign_checkpoint(author.signing, author.network, author.id)
    note = ledger.latest_checkpoint(author.network, author.id)
    assert note is not None
    ledger.witness(witness.signing, witness.id, note.text, [], NOW_S)
    bundle = ledger.prove(author.entries[3].id)
    result = check_bundle(bundle)
    assert result.entry.seq == 4 and result.tree_size == 7
    assert result.cosigned_by == (witness_name(witness.id),)

    def broken(change: Any) -> dict[str, Any]:
        copied = copy.deepcopy(bundle)
        change(copied)
        return copied

    def flip(h: str) -> str:
        return f"{int(h[0], 16) ^ 1:x}" + h[1:]

    mutations = [
        lambda b: b.__setitem__("entry_hex", b["entry_hex"][:-2] + "00"),
        lambda b: b["proof_hex"].__setitem__(0, flip(b["proof_hex"][0])),
        lambda b: b["proof_hex"].append("00" * 32),
        lambda b: b.__setitem__("checkpoint", b["checkpoint"].replace("\n7\n", "\n8\n")),
        lambda b: b.__setitem__("key_events_hex", []),
        lambda b: b.__setitem__("version", 2),
        lambda b: b.pop("entry_hex"),
    ]
    for mutate in mutations:
        with pytest.raises(CommonsError):
            check_bundle(broken(mutate))


def test_witness_refuses_split_view_and_freezes_the_author() -> None:
    author, ledger = own_ledger("split", 3)
    witness = Author("w2")
    ledger.ingest([e.raw for e in witness.entries])
    first = ledger.sign_checkpoint(author.signing, author.network, author.id)
    ledger.witness(witness.signing, witness.id, first.text, [], NOW_S)
    # The author signs a different tree of the same size: a split view.
    other = sign_checkpoint(author.signing, author.network, author.id, 4, bytes(range(32)))
    with pytest.raises(VerificationError) as err:
        ledger.witness(witness.signing, witness.id, other.text, [], NOW_S + 5)
    assert err.value.code == "verify.inconsistent-checkpoint"
    assert ledger.is_frozen(author.network, author.id)
    proofs = ledger.store.fork_proofs()
    assert len(proofs) == 1
    fresh = Ledger(MemoryLogStore())
    fresh.add_fork_proof(proofs[0].raw)
    assert fresh.is_frozen(author.network, author.id)


def test_witness_cosigns_growth_with_monotonic_time() -> None:
    author, ledger = own_ledger("grow", 2)
    witness = Author("w3")
    ledger.ingest([e.raw for e in witness.entries])
    a = ledger.sign_checkpoint(author.signing, author.network, author.id)
    ledger.witness(witness.signing, witness.id, a.text, [], NOW_S)
    author.note("more")
    ledger.ingest([author.entries[-1].raw])
    b = ledger.sign_checkpoint(author.signing, author.network, author.id)
    proof = ledger.tree(author.network, author.id).consistency_proof(3, 4)
    cosigned = ledger.witness(witness.signing, witness.id, b.text, proof, NOW_S - 100)
    assert len(cosigned.signatures) == 2
    with pytest.raises(ProofError):  # growth without a valid proof
        author.note("even more")
        ledger.ingest([author.entries[-1].raw])
        c = ledger.sign_checkpoint(author.signing, author.network, author.id)
        ledger.witness(witness.signing, witness.id, c.text, [], NOW_S)


def test_rotation_key_signs_checkpoints_after_it() -> None:
    author, ledger = own_ledger("rot", 1)
    author.rotate(seeded_key("rot/2"))
    ledger.ingest([author.entries[-1].raw])
    signed = ledger.sign_checkpoint(author.signing, author.network, author.id)
    assert ledger.key_history(author.network, author.id).period_after(3).signing_key == (
        author.signing.public
    )
    assert check_bundle(ledger.prove(author.entries[-1].id)).tree_size == signed.checkpoint.size
    assert author.entries[-1].kind == kinds.ROTATION


def test_range_edge_cases_are_typed_errors() -> None:
    author = Author("edges")
    for i in range(4):
        author.note(f"n{i}")
    tree = merkle.MerkleTree.from_leaves(merkle.leaf_hash(e.raw) for e in author.entries)
    cp5 = sign_checkpoint(author.signing, author.network, author.id, 5, tree.root())
    store = MemoryLogStore()
    sink = Ledger(store)
    with pytest.raises(VerificationError) as err:  # nothing held, nothing sent
        sink.ingest_range(author.network, author.id, [], cp5.text, [])
    assert err.value.code == "verify.wrong-checkpoint"
    raws = [e.raw for e in author.entries]
    with pytest.raises(ProofError):  # a proof where none belongs
        sink.ingest_range(author.network, author.id, raws, cp5.text, [bytes(32)] * 5)
    assert store.commits == 0


def test_key_events_beyond_the_checkpoint_are_refused() -> None:
    author = Author("beyond")
    for i in range(3):
        author.note(f"n{i}")
    tree = merkle.MerkleTree.from_leaves(merkle.leaf_hash(e.raw) for e in author.entries)
    rotation = author.rotate(seeded_key("beyond/next"))  # seq 5
    cp4 = sign_checkpoint(author.signing, author.network, author.id, 4, tree.root())
    sink = Ledger(MemoryLogStore())
    with pytest.raises(VerificationError) as err:
        sink.ingest_range(
            author.network,
            author.id,
            [e.raw for e in author.entries[:3]],
            cp4.text,
            tree.consistency_proof(3, 4),
            [rotation.raw],
        )
    assert err.value.code == "verify.bad-key-history"


def test_a_witness_rotation_keeps_its_earlier_cosignatures() -> None:
    alice, wendy = Author("alice-w"), Author("wendy-w")
    alice.note("x")
    ledger = Ledger(MemoryLogStore())
    ledger.ingest([e.raw for e in alice.entries + wendy.entries])
    signed = ledger.sign_checkpoint(alice.signing, alice.network, alice.id)
    ledger.witness(wendy.signing, wendy.id, signed.text, [], NOW_S)
    ledger.ingest([wendy.rotate(seeded_key("wendy-w/2")).raw])
    assert check_bundle(ledger.prove(alice.entries[1].id)).cosigned_by == (witness_name(wendy.id),)


def test_audit_counts_a_checkpoint_beyond_the_entries_held_as_ahead_not_wrong() -> None:
    author, source = own_ledger("cut-short", 9)
    cp = source.sign_checkpoint(author.signing, author.network, author.id)
    raws = [e.raw for e in author.entries]
    store = MemoryLogStore()
    sink = Ledger(store)
    proof = source.tree(author.network, author.id).consistency_proof(4, 10)
    sink.ingest_range(author.network, author.id, raws[:4], cp.text, proof)  # then the link dies
    report = audit(store)
    assert report.ok and report.entries == 4
    assert (report.checkpoints, report.checkpoints_ahead) == (1, 1)
    sink.ingest_range(author.network, author.id, raws[4:], cp.text, [])  # the sync resumes
    report = audit(store)
    assert report.ok and (report.entries, report.checkpoints_ahead) == (10, 0)


def test_audit_still_catches_a_held_range_that_differs_from_its_checkpoint() -> None:
    author, source = own_ledger("mismatch", 4)
    store = MemoryLogStore()
    Ledger(store).ingest([e.raw for e in author.entries])
    tree = source.tree(author.network, author.id)
    wrong = sign_checkpoint(author.signing, author.network, author.id, 3, tree.root(2))
    store.commit(
        Batch(checkpoints=[_stored_checkpoint(wrong)])
    )  # as if the file were tampered with
    report = audit(store)
    assert [e["code"] for e in report.errors] == ["audit.checkpoint-mismatch"]


def test_a_proof_file_is_bounded_json_without_repeated_members() -> None:
    """specs/0003 §6.1: the size first, then JSON, then no member name twice."""
    author, ledger = own_ledger("file", 2)
    ledger.sign_checkpoint(author.signing, author.network, author.id)
    bundle = ledger.prove(author.entries[1].id)
    text = json.dumps(bundle)
    assert check_bundle(parse_bundle(text.encode())).entry.seq == 2
    repeated = text[:-1] + ', "version": 1}'
    for data, code, field in [
        (b" " * (MAX_BUNDLE_BYTES + 1), "decode.too-large", None),
        (b"{not json", "decode.bad-bundle", "bundle"),
        (b"\xff{}", "decode.bad-bundle", "bundle"),
        (repeated.encode(), "decode.bad-bundle", "bundle"),
    ]:
        with pytest.raises(DecodeError) as err:
            parse_bundle(data)
        assert (err.value.code, err.value.details.get("field")) == (code, field)


def test_a_lone_surrogate_in_the_checkpoint_is_a_bad_bundle() -> None:
    author, ledger = own_ledger("surrogate", 1)
    ledger.sign_checkpoint(author.signing, author.network, author.id)
    bundle = ledger.prove(author.entries[0].id)
    bundle["checkpoint"] = "\ud800" + bundle["checkpoint"]
    with pytest.raises(DecodeError) as err:
        check_bundle(bundle)
    assert (err.value.code, err.value.details["field"]) == ("decode.bad-bundle", "checkpoint")
