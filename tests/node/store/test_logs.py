"""node.store.logs (SqliteLogStore) against MemoryLogStore, and node.storage_thread under trio."""

from __future__ import annotations

import contextlib
import sqlite3
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import trio
import trio.testing
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from ledger.store import (
    Batch,
    LogStore,
    MemoryLogStore,
    StoredCheckpoint,
    StoredEntry,
    StoredForkProof,
    encode_head,
    stored_entry,
)
from node.runtime.storage_thread import StorageThread, open_storage
from node.store import logs as store_module
from node.store.logs import SqliteLogStore
from protocol.errors import LocalMisuseError
from protocol.logstate import LogHead, verify_next
from tests.factory import NETWORK, Author

# -- test data: three real signed logs, and the head after each prefix ---------------


@dataclass(frozen=True)
class Log:
    entries: list[StoredEntry]  # entries[i] has seq i + 1
    heads: list[LogHead]  # heads[i] is the head after i entries

    @property
    def author(self) -> bytes:
        return self.heads[0].author

    def batch(self, start: int, count: int) -> Batch:
        """The entries with seq in [start + 1, start + count], and the head after them."""
        end = min(start + count, len(self.entries))
        return Batch(heads=[self.heads[end]], entries=self.entries[start:end])


def make_log(name: str, notes: int) -> Log:
    author = Author(name)
    for i in range(notes):
        author.note(f"{name} {i}")
    heads = [LogHead(author.network, author.id)]
    for entry in author.entries:
        heads.append(verify_next(heads[-1], entry))
    return Log([stored_entry(e) for e in author.entries], heads)


LOGS = [make_log(name, 24) for name in ("ada", "bob", "cy")]
STRANGER = Author("stranger").id
RANGES = [(1, 10**9), (0, 3), (-5, 2), (3, 2), (5, 9), (20, 40), (26, 30)]


def observe(store: LogStore) -> object:
    """Everything a reader can see through the LogStore interface."""
    per_log = [
        (
            [store.read_entries(NETWORK, author, a, b) for a, b in RANGES],
            store.leaf_hashes(NETWORK, author),
            store.checkpoints(NETWORK, author),
        )
        for author in [*(log.author for log in LOGS), STRANGER]
    ]
    located = [store.locate(e.id) for log in LOGS for e in log.entries] + [store.locate(b"?" * 32)]
    return (store.heads(), per_log, located, store.fork_proofs())


def open_store(folder: Path) -> SqliteLogStore:
    return SqliteLogStore(folder / "log.db")


# -- parity with MemoryLogStore ------------------------------------------------------

checkpoints = st.builds(
    StoredCheckpoint,
    network=st.just(NETWORK),
    author=st.sampled_from([log.author for log in LOGS]),
    size=st.integers(1, 4),
    root=st.sampled_from([b"r" * 32, b"R" * 32]),
    note=st.sampled_from([b"note", b"note\n+cosig", b"note\n+cosig\n+cosig"]),
)
fork_proofs = st.builds(
    StoredForkProof,
    id=st.sampled_from([b"f1" * 16, b"f2" * 16, b"f3" * 16]),
    network=st.just(NETWORK),
    author=st.sampled_from([log.author for log in LOGS]),
    raw=st.binary(max_size=8),
)
# (which log, how many entries, where the slice starts relative to the stored size)
slices = st.tuples(st.integers(0, 2), st.integers(1, 6), st.sampled_from([0, 0, 0, 1, -1]))


