"""A job's state, derived from the set of its entries (specs/0007-jobs.md §5).

`derive_job(offer, entries, max_ttl_s=..., now_ms=...)` folds the entries that name
one offer into a `JobView`: the state, the parties, every step applied (with the
entry behind it), the bids, counters, sealed files and messages (§5.6), and every
entry refused with its `job.*` code. It guarantees:
  * the result depends on the *set* of entries only: duplicates and arrival order
    never change it (steps are applied in causal order — a step is eligible once the
    entry its `after` names is applied — ties broken by (timestamp_ms, entry id));
  * each step goes through protocol.jobs.transition, so a step the table does not
    allow is refused with `job.out-of-turn` or `job.not-party`, never applied;
  * time is an input: an open offer is `expired` when `now_ms` reaches its expiry;
    a bid or award signed at or after the expiry is refused with `job.expired`.
Left to others: choosing the entries (same network, not revoked — ledger.jobs), and
what the files, evidence and message blobs hold (protocol.jobmessage). Pure: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from protocol import jobs
from protocol.entry import Entry
from protocol.errors import JobError
from protocol.jobs import (
    BidBody,
    CounterBody,
    FilesBody,
    MessageBody,
    OfferBody,
    Role,
    State,
    WithdrawBody,
)
from protocol.kinds import check_body


@dataclass(frozen=True, slots=True)
class Applied:
    """One step in the job's chain: the entry, who signed it, the state it led to."""

    entry_id: bytes
    kind: str
    author: bytes
    timestamp_ms: int
    state: State
    body: Any


@dataclass(frozen=True, slots=True)
class Refused:
    """An entry naming the job that the lifecycle refused, and why."""

    entry_id: bytes
    kind: str
    author: bytes
    code: str
    message: str


@dataclass(frozen=True, slots=True)
class Bid:
    entry_id: bytes
    lab: bytes
    seq: int
    timestamp_ms: int
    body: BidBody
    status: str  # active | superseded | withdrawn | awarded
    counters: tuple[tuple[bytes, CounterBody], ...] = ()


@dataclass(frozen=True, slots=True)
class Message:
    """A message kept in the job's thread (§5.6): who wrote it to whom, and its body."""

    entry_id: bytes
    author: bytes
    to: bytes
    timestamp_ms: int
    body: MessageBody


@dataclass(frozen=True, slots=True)
class JobView:
    id: bytes
    customer: bytes
    offer: OfferBody
    offered_ms: int
    expires_ms: int
    state: State
    lab: bytes | None
    awarded_bid: bytes | None
    steps: tuple[Applied, ...]
    bids: tuple[Bid, ...]
    files: tuple[tuple[bytes, FilesBody], ...]
    refused: tuple[Refused, ...]
    messages: tuple[Message, ...] = ()

    def step(self, kind: str) -> Applied | None:
        """The last applied step of `kind`, if any."""
        found = [s for s in self.steps if s.kind == kind]
        return found[-1] if found else None


@dataclass
class _Fold:
    offer: Entry
    body: OfferBody
    expires_ms: int
    state: State = State.OPEN
    lab: bytes | None = None
    awarded: Entry | None = None
    chain: dict[bytes, Applied] = field(default_factory=dict)
    steps: list[Applied] = field(default_factory=list)
    refused: list[Refused] = field(default_factory=list)

    def refuse(self, entry: Entry, error: JobError) -> None:
        self.refused.append(Refused(entry.id, entry.kind, entry.author, error.code, error.message))


def offer_body(offer: Entry, max_ttl_s: int) -> OfferBody:
    """The offer's body; raise JobError job.bad-offer if it is no valid offer (§2.1)."""
    status = check_body(offer.kind, offer.body) if offer.kind == jobs.OFFER else None
    if status is None or not isinstance(status.model, OfferBody):
        reason = "not a job.offer" if status is None else status.reason
        raise JobError("job.bad-offer", f"not a valid offer: {reason}")
    body = status.model
    if body.ttl_s > max_ttl_s:
        raise JobError("job.bad-offer", f"ttl_s {body.ttl_s} exceeds the rule {max_ttl_s}")
    if body.deadline_ms <= offer.timestamp_ms:
        raise JobError("job.bad-offer", "the deadline is not after the offer")
    return body


