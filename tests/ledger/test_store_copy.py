"""A copied store (MemoryLogStore.copy) under a ledger with copied items
(SyncItems.copy_from) behaves exactly as an independent store that lived the same
history: whatever either side writes after the copy (entries, attested ranges and
their deferred checks, checkpoints, fork proofs, lifts, forgetting), each side reads
back what a fresh store replaying its own history reads, and the other side is not
touched (ledger.layered shares what neither changes, specs/0013 §4.1)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger import syncitems
from ledger.log import Ledger
from ledger.store import MemoryLogStore
from protocol.entry import check_signatures, read_stored_entry
from protocol.errors import CommonsError
from tests.factory import NETWORK
from tests.ledger.test_syncitems import NAMES, SIZE, apply, author_id, check, source

Op = tuple[str, str, int]

more_ops = st.tuples(
    st.sampled_from(
        ["ingest", "checkpoint", "fork", "lift", "forget", "unforget", "range", "settle"]
    ),
    st.sampled_from(NAMES),
    st.integers(1, SIZE),
)
histories = st.lists(more_ops, max_size=12)


def act(ledger: Ledger, op: Op) -> None:
    """`apply`'s changes, and an attested range (entries stored unchecked, specs/0003
    §4.2) and the deferred checks made."""
    what, name, n = op
    try:
        if what == "range":
            raws, notes = source(name)
            head = ledger.head(NETWORK, author_id(name))
            size = head.size if head else 0
            if size < SIZE:
                end = min(size + n, SIZE)
                ledger.ingest_range(NETWORK, author_id(name), raws[size:end], notes[end - 1], [])
        elif what == "settle":
            entries = ledger.unchecked_entries(n)
            ledger.settle_checks(entries, check_signatures(entries))
        else:
            apply(ledger, op)
    except CommonsError:
        pass  # refused: nothing changed


def state(ledger: Ledger) -> dict[str, Any]:
    """All a ledger and its store give back, in the order they give it."""
    store = ledger.store
    keys = [(NETWORK, author_id(name)) for name in NAMES]
    logs = {}
    for key in keys:
        raws = store.read_entries(*key, 1, SIZE + 1)
        ids = [store.locate(read_stored_entry(raw).id) for raw in raws]
        logs[key] = (
            ledger.head(*key),
            raws,
            store.leaf_hashes(*key),
            store.checkpoints(*key),
            [store.check_state(*key, seq) for seq in range(1, SIZE + 1)],
            ids,
            ledger.is_frozen(*key),
            ledger.is_forgotten(*key),
        )
    return {
        "heads": ledger.heads(),
        "store heads": store.heads(),
        "logs": logs,
        "forks": store.fork_proofs(),
        "forgotten": store.forgotten(),
        "unchecked": store.unchecked(100),
        "count unchecked": store.count_unchecked(),
        "items": dict(ledger.sync_items(NETWORK).offered()),
    }


def replayed(*histories: list[Op]) -> Ledger:
    ledger = Ledger(MemoryLogStore())
    for history in histories:
        for op in history:
            act(ledger, op)
    return ledger


def copied(ledger: Ledger) -> Ledger:
    """What the simulator does for each node: a copied store, a ledger over it with
    the same lifts, the items taken from the original's."""
    assert isinstance(ledger.store, MemoryLogStore)
    other = Ledger(ledger.store.copy())
    other.lift_freezes(ledger.lifts())  # memory only, as in a node: from governance
    other.sync_items(NETWORK).copy_from(ledger.sync_items(NETWORK))
    return other


@settings(max_examples=80, deadline=None)
@given(histories, histories, histories, histories, st.sampled_from([0, 1, 256]))
def test_a_copy_and_its_original_each_behave_as_an_independent_store(
    before: list[Op], mine: list[Op], theirs: list[Op], later: list[Op], most: int
) -> None:
    """`most`: the changes a copy's items keep layered before building a plain index
    (few here, so that both ways and the switch between them are taken)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(syncitems, "MAX_LAYERED_CHANGES", most)
        copies_behave(before, mine, theirs, later)


def copies_behave(before: list[Op], mine: list[Op], theirs: list[Op], later: list[Op]) -> None:
    original = replayed(before)
    copy = copied(original)
    for op in mine:
        act(copy, op)
    for op in theirs:
        act(original, op)
    again = copied(copy)  # a copy of a copy, then both go on
    for op in later:
        act(again, op)
        act(copy, op)
    for ledger, history in (
        (original, [before, theirs]),
        (copy, [before, mine, later]),
        (again, [before, mine, later]),
    ):
        check(ledger)  # the items equal a fresh computation, the index its sorted sums
        assert state(ledger) == state(replayed(*history))


@settings(max_examples=30, deadline=None)
@given(histories, histories)
def test_a_ledger_built_again_over_a_copied_store_reads_the_same(
    before: list[Op], after: list[Op]
) -> None:
    """A restarted simulated node: a new Ledger over its (copied) store (the lifts,
    held in memory, are gone on both sides)."""
    original = replayed(before)
    copy = copied(original)
    for op in after:
        act(copy, op)
    restarted = Ledger(copy.store)
    check(restarted)
    assert state(restarted) == state(Ledger(replayed(before, after).store))
