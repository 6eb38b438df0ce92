"""Checkers of the designs area of the conformance vectors (specs/vectors/designs/).

designs/takedown  input.designs [{id, author, files}], withdrawals [{entry_id, author,
                  design, reason, timestamp_ms}], kept, blocked (id texts) ->
                  ledger.takedown.judge_withdrawals, withheld_blobs and BlobPolicy.
                  expect: withdrawn [{design, entry_id}] (by design id bytes), ignored
                  [{entry_id, code}] (by entry id bytes), blobs [{blob, serve, store,
                  fetch}] (by blob id bytes; store and fetch null or {code}), plus ok.
"""

from __future__ import annotations

from typing import Any

from ledger.takedown import (
    BlobPolicy,
    DesignFacts,
    Withdrawal,
    judge_withdrawals,
    withheld_blobs,
)
from protocol.errors import CommonsError
from protocol.ids import id_from_text, id_to_text
from tests.vector_support import Checker, same


def _code(error: CommonsError | None) -> dict[str, str] | None:
    return None if error is None else {"code": error.code}


def check_takedown(data: dict[str, Any], expect: dict[str, Any]) -> None:
    designs = {
        id_from_text(d["id"]): DesignFacts(
            id_from_text(d["id"]),
            id_from_text(d["author"]),
            frozenset(id_from_text(f) for f in d["files"]),
        )
        for d in data["designs"]
    }
    withdrawals = [
        Withdrawal(id_from_text(w["entry_id"]), id_from_text(w["author"]),
                   id_from_text(w["design"]), w["reason"], w["timestamp_ms"])
        for w in data["withdrawals"]
    ]  # fmt: skip
    judged = judge_withdrawals(designs, withdrawals)
    kept = {id_from_text(b) for b in data["kept"]}
    blocked = frozenset(id_from_text(b) for b in data["blocked"])
    policy = BlobPolicy(blocked, withheld_blobs(designs, judged.withdrawn, kept))
    named = {f for d in designs.values() for f in d.files} | blocked
    got = {
        "ok": True,
        "withdrawn": [
            {"design": id_to_text(d), "entry_id": id_to_text(w.entry_id)}
            for d, w in sorted(judged.withdrawn.items())
        ],
        "ignored": [
            {"entry_id": id_to_text(e), "code": c} for e, c in sorted(judged.ignored.items())
        ],
        "blobs": [
            {
                "blob": id_to_text(b),
                "serve": policy.serves(b),
                "store": _code(policy.store_refusal(b)),
                "fetch": _code(policy.fetch_refusal(b)),
            }
            for b in sorted(named)
        ],
    }
    assert same(got, expect)


DESIGN_CHECKERS: dict[tuple[str, str], Checker] = {("designs", "takedown"): check_takedown}
