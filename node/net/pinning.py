"""The pinning task: fetch and keep the design files this member pins by the rule
(specs/0009 §13; the choice is node.ops.pinning's, from ledger.pinning), and the
files of every job this node is a party to (its customer or awarded lab), every
JOBS_S.

Every PIN_CHECK_S the task looks whether the catalogue (its design count) or the rule
(members, replicas, quota) changed, or RECOMPUTE_S passed, and if so recomputes the
blobs this node pins. Each pinned blob it lacks is fetched through the blob router
(from a holder, or through a peer, node/net/blob_route.py), one at a time, verified as
every fetch; a blob that could not be fetched is tried again after RETRY_S. The
garbage collector never evicts either (node.ops.storage: `rule`, `job`). No design
file is pinned on a network without a charter or by a node whose identity is not a
member.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Final

import trio

from node.net.blob_route import BlobRouter
from node.ops.context import LedgerContext
from node.ops.pinning import pin_rule, rule_pins
from node.ops.storage import job_blobs
from node.runtime.service import LedgerRunner
from protocol.errors import CommonsError
from protocol.ids import id_to_text

log = logging.getLogger(__name__)

PIN_CHECK_S: Final = 5.0
RECOMPUTE_S: Final = 600.0
JOBS_S: Final = 60.0
RETRY_S: Final = 60.0


@dataclass
class PinStats:
    """What the task last computed and did (the node's status, `blob status`)."""

    pinned: dict[bytes, int] = field(default_factory=dict)  # blob -> size
    jobs: frozenset[bytes] = frozenset()  # files of jobs we are a party to
    fetched: int = 0
    failed: dict[bytes, str] = field(default_factory=dict)  # blob -> last error code

    def to_json(self) -> dict[str, Any]:
        return {
            "pinned_blobs": len(self.pinned),
            "pinned_bytes": sum(self.pinned.values()),
            "job_blobs": len(self.jobs),
            "fetched": self.fetched,
            "failing": {id_to_text(b): c for b, c in sorted(self.failed.items())},
        }


def _plan_key(ctx: LedgerContext) -> tuple[object, ...]:
    """What the plan depends on, cheaply: the catalogue's size and the rule in force."""
    return (ctx.catalogue.count(), pin_rule(ctx), ctx.identity.id)


class Pinner:
    """Keeps this member's pinned blobs held (module doc)."""

    def __init__(self, runner: LedgerRunner, router: BlobRouter) -> None:
        self.runner = runner
        self.router = router
        self.stats = PinStats()

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        key: tuple[object, ...] | None = None
        computed_at = jobs_at = -RECOMPUTE_S
        failed_at: dict[bytes, float] = {}
        task_status.started()
        while True:
            now = trio.current_time()
            new_key = await self.runner.on_ledger(_plan_key)
            if new_key != key or now - computed_at >= RECOMPUTE_S:
                self.stats.pinned = await self.runner.on_ledger(rule_pins)
                key, computed_at = new_key, now
            if now - jobs_at >= JOBS_S:
                self.stats.jobs = frozenset(await self.runner.on_ledger(job_blobs))
                jobs_at = now
            kept = self.stats.pinned.keys() | self.stats.jobs
            missing = await trio.to_thread.run_sync(self._missing, sorted(kept))
            for blob in self.stats.failed.keys() - missing:  # held now, or not ours to keep
                del self.stats.failed[blob]
                failed_at.pop(blob, None)
            for blob in sorted(missing):
                if trio.current_time() - failed_at.get(blob, -RETRY_S) >= RETRY_S:
                    await self._keep(blob, failed_at)
            await trio.sleep(PIN_CHECK_S)

    def _missing(self, blobs: list[bytes]) -> set[bytes]:
        """In a worker thread: those of `blobs` the store does not hold (one stat each),
        in one hop off the trio thread rather than one per blob."""
        store = self.router.exchange.store
        return {b for b in blobs if not store.has(b)}

    async def _keep(self, blob: bytes, failed_at: dict[bytes, float]) -> None:
        try:
            await self.router.fetch(blob)
        except CommonsError as e:
            failed_at[blob] = trio.current_time()
            self.stats.failed[blob] = e.code
            log.info("pinned blob %s not fetched: %s", id_to_text(blob), e.code)
            return
        self.stats.fetched += 1
        self.stats.failed.pop(blob, None)
        failed_at.pop(blob, None)
