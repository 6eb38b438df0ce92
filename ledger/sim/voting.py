"""The governance scenario of a simulation: a charter, a proposal, votes, witnesses.

Members are simulated nodes. A governance entry is committed by its author, whose new
checkpoint is then cosigned by the other members (`Ledger.witness`, C2SP
tlog-cosignature) before the entry and the cosigned checkpoint are announced together,
as a log operator collects cosignatures before publishing (specs/0013 §4). Every honest
node then computes the state in force at one agreed time with `ledger.governance.evolve`
over what its own ledger holds: the proposals and votes in the members' logs and the
cosignatures on the checkpoints it stores, checked with the witness keys its own ledger
knows. Decisions use witness time only, never the skewed entry timestamps.
Pure: no I/O, no real clock.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field

from ledger.checkpoint import (
    add_signatures,
    cosignatures_in,
    decode_signed_checkpoint,
    witness_name,
)
from ledger.governance import evolve, proposal_from_entry, rules_hash, vote_from_entry
from ledger.log import Ledger
from ledger.sim.node import BASE_TIME_MS, Federation, SimNode
from ledger.witnessclock import CosignedCheckpoint, WitnessClock
from protocol.entry import read_stored_entry
from protocol.errors import CommonsError
from protocol.governance import PROPOSAL, VOTE, Charter, Rules

COSIGN_WAIT_MS = 10_000  # the author publishes with the cosignatures it has by then
DECIDE_AT_S = BASE_TIME_MS // 1000 + 40 * 86_400  # when every node evaluates the rules

RULES = Rules(
    quorum_permille=600,
    pass_threshold_permille=500,
    veto_threshold_permille=334,
    voting_period_s=86_400,
    effect_delay_s=3_600,
    admission_vouches=0,
    licences=["CC-BY-SA-4.0", "CERN-OHL-S-2.0"],
    max_entry_bytes=32_768,
    max_str_bytes=4_096,
    max_blob_bytes=64 * 1024 * 1024,
    job_offer_ttl_s=604_800,
    witness_count=2,
)
NEW_QUORUM_PERMILLE = 700


def make_charter(members: list[bytes]) -> Charter:
    return Charter(
        version=1, name="Simulated Commons", members=sorted(members), rules=RULES, text="sim"
    )


def proposal_body() -> dict[str, object]:
    change = {"quorum_permille": NEW_QUORUM_PERMILLE}
    return {"proposal": {"action": "rules.change", "title": "Raise the quorum", "changes": change}}


@dataclass
class Collection:
    """Cosignatures an author is gathering for one checkpoint."""

    author: SimNode
    entries: list[bytes]
    note: bytes
    asked: int
    answered: int = 0
    lines: list[bytes] = field(default_factory=list)  # cosigned notes returned
    published: bool = False


@dataclass
class Witnessing:
    """Members witness each other's checkpoints on request (request/response over a link)."""

    fed: Federation
    members: list[SimNode]
    cosigned: dict[tuple[int, int], int] = field(default_factory=dict)  # (author, w) -> size
    on_publish: Callable[[int], None] = lambda now_ms: None

    def write(self, author: SimNode, kind: str, body: dict[str, object]) -> bytes:
        """Commit a governance entry, gather cosignatures, then announce; its entry id."""
        raws = self.fed.commit(author, [(kind, body)])
        cp = author.ledger.latest_checkpoint(self.fed.network, _id(author))
        assert cp is not None
        witnesses = [w for w in self.members if w is not author]
        job = Collection(author, raws, cp.text, len(witnesses))
        for w in witnesses:
            self._ask(job, w, cp.checkpoint.size)
        self.fed.sched.after(COSIGN_WAIT_MS, functools.partial(self._publish, job))
        return hashlib.sha256(raws[-1]).digest()

    def _ask(self, job: Collection, w: SimNode, size: int) -> None:
        fed, a = self.fed, job.author
        prev = self.cosigned.get((a.index, w.index), 0)
        tree = a.ledger.tree(fed.network, _id(a))
        proof = tree.consistency_proof(prev, size) if 0 < prev < size else []
        delay = fed.links.send(a.index, w.index, len(job.note) + 32 * len(proof), lossy=False)
        if delay is not None:
            fed.sched.after(delay, functools.partial(self._cosign, job, w, proof, size))

    def _cosign(self, job: Collection, w: SimNode, proof: list[bytes], size: int) -> None:
        fed = self.fed
        if w.index in fed.links.down or w.identity is None:
            return
        try:
            signed = w.ledger.witness(
                w.identity.signing, w.identity.id, job.note, proof, fed.clock_ms(w) // 1000
            )
        except CommonsError:
            return  # e.g. it does not hold the author's log yet: no cosignature
        self.cosigned[(job.author.index, w.index)] = size
        delay = fed.links.send(w.index, job.author.index, len(signed.text), lossy=False)
        if delay is not None:
            fed.sched.after(delay, functools.partial(self._collect, job, signed.text))

    def _collect(self, job: Collection, note: bytes) -> None:
        job.answered += 1
        job.lines.append(note)
        if job.answered == job.asked:
            self._publish(job)

    def _publish(self, job: Collection) -> None:
        if job.published or job.author.index in self.fed.links.down:
            return
        job.published = True
        merged = decode_signed_checkpoint(job.note)
        for note in job.lines:
            merged = add_signatures(merged, decode_signed_checkpoint(note).signatures)
        job.author.ledger.add_checkpoint(merged.text)
        self.fed.announce(job.author, job.entries, merged.text)
        self.on_publish(self.fed.sched.now_ms)


def _id(node: SimNode) -> bytes:
    assert node.identity is not None
    return node.identity.id


def governance_inputs(ledger: Ledger, network: bytes, charter: Charter) -> bytes:
    """A digest of everything `rules_at` reads from this ledger: equal inputs, equal output."""
    h = hashlib.sha256()
    for m in charter.members:
        head = ledger.head(network, m)
        h.update(m + (head.head_id or b"" if head else b"-"))
        for stored in ledger.store.checkpoints(network, m):
            h.update(hashlib.sha256(stored.note).digest())
    return h.digest()


def rules_at(ledger: Ledger, network: bytes, charter: Charter, at_s: int) -> tuple[bytes, bool]:
    """(rules hash, whether the proposal passed) in force at `at_s` as this ledger sees it."""
    keys: dict[str, bytes] = {}
    names: dict[str, bytes] = {}
    for m in charter.members:
        head = ledger.head(network, m)
        if head is not None and head.keys is not None:
            keys[witness_name(m)] = head.keys.signing_key
            names[witness_name(m)] = m
    proposals, votes = [], []
    logs: dict[bytes, list[CosignedCheckpoint]] = {}
    for m in charter.members:
        head = ledger.head(network, m)
        if head is None:
            continue
        for raw in ledger.store.read_entries(network, m, 1, head.size + 1):
            entry = read_stored_entry(raw)
            if entry.kind == PROPOSAL and (p := proposal_from_entry(entry)) is not None:
                proposals.append(p)
            elif entry.kind == VOTE and (v := vote_from_entry(entry)) is not None:
                votes.append(v)
        for stored in ledger.store.checkpoints(network, m):
            found = cosignatures_in(decode_signed_checkpoint(stored.note), keys)
            logs.setdefault(m, []).append(
                (stored.size, {names[n]: c.timestamp_s for n, c in found.items()})
            )
    state = evolve(charter, proposals, votes, WitnessClock(logs), at_s)
    return rules_hash(state.rules), bool(state.applied)
