"""The ledger: every log this node holds, verified, with its Merkle tree (specs/0003).

`Ledger` sits on a `LogStore` and is the only thing that decides what is
committed. It guarantees:
  * every committed entry passed `decode_entry` and `verify_next`, exactly once;
  * a log never has a hole: entries beyond the head wait for sync, never stored;
  * a range received with a checkpoint is stored whole or not at all;
  * an entry that conflicts with a stored one and is signed by the key in force
    becomes a fork proof; the author is then frozen (`rule.frozen-author`);
  * a freeze the network lifted (`lift_freezes`, specs/0004 §5) lets the author's log
    go on from the branch held here; what conflicts with it at a forgiven position is
    refused (`rule.lifted-fork`), a fork above it freezes again (ledger.freezes);
  * with an `admission` policy set (a federation's, specs/0008 §7.1), no entry it
    refuses is committed, received or signed here;
  * a checkpoint kept again (same size and root) keeps every signature line already
    held: witnesses' cosignatures accumulate (specs/0008 §4.1); of a note's lines
    only the author's and cosignatures that verify by an applicable key of a witness
    whose log we hold are kept, the newest per witness key (specs/0003 §3.3);
  * a range attested by the author's checkpoint (specs/0003 §4.2) is committed after
    one signature check (the checkpoint's, and its key events'); its other entries are
    stored "unchecked" until `settle_checks` records their own check, which
    `verify_held` makes first wherever an entry is used as evidence or served alone.
    A failed check stores an "invalid-entry" fork proof and freezes the author.
It does no I/O itself and never reads a clock: callers pass `now_ms`.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ledger import merkle
from ledger.attest import (
    check_key_events,
    encode_invalid_entry_side,
    is_key_event,
    verify_reached_root,
)
from ledger.checkpoint import (
    MAX_NOTE_SIGNATURES,
    SIG_TYPE_ED25519,
    WITNESS_NAME_PREFIX,
    Cosignature,
    NoteSignature,
    SignedCheckpoint,
    checkpoint_origin,
    cosignature_time,
    cosignatures_in,
    decode_signed_checkpoint,
    key_id,
    sign_checkpoint,
    verify_checkpoint_signature,
    with_signatures,
    witness_name,
)
from ledger.forkproof import (
    KIND_CHECKPOINTS,
    KIND_ENTRIES,
    KIND_INVALID_ENTRY,
    ForkProof,
    encode_fork_proof,
    verify_fork_proof,
)
from ledger.freezes import Freezes
from ledger.inclusion import make_bundle, witness_keys
from ledger.keyhistory import KeyHistory, extend_keys, verify_key_history
from ledger.store import (
    UNCHECKED,
    Batch,
    LogKey,
    LogStore,
    Position,
    StoredCheckpoint,
    StoredForkProof,
    cached_heads,
    stored_entry,
)
from ledger.syncitems import SyncItems
from ledger.witness import CosignedHead, WitnessState, witness_checkpoint
from protocol.entry import (
    Entry,
    SignatureCheck,
    check_signatures,
    decode_entries,
    decode_entry,
    read_stored_entry,
    sign_entry,
)
from protocol.errors import (
    CommonsError,
    LocalMisuseError,
    RuleViolationError,
    VerificationError,
)
from protocol.ids import id_from_text
from protocol.keys import SigningKey
from protocol.logstate import LogHead, verify_next, verify_run


@dataclass
class IngestReport:
    """What became of a batch of received entries."""

    accepted: list[Entry] = field(default_factory=list)
    duplicates: int = 0
    rejected: list[tuple[bytes | None, CommonsError]] = field(default_factory=list)
    forks: list[ForkProof] = field(default_factory=list)
    gaps: dict[LogKey, int] = field(default_factory=dict)  # log -> highest seq seen beyond head


@dataclass(frozen=True)
class SettledChecks:
    """What `Ledger.settle_checks` recorded: entries whose deferred check held, those
    whose check failed (marked), and the proofs against their authors newly stored."""

    checked: int
    failed: int
    proofs: list[ForkProof]

    @property
    def settled(self) -> int:
        return self.checked + self.failed


#: An admission policy (specs/0008 §7): None if a received entry may join its log, else
#: the typed error that refuses it. Set by the node from the governance in force.
AdmissionPolicy = Callable[[Entry], CommonsError | None]


#: Told of each log a commit changed (Ledger.on_change); None: any log may have.
ChangeListener = Callable[[LogKey | None], None]

#: Fork proofs kept for the next announcement (Ledger.take_new_fork_proofs).
MAX_NEWS_FORKS = 64


class Ledger:
    """All logs held by one node, over one LogStore."""

    def __init__(self, store: LogStore) -> None:
        self.store = store
        self.admission: AdmissionPolicy | None = None
        # how received entries' signatures are checked (the node's uses every core)
        self.check_signatures: SignatureCheck = check_signatures
        # ranges attested by a checkpoint defer their entries' own signature checks
        # (specs/0003 §4.2); False checks every entry on receipt, as before
        self.attested_ranges = True
        self.ranges_committed = 0  # attested ranges committed (the deferred checks yield to them)
        self._heads = cached_heads(store)
        self._trees: dict[LogKey, merkle.MerkleTree] = {}
        self._freezes = Freezes(store, _stored_position)
        #: (network, witness) -> (its key event, its applicable keys): `_witness_keys`.
        self._witness_key_cache: dict[tuple[bytes, bytes], tuple[bytes, tuple[bytes, ...]]] = {}
        self._forgotten: set[LogKey] = set(store.forgotten())
        self._news_forks: list[bytes] = []  # fork proofs stored since the last take
        self._listeners: list[ChangeListener] = []
        self._sync_items: dict[bytes, SyncItems] = {}

    def sync_items(self, network: bytes) -> SyncItems:
        """This ledger's set reconciliation items of `network`, kept up to date."""
        if network not in self._sync_items:
            self._sync_items[network] = SyncItems(self, network)
        return self._sync_items[network]

    def on_change(self, listener: ChangeListener) -> None:
        """Call `listener(key)` after each commit for every log whose head, checkpoints
        or freeze it changed (`key` None: any log may have; the lifts changed), and
        when a log is forgotten. ledger.syncitems keeps its items fresh this way."""
        self._listeners.append(listener)

    def _touched(self, keys: Iterable[LogKey | None]) -> None:
        if self._listeners:
            for key in set(keys):
                for listener in self._listeners:
                    listener(key)

    # -- reading -----------------------------------------------------------------
    def head(self, network: bytes, author: bytes) -> LogHead | None:
        return self._heads.get((network, author))

    def heads(self) -> list[LogHead]:
        return list(self._heads.values())

    def is_frozen(self, network: bytes, author: bytes) -> bool:
        return self._freezes.is_frozen((network, author))

    def is_forgotten(self, network: bytes, author: bytes) -> bool:
        return (network, author) in self._forgotten

    def forgotten(self) -> list[LogKey]:
        return sorted(self._forgotten)

    def forget(self, network: bytes, author: bytes) -> None:
        """Drop a log this node has no reason to keep (an operator's decision, specs/0003
        §5.1): its entries, checkpoints and head go; its fork proofs stay; its entries
        are refused from now on (`rule.forgotten`) until `unforget`."""
        self.store.forget(network, author)
        self._heads.pop((network, author), None)
        self._trees.pop((network, author), None)
        self._forgotten.add((network, author))
        self._touched([(network, author)])

    def unforget(self, network: bytes, author: bytes) -> None:
        """Let a forgotten log be fetched again (from its first entry)."""
        self.store.unforget(network, author)
        self._forgotten.discard((network, author))

    def _refusal(self, entry: Entry) -> CommonsError | None:
        """Why a received entry may not join its log: forgotten, or the admission
        policy's reason; None if it may."""
        if (entry.network, entry.author) in self._forgotten:
            return RuleViolationError(
                "rule.forgotten", "this node forgot the log (fabnode ledger forget)"
            )
        return None if self.admission is None else self.admission(entry)

    def is_lifted(self, proof_id: bytes) -> bool:
        """Is this stored fork proof covered by a lifted freeze (specs/0004 §5)?"""
        return self._freezes.is_lifted(proof_id)

    def fork_position(self, proof: StoredForkProof) -> int | None:
        """A stored fork proof's position (the seq or tree size of the fork), or None
        if it no longer verifies; computed once."""
        return self._freezes.position(proof)

    def lift_freezes(self, proof_ids: Iterable[bytes]) -> bool:
        """Make `proof_ids`, the fork proofs named by every passed `fork.unfreeze` in
        force (specs/0008 §6: GovernanceState.unfrozen), the lifts of this ledger
        (specs/0004 §5). The whole set each time: the freezes follow it, so calling
        again with the same set is free. True if the lifts changed."""
        changed = self._freezes.lift(proof_ids)
        if changed:
            self._touched([None])
        return changed

    def lifts(self) -> frozenset[bytes]:
        """The fork proof ids of the last `lift_freezes` (a copy of this ledger over a
        copy of its store takes them, as a restarted node takes them from governance)."""
        return self._freezes.lifted

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
            body = read_stored_entry(raw).body
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
            refused = self._refusal(entry)
            if refused is not None:  # peers would refuse it and every later entry
                raise refused
            made.append(entry)
        self._commit([head], made, [])
        return made

    # -- receiving -----------------------------------------------------------------
    def ingest(self, raws: Iterable[bytes]) -> IngestReport:
        """Verify and commit received entries of any logs; one transaction."""
        return self.ingest_decoded(prepare_ingest(list(raws), self.check_signatures))

    def ingest_decoded(self, decoded: Iterable[Entry | CommonsError]) -> IngestReport:
        """The stateful half of `ingest`: `prepare_ingest`'s output of a batch (each
        item its Entry, signature checked, or the error decoding it raised) placed in
        the logs and committed, with the same checks and report as `ingest`. The
        stateless half may run elsewhere (the node verifies the next batch on another
        thread while this one commits); signatures are not checked again here."""
        report = IngestReport()
        entries: list[Entry] = []
        for item in decoded:
            if isinstance(item, Entry):
                entries.append(item)
            else:
                report.rejected.append((None, item))
        return self.ingest_entries(entries, report)

    def ingest_entries(
        self, decoded: Iterable[Entry], report: IngestReport | None = None
    ) -> IngestReport:
        """Like `ingest`, for entries already decoded (their signatures checked once,
        e.g. by the gossip validator): they are placed in their logs, not re-verified."""
        report = report or IngestReport()
        by_log: dict[LogKey, list[Entry]] = {}
        for entry in decoded:
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
            if self._freezes.is_frozen(key):
                report.rejected.append((entry.id, _frozen_error()))
            elif entry.seq <= head.size:
                if self._stored_id(key, entry.seq, new) == entry.id:
                    report.duplicates += 1
                    continue
                if self._freezes.is_forgiven(key, entry.seq):  # the other side of a lift
                    report.rejected.append((entry.id, _lifted_fork_error()))
                    continue
                proof = self._fork_from(key, entry, new, report)
                if proof is not None:
                    return head, new, proof
            elif entry.seq > head.size + 1:
                report.gaps[key] = max(report.gaps.get(key, 0), entry.seq)
            else:
                refused = self._refusal(entry)
                if refused is not None:  # later entries of this log would leave a hole
                    report.rejected.append((entry.id, refused))
                    break
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
        if ours is None and key in self._heads:  # held: evidence only once checked
            try:
                self.verify_held(*key, entry.seq)
            except VerificationError as e:
                report.rejected.append((entry.id, e))
                return None
            ours = self.entry_at(*key, entry.seq)
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

    def prove(self, entry_id: bytes) -> dict[str, Any]:
        """A self-contained inclusion proof bundle of a stored entry (ledger.inclusion)."""
        where = self.store.locate(entry_id)
        if where is None:
            raise LocalMisuseError("misuse.unknown-entry", "no such entry here")
        network, author, seq = where
        self.verify_held(network, author, seq)  # served on its own: checked first
        covering = [c for c in self.store.checkpoints(network, author) if c.size >= seq]
        if not covering:
            raise LocalMisuseError("misuse.no-checkpoint", "no checkpoint covers this entry yet")
        signed = decode_signed_checkpoint(covering[-1].note)
        proof = self.tree(network, author).inclusion_proof(seq - 1, signed.checkpoint.size)
        raw = self.entry_at(network, author, seq)
        assert raw is not None
        events = [e.raw for e in self.key_history(network, author).events]
        witnesses: dict[str, list[bytes]] = {}
        for sig in signed.signatures:
            for head in self._heads.values():
                if head.network == network and witness_name(head.author) == sig.name:
                    witnesses[sig.name] = [
                        e.raw for e in self.key_history(network, head.author).events
                    ]
        return make_bundle(raw, signed, proof, events, witnesses)

    # -- checkpoints and ranges (specs/0003 §3 to §5) ------------------------------------
    def sign_checkpoint(self, key: SigningKey, network: bytes, author: bytes) -> SignedCheckpoint:
        """Sign and store the checkpoint of our own log at its current size."""
        head = self._heads.get((network, author))
        if head is None or head.keys is None or head.keys.signing_key != key.public:
            raise LocalMisuseError("misuse.not-our-log", "we hold no log signed by this key")
        signed = sign_checkpoint(key, network, author, head.size, self.tree(network, author).root())
        self._commit([], [], [], [_stored_checkpoint(signed)])
        return signed

    def latest_checkpoint(self, network: bytes, author: bytes) -> SignedCheckpoint | None:
        stored = self.store.checkpoints(network, author)
        return decode_signed_checkpoint(stored[-1].note) if stored else None

    def add_checkpoint(self, note: bytes) -> SignedCheckpoint:
        """Verify and keep an author's checkpoint of a log we hold.

        Same size as one we keep but another root: a fork proof, and the author is
        frozen. Within our log but not our root: `verify.checkpoint-mismatch`.
        """
        signed = decode_signed_checkpoint(note)
        cp = signed.checkpoint
        history = self.key_history(cp.network, cp.author)
        author_key = history.period_after(cp.size).signing_key
        verify_checkpoint_signature(signed, author_key)
        stored = self.store.checkpoints(cp.network, cp.author)
        for old in stored:
            if old.size == cp.size and old.root != cp.root:
                if self._freezes.is_forgiven((cp.network, cp.author), cp.size):
                    raise _lifted_fork_error()
                events = [e.raw for e in history.events]
                raw = encode_fork_proof(
                    KIND_CHECKPOINTS, cp.network, cp.author, old.note, signed.text, events
                )
                self._commit([], [], [verify_fork_proof(raw, checkpoint_verifier=checkpoint_side)])
                raise VerificationError("verify.inconsistent-checkpoint", "author forked")
        head = self._heads[(cp.network, cp.author)]
        if cp.size <= head.size and self.tree(cp.network, cp.author).root(cp.size) != cp.root:
            raise VerificationError("verify.checkpoint-mismatch", "root differs from our entries")
        merged = self._merged(signed, author_key)
        if all(c.note != merged.note for c in stored):  # else: nothing new to write
            self._commit([], [], [], [merged])
        return decode_signed_checkpoint(merged.note)

    def _merged(
        self, signed: SignedCheckpoint, author_key: bytes, ours: Cosignature | None = None
    ) -> StoredCheckpoint:
        """`signed` (whose author's lines the caller verified with `author_key`) as we keep
        it (specs/0003 §3.3), merged with the note we hold for the same checkpoint: the
        author's lines, then per witness and key the newest cosignature line that
        verifies by one of that witness's applicable keys, earliest first, at most
        MAX_NOTE_SIGNATURES lines in all; every other line is dropped. So cosignatures
        gathered from several peers accumulate, a forged line is never kept, and two
        nodes that hold the same lines keep the same note whatever their order of
        arrival. `ours` is the cosignature we just made, kept whatever we hold."""
        cp = signed.checkpoint
        held = next(
            (
                c
                for c in self.store.checkpoints(cp.network, cp.author)
                if c.size == cp.size and c.root == cp.root
            ),
            None,
        )
        if held is not None and held.note == signed.text and ours is None:
            return held  # the very note we keep (every range frame of a catch-up)
        offered = [*signed.signatures, *([ours.note_signature()] if ours else [])]
        if held is not None:
            offered = [*decode_signed_checkpoint(held.note).signatures, *offered]
        author_id = key_id(cp.origin, SIG_TYPE_ED25519, author_key)
        authors: list[NoteSignature] = []
        newest: dict[tuple[str, bytes], tuple[int, bytes, NoteSignature]] = {}
        for line in offered:
            if line.name == cp.origin:
                if line.key_id == author_id and line not in authors:
                    authors.append(line)
                continue
            if ours is not None and line == ours.note_signature():
                stamp: int | None = ours.timestamp_s
            else:
                stamp = cosignature_time(line, self._witness_keys(cp.network, line.name), cp)
            if stamp is None:
                continue
            rank = (stamp, line.line().encode(), line)
            if newest.get((line.name, line.key_id), rank)[:2] <= rank[:2]:
                newest[(line.name, line.key_id)] = rank
        witnesses = [rank[2] for rank in sorted(newest.values(), key=lambda r: r[:2])]
        kept = with_signatures(signed, (authors + witnesses)[:MAX_NOTE_SIGNATURES])
        return _stored_checkpoint(kept)

    def _witness_keys(self, network: bytes, name: str) -> tuple[bytes, ...]:
        """The applicable keys of the witness named `name` (0003 §6.2: every signing key
        its key history put in force, but those a revocation replaced), from the log we
        hold of its identity, cached per key event; none when we hold none."""
        if not name.startswith(WITNESS_NAME_PREFIX):
            return ()
        try:
            identity = id_from_text(name.removeprefix(WITNESS_NAME_PREFIX))
        except CommonsError:
            return ()
        head = self._heads.get((network, identity))
        if head is None or head.keys is None:
            return ()
        cached = self._witness_key_cache.get((network, identity))
        if cached is not None and cached[0] == head.keys.key_event:
            return cached[1]
        try:
            events = [e.raw for e in self.key_history(network, identity).events]
            keys = tuple(witness_keys(name, events, network))
        except CommonsError:
            keys = (head.keys.signing_key,)
        self._witness_key_cache[(network, identity)] = (head.keys.key_event, keys)
        return keys

    def witness(
        self, key: SigningKey, identity: bytes, note: bytes, proof: Sequence[bytes], now_s: int
    ) -> SignedCheckpoint:
        """Cosign another author's checkpoint (C2SP tlog-cosignature), only if it extends
        the last one we cosigned for that log; a same-size conflict becomes a fork proof."""
        signed = decode_signed_checkpoint(note)
        cp = signed.checkpoint
        author_key = self.key_history(cp.network, cp.author).period_after(cp.size).signing_key
        name = witness_name(identity)
        try:
            _, cosig = witness_checkpoint(
                self._witness_state(key, name, cp.network, cp.author),
                signed,
                author_key,
                proof,
                witness_key=key,
                witness_name=name,
                now_s=now_s,
            )
        except VerificationError as e:
            if e.code == "verify.inconsistent-checkpoint":
                self.add_checkpoint(note)  # stores the fork proof and freezes the author
            raise
        stored = self._merged(signed, author_key, cosig)
        self._commit([], [], [], [stored])
        return decode_signed_checkpoint(stored.note)

    def witness_latest(
        self, key: SigningKey, identity: bytes, network: bytes, author: bytes, now_s: int
    ) -> SignedCheckpoint | None:
        """Cosign the latest checkpoint we keep of another author's log, if we have not
        yet and we hold the log up to it (the consistency proof comes from our own tree).
        Returns the note with our cosignature added, or None if there was nothing to do."""
        stored = self.store.checkpoints(network, author)
        head = self._heads.get((network, author))
        if not stored or author == identity or head is None or self.is_frozen(network, author):
            return None
        latest = max(stored, key=lambda c: c.size)
        if latest.size > head.size or latest.size == 0:
            return None
        name = witness_name(identity)
        previous = self._witness_state(key, name, network, author).head(
            checkpoint_origin(network, author)
        )
        if previous is not None and previous.size == latest.size:
            return None  # cosigned already (a witness cosigns a tree size once)
        tree = self.tree(network, author)
        proof = [] if previous is None else tree.consistency_proof(previous.size, latest.size)
        return self.witness(key, identity, latest.note, proof, now_s)

    def _witness_state(
        self, key: SigningKey, name: str, network: bytes, author: bytes
    ) -> WitnessState:
        origin = checkpoint_origin(network, author)
        for stored in reversed(self.store.checkpoints(network, author)):
            signed = decode_signed_checkpoint(stored.note)
            ours = cosignatures_in(signed, {name: key.public}).get(name)
            if ours is not None:
                head = CosignedHead(stored.size, stored.root, ours.timestamp_s, stored.note)
                return WitnessState({origin: head})
        return WitnessState()

    def ingest_range(
        self,
        network: bytes,
        author: bytes,
        raws: Sequence[bytes],
        note: bytes,
        proof: Sequence[bytes],
        later_key_events: Sequence[bytes] = (),
    ) -> list[Entry]:
        """Entries [size+1, size+n] of a log, committed whole or not at all (specs/0003 §4).

        `note` is the author's checkpoint at some size N >= size+n, `proof` the
        consistency proof from size+n to N (empty when equal), and
        `later_key_events` the author's key events in (size+n, N], so a checkpoint
        signed after a rotation we have not fetched yet can still be checked.
        """
        attested = self.attested_ranges
        return self.ingest_range_decoded(
            network,
            author,
            prepare_ingest(raws, check_key_events if attested else self.check_signatures),
            note,
            proof,
            later_key_events,
            deferred=attested,
        )

    def ingest_range_decoded(
        self,
        network: bytes,
        author: bytes,
        decoded: Sequence[Entry | CommonsError],
        note: bytes,
        proof: Sequence[bytes],
        later_key_events: Sequence[bytes] = (),
        *,
        deferred: bool = False,
    ) -> list[Entry]:
        """The stateful half of `ingest_range`: `prepare_ingest` of the range's raws,
        then the same checks, errors and all-or-nothing commit. `deferred`: only the
        key events' signatures were checked (`check_key_events`); the others are
        stored unchecked, the range being attested by the checkpoint (0003 §4.2)."""
        key = (network, author)
        if self._freezes.is_frozen(key):
            raise _frozen_error()
        head = self._heads.get(key) or LogHead(network, author)
        entries: list[Entry] = []
        for item in decoded:
            if not isinstance(item, Entry):
                raise item  # the first bad entry's error, as decoding one by one would
            entries.append(item)
        raws = [entry.raw for entry in entries]
        head = verify_run(head, entries, self._refusal)
        signed = decode_signed_checkpoint(note)
        cp = signed.checkpoint
        if (cp.network, cp.author) != key or cp.size < head.size:
            raise VerificationError(
                "verify.wrong-checkpoint", "checkpoint does not cover this range"
            )
        if head.keys is None:
            raise VerificationError("verify.wrong-checkpoint", "a range must start at seq 1")
        keys = extend_keys(head, later_key_events, upto_seq=cp.size)
        verify_checkpoint_signature(signed, keys.signing_key)
        leaves = [merkle.leaf_hash(raw) for raw in raws]
        tree = self.tree(network, author)
        size_before = tree.size
        tree.extend(leaves)  # taken back below unless the range is committed
        try:
            verify_reached_root(tree.size, tree.root(), cp, proof)
            self._commit(
                [head] if entries else [],
                entries,
                [],
                [self._merged(signed, keys.signing_key)],
                leaves,
                deferred=deferred,
            )
        except BaseException:
            tree.truncate(size_before)
            raise
        self.ranges_committed += 1 if deferred and entries else 0
        return entries

    # -- deferred signature checks (specs/0003 §4.2) ------------------------------------
    def unchecked_entries(self, limit: int) -> list[Entry]:
        """Up to `limit` stored entries whose own signature is still to be checked."""
        return [read_stored_entry(raw) for raw in self.store.unchecked(limit)]

    def settle_checks(
        self, entries: Sequence[Entry], verdicts: Sequence[CommonsError | None]
    ) -> SettledChecks:
        """Record the deferred checks of `entries` (`verdicts` as a SignatureCheck gives
        them), in one transaction. A held signature makes the entry a plain one; a
        failed one stores the "invalid-entry" proof against its author (0004 §2.1),
        which freezes it, and marks the entry failed. A failure no held checkpoint
        covers yet stays unchecked (checked again later)."""
        checked: list[Position] = []
        failed: list[Position] = []
        proofs: dict[LogKey, ForkProof] = {}
        for entry, error in zip(entries, verdicts, strict=True):
            key = (entry.network, entry.author)
            if error is None:
                checked.append((*key, entry.seq))
                continue
            proof = self._invalid_entry_proof(entry)
            if proof is None:
                continue
            failed.append((*key, entry.seq))
            frozen = self._freezes.is_frozen(key) or self._freezes.is_forgiven(key, entry.seq)
            if key not in proofs and not frozen:
                proofs[key] = proof
        self._commit([], [], list(proofs.values()), checked=checked, failed=failed)
        return SettledChecks(len(checked), len(failed), list(proofs.values()))

    def verify_held(self, network: bytes, author: bytes, seq: int) -> None:
        """Make sure a held entry's own signature was checked and holds, checking it now
        if it was deferred (before it is used as evidence or served on its own, 0003
        §4.2); raise `verify.signed-invalid-entry` if it does not hold."""
        state = self.store.check_state(network, author, seq)
        if state is None:
            return
        if state == UNCHECKED:
            raw = self.entry_at(network, author, seq)
            entry = read_stored_entry(raw) if raw is not None else None
            if entry is None:
                return
            verdicts = check_signatures([entry])
            # a store that cannot write now (a reader, a full disk): checked all the same
            with contextlib.suppress(LocalMisuseError):
                self.settle_checks([entry], verdicts)
            if verdicts[0] is None:
                return
        raise VerificationError(
            "verify.signed-invalid-entry",
            f"seq {seq}'s signature does not hold, yet its author signed a root over it",
        )

    def _invalid_entry_proof(self, entry: Entry) -> ForkProof | None:
        """The proof against the author of a held entry whose signature failed: the
        smallest held checkpoint within our log that covers it, the entry and its
        inclusion proof, the key history. None if no such checkpoint is held yet, or if
        the proof cannot be made (more key events than a proof may carry)."""
        key = (entry.network, entry.author)
        head = self._heads.get(key)
        size = 0 if head is None else head.size
        covering = [c for c in self.store.checkpoints(*key) if entry.seq <= c.size <= size]
        if not covering:
            return None
        cp = covering[0]
        inclusion = self.tree(*key).inclusion_proof(entry.seq - 1, cp.size)
        events = [e.raw for e in self.key_history(*key).events]
        side = encode_invalid_entry_side(entry.raw, inclusion)
        raw = encode_fork_proof(KIND_INVALID_ENTRY, *key, cp.note, side, events)
        try:
            return verify_fork_proof(raw, checkpoint_verifier=checkpoint_side)
        except CommonsError:
            return None

    def add_fork_proof(self, raw: bytes) -> ForkProof | None:
        """Verify a fork proof from a peer; store it and freeze the author. Not stored
        when the author is frozen already, or when a lift covers its fork (specs/0004
        §5) — unless a lift names it: then it is stored so the lift applies here too.
        A proof held already (peers send theirs in every sync session and gossip) is
        not verified again: None."""
        if self._freezes.holds(hashlib.sha256(raw).digest()):
            return None
        proof = verify_fork_proof(raw, checkpoint_verifier=checkpoint_side)
        key = (proof.network, proof.author)
        if key in self._heads and proof.kind == KIND_ENTRIES:
            ours = self.key_history(*key)
            for side in (proof.a, proof.b):
                entry = decode_entry(side)
                if entry.seq <= self._heads[key].size and not ours.signer_allowed(entry):
                    raise VerificationError("verify.key-not-in-force", "our key history disagrees")
        if key in self._heads and proof.kind == KIND_INVALID_ENTRY:
            checkpoint_side(proof.a, self.key_history(*key))  # not signed by a key rotated away
        freezes = self._freezes
        if freezes.is_named(proof.id) or not (
            freezes.is_frozen(key) or freezes.is_forgiven(key, proof.position)
        ):
            self._commit([], [], [proof])
        return proof

    def _commit(
        self,
        heads: list[LogHead],
        entries: list[Entry],
        proofs: list[ForkProof],
        checkpoints: Sequence[StoredCheckpoint] = (),
        appended: Sequence[bytes] | None = None,
        *,
        deferred: bool = False,
        checked: Sequence[Position] = (),
        failed: Sequence[Position] = (),
    ) -> None:
        """Commit, then update the cached heads, trees and freezes. `appended`: the
        entries' leaf hashes, already appended to their log's cached tree by the
        caller (which takes them back if this raises). `deferred`: the entries but
        key events are stored unchecked; `checked`, `failed`: deferred checks made."""
        leaves: Sequence[bytes | None] = [None] * len(entries) if appended is None else appended
        batch = Batch(
            heads=heads,
            entries=[
                stored_entry(e, leaf, unchecked=deferred and not is_key_event(e))
                for e, leaf in zip(entries, leaves, strict=True)
            ],
            checkpoints=list(checkpoints),
            fork_proofs=[StoredForkProof(p.id, p.network, p.author, p.raw) for p in proofs],
            checked=list(checked),
            failed=list(failed),
        )
        if batch.is_empty():
            return
        self.store.commit(batch)
        for head in heads:
            self._heads[(head.network, head.author)] = head
        for stored in batch.entries if appended is None else ():
            tree = self._trees.get((stored.network, stored.author))
            if tree is not None:
                tree.append(stored.leaf_hash)
        self._touched(
            [(h.network, h.author) for h in heads]
            + [(c.network, c.author) for c in batch.checkpoints]
            + [(p.network, p.author) for p in proofs]
        )
        if proofs:
            self._freezes.added(proofs)
            # "invalid-entry" proofs travel by sync only: nodes before 0004 §2.1 refuse the
            # kind, and gossip would charge that to the honest sender (specs/0005 §10)
            news = [p.raw for p in proofs if p.kind != KIND_INVALID_ENTRY]
            self._news_forks = [*self._news_forks, *news][-MAX_NEWS_FORKS:]

    def take_new_fork_proofs(self) -> list[bytes]:
        """The fork proofs stored since the last call, however they came (gossip, a sync
        session, a checkpoint that equivocates), oldest first, at most MAX_NEWS_FORKS,
        but "invalid-entry" ones (sync carries those):
        the node announces them (specs/0005 §10). Older ones are not lost to peers:
        every sync session sends every fork proof held."""
        taken, self._news_forks = self._news_forks, []
        return taken