class StoreParity(RuleBasedStateMachine):
    """The same batches into both stores; every read must agree, before and after reopening."""

    def __init__(self) -> None:
        super().__init__()
        self.dir = tempfile.TemporaryDirectory()
        self.memory = MemoryLogStore()
        self.sqlite = open_store(Path(self.dir.name))

    @rule(
        parts=st.lists(slices, max_size=4),
        with_heads=st.booleans(),
        cps=st.lists(checkpoints, max_size=3),
        forks=st.lists(fork_proofs, max_size=2),
    )
    def commit(
        self,
        parts: list[tuple[int, int, int]],
        with_heads: bool,
        cps: list[StoredCheckpoint],
        forks: list[StoredForkProof],
    ) -> None:
        batch = Batch(checkpoints=cps, fork_proofs=forks)
        sizes = [len(self.memory.leaf_hashes(NETWORK, log.author)) for log in LOGS]
        for index, count, shift in parts:  # shift 0 continues the log (or the batch's part)
            part = LOGS[index].batch(max(sizes[index] + shift, 0), count)
            sizes[index] = part.heads[0].size
            batch.entries += part.entries
            batch.heads += part.heads if with_heads else []
        try:
            self.memory.commit(batch)
        except LocalMisuseError as refused:
            assert refused.code == "misuse.bad-batch"
            with pytest.raises(LocalMisuseError) as caught:
                self.sqlite.commit(batch)
            assert caught.value.code == "misuse.bad-batch"
        else:
            self.sqlite.commit(batch)

    @rule()
    def reopen(self) -> None:
        self.sqlite.close()
        self.sqlite = open_store(Path(self.dir.name))

    @invariant()
    def same_reads(self) -> None:
        assert observe(self.sqlite) == observe(self.memory)

    def teardown(self) -> None:
        self.sqlite.close()
        self.dir.cleanup()


StoreParity.TestCase.settings = settings(max_examples=40, stateful_step_count=15)
TestStoreParity = StoreParity.TestCase


# -- atomicity and persistence -----------------------------------------------------


def committed(tmp_path: Path) -> SqliteLogStore:
    """A store holding the first 5 entries of each log, a checkpoint and a fork proof."""
    store = open_store(tmp_path)
    batch = Batch(
        checkpoints=[StoredCheckpoint(NETWORK, LOGS[0].author, 5, b"r" * 32, b"note")],
        fork_proofs=[StoredForkProof(b"f" * 32, NETWORK, LOGS[1].author, b"proof")],
    )
    for log in LOGS:
        part = log.batch(0, 5)
        batch.entries += part.entries
        batch.heads += part.heads
    store.commit(batch)
    return store


def test_a_batch_with_a_hole_commits_nothing(tmp_path: Path) -> None:
    store = committed(tmp_path)
    before = observe(store)
    good, holed = LOGS[0].batch(5, 3), LOGS[1].batch(6, 3)  # log 1 is at 5: seq 7 leaves a hole
    batch = Batch(
        heads=good.heads + holed.heads,
        entries=good.entries + holed.entries,
        checkpoints=[StoredCheckpoint(NETWORK, LOGS[0].author, 8, b"x" * 32, b"new")],
        fork_proofs=[StoredForkProof(b"g" * 32, NETWORK, LOGS[0].author, b"new")],
    )
    with pytest.raises(LocalMisuseError) as caught:
        store.commit(batch)
    assert caught.value.code == "misuse.bad-batch"
    assert observe(store) == before


@pytest.mark.parametrize("where", ["stored", "same-batch"])
def test_a_batch_repeating_an_entry_id_commits_nothing(tmp_path: Path, where: str) -> None:
    store = committed(tmp_path)
    before = observe(store)
    part = LOGS[2].batch(5, 3)
    twin = LOGS[0].entries[0] if where == "stored" else part.entries[0]
    fake = part.entries[-1]._replace(seq=9, id=twin.id)  # contiguous, but a known id
    with pytest.raises(LocalMisuseError) as caught:
        store.commit(Batch(heads=part.heads, entries=[*part.entries, fake]))
    assert caught.value.code == "misuse.bad-batch"
    assert observe(store) == before


def test_a_later_note_for_the_same_checkpoint_size_replaces_it(tmp_path: Path) -> None:
    store = committed(tmp_path)
    cosigned = StoredCheckpoint(NETWORK, LOGS[0].author, 5, b"r" * 32, b"note\n+cosig")
    store.commit(Batch(checkpoints=[cosigned]))
    assert store.checkpoints(NETWORK, LOGS[0].author) == [cosigned]


def test_reopening_keeps_everything(tmp_path: Path) -> None:
    store = committed(tmp_path)
    before = observe(store)
    store.close()
    with open_store(tmp_path) as again:
        assert observe(again) == before
        assert again.integrity_check() == ["ok"]
        again.commit(LOGS[0].batch(5, 1))
        assert again.size(NETWORK, LOGS[0].author) == 6


