"""The ledger: every log this node holds, verified, with its Merkle tree (specs/0003).

`Ledger` sits on a `LogStore` and is the only thing that decides what is
committed. It guarantees:
  * every committed entry passed `decode_entry` and `verify_next`, exactly once;
  * a log never has a hole: entries beyond the head wait for sync, never stored;
  * a range received with a checkpoint is stored whole or not at all;
  * an entry that conflicts with a stored one and is signed by the key in force
    becomes a fork proof; the author is then frozen (`rule.frozen-author`).
It does no I/O itself and never reads a clock: callers pass `now_ms`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ledger import merkle
from ledger.forkproof import KIND_ENTRIES, ForkProof, encode_fork_proof, verify_fork_proof
from ledger.keyhistory import KeyHistory, verify_key_history
from ledger.store import Batch, LogKey, LogStore, StoredEntry, StoredForkProof
from protocol.entry import Entry, decode_entry, sign_entry
from protocol.errors import CommonsError, LocalMisuseError, RuleViolationError, VerificationError
from protocol.keys import SigningKey
from protocol.logstate import LogHead, verify_next


@dataclass
class IngestReport:
    """What became of a batch of received entries."""

    accepted: list[Entry] = field(default_factory=list)
    duplicates: int = 0
    rejected: list[tuple[bytes | None, CommonsError]] = field(default_factory=list)
    forks: list[ForkProof] = field(default_factory=list)
    gaps: dict[LogKey, int] = field(default_factory=dict)  # log -> highest seq seen beyond head


class Ledger:
    """All logs held by one node, over one LogStore."""

    def __init__(self, store: LogStore) -> None:
        self.store = store
        self._heads: dict[LogKey, LogHead] = {(h.network, h.author): h for h in store.heads()}
        self._trees: dict[LogKey, merkle.MerkleTree] = {}
        self._frozen: dict[LogKey, bytes] = {
            (p.network, p.author): p.id for p in store.fork_proofs()
        }

    # -- reading -----------------------------------------------------------------
    def head(self, network: bytes, author: bytes) -> LogHead | None:
        return self._heads.get((network, author))

    def heads(self) -> list[LogHead]:
        return list(self._heads.values())

    def is_frozen(self, network: bytes, author: bytes) -> bool:
        return (network, author) in self._frozen

    def tree(self, network: bytes, author: bytes) -> merkle.MerkleTree:
        """The Merkle tree of a log, rebuilt from stored leaf hashes on first use."""
        key = (network, author)
        if key not in self._trees:
            self._trees[key] = merkle.MerkleTree.from_leaves(self.store.leaf_hashes(*key))
        return self._trees[key]

    def entry_at(self, network: bytes, author: bytes, seq: int) -> bytes | None:
        found = self.store.read_entries(network, author, seq, seq + 1)
        return found[0] if found else None

    def key_history(self, network: bytes, author: bytes) -> KeyHistory:
        """The author's verified key events, walked back from the last one."""
        head = self._heads.get((network, author))
        if head is None or head.keys is None:
            raise LocalMisuseError("misuse.unknown-log", "no such log here")
        events: list[bytes] = []
        event_id: bytes | None = head.keys.key_event
        while event_id is not None:
            where = self.store.locate(event_id)
            raw = None if where is None else self.entry_at(*where)
            if raw is None:
                raise LocalMisuseError("misuse.store-damaged", "a key event is missing")
            events.append(raw)
            body = decode_entry(raw).body
            event_id = body.get("prev_key_event")
        return verify_key_history(list(reversed(events)), network, author)

    # -- writing our own log -------------------------------------------------------
    def append(
        self,
        key: SigningKey,
        network: bytes,
        author: bytes,
        items: Sequence[tuple[str, dict[str, Any]]],
        now_ms: int,
    ) -> list[Entry]:
        """Sign and commit entries at the head of our own log, in one transaction."""
        if self.is_frozen(network, author):
            raise RuleViolationError("rule.frozen-author", "this identity is frozen by a fork")
        head = self._heads.get((network, author)) or LogHead(network, author)
        made: list[Entry] = []
        for kind, body in items:
            entry = sign_entry(
                key,
                network=network,
                author=author,
                seq=head.size + 1,
                prev=head.head_id,
                timestamp_ms=max(now_ms, head.last_timestamp_ms),
                kind=kind,
                body=body,
            )
            try:
                head = verify_next(head, entry)
            except VerificationError as e:
                raise LocalMisuseError("misuse.bad-entry", f"would not verify: {e.code}") from e
            made.append(entry)
        self._commit([head], made, [])
        return made

    # -- receiving -----------------------------------------------------------------
    def ingest(self, raws: Iterable[bytes]) -> IngestReport:
        """Verify and commit received entries of any logs; one transaction."""
        report = IngestReport()
        by_log: dict[LogKey, list[Entry]] = {}
        for raw in raws:
            try:
                entry = decode_entry(raw)
            except CommonsError as e:
                report.rejected.append((None, e))
                continue
            by_log.setdefault((entry.network, entry.author), []).append(entry)
        heads: list[LogHead] = []
        accepted: list[Entry] = []
        proofs: list[ForkProof] = []
        for key, entries in by_log.items():
            head, new, proof = self._ingest_log(key, sorted(entries, key=lambda e: e.seq), report)
            if new:
                heads.append(head)
                accepted += new
            if proof is not None:
                proofs.append(proof)
        self._commit(heads, accepted, proofs)
        report.accepted, report.forks = accepted, proofs
        return report

    def _ingest_log(
        self, key: LogKey, entries: list[Entry], report: IngestReport
    ) -> tuple[LogHead, list[Entry], ForkProof | None]:
        start = self._heads.get(key) or LogHead(*key)
        head: LogHead = start
        new: list[Entry] = []
        for entry in entries:
            if key in self._frozen:
                report.rejected.append((entry.id, _frozen_error()))
            elif entry.seq <= head.size:
                if self._stored_id(key, entry.seq, new) == entry.id:
                    report.duplicates += 1
                    continue
                proof = self._fork_from(key, entry, new, report)
                if proof is not None:
                    return head, new, proof
            elif entry.seq > head.size + 1:
                report.gaps[key] = max(report.gaps.get(key, 0), entry.seq)
            else:
                try:
                    head = verify_next(head, entry)
                    new.append(entry)
                except VerificationError as e:
                    report.rejected.append((entry.id, e))
        return head, new, None

    def _stored_id(self, key: LogKey, seq: int, pending: list[Entry]) -> bytes | None:
        for entry in pending:
            if entry.seq == seq:
                return entry.id
        raw = self.entry_at(*key, seq)
        return None if raw is None else hashlib.sha256(raw).digest()

    def _fork_from(
        self, key: LogKey, entry: Entry, pending: list[Entry], report: IngestReport
    ) -> ForkProof | None:
        """An entry conflicting with ours: a fork proof if the key in force signed it."""
        ours = next((e.raw for e in pending if e.seq == entry.seq), None)
        ours = ours or self.entry_at(*key, entry.seq)
        if ours is None or key not in self._heads:
            report.rejected.append((entry.id, VerificationError("verify.seq-stale", "conflict")))
            return None
        history = self.key_history(*key)
        if not history.signer_allowed(entry):
            report.rejected.append(
                (entry.id, VerificationError("verify.key-not-in-force", "not the key in force"))
            )
            return None
        events = [e.raw for e in history.events]
        raw = encode_fork_proof(KIND_ENTRIES, key[0], key[1], ours, entry.raw, events)
        return verify_fork_proof(raw)

    def add_fork_proof(self, raw: bytes) -> ForkProof:
        """Verify a fork proof from a peer; store it and freeze the author."""
        proof = verify_fork_proof(raw)
        key = (proof.network, proof.author)
        if key in self._heads and proof.kind == KIND_ENTRIES:
            ours = self.key_history(*key)
            for side in (proof.a, proof.b):
                entry = decode_entry(side)
                if entry.seq <= self._heads[key].size and not ours.signer_allowed(entry):
                    raise VerificationError("verify.key-not-in-force", "our key history disagrees")
        if key not in self._frozen:
            self._commit([], [], [proof])
        return proof

    def _commit(self, heads: list[LogHead], entries: list[Entry], proofs: list[ForkProof]) -> None:
        batch = Batch(
            heads=heads,
            entries=[_stored(e) for e in entries],
            fork_proofs=[StoredForkProof(p.id, p.network, p.author, p.raw) for p in proofs],
        )
        if batch.is_empty():
            return
        self.store.commit(batch)
        for head in heads:
            self._heads[(head.network, head.author)] = head
        for stored in batch.entries:
            tree = self._trees.get((stored.network, stored.author))
            if tree is not None:
                tree.append(stored.leaf_hash)
        for proof in proofs:
            self._frozen[(proof.network, proof.author)] = proof.id


def _stored(entry: Entry) -> StoredEntry:
    return StoredEntry(
        entry.network,
        entry.author,
        entry.seq,
        entry.id,
        entry.raw,
        merkle.leaf_hash(entry.raw),
        entry.kind,
        entry.timestamp_ms,
    )


def _frozen_error() -> RuleViolationError:
    return RuleViolationError("rule.frozen-author", "author is frozen by a fork proof")
