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

`copy_from` starts a ledger's items from another's that hold the same logs (the
simulator's nodes, specs/0013 §4.1): its items are then layers over the other's
(ledger.layered) and its index the other's with its own few changes
(ledger.layeredindex), until more than MAX_LAYERED_CHANGES pile up; a ledger that
never copies (a node's) keeps plain dicts and lists.

Pure: it reads the ledger; the ledger calls it back on the thread that commits.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Mapping, MutableMapping
from typing import Protocol

from ledger.checkpoint import decode_signed_checkpoint
from ledger.layered import added_keys, copied, layered, removed_keys
from ledger.layeredindex import layered_index
from ledger.store import LogKey, LogStore, StoredCheckpoint
from protocol.logstate import LogHead
from protocol.reconcile import Item, ItemIndex
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

#: Changes from the base beyond which a layered ledger builds its own plain index.
MAX_LAYERED_CHANGES = 256


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
    lines = [s.line().encode() for s in decode_signed_checkpoint(checkpoint.note).signatures]
    item = log_item_id(author, checkpoint.size, checkpoint.root, lines)
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
        #: author -> its item id; item id -> what it offers. Dicts, or after
        #: `copy_from` Layered over the other's (ledger.layered).
        self._by_author: MutableMapping[bytes, bytes] = {}
        self._offered: MutableMapping[bytes, Offered] = {}
        #: sorted (SORT_KEY, item id); None while layered over `_base`, the index of
        #: the layers' base: the index is then the base's with the changes.
        self._keys: list[Item] | None = []
        self._base: ItemIndex | None = None
        self._index: ItemIndex | None = None
        self.refreshed_authors = 0  # authors recomputed so far (statistics)
        ledger.on_change(self.touch)

    def touch(self, key: LogKey | None) -> None:
        """A commit changed this log (None: anything, e.g. the lifts in force)."""
        if key is None:
            self._dirty = None
        elif self._dirty is not None and key[0] == self.network:
            self._dirty.add(key[1])

    def offered(self) -> Mapping[bytes, Offered]:
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
            self._index = self._layered_index() if self._keys is None else None
        if self._index is None:
            keys = self._keys if self._keys is not None else sorted(self._all_keys())
            self._keys = keys
            self._index = ItemIndex.from_sorted(list(keys), checked=True)
        return self._index

    def _layered_index(self) -> ItemIndex | None:
        """The base's index with this ledger's changes (None: too many of them, or no
        base; the caller builds a plain one and keeps it up to date from then on)."""
        added = [(SORT_KEY, i) for i in added_keys(self._offered)]
        removed = [(SORT_KEY, i) for i in removed_keys(self._offered)]
        if self._base is None or len(added) + len(removed) > MAX_LAYERED_CHANGES:
            return None
        return layered_index(self._base, added, removed)

    def _all_keys(self) -> list[Item]:
        return [(SORT_KEY, item) for item in self._offered]

    def copy_from(self, other: SyncItems) -> None:
        """Take `other`'s items as they are, sharing its index: for a ledger that holds
        exactly what `other`'s holds (the simulator's nodes start from one copied
        store, specs/0013 §4.1), so thousands of them need not compute the same set.
        The items are Layered over `other`'s, which it never changes (a change makes
        new ones), and so is the index: each ledger keeps only its own changes."""
        index = other.index()
        self._dirty = set()
        self._by_author = layered(other._by_author)
        if other._keys is None:  # layered: over the base of other's items and index
            self._offered, self._base = layered(other._offered), other._base
        else:  # the layers' base must be the items of the index shared
            plain = other._offered if isinstance(other._offered, dict) else dict(other._offered)
            self._offered, self._base = layered(plain), index
        self._keys = None
        self._index = index

    def _refresh(self) -> None:
        try:
            if self._dirty is None:
                self._rebuild()
                return
            dirty, self._dirty = self._dirty, set()
            if dirty:  # copy on write: a dict handed out or shared is never changed after
                self._offered = copied(self._offered)
                self._by_author = copied(self._by_author)
            for author in sorted(dirty):
                self._update(author)
        except BaseException:  # a store read failed midway: rebuild on the next read
            self._dirty = None
            raise

    def _rebuild(self) -> None:
        self._dirty = set()
        self._by_author = {}  # a new dict: the old one may be shared (copy_from)
        self._offered = {}
        self._keys = []
        self._base = None
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
            if self._keys is not None:
                del self._keys[bisect.bisect_left(self._keys, (SORT_KEY, old))]
            self._index = None
        if found is None:
            return
        item, offered = found
        if item not in self._offered:
            if self._keys is not None:
                bisect.insort(self._keys, (SORT_KEY, item))
            self._index = None
        self._by_author[author] = item
        self._offered[item] = offered  # the same item: the same lines, maybe reordered
