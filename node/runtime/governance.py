"""Governance on a running node: witnessing, the view kept fresh (specs/0008 §4.1, §7).

(The charter exchange, `/fabcommons/charter/1`, is node.net.charter.)

- `GovernanceDriver.run`: every GOVERNANCE_INTERVAL_S, on the storage thread, the view
  is refreshed at the node's time (plus the test clock offset of a test federation),
  and, if this node is a member, it cosigns the latest checkpoint of every other
  member's log it holds in full (ledger.Ledger.witness_latest). Cosigned checkpoints
  go out as News to the network, which gossips them; peers merge the cosignature
  lines into the notes they keep. The rules in force are written to governance.json
  in the home for local commands; the running node reads them from the view
  (`max_blob_bytes`).
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import trio

from node.ops import context as operations
from node.ops.context import LedgerContext
from node.ops.governance_view import GovernanceView, allow_list_of
from node.runtime.service import LedgerRunner, News
from node.store.home import GOVERNANCE_FILE
from protocol.blob import DEFAULT_MAX_BLOB_BYTES
from protocol.errors import CommonsError, LocalMisuseError
from protocol.ids import id_to_text
from protocol.keys import SigningKey

log = logging.getLogger(__name__)

GOVERNANCE_INTERVAL_S = 1.0


@dataclass
class PassResult:
    """What one governance pass on the storage thread produced."""

    cosigned: list[bytes]
    signed: list[bytes]
    own_checkpoint: bytes | None
    changed: bool


def governance_pass(ctx: LedgerContext) -> PassResult:
    """Refresh the view; as a member, publish our log if it is new and witness others."""
    view = ctx.governance
    assert view is not None
    now_s = view.now_s()
    view.refresh(ctx.ledger, now_s)
    assert view.state is not None
    in_force = (view.state.members, view.state.rules, view.state.blocked)
    changed = view.applied != in_force  # (API reads refresh the view too)
    view.applied = in_force
    me = ctx.identity.id
    result = PassResult([], [], None, changed)
    if me not in view.state.members:
        return result
    if ctx.ledger.head(ctx.network, me) is None:  # witnesses need our key: our inception
        result.signed = [e.raw for e in operations.append_own(ctx, [])]
        checkpoint = ctx.ledger.latest_checkpoint(ctx.network, me)
        result.own_checkpoint = None if checkpoint is None else checkpoint.text
    try:
        key = operations.signing_key_in_force(ctx)
    except CommonsError as e:  # our key was replaced elsewhere: nothing to witness with
        log.warning("not witnessing: %s", e.code)
    else:
        _witness_members(ctx, view, key, now_s, result)
    if changed:
        ctx.catalogue.allow_list = allow_list_of(view.state.rules)
        write_governance_file(ctx)
    return result


def _witness_members(
    ctx: LedgerContext, view: GovernanceView, key: SigningKey, now_s: int, result: PassResult
) -> None:
    """Cosign each other member's latest checkpoint we have not witnessed yet."""
    assert view.state is not None
    me = ctx.identity.id
    for member in sorted(view.state.members - {me}):
        head = ctx.ledger.head(ctx.network, member)
        if head is None or view.witnessed.get(member) == head.size:
            continue
        try:
            signed = ctx.ledger.witness_latest(key, me, ctx.network, member, now_s)
        except CommonsError as e:
            log.info("not witnessing %s: %s", id_to_text(member), e.code)
            continue
        if signed is not None:
            result.cosigned.append(signed.text)
            view.witnessed[member] = signed.checkpoint.size


def write_governance_file(ctx: LedgerContext) -> None:
    """The rules in force for local commands (`fabnode blob add` reads max_blob_bytes)."""
    view = ctx.governance
    assert view is not None and view.state is not None
    data = {
        "network": id_to_text(ctx.network),
        "rules": view.state.rules.model_dump(),
        "members": sorted(id_to_text(m) for m in view.state.members),
        "blocked": [id_to_text(b) for b in sorted(view.state.blocked)],
        "at_s": view.refreshed_at_s,
    }
    tmp = ctx.home.path / (GOVERNANCE_FILE + ".tmp")
    try:
        tmp.write_text(json.dumps(data, indent=2) + "\n")
        tmp.replace(ctx.home.path / GOVERNANCE_FILE)
    except OSError as e:  # a full disk: local commands read the last one written
        with contextlib.suppress(OSError):
            tmp.unlink()
        code = "misuse.disk-full" if e.errno == errno.ENOSPC else "misuse.storage-failed"
        raise LocalMisuseError(code, f"cannot write {GOVERNANCE_FILE}: {e.strerror}") from e


class GovernanceDriver:
    """Runs the governance passes of one node; its news go to the network."""

    def __init__(
        self, runner: LedgerRunner, view: GovernanceView, news: trio.MemorySendChannel[News]
    ) -> None:
        self.runner = runner
        self.view = view
        self.news = news
        self.passes = 0
        self.cosignatures_made = 0
        self.entries_signed = 0  # our inception, when a member has none yet

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        with _unless_disk_full("the rules file not written"):
            await self.runner.on_ledger(write_governance_file)
        task_status.started()
        while True:
            await self.run_pass()
            await trio.sleep(GOVERNANCE_INTERVAL_S)

    async def run_pass(self) -> None:
        result = None
        with _unless_disk_full("governance pass skipped"):
            result = await self.runner.on_ledger(governance_pass)
        if result is None:
            return
        self.passes += 1
        self.cosignatures_made += len(result.cosigned)
        self.entries_signed += len(result.signed)
        if result.signed or result.cosigned:
            await self.news.send(News(result.signed, result.own_checkpoint, result.cosigned))

    def status(self) -> dict[str, Any]:
        state = self.view.state
        assert state is not None
        return {
            "governance": {
                "passes": self.passes,
                "cosignatures_made": self.cosignatures_made,
                "members": len(state.members),
                "clock_offset_s": self.view.clock_offset_s,
                "now_s": int(time.time()) + self.view.clock_offset_s,
            }
        }


@contextlib.contextmanager
def _unless_disk_full(what: str) -> Iterator[None]:
    """A full disk (the node read-only, node.store.diskspace) skips the work, logged;
    the next pass after space is freed does it."""
    try:
        yield
    except LocalMisuseError as e:
        if e.code != "misuse.disk-full":
            raise
        log.warning("%s: %s", what, e.message)


def max_blob_bytes(view: GovernanceView | None) -> int:
    """The blob size rule in force: the federation's, else the protocol's default."""
    if view is None or view.state is None:
        return DEFAULT_MAX_BLOB_BYTES
    return view.state.rules.max_blob_bytes


def set_clock_offset(view: GovernanceView, offset_s: int) -> None:
    """Move a test federation's clock (specs/0008 §1.2); refused on any other."""
    if not view.charter.test:
        raise LocalMisuseError(
            "misuse.not-a-test-federation", "only a test federation's clock can be moved"
        )
    if offset_s < view.clock_offset_s:
        raise LocalMisuseError("misuse.clock-backwards", "the test clock only moves forward")
    view.clock_offset_s = offset_s