def prepare_ingest(
    raws: Sequence[bytes], check: SignatureCheck = check_signatures
) -> list[Entry | CommonsError]:
    """The stateless half of ingest: each received entry decoded (canonical form)
    and its signature checked (by `check`), in order; its Entry or the error it raised.

    Reads no ledger state, so a caller may run it for one batch while the previous
    batch's `Ledger.ingest_decoded` / `ingest_range_decoded` commits."""
    return decode_entries(raws, check=check)


def _stored_checkpoint(signed: SignedCheckpoint) -> StoredCheckpoint:
    cp = signed.checkpoint
    return StoredCheckpoint(cp.network, cp.author, cp.size, cp.root, signed.text)


def checkpoint_side(note: bytes, history: KeyHistory) -> tuple[int, bytes]:
    """One side of a checkpoints fork proof: verified against the key history."""
    signed = decode_signed_checkpoint(note)
    cp = signed.checkpoint
    if (cp.network, cp.author) != (history.network, history.author):
        raise VerificationError("verify.bad-fork-proof", "checkpoint of another log")
    verify_checkpoint_signature(signed, history.period_after(cp.size).signing_key)
    return cp.size, cp.root


def _stored_position(proof: StoredForkProof) -> int | None:
    """A stored fork proof's position (ledger.freezes), or None if it no longer verifies."""
    try:
        return verify_fork_proof(proof.raw, checkpoint_verifier=checkpoint_side).position
    except CommonsError:
        return None


def _frozen_error() -> RuleViolationError:
    return RuleViolationError("rule.frozen-author", "author is frozen by a fork proof")


def _lifted_fork_error() -> RuleViolationError:
    return RuleViolationError(
        "rule.lifted-fork",
        "conflicts with the branch held here at a fork the network lifted (specs/0004 §5)",
    )
