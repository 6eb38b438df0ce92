"""One OS thread that owns the node's SqliteLogStore, driven from trio (docs/architecture.md §4).

sqlite3 blocks, and a connection belongs to the thread that opened it, so the
store lives on one dedicated `threading.Thread` that runs jobs from a queue in
the order they were submitted. trio tasks submit jobs with `await storage.run(fn,
*args)` (the thread calls `fn(store, *args)`) or `await storage.commit(batch)`;
the awaiting task sleeps until the thread hands back the outcome through the
trio token, so the trio loop never waits on SQLite. (`trio.to_thread` is not used:
its thread pool may run successive calls on different OS threads.)

Guarantees:
- Every job runs on the same OS thread, one at a time, in submission order.
- Whatever a job raises is re-raised, as the same object, in the awaiting task;
  sqlite3 exceptions are first wrapped as in node.storage.
- At most `max_pending` jobs are queued or running; more callers wait their turn.
- Cancellation: a job still queued is dropped and never runs; a job already
  running (a commit in flight) is always waited for, so when `commit` is
  interrupted the batch is either fully stored or not at all — never unknown.
- `open_storage` opens the database on the thread (raising its typed errors there)
  and always closes it and stops the thread on the way out.

Group commit: each `commit` costs one thread hop (~0.1 ms) and one fsync, so one
entry per commit caps ingest at a few thousand entries/s. Callers gather what
arrives in a burst (e.g. up to ~1000 entries, or a few ms) into ONE `Batch`:
batches of 100-1000 entries reach ~100k entries/s and pause the trio loop ~1 ms.
"""

from __future__ import annotations

import contextlib
import functools
import queue
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar, TypeVarTuple, Unpack, cast

import outcome
import trio

from ledger.store import Batch
from node.store.logs import SqliteLogStore, wrapped_errors
from protocol.errors import LocalMisuseError

T = TypeVar("T")
Ts = TypeVarTuple("Ts")

DEFAULT_MAX_PENDING = 64
_QUEUED, _RUNNING, _CANCELLED = "queued", "running", "cancelled"


class _Job:
    __slots__ = ("args", "fn", "state", "task", "token")

    def __init__(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
        self.fn = fn
        self.args = args
        self.token = trio.lowlevel.current_trio_token()
        self.task = trio.lowlevel.current_task()
        self.state = _QUEUED


@dataclass(frozen=True)
class StorageStatistics:
    """A snapshot: jobs queued or running, callers waiting for a slot, jobs finished."""

    jobs_pending: int
    max_pending: int
    tasks_waiting: int
    jobs_done: int


class StorageThread:
    """The store's own thread. Create it with `open_storage(path)`."""

    def __init__(self, path: str | Path, *, max_pending: int = DEFAULT_MAX_PENDING) -> None:
        self.path = Path(path)
        self._max_pending = max_pending
        self._slots = trio.Semaphore(max_pending)
        self._jobs: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._serve, name="fabcommons-storage", daemon=True)
        self._store: SqliteLogStore | None = None
        self._accepting = False
        self._stop_requested = False
        self._jobs_done = 0

    # -- trio side -----------------------------------------------------------

    async def start(self) -> None:
        """Start the thread and open the database on it; raise what opening raised."""
        if self._thread.ident is not None:
            raise LocalMisuseError("misuse.storage-started", "a StorageThread starts only once")
        self._thread.start()
        self._accepting = True
        try:
            await self._submit(self._open_store, ())
        except BaseException:
            await self.close()
            raise

    async def run(self, fn: Callable[[SqliteLogStore, Unpack[Ts]], T], *args: *Ts) -> T:
        """Run `fn(store, *args)` on the storage thread and return its result."""
        return cast(T, await self._submit(self._with_store, (fn, *args)))

    async def commit(self, batch: Batch) -> None:
        """Commit one batch atomically (see node.store.logs); put many entries in it."""
        await self.run(SqliteLogStore.commit, batch)

    async def close(self) -> None:
        """Close the database and let the thread end. Idempotent; not cancellable."""
        if not self._accepting:
            return
        self._accepting = False  # jobs already queued run first; later ones are refused
        with trio.CancelScope(shield=True):
            await self._submit(self._shutdown, (), closing=True)
            await trio.to_thread.run_sync(self._thread.join)  # it is on its way out

    def interrupt(self, *others: Callable[[], None]) -> None:
        """Abort the SQL statement the storage thread is running (and call `others`,
        the interrupts of other connections it uses), from any thread: the node is
        stopping and a job must not hold it (specs/0012 §5). The job raises
        misuse.storage-interrupted; its transaction rolls back. Python work of a job is
        not interrupted: every job a peer can cause is bounded instead."""
        store = self._store
        if store is not None:
            store.interrupt()
        for other in others:
            other()

    def statistics(self) -> StorageStatistics:
        return StorageStatistics(
            jobs_pending=self._max_pending - self._slots.value,
            max_pending=self._max_pending,
            tasks_waiting=self._slots.statistics().tasks_waiting,
            jobs_done=self._jobs_done,
        )

    async def _submit(
        self, fn: Callable[..., Any], args: tuple[Any, ...], *, closing: bool = False
    ) -> Any:
        async with self._slots:
            if not (self._accepting or closing):
                raise LocalMisuseError("misuse.storage-closed", "the storage thread is not running")
            job = _Job(fn, args)
            self._jobs.put(job)
            # The job's value, or what it raised: trio unwraps the outcome it is handed.
            return await trio.lowlevel.wait_task_rescheduled(functools.partial(self._abort, job))

    def _abort(self, job: _Job, _raise_cancel: Any) -> trio.lowlevel.Abort:
        """Drop a job the thread has not started; a running one must finish."""
        with self._lock:
            if job.state == _QUEUED:
                job.state = _CANCELLED
                return trio.lowlevel.Abort.SUCCEEDED
            return trio.lowlevel.Abort.FAILED

    # -- thread side ---------------------------------------------------------

    def _serve(self) -> None:
        while not self._stop_requested:
            job = self._jobs.get()
            with self._lock:
                if job.state == _CANCELLED:
                    continue
                job.state = _RUNNING
            result = outcome.capture(job.fn, *job.args)
            with self._lock:
                self._jobs_done += 1
            # If the awaiting trio run is gone, nobody wants the result.
            with contextlib.suppress(trio.RunFinishedError):
                job.token.run_sync_soon(trio.lowlevel.reschedule, job.task, result)

    def _open_store(self) -> None:
        self._store = SqliteLogStore(self.path)

    def _with_store(self, fn: Callable[..., T], *args: Any) -> T:
        if self._store is None:
            raise LocalMisuseError("misuse.storage-closed", "the database is not open")
        with wrapped_errors():
            return fn(self._store, *args)

    def _shutdown(self) -> None:
        self._stop_requested = True
        store, self._store = self._store, None
        if store is not None:
            store.close()


@asynccontextmanager
async def open_storage(
    path: str | Path, *, max_pending: int = DEFAULT_MAX_PENDING
) -> AsyncIterator[StorageThread]:
    """`async with open_storage(path) as storage:` — the store's thread, open for the block."""
    storage = StorageThread(path, max_pending=max_pending)
    await storage.start()
    try:
        yield storage
    finally:
        await storage.close()
