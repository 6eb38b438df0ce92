"""The deferred signature checks of attested ranges, in the background (specs/0003 §4.2).

A range attested by its author's checkpoint is stored after one signature check; its
entries' own signatures are checked here afterwards: a batch of at most
`BATCH_ENTRIES` unchecked entries is read on the storage thread, checked on one thread
of the node's verifier pool (node.ops.verifier: libsodium releases the GIL, and the
other cores stay free for what is in a hurry, a catch-up's next frames), then settled
on the storage thread (`Ledger.settle_checks`: checked, or the proof against the
author stored and the author frozen). The trio thread only awaits; one batch is in
flight at a time, so memory stays bounded whatever was received.

Nothing waits for this task to be correct: whatever uses an entry as evidence or
serves it on its own checks it first (`Ledger.verify_held`). It only makes the
unchecked state short-lived. When nothing is left (or nothing could be settled) it looks
again only once a range is committed, or after `RECHECK_S`; while a catch-up is
committing attested ranges it waits for the catch-up to end.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import trio

from ledger.log import SettledChecks
from node.ops.context import LedgerContext
from node.ops.verifier import ParallelSignatureCheck, shared_check
from node.runtime.service import LedgerRunner
from protocol.entry import Entry
from protocol.errors import CommonsError
from protocol.ids import id_to_text

log = logging.getLogger(__name__)

BATCH_ENTRIES = 1024  # ~60-70 ms of one core per batch
IDLE_S = 1.0
#: Unchecked entries appear only with committed ranges; a batch that could not be
#: settled (its failure awaits a covering checkpoint) is tried again this often.
RECHECK_S = 60.0


@dataclass
class DeferredChecks:
    """What the background checks did since the node started (`statistics`)."""

    checked: int = 0
    failed: int = 0

    def statistics(self) -> dict[str, int]:
        return {"checked": self.checked, "failed": self.failed}


async def check_deferred_once(
    runner: LedgerRunner,
    checker: ParallelSignatureCheck | None = None,
    *,
    batch_entries: int = BATCH_ENTRIES,
    totals: DeferredChecks | None = None,
) -> int:
    """Check one batch of unchecked entries and settle it; how many left the
    unchecked state (0: nothing to do, or nothing that can be settled yet)."""
    checker = checker or shared_check()
    entries = await runner.on_ledger(lambda ctx: ctx.ledger.unchecked_entries(batch_entries))
    if not entries:
        return 0
    verdicts = await trio.to_thread.run_sync(checker.check_one_thread, entries)
    settled = await runner.on_ledger(lambda ctx: _settle(ctx, entries, verdicts))
    if totals is not None:
        totals.checked += settled.checked
        totals.failed += settled.failed
    for proof in settled.proofs:
        log.warning(
            "author %s signed a checkpoint over entry %d whose signature fails:"
            " stored the proof and froze the author (specs/0004 §2.1)",
            id_to_text(proof.author),
            proof.position,
        )
    return settled.settled


def _settle(
    ctx: LedgerContext, entries: Sequence[Entry], verdicts: Sequence[CommonsError | None]
) -> SettledChecks:
    return ctx.ledger.settle_checks(entries, verdicts)


async def serve_deferred_checks(
    runner: LedgerRunner,
    totals: DeferredChecks | None = None,
    *,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Run the deferred checks until cancelled: batch after batch while any can be
    settled, then a look once a range is committed or RECHECK_S passed. They yield to
    a catch-up: while attested ranges keep arriving (a range committed within the last
    IDLE_S), nothing is checked, so the catch-up has the cores (on a small machine the
    serving peer may share them)."""
    task_status.started()
    seen = -1
    idle_since: float | None = None  # when a look found nothing to settle
    while True:
        ranges = await runner.on_ledger(lambda ctx: ctx.ledger.ranges_committed)
        if ranges != seen:  # a catch-up is storing ranges: new unchecked entries, later
            seen, idle_since = ranges, None
            await trio.sleep(IDLE_S)
        elif idle_since is not None and trio.current_time() - idle_since < RECHECK_S:
            await trio.sleep(IDLE_S)  # nothing settled last time, and no range since
        elif await _checked_safely(runner, totals) == 0:
            idle_since = trio.current_time()


async def _checked_safely(runner: LedgerRunner, totals: DeferredChecks | None) -> int:
    """`check_deferred_once`; a failure of the store (a full disk, say) is logged and
    tried again later, never the end of the node."""
    try:
        return await check_deferred_once(runner, totals=totals)
    except CommonsError as e:
        log.warning("deferred signature checks paused: %s", e)
        return 0
