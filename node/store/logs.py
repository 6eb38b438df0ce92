"""The node's LogStore on SQLite (docs/architecture.md §4; the contract is ledger.store).

`SqliteLogStore(path)` implements every method of `ledger.store.LogStore`
synchronously, with the observable behaviour of `MemoryLogStore`:

- `commit(batch)` applies the whole batch in one `BEGIN IMMEDIATE` transaction
  or nothing. A batch that would leave a hole in a log (checked against the
  database) or repeat a stored entry id raises `LocalMisuseError("misuse.bad-batch")`
  and writes nothing.
- Once `commit` returns, the batch survives a crash of the process or of the
  machine: WAL journal with `synchronous=FULL`.
- A later checkpoint note for the same (network, author, size) replaces the
  earlier one (it may carry more cosignatures); a fork proof with a known id
  replaces the stored one; `heads()` and `fork_proofs()` list in first-commit order.
- Opening migrates an older schema forward: first a copy of the file as it is,
  taken with SQLite's online backup API, to `<file>.schema-<old>.bak` beside it
  (only when a migration will run; older such copies are removed once it is
  written), then every step in one transaction. A step that fails rolls all of
  them back, leaving the database as it was, and raises `misuse.migration-failed`
  (`misuse.disk-full` for a full disk). A schema newer than this code raises
  `misuse.newer-database`, naming both versions (upgrade the software; downgrades
  are refused); a file that is not a database, or is damaged, raises
  `misuse.bad-database`; any other sqlite3 failure raises `misuse.storage-failed`.
  No sqlite3 exception escapes unwrapped.

A store owns one connection, bound to the thread that opened it: use it from that
thread only (node.runtime.storage_thread gives trio one such thread). Concurrent readers
on other threads open their own with `SqliteLogStore.open_reader(path)`.
The store verifies nothing: only the ledger decides what may be committed.
"""

from __future__ import annotations

import contextlib
import errno
import glob
import os
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from ledger.store import (
    FAILED,
    UNCHECKED,
    Batch,
    LogKey,
    StoredCheckpoint,
    StoredEntry,
    StoredForkProof,
    decode_head,
    encode_head,
)
from protocol.errors import LocalMisuseError
from protocol.logstate import LogHead

Migration = Callable[[sqlite3.Connection], None]

_SQLITE_INTERRUPT = 9
_SQLITE_CORRUPT = 11
_SQLITE_FULL = 13
_SQLITE_NOTADB = 26
BUSY_TIMEOUT_MS = 10_000
CACHE_SIZE_KIB = 8_192  # per connection; 64 MiB cost ~60 MiB RSS after a large sync
# For new files only (an existing file keeps its own): 16 KiB pages cost ~9 % less CPU
# per ingested entry than SQLite's 4 KiB default (fewer page splits, WAL frames and
# checkpoints for the same rows), measured on 30,000-entry ingests.
PAGE_SIZE_BYTES = 16_384


def sql_migration(*statements: str) -> Migration:
    """A migration made of plain SQL statements, run in the caller's transaction."""

    def run(conn: sqlite3.Connection) -> None:
        for statement in statements:
            conn.execute(statement)

    return run


# Ordinary rowid tables: WITHOUT ROWID was measured 3x slower with many authors.
_V1 = sql_migration(
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL)",
    "INSERT INTO meta (key, value) VALUES ('schema_version', 0)",
    """CREATE TABLE logs (
        network BLOB NOT NULL, author BLOB NOT NULL, state BLOB NOT NULL,
        size INTEGER NOT NULL, head_id BLOB, UNIQUE (network, author))""",
    """CREATE TABLE entries (
        network BLOB NOT NULL, author BLOB NOT NULL, seq INTEGER NOT NULL,
        id BLOB NOT NULL UNIQUE, raw BLOB NOT NULL, leaf_hash BLOB NOT NULL,
        kind TEXT NOT NULL, timestamp_ms INTEGER NOT NULL, UNIQUE (network, author, seq))""",
    "CREATE INDEX entries_by_kind ON entries (kind, timestamp_ms)",
    """CREATE TABLE checkpoints (
        network BLOB NOT NULL, author BLOB NOT NULL, size INTEGER NOT NULL,
        root BLOB NOT NULL, note BLOB NOT NULL, UNIQUE (network, author, size))""",
    """CREATE TABLE fork_proofs (
        id BLOB NOT NULL UNIQUE, network BLOB NOT NULL, author BLOB NOT NULL,
        raw BLOB NOT NULL)""",
    "CREATE INDEX fork_proofs_by_log ON fork_proofs (network, author)",
)

