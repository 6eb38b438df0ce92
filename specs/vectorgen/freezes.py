"""ledger/freezes: an entry received from a frozen author, or against a lifted fork.

A node holds the first entries of Alice's log, has been given fork proofs of her log
and has the lifts of the governance state in force (0004 §4-§5); then one entry
arrives (0003 §4). Every proof here is an entries fork built from two branches of
Alice's log, so its position is the seq at which the branches part; the verdicts
follow from that position and the lifts, as 0004 §5.1 states them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from typing import Any

from protocol import kinds
from protocol.ids import id_to_text
from specs.vectorgen.common import NETWORK, Case, error, ok
from specs.vectorgen.forkproofs import encode
from specs.vectorgen.logs import Log

SUITE = ("ledger", "freezes")
#: Alice's log as this node holds it: an inception and five notes.
MAIN = Log().inception().note().note().note().note().note()


def _branch(shared: int) -> Log:
    """A log sharing MAIN's first `shared` entries, then another note."""
    log = Log().inception()
    while len(log.raws) < shared:
        log.note()
    return log.add(kinds.NOTE, {"text": f"the other branch at {shared + 1}"})


AT_3, AT_2, AT_5 = _branch(2), _branch(1), _branch(4)
#: The fork at seq 3: MAIN's entry 3 and the other branch's.
PROOF_3 = encode("entries", MAIN.raws[2], AT_3.raws[2], MAIN.events)
#: A fork proof this node is never given (a lift may name it all the same).
UNHELD = hashlib.sha256(b"a fork proof held elsewhere").digest()


def _id(raw: bytes) -> str:
    return id_to_text(hashlib.sha256(raw).digest())


def case(
    name: str,
    description: str,
    held: int,
    entry: bytes,
    expect: dict[str, Any],
    *,
    lifted: Sequence[bytes] = (),
) -> Case:
    data = {
        "network_hex": NETWORK.hex(),
        "held_hex": [raw.hex() for raw in MAIN.raws[:held]],
        "fork_proofs_hex": [PROOF_3.hex()],
        "lifted": [id_to_text(p) for p in lifted],
        "entry_hex": entry.hex(),
    }
    return Case(*SUITE, name, description, data, expect)


def freeze_cases() -> Iterator[Case]:
    lift = [hashlib.sha256(PROOF_3).digest()]
    yield case(
        "frozen",
        "Alice's next entry, 4, while the fork at seq 3 freezes her.",
        3,
        MAIN.raws[3],
        error("rule.frozen-author"),
    )
    yield case(
        "lift-of-another-proof",
        "Alice's entry 4 while the only lift in force names a proof of another fork.",
        3,
        MAIN.raws[3],
        error("rule.frozen-author"),
        lifted=[UNHELD],
    )
    yield case(
        "frozen-duplicate",
        "An entry this node holds already (3), while Alice is frozen.",
        3,
        MAIN.raws[2],
        error("rule.frozen-author"),
    )
    yield case(
        "lifted-goes-on",
        "The fork at seq 3 is lifted: Alice's entry 4 extends the branch held here.",
        3,
        MAIN.raws[3],
        ok(size=4, frozen=False),
        lifted=lift,
    )
    yield case(
        "lifted-duplicate",
        "The fork at seq 3 is lifted; an entry held already (3) arrives again.",
        3,
        MAIN.raws[2],
        ok(size=3, frozen=False),
        lifted=lift,
    )
    yield case(
        "lifted-other-branch",
        "The fork at seq 3 is lifted; the other branch's entry 3 arrives.",
        3,
        AT_3.raws[2],
        error("rule.lifted-fork"),
        lifted=lift,
    )
    yield case(
        "lifted-conflict-below",
        "The fork at seq 3 is lifted; an entry 2 of a third branch arrives: 2 is at or"
        " below the lifted position, so it is forgiven too.",
        3,
        AT_2.raws[1],
        error("rule.lifted-fork"),
        lifted=lift,
    )
    yield case(
        "new-fork-above-lift",
        "The fork at seq 3 is lifted and this node holds 5 entries; an entry 5 of another"
        " branch arrives: a fork above the lifted position freezes Alice again.",
        5,
        AT_5.raws[4],
        ok(size=5, frozen=True),
        lifted=lift,
    )


def cases() -> Iterator[Case]:
    yield from freeze_cases()
