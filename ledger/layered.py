"""A mapping over a shared read-only base: its own changes in a small dict on top.

The simulator starts thousands of nodes holding the same 10,000 logs (specs/0013
§4.1). Each node's indexes of them (heads, entry ids, the logs, their checkpoints,
its reconciliation items) would otherwise be a dict of 10,000 keys per node, equal
in every node until it writes. `Layered(base)` reads through to `base` and keeps
what is set or deleted here in its own dict and set; `copy()` shares the base and
copies only those. It behaves exactly as a dict holding the same items, iteration
order included (a key set again keeps its place, a key deleted and set again goes
last), which tests/ledger/test_layered.py checks against a dict on random changes.

Guarantee: nothing here ever changes `base`; the caller must not either once it is
handed over (the one who built it gives it up). Left to callers: when to layer. A
plain dict stays the fast path: the node's own ledger never layers (there is one).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, MutableMapping, ValuesView
from typing import TypeVar, cast

K = TypeVar("K")
V = TypeVar("V")

_MISSING = object()


class Layered(MutableMapping[K, V]):
    """A dict's behaviour over `base` (read only from now on) and its own changes."""

    __slots__ = ("_base", "_gone", "_len", "_own")

    def __init__(self, base: dict[K, V]) -> None:
        self._base = base
        self._own: dict[K, V] = {}  # set here: new keys, and base keys set again
        self._gone: set[K] = set()  # base keys deleted here (set again: in _own too)
        self._len = len(base)

    def copy(self) -> Layered[K, V]:
        """Another mapping with the same items, sharing the base: costs the changes."""
        other: Layered[K, V] = Layered(self._base)
        other._own = dict(self._own)
        other._gone = set(self._gone)
        other._len = self._len
        return other

    def own_keys(self) -> list[K]:
        """The keys set here since the base was taken (not those only deleted)."""
        return list(self._own)

    def __getitem__(self, key: K) -> V:
        own = self._own.get(key, _MISSING)
        if own is not _MISSING:
            return cast(V, own)
        if key in self._gone:
            raise KeyError(key)
        return self._base[key]

    def get(self, key: K, default: V | None = None) -> V | None:  # type: ignore[override]
        own = self._own.get(key, _MISSING)
        if own is not _MISSING:
            return cast(V, own)
        if key in self._gone:
            return default
        return self._base.get(key, default)

    def __contains__(self, key: object) -> bool:
        return key in self._own or (key not in self._gone and key in self._base)

    def __setitem__(self, key: K, value: V) -> None:
        if key not in self:
            self._len += 1
        self._own[key] = value

    def __delitem__(self, key: K) -> None:
        if key in self._own:
            del self._own[key]
            if key in self._base:
                self._gone.add(key)
        elif key in self._base and key not in self._gone:
            self._gone.add(key)
        else:
            raise KeyError(key)
        self._len -= 1

    def __len__(self) -> int:
        return self._len

    def __iter__(self) -> Iterator[K]:
        base, own, gone = self._base, self._own, self._gone
        for key in base:  # a base key set again here keeps its place, as in a dict
            if key not in gone:
                yield key
        for key in own:  # new keys, and base keys deleted then set again: last
            if key in gone or key not in base:
                yield key

    def values(self) -> ValuesView[V]:
        return _Values(self)

    def __repr__(self) -> str:
        return f"Layered({dict(self)!r})"


class _Values(ValuesView[V]):
    """The values in the mapping's order, without a lookup per key from the mixin."""

    _mapping: Layered[object, V]

    def __iter__(self) -> Iterator[V]:
        layered = self._mapping
        base, own, gone = layered._base, layered._own, layered._gone
        for key, value in base.items():
            if key not in gone:
                found = own.get(key, _MISSING)
                yield value if found is _MISSING else cast(V, found)
        for key, value in own.items():
            if key in gone or key not in base:
                yield value


def added_keys(mapping: Mapping[K, V]) -> list[K]:
    """The keys of a Layered mapping that its base does not hold (none of a dict's)."""
    if not isinstance(mapping, Layered):
        return []
    base = mapping._base
    return [key for key in mapping._own if key not in base]


def removed_keys(mapping: Mapping[K, V]) -> list[K]:
    """The keys of a Layered mapping's base that it no longer holds."""
    if not isinstance(mapping, Layered):
        return []
    return [key for key in mapping._gone if key not in mapping._own]


def copied(mapping: MutableMapping[K, V]) -> MutableMapping[K, V]:
    """A copy of a dict, or of a Layered mapping sharing its base."""
    return mapping.copy() if isinstance(mapping, Layered) else dict(mapping)


def layered(mapping: MutableMapping[K, V]) -> Layered[K, V]:
    """A Layered mapping with `mapping`'s items: a copy of one that is, else over
    `mapping` itself, a dict that nobody may change from now on."""
    if isinstance(mapping, Layered):
        return mapping.copy()
    assert isinstance(mapping, dict)
    return Layered(mapping)
