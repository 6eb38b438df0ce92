"""The storage interface of the ledger, and an in-memory implementation.

`LogStore` is what the ledger needs from storage: read what was committed, and
commit a `Batch` atomically — all of it or nothing. The node's SQLite store
(node/store/logs.py) and `MemoryLogStore` (pure tests, the simulator) implement it.
Stores keep bytes and verified state; they verify nothing themselves: only
ledger.log decides what may be committed.

A log is one (network, author) pair. Its verified state (`LogHead`, from
protocol.logstate) is committed with its entries, so a restart never has to
verify an entry twice.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import NamedTuple, Protocol, TypeVar

from ledger.layered import Layered
from ledger.merkle import leaf_hash
from protocol import canonical
from protocol.entry import Entry
from protocol.errors import DecodeError, LocalMisuseError
from protocol.logstate import KeyState, LogHead

LogKey = tuple[bytes, bytes]  # (network, author)


class StoredEntry(NamedTuple):
    """What a store keeps of one verified entry. (A named tuple, not a frozen
    dataclass: one is made per entry received, and a tuple is made ~5x faster.)"""

    network: bytes
    author: bytes
    seq: int
    id: bytes
    raw: bytes
    leaf_hash: bytes
    kind: str
    timestamp_ms: int
    #: Its own signature is not checked yet: it came in an attested range (specs/0003
    #: §4.2) and waits for the deferred check.
    unchecked: bool = False


#: Where an entry of a log is: (network, author, seq).
Position = tuple[bytes, bytes, int]

#: An entry's deferred signature check (specs/0003 §4.2): not yet made, or made and
#: failed (its proof is stored). An entry with no such state was checked and holds.
UNCHECKED = "unchecked"
FAILED = "failed"


@dataclass(frozen=True, slots=True)
class StoredCheckpoint:
    """A signed checkpoint note (C2SP text) of one log, with any cosignature lines."""

    network: bytes
    author: bytes
    size: int
    root: bytes
    note: bytes


@dataclass(frozen=True, slots=True)
class StoredForkProof:
    id: bytes
    network: bytes
    author: bytes
    raw: bytes


@dataclass
class Batch:
    """Everything one commit writes; a store applies all of it or none."""

    heads: list[LogHead] = field(default_factory=list)
    entries: list[StoredEntry] = field(default_factory=list)
    checkpoints: list[StoredCheckpoint] = field(default_factory=list)
    fork_proofs: list[StoredForkProof] = field(default_factory=list)
    #: Unchecked entries whose deferred check held (they become plain entries) ...
    checked: list[Position] = field(default_factory=list)
    #: ... or failed (they stay, marked, beside the proof against their author).
    failed: list[Position] = field(default_factory=list)

    def is_empty(self) -> bool:
        return not (
            self.heads
            or self.entries
            or self.checkpoints
            or self.fork_proofs
            or self.checked
            or self.failed
        )


class LogStore(Protocol):
    """What the ledger reads and writes. Ranges are half-open: seq in [start, end)."""

    def heads(self) -> list[LogHead]: ...

    def read_entries(self, network: bytes, author: bytes, start: int, end: int) -> list[bytes]: ...

    def leaf_hashes(self, network: bytes, author: bytes) -> list[bytes]: ...

    def locate(self, entry_id: bytes) -> tuple[bytes, bytes, int] | None: ...

    def checkpoints(self, network: bytes, author: bytes) -> list[StoredCheckpoint]: ...

    def fork_proofs(self) -> list[StoredForkProof]: ...

    def unchecked(self, limit: int) -> list[bytes]:
        """Up to `limit` entries whose deferred check is not made yet, in the order
        they were stored (a log's in seq order)."""
        ...

    def count_unchecked(self) -> int: ...

    def check_state(self, network: bytes, author: bytes, seq: int) -> str | None:
        """UNCHECKED, FAILED, or None for an entry checked (or not held)."""
        ...

    def commit(self, batch: Batch) -> None: ...

    def forget(self, network: bytes, author: bytes) -> None:
        """Delete a log (entries, checkpoints, head; its fork proofs stay, evidence is
        kept) and remember it as forgotten, in one transaction."""
        ...

    def unforget(self, network: bytes, author: bytes) -> None: ...

    def forgotten(self) -> list[tuple[bytes, bytes]]:
        """The (network, author) of every forgotten log."""
        ...


def stored_entry(
    entry: Entry, leaf: bytes | None = None, *, unchecked: bool = False
) -> StoredEntry:
    """What a store keeps of a verified entry: its bytes, id, leaf hash (`leaf`, when
    the caller computed it already), index fields, and whether its own signature is
    still to be checked (`unchecked`)."""
    return StoredEntry(
        entry.network,
        entry.author,
        entry.seq,
        entry.id,
        entry.raw,
        leaf_hash(entry.raw) if leaf is None else leaf,
        entry.kind,
        entry.timestamp_ms,
        unchecked,
    )


def encode_head(head: LogHead) -> bytes:
    """The canonical bytes a store keeps for a log's verified state."""
    keys = None
    if head.keys is not None:
        k = head.keys
        keys = [k.signing_key, k.recovery_key, k.key_event, k.established_seq]
    return canonical.encode(
        [
            head.network,
            head.author,
            head.size,
            head.head_id,
            head.last_timestamp_ms,
            keys,
            [list(r) for r in head.revoked],
        ]
    )


def _is_id(value: object) -> bool:
    return isinstance(value, bytes) and len(value) == 32


def _is_uint(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _is_shaped(value: object, n: int) -> bool:
    return isinstance(value, list) and len(value) == n


def decode_head(data: bytes) -> LogHead:
    """Inverse of encode_head; raises DecodeError on damaged state (specs/0003 §5): its
    0001 code when the bytes are not canonical, decode.bad-state when the value is not
    the array of seven that encode_head writes, each member of its type."""
    value = canonical.decode(data)
    damaged = DecodeError("decode.bad-state", "stored log state is damaged")
    if not _is_shaped(value, 7):
        raise damaged
    network, author, size, head_id, last_ts, keys, revoked = value
    if not (
        _is_id(network)
        and _is_id(author)
        and _is_uint(size)
        and (head_id is None or _is_id(head_id))
        and _is_uint(last_ts)
        and (keys is None or _is_shaped(keys, 4))
        and isinstance(revoked, list)
        and all(_is_shaped(r, 2) and all(_is_uint(s) for s in r) for r in revoked)
    ):
        raise damaged
    key_state = None
    if keys is not None:
        if not (all(_is_id(k) for k in keys[:3]) and _is_uint(keys[3])):
            raise damaged
        key_state = KeyState(keys[0], keys[1], keys[2], keys[3])
    ranges = tuple((start, end) for start, end in revoked)
    return LogHead(network, author, size, head_id, last_ts, key_state, ranges)


class MemoryLogStore:
    """A LogStore in memory, for pure tests and the simulator."""

    def __init__(self) -> None:
        # plain dicts, or after `copy` Layered ones over a base shared with the copies
        self._heads: MutableMapping[LogKey, LogHead] = {}
        #: Each log's entries; a tuple or a read-only mapping is shared with a copy
        #: (`copy`) and replaced by its own list or dict on the log's next write.
        self._entries: MutableMapping[LogKey, Sequence[StoredEntry]] = {}
        self._by_id: MutableMapping[bytes, Position] = {}
        self._checkpoints: MutableMapping[LogKey, Mapping[int, StoredCheckpoint]] = {}
        self._forks: dict[bytes, StoredForkProof] = {}
        self._forgotten: set[LogKey] = set()
        self._deferred: dict[Position, str] = {}  # insertion order = storing order
        self.commits = 0

    def copy(self) -> MemoryLogStore:
        """Another store holding the same logs, sharing what both hold now: the indexes
        of the logs (heads, entry ids, the logs, their checkpoints) become a base both
        read through (ledger.layered), each keeping its own changes on top, and each
        log's entries and checkpoints are copied on its first write. Copying again
        costs what this store changed since. The simulator starts thousands of nodes
        holding one set of logs this way (specs/0013 §4.1)."""
        other = MemoryLogStore()
        self._heads, other._heads = _shared(self._heads, _same)
        self._entries, other._entries = _shared(self._entries, _frozen_log)
        self._by_id, other._by_id = _shared(self._by_id, _same)
        self._checkpoints, other._checkpoints = _shared(self._checkpoints, _frozen_checkpoints)
        other._forks = dict(self._forks)  # the rest is small: fork proofs, forgotten logs,
        other._forgotten = set(self._forgotten)  # entries waiting for their deferred check
        other._deferred = dict(self._deferred)
        return other

    def cached_heads(self) -> MutableMapping[LogKey, LogHead]:
        """A ledger's own copy of the heads (Ledger keeps one): shares the base when
        this store shares one, a plain dict otherwise."""
        if isinstance(self._heads, Layered):
            return self._heads.copy()
        return dict(self._heads)

    def heads(self) -> list[LogHead]:
        return list(self._heads.values())

    def read_entries(self, network: bytes, author: bytes, start: int, end: int) -> list[bytes]:
        log = self._entries.get((network, author), [])
        return [e.raw for e in log[max(start, 1) - 1 : max(end, 1) - 1]]

    def leaf_hashes(self, network: bytes, author: bytes) -> list[bytes]:
        return [e.leaf_hash for e in self._entries.get((network, author), [])]

    def locate(self, entry_id: bytes) -> tuple[bytes, bytes, int] | None:
        return self._by_id.get(entry_id)

    def checkpoints(self, network: bytes, author: bytes) -> list[StoredCheckpoint]:
        found = self._checkpoints.get((network, author), {})
        return [found[size] for size in sorted(found)]

    def fork_proofs(self) -> list[StoredForkProof]:
        return list(self._forks.values())

    def unchecked(self, limit: int) -> list[bytes]:
        found = [pos for pos, state in self._deferred.items() if state == UNCHECKED][:limit]
        return [self._entries[(n, a)][seq - 1].raw for n, a, seq in found]

    def count_unchecked(self) -> int:
        return sum(1 for state in self._deferred.values() if state == UNCHECKED)

    def check_state(self, network: bytes, author: bytes, seq: int) -> str | None:
        return self._deferred.get((network, author, seq))

    def commit(self, batch: Batch) -> None:
        _check_batch(self._entries, self._by_id, batch.entries)
        for entry in batch.entries:
            self._own_log((entry.network, entry.author)).append(entry)
            self._by_id[entry.id] = (entry.network, entry.author, entry.seq)
            if entry.unchecked:
                self._deferred[(entry.network, entry.author, entry.seq)] = UNCHECKED
        for pos in batch.checked:
            self._deferred.pop(pos, None)
        for pos in batch.failed:
            self._deferred[pos] = FAILED
        for head in batch.heads:
            self._heads[(head.network, head.author)] = head
        for cp in batch.checkpoints:
            self._own_checkpoints((cp.network, cp.author))[cp.size] = cp
        for proof in batch.fork_proofs:
            self._forks[proof.id] = proof
        self.commits += 1

    def _own_log(self, key: LogKey) -> list[StoredEntry]:
        log = self._entries.get(key, [])
        if not isinstance(log, list):
            log = list(log)
        self._entries[key] = log
        return log

    def _own_checkpoints(self, key: LogKey) -> dict[int, StoredCheckpoint]:
        held = self._checkpoints.get(key, {})
        if not isinstance(held, dict):
            held = dict(held)
        self._checkpoints[key] = held
        return held

    def forget(self, network: bytes, author: bytes) -> None:
        key = (network, author)
        for entry in self._entries.pop(key, []):
            self._by_id.pop(entry.id, None)
            self._deferred.pop((network, author, entry.seq), None)
        self._heads.pop(key, None)
        self._checkpoints.pop(key, None)
        self._forgotten.add(key)

    def unforget(self, network: bytes, author: bytes) -> None:
        self._forgotten.discard((network, author))

    def forgotten(self) -> list[tuple[bytes, bytes]]:
        return sorted(self._forgotten)


def cached_heads(store: LogStore) -> MutableMapping[LogKey, LogHead]:
    """The heads a ledger keeps in memory, by log: a plain dict read from the store;
    for a MemoryLogStore copied from another, a Layered mapping over the base the
    copies share (the simulator's thousands of ledgers over the same logs)."""
    if isinstance(store, MemoryLogStore):
        return store.cached_heads()
    return {(h.network, h.author): h for h in store.heads()}


def _check_batch(
    logs: Mapping[LogKey, Sequence[StoredEntry]],
    known_ids: Mapping[bytes, Position],
    entries: Iterable[StoredEntry],
) -> None:
    """Refuse a batch that would leave a hole or repeat an id: a caller bug, never
    peer input (the ledger checks first). Same rule and code as the SQLite store."""
    sizes: dict[LogKey, int] = {}  # the logs of the batch only: a commit costs its size
    seen: set[bytes] = set()
    for entry in entries:
        key = (entry.network, entry.author)
        if key not in sizes:
            sizes[key] = len(logs.get(key, ()))
        if entry.seq != sizes[key] + 1:
            raise LocalMisuseError("misuse.bad-batch", f"batch leaves a hole at seq {entry.seq}")
        if entry.id in known_ids or entry.id in seen:
            raise LocalMisuseError("misuse.bad-batch", "batch repeats a stored entry id")
        seen.add(entry.id)
        sizes[key] = entry.seq


K = TypeVar("K")
V = TypeVar("V")


def _shared(
    held: MutableMapping[K, V], freeze: Callable[[V], V]
) -> tuple[Layered[K, V], Layered[K, V]]:
    """`held` as a Layered mapping and a copy of it, sharing one base. The values
    this store set (all of a plain dict's, a Layered one's own) are frozen first: the
    copy holds the same objects."""
    if not isinstance(held, Layered):
        base = dict(held) if not isinstance(held, dict) else held
        for key, value in base.items():
            base[key] = freeze(value)
        held = Layered(base)
    for key in held.own_keys():
        held[key] = freeze(held[key])
    return held, held.copy()


def _same(value: V) -> V:
    return value


def _frozen_log(log: Sequence[StoredEntry]) -> Sequence[StoredEntry]:
    return tuple(log) if isinstance(log, list) else log


def _frozen_checkpoints(held: Mapping[int, StoredCheckpoint]) -> Mapping[int, StoredCheckpoint]:
    return MappingProxyType(held) if isinstance(held, dict) else held
