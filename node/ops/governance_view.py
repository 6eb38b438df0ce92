"""The node's governance view of a chartered federation (specs/0008-governance.md §7).

Kept on the storage thread, beside the catalogue: `index` takes every committed entry
and keeps the governance ones (proposals, votes, vouches, admission requests);
`refresh(ledger, now_s)` rebuilds the witness clock from the checkpoints and verified
cosignatures the ledger keeps and folds everything with ledger.governance.evolve. So
the view is a pure function of the ledger's content and `now_s`: two nodes holding the
same entries and cosignatures compute the same state, byte for byte.

`refresh` also hands the ledger the fork proofs whose freeze a passed `fork.unfreeze`
in force lifts (ledger.Ledger.lift_freezes, specs/0004 §5): at start-up, at every pass
and on every API read, so a lift holds from its effective time and across restarts.

From the state it derives who may publish (`admits`, the ledger's admission policy):
the members and the identities a current member vouches for, given with the rules in
force to ledger.admission, which decides (§7.1).
Reading and enforcement of blob sizes and licences is the node's
(node.runtime.governance); this module only answers questions.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ledger import admission
from ledger.checkpoint import WITNESS_NAME_PREFIX, cosignatures_in, decode_signed_checkpoint
from ledger.governance import (
    Fork,
    GovernanceState,
    Outcome,
    Proposal,
    TallyResult,
    Vote,
    apply_proposal,
    evolve,
    proposal_from_entry,
    rules_hash,
    vote_from_entry,
)
from ledger.log import Ledger
from ledger.store import LogStore
from ledger.vouches import VouchEvent, vouch_from_entry
from ledger.witnessclock import CosignedCheckpoint, WitnessClock
from licenses.allowlist import decode_allow_list
from protocol import kinds
from protocol.entry import Entry, read_stored_entry
from protocol.errors import CommonsError
from protocol.governance import (
    APPLY,
    PROPOSAL,
    UNVOUCH,
    VOTE,
    VOUCH,
    AdmitMember,
    AmendCharter,
    ApplyBody,
    BlockBlobs,
    ChangeRules,
    Charter,
    LiftFreeze,
    ProposalAction,
    RemoveMember,
    Rules,
    UnblockBlobs,
    UnvouchBody,
    VouchBody,
    charter_toml,
)
from protocol.ids import id_from_text, id_to_text
from protocol.jsonform import to_json

GOVERNANCE_KINDS = frozenset({PROPOSAL, VOTE, VOUCH, UNVOUCH, APPLY})


@dataclass(frozen=True, slots=True)
class Application:
    """A member.apply entry: who asks to be admitted, under which name."""

    author: bytes
    entry_id: bytes
    seq: int
    name: str
    text: str


@dataclass
class GovernanceView:
    charter: Charter
    network: bytes
    proposals: dict[bytes, Proposal] = field(default_factory=dict)
    proposal_titles: dict[bytes, tuple[str, int]] = field(default_factory=dict)
    votes: dict[bytes, Vote] = field(default_factory=dict)
    vouch_events: dict[tuple[bytes, bytes], tuple[int, bool]] = field(default_factory=dict)
    vouch_entries: dict[bytes, VouchEvent] = field(default_factory=dict)
    applications: dict[bytes, Application] = field(default_factory=dict)
    state: GovernanceState | None = None
    vouched: frozenset[bytes] = frozenset()
    admitted: frozenset[bytes] = frozenset()
    refreshed_at_s: int = 0
    #: Seconds added to this node's clock: only ever non-zero on a test federation (§1.2).
    clock_offset_s: int = 0
    #: The (members, rules) the node last applied (blob limit, governance.json).
    applied: tuple[frozenset[bytes], Rules, frozenset[bytes]] | None = None
    #: Member -> the log size we last cosigned (skip the ones with nothing new).
    witnessed: dict[bytes, int] = field(default_factory=dict)
    _cosignatures: dict[bytes, dict[bytes, int]] = field(default_factory=dict)
    _witness_keys: dict[str, bytes] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.state = GovernanceState.of_charter(self.charter)
        self.admitted = frozenset(self.charter.members)

    def now_s(self) -> int:
        """This node's time for governance: its clock, plus a test federation's offset."""
        return int(time.time()) + self.clock_offset_s

    # -- indexing ---------------------------------------------------------------------
    def load(self, store: LogStore) -> None:
        """Index every stored entry of this network but the void ones (once, when the
        node opens; again after a revocation)."""
        for head in store.heads():
            if head.network == self.network and head.size:
                entries = (read_stored_entry(raw) for raw in store.read_entries(
                    head.network, head.author, 1, head.size + 1
                ))  # fmt: skip
                self.index(e for e in entries if not head.is_revoked(e.seq))

    def reload(self, store: LogStore) -> None:
        """Forget what was indexed and load again: a revocation voids entries already
        indexed (specs/0002 §4: every view ignores them)."""
        for indexed in (
            self.proposals,
            self.proposal_titles,
            self.votes,
            self.vouch_events,
            self.vouch_entries,
            self.applications,
        ):
            indexed.clear()
        self.load(store)

    def index(self, entries: Iterable[Entry]) -> bool:
        """Keep the governance entries of `entries`; True if there was any. Entries
        already void are the caller's to leave out (`load`, `reload`)."""
        found = False
        for entry in entries:
            if entry.network != self.network or entry.kind not in GOVERNANCE_KINDS:
                continue
            found = True
            if entry.kind == PROPOSAL:
                proposal = proposal_from_entry(entry)
                if proposal is not None:
                    self.proposals[proposal.id] = proposal
                    self.proposal_titles[proposal.id] = (
                        proposal.action.title,
                        entry.timestamp_ms,
                    )
            elif entry.kind == VOTE:
                vote = vote_from_entry(entry)
                if vote is not None:
                    self.votes[vote.id] = vote
            else:
                self._index_membership(entry)
        return found

    def _index_membership(self, entry: Entry) -> None:
        status = kinds.check_body(entry.kind, entry.body)
        model = status.model
        event = vouch_from_entry(entry)
        if event is not None:
            self.vouch_entries[entry.id] = event
        if isinstance(model, VouchBody | UnvouchBody):
            key = (entry.author, model.candidate)
            held, on = self.vouch_events.get(key), isinstance(model, VouchBody)
            # The voucher's log orders its changes; at equal seqs (a fork) the unvouch wins.
            if held is None or (held[0], not held[1]) < (entry.seq, not on):
                self.vouch_events[key] = (entry.seq, on)
        elif isinstance(model, ApplyBody) and entry.author not in self.applications:
            self.applications[entry.author] = Application(
                entry.author, entry.id, entry.seq, model.name, model.text
            )

    # -- the state ------------------------------------------------------------------------
    def clock(self, ledger: Ledger) -> WitnessClock:
        """Checkpoints with verified cosignatures of every log that voted, proposed,
        vouched or forked."""
        keys = self._member_keys(ledger)
        if keys != self._witness_keys:
            self._witness_keys, self._cosignatures = keys, {}
        authors = {p.author for p in self.proposals.values()}
        authors |= {v.voter for v in self.votes.values()}
        authors |= {v.voucher for v in self.vouch_entries.values()}
        authors |= {f.author for f in ledger.store.fork_proofs() if f.network == self.network}
        logs: dict[bytes, list[CosignedCheckpoint]] = {}
        for author in authors:
            logs[author] = [
                (c.size, self._cosigned(c.note)) for c in ledger.store.checkpoints(
                    self.network, author
                )
            ]  # fmt: skip
        return WitnessClock(logs)

    def witnessed_at_s(self, ledger: Ledger, author: bytes, seq: int) -> int | None:
        """When entry `seq` of `author`'s log was witnessed (specs/0008 §4), in POSIX
        seconds, by today's members and `witness_count`; None if not (yet) witnessed."""
        assert self.state is not None
        keys = self._member_keys(ledger)
        if keys != self._witness_keys:
            self._witness_keys, self._cosignatures = keys, {}
        checkpoints = [
            (c.size, self._cosigned(c.note))
            for c in ledger.store.checkpoints(self.network, author)
            if c.size >= seq
        ]
        k = self.state.rules.witness_count
        return WitnessClock({author: checkpoints}).witnessed_at(author, seq, self.state.members, k)

    def witnessed_size(self, ledger: Ledger, author: bytes) -> int:
        """The size of the largest checkpoint of `author`'s log that at least the rules'
        `witness_count` members other than the author cosigned (specs/0008 §4), else 0:
        the entries of that log the federation can prove to a stranger."""
        assert self.state is not None
        keys = self._member_keys(ledger)
        if keys != self._witness_keys:
            self._witness_keys, self._cosignatures = keys, {}
        eligible = self.state.members - {author}
        k = self.state.rules.witness_count
        for checkpoint in reversed(ledger.store.checkpoints(self.network, author)):
            if len(self._cosigned(checkpoint.note).keys() & eligible) >= k:
                return checkpoint.size
        return 0

    def _member_keys(self, ledger: Ledger) -> dict[str, bytes]:
        """Witness name -> signing key of everyone who is or was a member."""
        ever = set(self.charter.members)
        ever |= {
            p.action.member for p in self.proposals.values() if isinstance(p.action, AdmitMember)
        }
        out: dict[str, bytes] = {}
        for member in ever:
            head = ledger.head(self.network, member)
            if head is not None and head.keys is not None:
                out[WITNESS_NAME_PREFIX + id_to_text(member)] = head.keys.signing_key
        return out

    def _cosigned(self, note: bytes) -> dict[bytes, int]:
        digest = hashlib.sha256(note).digest()
        if digest not in self._cosignatures:
            try:
                found = cosignatures_in(decode_signed_checkpoint(note), self._witness_keys)
            except CommonsError:
                found = {}
            self._cosignatures[digest] = {
                id_from_text(name.removeprefix(WITNESS_NAME_PREFIX)): c.timestamp_s
                for name, c in found.items()
            }
        return self._cosignatures[digest]

    def forks(self, ledger: Ledger) -> list[Fork]:
        """The fork proofs stored for this network that still verify (specs/0004 §2)."""
        out = []
        for proof in ledger.store.fork_proofs():
            position = ledger.fork_position(proof) if proof.network == self.network else None
            if position is not None:
                out.append(Fork(proof.id, proof.author, position))
        return out

    def state_at(self, ledger: Ledger, at_s: int) -> GovernanceState:
        clock = self.clock(ledger)
        votes, vouches = self.votes.values(), self.vouch_entries.values()
        return evolve(
            self.charter, self.proposals.values(), votes, clock, at_s, vouches,
            self.forks(ledger),
        )  # fmt: skip

    def refresh(self, ledger: Ledger, now_s: int) -> bool:
        """Recompute the state in force at `now_s` and lift on the ledger the freezes it
        lifts (specs/0004 §5); True if members or rules changed."""
        state = self.state_at(ledger, now_s)
        before = self.state
        self.state, self.refreshed_at_s = state, now_s
        ledger.lift_freezes(state.unfrozen)
        vouched = {
            candidate
            for (voucher, candidate), (_, on) in self.vouch_events.items()
            if on and voucher in state.members
        }
        self.vouched = frozenset(vouched - state.members)
        self.admitted = state.members | self.vouched
        return before is None or (before.members, before.rules, before.blocked) != (
            state.members,
            state.rules,
            state.blocked,
        )

    def admits(self, entry: Entry) -> CommonsError | None:
        """The ledger's admission policy (§7.1): None, or why `entry` is refused
        (ledger.admission, with the rules in force and the members and vouched)."""
        assert self.state is not None
        return admission.refusal(entry, self.state.rules, self.admitted)

    # -- JSON views ------------------------------------------------------------------------
    def result_of(self, proposal_id: bytes) -> TallyResult | None:
        assert self.state is not None
        return next((r for r in self.state.results if r.proposal == proposal_id), None)

    def void_reason(self, proposal_id: bytes) -> str | None:
        """Why a passed proposal is void (§3.1): skipped when it took effect, or foreseen
        before (an admission's vouches are judged at its deadline); None if not void."""
        assert self.state is not None
        found = dict(self.state.skipped) | dict(self.state.foreseen_void)
        return found.get(proposal_id)

    def standing_vouchers(self, candidate: bytes) -> list[bytes]:
        """The members whose vouch for `candidate` stands now (§3.2), by id."""
        assert self.state is not None
        return sorted(
            voucher
            for (voucher, whom), (_, on) in self.vouch_events.items()
            if whom == candidate and on and voucher in self.state.members
        )

    def proposal_json(self, proposal: Proposal) -> dict[str, Any]:
        result = self.result_of(proposal.id)
        title, created_ms = self.proposal_titles[proposal.id]
        return {
            "id": id_to_text(proposal.id),
            "author": id_to_text(proposal.author),
            "seq": proposal.seq,
            "title": title,
            "created_ms": created_ms,
            "action": action_json(proposal.action),
            "tally": tally_json(proposal.id, result, self.void_reason(proposal.id)),
        }

    def proposals_json(self) -> list[dict[str, Any]]:
        return [self.proposal_json(p) for _, p in sorted(self.proposals.items())]

    def charter_json(self) -> dict[str, Any]:
        """The charter with its text in force (§7.4): `text` as amended by every passed
        `charter.amend` in force, `founding_text` and `toml` the founding charter's
        (the network id is its hash), `amendments` the ones applied, in order."""
        assert self.state is not None
        c = self.charter
        amendments = [
            {
                "proposal": id_to_text(proposal_id),
                "title": self.proposals[proposal_id].action.title,
                "effective_at_s": at_s,
            }
            for proposal_id, at_s in self.state.applied
            if isinstance(self.proposals[proposal_id].action, AmendCharter)
        ]
        return {
            "network": id_to_text(self.network),
            "name": c.name,
            "text": self.state.text,
            "founding_text": c.text,
            "amendments": amendments,
            "test": c.test,
            "founders": sorted(id_to_text(m) for m in c.members),
            "rules": c.rules.model_dump(),
            "toml": charter_toml(c),
            "at_s": self.refreshed_at_s,
        }

    def members_json(self) -> dict[str, Any]:
        assert self.state is not None
        vouches: dict[bytes, list[str]] = {}
        for (voucher, candidate), (_, on) in sorted(self.vouch_events.items()):
            if on and voucher in self.state.members:
                vouches.setdefault(candidate, []).append(id_to_text(voucher))
        return {
            "members": sorted(id_to_text(m) for m in self.state.members),
            "founders": sorted(id_to_text(m) for m in self.charter.members),
            "vouched": [
                {"identity": id_to_text(c), "vouched_by": vouches.get(c, [])}
                for c in sorted(self.vouched)
            ],
            "applications": [
                {
                    "identity": id_to_text(a.author),
                    "entry_id": id_to_text(a.entry_id),
                    "name": a.name,
                    "text": a.text,
                    "member": a.author in self.state.members,
                    "vouched_by": vouches.get(a.author, []),
                }
                for _, a in sorted(self.applications.items())
            ],
        }


