"""Tallies, membership and the rules in force (specs/0008-governance.md §5-§7).

`tally` counts the votes on one proposal against its fixed electorate and its rules and
returns a `TallyResult` (counts, quorum, thresholds, outcome, the votes counted and the
ones excluded with why), never a bare bool. `evolve` folds a charter and every proposal
and vote of a ledger into the `GovernanceState` in force at a time: proposals open when
witnessed (ledger.witnessclock), passed ones take effect at deadline + effect delay, in
(effective time, proposal id) order. Inputs are sets: the order entries arrived in never
changes the result, so every node with the same entries and cosignatures computes the
same state, byte for byte (`rules_hash`).

Left to others: reading entries and cosignatures from storage, and enforcing the rules
(membership in gossip and sync, size limits, licences). Pure: no I/O, no clock.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any

from ledger.vouches import VouchEvent, standing_vouches
from ledger.witnessclock import WitnessClock
from protocol import canonical
from protocol.entry import Entry
from protocol.errors import DecodeError
from protocol.governance import (
    PERMILLE,
    PROPOSAL,
    VOTE,
    AdmitMember,
    AmendCharter,
    BlockBlobs,
    ChangeRules,
    Charter,
    Choice,
    LiftFreeze,
    ProposalAction,
    ProposalBody,
    RemoveMember,
    Rules,
    UnblockBlobs,
    VoteBody,
)
from protocol.ids import id_to_text
from protocol.kinds import check_body

#: (author, seq) -> witnessed-by time in seconds, or None; bound to one electorate and k.
WitnessTimes = Callable[[bytes, int], int | None]


@dataclass(frozen=True, slots=True)
class Proposal:
    """A gov.proposal entry: its entry id is the proposal id."""

    id: bytes
    author: bytes
    seq: int
    action: ProposalAction


@dataclass(frozen=True, slots=True)
class Vote:
    """A gov.vote entry; `timestamp_ms` is the voter's claim, never trusted (§4)."""

    id: bytes
    voter: bytes
    seq: int
    proposal: bytes
    choice: Choice
    timestamp_ms: int


def proposal_from_entry(entry: Entry) -> Proposal | None:
    """The proposal an entry carries, or None if it is not a valid gov.proposal."""
    status = check_body(entry.kind, entry.body) if entry.kind == PROPOSAL else None
    if status is None or not isinstance(status.model, ProposalBody):
        return None
    return Proposal(entry.id, entry.author, entry.seq, status.model.proposal)


def vote_from_entry(entry: Entry) -> Vote | None:
    """The vote an entry carries, or None if it is not a valid gov.vote."""
    status = check_body(entry.kind, entry.body) if entry.kind == VOTE else None
    if status is None or not isinstance(status.model, VoteBody):
        return None
    body = status.model
    return Vote(
        entry.id, entry.author, entry.seq, body.proposal, Choice(body.choice), entry.timestamp_ms
    )


class Outcome(Enum):
    NOT_OPENED = "not-opened"  # the proposal entry itself is not witnessed
    VOTING = "voting"  # now is before the deadline
    NO_QUORUM = "no-quorum"
    VETOED = "vetoed"
    REJECTED = "rejected"
    PASSED = "passed"


class Exclusion(Enum):
    OTHER_PROPOSAL = "other-proposal"
    NOT_IN_ELECTORATE = "not-in-electorate"
    NOT_WITNESSED = "not-witnessed"
    LATE = "late"  # witnessed at or after the deadline, whatever its own timestamp says
    REPLACED = "replaced"  # the same voter's later vote (higher seq) counts instead


@dataclass(frozen=True, slots=True)
class Excluded:
    vote: Vote
    reason: Exclusion
    witnessed_at_s: int | None


@dataclass(frozen=True, slots=True)
class TallyResult:
    """The tally of one proposal (§5). Counts are of distinct electorate members."""

    proposal: bytes
    opened_at_s: int | None
    deadline_s: int | None
    effective_at_s: int | None
    electorate_size: int
    yes: int
    no: int
    abstain: int
    veto: int
    quorum_permille: int
    pass_threshold_permille: int
    veto_threshold_permille: int
    quorum_reached: bool
    threshold_met: bool
    vetoed: bool
    outcome: Outcome
    counted: tuple[Vote, ...]
    excluded: tuple[Excluded, ...]

    @property
    def voted(self) -> int:
        return self.yes + self.no + self.abstain + self.veto

    @property
    def passed(self) -> bool:
        return self.outcome is Outcome.PASSED

    def to_json(self) -> dict[str, Any]:
        """The result in the vectors' expect form: ids as text, votes by entry id."""
        return {
            "outcome": self.outcome.value,
            "opened_at_s": self.opened_at_s,
            "deadline_s": self.deadline_s,
            "effective_at_s": self.effective_at_s,
            "electorate_size": self.electorate_size,
            "counts": {"yes": self.yes, "no": self.no, "abstain": self.abstain, "veto": self.veto},
            "quorum_reached": self.quorum_reached,
            "threshold_met": self.threshold_met,
            "vetoed": self.vetoed,
            "counted": [id_to_text(v.id) for v in self.counted],
            "excluded": {id_to_text(x.vote.id): x.reason.value for x in self.excluded},
        }


