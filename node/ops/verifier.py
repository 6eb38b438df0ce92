"""Entry signatures checked on every core the node may use.

libsodium's Ed25519 verify (through PyNaCl's cffi binding) releases the GIL for the
whole check, ~60-70 us of C per entry, so threads verify in parallel. A large batch
(a sync range, a gossip burst) is cut into one contiguous part per core: the
calling thread (the node's storage thread) checks the first part itself while the
pool's threads check the others, and the answers are put back in order, exactly
as `protocol.entry.check_signatures` gives them. Small batches stay on the calling
thread: handing work to another thread costs more than a few checks.

Only the signature checks move; decoding, the log rules, Merkle and SQLite stay on
the storage thread, one batch at a time (docs/architecture.md §4). Measured in
bench.ledger ("node receive path"): ~1.5x the catch-up rate on two cores, the same
entries per CPU-second.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor

from protocol.entry import Entry, SignatureCheck, check_signatures
from protocol.errors import CommonsError

PARALLEL_FROM = 64  # entries; below this a batch is checked on the calling thread
ENV_THREADS = "FABNODE_VERIFY_THREADS"  # set to 1 to check on the calling thread only
#: set to 0 to check every entry's signature on receipt, attested ranges too (the
#: reference path of bench.network's catch-up; specs/0003 §4.2 makes deferral optional)
ENV_ATTESTED = "FABNODE_ATTESTED_RANGES"


def usable_cores() -> int:
    """Cores this process may run on (its CPU affinity), or FABNODE_VERIFY_THREADS."""
    configured = os.environ.get(ENV_THREADS, "").strip()
    if configured.isdigit() and int(configured) >= 1:
        return int(configured)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def attested_ranges() -> bool:
    """Whether sync ranges attested by their checkpoint defer their entries' own
    signature checks (specs/0003 §4.2): yes unless FABNODE_ATTESTED_RANGES is 0."""
    return os.environ.get(ENV_ATTESTED, "").strip() != "0"


class ParallelSignatureCheck:
    """A `protocol.entry.SignatureCheck` spreading a batch over `threads` threads
    (the caller's and `threads - 1` pool threads, started when first needed)."""

    def __init__(self, threads: int | None = None) -> None:
        self.threads = usable_cores() if threads is None else max(1, threads)
        self._pool: ThreadPoolExecutor | None = None
        self.check_part: SignatureCheck = check_signatures  # what each thread runs

    def __call__(self, entries: Sequence[Entry]) -> list[CommonsError | None]:
        if self.threads == 1 or len(entries) < PARALLEL_FROM:
            return self.check_part(entries)
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.threads - 1, thread_name_prefix="fab-verify")
        step = -(-len(entries) // self.threads)
        parts = [entries[i : i + step] for i in range(0, len(entries), step)]
        futures: list[Future[list[CommonsError | None]]] = [
            self._pool.submit(self.check_part, part) for part in parts[1:]
        ]
        out = self.check_part(parts[0])
        for future in futures:
            out.extend(future.result())
        return out

    def check_one_thread(self, entries: Sequence[Entry]) -> list[CommonsError | None]:
        """`entries` checked on one of the pool's threads (one core at most), the
        caller waiting: the deferred checks of attested ranges (node.runtime.
        deferred_checks), which must leave the other cores to what is in a hurry."""
        if self.threads == 1:
            return self.check_part(entries)
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.threads - 1, thread_name_prefix="fab-verify")
        return self._pool.submit(self.check_part, entries).result()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None


@functools.cache
def shared_check() -> ParallelSignatureCheck:
    """The process's one checker: every ledger context of a node uses its threads."""
    return ParallelSignatureCheck()
