"""A reconciliation index over a shared one, with a few items added and removed.

An `ItemIndex` (protocol.reconcile) of 10,000 items is two lists of 10,000, the
running sums big integers: ~0.8 MB. The simulator's nodes hold the same 10,000 logs
and differ by a dozen items (specs/0013 §4.1), so each building its own index after
its first change would cost 0.8 MB per node. `layered_index(base, added, removed)`
is an ItemIndex whose `keys` and `sums` are views: item i and the sum of the first i
items are computed from the base's lists and the sorted changes, in O(log n + the
number of changes), the base shared by every node. A Reconciler reads it as it reads
any index (indexing, slicing, len, bisect); tests/ledger/test_layeredindex.py checks
it equals `ItemIndex.build` of the same items.

Guarantees: `added` holds no item of the base, `removed` only items of it (a
LocalMisuseError otherwise). Left to the caller (ledger.syncitems): keeping the
changes few; past a few hundred, a plain index is cheaper to read.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Sequence
from typing import overload

from protocol.errors import LocalMisuseError
from protocol.reconcile import Item, ItemIndex


def layered_index(base: ItemIndex, added: Sequence[Item], removed: Sequence[Item]) -> ItemIndex:
    """The index of base's items, less `removed`, plus `added` (both in any order)."""
    changes = _Changes(base, sorted(added), sorted(removed))
    return ItemIndex(_Keys(changes), _Sums(changes))


class _Changes:
    """Where the changes fall: `rpos` the base positions of removed items, `apos` the
    positions of added items in the merged order; the running sums of both."""

    def __init__(self, base: ItemIndex, added: list[Item], removed: list[Item]) -> None:
        keys = base.keys
        self.base_keys, self.base_sums, self.added = keys, base.sums, added
        self.rpos = [bisect.bisect_left(keys, item) for item in removed]
        held = zip(self.rpos, removed, strict=True)
        if any(p >= len(keys) or keys[p] != item for p, item in held):
            raise LocalMisuseError("misuse.bad-argument", "a removed item is not in the base")
        if len(set(self.rpos)) != len(self.rpos):
            raise LocalMisuseError("misuse.bad-argument", "an item is removed twice")
        self.apos = []
        for k, item in enumerate(added):
            j = bisect.bisect_left(keys, item)
            if (j < len(keys) and keys[j] == item) or (k and added[k - 1] == item):
                raise LocalMisuseError("misuse.bad-argument", "an added item is there already")
            self.apos.append(k + j - bisect.bisect_left(self.rpos, j))
        self.rsums = _running([_int(item) for item in removed])
        self.asums = _running([_int(item) for item in added])
        self.size = len(keys) - len(removed) + len(added)

    def base_count(self, live: int, *, inclusive: bool) -> int:
        """The base position reached after `live` items kept (`inclusive`: the
        position of the next kept one)."""
        j = live
        for p in self.rpos:
            if p < j or (inclusive and p == j):
                j += 1
            else:
                break
        return j

    def item(self, i: int) -> Item:
        c = bisect.bisect_left(self.apos, i)
        if c < len(self.apos) and self.apos[c] == i:
            return self.added[c]
        return self.base_keys[self.base_count(i - c, inclusive=True)]

    def sum_before(self, i: int) -> int:
        c = bisect.bisect_left(self.apos, i)
        j = self.base_count(i - c, inclusive=False)
        return self.base_sums[j] - self.rsums[bisect.bisect_left(self.rpos, j)] + self.asums[c]


class _Keys(Sequence[Item]):
    def __init__(self, changes: _Changes) -> None:
        self._changes = changes

    def __len__(self) -> int:
        return self._changes.size

    @overload
    def __getitem__(self, index: int) -> Item: ...
    @overload
    def __getitem__(self, index: slice) -> list[Item]: ...
    def __getitem__(self, index: int | slice) -> Item | list[Item]:
        size = self._changes.size
        if isinstance(index, slice):
            return [self._changes.item(i) for i in range(*index.indices(size))]
        i = index + size if index < 0 else index
        if not 0 <= i < size:
            raise IndexError(index)
        return self._changes.item(i)


class _Sums(Sequence[int]):
    """`sums[i]`: the sum of the first i items' ids as integers, i in [0, len]."""

    def __init__(self, changes: _Changes) -> None:
        self._changes = changes

    def __len__(self) -> int:
        return self._changes.size + 1

    @overload
    def __getitem__(self, index: int) -> int: ...
    @overload
    def __getitem__(self, index: slice) -> list[int]: ...
    def __getitem__(self, index: int | slice) -> int | list[int]:
        size = self._changes.size + 1
        if isinstance(index, slice):
            return [self._changes.sum_before(i) for i in range(*index.indices(size))]
        i = index + size if index < 0 else index
        if not 0 <= i < size:
            raise IndexError(index)
        return self._changes.sum_before(i)


def _int(item: Item) -> int:
    return int.from_bytes(item[1], "little")


def _running(values: list[int]) -> list[int]:
    return list(itertools.accumulate(values, initial=0))
