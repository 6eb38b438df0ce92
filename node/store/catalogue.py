"""The design catalogue on SQLite: `<home>/catalogue.sqlite3` (the view is ledger.catalogue).

`CatalogueStore(path)` implements `ledger.catalogue.CatalogueIndex` with the
observable results of `MemoryCatalogue` (search may rank differently: SQLite
ranks with FTS5 bm25 under the same field weights). It guarantees:
  * the file is a derived view: nothing in it is authoritative, and
    `rebuild_from(store)` recreates it from the ledger in one transaction, with the
    same rows as indexing the same entries one by one;
  * a file written by another schema version is emptied on open and
    `needs_rebuild` is set, as it is for a new file: the caller then rebuilds;
  * lineage queries are bounded by depth (ledger.catalogue.MAX_LINEAGE_DEPTH) and
    terminate on cyclic edges;
  * no sqlite3 exception escapes: they become `misuse.*` errors (node.store.logs);
  * withdrawals are judged as ledger.takedown does (the design's author only, the
    earliest shown), when read: `withdrawal_of`, `withheld_blobs`; published
    print-readiness as ledger.readiness does (the author's newest): `published_readiness`.
The licence filter names a family (`licence_family`: licenses.families, specs/0006
§3), stored per row when it is added. Free text goes through FTS5 as quoted prefix
terms only, so a query can never be an FTS syntax error. Like SqliteLogStore, a
store owns one connection bound to the thread that opened it; `batch()` groups
writes into one transaction.
"""

from __future__ import annotations

import contextlib
import functools
import json
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from ledger.catalogue import (
    DEFAULT_LIMIT,
    FIELD_WEIGHTS,
    MAX_LINEAGE_DEPTH,
    NO_FILTERS,
    DesignRow,
    FamilyOf,
    Filters,
    LineageRow,
    Skipped,
    concerns,
    fold_all,
    index_entry,
    query_terms,
    withdrawal_json,
)
from ledger.log import Ledger
from ledger.readiness import Published, Readiness, readiness_from_json
from ledger.store import LogStore
from ledger.takedown import Withdrawal
from licenses.families import assess
from licenses.spdx import parse_expression
from node.store.logs import BUSY_TIMEOUT_MS, sql_migration, wrapped_errors
from protocol import kinds
from protocol.entry import Entry, read_stored_entry
from protocol.errors import DecodeError, LocalMisuseError

# 2: designs.version may be null; 3: log_kinds (the sync kinds filter); 4: design_files,
# withdrawals (specs/0010 §7); 5: published_readiness (specs/0010 §3.5)
SCHEMA_VERSION = 5
READ_CHUNK = 1000
_TABLES = (
    "designs_fts", "facets", "edges", "skipped", "designs", "log_kinds", "design_files",
    "withdrawals", "published_readiness", "meta",
)  # fmt: skip

