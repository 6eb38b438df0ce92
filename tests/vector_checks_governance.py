"""Checkers of the governance area of the conformance vectors (specs/vectors/governance/).

governance/charter  input.toml -> protocol.governance.parse_charter_toml. When ok:
                    expect.network_id (text) and charter_hex (charter_bytes). A
                    decode.bad-charter error gives expect.field.
governance/charter-exchange
                    input.network_hex, answer_hex -> protocol.governance.charter_from_answer.
                    When ok: expect.name, members (text ids), test.
governance/tally    input.electorate_hex, rules, proposal {id_hex, author_hex, seq, action
                    (tagged)}, votes [{id_hex, voter_hex, seq, proposal_hex, choice,
                    timestamp_ms}], checkpoints [{author_hex, size, cosignatures
                    [{witness_hex, timestamp_s}]}], now_s -> ledger.governance.tally, with witness
                    times from ledger.witnessclock over the electorate and
                    rules.witness_count. expect is TallyResult.to_json() plus ok.
governance/evolve   input.members_hex, rules, text (the charter's), proposals [as tally's
                    proposal], votes, vouches [{voucher_hex, seq, candidate_hex, vouch}],
                    forks [{proof_hex, author_hex, position}], checkpoints (as tally's),
                    at_s -> ledger.governance.evolve. expect:
                    members (text ids, sorted by bytes), rules, text, unfrozen and blocked
                    (text ids, sorted by bytes), applied [{proposal, effective_at_s}], skipped
                    [{proposal, reason}], tallies {proposal id text: TallyResult.to_json()},
                    plus ok.
governance/admit    input.rules, members_hex, vouched_hex, entry_hex -> decode the entry,
                    then ledger.admission.refusal with members and vouched admitted.
                    expect: {ok: true}, or the error's code and every field it carries.
"""

from __future__ import annotations

from typing import Any

from ledger.admission import refusal
from ledger.governance import Fork, Proposal, TallyResult, Vote, evolve, tally
from ledger.vouches import VouchEvent
from ledger.witnessclock import CosignedCheckpoint, WitnessClock
from protocol.entry import decode_entry
from protocol.governance import (
    Charter,
    Choice,
    ProposalBody,
    Rules,
    charter_bytes,
    charter_from_answer,
    charter_network_id,
    parse_charter_toml,
    proposal_body,
)
from protocol.ids import id_to_text
from protocol.jsonform import from_json
from tests.vector_support import Checker, expect_error, failure, same


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


def check_charter_exchange(data: dict[str, Any], expect: dict[str, Any]) -> None:
    network, answer = bytes.fromhex(data["network_hex"]), bytes.fromhex(data["answer_hex"])
    if not expect["ok"]:
        expect_error(expect, lambda: charter_from_answer(network, answer))
        return
    charter = charter_from_answer(network, answer)
    got = {
        "ok": True,
        "name": charter.name,
        "members": [id_to_text(m) for m in charter.members],
        "test": charter.test,
    }
    assert same(got, expect)


def _proposal(p: dict[str, Any]) -> Proposal:
    body = ProposalBody.model_validate({"proposal": from_json(p["action"])}, strict=True)
    return Proposal(
        bytes.fromhex(p["id_hex"]), bytes.fromhex(p["author_hex"]), p["seq"], body.proposal
    )


def _votes(rows: list[dict[str, Any]]) -> list[Vote]:
    return [
        Vote(
            bytes.fromhex(v["id_hex"]),
            bytes.fromhex(v["voter_hex"]),
            v["seq"],
            bytes.fromhex(v["proposal_hex"]),
            Choice(v["choice"]),
            v["timestamp_ms"],
        )
        for v in rows
    ]


def _clock(rows: list[dict[str, Any]]) -> WitnessClock:
    logs: dict[bytes, list[CosignedCheckpoint]] = {}
    for c in rows:
        stamps = {bytes.fromhex(w["witness_hex"]): w["timestamp_s"] for w in c["cosignatures"]}
        logs.setdefault(bytes.fromhex(c["author_hex"]), []).append((c["size"], stamps))
    return WitnessClock(logs)


def run_tally(data: dict[str, Any]) -> TallyResult:
    """The tally a vector's input describes."""
    electorate = frozenset(bytes.fromhex(h) for h in data["electorate_hex"])
    rules = Rules.model_validate(data["rules"], strict=True)
    clock = _clock(data["checkpoints"])

    def times(author: bytes, seq: int) -> int | None:
        return clock.witnessed_at(author, seq, electorate, rules.witness_count)

    return tally(
        _proposal(data["proposal"]), _votes(data["votes"]), electorate, times, rules,
        data["now_s"],
    )  # fmt: skip


def check_evolve(data: dict[str, Any], expect: dict[str, Any]) -> None:
    charter = Charter(
        version=1,
        name="Vector Commons",
        members=[bytes.fromhex(m) for m in data["members_hex"]],
        rules=Rules.model_validate(data["rules"], strict=True),
        text=data["text"],
    )
    proposals = [_proposal(p) for p in data["proposals"]]
    vouches = [
        VouchEvent(bytes.fromhex(v["voucher_hex"]), bytes.fromhex(v["candidate_hex"]), v["seq"],
                   v["vouch"])
        for v in data["vouches"]
    ]  # fmt: skip
    forks = [
        Fork(bytes.fromhex(f["proof_hex"]), bytes.fromhex(f["author_hex"]), f["position"])
        for f in data["forks"]
    ]
    state = evolve(charter, proposals, _votes(data["votes"]), _clock(data["checkpoints"]),
                   data["at_s"], vouches, forks)  # fmt: skip
    got = {
        "ok": True,
        "members": [id_to_text(m) for m in sorted(state.members)],
        "rules": state.rules.model_dump(),
        "text": state.text,
        "unfrozen": [id_to_text(u) for u in sorted(state.unfrozen)],
        "blocked": [id_to_text(b) for b in sorted(state.blocked)],
        "applied": [{"proposal": id_to_text(p), "effective_at_s": t} for p, t in state.applied],
        "skipped": [{"proposal": id_to_text(p), "reason": why} for p, why in state.skipped],
        "tallies": {id_to_text(r.proposal): r.to_json() for r in state.results},
    }
    assert same(got, expect)


def check_tally(data: dict[str, Any], expect: dict[str, Any]) -> None:
    assert same({"ok": True, **run_tally(data).to_json()}, expect)


def check_admit(data: dict[str, Any], expect: dict[str, Any]) -> None:
    rules = Rules.model_validate(data["rules"], strict=True)
    admitted = {bytes.fromhex(h) for h in [*data["members_hex"], *data["vouched_hex"]]}
    refused = refusal(decode_entry(bytes.fromhex(data["entry_hex"])), rules, admitted)
    got = {"ok": True} if refused is None else failure(refused, **refused.details)
    assert same(got, expect)


def check_proposal(data: dict[str, Any], expect: dict[str, Any]) -> None:
    action = from_json(data["action"])
    if not expect["ok"]:
        expect_error(expect, lambda: proposal_body(action))
        return
    assert proposal_body(action) == {"proposal": action}


GOVERNANCE_CHECKERS: dict[tuple[str, str], Checker] = {
    ("governance", "charter"): check_charter,
    ("governance", "charter-exchange"): check_charter_exchange,
    ("governance", "tally"): check_tally,
    ("governance", "evolve"): check_evolve,
    ("governance", "admit"): check_admit,
    ("governance", "proposal"): check_proposal,
}
