"""ledger/inclusion: self-contained inclusion bundles, as a node's Ledger makes them."""

from __future__ import annotations

import base64
import copy
from collections.abc import Callable, Iterator
from typing import Any

from ledger.log import Ledger
from ledger.store import MemoryLogStore
from protocol.keys import SigningKey
from specs.vectorgen import tlog
from specs.vectorgen.common import (
    ALICE,
    ALICE_NEXT,
    BOB,
    NETWORK,
    OTHER_NETWORK,
    Case,
    entry_id,
    error,
    ok,
    seed_key,
)
from specs.vectorgen.logs import Log
from specs.vectorgen.tlog import T0_S, WENDY, WITNESS_NAME

#: Alice's log of 7 entries, and the same history with a rotation to ALICE_NEXT at seq 3.
MAIN = Log().inception().note().note().note().note().note().note()
ROTATED = Log().inception().note().rotate(ALICE_NEXT).note().note()
NOW_S = T0_S + 3600
WENDY_NEXT = seed_key("wendy/signing-2")


def bundle(log: Log, seq: int, key: SigningKey, wendy_after: Log | None = None) -> dict[str, Any]:
    """The bundle of entry `seq` from a Ledger holding `log` and Wendy's log, with Alice's
    checkpoint of the whole log (signed by `key`) cosigned by Wendy at NOW_S; Wendy's log
    then grows to `wendy_after` (a rotation or a revocation after she cosigned)."""
    ledger = Ledger(MemoryLogStore())
    wendy = Log(WENDY).inception()
    for raws in (log.raws, wendy.raws):
        assert len(ledger.ingest(raws).accepted) == len(raws)
    signed = ledger.sign_checkpoint(key, NETWORK, log.author.id)
    ledger.witness(WENDY.signing, WENDY.id, signed.text, [], NOW_S)
    if wendy_after is not None:
        later = wendy_after.raws[len(wendy.raws) :]
        assert len(ledger.ingest(later).accepted) == len(later)
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
    thief = Log().inception().note().rotate(ALICE_NEXT).note().note(key=ALICE.signing)
    yield case(
        "entry-signed-by-rotated-away-key",
        "Entry 5 is signed by the key rotated away at seq 3 (row 11 comes before the proof).",
        bundle(ROTATED, 5, ALICE_NEXT) | {"entry_hex": thief.raws[4].hex()},
        error("verify.key-not-in-force"),
    )
    yield case(
        "witness-rotated-after-cosigning",
        "Wendy rotates her key after she cosigned: her cosignature by the old key counts.",
        bundle(MAIN, 4, ALICE.signing, Log(WENDY).inception().rotate(WENDY_NEXT)),
        _ok(MAIN, 4),
    )
    yield case(
        "witness-revoked-after-cosigning",
        "Wendy revokes the key she cosigned with: that cosignature no longer counts.",
        bundle(MAIN, 4, ALICE.signing, Log(WENDY).inception().revoke(2, WENDY_NEXT)),
        _ok(MAIN, 4, cosigned=False),
    )
    for name, description, change, expect in [*_mutations(happy), *_witness_mutations()]:
        changed = copy.deepcopy(happy)
        change(changed)
        yield case(name, description, changed, expect)
    for name, description, data, required, expect in _required(happy):
        yield Case(
            "ledger",
            "inclusion",
            name,
            description,
            {"bundle": data, "witnesses_required": required},
            expect,
        )


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
        error("verify.bad-key-history", witness=WITNESS_NAME),
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
    yield from _malformed()


def _bad_bundle(field: str) -> dict[str, Any]:
    return error("decode.bad-bundle", field=field)