def test_a_reader_sees_commits_and_refuses_to_write(tmp_path: Path) -> None:
    store = committed(tmp_path)
    with SqliteLogStore.open_reader(tmp_path / "log.db") as reader:
        assert observe(reader) == observe(store)
        store.commit(LOGS[0].batch(5, 2))
        assert observe(reader) == observe(store)
        with pytest.raises(LocalMisuseError) as caught:
            reader.commit(LOGS[0].batch(7, 1))
        assert caught.value.code == "misuse.read-only"


def test_no_sqlite3_exception_escapes(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    store.close()
    with pytest.raises(LocalMisuseError) as caught:
        store.heads()
    assert caught.value.code == "misuse.storage-failed"
    assert isinstance(caught.value.__cause__, sqlite3.Error)
    with pytest.raises(LocalMisuseError) as caught:
        SqliteLogStore(tmp_path / "no-such-folder" / "log.db")
    assert caught.value.code == "misuse.storage-failed"


# -- schema versions -----------------------------------------------------------------


def sql(path: Path, statement: str, *params: object) -> list[Any]:
    """Run one statement on its own connection, outside the store under test."""
    with contextlib.closing(sqlite3.connect(path)) as conn, conn:
        return conn.execute(statement, params).fetchall()


def stored_version(path: Path) -> int:
    return int(sql(path, "SELECT value FROM meta WHERE key = 'schema_version'")[0][0])


def test_a_new_database_is_at_the_current_version_in_wal_mode(tmp_path: Path) -> None:
    open_store(tmp_path).close()
    assert stored_version(tmp_path / "log.db") == store_module.schema_version() == 4
    assert sql(tmp_path / "log.db", "PRAGMA journal_mode") == [("wal",)]


@pytest.mark.parametrize("reader", [False, True])
def test_a_newer_database_is_refused(tmp_path: Path, reader: bool) -> None:
    open_store(tmp_path).close()
    newer = store_module.schema_version() + 1
    sql(tmp_path / "log.db", "UPDATE meta SET value = ? WHERE key = 'schema_version'", newer)
    with pytest.raises(LocalMisuseError) as caught:
        SqliteLogStore(tmp_path / "log.db", read_only=reader)
    assert caught.value.code == "misuse.newer-database"


@pytest.mark.parametrize("reader", [False, True])
def test_a_file_that_is_not_a_database_is_refused(tmp_path: Path, reader: bool) -> None:
    (tmp_path / "log.db").write_bytes(b"this is not an SQLite database, just text. " * 200)
    with pytest.raises(LocalMisuseError) as caught:
        SqliteLogStore(tmp_path / "log.db", read_only=reader)
    assert caught.value.code == "misuse.bad-database"
    assert isinstance(caught.value.__cause__, sqlite3.DatabaseError)


def test_an_older_database_migrates_forward(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with committed(tmp_path) as old:
        before = observe(old)
    v2 = store_module.sql_migration(
        "CREATE TABLE views (name TEXT)", "INSERT INTO views VALUES ('a')"
    )
    monkeypatch.setattr(store_module, "MIGRATIONS", [*store_module.MIGRATIONS, v2])
    with pytest.raises(LocalMisuseError) as caught:
        SqliteLogStore.open_reader(tmp_path / "log.db")
    assert caught.value.code == "misuse.stale-database"
    with open_store(tmp_path) as store:
        assert observe(store) == before
    assert (
        stored_version(tmp_path / "log.db") == store_module.schema_version()
    )  # with the test's migration


V1_INSERT = (
    "INSERT INTO entries (network, author, seq, id, raw, leaf_hash, kind, timestamp_ms)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)


def version_1_database(path: Path, batch: Batch) -> None:
    """A database as schema version 1 wrote it, holding `batch` (written here by hand,
    as the version-1 store did)."""
    with contextlib.closing(sqlite3.connect(path)) as conn, conn:
        store_module.MIGRATIONS[0](conn)
        conn.execute("UPDATE meta SET value = 1 WHERE key = 'schema_version'")
        rows = [(e.network, e.author, e.seq, e.id, e.raw, e.leaf_hash, e.kind, e.timestamp_ms)
                for e in batch.entries]  # fmt: skip
        conn.executemany(V1_INSERT, rows)
        conn.executemany(
            "INSERT INTO logs (network, author, state, size, head_id) VALUES (?, ?, ?, ?, ?)",
            [(h.network, h.author, encode_head(h), h.size, h.head_id) for h in batch.heads],
        )
        conn.executemany(
            "INSERT INTO checkpoints (network, author, size, root, note) VALUES (?, ?, ?, ?, ?)",
            [(c.network, c.author, c.size, c.root, c.note) for c in batch.checkpoints],
        )


def test_a_version_1_database_migrates_with_everything_in_it(tmp_path: Path) -> None:
    batch = Batch(checkpoints=[StoredCheckpoint(NETWORK, LOGS[0].author, 5, b"r" * 32, b"n")])
    for log in reversed(LOGS):  # first-commit order is not author order
        part = log.batch(0, 7)
        batch.entries += part.entries
        batch.heads += part.heads
    memory = MemoryLogStore()
    memory.commit(batch)
    version_1_database(tmp_path / "log.db", batch)
    with open_store(tmp_path) as store:
        assert observe(store) == observe(memory)
        assert store.integrity_check() == ["ok"]
        more = LOGS[1].batch(7, 3)  # and the migrated logs grow on
        store.commit(more)
        memory.commit(more)
        assert observe(store) == observe(memory)
    assert stored_version(tmp_path / "log.db") == store_module.schema_version()


def test_a_store_past_its_most_logs_refuses_a_new_one_and_keeps_the_rest(tmp_path: Path) -> None:
    store = committed(tmp_path)
    before = observe(store)
    last = store_module.MAX_LOG_ID
    sql(tmp_path / "log.db", "INSERT INTO log_keys (id, network, author) VALUES (?, ?, ?)",
        last, NETWORK, b"\xff" * 32)  # fmt: skip
    stranger = make_log("stranger", 1)
    with pytest.raises(LocalMisuseError) as caught:
        store.commit(stranger.batch(0, 1))
    assert caught.value.code == "misuse.storage-full"
    assert observe(store) == before
    store.commit(LOGS[0].batch(5, 2))  # logs it holds still grow


def test_a_failing_migration_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    committed(tmp_path).close()
    broken = store_module.sql_migration(
        "CREATE TABLE views (name TEXT)", "INSERT INTO nowhere VALUES (1)"
    )
    monkeypatch.setattr(store_module, "MIGRATIONS", [*store_module.MIGRATIONS, broken])
    with pytest.raises(LocalMisuseError) as caught:
        open_store(tmp_path)
    assert caught.value.code == "misuse.migration-failed"
    assert isinstance(caught.value.__cause__, sqlite3.OperationalError)
    monkeypatch.undo()
    with open_store(tmp_path) as store:
        assert store.integrity_check() == ["ok"]
    assert sql(tmp_path / "log.db", "SELECT name FROM sqlite_master WHERE name = 'views'") == []
    assert stored_version(tmp_path / "log.db") == store_module.schema_version()


def seven_of_each() -> Batch:
    batch = Batch(checkpoints=[StoredCheckpoint(NETWORK, LOGS[0].author, 5, b"r" * 32, b"n")])
    for log in LOGS:
        part = log.batch(0, 7)
        batch.entries += part.entries
        batch.heads += part.heads
    return batch


def older_database(path: Path, version: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """A database at schema `version` (1 or 2) as those versions left it: written by
    version 1's store, then opened by the code of `version`, in WAL mode."""
    version_1_database(path, seven_of_each())
    sql(path, "PRAGMA journal_mode = WAL")
    with monkeypatch.context() as patched:
        patched.setattr(store_module, "MIGRATIONS", store_module.MIGRATIONS[:version])
        SqliteLogStore(path).close()
    for stale in path.parent.glob("*.bak"):
        stale.unlink()
    assert stored_version(path) == version


def every_row(path: Path) -> list[Any]:
    tables = [t for (t,) in sql(path, "SELECT name FROM sqlite_master WHERE type = 'table'")]
    return [(t, sorted(sql(path, f"SELECT * FROM {t}"))) for t in sorted(tables)]


@pytest.mark.parametrize("version", [1, 2])
def test_a_migration_step_that_raises_leaves_the_database_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, version: int
) -> None:
    path = tmp_path / "log.db"
    older_database(path, version, monkeypatch)
    before_bytes, before_rows = path.read_bytes(), every_row(path)

    def raising(conn: sqlite3.Connection) -> None:
        conn.execute("CREATE TABLE half_done (x INTEGER)")
        raise RuntimeError("a bug in a migration step")

    monkeypatch.setattr(store_module, "MIGRATIONS", [*store_module.MIGRATIONS, raising])
    with pytest.raises(LocalMisuseError) as caught:
        SqliteLogStore(path)
    assert caught.value.code == "misuse.migration-failed"
    assert isinstance(caught.value.__cause__, RuntimeError)
    assert path.read_bytes() == before_bytes
    assert stored_version(path) == version and every_row(path) == before_rows
    assert not path.with_name("log.db-wal").exists()  # every connection closed


@pytest.mark.parametrize("version", [1, 2])
def test_a_migration_first_copies_the_database_with_the_backup_api(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, version: int
) -> None:
    path = tmp_path / "log.db"
    older_database(path, version, monkeypatch)
    before = every_row(path)
    earlier = path.with_name("log.db.schema-0.bak")
    earlier.write_bytes(b"a copy from an earlier upgrade")
    memory = MemoryLogStore()
    memory.commit(seven_of_each())
    with SqliteLogStore(path) as store:
        assert observe(store) == observe(memory)
        assert store.backup_path(version).name == f"log.db.schema-{version}.bak"
    copy = path.with_name(f"log.db.schema-{version}.bak")
    assert stored_version(copy) == version and every_row(copy) == before
    assert sql(copy, "PRAGMA journal_mode") == [("delete",)]
    assert sorted(p.name for p in tmp_path.glob("*.bak")) == [copy.name]  # the last one only
    assert stored_version(path) == store_module.schema_version()


def test_no_copy_is_taken_when_nothing_migrates(tmp_path: Path) -> None:
    open_store(tmp_path).close()  # a new file
    committed(tmp_path).close()  # a current one
    assert list(tmp_path.glob("*.bak*")) == []


# -- StorageThread under trio --------------------------------------------------------


def thread_id(_store: SqliteLogStore) -> int:
    return threading.get_ident()


def storage_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "fabcommons-storage"]


async def test_concurrent_tasks_all_land_and_run_on_one_thread(tmp_path: Path) -> None:
    idents: set[int] = set()

    async def write(storage: StorageThread, log: Log, step: int) -> None:
        for start in range(0, len(log.entries), step):
            await storage.commit(log.batch(start, step))
            idents.add(await storage.run(thread_id))

    async def read(storage: StorageThread) -> None:
        for _ in range(30):
            await storage.run(SqliteLogStore.heads)
            idents.add(await storage.run(thread_id))

    async with open_storage(tmp_path / "log.db", max_pending=2) as storage:
        async with trio.open_nursery() as nursery:
            for log, step in zip(LOGS, (1, 4, 7), strict=True):
                nursery.start_soon(write, storage, log, step)
            nursery.start_soon(read, storage)
            nursery.start_soon(read, storage)
        heads = await storage.run(SqliteLogStore.heads)
        assert storage.statistics().jobs_pending == 0
    assert sorted(h.size for h in heads) == [25, 25, 25]
    assert len(idents) == 1
    assert idents != {threading.get_ident()}
    assert storage_threads() == []
    with open_store(tmp_path) as store:
        assert {h.author: h for h in store.heads()} == {log.author: log.heads[-1] for log in LOGS}


class JobFailedError(Exception):
    pass


def fail(_store: SqliteLogStore, error: Exception) -> None:
    raise error


async def test_what_a_job_raises_surfaces_in_the_caller(tmp_path: Path) -> None:
    async with open_storage(tmp_path / "log.db") as storage:
        error = JobFailedError()
        with pytest.raises(JobFailedError) as caught:
            await storage.run(fail, error)
        assert caught.value is error
        with pytest.raises(LocalMisuseError) as misuse:
            await storage.commit(LOGS[0].batch(1, 2))  # starts at seq 2: a hole
        assert misuse.value.code == "misuse.bad-batch"
        with pytest.raises(LocalMisuseError) as wrapped:
            await storage.run(fail, sqlite3.OperationalError("disk I/O error"))
        assert wrapped.value.code == "misuse.storage-failed"
        await storage.commit(LOGS[0].batch(0, 2))  # still usable
    with pytest.raises(LocalMisuseError) as closed:
        await storage.run(thread_id)
    assert closed.value.code == "misuse.storage-closed"


async def test_opening_a_bad_database_raises_and_stops_the_thread(tmp_path: Path) -> None:
    (tmp_path / "log.db").write_bytes(b"garbage " * 1000)
    with pytest.raises(LocalMisuseError) as caught:
        async with open_storage(tmp_path / "log.db"):
            pytest.fail("opened a garbage file")
    assert caught.value.code == "misuse.bad-database"
    assert storage_threads() == []


async def test_cancelling_drops_a_queued_job_but_waits_for_a_running_one(
    tmp_path: Path,
) -> None:
    token = trio.lowlevel.current_trio_token()
    started, release = trio.Event(), threading.Event()
    ran: list[str] = []
    got: list[object] = []

    def block(_store: SqliteLogStore, name: str) -> str:
        trio.from_thread.run_sync(started.set, trio_token=token)
        release.wait()
        ran.append(name)
        return name

    def record(_store: SqliteLogStore, name: str) -> None:
        ran.append(name)

    async def cancelled_while(
        scope: trio.CancelScope, fn: Callable[[SqliteLogStore, str], object], name: str
    ) -> None:
        with scope:
            got.append(await storage.run(fn, name))

    running, queued = trio.CancelScope(), trio.CancelScope()
    async with open_storage(tmp_path / "log.db") as storage, trio.open_nursery() as nursery:
        nursery.start_soon(cancelled_while, running, block, "running")
        await started.wait()
        nursery.start_soon(cancelled_while, queued, record, "queued")
        await trio.testing.wait_all_tasks_blocked()
        assert storage.statistics().jobs_pending == 2
        running.cancel()
        queued.cancel()
        release.set()
        await storage.run(record, "after")
    assert ran == ["running", "after"]
    assert got == ["running"]


# -- a full disk, and a stopping node ----------------------------------------------


def test_a_full_disk_is_a_typed_error_and_loses_nothing_stored(tmp_path: Path) -> None:
    """specs/0012 §5 finding 6: SQLite's 'database or disk is full' (here from a page
    limit, which SQLite reports exactly as a full disk) is misuse.disk-full, the batch
    is kept whole or not at all, and what was stored before stays readable."""
    with committed(tmp_path) as store:
        before = observe(store)
        (pages,) = store._conn.execute("PRAGMA page_count").fetchone()
        store._conn.execute(f"PRAGMA max_page_count = {pages}")
        with pytest.raises(LocalMisuseError) as caught:
            store.commit(make_log("dan", 2000).batch(0, 2001))
        assert caught.value.code == "misuse.disk-full"
        assert observe(store) == before
    with open_store(tmp_path) as reopened:  # and it opens again
        assert observe(reopened) == before


async def test_a_stopping_node_interrupts_a_long_storage_job(tmp_path: Path) -> None:
    """StorageThread.interrupt aborts the SQL a job runs, from another thread: the job
    raises misuse.storage-interrupted, the thread goes on with the next job."""
    started, stopped = threading.Event(), threading.Event()

    def endless(store: SqliteLogStore) -> object:
        started.set()
        return store._conn.execute(
            "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c)"
            " SELECT count(*) FROM c WHERE x < 0"
        ).fetchone()

    async with open_storage(tmp_path / "log.db") as storage:
        async with trio.open_nursery() as nursery:

            async def interrupt_until_it_stops() -> None:
                await trio.to_thread.run_sync(started.wait)
                while not stopped.is_set():  # an interrupt before the SQL began is lost
                    storage.interrupt()
                    await trio.to_thread.run_sync(stopped.wait, 0.05)

            nursery.start_soon(interrupt_until_it_stops)
            with pytest.raises(LocalMisuseError) as caught:
                try:
                    await storage.run(endless)
                finally:
                    stopped.set()
        assert caught.value.code == "misuse.storage-interrupted"
        assert await storage.run(lambda store: store.heads()) == []
