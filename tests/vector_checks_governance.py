"""Checkers of the governance area of the conformance vectors (specs/vectors/governance/).

governance/charter  input.toml -> protocol.governance.parse_charter_toml. When ok:
                    expect.network_id (text) and charter_hex (charter_bytes). A
                    decode.bad-charter error gives expect.field.
governance/tally    input.electorate_hex, rules, proposal {id_hex, author_hex, seq, action
                    (tagged)}, votes [{id_hex, voter_hex, seq, proposal_hex, choice,
                    timestamp_ms}], checkpoints [{author_hex, size, cosignatures {witness
                    hex: timestamp_s}}], now_s -> ledger.governance.tally, with witness
                    times from ledger.witnessclock over the electorate and
                    rules.witness_count. expect is TallyResult.to_json() plus ok.
"""

from __future__ import annotations

from typing import Any

from ledger.governance import Proposal, TallyResult, Vote, tally
from ledger.witnessclock import CosignedCheckpoint, WitnessClock
from protocol.governance import (
    Choice,
    ProposalBody,
    Rules,
    charter_bytes,
    charter_network_id,
    parse_charter_toml,
)
from protocol.ids import id_to_text
from protocol.jsonform import from_json
from tests.vector_support import Checker, expect_error, same


def check_charter(data: dict[str, Any], expect: dict[str, Any]) -> None:
    if not expect["ok"]:
        expect_error(expect, lambda: parse_charter_toml(data["toml"]))
        return
    charter = parse_charter_toml(data["toml"])
    got = {
        "ok": True,
        "network_id": id_to_text(charter_network_id(charter)),
        "charter_hex": charter_bytes(charter).hex(),
    }
    assert same(got, expect)


def run_tally(data: dict[str, Any]) -> TallyResult:
    """The tally a vector's input describes."""
    electorate = frozenset(bytes.fromhex(h) for h in data["electorate_hex"])
    rules = Rules.model_validate(data["rules"], strict=True)
    p = data["proposal"]
    body = ProposalBody.model_validate({"proposal": from_json(p["action"])}, strict=True)
    proposal = Proposal(
        bytes.fromhex(p["id_hex"]), bytes.fromhex(p["author_hex"]), p["seq"], body.proposal
    )
    votes = [
        Vote(
            bytes.fromhex(v["id_hex"]),
            bytes.fromhex(v["voter_hex"]),
            v["seq"],
            bytes.fromhex(v["proposal_hex"]),
            Choice(v["choice"]),
            v["timestamp_ms"],
        )
        for v in data["votes"]
    ]
    logs: dict[bytes, list[CosignedCheckpoint]] = {}
    for c in data["checkpoints"]:
        stamps = {bytes.fromhex(w): t for w, t in c["cosignatures"].items()}
        logs.setdefault(bytes.fromhex(c["author_hex"]), []).append((c["size"], stamps))
    clock = WitnessClock(logs)

    def times(author: bytes, seq: int) -> int | None:
        return clock.witnessed_at(author, seq, electorate, rules.witness_count)

    return tally(proposal, votes, electorate, times, rules, data["now_s"])


def check_tally(data: dict[str, Any], expect: dict[str, Any]) -> None:
    assert same({"ok": True, **run_tally(data).to_json()}, expect)


GOVERNANCE_CHECKERS: dict[tuple[str, str], Checker] = {
    ("governance", "charter"): check_charter,
    ("governance", "tally"): check_tally,
}