# Version 2: an entry's row is keyed by its position, `pos` = log id << SEQ_BITS | seq,
# an integer log id from `log_keys` standing for the 64 bytes of (network, author).
# Its rowid is then the (log, seq) key: rows of one log sit together in seq order, and
# the table keeps one index (the UNIQUE id). Measured on 100k-row ingests (1,000-row
# commits, 16 KiB pages): 7.0 µs CPU per row in version 1, 4.7 in version 2. Version 1's
# kind and timestamp_ms columns and their index were read by no query: dropped.
_V2 = sql_migration(
    """CREATE TABLE log_keys (
        id INTEGER PRIMARY KEY, network BLOB NOT NULL, author BLOB NOT NULL,
        UNIQUE (network, author))""",
    "INSERT INTO log_keys (network, author) SELECT network, author FROM logs ORDER BY rowid",
    """INSERT OR IGNORE INTO log_keys (network, author)
        SELECT DISTINCT network, author FROM entries""",
    """CREATE TABLE positioned (
        pos INTEGER PRIMARY KEY, id BLOB NOT NULL UNIQUE, raw BLOB NOT NULL,
        leaf_hash BLOB NOT NULL)""",
    """INSERT INTO positioned (pos, id, raw, leaf_hash)
        SELECT (k.id << 40) | e.seq, e.id, e.raw, e.leaf_hash
        FROM entries AS e JOIN log_keys AS k USING (network, author) ORDER BY k.id, e.seq""",
    "DROP TABLE entries",
    "ALTER TABLE positioned RENAME TO entries",
)

# Version 3: logs an operator forgot (`fabnode ledger forget`, specs/0003 §5): their
# rows are deleted, their key is kept here so they are not fetched again.
_V3 = sql_migration(
    """CREATE TABLE forgotten (
        network BLOB NOT NULL, author BLOB NOT NULL, UNIQUE (network, author))""",
)

# Version 4: entries whose own signature is checked later (an attested range, specs/0003
# §4.2), by position; `failed` = 1 once the check failed and the proof against the author
# is stored. A side table, not a column: it is empty once the background check caught up,
# and the deferred check reads it in position order without scanning `entries`.
_V4 = sql_migration(
    """CREATE TABLE deferred_checks (
        pos INTEGER PRIMARY KEY, failed INTEGER NOT NULL DEFAULT 0)""",
)

# MIGRATIONS[i] takes schema version i to i + 1; the code's version is len(MIGRATIONS).
# Append only: never edit a migration that has shipped.
MIGRATIONS: list[Migration] = [_V1, _V2, _V3, _V4]

#: The low bits of an entry's position hold its seq, the high bits its log id. A log is
#: contiguous from seq 1, so 2**40 entries (~200 TB) is beyond any disk; 2**23 - 1 logs.
SEQ_BITS = 40
MAX_STORED_SEQ = (1 << SEQ_BITS) - 1
MAX_LOG_ID = (1 << (63 - SEQ_BITS)) - 1


def schema_version() -> int:
    """The schema version this code writes."""
    return len(MIGRATIONS)


def storage_error(e: sqlite3.Error) -> LocalMisuseError:
    """The typed error for a sqlite3 failure (raise it `from e`)."""
    primary = getattr(e, "sqlite_errorcode", 0) & 0xFF
    if primary in (_SQLITE_CORRUPT, _SQLITE_NOTADB):
        return LocalMisuseError("misuse.bad-database", f"not a usable database: {e}")
    if primary == _SQLITE_FULL:
        return LocalMisuseError(
            "misuse.disk-full", f"the disk is full: nothing of this write was kept ({e})"
        )
    if primary == _SQLITE_INTERRUPT:
        return LocalMisuseError(
            "misuse.storage-interrupted", "the node is stopping: the write was rolled back"
        )
    return LocalMisuseError("misuse.storage-failed", f"storage failed: {e}")


