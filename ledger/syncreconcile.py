"""One side's set reconciliation of heads in a sync session (specs/0005-sync.md §8.4-8.5).

`HeadReconciliation` holds what SyncPeer offers as items (every log it serves, by
its head; every author it holds frozen, by the fork proofs) and its two roles: the
initiator of its own reconciliation and the responder to the peer's, both over those
items. `answer(msg)` is the reply to the peer's message; `step(reply)` feeds the
peer's reply to ours and gives the next message, or None once done; then `lacking`
says what the peer lacks (the heads to send, the fork proofs to send) and
`agreed_size()` whether the peer holds exactly our head of the watched log. Pure: the
items come from the ledger's cache (ledger.syncitems, `Ledger.sync_items`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from ledger.syncitems import Offered
from protocol.reconcile import ItemIndex, Reconciler
from protocol.reconcile_wire import WireRange
from protocol.sync import Head
from protocol.sync_items import SORT_KEY


@dataclass
class HeadReconciliation:
    #: Our items by id (read only: it may be the ledger's cache, ledger.syncitems).
    offered: Mapping[bytes, Offered]
    #: The same items sorted (None: built from `offered`).
    index: ItemIndex | None = None
    #: The item of the one log whose agreement the session wants to know (the node's
    #: own, after a restore): (item id, its head), taken with `offered`.
    watched: tuple[bytes, Offered] | None = None
    initiator: Reconciler = field(init=False)
    responder: Reconciler = field(init=False)
    #: Our items the peer lacks, found so far.
    have: set[bytes] = field(default_factory=set)

    def __post_init__(self) -> None:
        if self.index is None:
            self.index = ItemIndex.build((SORT_KEY, item) for item in self.offered)
        self.initiator = Reconciler(self.index)
        self.responder = Reconciler(self.index)

    def initiate(self) -> bytes:
        return self.initiator.initiate()

    def answer(self, message: bytes, ranges: tuple[WireRange, ...] | None = None) -> bytes:
        """Our reply to the peer's message (its reconciliation; `ranges`: decoded)."""
        reply = self.responder.reconcile(message, ranges).reply
        assert reply is not None  # a responder always answers
        return reply

    def step(self, reply: bytes, ranges: tuple[WireRange, ...] | None = None) -> bytes | None:
        """The peer's reply to our message: our next message, or None when done."""
        found = self.initiator.reconcile(reply, ranges)
        self.have.update(found.have_ids)
        return found.reply

    def lacking(self) -> tuple[list[Head], list[bytes]]:
        """Once done: the heads and the fork proofs the peer lacks, by item id."""
        offered = [self.offered[i] for i in sorted(self.have)]
        heads = [h for h in offered if isinstance(h, Head)]
        proofs = [p for ps in offered if isinstance(ps, tuple) for p in ps]
        return heads, proofs

    def agreed_size(self) -> int | None:
        """The size of our head of the watched log when the peer holds exactly it (its
        item is not among those the peer lacks), else None."""
        if self.watched is None:
            return None
        item, offered = self.watched
        if not isinstance(offered, Head):
            return None
        return None if item in self.have else offered.size

    def forget_offers(self) -> None:
        """Once our heads went out only the responder is needed (the dict is not
        cleared: it may be the ledger's)."""
        self.offered = {}
        self.have.clear()
