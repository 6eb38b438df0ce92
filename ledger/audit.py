"""Full re-verification of everything a store holds (`fabnode ledger verify`).

Trusts nothing the store kept from earlier checks: every entry is decoded and
folded again from its bytes, every Merkle tree rebuilt, every checkpoint's
signature and root checked against the key history and the rebuilt tree, every
fork proof verified. Errors are collected (code, author, seq), not raised, so
one damaged log does not hide the state of the others.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ledger import merkle
from ledger.checkpoint import decode_signed_checkpoint, verify_checkpoint_signature
from ledger.forkproof import verify_fork_proof
from ledger.keyhistory import verify_key_history
from ledger.log import checkpoint_side
from ledger.store import FAILED, LogStore, encode_head
from protocol import kinds
from protocol.entry import (
    Entry,
    SignatureCheck,
    check_signatures,
    decode_entries,
    read_stored_entry,
)
from protocol.errors import CommonsError
from protocol.logstate import LogHead, verify_next

Progress = Callable[[int, int], None]
_CHUNK = 1000


@dataclass
class AuditReport:
    authors: int = 0
    entries: int = 0
    checkpoints: int = 0
    #: Checkpoints beyond the entries held (a sync cut short): signature checked,
    #: root not yet comparable — the ledger keeps them so (0003 §8), not an error.
    checkpoints_ahead: int = 0
    fork_proofs: int = 0
    errors: list[dict[str, object]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def audit(
    store: LogStore, progress: Progress | None = None, check: SignatureCheck = check_signatures
) -> AuditReport:
    """Re-verify all of `store`; entry signatures by `check` (the node's uses every
    core), a chunk of a log at a time, with the errors of a one-by-one check."""
    report = AuditReport()
    heads = store.heads()
    total = sum(h.size for h in heads)
    for stored in heads:
        report.authors += 1
        _audit_log(store, stored, report, total, progress, check)
    for proof in store.fork_proofs():
        report.fork_proofs += 1
        try:
            verify_fork_proof(proof.raw, checkpoint_verifier=checkpoint_side)
        except CommonsError as e:
            report.errors.append({"code": e.code, "author": proof.author.hex(), "seq": None})
    return report


def _audit_log(
    store: LogStore,
    stored: LogHead,
    report: AuditReport,
    total: int,
    progress: Progress | None,
    check: SignatureCheck,
) -> None:
    network, author = stored.network, stored.author
    head = LogHead(network, author)
    tree = merkle.MerkleTree()
    key_events: list[bytes] = []
    try:
        for start in range(1, stored.size + 1, _CHUNK):
            raws = store.read_entries(network, author, start, start + _CHUNK)
            for raw, item in zip(raws, decode_entries(raws, check=check), strict=True):
                entry = item if isinstance(item, Entry) else _proven_invalid(store, raw, item)
                head = verify_next(head, entry)
                tree.append(merkle.leaf_hash(raw))
                spec = kinds.spec_for(entry.kind)
                if spec is not None and spec.key_event:
                    key_events.append(raw)
                report.entries += 1
            if progress is not None:
                progress(report.entries, total)
    except CommonsError as e:
        report.errors.append({"code": e.code, "author": author.hex(), "seq": head.size + 1})
        return
    _compare(store, stored, head, tree, report)
    if key_events:
        _audit_checkpoints(store, stored, tree, key_events, report)


def _proven_invalid(store: LogStore, raw: bytes, error: CommonsError) -> Entry:
    """An entry whose signature fails is accepted only when its deferred check failed
    and the proof against its author is stored (specs/0003 §4.2, rule 6); otherwise
    `error` is raised: the first bad entry, as checking one by one finds it."""
    if error.code == "verify.bad-signature":
        entry = read_stored_entry(raw)
        if store.check_state(entry.network, entry.author, entry.seq) == FAILED:
            return entry
    raise error


def _compare(
    store: LogStore, stored: LogHead, head: LogHead, tree: merkle.MerkleTree, report: AuditReport
) -> None:
    author = stored.author.hex()
    if encode_head(head) != encode_head(stored):
        report.errors.append({"code": "audit.state-mismatch", "author": author, "seq": None})
    if store.leaf_hashes(stored.network, stored.author) != [tree.leaf(i) for i in range(tree.size)]:
        report.errors.append({"code": "audit.leaf-mismatch", "author": author, "seq": None})


def _audit_checkpoints(
    store: LogStore,
    stored: LogHead,
    tree: merkle.MerkleTree,
    key_events: list[bytes],
    report: AuditReport,
) -> None:
    history = verify_key_history(key_events, stored.network, stored.author)
    for cp in store.checkpoints(stored.network, stored.author):
        report.checkpoints += 1
        try:
            signed = decode_signed_checkpoint(cp.note)
            verify_checkpoint_signature(signed, history.period_after(cp.size).signing_key)
            if cp.size > tree.size:
                report.checkpoints_ahead += 1
            elif tree.root(cp.size) != signed.checkpoint.root:
                raise CommonsError("audit.checkpoint-mismatch", "root differs from the entries")
        except CommonsError as e:
            report.errors.append({"code": e.code, "author": stored.author.hex(), "seq": cp.size})