def _migration_error(path: Path, step: int, e: Exception) -> LocalMisuseError:
    """The typed error for a migration step that failed (all steps roll back)."""
    if isinstance(e, sqlite3.Error):
        wrapped = storage_error(e)
        if wrapped.code != "misuse.storage-failed":
            return wrapped
    return LocalMisuseError(
        "misuse.migration-failed",
        f"migrating {path.name} from schema version {step} to {step + 1} failed: {e}; "
        "the database was left as it was",
    )


@contextlib.contextmanager
def wrapped_errors() -> Iterator[None]:
    """Re-raise any sqlite3 exception as the LocalMisuseError `storage_error` picks."""
    try:
        yield
    except sqlite3.Error as e:
        raise storage_error(e) from e


class SqliteLogStore:
    """A LogStore in one SQLite file. See the module docstring for its guarantees."""

    def __init__(self, path: str | Path, *, read_only: bool = False) -> None:
        self.path = Path(path)
        self.read_only = read_only
        #: Set while the node's disk is full (node.store.diskspace): commits raise it.
        self.write_refusal: LocalMisuseError | None = None
        self._log_ids: dict[LogKey, int] = {}
        with wrapped_errors():
            if read_only:
                uri = self.path.resolve().as_uri() + "?mode=ro"
                self._conn = sqlite3.connect(uri, uri=True, isolation_level=None)
            else:
                self._conn = sqlite3.connect(self.path, isolation_level=None)
        try:
            with wrapped_errors():
                self._configure()
                if read_only:
                    self._check_version()
                else:
                    self._migrate()
        except BaseException:
            self._conn.close()
            raise

    @classmethod
    def open_reader(cls, path: str | Path) -> SqliteLogStore:
        """A read-only store on an existing, migrated database; `commit` is refused."""
        return cls(path, read_only=True)

    def close(self) -> None:
        with wrapped_errors():
            self._conn.close()

    def interrupt(self) -> None:
        """Abort the statement running on this connection, from any thread (the node
        stopping, docs: sqlite3_interrupt); its transaction rolls back."""
        self._conn.interrupt()

    def __enter__(self) -> SqliteLogStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- opening -------------------------------------------------------------

    def _configure(self) -> None:
        self._conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        if not self.read_only:
            self._conn.execute(f"PRAGMA page_size = {PAGE_SIZE_BYTES}")  # before WAL
            mode = self._conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise LocalMisuseError("misuse.storage-failed", f"journal mode is {mode}, not wal")
        self._conn.execute("PRAGMA synchronous = FULL")
        self._conn.execute(f"PRAGMA cache_size = -{CACHE_SIZE_KIB}")

    def _stored_version(self) -> int:
        found = self._conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'"
        ).fetchone()
        if found is None:
            return 0
        row = self._conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        return 0 if row is None else int(row[0])

    def _check_version(self) -> int:
        version = self._stored_version()
        if version > schema_version():
            raise LocalMisuseError(
                "misuse.newer-database",
                f"{self.path.name} has schema version {version}, written by a newer Fab "
                f"Commons; this fabnode knows versions up to {schema_version()}: upgrade "
                "fabnode to open it (a database is never migrated back)",
            )
        if self.read_only and version < schema_version():
            raise LocalMisuseError(
                "misuse.stale-database",
                f"database schema is version {version}, want {schema_version()}: "
                "open it once for writing to migrate it",
            )
        return version

    def _migrate(self) -> None:
        found = self._check_version()
        if 0 < found < schema_version():  # version 0: a new, empty file
            self._back_up(found)
        with self._transaction():  # SQLite's DDL is transactional: all steps or none
            version = self._check_version()  # again: another writer may have migrated
            for step, migration in enumerate(MIGRATIONS[version:], start=version):
                try:
                    migration(self._conn)
                except Exception as e:
                    raise _migration_error(self.path, step, e) from e
            if version < schema_version():
                self._conn.execute(
                    "UPDATE meta SET value = ? WHERE key = 'schema_version'", (schema_version(),)
                )

    def backup_path(self, version: int) -> Path:
        """Where the copy taken before migrating from schema `version` is kept."""
        return self.path.with_name(f"{self.path.name}.schema-{version}.bak")

    def _back_up(self, version: int) -> None:
        """Copy the database as it is (online backup API: a consistent snapshot, the
        WAL included) to `backup_path(version)`, atomically; then drop older copies."""
        final = self.backup_path(version)
        partial = final.with_name(final.name + ".tmp")
        try:
            partial.unlink(missing_ok=True)
            with contextlib.closing(sqlite3.connect(partial, isolation_level=None)) as copy:
                self._conn.backup(copy)
                copy.execute("PRAGMA journal_mode = DELETE")  # one self-contained file
            with partial.open("rb") as f:
                os.fsync(f.fileno())
            partial.replace(final)
            for older in self.path.parent.glob(f"{glob.escape(self.path.name)}.schema-*.bak"):
                if older != final:
                    older.unlink(missing_ok=True)
        except BaseException as e:
            with contextlib.suppress(OSError):
                partial.unlink(missing_ok=True)
            if not isinstance(e, OSError):
                raise
            code = "misuse.disk-full" if e.errno == errno.ENOSPC else "misuse.storage-failed"
            raise LocalMisuseError(
                code, f"could not copy {self.path.name} before migrating it: {e}"
            ) from e

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        """BEGIN IMMEDIATE ... COMMIT, rolled back on any error."""
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield
            self._conn.execute("COMMIT")
        except BaseException:
            if self._conn.in_transaction:
                self._conn.rollback()
            raise

    # -- reads ---------------------------------------------------------------

    def heads(self) -> list[LogHead]:
        with wrapped_errors():
            rows = self._conn.execute("SELECT state FROM logs ORDER BY rowid").fetchall()
        return [decode_head(state) for (state,) in rows]

    def _log_id(self, network: bytes, author: bytes) -> int | None:
        """The integer id of a log, None when nothing of it was ever stored. Ids never
        change once committed, so found ones are remembered."""
        key = (network, author)
        found = self._log_ids.get(key)
        if found is None:
            row = self._conn.execute(
                "SELECT id FROM log_keys WHERE network = ? AND author = ?", key
            ).fetchone()
            if row is not None and not self._conn.in_transaction:
                found = self._log_ids[key] = int(row[0])
            elif row is not None:
                found = int(row[0])
        return found

    def _span(self, network: bytes, author: bytes, start: int, end: int) -> tuple[int, int] | None:
        """The positions [lo, hi] of seq in [start, end) of a log, None if empty."""
        log = self._log_id(network, author)
        lo, hi = max(start, 1), min(end - 1, MAX_STORED_SEQ)
        if log is None or lo > hi:
            return None
        return (log << SEQ_BITS) | lo, (log << SEQ_BITS) | hi

    def read_entries(self, network: bytes, author: bytes, start: int, end: int) -> list[bytes]:
        """Raw entries with seq in [start, end), in seq order."""
        with wrapped_errors():
            span = self._span(network, author, start, end)
            if span is None:
                return []
            rows = self._conn.execute(
                "SELECT raw FROM entries WHERE pos BETWEEN ? AND ? ORDER BY pos", span
            ).fetchall()
        return [raw for (raw,) in rows]

    def leaf_hashes(self, network: bytes, author: bytes) -> list[bytes]:
        with wrapped_errors():
            span = self._span(network, author, 1, MAX_STORED_SEQ + 1)
            if span is None:
                return []
            rows = self._conn.execute(
                "SELECT leaf_hash FROM entries WHERE pos BETWEEN ? AND ? ORDER BY pos", span
            ).fetchall()
        return [leaf for (leaf,) in rows]

    def locate(self, entry_id: bytes) -> tuple[bytes, bytes, int] | None:
        with wrapped_errors():
            row = self._conn.execute(
                "SELECT k.network, k.author, e.pos FROM entries AS e"
                " JOIN log_keys AS k ON k.id = e.pos >> ? WHERE e.id = ?",
                (SEQ_BITS, entry_id),
            ).fetchone()
        return None if row is None else (row[0], row[1], row[2] & MAX_STORED_SEQ)

    def checkpoints(self, network: bytes, author: bytes) -> list[StoredCheckpoint]:
        with wrapped_errors():
            rows = self._conn.execute(
                "SELECT network, author, size, root, note FROM checkpoints"
                " WHERE network = ? AND author = ? ORDER BY size",
                (network, author),
            ).fetchall()
        return [StoredCheckpoint(*row) for row in rows]

    def fork_proofs(self) -> list[StoredForkProof]:
        with wrapped_errors():
            rows = self._conn.execute(
                "SELECT id, network, author, raw FROM fork_proofs ORDER BY rowid"
            ).fetchall()
        return [StoredForkProof(*row) for row in rows]

    def unchecked(self, limit: int) -> list[bytes]:
        """Up to `limit` entries whose deferred signature check is not made yet."""
        with wrapped_errors():
            rows = self._conn.execute(
                "SELECT e.raw FROM deferred_checks AS d JOIN entries AS e ON e.pos = d.pos"
                " WHERE d.failed = 0 ORDER BY d.pos LIMIT ?",
                (limit,),
            ).fetchall()
        return [raw for (raw,) in rows]

    def count_unchecked(self) -> int:
        with wrapped_errors():
            row = self._conn.execute("SELECT COUNT(*) FROM deferred_checks WHERE failed = 0")
            return int(row.fetchone()[0])

    def check_state(self, network: bytes, author: bytes, seq: int) -> str | None:
        with wrapped_errors():
            pos = self._position(network, author, seq)
            row = None
            if pos is not None:
                row = self._conn.execute(
                    "SELECT failed FROM deferred_checks WHERE pos = ?", (pos,)
                ).fetchone()
        return None if row is None else (FAILED if row[0] else UNCHECKED)

    def _position(self, network: bytes, author: bytes, seq: int) -> int | None:
        log = self._log_id(network, author)
        return None if log is None or not 1 <= seq <= MAX_STORED_SEQ else log << SEQ_BITS | seq

    def size(self, network: bytes, author: bytes) -> int:
        """How many entries of the log are stored (its highest seq)."""
        with wrapped_errors():
            span = self._span(network, author, 1, MAX_STORED_SEQ + 1)
            if span is None:
                return 0
            row = self._conn.execute(
                "SELECT MAX(pos) FROM entries WHERE pos BETWEEN ? AND ?", span
            ).fetchone()
        return 0 if row[0] is None else int(row[0]) & MAX_STORED_SEQ

    # -- forgetting ------------------------------------------------------------

    def forget(self, network: bytes, author: bytes) -> None:
        """Delete the log's entries, checkpoints and head in one transaction (its fork
        proofs stay: evidence) and remember it as forgotten."""
        with wrapped_errors(), self._transaction():
            span = self._span(network, author, 1, MAX_STORED_SEQ + 1)
            if span is not None:
                self._conn.execute("DELETE FROM entries WHERE pos BETWEEN ? AND ?", span)
                self._conn.execute("DELETE FROM deferred_checks WHERE pos BETWEEN ? AND ?", span)
            for table in ("checkpoints", "logs"):
                self._conn.execute(
                    f"DELETE FROM {table} WHERE network = ? AND author = ?", (network, author)
                )
            self._conn.execute(
                "INSERT OR IGNORE INTO forgotten (network, author) VALUES (?, ?)",
                (network, author),
            )

    def unforget(self, network: bytes, author: bytes) -> None:
        with wrapped_errors(), self._transaction():
            self._conn.execute(
                "DELETE FROM forgotten WHERE network = ? AND author = ?", (network, author)
            )

    def forgotten(self) -> list[tuple[bytes, bytes]]:
        with wrapped_errors():
            rows = self._conn.execute(
                "SELECT network, author FROM forgotten ORDER BY network, author"
            ).fetchall()
        return [(bytes(n), bytes(a)) for n, a in rows]

    # -- the one write -------------------------------------------------------

    def commit(self, batch: Batch) -> None:
        """Write all of `batch` in one transaction, or nothing (see the module docstring)."""
        if self.read_only:
            raise LocalMisuseError("misuse.read-only", "this store was opened read-only")
        if self.write_refusal is not None:
            raise LocalMisuseError(self.write_refusal.code, self.write_refusal.message)
        if batch.is_empty():
            return
        with wrapped_errors(), self._transaction():
            self._check_contiguous(batch.entries)
            try:
                self._insert_entries(batch.entries)
            except sqlite3.IntegrityError as e:
                raise LocalMisuseError("misuse.bad-batch", f"entry id already stored: {e}") from e
            self._upsert_rest(batch)
            self._settle_checks(batch)

    def _check_contiguous(self, entries: Sequence[StoredEntry]) -> None:
        """Same rule as MemoryLogStore: each entry is its log's next seq."""
        sizes: dict[LogKey, int] = {}
        for entry in entries:
            key = (entry.network, entry.author)
            if key not in sizes:
                sizes[key] = self.size(*key)
            if entry.seq != sizes[key] + 1:
                raise LocalMisuseError(
                    "misuse.bad-batch",
                    f"batch is not contiguous: got seq {entry.seq}, want {sizes[key] + 1}",
                )
            sizes[key] = entry.seq

    def _insert_entries(self, entries: Sequence[StoredEntry]) -> None:
        logs: dict[LogKey, int] = {}
        for e in entries:
            key = (e.network, e.author)
            if key not in logs:
                logs[key] = self._log_id_for_writing(e.network, e.author) << SEQ_BITS
            if e.seq > MAX_STORED_SEQ:
                raise LocalMisuseError("misuse.storage-full", f"seq {e.seq} is past this store's")
        self._conn.executemany(
            "INSERT INTO entries (pos, id, raw, leaf_hash) VALUES (?, ?, ?, ?)",
            [(logs[(e.network, e.author)] | e.seq, e.id, e.raw, e.leaf_hash) for e in entries],
        )
        deferred = [(logs[(e.network, e.author)] | e.seq,) for e in entries if e.unchecked]
        if deferred:
            self._conn.executemany("INSERT INTO deferred_checks (pos) VALUES (?)", deferred)

    def _log_id_for_writing(self, network: bytes, author: bytes) -> int:
        """The log's id, made in the caller's transaction when it has none yet."""
        found = self._log_id(network, author)
        if found is not None:
            return found
        made = self._conn.execute(
            "INSERT INTO log_keys (network, author) VALUES (?, ?)", (network, author)
        ).lastrowid
        if made is None or made > MAX_LOG_ID:
            raise LocalMisuseError("misuse.storage-full", "this store holds its most logs")
        return made

    def _upsert_rest(self, batch: Batch) -> None:
        self._conn.executemany(
            "INSERT INTO logs (network, author, state, size, head_id) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (network, author) DO UPDATE SET"
            " state = excluded.state, size = excluded.size, head_id = excluded.head_id",
            [(h.network, h.author, encode_head(h), h.size, h.head_id) for h in batch.heads],
        )
        self._conn.executemany(
            "INSERT INTO checkpoints (network, author, size, root, note) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (network, author, size) DO UPDATE SET"
            " root = excluded.root, note = excluded.note",
            [(c.network, c.author, c.size, c.root, c.note) for c in batch.checkpoints],
        )
        self._conn.executemany(
            "INSERT INTO fork_proofs (id, network, author, raw) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (id) DO UPDATE SET"
            " network = excluded.network, author = excluded.author, raw = excluded.raw",
            [(p.id, p.network, p.author, p.raw) for p in batch.fork_proofs],
        )

    def _settle_checks(self, batch: Batch) -> None:
        """Deferred checks made: a held one is no longer deferred, a failed one is marked."""
        for positions, statement in (
            (batch.checked, "DELETE FROM deferred_checks WHERE pos = ?"),
            (batch.failed, "UPDATE deferred_checks SET failed = 1 WHERE pos = ?"),
        ):
            found = [self._position(*pos) for pos in positions]
            self._conn.executemany(statement, [(pos,) for pos in found if pos is not None])

    def shrink_memory(self) -> None:
        """Free what this connection's page cache holds (it refills on demand)."""
        with wrapped_errors():
            self._conn.execute("PRAGMA shrink_memory")

    def integrity_check(self) -> list[str]:
        """SQLite's own consistency check: ['ok'] when the file is sound."""
        with wrapped_errors():
            return [str(row[0]) for row in self._conn.execute("PRAGMA integrity_check")]