def tally(
    proposal: Proposal,
    votes: Iterable[Vote],
    electorate: frozenset[bytes],
    witness_times: WitnessTimes,
    rules: Rules,
    now_s: int,
) -> TallyResult:
    """Tally `votes` on `proposal` (§5); `electorate` and `rules` are those at its opening."""
    opened = witness_times(proposal.author, proposal.seq)
    empty = TallyResult(proposal.id, None, None, None, len(electorate), 0, 0, 0, 0,
                        rules.quorum_permille, rules.pass_threshold_permille,
                        rules.veto_threshold_permille, False, False, False,
                        Outcome.NOT_OPENED, (), ())  # fmt: skip
    if opened is None:
        return empty
    deadline = opened + rules.voting_period_s
    counted, excluded = _sort_votes(proposal.id, votes, electorate, witness_times, deadline)
    n = {c: sum(1 for v in counted if v.choice is c) for c in Choice}
    yes, no, veto = n[Choice.YES], n[Choice.NO], n[Choice.VETO]
    voted = len(counted)
    quorum = voted * PERMILLE >= rules.quorum_permille * len(electorate)
    vetoed = voted > 0 and veto * PERMILLE >= rules.veto_threshold_permille * voted
    # A veto is a "no with veto" (Cosmos x/gov): it counts as a no in the pass ratio.
    met = yes + no + veto > 0 and yes * PERMILLE > rules.pass_threshold_permille * (yes + no + veto)
    if now_s < deadline:
        outcome = Outcome.VOTING
    elif not quorum:
        outcome = Outcome.NO_QUORUM
    elif vetoed:
        outcome = Outcome.VETOED
    else:
        outcome = Outcome.PASSED if met else Outcome.REJECTED
    return replace(
        empty,
        opened_at_s=opened,
        deadline_s=deadline,
        effective_at_s=deadline + rules.effect_delay_s,
        yes=yes,
        no=no,
        abstain=n[Choice.ABSTAIN],
        veto=veto,
        quorum_reached=quorum,
        threshold_met=met,
        vetoed=vetoed,
        outcome=outcome,
        counted=counted,
        excluded=excluded,
    )


def _sort_votes(
    proposal: bytes,
    votes: Iterable[Vote],
    electorate: frozenset[bytes],
    witness_times: WitnessTimes,
    deadline_s: int,
) -> tuple[tuple[Vote, ...], tuple[Excluded, ...]]:
    """Counted votes (one per voter, sorted by voter) and the excluded (sorted by id)."""
    excluded: list[Excluded] = []
    latest: dict[bytes, tuple[Vote, int]] = {}
    for vote in {v.id: v for v in votes}.values():
        at = witness_times(vote.voter, vote.seq) if vote.voter in electorate else None
        reason = _exclusion(vote, proposal, electorate, at, deadline_s)
        if reason is not None:
            excluded.append(Excluded(vote, reason, at))
            continue
        assert at is not None
        held = latest.get(vote.voter)
        # Highest seq wins; equal seqs (a forked log, 0004) fall back to the entry id.
        if held is not None and (held[0].seq, held[0].id) > (vote.seq, vote.id):
            excluded.append(Excluded(vote, Exclusion.REPLACED, at))
            continue
        if held is not None:
            excluded.append(Excluded(held[0], Exclusion.REPLACED, held[1]))
        latest[vote.voter] = (vote, at)
    counted = tuple(sorted((v for v, _ in latest.values()), key=lambda v: v.voter))
    return counted, tuple(sorted(excluded, key=lambda x: x.vote.id))


def _exclusion(
    vote: Vote, proposal: bytes, electorate: frozenset[bytes], at: int | None, deadline_s: int
) -> Exclusion | None:
    if vote.proposal != proposal:
        return Exclusion.OTHER_PROPOSAL
    if vote.voter not in electorate:
        return Exclusion.NOT_IN_ELECTORATE
    if at is None:
        return Exclusion.NOT_WITNESSED
    return Exclusion.LATE if at >= deadline_s else None