def _malformed() -> Iterator[tuple[str, str, Change, dict[str, Any]]]:
    """Bundles whose JSON shape is wrong (specs/0003 §6.2, rows 1-8)."""
    yield (
        "bad-version",
        "The bundle version is 2.",
        lambda b: b.update(version=2),
        _bad_bundle("version"),
    )
    yield (
        "version-true",
        "The version is the JSON literal true, not the integer 1.",
        lambda b: b.update(version=True),
        _bad_bundle("version"),
    )
    yield (
        "extra-member",
        "The bundle has a member no version-1 bundle has.",
        lambda b: b.update(comment="hello"),
        _bad_bundle("bundle"),
    )
    yield (
        "witnesses-missing",
        "The witnesses member is left out.",
        lambda b: b.pop("witnesses"),
        _bad_bundle("bundle"),
    )
    yield (
        "entry-hex-upper-case",
        "The entry's hex is in upper case.",
        lambda b: b.update(entry_hex=b["entry_hex"].upper()),
        _bad_bundle("entry_hex"),
    )
    yield (
        "proof-hex-odd-length",
        "A proof hash has an odd number of hex digits.",
        lambda b: b["proof_hex"].__setitem__(0, b["proof_hex"][0][:-1]),
        _bad_bundle("proof_hex"),
    )
    yield (
        "checkpoint-not-a-string",
        "The checkpoint is given as a list of lines.",
        lambda b: b.update(checkpoint=b["checkpoint"].splitlines()),
        _bad_bundle("checkpoint"),
    )
    yield (
        "witness-events-not-a-list",
        "Wendy's key history is one hex string, not a list.",
        lambda b: b["witnesses"].update({WITNESS_NAME: b["witnesses"][WITNESS_NAME][0]}),
        _bad_bundle("witnesses"),
    )


def _cosignature_line(b: dict[str, Any]) -> str:
    lines: list[str] = b["checkpoint"].splitlines(keepends=True)
    (line,) = [x for x in lines if WITNESS_NAME in x]
    return line


def _replace_cosignature(b: dict[str, Any], blob: Callable[[bytes], bytes]) -> None:
    line = _cosignature_line(b)
    prefix, encoded = line.rstrip("\n").rsplit(" ", 1)
    new = f"{prefix} {tlog.b64(blob(base64.b64decode(encoded)))}\n"
    b["checkpoint"] = b["checkpoint"].replace(line, new)


def _witness_mutations() -> Iterator[tuple[str, str, Change, dict[str, Any]]]:
    """A listed witness's cosignature that is present but bad rejects the whole file."""
    bad = error("verify.bad-signature", witness=WITNESS_NAME)
    yield (
        "witness-cosignature-bit-flip",
        "One bit of Wendy's signature is flipped: a bad line of a listed witness's key.",
        lambda b: _replace_cosignature(b, lambda blob: tlog.flip(blob, 40)),
        bad,
    )
    yield (
        "witness-cosignature-timestamp-changed",
        "Wendy's timestamp is moved one second after she signed.",
        lambda b: _replace_cosignature(b, lambda blob: tlog.flip(blob, 11)),
        bad,
    )
    yield (
        "witness-cosignature-short",
        "Wendy's line lacks the last byte of its signature.",
        lambda b: _replace_cosignature(b, lambda blob: blob[:-1]),
        bad,
    )
    yield (
        "witness-not-listed",
        "Wendy's cosignature is there but she is not listed in witnesses: it is ignored.",
        lambda b: b.update(witnesses={}),
        _ok(MAIN, 4, cosigned=False),
    )

    def unlisted_bad(b: dict[str, Any]) -> None:
        _replace_cosignature(b, lambda blob: tlog.flip(blob, 40))
        b.update(witnesses={})

    yield (
        "witness-not-listed-bad-cosignature",
        "A bad cosignature by a witness not listed is ignored like any unknown key's line.",
        unlisted_bad,
        _ok(MAIN, 4, cosigned=False),
    )
    other_network = Log(WENDY).inception(network=OTHER_NETWORK)
    yield (
        "witness-history-of-another-network",
        "Wendy's key history is her log in another network.",
        lambda b: b["witnesses"].update({WITNESS_NAME: [other_network.raws[0].hex()]}),
        error("verify.bad-key-history", witness=WITNESS_NAME),
    )


def _required(
    happy: dict[str, Any],
) -> Iterator[tuple[str, str, dict[str, Any], int, dict[str, Any]]]:
    """The federation's k given with the bundle: fewer witnesses is an error."""
    stripped = copy.deepcopy(happy)
    stripped["checkpoint"] = stripped["checkpoint"].replace(_cosignature_line(happy), "")
    yield "witnesses-required-met", "k = 1, and Wendy cosigned.", happy, 1, _ok(MAIN, 4)
    yield (
        "witnesses-required-not-met",
        "k = 2, and only Wendy cosigned.",
        happy,
        2,
        error("verify.too-few-witnesses", witnessed_by=1, required=2),
    )
    yield (
        "cosignatures-stripped-witnesses-required",
        "k = 1, and every cosignature line is removed: the author's word alone.",
        stripped,
        1,
        error("verify.too-few-witnesses", witnessed_by=0, required=1),
    )
