"""The design catalogue: a view derived from `design` entries (specs/0002 §5).

`index_entry(index, entry, revoked)` turns one stored entry into catalogue rows
through a `CatalogueIndex`, the storage this view needs: a design row per valid
`design` entry, and one lineage edge per `derived_from` id. It guarantees:
  * only entries whose body validates (protocol.kinds.check_body) become rows;
    an unknown kind or an invalid body is skipped and its reason recorded
    (`body.unknown-kind`, `body.invalid`), as specs/0002 §5 asks of every view;
  * revoked entries (LogHead.is_revoked) never become rows;
  * indexing is idempotent and order-free: the same entries in any order give
    the same catalogue, so a rebuild equals incremental indexing.
Superseded versions stay as rows but are hidden from search: a design is
superseded when a later design *by the same author* names it in `supersedes`
(another author cannot hide someone else's design). Lineage follows
`derived_from` edges only, to a bounded depth, and is safe against cycles (ids are
hashes, so a cycle needs a forged entry, but a view never trusts that).
A design is withdrawn (specs/0010 §7) by a `design.withdraw` of its own author
(ledger.takedown judges them): search hides it unless asked, its row says when and why,
lineage still lists it, marked withdrawn. Withdrawals are kept as they arrive and
judged when read, so one that arrives before its design applies once the design does.
Likewise the print-readiness its author publishes (`design.readiness`, specs/0010 §3.5).

`MemoryCatalogue` is the slow, literal reference implementation used by pure
tests; node.store.catalogue is the SQLite one. This module does no I/O and never
removes rows: after a revocation arrives, rebuild the view.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from ledger.readiness import Published, Readiness, published_from_entry, shown_published
from ledger.takedown import DesignFacts, Withdrawal, judge_withdrawals, withdrawal_from_entry
from protocol import kinds
from protocol.design import DESIGN, READINESS, WITHDRAW, DesignBody
from protocol.entry import Entry

MAX_LINEAGE_DEPTH = 64
DEFAULT_LIMIT = 20

# Search weights per field (higher ranks first); both implementations use them.
FIELD_WEIGHTS: dict[str, float] = {
    "name": 10.0,
    "summary": 2.0,
    "tags": 5.0,
    "materials": 1.0,
    "processes": 1.0,
}

FamilyOf = Callable[[str], str]
"""Maps a licence expression to the family a filter names (default: itself)."""


def exact_expression(expression: str) -> str:
    return expression


@dataclass(frozen=True, slots=True)
class DesignRow:
    """What the catalogue keeps of one valid, unrevoked design entry."""

    id: bytes
    author: bytes
    seq: int
    timestamp_ms: int
    name: str
    summary: str
    version: str | None
    licence: str
    licensors: tuple[str, ...]
    tags: tuple[str, ...]
    processes: tuple[str, ...]
    materials: tuple[str, ...]
    supersedes: bytes | None = None
    derived_from: tuple[bytes, ...] = ()
    language: str | None = None
    oshwa_uid: str | None = None
    files: tuple[bytes, ...] = ()


@dataclass(frozen=True, slots=True)
class Skipped:
    """An entry the catalogue did not interpret, and why (a `body.*` code)."""

    entry_id: bytes
    kind: str
    code: str
    reason: str


@dataclass(frozen=True, slots=True)
class Filters:
    """Search filters; each set one must match. Facets compare case-folded."""

    licence_family: str | None = None
    process: str | None = None
    material: str | None = None
    tag: str | None = None
    include_superseded: bool = False
    include_withdrawn: bool = False


NO_FILTERS = Filters()


@dataclass(frozen=True, slots=True)
class LineageRow:
    """One design on a lineage path, with what attribution needs.

    `known` is False for an id named by `derived_from` that this node does not
    hold (yet): its other fields are then empty. `withdrawn`: its author withdrew it.
    """

    id: bytes
    depth: int
    known: bool
    author: bytes | None = None
    name: str = ""
    version: str | None = None
    licence: str = ""
    licensors: tuple[str, ...] = field(default_factory=tuple)
    withdrawn: bool = False


class CatalogueIndex(Protocol):
    """What the catalogue view needs from storage."""

    def add_design(self, row: DesignRow) -> None:
        """Store a row; a row with a stored id is ignored."""

    def add_edges(self, child: bytes, parents: Sequence[bytes]) -> None:
        """Record that `child` derives from each of `parents`."""

    def record_skip(self, skipped: Skipped) -> None: ...

    def add_withdrawal(self, withdrawal: Withdrawal) -> None:
        """Keep a valid design.withdraw entry; one with a stored entry id is ignored."""

    def add_published(self, published: Published) -> None:
        """Keep a valid design.readiness entry; one with a stored entry id is ignored."""

    def published_readiness(self, design_id: bytes) -> dict[bytes, Readiness]:
        """The findings its author published of a design's meshes (specs/0010 §3.5)."""
        ...

    def search(
        self, query: str, filters: Filters = ..., limit: int = ...
    ) -> list[dict[str, Any]]: ...

    def ancestors(self, design_id: bytes, max_depth: int = ...) -> list[LineageRow]: ...

    def descendants(self, design_id: bytes, max_depth: int = ...) -> list[LineageRow]: ...