# --- the state in force (§6) --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Fork:
    """A stored fork proof (specs/0004 §2) as governance reads it: its id, the author
    whose log forked, and the fork's position (a seq, or a tree size)."""

    proof: bytes
    author: bytes
    position: int


@dataclass(frozen=True, slots=True)
class GovernanceState:
    """What a network's governance says at a time: rules, members, charter text, lifted
    freezes and the blocklist (blob ids every node deletes and refuses, §6)."""

    rules: Rules
    members: frozenset[bytes]
    text: str
    unfrozen: frozenset[bytes] = frozenset()
    blocked: frozenset[bytes] = frozenset()
    applied: tuple[tuple[bytes, int], ...] = ()  # (proposal id, effective_at_s), in order
    skipped: tuple[tuple[bytes, str], ...] = ()  # passed but void when applied, and why
    results: tuple[TallyResult, ...] = field(default=())
    #: Passed admissions not yet in effect already known void (their vouches are judged
    #: at the deadline, §3.2), and why: what a tally shows before the effect.
    foreseen_void: tuple[tuple[bytes, str], ...] = ()

    @classmethod
    def of_charter(cls, charter: Charter) -> GovernanceState:
        return cls(charter.rules, frozenset(charter.members), charter.text)


def rules_hash(rules: Rules) -> bytes:
    """SHA-256 of the canonical msgpack of the rules: equal on every node that agrees."""
    return hashlib.sha256(canonical.encode(rules.model_dump())).digest()


def apply_proposal(
    state: GovernanceState, proposal: Proposal, effective_at_s: int
) -> GovernanceState:
    """`state` after a passed proposal takes effect; a void one is recorded in `skipped`."""
    action = proposal.action
    members, rules, text, unfrozen = state.members, state.rules, state.text, state.unfrozen
    blocked = state.blocked
    void: str | None = None
    if isinstance(action, ChangeRules):
        try:
            rules = action.changes.apply(rules)
        except DecodeError:
            void = "rules-out-of-bounds"
        if void is None and rules.witness_count > len(members) - 1:
            void, rules = "witness-count-above-members", state.rules
    elif isinstance(action, AdmitMember):
        void = "already-member" if action.member in members else None
        members = members | {action.member}
    elif isinstance(action, RemoveMember):
        if action.member not in members:
            void = "not-a-member"
        elif len(members) - 2 < rules.witness_count:  # k others than any author remain
            void = "too-few-members-to-witness"
        members = members - {action.member} if void is None else members
    elif isinstance(action, LiftFreeze):
        unfrozen = unfrozen | {action.fork_proof}
    elif isinstance(action, AmendCharter):
        text = action.text
    elif isinstance(action, BlockBlobs):
        void = "already-blocked" if blocked.issuperset(action.blobs) else None
        blocked = blocked | set(action.blobs)
    elif isinstance(action, UnblockBlobs):
        void = "not-blocked" if blocked.isdisjoint(action.blobs) else None
        blocked = blocked - set(action.blobs)
    if void is not None:
        return replace(state, skipped=(*state.skipped, (proposal.id, void)))
    applied = (*state.applied, (proposal.id, effective_at_s))
    return replace(
        state,
        rules=rules,
        members=members,
        text=text,
        unfrozen=unfrozen,
        blocked=blocked,
        applied=applied,
    )


def frozen_members(
    forks: Iterable[Fork],
    unfrozen: frozenset[bytes],
    clock: WitnessClock,
    members: frozenset[bytes],
    k: int,
    at_s: int,
) -> dict[bytes, tuple[Fork, int]]:
    """The members frozen at `at_s` (§6.1): member -> (its earliest fork not forgiven
    by a lift in `unfrozen`, the witnessed-by time of the fork's position, at or
    before `at_s`). A lifted proof forgives its author's forks at or below its
    position (0004 §5); a fork whose position is not witnessed freezes no vote."""
    forks = [f for f in forks if f.author in members]
    forgiven: dict[bytes, int] = {}
    for f in forks:
        if f.proof in unfrozen:
            forgiven[f.author] = max(forgiven.get(f.author, 0), f.position)
    out: dict[bytes, tuple[Fork, int]] = {}
    for f in sorted(forks, key=lambda f: (f.author, f.position, f.proof)):
        if f.position <= forgiven.get(f.author, 0):
            continue
        since = clock.witnessed_at(f.author, f.position, members, k)
        if since is not None and since <= at_s and f.author not in out:
            out[f.author] = (f, since)
    return out


