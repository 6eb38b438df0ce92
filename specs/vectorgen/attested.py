"""ledger/attested-ranges: ranges authentic by their checkpoint alone (specs/0003 §4.2),
and the "invalid-entry" fork proofs a failed deferred check makes (specs/0004 §2.1).

Each range case is a `ranges.Range` input; its expectation says which seqs are stored
unchecked (all but the key events) and, for a range holding an entry whose signature
fails, what the deferred check yields: `verify.signed-invalid-entry` at that seq and the
proof against the author, built here from the RFC 6962 reference (specs/vectorgen/tlog).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from protocol import canonical
from protocol.ids import id_to_text
from specs.vectorgen import tlog
from specs.vectorgen.common import ALICE, ALICE_NEXT, NETWORK, Case, error, ok
from specs.vectorgen.forkproofs import ForkCase, encode
from specs.vectorgen.logs import Log
from specs.vectorgen.ranges import Range

BAD_AT = 5  # the seq of the badly signed entry


def _flip_signature(log: Log) -> Log:
    """The log's last entry with one bit of its signature flipped (its last byte)."""
    raw = log.raws[-1]
    log.raws[-1] = raw[:-1] + bytes([raw[-1] ^ 1])
    return log


def _bad_log() -> Log:
    log = Log().inception().note().note().note().note()
    _flip_signature(log)
    return log.note().note()


def _note(log: Log, size: int) -> bytes:
    leaves = [tlog.leaf_hash(raw) for raw in log.raws]
    return tlog.checkpoint(ALICE.signing, NETWORK, ALICE.id, size, tlog.mth(leaves[:size])).encode()


def invalid_entry_proof(log: Log, seq: int, size: int, *, events: Sequence[bytes] = ()) -> bytes:
    """The "invalid-entry" proof of entry `seq` under the checkpoint of `size`."""
    leaves = [tlog.leaf_hash(raw) for raw in log.raws[:size]]
    side = canonical.encode([log.raws[seq - 1], tlog.inclusion_path(seq - 1, leaves)])
    return encode("invalid-entry", _note(log, size), side, events or log.events)


def cases() -> Iterator[Case]:
    for name, description, given, expect in _ranges():
        yield Case("ledger", "attested-ranges", name, description, given.data(), expect)
    for name, description, raw, expect in _fork_cases():
        data = {"fork_proof_hex": raw.hex()}
        yield Case("ledger", "fork-proofs", name, description, data, expect)


def _ranges() -> Iterator[tuple[str, str, Range, dict[str, Any]]]:
    main = Log().inception().note().note().note().note().note().note()
    yield (
        "matches-root",
        "Entries 4 to 7 after 3 held, with the checkpoint of 7: its one signature check"
        " authenticates them; all four wait unchecked.",
        Range(3, 7, log=main),
        ok(size=7, unchecked_seqs=[4, 5, 6, 7]),
    )
    yield (
        "matches-root-through-proof",
        "Entries 1 to 5 with the checkpoint of 7 and the consistency proof from 5: all but"
        " the inception (a key event, checked at once) wait unchecked.",
        Range(0, 5, 7, log=main),
        ok(size=5, unchecked_seqs=[2, 3, 4, 5]),
    )
    other = Log().inception().note().note().note()
    other.add("note", {"text": "another history"}).note().note()
    yield (
        "root-differs",
        "Entries 1 to 7 with Alice's checkpoint of 7 over another history: refused whole.",
        Range(0, 7, log=main, note=_note(other, 7).decode()),
        error("verify.checkpoint-mismatch"),
    )
    bad = _bad_log()
    yield (
        "bad-entry-signature",
        f"Entries 1 to 7 with the checkpoint of 7, entry {BAD_AT}'s signature broken: the"
        " range is accepted with one check; the deferred check of that entry fails and"
        " yields the invalid-entry proof against Alice.",
        Range(0, 7, log=bad),
        ok(
            size=7,
            unchecked_seqs=[2, 3, 4, 5, 6, 7],
            deferred={
                "code": "verify.signed-invalid-entry",
                "seq": BAD_AT,
                "fork_proof_hex": invalid_entry_proof(bad, BAD_AT, 7).hex(),
            },
        ),
    )
    rotated = Log().inception().note().note().rotate(ALICE_NEXT)
    _flip_signature(rotated).note().note()
    yield (
        "bad-key-event-signature",
        "Entries 1 to 6, the rotation at seq 4 badly signed: key events are checked on"
        " receipt, so the range is refused at once.",
        Range(0, 6, log=rotated),
        error("verify.bad-signature"),
    )


def _fork_cases() -> Iterator[ForkCase]:
    """Fork proofs of kind "invalid-entry" (specs/0004 §2.1, §3 rows 10 to 14)."""
    bad = _bad_log()
    yield (
        "invalid-entry",
        f"Alice's checkpoint of 7 and entry {BAD_AT}, whose signature fails, with its"
        " inclusion proof.",
        invalid_entry_proof(bad, BAD_AT, 7),
        ok(
            kind="invalid-entry",
            position=BAD_AT,
            author=id_to_text(ALICE.id),
            network=id_to_text(NETWORK),
        ),
    )
    yield (
        "invalid-entry-signature-holds",
        "Alice's checkpoint of 7 and entry 4, whose signature holds: no proof of anything.",
        invalid_entry_proof(bad, 4, 7),
        error("verify.bad-fork-proof"),
    )
    leaves = [tlog.leaf_hash(raw) for raw in bad.raws]
    wrong = [tlog.flip(h) for h in tlog.inclusion_path(BAD_AT - 1, leaves)]
    side = canonical.encode([bad.raws[BAD_AT - 1], wrong])
    yield (
        "invalid-entry-wrong-inclusion",
        f"Entry {BAD_AT} with an inclusion proof that does not lead to the checkpoint's root.",
        encode("invalid-entry", _note(bad, 7), side, bad.events),
        error("proof.root-mismatch"),
    )