def concerns(kind: str) -> bool:
    """Whether entries of `kind` are the catalogue's business: designs, withdrawals,
    and unknown kinds (skipped with their reason). Another known kind (jobs,
    governance...) is its own view's, which judges its bodies."""
    return kind in (DESIGN, WITHDRAW, READINESS) or kinds.spec_for(kind) is None


def index_entry(index: CatalogueIndex, entry: Entry, revoked: bool) -> DesignRow | Skipped | None:
    """Index one stored entry; return its row, its skip record, or None if the
    entry is not the catalogue's business (another known kind, or revoked) or is a
    withdrawal (kept, and judged when read)."""
    if revoked or not concerns(entry.kind):
        return None
    status = kinds.check_body(entry.kind, entry.body)
    if not status.valid:
        assert status.code is not None
        skipped = Skipped(entry.id, entry.kind, status.code, status.reason or "")
        index.record_skip(skipped)
        return skipped
    withdrawal = withdrawal_from_entry(entry)
    if withdrawal is not None:
        index.add_withdrawal(withdrawal)
    published = published_from_entry(entry)
    if published is not None:
        index.add_published(published)
    if entry.kind != DESIGN:
        return None
    assert isinstance(status.model, DesignBody)
    row = design_row(entry, status.model)
    index.add_design(row)
    if row.derived_from:
        index.add_edges(row.id, row.derived_from)
    return row


def design_row(entry: Entry, body: DesignBody) -> DesignRow:
    """The row of a design entry whose body validated as `body` (specs/0010 §2)."""
    return DesignRow(
        id=entry.id,
        author=entry.author,
        seq=entry.seq,
        timestamp_ms=entry.timestamp_ms,
        name=body.name,
        summary=body.summary,
        version=body.version,
        licence=body.licence,
        licensors=tuple(body.licensors),
        tags=tuple(body.tags),
        processes=tuple(body.processes),
        materials=tuple(body.materials),
        supersedes=body.supersedes,
        derived_from=tuple(body.derived_from),
        language=body.language,
        oshwa_uid=body.oshwa_uid,
        files=tuple(sorted({f.sha256 for f in body.files})),
    )


def query_terms(query: str) -> list[str]:
    """The words of a free-text query, case-folded; punctuation separates words."""
    return [w.casefold() for w in re.findall(r"[^\W_]+", query)]


def fold_all(values: Sequence[str]) -> tuple[str, ...]:
    return tuple(v.casefold() for v in values)


def withdrawal_json(w: Withdrawal | None) -> dict[str, Any] | None:
    """How a row shows its withdrawal (ids as bytes): None when live."""
    if w is None:
        return None
    return {"entry_id": w.entry_id, "reason": w.reason, "timestamp_ms": w.timestamp_ms}


def row_json(
    row: DesignRow, superseded: bool, withdrawn: Withdrawal | None = None
) -> dict[str, Any]:
    """The dict a search returns for one design (ids as bytes; callers render)."""
    return {
        "id": row.id,
        "author": row.author,
        "seq": row.seq,
        "timestamp_ms": row.timestamp_ms,
        "name": row.name,
        "summary": row.summary,
        "version": row.version,
        "licence": row.licence,
        "licensors": list(row.licensors),
        "tags": list(row.tags),
        "processes": list(row.processes),
        "materials": list(row.materials),
        "supersedes": row.supersedes,
        "superseded": superseded,
        "language": row.language,
        "oshwa_uid": row.oshwa_uid,
        "withdrawn": withdrawal_json(withdrawn),
    }


