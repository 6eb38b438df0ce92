"""Which authors a ledger's fork proofs freeze, and which freezes were lifted (specs/0004 §4-§5).

Every stored fork proof freezes its author, unless a lift covers it. A lift is the id
of a fork proof named by a passed `fork.unfreeze` in force (specs/0008 §3, §6); the
caller passes the whole set each time (`lift`), so the freezes are a function of the
stored proofs and that set, identical on every node that holds the same proofs and
the same governance state. A lifted proof P of author X at position p (the seq of an
entries fork, the tree size of a checkpoints fork) forgives X every fork at a
position <= p: the named one and what the same split left below it (the two
branches' checkpoints at that size, say). A proof of X at a higher position is a new
fork and freezes X again.

Guarantees: `frozen` is replaced whole when the lifts change and only ever gains a
key in between, so a reader on another thread sees one state or the next. Positions
are computed (by verifying the stored proof) only for logs with a lift. Left to the
ledger: storing proofs, and refusing what conflicts at a forgiven position.
Pure: no I/O beyond reading the store it is given.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from ledger.forkproof import ForkProof
from ledger.store import LogKey, LogStore, StoredForkProof

#: A stored proof's position (seq or tree size), or None if it no longer verifies.
PositionOf = Callable[[StoredForkProof], int | None]


class Freezes:
    """The freezes of one ledger's stored fork proofs, with the lifts in force."""

    def __init__(self, store: LogStore, position_of: PositionOf) -> None:
        self._store = store
        self._position_of = position_of
        self._lifted: frozenset[bytes] = frozenset()
        self._held: dict[bytes, LogKey] = {}
        self._positions: dict[bytes, int | None] = {}
        self._forgiven: dict[LogKey, int] = {}  # log -> forks at or below this are lifted
        #: log -> the id of a stored proof that freezes it.
        self.frozen: dict[LogKey, bytes] = {}
        self._recompute()

    @property
    def lifted(self) -> frozenset[bytes]:
        """The lifts in force: the proof ids of the last `lift`."""
        return self._lifted

    def is_frozen(self, key: LogKey) -> bool:
        return key in self.frozen

    def holds(self, proof_id: bytes) -> bool:
        return proof_id in self._held

    def is_named(self, proof_id: bytes) -> bool:
        """Is this proof named by a lift in force (held here or not)?"""
        return proof_id in self._lifted

    def is_forgiven(self, key: LogKey, position: int) -> bool:
        """Would a fork of this log at this position be covered by a lift?"""
        return position <= self._forgiven.get(key, 0)

    def is_lifted(self, proof_id: bytes) -> bool:
        """Is this stored proof covered by a lift (it freezes nothing)?"""
        key = self._held.get(proof_id)
        position = self._positions.get(proof_id)
        return key is not None and position is not None and self.is_forgiven(key, position)

    def lift(self, proof_ids: Iterable[bytes]) -> bool:
        """Make `proof_ids` the lifts in force; True if that changed them."""
        lifted = frozenset(proof_ids)
        if lifted == self._lifted:
            return False
        self._lifted = lifted
        self._recompute()
        return True

    def added(self, proofs: Iterable[ForkProof]) -> None:
        """Proofs just committed to the store: each freezes its author unless forgiven."""
        proofs = list(proofs)
        for proof in proofs:
            self._held[proof.id] = (proof.network, proof.author)
            self._positions[proof.id] = proof.position
        if any(proof.id in self._lifted for proof in proofs):
            self._recompute()  # a lift now known: it may forgive proofs held before
            return
        for proof in proofs:
            key = (proof.network, proof.author)
            if not self.is_forgiven(key, proof.position):
                self.frozen[key] = proof.id

    def position(self, proof: StoredForkProof) -> int | None:
        """A stored proof's position, computed once."""
        if proof.id not in self._positions:
            self._positions[proof.id] = self._position_of(proof)
        return self._positions[proof.id]

    def _recompute(self) -> None:
        stored = self._store.fork_proofs()
        self._held = {p.id: (p.network, p.author) for p in stored}
        forgiven: dict[LogKey, int] = {}
        for p in stored:
            position = self.position(p) if p.id in self._lifted else None
            if position is not None:
                key = (p.network, p.author)
                forgiven[key] = max(forgiven.get(key, 0), position)
        frozen: dict[LogKey, bytes] = {}
        for p in stored:
            key = (p.network, p.author)
            position = self.position(p) if key in forgiven else None
            if position is None or position > forgiven[key]:
                frozen[key] = p.id
        self._forgiven, self.frozen = forgiven, frozen
