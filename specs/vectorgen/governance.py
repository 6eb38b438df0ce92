"""governance/charter, governance/tally and governance/evolve (specs/0008-governance.md).

Expectations come from how each case is built: which votes the case means to count and
why the others are excluded, the counts those give, and the thresholds of §5 computed
here in integers; for evolve, which proposals the case means to pass and when they take
effect (§6). Nothing is read back from ledger.governance.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from protocol import canonical
from protocol.identity import network_id
from protocol.ids import id_to_text
from protocol.jsonform import to_json
from specs.vectorgen.common import Case, error, identity, ok

LABS = [identity(f"lab-{c}").id for c in "abcde"]
MEMBERS = sorted(LABS)
OUTSIDER = identity("lab-x").id
A, B, C, D, E = MEMBERS
T0_S = 1_767_225_600
PERIOD_S = 86_400
DELAY_S = 3_600
RULES: dict[str, Any] = {
    "quorum_permille": 600,
    "pass_threshold_permille": 500,
    "veto_threshold_permille": 334,
    "voting_period_s": PERIOD_S,
    "effect_delay_s": DELAY_S,
    "admission_vouches": 2,
    "licences": ["CC-BY-SA-4.0", "CERN-OHL-S-2.0"],
    "max_entry_bytes": 32_768,
    "max_str_bytes": 4_096,
    "max_blob_bytes": 104_857_600,
    "job_offer_ttl_s": 604_800,
    "witness_count": 3,
}


def charter_cases() -> Iterator[Case]:
    def case(name: str, description: str, toml: str, expect: dict[str, Any]) -> Case:
        return Case("governance", "charter", name, description, {"toml": toml}, expect)

    good = _charter_toml(RULES)
    value = {"version": 1, "name": "Vector Commons", "members": MEMBERS, "rules": RULES,
             "text": "We share designs."}  # fmt: skip
    raw = canonical.encode(value)
    yield case(
        "five-founders",
        "Five founding labs; the network id is the digest of the canonical charter.",
        good,
        ok(network_id=id_to_text(network_id(raw)), charter_hex=raw.hex()),
    )
    reversed_members = good.replace(_members_toml(MEMBERS), _members_toml(MEMBERS[::-1]))
    yield case(
        "members-in-any-order",
        "The same charter with members listed in reverse: same bytes, same network id.",
        reversed_members,
        ok(network_id=id_to_text(network_id(raw)), charter_hex=raw.hex()),
    )
    test_raw = canonical.encode({**value, "test": True})
    yield case(
        "test-federation",
        "A test federation (0008 §1.2): `test = true` is hashed, so its id differs.",
        good.replace('text = "We share designs."', 'text = "We share designs."\ntest = true'),
        ok(network_id=id_to_text(network_id(test_raw)), charter_hex=test_raw.hex()),
    )
    bad: list[tuple[str, str, str]] = [
        ("float-threshold", "A threshold written as a float.", "quorum_permille = 33.4"),
        ("above-hard-cap", "max_entry_bytes above the hard cap.", "max_entry_bytes = 65537"),
        ("threshold-out-of-range", "A 1000 per-mille threshold.", "pass_threshold_permille = 1000"),
        ("unknown-rule", "A rule this version does not know.", "quorum_percent = 40"),
        ("too-many-witnesses", "witness_count above the founders.", "witness_count = 6"),
    ]
    for name, description, line in bad:
        field = "charter" if name == "too-many-witnesses" else "rules." + line.split(" = ")[0]
        key = line.split(" = ")[0]
        rules_toml = "\n".join(
            line if ln.startswith(key + " =") else ln for ln in _rules_toml(RULES).splitlines()
        )
        if not any(ln.startswith(key + " =") for ln in _rules_toml(RULES).splitlines()):
            rules_toml += "\n" + line
        text = good.replace(_rules_toml(RULES), rules_toml)
        yield case(name, description, text, error("decode.bad-charter", field=field))
    duplicate = good.replace(_members_toml(MEMBERS), _members_toml([*MEMBERS, A]))
    yield case(
        "duplicate-member",
        "A founding member listed twice.",
        duplicate,
        error("decode.bad-charter", field="members"),
    )
    yield case(
        "not-toml", "Text that is not TOML.", "name = ", error("decode.bad-charter", field="toml")
    )


def _members_toml(members: list[bytes]) -> str:
    return "members = [\n" + "".join(f'  "{id_to_text(m)}",\n' for m in members) + "]\n"


def _rules_toml(rules: dict[str, Any]) -> str:
    lines = []
    for key, value in rules.items():
        shown = "[" + ", ".join(f'"{v}"' for v in value) + "]" if isinstance(value, list) else value
        lines.append(f"{key} = {shown}")
    return "\n".join(lines)


def _charter_toml(rules: dict[str, Any]) -> str:
    head = 'version = 1\nname = "Vector Commons"\ntext = "We share designs."\n'
    return head + _members_toml(MEMBERS) + "\n[rules]\n" + _rules_toml(rules) + "\n"


# --- tallies -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class V:
    """One vote a case casts: who, what, at which seq, when witnessed, and its fate."""

    voter: bytes
    choice: str
    seq: int
    witnessed_s: int | None  # None: no checkpoint covers it
    fate: str  # "counted" or an exclusion reason
    claimed_s: int | None = None  # the voter's own timestamp (default: witnessed time)


PROPOSER_SEQ = 2
OPENED_S = T0_S + 100
DEADLINE_S = OPENED_S + PERIOD_S


def _id(*parts: Any) -> bytes:
    return hashlib.sha256(repr(parts).encode()).digest()


PROPOSAL_ID = _id("proposal", A)


def _cosigners(author: bytes, electorate: list[bytes]) -> list[bytes]:
    return [m for m in electorate if m != author][:3]


def _tally_input(votes: list[V], electorate: list[bytes], now_s: int) -> dict[str, Any]:
    checkpoints = [_checkpoint(A, PROPOSER_SEQ, OPENED_S, electorate)]
    rows = []
    for v in votes:
        vote_id = _id("vote", v.voter, v.seq)
        claimed = v.claimed_s if v.claimed_s is not None else (v.witnessed_s or T0_S)
        rows.append({"id_hex": vote_id.hex(), "voter_hex": v.voter.hex(), "seq": v.seq,
                     "proposal_hex": PROPOSAL_ID.hex(), "choice": v.choice,
                     "timestamp_ms": claimed * 1000})  # fmt: skip
        if v.witnessed_s is not None:
            checkpoints.append(_checkpoint(v.voter, v.seq, v.witnessed_s, electorate))
    action = {"action": "member.admit", "title": "Admit lab X", "member": OUTSIDER}
    proposal = {"id_hex": PROPOSAL_ID.hex(), "author_hex": A.hex(), "seq": PROPOSER_SEQ,
                "action": to_json(action)}  # fmt: skip
    return {"electorate_hex": [m.hex() for m in electorate], "rules": RULES, "proposal": proposal,
            "votes": rows, "checkpoints": checkpoints, "now_s": now_s}  # fmt: skip


def _checkpoint(author: bytes, size: int, at_s: int, electorate: list[bytes]) -> dict[str, Any]:
    """Three cosigners (not the author) at at_s - 1, at_s, at_s + 1: upper median at_s."""
    stamps = {
        w.hex(): at_s + d for w, d in zip(_cosigners(author, electorate), (-1, 0, 1), strict=True)
    }
    cosignatures = [{"witness_hex": w, "timestamp_s": t} for w, t in sorted(stamps.items())]
    return {"author_hex": author.hex(), "size": size, "cosignatures": cosignatures}


def _expect(votes: list[V], electorate: list[bytes], now_s: int) -> dict[str, Any]:
    return ok(**_tally_expect(votes, electorate, now_s, OPENED_S))


def _tally_expect(
    votes: list[V], electorate: list[bytes], now_s: int, opened_s: int
) -> dict[str, Any]:
    deadline_s = opened_s + PERIOD_S
    counted = [v for v in votes if v.fate == "counted"]
    n = {c: sum(1 for v in counted if v.choice == c) for c in ("yes", "no", "abstain", "veto")}
    voted, size = len(counted), len(electorate)
    quorum = voted * 1000 >= RULES["quorum_permille"] * size
    vetoed = voted > 0 and n["veto"] * 1000 >= RULES["veto_threshold_permille"] * voted
    against = n["yes"] + n["no"] + n["veto"]
    met = against > 0 and n["yes"] * 1000 > RULES["pass_threshold_permille"] * against
    if now_s < deadline_s:
        outcome = "voting"
    else:
        outcome = (
            "no-quorum" if not quorum else "vetoed" if vetoed else "passed" if met else "rejected"
        )
    excluded = {
        id_to_text(_id("vote", v.voter, v.seq)): v.fate for v in votes if v.fate != "counted"
    }
    counted_ids = [id_to_text(_id("vote", v.voter, v.seq)) for v in _by_voter(counted)]
    return {"outcome": outcome, "opened_at_s": opened_s, "deadline_s": deadline_s,
            "effective_at_s": deadline_s + DELAY_S, "electorate_size": size, "counts": n,
            "quorum_reached": quorum, "threshold_met": met, "vetoed": vetoed,
            "counted": counted_ids, "excluded": dict(sorted(excluded.items()))}  # fmt: skip


def _in_time(choice: str) -> Any:
    def vote(voter: bytes, seq: int = 2) -> V:
        return V(voter, choice, seq, OPENED_S + 60, "counted")

    return vote


yes, no, veto, abstain = (_in_time(c) for c in ("yes", "no", "veto", "abstain"))


def _by_voter(votes: list[V]) -> list[V]:
    return sorted(votes, key=lambda v: v.voter)


def tally_cases() -> Iterator[Case]:
    t = OPENED_S + 60
    after = DEADLINE_S + DELAY_S
    base = [yes(A, 3), yes(B), no(C)]  # 2 yes, 1 no: passes; a further no makes it 2-2
    specs: list[tuple[str, str, list[V], list[bytes], int]] = [
        ("passes", "Three yes and one no of five: quorum 4/5, 3/4 yes.",
         [*base[:2], yes(C), no(D)], MEMBERS, after),
        ("exactly-at-threshold", "Two yes, two no: 1/2 does not exceed 500 per mille.",
         [*base, no(D)], MEMBERS, after),
        ("quorum-missed-by-one", "Two of five vote; quorum 600 per mille needs three.",
         base[:2], MEMBERS, after),
        ("quorum-exactly-met", "Three of five vote: 600 per mille, quorum reached.",
         [*base[:2], abstain(C)], MEMBERS, after),
        ("vetoed", "Three yes, two veto: vetoes 400 per mille, at or above 334.",
         [*base[:2], yes(C), veto(D), veto(E)], MEMBERS, after),
        ("veto-under-threshold", "Four yes, one veto: 200 per mille of vetoes; passes.",
         [*base[:2], yes(C), yes(D), veto(E)], MEMBERS, after),
        ("all-abstain", "Quorum reached by abstentions alone: nothing to pass on.",
         [abstain(B), abstain(C), abstain(D)], MEMBERS, after),
        ("replaced-vote", "B votes no, then yes at a higher seq in time: the yes counts.",
         [yes(A, 3), V(B, "no", 2, t, "replaced"), V(B, "yes", 3, t + 10, "counted"), no(C)],
         MEMBERS, after),
        ("late-vote", "D's vote is witnessed exactly at the deadline: late.",
         [*base, V(D, "no", 2, DEADLINE_S, "late")], MEMBERS, after),
        ("backdated-vote", "D's vote claims a time before the deadline, witnessed after it.",
         [*base, V(D, "no", 2, DEADLINE_S + 600, "late", claimed_s=t)], MEMBERS, after),
        ("late-vote-does-not-replace", "C votes yes in time, then no too late: yes counts.",
         [yes(A, 3), no(B), yes(C), V(C, "no", 3, DEADLINE_S + 1, "late")], MEMBERS, after),
        ("removed-member", "E is not in the electorate given (removed before the proposal "
         "opened; evolve/removed-member-votes removes it by vote): E's vote is excluded.",
         [*base, V(E, "no", 2, t, "not-in-electorate")], [A, B, C, D], after),
        ("outsider-vote", "A lab that is not a member votes.",
         [*base[:2], yes(C), V(OUTSIDER, "no", 2, t, "not-in-electorate")], MEMBERS, after),
        ("unwitnessed-vote", "C's vote is covered by no cosigned checkpoint.",
         [*base[:2], yes(D), V(C, "no", 2, None, "not-witnessed")], MEMBERS, after),
        ("still-voting", "Before the deadline the outcome is 'voting' whatever the counts.",
         [*base[:2], yes(C)], MEMBERS, t + 100),
    ]  # fmt: skip
    for name, description, votes, electorate, now_s in specs:
        yield Case(
            "governance",
            "tally",
            name,
            description,
            _tally_input(votes, electorate, now_s),
            _expect(votes, electorate, now_s),
        )


# --- the state in force -------------------------------------------------------------


def _evolve_row(proposal: bytes, author: bytes, seq: int, action: dict[str, Any]) -> Any:
    return {"id_hex": proposal.hex(), "author_hex": author.hex(), "seq": seq,
            "action": to_json(action)}  # fmt: skip


def _vote_rows(proposal: bytes, votes: list[V]) -> list[dict[str, Any]]:
    return [{"id_hex": _id("vote", v.voter, v.seq).hex(), "voter_hex": v.voter.hex(),
             "seq": v.seq, "proposal_hex": proposal.hex(), "choice": v.choice,
             "timestamp_ms": (v.witnessed_s or T0_S) * 1000} for v in votes]  # fmt: skip


def evolve_cases() -> Iterator[Case]:
    """removed-member-votes: E is removed by a passed proposal, then votes on a proposal
    opened after the removal took effect (the tally suite's removed-member gives the
    electorate directly)."""
    removed_at = DEADLINE_S + DELAY_S
    later_id, later_opened = _id("proposal", B), removed_at + 100
    at_s = later_opened + PERIOD_S + DELAY_S + 100
    remaining = [A, B, C, D]
    remove = {"action": "member.remove", "title": "Remove lab E", "member": E}
    amend = {"action": "charter.amend", "title": "Say more", "text": "We share more."}
    t1, t2 = OPENED_S + 60, later_opened + 60
    first = [V(A, "yes", 3, t1, "counted"), *(V(m, "yes", 2, t1, "counted") for m in (B, C, D))]
    later = [V(A, "yes", 4, t2, "counted"), V(B, "yes", 4, t2, "counted"),
             V(C, "no", 3, t2, "counted"), V(D, "no", 3, t2, "counted"),
             V(E, "yes", 2, t2, "not-in-electorate")]  # fmt: skip
    checkpoints = [_checkpoint(A, PROPOSER_SEQ, OPENED_S, MEMBERS),
                   _checkpoint(B, 3, later_opened, remaining)]  # fmt: skip
    checkpoints += [_checkpoint(v.voter, v.seq, t1, MEMBERS) for v in first]
    checkpoints += [_checkpoint(v.voter, v.seq, t2, remaining) for v in later]
    data = {"members_hex": [m.hex() for m in MEMBERS], "rules": RULES,
            "text": "We share designs.",
            "proposals": [_evolve_row(PROPOSAL_ID, A, PROPOSER_SEQ, remove),
                          _evolve_row(later_id, B, 3, amend)],
            "votes": _vote_rows(PROPOSAL_ID, first) + _vote_rows(later_id, later),
            "checkpoints": checkpoints, "at_s": at_s}  # fmt: skip
    tallies = {
        id_to_text(PROPOSAL_ID): _tally_expect(first, MEMBERS, at_s, OPENED_S),
        id_to_text(later_id): _tally_expect(later, remaining, at_s, later_opened),
    }
    assert tallies[id_to_text(later_id)]["outcome"] == "rejected"  # E's yes would pass it
    expect = ok(members=sorted(id_to_text(m) for m in remaining), text="We share designs.",
                applied=[{"proposal": id_to_text(PROPOSAL_ID), "effective_at_s": removed_at}],
                skipped=[], tallies=dict(sorted(tallies.items())))  # fmt: skip
    yield Case(
        "governance",
        "evolve",
        "removed-member-votes",
        "E is removed by a passed vote, then votes on a later proposal: not in its electorate.",
        data,
        expect,
    )


def cases() -> Iterator[Case]:
    yield from charter_cases()
    yield from tally_cases()
    yield from evolve_cases()
