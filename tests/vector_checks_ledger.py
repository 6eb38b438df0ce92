"""Checkers of the ledger area of the conformance vectors (specs/vectors/ledger/).

One function per suite, each taking a case's `input` and `expect`; tests/specs/test_vectors.py
dispatches on (area, suite). The fields are defined in specs/vectors/README.md.
"""

from __future__ import annotations

from typing import Any

from ledger.checkpoint import (
    SignedCheckpoint,
    cosignatures_in,
    decode_signed_checkpoint,
    verify_checkpoint_signature,
)
from ledger.forkproof import verify_fork_proof
from ledger.inclusion import InclusionResult, check_bundle, verify_witnessed
from ledger.keyhistory import verify_key_history
from ledger.log import Ledger, checkpoint_side
from ledger.store import MemoryLogStore
from ledger.witness import WitnessState, witness_checkpoint
from protocol.entry import check_signatures, decode_entry
from protocol.errors import CommonsError
from protocol.ids import id_from_text, id_to_text
from protocol.keys import SigningKey
from tests.vector_support import Checker, expect_error, failure, same


def _hexes(values: list[str]) -> list[bytes]:
    return [bytes.fromhex(h) for h in values]


def check_checkpoint(data: dict[str, Any], expect: dict[str, Any]) -> None:
    raw = bytes.fromhex(data["note_hex"]) if data["note"] is None else data["note"].encode()

    def verified() -> SignedCheckpoint:
        signed = decode_signed_checkpoint(raw)
        cp = signed.checkpoint
        if "key_events_hex" in data:
            history = verify_key_history(_hexes(data["key_events_hex"]), cp.network, cp.author)
            key = history.period_after(cp.size).signing_key
        else:
            key = bytes.fromhex(data["public_key_hex"])
        verify_checkpoint_signature(signed, key)
        return signed

    if not expect["ok"]:
        expect_error(expect, verified)
        return
    signed = verified()
    cp = signed.checkpoint
    assert signed.text == raw
    assert same(
        {"ok": True, "origin": cp.origin, "size": cp.size, "root_hex": cp.root.hex()}, expect
    )


def check_cosignature(data: dict[str, Any], expect: dict[str, Any]) -> None:
    note = data["note"].encode() + data["cosignature"].encode()
    name, key = data["witness_name"], bytes.fromhex(data["witness_public_key_hex"])
    signed = decode_signed_checkpoint(note)
    if not expect["ok"]:
        expect_error(expect, lambda: cosignatures_in(signed, {name: key}))
        return
    found = cosignatures_in(signed, {name: key}).get(name)
    if found is not None:
        assert found.line() == data["cosignature"]
    timestamp = None if found is None else found.timestamp_s
    assert same({"ok": True, "timestamp_s": timestamp}, expect)


def witness_run(data: dict[str, Any]) -> dict[str, Any]:
    """Submit every step to one witness, from an empty state; the result in expect form."""
    state = WitnessState()
    author_key = bytes.fromhex(data["author_public_key_hex"])
    witness_key = SigningKey(bytes.fromhex(data["witness_seed_hex"]))
    timestamps: list[int] = []
    lines: list[str] = []
    for at, step in enumerate(data["steps"], start=1):
        try:
            state, cosig = witness_checkpoint(
                state,
                decode_signed_checkpoint(step["note"].encode()),
                author_key,
                _hexes(step["proof_hex"]),
                witness_key=witness_key,
                witness_name=data["witness_name"],
                now_s=step["now_s"],
            )
        except CommonsError as e:
            return failure(e, at=at)
        timestamps.append(cosig.timestamp_s)
        lines.append(cosig.line())
    return {"ok": True, "timestamps": timestamps, "cosignatures": lines}


def check_witness(data: dict[str, Any], expect: dict[str, Any]) -> None:
    assert same(witness_run(data), expect)


def check_fork_proof(data: dict[str, Any], expect: dict[str, Any]) -> None:
    raw = bytes.fromhex(data["fork_proof_hex"])
    if not expect["ok"]:
        expect_error(expect, lambda: verify_fork_proof(raw, checkpoint_verifier=checkpoint_side))
        return
    proof = verify_fork_proof(raw, checkpoint_verifier=checkpoint_side)
    got = {
        "ok": True,
        "kind": proof.kind,
        "position": proof.position,
        "author": id_to_text(proof.author),
        "network": id_to_text(proof.network),
    }
    assert same(got, expect)


def check_inclusion(data: dict[str, Any], expect: dict[str, Any]) -> None:
    required: int | None = data.get("witnesses_required")

    def checked() -> InclusionResult:
        result = check_bundle(data["bundle"])
        if required is not None:
            verify_witnessed(result, required)
        return result

    if not expect["ok"]:
        error = expect_error(expect, checked)
        details = {k: v for k, v in expect.items() if k not in ("ok", "error", "field")}
        assert {k: error.details.get(k) for k in details} == details
        return
    result = checked()
    got = {
        "ok": True,
        "seq": result.entry.seq,
        "tree_size": result.tree_size,
        "root_hex": result.root.hex(),
        "cosigned_by": list(result.cosigned_by),
        "cosignature_times": list(result.cosignature_times),
    }
    assert same(got, expect)


