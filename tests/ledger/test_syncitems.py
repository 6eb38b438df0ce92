"""The ledger's cached reconciliation items (ledger.syncitems) always equal the items
computed afresh from the logs (specs/0005 §8.2), whatever happened to the ledger in
between: entries and checkpoints received, fork proofs, freezes lifted, logs forgotten."""

from __future__ import annotations

import functools
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.log import Ledger
from ledger.store import MemoryLogStore
from ledger.syncitems import fresh_items
from protocol.errors import CommonsError
from protocol.reconcile import ItemIndex
from protocol.sync_items import SORT_KEY
from tests.factory import NETWORK, Author
from tests.ledger.test_gossip import fork_proof

NAMES = ("ada", "bob", "cy")
SIZE = 5


@functools.cache
def source(name: str) -> tuple[list[bytes], list[bytes]]:
    """A log of SIZE entries and its author's checkpoint note at each size 1..SIZE."""
    author = Author(name)
    for i in range(SIZE - 1):
        author.note(f"note {i}")
    ledger = Ledger(MemoryLogStore())
    notes = []
    for entry in author.entries:
        ledger.ingest([entry.raw])
        notes.append(ledger.sign_checkpoint(author.signing, NETWORK, author.id).text)
    return [e.raw for e in author.entries], notes


@functools.cache
def author_id(name: str) -> bytes:
    return Author(name).id


def apply(ledger: Ledger, op: tuple[str, str, int]) -> None:
    what, name, n = op
    raws, notes = source(name)
    head = ledger.head(NETWORK, author_id(name))
    size = head.size if head else 0
    try:
        if what == "ingest":
            ledger.ingest(raws[size : size + n])
        elif what == "checkpoint":
            ledger.add_checkpoint(notes[n - 1])
        elif what == "fork":
            ledger.add_fork_proof(fork_proof(name))
        elif what == "lift":
            ids = [p.id for p in ledger.store.fork_proofs()]
            ledger.lift_freezes(ids[: n % (len(ids) + 1)])
        elif what == "forget":
            ledger.forget(NETWORK, author_id(name))
        elif what == "unforget":
            ledger.unforget(NETWORK, author_id(name))
    except CommonsError:
        pass  # refused (a checkpoint of a log not held, a forgotten log): nothing changed


ops = st.tuples(
    st.sampled_from(["ingest", "checkpoint", "fork", "lift", "forget", "unforget"]),
    st.sampled_from(NAMES),
    st.integers(1, SIZE),
)


def check(ledger: Ledger) -> None:
    cache = ledger.sync_items(NETWORK)
    fresh = fresh_items(ledger, NETWORK)
    assert cache.offered() == fresh
    index = cache.index()
    want = ItemIndex.build((SORT_KEY, item) for item in fresh)
    assert list(index.keys) == list(want.keys)
    assert list(index.sums) == list(want.sums)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(ops, st.booleans()), max_size=25))
def test_the_cached_items_always_equal_a_fresh_computation(
    history: list[tuple[tuple[str, str, int], bool]],
) -> None:
    ledger = Ledger(MemoryLogStore())
    for op, look in history:
        apply(ledger, op)
        if look:  # sometimes several changes pile up before the cache is read
            check(ledger)
    check(ledger)


def test_the_index_is_shared_until_an_item_changes() -> None:
    ledger = Ledger(MemoryLogStore())
    for name in NAMES:
        apply(ledger, ("ingest", name, 3))
        apply(ledger, ("checkpoint", name, 3))
    cache = ledger.sync_items(NETWORK)
    first, offered = cache.index(), cache.offered()
    before = dict(offered)
    assert len(first.keys) == 3
    apply(ledger, ("checkpoint", "ada", 5))  # beyond what we hold: not servable yet
    assert cache.index() is first
    apply(ledger, ("ingest", "ada", 2))  # now it is
    assert cache.index() is not first
    assert cache.offered() != before
    assert offered == before  # the dict handed out before was not changed under its holder


class FlakyStore(MemoryLogStore):
    """A store whose checkpoint reads fail while `failing` (a disk that hiccups)."""

    failing = False

    def checkpoints(self, network: bytes, author: bytes) -> Any:
        if self.failing:
            raise OSError("the disk hiccuped")
        return super().checkpoints(network, author)


def test_a_read_that_fails_midway_leaves_no_author_behind() -> None:
    store = FlakyStore()
    ledger = Ledger(store)
    items = ledger.sync_items(NETWORK)
    items.offered()
    for name in NAMES:  # three authors touched; the refresh fails on the first
        apply(ledger, ("ingest", name, SIZE))
        apply(ledger, ("checkpoint", name, SIZE))
    store.failing = True
    with pytest.raises(OSError):
        items.offered()
    store.failing = False
    assert items.offered() == fresh_items(ledger, NETWORK)