_SCHEMA = sql_migration(
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL)",
    f"INSERT INTO meta (key, value) VALUES ('schema_version', {SCHEMA_VERSION})",
    """CREATE TABLE designs (
        rowid INTEGER PRIMARY KEY, id BLOB NOT NULL UNIQUE, author BLOB NOT NULL,
        seq INTEGER NOT NULL, timestamp_ms INTEGER NOT NULL, name TEXT NOT NULL,
        summary TEXT NOT NULL, version TEXT, licence TEXT NOT NULL,
        family TEXT NOT NULL, licensors TEXT NOT NULL, tags TEXT NOT NULL,
        processes TEXT NOT NULL, materials TEXT NOT NULL, supersedes BLOB,
        language TEXT, oshwa_uid TEXT)""",
    "CREATE INDEX designs_by_supersedes ON designs (supersedes, author)",
    "CREATE INDEX designs_by_family ON designs (family, timestamp_ms)",
    "CREATE INDEX designs_by_time ON designs (timestamp_ms)",
    # facet is 'tag', 'process' or 'material'; value is case-folded.
    """CREATE TABLE facets (facet TEXT NOT NULL, value TEXT NOT NULL,
        design INTEGER NOT NULL, PRIMARY KEY (facet, value, design)) WITHOUT ROWID""",
    """CREATE TABLE edges (child BLOB NOT NULL, parent BLOB NOT NULL,
        PRIMARY KEY (child, parent)) WITHOUT ROWID""",
    "CREATE INDEX edges_by_parent ON edges (parent, child)",
    """CREATE TABLE skipped (entry_id BLOB PRIMARY KEY, kind TEXT NOT NULL,
        code TEXT NOT NULL, reason TEXT NOT NULL)""",
    # Which kinds each log holds, so a sync peer's kinds filter (specs/0005 §7) is
    # answered by one query, never by decoding every stored entry (specs/0012 §5).
    """CREATE TABLE log_kinds (network BLOB NOT NULL, kind TEXT NOT NULL,
        author BLOB NOT NULL, PRIMARY KEY (network, kind, author)) WITHOUT ROWID""",
    # The blobs each design names, and every valid design.withdraw (judged when read).
    """CREATE TABLE design_files (blob BLOB NOT NULL, design BLOB NOT NULL,
        PRIMARY KEY (blob, design)) WITHOUT ROWID""",
    "CREATE INDEX design_files_by_design ON design_files (design)",
    """CREATE TABLE withdrawals (entry_id BLOB PRIMARY KEY, design BLOB NOT NULL,
        author BLOB NOT NULL, reason TEXT NOT NULL, timestamp_ms INTEGER NOT NULL)""",
    "CREATE INDEX withdrawals_by_design ON withdrawals (design, author, timestamp_ms, entry_id)",
    # Every valid design.readiness: findings by mesh hash (hex) as JSON, judged when read.
    """CREATE TABLE published_readiness (entry_id BLOB PRIMARY KEY, design BLOB NOT NULL,
        author BLOB NOT NULL, timestamp_ms INTEGER NOT NULL, files TEXT NOT NULL)""",
    """CREATE INDEX published_readiness_by_design
        ON published_readiness (design, author, timestamp_ms, entry_id)""",
    """CREATE VIRTUAL TABLE designs_fts USING fts5(
        name, summary, tags, materials, processes, content='designs',
        content_rowid='rowid', tokenize='unicode61 remove_diacritics 0')""",
)

_ROW_COLUMNS = (
    "id, author, seq, timestamp_ms, name, summary, version, licence, licensors, tags,"
    " processes, materials, supersedes, language, oshwa_uid"
)
_SUPERSEDED = "EXISTS (SELECT 1 FROM designs s WHERE s.supersedes = d.id AND s.author = d.author)"
# A design is withdrawn by a withdrawal of its own author (specs/0010 §7).
_WITHDRAWN = "EXISTS (SELECT 1 FROM withdrawals w WHERE w.design = d.id AND w.author = d.author)"
# Blobs named by a withdrawn design and by no live one (ledger.takedown.withheld_blobs).
_WITHHELD = f"""
SELECT DISTINCT f.blob FROM withdrawals w
JOIN designs d ON d.id = w.design AND d.author = w.author
JOIN design_files f ON f.design = d.id
WHERE NOT EXISTS (
    SELECT 1 FROM design_files g JOIN designs d ON d.id = g.design
    WHERE g.blob = f.blob AND NOT {_WITHDRAWN})
"""
_WALK = """
WITH RECURSIVE walk(id, depth) AS (
    SELECT {far}, 1 FROM edges WHERE {near} = :start
    UNION
    SELECT e.{far}, w.depth + 1 FROM edges e JOIN walk w ON e.{near} = w.id
    WHERE w.depth < :max_depth
)
SELECT w.id, MIN(w.depth), d.author, d.name, d.version, d.licence, d.licensors,
    d.id IS NOT NULL AND EXISTS (
        SELECT 1 FROM withdrawals x WHERE x.design = d.id AND x.author = d.author)
FROM walk w LEFT JOIN designs d ON d.id = w.id
WHERE w.id != :start GROUP BY w.id ORDER BY MIN(w.depth), w.id
"""


@functools.lru_cache(maxsize=4096)
def licence_family(expression: str) -> str:
    """The licence family a search filter names (licenses.families, specs/0006 §3):
    strong-copyleft, weak-copyleft, permissive, blocked, or unknown (also for an
    expression that does not parse)."""
    try:
        return assess(parse_expression(expression)).family.value
    except DecodeError:
        return "unknown"


