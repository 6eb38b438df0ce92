"""Taking things down: withdrawn designs and blocked blobs (specs/0010 §7, specs/0009 §9).

Two mechanisms, one module:
  * a **withdrawal** (`design.withdraw`) is an author's own act on one design version:
    `judge_withdrawals` honours it only when its author is the design's author (any
    other is ignored with `rule.withdraw-not-author`); a withdrawal naming a design
    not held yet waits for it (neither honoured nor ignored). When a design has
    several, the earliest (timestamp_ms, then entry id) is the one shown.
  * the **blocklist** is the federation's (ledger.governance, a passed `blobs.block`).
`BlobPolicy` says what a node does with one blob given both: a blocked blob is never
stored, fetched or served (`rule.blob-blocked`); a *withheld* blob — one named by a
withdrawn design and by no live design nor anything the node keeps for a job
(`withheld_blobs`) — is not served (answered as not held) and not fetched
(`rule.design-withdrawn`), but may still be stored.

Guarantees: every function is pure and order-free (inputs are sets). Left to others:
reading entries (node.store.catalogue keeps the same facts in SQLite, and this module
is its reference), deleting blocked blobs, and the job blobs a node keeps.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Final

from protocol import kinds
from protocol.design import WITHDRAW, WithdrawBody
from protocol.entry import Entry
from protocol.errors import RuleViolationError
from protocol.ids import id_to_text

NOT_AUTHOR: Final = "rule.withdraw-not-author"
BLOCKED: Final = "rule.blob-blocked"
WITHDRAWN: Final = "rule.design-withdrawn"


@dataclass(frozen=True, slots=True)
class Withdrawal:
    """A valid `design.withdraw` entry."""

    entry_id: bytes
    author: bytes
    design: bytes
    reason: str
    timestamp_ms: int


def withdrawal_from_entry(entry: Entry) -> Withdrawal | None:
    """The withdrawal an entry carries, or None if it is not a valid design.withdraw."""
    if entry.kind != WITHDRAW:
        return None
    model = kinds.check_body(entry.kind, entry.body).model
    if not isinstance(model, WithdrawBody):
        return None
    return Withdrawal(entry.id, entry.author, model.design, model.reason, entry.timestamp_ms)


@dataclass(frozen=True, slots=True)
class DesignFacts:
    """What takedown needs of one valid, unrevoked design entry."""

    id: bytes
    author: bytes
    files: frozenset[bytes]


@dataclass(frozen=True, slots=True)
class Judged:
    """`withdrawn`: design id -> the withdrawal shown; `ignored`: entry id -> code."""

    withdrawn: dict[bytes, Withdrawal] = field(default_factory=dict)
    ignored: dict[bytes, str] = field(default_factory=dict)


def judge_withdrawals(
    designs: Mapping[bytes, DesignFacts], withdrawals: Iterable[Withdrawal]
) -> Judged:
    """Which designs are withdrawn, and which withdrawals are ignored (module doc)."""
    judged = Judged()
    for w in {w.entry_id: w for w in withdrawals}.values():
        design = designs.get(w.design)
        if design is None:
            continue
        if design.author != w.author:
            judged.ignored[w.entry_id] = NOT_AUTHOR
            continue
        held = judged.withdrawn.get(w.design)
        if held is None or (w.timestamp_ms, w.entry_id) < (held.timestamp_ms, held.entry_id):
            judged.withdrawn[w.design] = w
    return judged


def withheld_blobs(
    designs: Mapping[bytes, DesignFacts],
    withdrawn: Collection[bytes],
    kept: Collection[bytes] = (),
) -> frozenset[bytes]:
    """Blobs named by a withdrawn design and by no live design, less `kept` (the blobs
    a node keeps for a job it is a party to)."""
    gone: set[bytes] = set()
    live: set[bytes] = set()
    for design in designs.values():
        (gone if design.id in withdrawn else live).update(design.files)
    return frozenset(gone - live - set(kept))


@dataclass(frozen=True, slots=True)
class BlobPolicy:
    """What a node does with a blob, given the blocklist and its withheld blobs."""

    blocked: frozenset[bytes] = frozenset()
    withheld: frozenset[bytes] = frozenset()

    def store_refusal(self, blob: bytes) -> RuleViolationError | None:
        """Why the blob may not be stored (added, uploaded, fetched into the store)."""
        if blob in self.blocked:
            return RuleViolationError(BLOCKED, f"blob {id_to_text(blob)} is blocked")
        return None

    def fetch_refusal(self, blob: bytes) -> RuleViolationError | None:
        """Why the blob may not be fetched from peers."""
        refused = self.store_refusal(blob)
        if refused is None and blob in self.withheld:
            why = f"blob {id_to_text(blob)} belongs only to withdrawn designs"
            refused = RuleViolationError(WITHDRAWN, why)
        return refused

    def serves(self, blob: bytes) -> bool:
        """Whether a held blob is served to peers (else it is answered as not held)."""
        return blob not in self.blocked and blob not in self.withheld


NO_POLICY: Final = BlobPolicy()