def action_json(action: ProposalAction) -> dict[str, Any]:
    """A proposal's action with ids as text and, for a rules change, only what changes."""
    out: dict[str, Any] = {"action": action.action, "title": action.title}
    if isinstance(action, ChangeRules):
        out["changes"] = action.changes.changed()
    elif isinstance(action, AdmitMember | RemoveMember):
        out["member"] = id_to_text(action.member)
    elif isinstance(action, LiftFreeze):
        out["fork_proof"] = id_to_text(action.fork_proof)
    elif isinstance(action, AmendCharter):
        out["text"] = action.text
    elif isinstance(action, BlockBlobs | UnblockBlobs):
        out["blobs"] = [id_to_text(b) for b in action.blobs]
        if isinstance(action, BlockBlobs):
            out["reason"] = action.reason
    return out


def allow_list_of(rules: Rules) -> frozenset[str] | None:
    """The licence allow-list of the rules (specs/0008 §2): None (every open licence,
    specs/0006 §7) when the rules list none. Entries that are not one open licence
    are left out (they could never allow anything)."""
    allowed: set[str] = set()
    for licence in rules.licences:
        try:
            allowed |= decode_allow_list([licence])
        except CommonsError:
            continue
    return frozenset(allowed) if rules.licences else None


def rules_json(state: GovernanceState) -> dict[str, Any]:
    return {
        "rules": to_json(state.rules.model_dump()),
        "rules_hash": rules_hash(state.rules).hex(),
    }