class CatalogueStore:
    """A CatalogueIndex in one SQLite file. See the module docstring."""

    def __init__(
        self, path: str | Path, family_of: FamilyOf = licence_family, *, read_only: bool = False
    ) -> None:
        """`read_only`: a reader beside the node's writer (WAL mode serves both), for a
        command that only reads; it never rebuilds: a new or stale file is
        `misuse.stale-database`, and the caller takes the writer's path instead."""
        self.path = Path(path)
        self.family_of = family_of
        self.needs_rebuild = False
        #: Called (on the storage thread) with every batch index_committed sees: the
        #: node's live event stream (node.runtime.events) hangs here. Must not block.
        self.on_committed: Callable[[Sequence[Entry]], None] | None = None
        with wrapped_errors():
            if read_only:
                uri = self.path.resolve().as_uri() + "?mode=ro"
                self._conn = sqlite3.connect(uri, uri=True, isolation_level=None)
            else:
                self._conn = sqlite3.connect(self.path, isolation_level=None)
        try:
            with wrapped_errors():
                self._conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
                if read_only:
                    if self._stored_version() != SCHEMA_VERSION:
                        raise LocalMisuseError(
                            "misuse.stale-database", f"{self.path.name} must be rebuilt first"
                        )
                    return
                self._conn.execute("PRAGMA journal_mode = WAL")
                self._conn.execute("PRAGMA synchronous = FULL")
                self._open_schema()
        except BaseException:
            self._conn.close()
            raise

    def close(self) -> None:
        with wrapped_errors():
            self._conn.close()

    def interrupt(self) -> None:
        """Abort the statement running on this connection, from any thread."""
        self._conn.interrupt()

    def __enter__(self) -> CatalogueStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _open_schema(self) -> None:
        with self.batch():
            if self._stored_version() == SCHEMA_VERSION:
                return
            for table in _TABLES:
                self._conn.execute(f"DROP TABLE IF EXISTS {table}")
            _SCHEMA(self._conn)
            self.needs_rebuild = True

    def _stored_version(self) -> int | None:
        found = self._conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'"
        ).fetchone()
        if found is None:
            return None
        row = self._conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        return None if row is None else int(row[0])

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        """One transaction around the writes inside; nested use joins the outer one."""
        if self._conn.in_transaction:
            yield
            return
        with wrapped_errors():
            self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield
            with wrapped_errors():
                self._conn.execute("COMMIT")
        except BaseException:
            if self._conn.in_transaction:
                self._conn.rollback()
            raise

    # -- writes (CatalogueIndex) ------------------------------------------------

    def add_design(self, row: DesignRow) -> None:
        self.add_designs([row])

    def add_designs(self, rows: Sequence[DesignRow]) -> None:
        """Store rows in one transaction; rows whose id is stored are ignored."""
        with wrapped_errors(), self.batch():
            (before,) = self._conn.execute("SELECT COALESCE(MAX(rowid), 0) FROM designs").fetchone()
            self._conn.executemany(
                # Only a design already held is skipped (idempotent indexing); any
                # other constraint failure raises instead of dropping the row.
                f"INSERT INTO designs ({_ROW_COLUMNS}, family)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (id) DO NOTHING",
                [(*_row_values(r), self.family_of(r.licence)) for r in rows],
            )
            self._conn.execute(
                "INSERT INTO designs_fts (rowid, name, summary, tags, materials, processes)"
                " SELECT rowid, name, summary, tags, materials, processes FROM designs"
                " WHERE rowid > ?",
                (before,),
            )
            added = dict(
                self._conn.execute("SELECT id, rowid FROM designs WHERE rowid > ?", (before,))
            )
            self._conn.executemany(
                "INSERT OR IGNORE INTO facets (facet, value, design) VALUES (?, ?, ?)",
                [fact for r in rows if r.id in added for fact in _facets(r, added[r.id])],
            )
            self._conn.executemany(
                "INSERT OR IGNORE INTO design_files (blob, design) VALUES (?, ?)",
                [(blob, r.id) for r in rows if r.id in added for blob in r.files],
            )

    def add_withdrawal(self, withdrawal: Withdrawal) -> None:
        w = withdrawal
        with wrapped_errors():
            self._conn.execute(
                "INSERT OR IGNORE INTO withdrawals (entry_id, design, author, reason, timestamp_ms)"
                " VALUES (?, ?, ?, ?, ?)",
                (w.entry_id, w.design, w.author, w.reason, w.timestamp_ms),
            )

    def add_published(self, published: Published) -> None:
        p = published
        files = json.dumps({h.hex(): r.to_json() for h, r in sorted(p.files.items())})
        with wrapped_errors():
            self._conn.execute(
                "INSERT OR IGNORE INTO published_readiness"
                " (entry_id, design, author, timestamp_ms, files) VALUES (?, ?, ?, ?, ?)",
                (p.entry_id, p.design, p.author, p.timestamp_ms, files),
            )

    def published_readiness(self, design_id: bytes) -> dict[bytes, Readiness]:
        """Its author's findings of the design's meshes (specs/0010 §3.5), the newest
        per file the design names; as ledger.readiness.shown_published decides."""
        with wrapped_errors():
            rows = self._conn.execute(
                "SELECT p.files FROM published_readiness p"
                " JOIN designs d ON d.id = p.design AND d.author = p.author"
                " WHERE p.design = ? ORDER BY p.timestamp_ms, p.entry_id",
                (design_id,),
            ).fetchall()
            if not rows:
                return {}
            named = self._conn.execute(
                "SELECT blob FROM design_files WHERE design = ?", (design_id,)
            ).fetchall()
        held = {r[0] for r in named}
        shown: dict[bytes, Readiness] = {}
        for (files,) in rows:  # oldest first: newer findings replace older ones
            for h, f in json.loads(files).items():
                if bytes.fromhex(h) in held:
                    shown[bytes.fromhex(h)] = readiness_from_json(f)
        return shown

    def add_edges(self, child: bytes, parents: Sequence[bytes]) -> None:
        with wrapped_errors():
            self._conn.executemany(
                "INSERT OR IGNORE INTO edges (child, parent) VALUES (?, ?)",
                [(child, parent) for parent in parents],
            )

    def record_skip(self, skipped: Skipped) -> None:
        with wrapped_errors():
            self._conn.execute(
                "INSERT OR REPLACE INTO skipped (entry_id, kind, code, reason) VALUES (?, ?, ?, ?)",
                (skipped.entry_id, skipped.kind, skipped.code, skipped.reason),
            )

    def rebuild_from(self, store: LogStore) -> int:
        """Empty the catalogue and index every entry of `store`, in one transaction;
        return how many design rows it holds afterwards."""
        with wrapped_errors(), self.batch():
            for table in (
                "designs", "facets", "edges", "skipped", "log_kinds", "design_files",
                "withdrawals", "published_readiness",
            ):  # fmt: skip
                self._conn.execute(f"DELETE FROM {table}")
            self._conn.execute("INSERT INTO designs_fts (designs_fts) VALUES ('delete-all')")
            for head in store.heads():
                for start in range(1, head.size + 1, READ_CHUNK):
                    end = min(start + READ_CHUNK, head.size + 1)
                    raws = store.read_entries(head.network, head.author, start, end)
                    entries = [read_stored_entry(raw) for raw in raws]
                    for entry in entries:
                        index_entry(self, entry, head.is_revoked(entry.seq))
                    self._add_log_kinds(entries)
            self.needs_rebuild = False
            (count,) = self._conn.execute("SELECT COUNT(*) FROM designs").fetchone()
        return int(count)

    def index_committed(self, ledger: Ledger, entries: Sequence[Entry]) -> None:
        """Index entries the ledger has just committed, in one transaction. A
        revocation among them may void designs already indexed: then rebuild."""
        if self.on_committed is not None:
            self.on_committed(entries)
        if any(e.kind == kinds.REVOCATION for e in entries):
            self.rebuild_from(ledger.store)
            return
        with self.batch():
            self._add_log_kinds(entries)
            for entry in entries:
                if not concerns(entry.kind):
                    continue
                head = ledger.head(entry.network, entry.author)
                index_entry(self, entry, head is not None and head.is_revoked(entry.seq))

    def _add_log_kinds(self, entries: Sequence[Entry]) -> None:
        rows = {(e.network, e.kind, e.author) for e in entries}
        with wrapped_errors():
            self._conn.executemany(
                "INSERT OR IGNORE INTO log_kinds (network, kind, author) VALUES (?, ?, ?)", rows
            )

    # -- reads ------------------------------------------------------------------

    def authors_with_kinds(self, network: bytes, wanted: Sequence[str]) -> set[bytes]:
        """The authors of `network` whose log holds an entry of one of `wanted` kinds."""
        with wrapped_errors():
            return {
                author
                for kind in wanted
                for (author,) in self._conn.execute(
                    "SELECT author FROM log_kinds WHERE network = ? AND kind = ?",
                    (network, kind),
                )
            }

    def search(
        self, query: str, filters: Filters = NO_FILTERS, limit: int = DEFAULT_LIMIT
    ) -> list[dict[str, Any]]:
        """Current designs matching every query word (as a word prefix) and filter;
        best match first, then newest. An empty query lists newest first."""
        where, params = _filter_sql(filters, self.family_of)
        terms = query_terms(query)
        columns = ", ".join(f"d.{c.strip()}" for c in _ROW_COLUMNS.split(","))
        select = f"SELECT {columns}, {_SUPERSEDED}, {_WITHDRAWN} FROM designs d"
        if terms:
            weights = ", ".join(str(w) for w in FIELD_WEIGHTS.values())
            select += " JOIN designs_fts f ON f.rowid = d.rowid"
            where.insert(0, "designs_fts MATCH ?")
            params.insert(0, " ".join(f'"{t}"*' for t in terms))
            order = f"bm25(designs_fts, {weights}), d.timestamp_ms DESC, d.id"
        else:
            order = "d.timestamp_ms DESC, d.id"
        sql = f"{select} WHERE {' AND '.join(where) or '1'} ORDER BY {order} LIMIT ?"
        with wrapped_errors():
            rows = self._conn.execute(sql, [*params, limit]).fetchall()
        found = [_row_dict(row[:-1]) for row in rows]
        for out, row in zip(found, rows, strict=True):
            out["withdrawn"] = withdrawal_json(self.withdrawal_of(out["id"])) if row[-1] else None
        return found

    def current_named(self, author: bytes, name: str) -> list[bytes]:
        """Ids of `author`'s designs called `name` that no design of theirs supersedes,
        newest first (what a re-import of a manifest may be a version of)."""
        with wrapped_errors():
            rows = self._conn.execute(
                "SELECT d.id FROM designs d WHERE d.author = ? AND d.name = ?"
                f" AND NOT {_SUPERSEDED}"
                " ORDER BY d.timestamp_ms DESC, d.id",
                (author, name),
            ).fetchall()
        return [r[0] for r in rows]

    def withdrawal_of(self, design_id: bytes) -> Withdrawal | None:
        """The withdrawal shown for a design: its author's earliest (specs/0010 §7)."""
        with wrapped_errors():
            row = self._conn.execute(
                "SELECT w.entry_id, w.author, w.design, w.reason, w.timestamp_ms"
                " FROM withdrawals w JOIN designs d ON d.id = w.design AND d.author = w.author"
                " WHERE w.design = ? ORDER BY w.timestamp_ms, w.entry_id LIMIT 1",
                (design_id,),
            ).fetchone()
        return None if row is None else Withdrawal(*row)

    def ignored_withdrawals(self) -> list[bytes]:
        """Entry ids of the withdrawals of a held design by another author
        (`rule.withdraw-not-author`), sorted."""
        with wrapped_errors():
            rows = self._conn.execute(
                "SELECT w.entry_id FROM withdrawals w JOIN designs d ON d.id = w.design"
                " WHERE d.author != w.author ORDER BY w.entry_id"
            ).fetchall()
        return [r[0] for r in rows]

    def withheld_blobs(self) -> frozenset[bytes]:
        """Blobs named by a withdrawn design and by no live one (ledger.takedown)."""
        with wrapped_errors():
            return frozenset(r[0] for r in self._conn.execute(_WITHHELD))

    def names_blob(self, blob: bytes) -> bool:
        """Whether a live (not withdrawn) design names `blob` among its files."""
        with wrapped_errors():
            row = self._conn.execute(
                "SELECT 1 FROM design_files f JOIN designs d ON d.id = f.design"
                f" WHERE f.blob = ? AND NOT {_WITHDRAWN} LIMIT 1",
                (blob,),
            ).fetchone()
        return row is not None

    def live_designs(self) -> list[bytes]:
        """The ids of every live (not withdrawn) design, sorted by bytes."""
        with wrapped_errors():
            rows = self._conn.execute(f"SELECT d.id FROM designs d WHERE NOT {_WITHDRAWN}")
            return sorted(r[0] for r in rows)

    def ancestors(self, design_id: bytes, max_depth: int = MAX_LINEAGE_DEPTH) -> list[LineageRow]:
        """Designs `design_id` derives from, transitively: nearest first."""
        return self._walk(design_id, "parent", "child", max_depth)

    def descendants(self, design_id: bytes, max_depth: int = MAX_LINEAGE_DEPTH) -> list[LineageRow]:
        """Designs derived from `design_id`, transitively: nearest first."""
        return self._walk(design_id, "child", "parent", max_depth)

    def _walk(self, start: bytes, far: str, near: str, max_depth: int) -> list[LineageRow]:
        sql = _WALK.format(far=far, near=near)
        with wrapped_errors():
            rows = self._conn.execute(sql, {"start": start, "max_depth": max_depth}).fetchall()
        return [_lineage_row(row) for row in rows]

    def skipped(self) -> list[Skipped]:
        with wrapped_errors():
            rows = self._conn.execute(
                "SELECT entry_id, kind, code, reason FROM skipped ORDER BY entry_id"
            ).fetchall()
        return [Skipped(*row) for row in rows]

    def count(self) -> int:
        with wrapped_errors():
            (n,) = self._conn.execute("SELECT COUNT(*) FROM designs").fetchone()
        return int(n)


