"""Received entries ingested as a two-stage pipeline over the storage thread
(docs/architecture.md §4).

Ingest has a stateless half, `ledger.log.prepare_ingest` (decode, canonical check,
Ed25519 verify: ~85 % of its CPU), and a stateful half, `Ledger.ingest_decoded` /
`ingest_range_decoded` (log rules, leaf hashes, the SQLite commit and its fsync),
which runs on the node's storage thread. `ingest_batches` runs them as a pipeline:
while the storage thread commits batch N, one trio worker thread verifies batch
N+1. libsodium (through cffi) and sqlite3 both release the GIL while they work, so
the two overlap; the verification itself stays on one thread at a time.

Guarantees (tests/node/runtime/test_ingest.py):
- The same stored logs, reports and errors as `Ledger.ingest` of each batch in turn:
  batches are committed one at a time, in order; each batch's stateful half sees
  every earlier batch committed.
- Bounded: at most one batch is verified ahead of the one committing.
- What the stateful half raises (a storage error) stops the pipeline and is
  re-raised; the batch being verified alongside is finished, then dropped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

import outcome
import trio

from ledger.log import IngestReport, Ledger, prepare_ingest
from node.runtime.storage_thread import StorageThread
from node.store.logs import SqliteLogStore
from protocol.entry import Entry
from protocol.errors import CommonsError

T = TypeVar("T")
Prepared = list[Entry | CommonsError]


async def pipelined(
    storage: StorageThread,
    batches: Iterable[Sequence[bytes]],
    apply: Callable[[Prepared], T],
) -> list[T]:
    """`apply(prepare_ingest(batch))` of each batch in order, `apply` on the storage
    thread, the next batch's `prepare_ingest` on a worker thread meanwhile."""
    results: list[T] = []
    todo = iter(batches)
    first = next(todo, None)
    ready = None if first is None else await trio.to_thread.run_sync(prepare_ingest, first)
    while ready is not None:
        following = next(todo, None)
        prepared: list[Prepared | None] = [None]

        async def prepare_next(batch: Sequence[bytes], out: list[Prepared | None]) -> None:
            out[0] = await trio.to_thread.run_sync(prepare_ingest, batch)

        async with trio.open_nursery() as nursery:
            if following is not None:
                nursery.start_soon(prepare_next, following, prepared)
            # Captured, so an error leaves the nursery as itself, not in a group.
            done = await outcome.acapture(storage.run, _apply, apply, ready)
        results.append(done.unwrap())
        ready = prepared[0]
    return results


def _apply(_store: SqliteLogStore, apply: Callable[[Prepared], T], prepared: Prepared) -> T:
    return apply(prepared)


async def ingest_batches(
    storage: StorageThread, ledger: Ledger, batches: Iterable[Sequence[bytes]]
) -> list[IngestReport]:
    """`ledger.ingest(batch)` of each batch in turn, pipelined (see the module doc).
    `ledger` must be the one over `storage`'s store."""
    return await pipelined(storage, batches, ledger.ingest_decoded)