def tally_json(
    proposal_id: bytes, result: TallyResult | None, void_reason: str | None = None
) -> dict[str, Any]:
    """A tally as JSON: the vectors' form plus the thresholds, the final flag and, for a
    passed proposal that changes nothing, `void_reason` (§3.1; else null)."""
    if result is None:
        return {
            "proposal": id_to_text(proposal_id),
            "outcome": Outcome.NOT_OPENED.value,
            "final": False,
            "void_reason": None,
        }
    out = result.to_json()
    out["void_reason"] = void_reason if result.passed else None
    out["proposal"] = id_to_text(proposal_id)
    out["final"] = result.outcome not in (Outcome.VOTING, Outcome.NOT_OPENED)
    out["quorum_permille"] = result.quorum_permille
    out["pass_threshold_permille"] = result.pass_threshold_permille
    out["veto_threshold_permille"] = result.veto_threshold_permille
    out["votes"] = [
        {"id": id_to_text(v.id), "voter": id_to_text(v.voter), "choice": v.choice.value}
        for v in result.counted
    ]
    out["excluded_votes"] = [
        {
            "id": id_to_text(x.vote.id),
            "voter": id_to_text(x.vote.voter),
            "choice": x.vote.choice.value,
            "reason": x.reason.value,
            "witnessed_at_s": x.witnessed_at_s,
        }
        for x in result.excluded
    ]
    return out


def history_json(
    charter: Charter, state: GovernanceState, proposals: dict[bytes, Proposal]
) -> list[dict[str, Any]]:
    """Every change applied since the charter, in order, with the proposal that made it
    and the rules after it; the first item is the charter's own rules."""
    current = GovernanceState.of_charter(charter)
    out = [{"effective_at_s": None, "proposal": None, "action": None, **rules_json(current)}]
    for proposal_id, at_s in state.applied:
        proposal = proposals[proposal_id]
        current = apply_proposal(current, proposal, at_s)
        out.append(
            {
                "effective_at_s": at_s,
                "proposal": id_to_text(proposal_id),
                "title": proposal.action.title,
                "action": proposal.action.action,
                "changes": action_json(proposal.action),
                **rules_json(current),
            }
        )
    return out