def _row_values(r: DesignRow) -> tuple[Any, ...]:
    return (
        r.id,
        r.author,
        r.seq,
        r.timestamp_ms,
        r.name,
        r.summary,
        r.version,
        r.licence,
        json.dumps(list(r.licensors)),
        json.dumps(list(r.tags)),
        json.dumps(list(r.processes)),
        json.dumps(list(r.materials)),
        r.supersedes,
        r.language,
        r.oshwa_uid,
    )


def _facets(row: DesignRow, rowid: int) -> list[tuple[str, str, int]]:
    return [
        *(("tag", v, rowid) for v in fold_all(row.tags)),
        *(("process", v, rowid) for v in fold_all(row.processes)),
        *(("material", v, rowid) for v in fold_all(row.materials)),
    ]


def _filter_sql(filters: Filters, family_of: FamilyOf) -> tuple[list[str], list[Any]]:
    where: list[str] = []
    params: list[Any] = []
    if not filters.include_superseded:
        where.append(f"NOT {_SUPERSEDED}")
    if not filters.include_withdrawn:
        where.append(f"NOT {_WITHDRAWN}")
    if filters.licence_family is not None:
        where.append("d.family = ?")
        params.append(filters.licence_family)
    for facet, value in (
        ("tag", filters.tag),
        ("process", filters.process),
        ("material", filters.material),
    ):
        if value is not None:
            where.append(
                "EXISTS (SELECT 1 FROM facets WHERE facet = ? AND value = ? AND design = d.rowid)"
            )
            params += [facet, value.casefold()]
    return where, params


def _row_dict(row: tuple[Any, ...]) -> dict[str, Any]:
    (id_, author, seq, ts, name, summary, version, licence, licensors, tags) = row[:10]
    processes, materials, supersedes, language, oshwa_uid, superseded = row[10:]
    return {
        "id": id_,
        "author": author,
        "seq": seq,
        "timestamp_ms": ts,
        "name": name,
        "summary": summary,
        "version": version,
        "licence": licence,
        "licensors": json.loads(licensors),
        "tags": json.loads(tags),
        "processes": json.loads(processes),
        "materials": json.loads(materials),
        "supersedes": supersedes,
        "superseded": bool(superseded),
        "language": language,
        "oshwa_uid": oshwa_uid,
    }


def _lineage_row(row: tuple[Any, ...]) -> LineageRow:
    design_id, depth, author, name, version, licence, licensors, withdrawn = row
    if author is None:
        return LineageRow(design_id, depth, known=False)
    return LineageRow(
        design_id, depth, True, author, name, version, licence, tuple(json.loads(licensors)),
        bool(withdrawn),
    )  # fmt: skip
