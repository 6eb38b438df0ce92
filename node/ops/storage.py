"""What a home holds, and the blob garbage collector (README "Disk and blobs").

A node keeps every blob it fetched or was given; over years that grows without end.
`collect_garbage` keeps the blobs a node has a reason to keep and evicts the rest,
least recently used first, until the blob store fits the operator's budget:

    own       a file of one of our own entries: a design we published (unless we
              withdrew it, specs/0010 §7), job files we sealed, evidence we gave
    job       a file of a job we are a party to (its customer or its awarded lab):
              the offered design's files, its sealed files, its evidence
    pinned    named by the operator (`fabnode blob pin`), kept in `pins.json`
    rule      a design file this member pins by the federation's rule (specs/0009 §13)
    recent    added or served in the last RECENT_S: a fetch in progress of use

Use is the file's mtime: the store sets it when a blob is added and when it is
served or exported (BlobStore.touch), so the oldest unused blob goes first. A blob
evicted is fetched again from peers when someone needs it (the ledger keeps every
design's and job's hashes). Eviction only unlinks final blobs; a reader holding one
open keeps reading it (POSIX).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from node.ops.context import LedgerContext
from node.ops.jobfiles import job_blobs as job_blobs_of
from node.ops.jobs import job_set
from node.ops.pinning import rule_pins
from node.store.blobs import BlobStore
from node.store.home import NodeHome
from protocol import kinds
from protocol.design import DESIGN, DesignBody
from protocol.entry import Entry, read_stored_entry
from protocol.ids import id_to_text
from protocol.jobs import DISPUTE, FILES
from protocol.jobstate import JobView

#: A blob added or served this recently is never evicted.
RECENT_S = 7 * 24 * 3600


def protected_blobs(ctx: LedgerContext) -> dict[bytes, str]:
    """Blob id -> why it is kept (own, job, pinned, rule); see the module docstring."""
    keep: dict[bytes, str] = {}
    for blob_id in pins(ctx.home):
        keep[blob_id] = "pinned"
    for blob_id in job_blobs(ctx):
        keep.setdefault(blob_id, "job")
    for blob_id in rule_pins(ctx):
        keep.setdefault(blob_id, "rule")
    for entry in _own_entries(ctx):
        if entry.kind == DESIGN and ctx.catalogue.withdrawal_of(entry.id) is not None:
            continue  # withdrawn: evictable, unless another reason keeps its files
        for blob_id in _entry_blobs(ctx, entry):
            keep[blob_id] = "own"
    return keep


def keeps_blob(ctx: LedgerContext, blob_id: bytes) -> bool:
    """Whether this node would keep `blob_id` itself: a live design's file, or a file of
    a job it is a party to (what it fetches through for a peer, specs/0009 §12)."""
    return ctx.catalogue.names_blob(blob_id) or blob_id in job_blobs(ctx)


def job_blobs(ctx: LedgerContext) -> set[bytes]:
    """The files of every job we are a party to (customer or awarded lab)."""
    me = ctx.identity.id
    found: set[bytes] = set()
    for view in job_set(ctx).jobs:
        if me in (view.customer, view.lab):
            found |= _job_blobs(ctx, view)
    return found


def disk_usage(ctx: LedgerContext, blobs: BlobStore) -> dict[str, Any]:
    """Bytes the home uses, by part, and the blobs by the reason they are kept."""
    keep = protected_blobs(ctx)
    by_reason: dict[str, dict[str, int]] = {}
    for blob_id, size, _ in blobs.held():
        reason = keep.get(blob_id, "other")
        row = by_reason.setdefault(reason, {"blobs": 0, "bytes": 0})
        row["blobs"] += 1
        row["bytes"] += size
    home = ctx.home.path
    databases = sum(p.stat().st_size for p in home.glob("*.sqlite3*") if p.is_file())
    return {
        "databases_bytes": databases,
        "blobs": by_reason,
        "blobs_bytes": sum(r["bytes"] for r in by_reason.values()),
        "partial_bytes": blobs.partial_bytes(),
    }


@dataclass(frozen=True)
class Collected:
    evicted: list[tuple[bytes, int]]
    kept_bytes: int
    budget_bytes: int

    def to_json(self) -> dict[str, Any]:
        return {
            "evicted": [{"blob": id_to_text(b), "bytes": n} for b, n in self.evicted],
            "evicted_bytes": sum(n for _, n in self.evicted),
            "blobs_bytes": self.kept_bytes,
            "budget_bytes": self.budget_bytes,
            "within_budget": self.kept_bytes <= self.budget_bytes,
        }


def collect_garbage(
    ctx: LedgerContext,
    blobs: BlobStore,
    budget_bytes: int,
    *,
    dry_run: bool = False,
    now_s: float | None = None,
) -> Collected:
    """Evict unprotected, not recent blobs, least recently used first, until the blob
    store holds at most `budget_bytes` (or nothing more may go)."""
    now = time.time() if now_s is None else now_s
    keep = protected_blobs(ctx)
    held = list(blobs.held())
    total = sum(size for _, size, _ in held)
    candidates = sorted(
        (mtime, blob_id, size)
        for blob_id, size, mtime in held
        if blob_id not in keep and now - mtime >= RECENT_S
    )
    evicted: list[tuple[bytes, int]] = []
    for _, blob_id, size in candidates:
        if total <= budget_bytes:
            break
        if not dry_run:
            blobs.delete(blob_id)
        evicted.append((blob_id, size))
        total -= size
    return Collected(evicted, total, budget_bytes)


def pins(home: NodeHome) -> set[bytes]:
    return home.pinned_blobs()


def _own_entries(ctx: LedgerContext) -> Iterable[Entry]:
    head = ctx.ledger.head(ctx.network, ctx.identity.id)
    if head is None or head.size == 0:
        return []
    raws = ctx.store.read_entries(ctx.network, ctx.identity.id, 1, head.size + 1)
    return [read_stored_entry(raw) for raw in raws]


def _entry_blobs(ctx: LedgerContext, entry: Entry) -> set[bytes]:
    """The blobs an entry names: a design's files, a job's sealed files or evidence,
    the files of the design an offer names."""
    status = kinds.check_body(entry.kind, entry.body)
    if not status.valid:
        return set()
    body = status.model
    if entry.kind == DESIGN and isinstance(body, DesignBody):
        return {f.sha256 for f in body.files}
    if entry.kind == FILES:
        return set(getattr(body, "blobs", ()))
    if entry.kind == DISPUTE:
        return set(getattr(body, "evidence", ()))
    design = getattr(body, "design", None)
    return _design_files(ctx, design) if isinstance(design, bytes) else set()


def _job_blobs(ctx: LedgerContext, view: JobView) -> set[bytes]:
    """What the job names (node.ops.jobfiles.job_blobs) and its offered design's files."""
    design = set() if view.offer.design is None else _design_files(ctx, view.offer.design)
    return design | job_blobs_of(view)


def _design_files(ctx: LedgerContext, design_id: bytes) -> set[bytes]:
    where = ctx.store.locate(design_id)
    raw = None if where is None else ctx.ledger.entry_at(*where)
    if raw is None:
        return set()
    entry = read_stored_entry(raw)
    status = kinds.check_body(entry.kind, entry.body)
    if entry.kind != DESIGN or not isinstance(status.model, DesignBody):
        return set()
    return {f.sha256 for f in status.model.files}
