"""The states of a sync session, as tables (specs/0005-sync.md §4).

In the manner of h11's `_state.py`: everything that decides whether a message may
be sent at this point of the conversation lives here. Each side (us, them) has a
`Side`: its state in the table below, its hello, and the accounting of what it has
sent (requests outstanding, heads and fork proofs counted). The rules do not know
which side is ours, so the peer is held to exactly the rules we follow.

`Side.check(other, message)` returns the next state or raises SyncViolationError
and changes nothing; `Side.apply(other, message, state)` commits. protocol.sync
turns the violation into RemoteFaultError or LocalMisuseError.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from enum import Enum

from protocol.sync_fields import SyncViolationError
from protocol.sync_limits import (
    MAX_FORK_PROOFS_PER_SESSION,
    MAX_HEADS_PER_SESSION,
    MAX_INFLIGHT_REQUESTS,
    MAX_RECONCILE_MESSAGES_PER_SESSION,
    MAX_REQUESTS_PER_SESSION,
)
from protocol.sync_messages import (
    ROLE_PULL,
    Done,
    Forks,
    Get,
    Heads,
    Hello,
    Message,
    Range,
    Reconcile,
    ReconcileReply,
    reconciling,
)


class SideState(Enum):
    """What one side (us or them) may send next (specs/0005 §4)."""

    HELLO = "HELLO"  # nothing sent yet: only hello
    HEADS = "HEADS"  # hello sent: (reconcile, then) heads frames until one with more=false
    EXCHANGE = "EXCHANGE"  # get, range, forks, then done
    DONE = "DONE"  # sent done: only ranges answering the other side's requests
    FINISHED = "FINISHED"  # both done, nothing outstanding: the session is over
    ERROR = "ERROR"  # sent an error frame (or, for them, broke the protocol)


S = SideState
#: Event-triggered transitions of one side, whichever side it is (h11's rule 2: the
#: table does not know who is who). "heads+" is a heads frame with more=true.
TRANSITIONS: dict[SideState, dict[str, SideState]] = {
    S.HELLO: {"hello": S.HEADS, "error": S.ERROR},
    S.HEADS: {
        "reconcile": S.HEADS,
        "reconcile-reply": S.HEADS,
        "heads+": S.HEADS,
        "heads": S.EXCHANGE,
        "error": S.ERROR,
    },
    S.EXCHANGE: {
        "reconcile-reply": S.EXCHANGE,
        "get": S.EXCHANGE,
        "range": S.EXCHANGE,
        "forks": S.EXCHANGE,
        "done": S.DONE,
        "error": S.ERROR,
    },
    S.DONE: {"range": S.DONE, "error": S.ERROR},
    S.FINISHED: {},
    S.ERROR: {},
}
# Guards, beyond the table (checked in `Side.check`):
#   heads   only once the other side's hello is known (heads obey its filter);
#           a side whose hello says role "pull" sends no heads; in a reconciling
#           session, only after its own reconciliation, with no reconcile unanswered;
#   reconcile        only in a reconciling session (both hellos offer it, 0005 §8.1),
#                    one unanswered at a time, MAX_RECONCILE_MESSAGES_PER_SESSION in all;
#   reconcile-reply  only to the other side's unanswered reconcile;
#   get     never to a "pull" side; ids strictly increasing; at most
#           MAX_INFLIGHT_REQUESTS outstanding;
#   range   answers the other side's oldest outstanding request, contiguously.
# State-triggered: both sides DONE and no request outstanding -> both FINISHED.


def message_key(message: Message) -> str:
    if isinstance(message, Heads):
        return "heads+" if message.more else "heads"
    names = {
        Hello: "hello",
        Reconcile: "reconcile",
        ReconcileReply: "reconcile-reply",
        Get: "get",
        Range: "range",
        Forks: "forks",
        Done: "done",
    }
    return names.get(type(message), "error")


@dataclass(slots=True)
class PendingRequest:
    """A get still being answered: entries [next_seq, to_seq) may still come."""

    id: int
    author: bytes
    next_seq: int
    to_seq: int


class Side:
    """What one side has said so far; `check` raises SyncViolationError, `apply` commits."""

    def __init__(self) -> None:
        self.state = S.HELLO
        self.hello: Hello | None = None
        self.last_id = -1
        self.requests = 0
        self.heads = 0
        self.last_head: bytes = b""
        self.forks = 0
        self.reconciles = 0  # reconcile messages sent
        self.reconcile_pending = False  # one of them not answered yet
        self.pending: OrderedDict[int, PendingRequest] = OrderedDict()

    def check(self, other: Side, message: Message) -> SideState:
        new_state = TRANSITIONS[self.state].get(message_key(message))
        if new_state is None:
            name = type(message).__name__
            raise SyncViolationError(
                "unexpected-message", f"{name} not allowed in {self.state.value}", "t"
            )
        if isinstance(message, Heads):
            self._check_heads(other, message)
        elif isinstance(message, Reconcile):
            self._check_reconcile(other)
        elif isinstance(message, ReconcileReply) and not other.reconcile_pending:
            raise SyncViolationError("unexpected-message", "a reply to no reconcile", "t")
        elif isinstance(message, Get):
            self._check_get(other, message)
        elif isinstance(message, Range):
            _check_answer(other.pending, message)
        elif isinstance(message, Forks) and (
            self.forks + len(message.proofs) > MAX_FORK_PROOFS_PER_SESSION
        ):
            raise SyncViolationError("oversized", "too many fork proofs in one session", "proofs")
        return new_state

    def _check_heads(self, other: Side, message: Heads) -> None:
        assert self.hello is not None  # the table allows heads only after hello
        if other.hello is None:
            raise SyncViolationError(
                "unexpected-message", "heads before the other side's hello", "t"
            )
        if self.hello.role == ROLE_PULL and message.heads:
            raise SyncViolationError("bad-message", "a pull-only side announces no heads", "heads")
        if self.reconciling(other) and (self.reconcile_pending or not self.reconciles):
            raise SyncViolationError(
                "unexpected-message", "heads before the end of its reconciliation", "t"
            )
        if self.heads + len(message.heads) > MAX_HEADS_PER_SESSION:
            raise SyncViolationError("oversized", "too many heads in one session", "heads")
        if message.heads and message.heads[0].author <= self.last_head:
            raise SyncViolationError(
                "bad-message", "heads must ascend by author across frames", "heads"
            )
        wanted = other.hello.filter
        if wanted.authors is not None and not all(
            wanted.admits_author(h.author) for h in message.heads
        ):
            raise SyncViolationError(
                "bad-message", "a head outside the peer's author filter", "heads"
            )

    def reconciling(self, other: Side) -> bool:
        return (
            self.hello is not None
            and other.hello is not None
            and reconciling(self.hello, other.hello)
        )

    def _check_reconcile(self, other: Side) -> None:
        if not self.reconciling(other):
            raise SyncViolationError(
                "unexpected-message", "reconcile in a session that does not reconcile", "t"
            )
        if self.reconcile_pending:
            raise SyncViolationError(
                "unexpected-message", "a reconcile before the last one's reply", "t"
            )
        if self.reconciles >= MAX_RECONCILE_MESSAGES_PER_SESSION:
            raise SyncViolationError("too-many-requests", "too many reconcile messages", "msg")

    def _check_get(self, other: Side, message: Get) -> None:
        if other.hello is not None and other.hello.role == ROLE_PULL:
            raise SyncViolationError("unexpected-message", "a pull-only side serves no gets", "t")
        if message.id <= self.last_id:
            raise SyncViolationError("bad-message", f"id {message.id} after {self.last_id}", "id")
        if len(self.pending) >= MAX_INFLIGHT_REQUESTS:
            raise SyncViolationError(
                "too-many-requests", f"over {MAX_INFLIGHT_REQUESTS} in flight", "id"
            )
        if self.requests >= MAX_REQUESTS_PER_SESSION:
            raise SyncViolationError("too-many-requests", "too many requests in one session", "id")

    def apply(self, other: Side, message: Message, new_state: SideState) -> None:
        self.state = new_state
        if isinstance(message, Hello):
            self.hello = message
        elif isinstance(message, Heads):
            self.heads += len(message.heads)
            if message.heads:
                self.last_head = message.heads[-1].author
        elif isinstance(message, Reconcile):
            self.reconciles, self.reconcile_pending = self.reconciles + 1, True
        elif isinstance(message, ReconcileReply):
            other.reconcile_pending = False
        elif isinstance(message, Get):
            self.last_id, self.requests = message.id, self.requests + 1
            self.pending[message.id] = PendingRequest(
                message.id, message.author, message.from_seq, message.to_seq
            )
        elif isinstance(message, Range):
            answered = other.pending[message.id]
            answered.next_seq = message.end_seq
            if not message.more:
                del other.pending[message.id]
        elif isinstance(message, Forks):
            self.forks += len(message.proofs)


def _check_answer(pending: OrderedDict[int, PendingRequest], r: Range) -> None:
    """A range must answer the oldest outstanding request, from where it left off."""
    request = pending.get(r.id)
    if request is None:
        raise SyncViolationError("unsolicited-range", f"no request {r.id} is outstanding", "id")
    if r.id != next(iter(pending)):
        raise SyncViolationError(
            "out-of-order", "answer requests in the order they were made", "id"
        )
    if r.author != request.author:
        raise SyncViolationError("bad-message", "range of another log than requested", "author")
    if r.start_seq != request.next_seq:
        raise SyncViolationError("bad-message", f"want start_seq {request.next_seq}", "start_seq")
    if r.end_seq > request.to_seq:
        raise SyncViolationError(
            "bad-message", f"entries beyond the requested {request.to_seq}", "entries"
        )
    if r.more and r.end_seq == request.to_seq:
        raise SyncViolationError("bad-message", "more=true after the last requested entry", "more")
