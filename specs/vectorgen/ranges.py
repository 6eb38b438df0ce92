"""ledger/ranges: entries received as a range with the author's checkpoint, stored whole."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from protocol import kinds
from protocol.keys import SigningKey
from specs.vectorgen import tlog
from specs.vectorgen.common import ALICE, ALICE_NEXT, BOB, NETWORK, Case, error, ok
from specs.vectorgen.logs import Log

MAIN = Log().inception().note().note().note().note().note().note()
#: Shares entries 1 to 3 with MAIN, then goes its own way.
FORK = Log().inception().note().note()
while len(FORK.raws) < len(MAIN.raws):
    FORK.add(kinds.NOTE, {"text": f"fork {len(FORK.raws) + 1}"})
LEAVES = [tlog.leaf_hash(raw) for raw in MAIN.raws]
FORK_LEAVES = [tlog.leaf_hash(raw) for raw in FORK.raws]


def _checkpoint(
    size: int, leaves: Sequence[bytes] = LEAVES, key: SigningKey = ALICE.signing
) -> str:
    return tlog.checkpoint(key, NETWORK, ALICE.id, size, tlog.mth(leaves[:size]))


def _proof(old: int, new: int, leaves: Sequence[bytes] = LEAVES) -> list[bytes]:
    return tlog.consistency_proof(old, leaves[:new]) if 0 < old < new else []


class Range:
    """Entries [held + 1, end] of MAIN (or `raws`) after `held` initial ones, with the
    checkpoint of size `size` (MAIN's, by default signed at `end`), the consistency proof
    from `end` to `size`, and the author's key events in (end, size]."""

    def __init__(
        self,
        held: int,
        end: int,
        size: int | None = None,
        *,
        raws: Sequence[bytes] | None = None,
        note: str | None = None,
        proof: Sequence[bytes] | None = None,
        log: Log = MAIN,
        later_key_events: Sequence[bytes] = (),
    ) -> None:
        size = end if size is None else size
        leaves = [tlog.leaf_hash(raw) for raw in log.raws]
        self.initial = log.raws[:held]
        self.raws = list(log.raws[held:end] if raws is None else raws)
        self.note = _checkpoint(size, leaves, log.signing) if note is None else note
        self.proof = _proof(end, size, leaves) if proof is None else list(proof)
        self.later = list(later_key_events)

    def data(self) -> dict[str, Any]:
        return {
            "network_hex": NETWORK.hex(),
            "author_hex": ALICE.id.hex(),
            "initial_entries_hex": [raw.hex() for raw in self.initial],
            "range_hex": [raw.hex() for raw in self.raws],
            "note": self.note,
            "proof_hex": [h.hex() for h in self.proof],
            "later_key_events_hex": [raw.hex() for raw in self.later],
        }


def range_cases() -> Iterator[Case]:
    for name, description, given, expect in _ranges():
        yield Case("ledger", "ranges", name, description, given.data(), expect)


def _ranges() -> Iterator[tuple[str, str, Range, dict[str, Any]]]:
    yield "from-empty", "Entries 1 to 5 with the checkpoint of size 5.", Range(0, 5), ok(size=5)
    yield (
        "extends",
        "Entries 4 to 7 after 3 held, with the checkpoint of 7.",
        Range(3, 7),
        ok(size=7),
    )
    yield (
        "before-checkpoint",
        "Entries 4 and 5 after 3 held, the checkpoint of 7 and the proof from 5 to 7.",
        Range(3, 5, 7),
        ok(size=5),
    )
    yield "empty-range", "No entry: the checkpoint of the 3 entries held.", Range(3, 3), ok(size=3)
    yield (
        "nothing-held-nothing-sent",
        "No entry held and none sent, with the checkpoint of 5: nothing for it to vouch for.",
        Range(0, 0, 5, proof=[]),
        error("verify.wrong-checkpoint"),
    )
    bad = _proof(5, 7)
    bad[0] = tlog.flip(bad[0])
    yield (
        "bad-proof",
        "Entries 4 and 5, the checkpoint of 7, one bit of the proof from 5 flipped.",
        Range(3, 5, 7, proof=bad),
        error("proof.root-mismatch"),
    )
    yield (
        "missing-proof",
        "Entries 4 and 5 with the checkpoint of 7 and no proof.",
        Range(3, 5, 7, proof=[]),
        error("proof.wrong-length"),
    )
    yield (
        "range-not-in-checkpoint",
        "Entries 4 and 5, then Alice's checkpoint of 7 of another history (sharing 1 to 3)"
        " with that history's proof from 5.",
        Range(
            3,
            5,
            raws=MAIN.raws[3:5],
            note=_checkpoint(7, FORK_LEAVES),
            proof=_proof(5, 7, FORK_LEAVES),
        ),
        error("proof.root-mismatch"),
    )
    replayed = [*MAIN.raws[3:5], MAIN.raws[2], MAIN.raws[6]]
    yield (
        "replayed-entry-in-range",
        "Entries 4, 5, then 3 again, then 7.",
        Range(3, 7, raws=replayed),
        error("verify.seq-stale"),
    )
    yield (
        "gap-before-range",
        "Entries 5 to 7 after 3 held.",
        Range(3, 7, raws=MAIN.raws[4:7]),
        error("verify.seq-gap"),
    )
    yield (
        "checkpoint-too-small",
        "Entries 4 to 7 with the checkpoint of size 6.",
        Range(3, 7, note=_checkpoint(6), proof=[]),
        error("verify.wrong-checkpoint"),
    )
    bob = Log(BOB).inception().note().note().note().note().note().note()
    bob_root = tlog.mth([tlog.leaf_hash(raw) for raw in bob.raws])
    yield (
        "checkpoint-other-author",
        "Entries 4 to 7 with Bob's checkpoint of size 7.",
        Range(3, 7, note=tlog.checkpoint(BOB.signing, NETWORK, BOB.id, 7, bob_root)),
        error("verify.wrong-checkpoint"),
    )
    yield (
        "checkpoint-not-signed-by-author",
        "Entries 4 to 7 with a checkpoint signed by Bob under Alice's origin.",
        Range(3, 7, note=_checkpoint(7, key=BOB.signing)),
        error("verify.no-author-signature"),
    )
    yield (
        "root-mismatch",
        "Entries 4 to 7 with Alice's checkpoint of 7 of another history.",
        Range(3, 7, note=_checkpoint(7, FORK_LEAVES)),
        error("verify.checkpoint-mismatch"),
    )
    yield from _rotations()


def _rotations() -> Iterator[tuple[str, str, Range, dict[str, Any]]]:
    rotated = Log().inception().note().note().rotate(ALICE_NEXT).note().note()
    rotation = rotated.events[1]
    yield (
        "checkpoint-after-unfetched-rotation",
        "Entries 1 to 3, the checkpoint of 6 by the key a rotation at seq 4 put in force,"
        " and that rotation.",
        Range(0, 3, 6, log=rotated, later_key_events=[rotation]),
        ok(size=3),
    )
    yield (
        "unfetched-rotation-missing",
        "Entries 1 to 3, the checkpoint of 6 by the key rotated to at seq 4, no key event.",
        Range(0, 3, 6, log=rotated),
        error("verify.no-author-signature"),
    )
    yield (
        "later-key-event-beyond-checkpoint",
        "Entries 1 to 3 and the checkpoint of 3, with the rotation at seq 4 as a later event.",
        Range(0, 3, 3, log=rotated, note=_checkpoint(3), later_key_events=[rotation]),
        error("verify.bad-key-history"),
    )
    yield (
        "later-key-event-not-later",
        "Entries 1 to 5 and the checkpoint of 6, with the rotation at seq 4 as a later event.",
        Range(0, 5, 6, log=rotated, later_key_events=[rotation]),
        error("verify.bad-key-history"),
    )
