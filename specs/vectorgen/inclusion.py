"""ledger/inclusion: self-contained inclusion bundles, as a node's Ledger makes them."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from typing import Any

from ledger.log import Ledger
from ledger.store import MemoryLogStore
from protocol.keys import SigningKey
from specs.vectorgen import tlog
from specs.vectorgen.common import ALICE, ALICE_NEXT, BOB, NETWORK, Case, entry_id, error, ok
from specs.vectorgen.logs import Log
from specs.vectorgen.tlog import T0_S, WENDY, WITNESS_NAME

#: Alice's log of 7 entries, and the same history with a rotation to ALICE_NEXT at seq 3.
MAIN = Log().inception().note().note().note().note().note().note()
ROTATED = Log().inception().note().rotate(ALICE_NEXT).note().note()
NOW_S = T0_S + 3600


def bundle(log: Log, seq: int, key: SigningKey) -> dict[str, Any]:
    """The bundle of entry `seq` from a Ledger holding `log` and Wendy's log, with Alice's
    checkpoint of the whole log (signed by `key`) cosigned by Wendy at NOW_S."""
    ledger = Ledger(MemoryLogStore())
    for raws in (log.raws, Log(WENDY).inception().raws):
        assert len(ledger.ingest(raws).accepted) == len(raws)
    signed = ledger.sign_checkpoint(key, NETWORK, log.author.id)
    ledger.witness(WENDY.signing, WENDY.id, signed.text, [], NOW_S)
    return ledger.prove(entry_id(log.raws[seq - 1]))


def _ok(log: Log, seq: int, *, cosigned: bool = True) -> dict[str, Any]:
    root = tlog.mth([tlog.leaf_hash(raw) for raw in log.raws])
    return ok(
        seq=seq,
        tree_size=len(log.raws),
        root_hex=root.hex(),
        cosigned_by=[WITNESS_NAME] if cosigned else [],
        cosignature_times=[NOW_S] if cosigned else [],
    )


def inclusion_cases() -> Iterator[Case]:
    def case(name: str, description: str, data: dict[str, Any], expect: dict[str, Any]) -> Case:
        return Case("ledger", "inclusion", name, description, {"bundle": data}, expect)

    happy = bundle(MAIN, 4, ALICE.signing)
    yield case("happy", "Entry 4 of 7, cosigned by Wendy.", happy, _ok(MAIN, 4))
    yield case(
        "first-entry", "The inception, entry 1 of 7.", bundle(MAIN, 1, ALICE.signing), _ok(MAIN, 1)
    )
    yield case("last-entry", "Entry 7 of 7.", bundle(MAIN, 7, ALICE.signing), _ok(MAIN, 7))
    yield case(
        "after-rotation",
        "Entry 5 of 5, after a rotation at seq 3.",
        bundle(ROTATED, 5, ALICE_NEXT),
        _ok(ROTATED, 5),
    )
    for name, description, change, expect in _mutations(happy):
        changed = copy.deepcopy(happy)
        change(changed)
        yield case(name, description, changed, expect)


Change = Callable[[dict[str, Any]], None]


def _flip_hex(text: str, at: int = 0) -> str:
    return tlog.flip(bytes.fromhex(text), at).hex()


def _mutations(happy: dict[str, Any]) -> Iterator[tuple[str, str, Change, dict[str, Any]]]:
    bad_sig, mismatch, length = (
        error("verify.bad-signature"),
        error("proof.root-mismatch"),
        error("proof.wrong-length"),
    )
    text_at = bytes.fromhex(happy["entry_hex"]).index(b"note 4")

    def entry_flip(b: dict[str, Any]) -> None:
        b["entry_hex"] = _flip_hex(b["entry_hex"], text_at)

    yield "entry-bit-flip", "One bit of the entry's note text is flipped.", entry_flip, bad_sig

    def proof_flip(b: dict[str, Any]) -> None:
        b["proof_hex"][1] = _flip_hex(b["proof_hex"][1])

    yield "proof-hash-flip", "One bit of the second proof hash is flipped.", proof_flip, mismatch
    yield (
        "proof-extra-hash",
        "A zero hash is appended to the proof.",
        lambda b: b["proof_hex"].append("00" * 32),
        length,
    )
    yield (
        "proof-hash-31-bytes",
        "The second proof hash is cut to 31 bytes.",
        lambda b: b["proof_hex"].__setitem__(1, b["proof_hex"][1][:62]),
        error("proof.bad-hash"),
    )
    yield (
        "proof-missing-hash",
        "The last proof hash is dropped.",
        lambda b: b["proof_hex"].pop(),
        length,
    )
    yield (
        "wrong-index",
        "The entry is entry 3, the proof is entry 4's.",
        lambda b: b.__setitem__("entry_hex", MAIN.raws[2].hex()),
        mismatch,
    )
    yield (
        "checkpoint-size-changed",
        "The checkpoint's size is changed from 7 to 8.",
        lambda b: b.__setitem__("checkpoint", b["checkpoint"].replace("\n7\n", "\n8\n", 1)),
        bad_sig,
    )
    root = tlog.mth([tlog.leaf_hash(raw) for raw in MAIN.raws])
    yield (
        "checkpoint-root-changed",
        "One bit of the checkpoint's root is flipped.",
        lambda b: b.__setitem__(
            "checkpoint", b["checkpoint"].replace(tlog.b64(root), tlog.b64(tlog.flip(root)), 1)
        ),
        bad_sig,
    )
    six = tlog.mth([tlog.leaf_hash(raw) for raw in MAIN.raws[:6]])
    yield (
        "entry-beyond-checkpoint",
        "Entry 7 with Alice's checkpoint of size 6: leaf index 6 is outside [0, 6).",
        lambda b: b.update(
            entry_hex=MAIN.raws[6].hex(),
            checkpoint=tlog.checkpoint(ALICE.signing, NETWORK, ALICE.id, 6, six),
        ),
        error("proof.bad-size"),
    )
    bob = Log(BOB).inception().note().note().note().note().note().note()
    bob_root = tlog.mth([tlog.leaf_hash(raw) for raw in bob.raws])
    bob_note = tlog.checkpoint(BOB.signing, NETWORK, BOB.id, 7, bob_root)
    yield (
        "checkpoint-of-another-log",
        "The checkpoint is Bob's, of his 7-entry log.",
        lambda b: b.__setitem__("checkpoint", bob_note),
        error("verify.wrong-checkpoint"),
    )
    yield (
        "key-events-missing",
        "The author's key events are left out.",
        lambda b: b.__setitem__("key_events_hex", []),
        error("verify.bad-key-history"),
    )
    yield (
        "witness-history-of-someone-else",
        "Wendy's name maps to Bob's key history.",
        lambda b: b["witnesses"].__setitem__(WITNESS_NAME, [bob.raws[0].hex()]),
        error("verify.bad-key-history"),
    )

    def strip(b: dict[str, Any]) -> None:
        lines = b["checkpoint"].splitlines(keepends=True)
        b["checkpoint"] = "".join(x for x in lines if WITNESS_NAME not in x)

    yield (
        "cosignature-stripped",
        "Wendy's cosignature line is removed.",
        strip,
        _ok(MAIN, 4, cosigned=False),
    )
    yield (
        "bad-version",
        "The bundle version is 2.",
        lambda b: b.__setitem__("version", 2),
        error("decode.bad-bundle"),
    )
