"""ledger.layered and ledger.layeredindex against their plain references: a Layered
mapping behaves as a dict with the same history (items, order, lengths, lookups),
whatever is set, deleted or copied, and never changes its base; a layered index
reads exactly as `ItemIndex.build` of the same items, and reconciles the same."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.layered import Layered, added_keys, copied, layered, removed_keys
from ledger.layeredindex import layered_index
from protocol.errors import LocalMisuseError
from protocol.reconcile import Item, ItemIndex, Reconciler

keys = st.integers(0, 12)
changes = st.lists(
    st.tuples(st.sampled_from(["set", "del", "pop", "copy"]), keys, st.integers()), max_size=40
)


def same(layer: Layered[int, int], model: dict[int, int]) -> None:
    assert list(layer) == list(model)
    assert list(layer.values()) == list(model.values())
    assert list(layer.items()) == list(model.items())
    assert len(layer) == len(model)
    for key in range(14):
        assert (key in layer) == (key in model)
        assert layer.get(key) == model.get(key)
        assert layer.get(key, -1) == model.get(key, -1)
    assert layer == model


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(keys, st.integers(), max_size=10), changes)
def test_a_layered_mapping_behaves_as_a_dict(base: dict[int, int], history: list) -> None:  # type: ignore[type-arg]
    frozen = dict(base)
    layer, model = Layered(base), dict(base)
    others: list[tuple[Layered[int, int], dict[int, int]]] = []
    for what, key, value in history:
        if what == "set":
            layer[key] = model[key] = value
        elif what in ("del", "pop"):
            if key in model:
                if what == "del":
                    del layer[key]
                    del model[key]
                else:
                    assert layer.pop(key) == model.pop(key)
            else:
                with pytest.raises(KeyError):
                    del layer[key]
        else:  # a copy goes on alone, frozen at this point
            others.append((layer.copy(), dict(model)))
        same(layer, model)
    for other, at_copy in others:
        same(other, at_copy)
    assert base == frozen  # the base is never written
    assert sorted(added_keys(layer)) == sorted(set(model) - set(base))
    assert sorted(removed_keys(layer)) == sorted(set(base) - set(model))


def test_copied_and_layered_keep_a_dict_a_dict() -> None:
    plain = {1: 2}
    assert type(copied(plain)) is dict and copied(plain) == plain
    assert added_keys(plain) == removed_keys(plain) == []
    over = layered(plain)
    over[3] = 4
    assert plain == {1: 2} and dict(over) == {1: 2, 3: 4}
    again = layered(over)  # a copy sharing the same base
    assert again is not over and again == over


def item(n: int) -> Item:
    return (0, hashlib.sha256(b"%d" % n).digest())


@settings(max_examples=200, deadline=None)
@given(
    st.sets(st.integers(0, 400), max_size=120),
    st.sets(st.integers(0, 400), max_size=30),
    st.data(),
)
def test_a_layered_index_reads_as_a_plain_one(base_ns: set, more: set, data: st.DataObject) -> None:  # type: ignore[type-arg]
    base_items = [item(n) for n in base_ns]
    removed = data.draw(st.lists(st.sampled_from(base_items), unique=True)) if base_items else []
    added = [item(n) for n in more - base_ns]
    base = ItemIndex.build(base_items)
    index = layered_index(base, added, removed)
    want = ItemIndex.build(set(base_items) - set(removed) | set(added))
    assert len(index.keys) == len(want.keys) and len(index.sums) == len(want.sums)
    assert list(index.keys) == list(want.keys)
    assert list(index.sums) == list(want.sums)
    assert index.keys[:] == list(want.keys)
    assert index.sums[1:-1] == list(want.sums[1:-1])
    if want.keys:
        assert index.keys[-1] == want.keys[-1]
    with pytest.raises(IndexError):
        index.keys[len(want.keys)]


@settings(max_examples=50, deadline=None)
@given(st.sets(st.integers(0, 3000), min_size=1, max_size=800), st.data())
def test_a_layered_index_reconciles_as_a_plain_one(ns: set, data: st.DataObject) -> None:  # type: ignore[type-arg]
    """Both sides of a reconciliation against a peer's different set: every message
    the same, with the layered index or the plain one."""
    ours = sorted(ns)
    base_items = [item(n) for n in ours]
    removed = data.draw(st.lists(st.sampled_from(base_items), unique=True, max_size=20))
    added = [item(n) for n in data.draw(st.sets(st.integers(3001, 3100), max_size=20))]
    theirs = [item(n) for n in data.draw(st.sets(st.integers(0, 3100), max_size=900))]
    plain = ItemIndex.build(set(base_items) - set(removed) | set(added))
    over = layered_index(ItemIndex.build(base_items), added, removed)
    transcripts = []
    for index in (plain, over):
        me, peer = Reconciler(index, max_message_bytes=4096), Reconciler(theirs)
        message: bytes | None = me.initiate()
        seen, learned = [], []
        while message is not None:
            seen.append(message)
            answer = peer.reconcile(message)
            assert answer.reply is not None
            seen.append(answer.reply)
            step = me.reconcile(answer.reply)
            learned.append((step.have_ids, step.need_ids))
            message = step.reply
        transcripts.append((seen, learned))
    assert transcripts[0] == transcripts[1]


def test_a_layered_index_refuses_changes_that_do_not_fit_its_base() -> None:
    base = ItemIndex.build([item(1), item(2)])
    for added, removed in (([item(1)], []), ([], [item(3)]), ([item(3), item(3)], [])):
        with pytest.raises(LocalMisuseError) as raised:
            layered_index(base, added, removed)
        assert raised.value.code == "misuse.bad-argument"