def derive_job(offer: Entry, entries: Iterable[Entry], *, max_ttl_s: int, now_ms: int) -> JobView:
    """The job's state from its offer and the entries naming it (§5); see the module."""
    body = offer_body(offer, max_ttl_s)
    fold = _Fold(offer, body, offer.timestamp_ms + body.ttl_s * 1000)
    unique = {e.id: e for e in entries if e.id != offer.id}
    parsed: list[tuple[Entry, Any]] = []
    for entry in sorted(unique.values(), key=_order):
        status = check_body(entry.kind, entry.body)
        if status.model is None or getattr(status.model, "job", None) != offer.id:
            continue  # not a valid body naming this job: the ledger records why
        parsed.append((entry, status.model))
    bids = _bids(fold, [(e, b) for e, b in parsed if e.kind == jobs.BID])
    withdrawn = _withdrawals(fold, bids, [(e, b) for e, b in parsed if e.kind == jobs.WITHDRAW])
    _steps(fold, bids, withdrawn, [(e, b) for e, b in parsed if e.kind in jobs.STEP_KINDS])
    counters = _counters(fold, bids, [(e, b) for e, b in parsed if e.kind == jobs.COUNTER])
    files = _files(fold, [(e, b) for e, b in parsed if e.kind == jobs.FILES])
    messages = _messages(fold, bids, [(e, b) for e, b in parsed if e.kind == jobs.MESSAGE])
    bid_views = _bid_views(fold, bids, withdrawn, counters)
    state = fold.state
    if state is State.OPEN and now_ms >= fold.expires_ms:
        state = State.EXPIRED
    return JobView(
        id=offer.id,
        customer=offer.author,
        offer=body,
        offered_ms=offer.timestamp_ms,
        expires_ms=fold.expires_ms,
        state=state,
        lab=fold.lab,
        awarded_bid=None if fold.awarded is None else fold.awarded.body["bid"],
        steps=tuple(fold.steps),
        bids=bid_views,
        files=tuple(files),
        refused=tuple(sorted(fold.refused, key=lambda r: r.entry_id)),
        messages=tuple(messages),
    )


def _order(entry: Entry) -> tuple[int, bytes]:
    return entry.timestamp_ms, entry.id


def _bids(fold: _Fold, items: list[tuple[Entry, BidBody]]) -> dict[bytes, tuple[Entry, BidBody]]:
    kept: dict[bytes, tuple[Entry, BidBody]] = {}
    for entry, body in items:
        if entry.author == fold.offer.author:
            fold.refuse(entry, JobError("job.own-offer", "a customer does not bid on its offer"))
        elif entry.timestamp_ms >= fold.expires_ms:
            fold.refuse(
                entry, JobError("job.expired", "the bid was signed after the offer expired")
            )
        else:
            kept[entry.id] = (entry, body)
    return kept


def _withdrawals(
    fold: _Fold, bids: dict[bytes, tuple[Entry, BidBody]], items: list[tuple[Entry, WithdrawBody]]
) -> dict[bytes, Entry]:
    """bid id -> its earliest withdrawal by the bidder (refused ones are recorded)."""
    out: dict[bytes, Entry] = {}
    for entry, body in items:
        bid = bids.get(body.bid)
        if bid is None:
            fold.refuse(entry, JobError("job.missing-ref", "the withdrawn bid is not held"))
        elif bid[0].author != entry.author:
            fold.refuse(entry, JobError("job.not-party", "only the bidder withdraws a bid"))
        elif body.bid not in out:
            out[body.bid] = entry
    return out


def _steps(
    fold: _Fold,
    bids: dict[bytes, tuple[Entry, BidBody]],
    withdrawn: dict[bytes, Entry],
    items: list[tuple[Entry, Any]],
) -> None:
    """Apply steps in causal order (§5.2): eligible once `after` is in the chain."""
    fold.chain[fold.offer.id] = Applied(
        fold.offer.id, jobs.OFFER, fold.offer.author, fold.offer.timestamp_ms, State.OPEN, fold.body
    )
    pending = list(items)  # sorted by (timestamp_ms, id): the first eligible is the next
    while True:
        at = next((i for i, (_, b) in enumerate(pending) if b.after in fold.chain), None)
        if at is None:
            break
        entry, body = pending.pop(at)
        try:
            _apply(fold, entry, body, bids, withdrawn)
        except JobError as e:
            fold.refuse(entry, e)
    for entry, _ in pending:
        fold.refuse(entry, JobError("job.missing-ref", "`after` names no applied step of the job"))


