"""designs/takedown (specs/0010 §7, specs/0009 §9): withdrawals and the blocklist.

Plain data in (designs with their authors and files, valid `design.withdraw` entries,
the blobs a node keeps for a job, the federation's blocklist); out: the designs
withdrawn (with the withdrawal shown), the withdrawals ignored with their code, and
for every blob named what a node does with it: serve it or answer `none`, store it
or refuse, fetch it or refuse. Ids are SHA-256 of fixed labels: deterministic.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

from protocol.ids import id_from_text, id_to_text
from specs.vectorgen.common import T0_MS, Case, ok

NOT_AUTHOR = "rule.withdraw-not-author"
BLOCKED = "rule.blob-blocked"
WITHDRAWN = "rule.design-withdrawn"


def _id(*parts: str) -> bytes:
    return hashlib.sha256("/".join(("takedown", *parts)).encode()).digest()


A, B = _id("author", "a"), _id("author", "b")
F1, F2, F3 = _id("file", "1"), _id("file", "2"), _id("file", "3")
D1, D2, D3 = _id("design", "1"), _id("design", "2"), _id("design", "3")
DESIGNS = [(D1, A, [F1, F2]), (D2, A, [F2]), (D3, B, [F3])]


def _withdrawal(name: str, author: bytes, design: bytes, at_ms: int) -> dict[str, Any]:
    return {"entry_id": id_to_text(_id("withdrawal", name)), "author": id_to_text(author),
            "design": id_to_text(design), "reason": f"reason {name}",
            "timestamp_ms": at_ms}  # fmt: skip


def _blob(blob: bytes, blocked: set[bytes], withheld: set[bytes]) -> dict[str, Any]:
    """The literal rule of 0009 §9: blocked first, then withheld."""
    if blob in blocked:
        return {"blob": id_to_text(blob), "serve": False, "store": {"code": BLOCKED},
                "fetch": {"code": BLOCKED}}  # fmt: skip
    fetch = {"code": WITHDRAWN} if blob in withheld else None
    return {"blob": id_to_text(blob), "serve": blob not in withheld, "store": None, "fetch": fetch}


def _case(
    name: str,
    description: str,
    withdrawals: list[dict[str, Any]],
    withdrawn: list[tuple[bytes, dict[str, Any]]],
    ignored: list[str],
    withheld: set[bytes],
    kept: tuple[bytes, ...] = (),
    blocked: tuple[bytes, ...] = (),
) -> Case:
    designs = [{"id": id_to_text(d), "author": id_to_text(a),
                "files": [id_to_text(f) for f in files]} for d, a, files in DESIGNS]  # fmt: skip
    data = {"designs": designs, "withdrawals": withdrawals,
            "kept": [id_to_text(b) for b in kept],
            "blocked": [id_to_text(b) for b in blocked]}  # fmt: skip
    expect = ok(
        withdrawn=[{"design": id_to_text(d), "entry_id": w["entry_id"]}
                   for d, w in sorted(withdrawn, key=lambda x: x[0])],
        ignored=[{"entry_id": e, "code": NOT_AUTHOR}
                 for e in sorted(ignored, key=id_from_text)],
        blobs=[_blob(b, set(blocked), withheld) for b in sorted({F1, F2, F3, *blocked})],
    )  # fmt: skip
    return Case("designs", "takedown", name, description, data, expect)


def cases() -> Iterator[Case]:
    t = T0_MS + 60_000
    w1 = _withdrawal("w1", A, D1, t)
    yield _case(
        "withdrawn-by-author",
        "A withdraws D1: its file f1 is withheld (not served, not fetched, may be stored); "
        "f2 is also D2's, a live design, so it is still served.",
        [w1], [(D1, w1)], [], {F1},
    )  # fmt: skip
    wb = _withdrawal("wb", B, D1, t)
    yield _case(
        "withdrawn-by-another",
        "B withdraws A's design D1: ignored (rule.withdraw-not-author); nothing is withheld.",
        [wb], [], [wb["entry_id"]], set(),
    )  # fmt: skip
    w2 = _withdrawal("w2", A, D1, t + 1000)
    w3 = _withdrawal("w3", A, D3, t)
    yield _case(
        "earliest-withdrawal-shown",
        "A withdraws D1 twice: the earlier one is shown. A's withdrawal of B's D3 is ignored.",
        [w2, w1, w3], [(D1, w1)], [w3["entry_id"]], {F1},
    )  # fmt: skip
    yield _case(
        "kept-for-a-job",
        "D1 is withdrawn but the node keeps f1 for a job it is a party to: f1 is served.",
        [w1], [(D1, w1)], [], set(), kept=(F1,),
    )  # fmt: skip
    unknown = _withdrawal("w1", A, _id("design", "not-held"), t)
    yield _case(
        "design-not-held",
        "A withdrawal naming a design this node does not hold waits for it: neither honoured "
        "nor ignored.",
        [unknown], [], [], set(),
    )  # fmt: skip
    yield _case(
        "blocked",
        "The blocklist holds f1 (a withdrawn design's) and f3 (a live design's): both are "
        "refused for store, fetch and serve with rule.blob-blocked, which comes first.",
        [w1], [(D1, w1)], [], {F1}, blocked=(F1, F3),
    )  # fmt: skip
