"""A ledger's set reconciliation items, kept up to date as its logs change
(specs/0005-sync.md §8.2).

Building the items afresh reads every log's head and checkpoints: at 10,000 logs
that is tens of milliseconds, for every session. `SyncItems` keeps them instead
(one per network, `Ledger.sync_items(network)`, shared by the sessions of a node):
the ledger tells it which logs a commit touched (`Ledger.on_change`), and the next
`offered()` or `index()` recomputes the items of those authors only. `index()` is
the items sorted with their running sums (`protocol.reconcile.ItemIndex`), built
again only when an item changed since the last one, and shared by every session
until then (it is immutable). The cache guarantees: `offered()` equals
`fresh_items(...)` at every moment (tests/ledger/test_syncitems.py checks it
against random histories). It does not read the peer's filter: a filtered session
takes the full head exchange (0005 §8.1).

Pure: it reads the ledger; the ledger calls it back on the thread that commits.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
from typing import Protocol

from ledger.store import LogKey, LogStore, StoredCheckpoint
from protocol.logstate import LogHead
from protocol.reconcile import ItemIndex
from protocol.sync import Head
from protocol.sync_items import SORT_KEY, frozen_item_id, log_item_id


class Ledger(Protocol):
    """What the items are read from: ledger.log.Ledger (which owns one SyncItems per
    network, `Ledger.sync_items`; named here by what it offers, so the two modules
    do not import each other)."""

    store: LogStore

    def head(self, network: bytes, author: bytes) -> LogHead | None: ...

    def heads(self) -> list[LogHead]: ...

    def is_frozen(self, network: bytes, author: bytes) -> bool: ...

    def on_change(self, listener: Callable[[LogKey | None], None]) -> None: ...


Offered = Head | tuple[bytes, ...]  # a log's head, or a frozen author's fork proofs


def servable_checkpoint(ledger: Ledger, network: bytes, author: bytes) -> StoredCheckpoint | None:
    """Our latest checkpoint of a log that lies within what we hold of it (None if
    we hold none, or the author is frozen here)."""
    head = ledger.head(network, author)
    if head is None or ledger.is_frozen(network, author):
        return None
    held = [c for c in ledger.store.checkpoints(network, author) if c.size <= head.size]
    return held[-1] if held else None


def item_of(ledger: Ledger, network: bytes, author: bytes) -> tuple[bytes, Offered] | None:
    """The one item an author has here, if any: its frozen item when a fork proof we
    hold freezes it, else its log's item at its servable checkpoint."""
    if ledger.is_frozen(network, author):
        raws = tuple(
            p.raw for p in ledger.store.fork_proofs() if p.network == network and p.author == author
        )
        return (frozen_item_id(author), raws) if raws else None
    checkpoint = servable_checkpoint(ledger, network, author)
    if checkpoint is None:
        return None
    item = log_item_id(author, checkpoint.size, checkpoint.root)
    return item, Head(author, checkpoint.size, checkpoint.note)


def fresh_items(ledger: Ledger, network: bytes) -> dict[bytes, Offered]:
    """Every item of `network` computed from scratch, by item id (the reference)."""
    return dict(_fresh_by_author(ledger, network).values())


def _fresh_by_author(ledger: Ledger, network: bytes) -> dict[bytes, tuple[bytes, Offered]]:
    authors = {h.author for h in ledger.heads() if h.network == network}
    authors |= {p.author for p in ledger.store.fork_proofs() if p.network == network}
    out: dict[bytes, tuple[bytes, Offered]] = {}
    for author in sorted(authors):
        found = item_of(ledger, network, author)
        if found is not None:
            out[author] = found
    return out


class SyncItems:
    """The items of one network in one ledger, refreshed from the logs touched."""

    def __init__(self, ledger: Ledger, network: bytes) -> None:
        self.ledger = ledger
        self.network = network
        self._dirty: set[bytes] | None = None  # None: every author
        self._by_author: dict[bytes, bytes] = {}  # author -> its item id
        self._offered: dict[bytes, Offered] = {}  # item id -> what it offers
        self._keys: list[tuple[int, bytes]] = []  # sorted (SORT_KEY, item id)
        self._index: ItemIndex | None = None
        self.refreshed_authors = 0  # authors recomputed so far (statistics)
        ledger.on_change(self.touch)

    def touch(self, key: LogKey | None) -> None:
        """A commit changed this log (None: anything, e.g. the lifts in force)."""
        if key is None:
            self._dirty = None
        elif self._dirty is not None and key[0] == self.network:
            self._dirty.add(key[1])

    def offered(self) -> dict[bytes, Offered]:
        """Every item, by id. Read it, do not change it: it is the cache's own, never
        changed once handed out (a change makes a new dict), so a session may keep it."""
        self._refresh()
        return self._offered

    def head_item(self, author: bytes) -> tuple[bytes, Offered] | None:
        self._refresh()
        item = self._by_author.get(author)
        return None if item is None else (item, self._offered[item])

    def index(self) -> ItemIndex:
        """The items sorted, with their running sums; the same object until one changes."""
        self._refresh()
        if self._index is None:
            self._index = ItemIndex.from_sorted(list(self._keys), checked=True)
        return self._index

    def copy_from(self, other: SyncItems) -> None:
        """Take `other`'s items as they are, sharing its index: for a ledger that holds
        exactly what `other`'s holds (the simulator's nodes start from one copied
        store, specs/0013 §4.1), so thousands of them need not compute the same set."""
        other._refresh()
        self._dirty = set()
        self._by_author = other._by_author  # both copied on their next write
        self._offered = other._offered
        self._keys = list(other._keys)
        self._index = other.index()

    def _refresh(self) -> None:
        if self._dirty is None:
            self._rebuild()
            return
        dirty, self._dirty = self._dirty, set()
        if dirty:  # copy on write: a dict handed out or shared is never changed after
            self._offered = dict(self._offered)
            self._by_author = dict(self._by_author)
        for author in sorted(dirty):
            self._update(author)

    def _rebuild(self) -> None:
        self._dirty = set()
        self._by_author.clear()
        self._offered = {}
        self._keys = []
        self._index = None
        for author, (item, offered) in _fresh_by_author(self.ledger, self.network).items():
            self._by_author[author] = item
            self._offered[item] = offered
            self._keys.append((SORT_KEY, item))
        self._keys.sort()
        self.refreshed_authors += len(self._by_author)

    def _update(self, author: bytes) -> None:
        self.refreshed_authors += 1
        found = item_of(self.ledger, self.network, author)
        old = self._by_author.get(author)
        if old is not None and (found is None or found[0] != old):
            del self._by_author[author]
            del self._offered[old]
            at = bisect.bisect_left(self._keys, (SORT_KEY, old))
            del self._keys[at]
            self._index = None
        if found is None:
            return
        item, offered = found
        if item not in self._offered:
            bisect.insort(self._keys, (SORT_KEY, item))
            self._index = None
        self._by_author[author] = item
        self._offered[item] = offered  # a new note (cosignatures) of the same item