def _apply(
    fold: _Fold,
    entry: Entry,
    body: Any,
    bids: dict[bytes, tuple[Entry, BidBody]],
    withdrawn: dict[bytes, Entry],
) -> None:
    if fold.state is State.OPEN and entry.timestamp_ms >= fold.expires_ms:
        raise JobError("job.expired", f"{entry.kind} signed after the offer expired")
    if entry.author == fold.offer.author:
        role = Role.CUSTOMER
    elif entry.author == fold.lab:
        role = Role.LAB
    else:
        role = Role.OTHER
    after = jobs.transition(fold.state, entry.kind, role)
    if entry.kind == jobs.AWARD:
        bid = bids.get(body.bid)
        if bid is None:
            raise JobError("job.missing-ref", "the awarded bid is not a held, valid bid")
        gone = withdrawn.get(body.bid)
        if gone is not None and gone.timestamp_ms < entry.timestamp_ms:
            raise JobError("job.bid-withdrawn", "the bid was withdrawn before the award")
        fold.lab = bid[0].author
        fold.awarded = entry
    fold.state = after
    applied = Applied(entry.id, entry.kind, entry.author, entry.timestamp_ms, after, body)
    fold.chain[entry.id] = applied
    fold.steps.append(applied)


def _counters(
    fold: _Fold, bids: dict[bytes, tuple[Entry, BidBody]], items: list[tuple[Entry, CounterBody]]
) -> dict[bytes, list[tuple[bytes, CounterBody]]]:
    out: dict[bytes, list[tuple[bytes, CounterBody]]] = {}
    for entry, body in items:
        if entry.author != fold.offer.author:
            fold.refuse(entry, JobError("job.not-party", "only the customer counters a bid"))
        elif body.bid not in bids:
            fold.refuse(entry, JobError("job.missing-ref", "the countered bid is not held"))
        elif entry.timestamp_ms >= fold.expires_ms:
            fold.refuse(entry, JobError("job.expired", "countered after the offer expired"))
        else:
            out.setdefault(body.bid, []).append((entry.id, body))
    return out


def _files(fold: _Fold, items: list[tuple[Entry, FilesBody]]) -> list[tuple[bytes, FilesBody]]:
    out = []
    for entry, body in items:
        if entry.author != fold.offer.author:
            fold.refuse(entry, JobError("job.not-party", "only the customer attaches files"))
        elif fold.awarded is None or entry.seq < fold.awarded.seq:
            # Both are the customer's: its log orders them.
            fold.refuse(entry, JobError("job.out-of-turn", "files are attached after an award"))
        else:
            out.append((entry.id, body))
    return out


def _messages(
    fold: _Fold, bids: dict[bytes, tuple[Entry, BidBody]], items: list[tuple[Entry, MessageBody]]
) -> list[Message]:
    """The thread (§5.6): customer <-> each bidder before the award, customer <->
    the awarded lab after it; entries come sorted by (timestamp_ms, id)."""
    customer, award = fold.offer.author, fold.awarded
    bidders = {e.author for e, _ in bids.values()}
    out = []
    for entry, body in items:
        if entry.author == customer:
            lab = body.to
            after_award = award is not None and award.seq < entry.seq  # one log orders them
        else:
            lab = entry.author
            after_award = award is not None and award.timestamp_ms <= entry.timestamp_ms
        if lab not in bidders or (customer not in (entry.author, body.to)):
            fold.refuse(
                entry, JobError("job.not-party", "messages go between the customer and a bidder")
            )
        elif after_award and lab != fold.lab:
            fold.refuse(
                entry, JobError("job.out-of-turn", "after the award only the awarded lab talks")
            )
        else:
            out.append(Message(entry.id, entry.author, body.to, entry.timestamp_ms, body))
    return out


def _bid_views(
    fold: _Fold,
    bids: dict[bytes, tuple[Entry, BidBody]],
    withdrawn: dict[bytes, Entry],
    counters: dict[bytes, list[tuple[bytes, CounterBody]]],
) -> tuple[Bid, ...]:
    awarded = None if fold.awarded is None else fold.awarded.body["bid"]
    latest: dict[bytes, int] = {}
    for entry, _ in bids.values():
        latest[entry.author] = max(latest.get(entry.author, 0), entry.seq)
    views = []
    for bid_id, (entry, body) in bids.items():
        gone = withdrawn.get(bid_id)
        if bid_id == awarded:
            status = "awarded"
            if gone is not None:  # withdrawn at or after the award: too late
                fold.refuse(gone, JobError("job.out-of-turn", "the bid was already awarded"))
        elif gone is not None:
            status = "withdrawn"
        elif entry.seq < latest[entry.author]:
            status = "superseded"
        else:
            status = "active"
        made = tuple(counters.get(bid_id, ()))
        views.append(Bid(bid_id, entry.author, entry.seq, entry.timestamp_ms, body, status, made))
    return tuple(sorted(views, key=lambda b: (b.timestamp_ms, b.entry_id)))