def check_range(data: dict[str, Any], expect: dict[str, Any]) -> None:
    network, author = bytes.fromhex(data["network_hex"]), bytes.fromhex(data["author_hex"])
    initial, raws = _hexes(data["initial_entries_hex"]), _hexes(data["range_hex"])
    note, proof = data["note"].encode(), _hexes(data["proof_hex"])
    later = _hexes(data["later_key_events_hex"])
    store = MemoryLogStore()
    ledger = Ledger(store)
    assert len(ledger.ingest(initial).accepted) == len(initial)

    def stored() -> tuple[Any, ...]:
        entries = store.read_entries(network, author, 1, len(initial) + len(raws) + 2)
        notes = [c.note for c in store.checkpoints(network, author)]
        return store.commits, entries, notes, store.heads()

    before = stored()
    if not expect["ok"]:
        expect_error(expect, lambda: ledger.ingest_range(network, author, raws, note, proof, later))
        assert stored() == before, "a refused range changed the store"
        head = ledger.head(network, author)
        assert (0 if head is None else head.size) == len(initial)
        return
    ledger.ingest_range(network, author, raws, note, proof, later)
    head = ledger.head(network, author)
    assert head is not None
    assert same({"ok": True, "size": head.size}, expect)
    commits, entries, notes, _ = stored()
    assert (commits, entries, notes[-1]) == (before[0] + 1, initial + raws, note)


def check_attested_range(data: dict[str, Any], expect: dict[str, Any]) -> None:
    """specs/0003 §4.2: the range is committed (or refused) as by `ingest_range`; the
    seqs stored unchecked are those listed; the deferred check then settles them, and
    a failed one yields the expected code and proof, and freezes the author."""
    network, author = bytes.fromhex(data["network_hex"]), bytes.fromhex(data["author_hex"])
    initial, raws = _hexes(data["initial_entries_hex"]), _hexes(data["range_hex"])
    note, proof = data["note"].encode(), _hexes(data["proof_hex"])
    ledger = Ledger(MemoryLogStore())
    assert len(ledger.ingest(initial).accepted) == len(initial)
    if not expect["ok"]:
        expect_error(expect, lambda: ledger.ingest_range(network, author, raws, note, proof))
        assert ledger.store.count_unchecked() == 0
        return
    ledger.ingest_range(network, author, raws, note, proof, _hexes(data["later_key_events_hex"]))
    head = ledger.head(network, author)
    assert head is not None
    unchecked = [s for s in range(1, head.size + 1) if ledger.store.check_state(network, author, s)]
    got: dict[str, Any] = {"ok": True, "size": head.size, "unchecked_seqs": unchecked}
    entries = ledger.unchecked_entries(len(unchecked) + 1)
    settled = ledger.settle_checks(entries, check_signatures(entries))
    assert ledger.store.count_unchecked() == 0
    if settled.proofs:
        seq = settled.proofs[0].position
        try:
            ledger.verify_held(network, author, seq)
            code = None
        except CommonsError as e:
            code = e.code
        got["deferred"] = {
            "code": code,
            "seq": seq,
            "fork_proof_hex": settled.proofs[0].raw.hex(),
        }
        assert ledger.is_frozen(network, author)
    assert same(got, expect)


def check_freeze(data: dict[str, Any], expect: dict[str, Any]) -> None:
    network = bytes.fromhex(data["network_hex"])
    ledger = Ledger(MemoryLogStore())
    held = _hexes(data["held_hex"])
    assert len(ledger.ingest(held).accepted) == len(held)
    for raw in _hexes(data["fork_proofs_hex"]):
        ledger.add_fork_proof(raw)
    ledger.lift_freezes(id_from_text(t) for t in data["lifted"])
    entry = decode_entry(bytes.fromhex(data["entry_hex"]))
    report = ledger.ingest([entry.raw])
    if report.rejected:
        assert len(report.rejected) == 1
        assert same(failure(report.rejected[0][1]), expect)
        return
    head = ledger.head(network, entry.author)
    got = {
        "ok": True,
        "size": 0 if head is None else head.size,
        "frozen": ledger.is_frozen(network, entry.author),
    }
    assert same(got, expect)


LEDGER_CHECKERS: dict[tuple[str, str], Checker] = {
    ("ledger", "checkpoints"): check_checkpoint,
    ("ledger", "cosignatures"): check_cosignature,
    ("ledger", "witness"): check_witness,
    ("ledger", "fork-proofs"): check_fork_proof,
    ("ledger", "freezes"): check_freeze,
    ("ledger", "inclusion"): check_inclusion,
    ("ledger", "ranges"): check_range,
    ("ledger", "attested-ranges"): check_attested_range,
}
