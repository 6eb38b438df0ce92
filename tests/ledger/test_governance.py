"""Charters, rules, tallies and the governance state (specs/0008-governance.md)."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.governance import (
    Exclusion,
    GovernanceState,
    Outcome,
    Proposal,
    Vote,
    apply_proposal,
    evolve,
    proposal_from_entry,
    rules_hash,
    rules_in_force,
    tally,
    vote_from_entry,
)
from ledger.vouches import VouchEvent, standing_vouches, vouch_from_entry
from ledger.witnessclock import CosignedCheckpoint, WitnessClock, upper_median, witnessed_at
from protocol.errors import DecodeError, LocalMisuseError
from protocol.governance import (
    PROPOSAL,
    VOTE,
    AdmitMember,
    AmendCharter,
    ChangeRules,
    Charter,
    Choice,
    RemoveMember,
    Rules,
    RulesChange,
    charter_bytes,
    charter_network_id,
    charter_toml,
    decode_charter,
    parse_charter_toml,
)
from protocol.kinds import check_body
from specs.vectorgen import governance as gen
from specs.vectorgen.common import Case
from tests.factory import Author
from tests.vector_checks_governance import GOVERNANCE_CHECKERS

RULES = Rules.model_validate(gen.RULES, strict=True)
CHARTER = Charter(version=1, name="Test Commons", members=gen.MEMBERS, rules=RULES, text="t")
A, B, C, D, E = gen.MEMBERS
X = gen.OUTSIDER


# --- vectors, checked in memory (the files are written once the suites are wired) --------


@pytest.mark.parametrize("case", list(gen.cases()), ids=lambda c: c.path)
def test_vector_case(case: Case) -> None:
    data = json.loads(case.to_text())
    GOVERNANCE_CHECKERS[case.area, case.suite](data["input"], data["expect"])


@pytest.mark.parametrize(
    ("name", "outcome"),
    [
        ("passes", "passed"),
        ("exactly-at-threshold", "rejected"),  # "exceeds" is strictly greater
        ("quorum-missed-by-one", "no-quorum"),
        ("quorum-exactly-met", "passed"),
        ("vetoed", "vetoed"),
        ("veto-under-threshold", "passed"),
        ("all-abstain", "rejected"),
        ("replaced-vote", "passed"),
        ("late-vote", "passed"),  # the late no would have made it 2-2
        ("backdated-vote", "passed"),
        ("removed-member", "passed"),
        ("still-voting", "voting"),
    ],
)
def test_vector_outcomes_are_the_intended_ones(name: str, outcome: str) -> None:
    (case,) = [c for c in gen.tally_cases() if c.case == name]
    assert case.expect["outcome"] == outcome


# --- witness clock --------------------------------------------------------------------


def test_upper_median() -> None:
    assert upper_median([5, 1, 3]) == 3
    assert upper_median([1, 2, 3, 4]) == 3
    with pytest.raises(LocalMisuseError):
        upper_median([])


def test_witnessed_at_takes_the_best_covering_checkpoint() -> None:
    cps: list[CosignedCheckpoint] = [
        (1, {B: 10, C: 11, D: 12}),  # does not cover seq 2
        (3, {B: 100, C: 101, D: 102}),
        (5, {B: 50, C: 51, D: 52, E: 53}),  # upper median of four: 52
    ]
    assert witnessed_at(2, cps, gen.MEMBERS, 3) == 52
    assert witnessed_at(4, cps, gen.MEMBERS, 3) == 52
    assert witnessed_at(6, cps, gen.MEMBERS, 3) is None
    assert witnessed_at(2, cps, gen.MEMBERS, 5) is None


def test_an_author_cannot_witness_its_own_entries() -> None:
    cps: list[CosignedCheckpoint] = [(2, {A: 1, B: 1000, C: 1001})]
    assert witnessed_at(2, cps, gen.MEMBERS, 3, author=A) is None
    assert witnessed_at(2, cps, gen.MEMBERS, 2, author=A) == 1001


def test_non_members_do_not_witness() -> None:
    cps: list[CosignedCheckpoint] = [(2, {X: 1, B: 5, C: 6})]
    assert witnessed_at(2, cps, gen.MEMBERS, 3) is None


# --- tally with real entries: the voter's timestamp is never trusted ---------------------


def test_backdated_signed_vote_is_not_counted() -> None:
    labs = {name: Author(name) for name in ("t-a", "t-b", "t-c", "t-d", "t-e")}
    ids = sorted(a.id for a in labs.values())
    electorate = frozenset(ids)
    a = labs["t-a"]
    body = {"proposal": {"action": "member.admit", "title": "Admit X", "member": X}}
    prop_entry = a.append(PROPOSAL, body)
    proposal = proposal_from_entry(prop_entry)
    assert proposal is not None
    opened = 1_700_000_100
    deadline = opened + RULES.voting_period_s
    logs: dict[bytes, list[CosignedCheckpoint]] = {}

    def witness(author: Author, at_s: int) -> None:
        others = [i for i in ids if i != author.id][:3]
        logs.setdefault(author.id, []).append(
            (len(author.entries), {w: at_s + d for w, d in zip(others, (-1, 0, 1), strict=True)})
        )

    witness(a, opened)
    votes = []
    for name, choice, at_s in [("t-b", "yes", opened + 5), ("t-c", "no", opened + 5)]:
        votes.append(labs[name].append(VOTE, {"proposal": proposal.id, "choice": choice}))
        witness(labs[name], at_s)
    late = labs["t-d"]
    late.clock_ms = (deadline - 1000) * 1000  # claims to be well before the deadline
    votes.append(late.append(VOTE, {"proposal": proposal.id, "choice": "yes"}))
    witness(late, deadline + 30)
    assert votes[-1].timestamp_ms < deadline * 1000
    clock = WitnessClock(logs)

    def times(author: bytes, seq: int) -> int | None:
        return clock.witnessed_at(author, seq, electorate, RULES.witness_count)

    parsed = [v for v in map(vote_from_entry, votes) if v is not None]
    result = tally(proposal, parsed, electorate, times, RULES, deadline + 10_000)
    assert (result.yes, result.no, result.opened_at_s) == (1, 1, opened)
    assert [(x.vote.voter, x.reason) for x in result.excluded] == [(late.id, Exclusion.LATE)]
    assert result.outcome is Outcome.NO_QUORUM  # 2 of 5 is under 600 per mille


def test_entries_of_other_kinds_are_not_votes() -> None:
    author = Author("t-z")
    assert vote_from_entry(author.note("hello")) is None
    assert (
        proposal_from_entry(author.append(VOTE, {"proposal": bytes(32), "choice": "yes"})) is None
    )
    assert vote_from_entry(author.append(VOTE, {"proposal": bytes(32), "choice": "maybe"})) is None


# --- charters and rules ---------------------------------------------------------------


def test_charter_toml_round_trip_and_network_id() -> None:
    parsed = parse_charter_toml(charter_toml(CHARTER))
    assert charter_bytes(parsed) == charter_bytes(CHARTER)
    assert decode_charter(charter_bytes(CHARTER)) == CHARTER
    assert len(charter_network_id(CHARTER)) == 32
    other = CHARTER.model_copy(update={"text": "u"})
    assert charter_network_id(other) != charter_network_id(CHARTER)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"quorum_permille": 0}, "quorum_permille"),
        ({"max_entry_bytes": 10**9}, "max_entry_bytes"),
        ({"licences": ["b", "a"]}, "licences"),
        ({"voting_period_s": 60}, "voting_period_s"),
    ],
)
def test_rule_changes_out_of_bounds_are_refused(change: dict[str, Any], field: str) -> None:
    with pytest.raises(DecodeError) as info:
        RulesChange.model_validate(change, strict=True).apply(RULES)
    assert (info.value.code, info.value.details["field"]) == ("decode.bad-rules", field)


def test_proposal_and_vote_bodies() -> None:
    admit = {"proposal": {"action": "member.admit", "title": "t", "member": X}}
    assert check_body(PROPOSAL, admit).valid
    rules = {"proposal": {"action": "rules.change", "title": "t", "changes": {}}}
    assert check_body(PROPOSAL, rules).code == "body.invalid"
    flt = {
        "proposal": {"action": "rules.change", "title": "t", "changes": {"quorum_permille": 0.5}}
    }
    assert check_body(PROPOSAL, flt).code == "body.invalid"
    assert (
        check_body(PROPOSAL, {"proposal": {"action": "nope", "title": "t"}}).code == "body.invalid"
    )
    assert check_body(VOTE, {"proposal": bytes(32), "choice": "veto"}).valid
    assert check_body("member.vouch", {"candidate": X}).valid


# --- the state in force ---------------------------------------------------------------

DAY = 86_400
T = gen.T0_S


class World:
    """Proposals, votes and checkpoints built for evolve: each entry witnessed when said."""

    def __init__(self) -> None:
        self.proposals: list[Proposal] = []
        self.votes: list[Vote] = []
        self.vouches: list[VouchEvent] = []
        self.logs: dict[bytes, list[CosignedCheckpoint]] = {}
        self.seq: dict[bytes, int] = {}

    def _witness(self, author: bytes, at_s: int, witnesses: list[bytes]) -> int:
        seq = self.seq.get(author, 1) + 1
        self.seq[author] = seq
        others = [w for w in witnesses if w != author][:3]
        stamps = {w: at_s + d for w, d in zip(others, (-1, 0, 1), strict=True)}
        self.logs.setdefault(author, []).append((seq, stamps))
        return seq

    def propose(self, author: bytes, action: Any, at_s: int) -> Proposal:
        seq = self._witness(author, at_s, gen.MEMBERS)
        p = Proposal(gen._id("p", author, seq), author, seq, action)
        self.proposals.append(p)
        return p

    def vote(self, voter: bytes, p: Proposal, choice: str, at_s: int) -> None:
        seq = self._witness(voter, at_s, gen.MEMBERS)
        self.votes.append(Vote(gen._id("v", voter, seq), voter, seq, p.id, Choice(choice), 0))

    def vouch(self, voucher: bytes, candidate: bytes, at_s: int, on: bool = True) -> None:
        seq = self._witness(voucher, at_s, gen.MEMBERS)
        self.vouches.append(VouchEvent(voucher, candidate, seq, on))

    def run(self, at_s: int) -> Any:
        clock = WitnessClock(self.logs)
        return evolve(CHARTER, self.proposals, self.votes, clock, at_s, self.vouches)


def _world() -> tuple[World, Proposal, Proposal, Proposal]:
    w = World()
    for referee in (C, D):  # admission_vouches = 2 (§3.2)
        w.vouch(referee, X, T - 50)
    admit = w.propose(A, AdmitMember(action="member.admit", title="x", member=X), T)
    change = ChangeRules(action="rules.change", title="q", changes=RulesChange(quorum_permille=400))
    rules = w.propose(B, change, T + 10)
    remove = w.propose(C, RemoveMember(action="member.remove", title="e", member=E), T + 20)
    for voter in (A, B, C, D):
        w.vote(voter, admit, "yes", T + 100)
        w.vote(voter, rules, "yes", T + 100)
    for voter in (A, B, C):
        w.vote(voter, remove, "yes", T + 100)
    w.vote(E, remove, "veto", T + 200)
    return w, admit, rules, remove


def test_changes_take_effect_at_deadline_plus_delay() -> None:
    w, admit, rules, _ = _world()
    effect = T + RULES.voting_period_s + RULES.effect_delay_s
    before = w.run(effect - 1)
    assert before.members == frozenset(gen.MEMBERS) and before.rules == RULES
    after = w.run(effect + 100)
    assert X in after.members and E not in after.members
    assert after.rules.quorum_permille == 400
    assert [pid for pid, _ in after.applied][:2] == [admit.id, rules.id]
    tallied = [(p, r) for p in w.proposals for r in after.results if r.proposal == p.id]
    assert rules_in_force(CHARTER, tallied, effect + 100) == after.rules


def test_the_electorate_is_fixed_when_the_proposal_opens() -> None:
    w, admit, _, remove = _world()
    # X votes on a proposal opened before X's admission took effect: excluded.
    w.vote(X, admit, "no", T + 300)
    late_opened = w.propose(
        D, AmendCharter(action="charter.amend", title="amend", text="new text"), T + 2 * DAY
    )
    for voter in (A, B, X):
        w.vote(voter, late_opened, "yes", T + 2 * DAY + 50)
    state = w.run(T + 10 * DAY)
    by_id = {r.proposal: r for r in state.results}
    assert [x.reason for x in by_id[admit.id].excluded] == [Exclusion.NOT_IN_ELECTORATE]
    # E was removed before the amendment opened; X had joined: electorate A B C D X.
    assert by_id[late_opened.id].electorate_size == 5
    assert by_id[late_opened.id].yes == 3 and state.text == "new text"
    assert by_id[remove.id].veto == 1  # E still voted on its own removal: fixed electorate


def test_a_member_removed_by_vote_is_out_of_later_electorates() -> None:
    """E is removed by a passed proposal, then votes on one opened after the removal
    took effect: excluded as not in the electorate, never counted (§5, §6)."""
    w = World()
    remove = w.propose(A, RemoveMember(action="member.remove", title="e", member=E), T)
    for voter in (A, B, C, D):
        w.vote(voter, remove, "yes", T + 100)
    removed_at = T + RULES.voting_period_s + RULES.effect_delay_s
    later = w.propose(
        B, AmendCharter(action="charter.amend", title="t", text="later"), removed_at + 10
    )
    for voter, choice in ((A, "yes"), (B, "yes"), (C, "no"), (D, "no"), (E, "yes")):
        w.vote(voter, later, choice, removed_at + 100)
    state = w.run(removed_at + 10 * DAY)
    by_id = {r.proposal: r for r in state.results}
    assert by_id[remove.id].passed and E not in state.members
    assert [pid for pid, _ in state.applied] == [remove.id]
    result = by_id[later.id]
    assert result.electorate_size == 4 and (result.yes, result.no) == (2, 2)
    assert [(x.vote.voter, x.reason) for x in result.excluded] == [(E, Exclusion.NOT_IN_ELECTORATE)]
    assert E not in {v.voter for v in result.counted}
    # 2 yes of 4 does not exceed 500 per mille; E's yes would have made it 3 of 5.
    assert result.outcome is Outcome.REJECTED and state.text == CHARTER.text


@settings(max_examples=40, deadline=None)
@given(st.randoms(use_true_random=False))
def test_arrival_order_does_not_change_the_state(rnd: random.Random) -> None:
    w, *_ = _world()
    at = T + 3 * DAY
    want = w.run(at)
    proposals, votes = list(w.proposals), list(w.votes)
    rnd.shuffle(proposals)
    rnd.shuffle(votes)
    logs = {k: rnd.sample(v, len(v)) for k, v in rnd.sample(list(w.logs.items()), len(w.logs))}
    vouches = rnd.sample(w.vouches, len(w.vouches))
    clock = WitnessClock(logs)
    got = evolve(CHARTER, proposals + proposals[:1], votes + votes[:2], clock, at, vouches)
    assert rules_hash(got.rules) == rules_hash(want.rules)
    assert got == want


def test_void_changes_are_skipped_with_a_reason() -> None:
    state = GovernanceState.of_charter(CHARTER)
    k5 = ChangeRules(action="rules.change", title="k", changes=RulesChange(witness_count=5))
    cases: list[tuple[Any, str]] = [
        (k5, "witness-count-above-members"),
        (AdmitMember(action="member.admit", title="a", member=A), "already-member"),
        (RemoveMember(action="member.remove", title="r", member=X), "not-a-member"),
    ]
    for action, reason in cases:
        after = apply_proposal(state, Proposal(bytes(32), A, 2, action), T)
        assert after.skipped == ((bytes(32), reason),)
        assert (after.rules, after.members) == (state.rules, state.members)
    remove_d = RemoveMember(action="member.remove", title="r", member=D)
    smaller = apply_proposal(state, Proposal(bytes(32), A, 2, remove_d), T)
    assert smaller.members == state.members - {D}  # four left: three others still witness
    remove_c = RemoveMember(action="member.remove", title="r", member=C)
    after = apply_proposal(smaller, Proposal(bytes(32), A, 3, remove_c), T)
    assert after.skipped == ((bytes(32), "too-few-members-to-witness"),)


def test_proposals_by_non_members_are_ignored() -> None:
    w, *_ = _world()
    outsider = w.propose(X, AmendCharter(action="charter.amend", title="t", text="x"), T + 5)
    for voter in gen.MEMBERS:
        w.vote(voter, outsider, "yes", T + 100)
    state = w.run(T + 10 * DAY)
    assert outsider.id not in {r.proposal for r in state.results}
    assert state.text == CHARTER.text


def test_two_votes_at_one_seq_resolve_the_same_in_any_order() -> None:
    electorate = frozenset(gen.MEMBERS)
    proposal = Proposal(bytes(32), A, 2, AmendCharter(action="charter.amend", title="t", text=""))
    forked = [Vote(bytes([n]) * 32, B, 3, bytes(32), choice, 0) for n, choice in
              ((1, Choice.YES), (2, Choice.NO))]  # fmt: skip

    def times(author: bytes, seq: int) -> int | None:
        return T

    results = [tally(proposal, vs, electorate, times, RULES, T + DAY * 30)
               for vs in (forked, forked[::-1])]  # fmt: skip
    assert results[0] == results[1]
    assert [v.choice for v in results[0].counted] == [Choice.NO]


def _admission(vouch_times: list[tuple[bytes, int, bool]]) -> tuple[GovernanceState, bytes]:
    w = World()
    for voucher, at, on in vouch_times:
        w.vouch(voucher, X, at, on)
    admit = w.propose(A, AdmitMember(action="member.admit", title="x", member=X), T)
    for voter in (A, B, C, D):
        w.vote(voter, admit, "yes", T + 100)
    return w.run(T + 3 * DAY), admit.id


def test_an_admission_needs_its_referees_vouches() -> None:
    state, _ = _admission([(B, T - 10, True), (C, T + 10, True)])
    assert X in state.members  # two standing vouches, witnessed before the deadline
    deadline = T + RULES.voting_period_s
    cases = [
        [(B, T - 10, True)],  # one referee only
        [(B, T - 10, True), (C, T - 5, True), (C, T, False)],  # C withdrew its vouch
        [(B, T - 10, True), (E, deadline + 5, True)],  # E vouched after the deadline
        [(B, T - 10, True), (X, T - 10, True)],  # a candidate is no referee of itself
    ]
    for vouches in cases:
        state, admit = _admission(vouches)
        assert X not in state.members, vouches
        assert (admit, "too-few-vouches") in state.skipped


def test_vouch_entries() -> None:
    lab = Author("lab-vouch")
    on = vouch_from_entry(lab.append("member.vouch", {"candidate": X}))
    off = vouch_from_entry(lab.append("member.unvouch", {"candidate": X}))
    assert on == VouchEvent(lab.id, X, 2, True) and off == VouchEvent(lab.id, X, 3, False)
    assert vouch_from_entry(lab.note("n")) is None
    assert vouch_from_entry(lab.append("member.vouch", {"candidate": b"short"})) is None


def test_a_forked_vouch_and_unvouch_at_one_seq_give_the_unvouch_in_any_order() -> None:
    events = [VouchEvent(A, X, 2, True), VouchEvent(A, X, 2, False), VouchEvent(B, X, 2, True)]
    for order in (events, events[::-1]):
        standing = standing_vouches(X, order, frozenset({A, B}), lambda _a, _s: 0, 10)
        assert standing == {B}