class MemoryCatalogue:
    """A CatalogueIndex in memory: the literal reference for the SQLite one.

    Search scores a design by the sum of FIELD_WEIGHTS of the fields in which each
    query term occurs as a word prefix; every term must occur somewhere. Ties go
    to the newer entry, then to the smaller id.
    """

    def __init__(self, family_of: FamilyOf = exact_expression) -> None:
        self.family_of = family_of
        self.rows: dict[bytes, DesignRow] = {}
        self.parents: dict[bytes, set[bytes]] = {}
        self.skipped: dict[bytes, Skipped] = {}
        self.withdrawals: dict[bytes, Withdrawal] = {}
        self.published: dict[bytes, Published] = {}

    def add_design(self, row: DesignRow) -> None:
        self.rows.setdefault(row.id, row)

    def add_edges(self, child: bytes, parents: Sequence[bytes]) -> None:
        self.parents.setdefault(child, set()).update(parents)

    def record_skip(self, skipped: Skipped) -> None:
        self.skipped[skipped.entry_id] = skipped

    def add_withdrawal(self, withdrawal: Withdrawal) -> None:
        self.withdrawals.setdefault(withdrawal.entry_id, withdrawal)

    def add_published(self, published: Published) -> None:
        self.published.setdefault(published.entry_id, published)

    def published_readiness(self, design_id: bytes) -> dict[bytes, Readiness]:
        row = self.rows.get(design_id)
        if row is None:
            return {}
        naming = [p for p in self.published.values() if p.design == design_id]
        return shown_published(row.author, frozenset(row.files), naming)

    def withdrawn(self) -> dict[bytes, Withdrawal]:
        """Design id -> the withdrawal shown (ledger.takedown.judge_withdrawals)."""
        facts = {i: DesignFacts(i, r.author, frozenset(r.files)) for i, r in self.rows.items()}
        return judge_withdrawals(facts, self.withdrawals.values()).withdrawn

    def is_superseded(self, row: DesignRow) -> bool:
        return any(r.supersedes == row.id and r.author == row.author for r in self.rows.values())

    def search(
        self, query: str, filters: Filters = NO_FILTERS, limit: int = DEFAULT_LIMIT
    ) -> list[dict[str, Any]]:
        terms = query_terms(query)
        withdrawn = self.withdrawn()
        scored: list[tuple[float, int, bytes]] = []
        for row in self.rows.values():
            superseded = self.is_superseded(row)
            if (superseded and not filters.include_superseded) or not self._passes(row, filters):
                continue
            if row.id in withdrawn and not filters.include_withdrawn:
                continue
            score = _score(row, terms)
            if score is not None:
                scored.append((-score, -row.timestamp_ms, row.id))
        scored.sort()
        return [
            row_json(self.rows[i], self.is_superseded(self.rows[i]), withdrawn.get(i))
            for *_, i in scored
        ][:limit]

    def _passes(self, row: DesignRow, filters: Filters) -> bool:
        family = filters.licence_family
        return (
            (family is None or self.family_of(row.licence) == family)
            and (filters.process is None or filters.process.casefold() in fold_all(row.processes))
            and (filters.material is None or filters.material.casefold() in fold_all(row.materials))
            and (filters.tag is None or filters.tag.casefold() in fold_all(row.tags))
        )

    def ancestors(self, design_id: bytes, max_depth: int = MAX_LINEAGE_DEPTH) -> list[LineageRow]:
        return self._walk(design_id, self.parents, max_depth)

    def descendants(self, design_id: bytes, max_depth: int = MAX_LINEAGE_DEPTH) -> list[LineageRow]:
        children: dict[bytes, set[bytes]] = {}
        for child, parents in self.parents.items():
            for parent in parents:
                children.setdefault(parent, set()).add(child)
        return self._walk(design_id, children, max_depth)

    def _walk(
        self, start: bytes, next_of: dict[bytes, set[bytes]], max_depth: int
    ) -> list[LineageRow]:
        """Breadth-first: each reachable id once, at its least depth in [1, max_depth]."""
        depth_of: dict[bytes, int] = {start: 0}
        frontier = [start]
        for depth in range(1, max_depth + 1):
            frontier = [
                n for f in frontier for n in sorted(next_of.get(f, ())) if n not in depth_of
            ]
            for n in frontier:
                depth_of.setdefault(n, depth)
            frontier = list(dict.fromkeys(frontier))
        del depth_of[start]
        withdrawn = self.withdrawn()
        return sort_lineage([self._lineage_row(i, d, withdrawn) for i, d in depth_of.items()])

    def _lineage_row(
        self, design_id: bytes, depth: int, withdrawn: dict[bytes, Withdrawal]
    ) -> LineageRow:
        row = self.rows.get(design_id)
        if row is None:
            return LineageRow(design_id, depth, known=False)
        return LineageRow(
            design_id, depth, True, row.author, row.name, row.version, row.licence,
            row.licensors, design_id in withdrawn,
        )  # fmt: skip


def sort_lineage(rows: list[LineageRow]) -> list[LineageRow]:
    """Lineage order: nearest first, then by id."""
    return sorted(rows, key=lambda r: (r.depth, r.id))


def _score(row: DesignRow, terms: list[str]) -> float | None:
    if not terms:
        return 0.0
    words = {
        "name": query_terms(row.name),
        "summary": query_terms(row.summary),
        "tags": query_terms(" ".join(row.tags)),
        "materials": query_terms(" ".join(row.materials)),
        "processes": query_terms(" ".join(row.processes)),
    }
    total = 0.0
    for term in terms:
        hits = [f for f, ws in words.items() if any(w.startswith(term) for w in ws)]
        if not hits:
            return None
        total += sum(FIELD_WEIGHTS[f] for f in hits)
    return total