def evolve(
    charter: Charter,
    proposals: Iterable[Proposal],
    votes: Iterable[Vote],
    clock: WitnessClock,
    at_s: int,
    vouches: Iterable[VouchEvent] = (),
    forks: Iterable[Fork] = (),
) -> GovernanceState:
    """The governance state in force at `at_s` (§6).

    Events in time order: a passed proposal takes effect at its effective time, before
    any proposal opening at the same second; a proposal opens at its witnessed-by time
    under the members and witness count then in force, which fix its electorate and
    rules. Proposals by non-members are ignored. Ties are broken by proposal id. A
    passed `member.admit` without `admission_vouches` standing vouches (§3.2) is void.
    A member frozen at the opening (`frozen_members`, §6.1) is not in its electorate.
    """
    vouches, forks = tuple(vouches), tuple(forks)
    state = GovernanceState.of_charter(charter)
    pending = {p.id: p for p in proposals}
    by_proposal: dict[bytes, list[Vote]] = {}
    for v in votes:
        by_proposal.setdefault(v.proposal, []).append(v)
    effects: list[tuple[int, bytes, Proposal, str | None]] = []
    results: list[TallyResult] = []
    foreseen: list[tuple[bytes, str]] = []
    while True:
        opening = _next_opening(state, pending.values(), clock, at_s)
        if effects and (opening is None or effects[0][0] <= opening[0]):
            at, _, passed, void = effects.pop(0)
            if void is None:
                state = apply_proposal(state, passed, at)
            else:
                state = replace(state, skipped=(*state.skipped, (passed.id, void)))
            continue
        if opening is None:
            break
        opened_s, proposal = opening
        del pending[proposal.id]
        if proposal.author not in state.members:
            continue
        members, k = state.members, state.rules.witness_count
        frozen = frozen_members(forks, state.unfrozen, clock, members, k, opened_s)
        electorate = members - frozen.keys()

        def times(author: bytes, seq: int, e: frozenset[bytes] = members, k: int = k) -> int | None:
            return clock.witnessed_at(author, seq, e, k)

        result = tally(
            proposal, by_proposal.get(proposal.id, ()), electorate, times, state.rules, at_s
        )
        results.append(result)
        if not result.passed or result.effective_at_s is None:
            continue
        void = _admission_void(proposal, result, vouches, state.rules, electorate, times)
        if result.effective_at_s > at_s:
            foreseen += [] if void is None else [(proposal.id, void)]
        else:
            effects = sorted(
                [*effects, (result.effective_at_s, proposal.id, proposal, void)],
                key=lambda e: (e[0], e[1]),
            )
    return replace(
        state,
        results=tuple(sorted(results, key=lambda r: r.proposal)),
        foreseen_void=tuple(foreseen),
    )


def _admission_void(
    proposal: Proposal,
    result: TallyResult,
    vouches: Iterable[VouchEvent],
    rules: Rules,
    electorate: frozenset[bytes],
    witness_times: WitnessTimes,
) -> str | None:
    """ "too-few-vouches" for a passed admission lacking its referees (§3.2), else None."""
    action = proposal.action
    if not isinstance(action, AdmitMember) or rules.admission_vouches == 0:
        return None
    assert result.deadline_s is not None
    vouched = standing_vouches(action.member, vouches, electorate, witness_times, result.deadline_s)
    return None if len(vouched) >= rules.admission_vouches else "too-few-vouches"


def _next_opening(
    state: GovernanceState, pending: Iterable[Proposal], clock: WitnessClock, at_s: int
) -> tuple[int, Proposal] | None:
    best: tuple[int, bytes, Proposal] | None = None
    for p in pending:
        t = clock.witnessed_at(p.author, p.seq, state.members, state.rules.witness_count)
        if t is not None and t <= at_s and (best is None or (t, p.id) < best[:2]):
            best = (t, p.id, p)
    return None if best is None else (best[0], best[2])


def rules_in_force(
    charter: Charter, passed: Iterable[tuple[Proposal, TallyResult]], at_s: int
) -> Rules:
    """The rules at `at_s` from already-tallied proposals: passed ones whose effective
    time is at or before `at_s` apply in (effective time, proposal id) order."""
    return state_from_results(charter, passed, at_s).rules


def state_from_results(
    charter: Charter, tallied: Iterable[tuple[Proposal, TallyResult]], at_s: int
) -> GovernanceState:
    due = sorted(
        (
            (r.effective_at_s, p.id, p)
            for p, r in tallied
            if r.passed and r.effective_at_s is not None and r.effective_at_s <= at_s
        ),
        key=lambda d: d[:2],
    )
    state = GovernanceState.of_charter(charter)
    for at, _, p in due:
        state = apply_proposal(state, p, at)
    return state
