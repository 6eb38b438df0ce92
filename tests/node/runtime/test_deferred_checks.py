"""The deferred signature checks of attested ranges on a node (specs/0003 §4.2).

The node side is real (a home, its SQLite store on the storage thread, its ledger
context); the far side a real SyncPeer reached through the in-process pipe of the
sync driver's tests. A catch-up stores the range entries unchecked, the background
check then checks them; a bad signature under a valid checkpoint yields the proof
against its author and freezes it; an unchecked entry is checked before it is
proven on its own.
"""

from __future__ import annotations

from pathlib import Path

import trio

from ledger.forkproof import KIND_INVALID_ENTRY, verify_fork_proof
from ledger.log import Ledger, checkpoint_side
from ledger.store import FAILED, UNCHECKED
from ledger.syncpeer import SyncPeer
from node.net import sync as sync_session
from node.ops import context as operations
from node.ops.context import LedgerContext
from node.runtime.deferred_checks import DeferredChecks, check_deferred_once, serve_deferred_checks
from node.runtime.service import LedgerRunner
from node.store.home import NodeHome
from node.store.logs import SqliteLogStore
from protocol.errors import CommonsError
from protocol.ids import id_to_text
from tests.factory import NETWORK, author_with_bad_entry
from tests.node.net.test_sync import FRAME_BYTES, Node, Pipe, node
from tests.sync_harness import ledger_holding

MAX_BATCHES = 100  # a bound on the polling loops below: the logs here take a few


async def catch_up(here: Node, far: Ledger) -> SyncPeer:
    peer = SyncPeer(here.ctx.ledger, NETWORK, keep_events=False)
    peer.start()
    await sync_session.drive(
        peer, Pipe(SyncPeer(far, NETWORK, target_bytes=FRAME_BYTES)), here.on_ledger
    )
    assert peer.conn.is_finished and peer.rejected == []
    return peer


async def check_all(runner: LedgerRunner, totals: DeferredChecks) -> None:
    for _ in range(MAX_BATCHES):
        if await check_deferred_once(runner, batch_entries=100, totals=totals) == 0:
            return
    raise AssertionError("the deferred checks did not settle")


async def test_a_catch_up_stores_entries_unchecked_then_checks_them(tmp_path: Path) -> None:
    author = author_with_bad_entry("deferred-good", n=450, bad_at=0)
    async with node(tmp_path) as here:
        runner = LedgerRunner(here.storage, here.ctx)
        peer = await catch_up(here, ledger_holding(author))
        assert peer.entries_ingested == 450
        waiting = await here.on_ledger(lambda ctx: ctx.store.count_unchecked())
        assert waiting == 449  # all but the inception, a key event checked on receipt
        totals = DeferredChecks()
        await check_all(runner, totals)
        assert totals.statistics() == {"checked": 449, "failed": 0}
        assert await here.on_ledger(lambda ctx: ctx.store.count_unchecked()) == 0
        assert not await here.on_ledger(lambda ctx: ctx.ledger.is_frozen(NETWORK, author.id))


async def test_a_bad_signature_under_a_valid_checkpoint_freezes_its_author(
    tmp_path: Path,
) -> None:
    author = author_with_bad_entry("deferred-bad", n=300, bad_at=123)
    async with node(tmp_path) as here:
        runner = LedgerRunner(here.storage, here.ctx)
        peer = await catch_up(here, ledger_holding(author))
        assert peer.entries_ingested == 300  # attested: stored whole, bad entry and all
        totals = DeferredChecks()
        await check_all(runner, totals)
        assert totals.statistics() == {"checked": 298, "failed": 1}
        assert await here.on_ledger(lambda ctx: ctx.ledger.is_frozen(NETWORK, author.id))
        proofs = await here.on_ledger(operations.fork_proofs)
        assert [(p["author"], p["position"]) for p in proofs] == [(id_to_text(author.id), 123)]
        proof = verify_fork_proof(
            bytes.fromhex(proofs[0]["proof_hex"]), checkpoint_verifier=checkpoint_side
        )
        assert proof.kind == KIND_INVALID_ENTRY
        state = await here.on_ledger(lambda ctx: ctx.store.check_state(NETWORK, author.id, 123))
        assert state == FAILED
        # and a frozen log is no longer offered to peers
        offered = SyncPeer(here.ctx.ledger, NETWORK)
        assert await here.on_ledger(lambda _ctx: offered.servable(author.id)) is None


async def test_an_unchecked_entry_is_checked_before_it_is_proven_alone(tmp_path: Path) -> None:
    author = author_with_bad_entry("deferred-serve", n=40, bad_at=30)
    async with node(tmp_path) as here:
        await catch_up(here, ledger_holding(author))
        good = author.entries[9]
        state = await here.on_ledger(lambda ctx: ctx.store.check_state(NETWORK, author.id, 10))
        assert state == UNCHECKED
        bundle = await here.on_ledger(lambda ctx: operations.prove(ctx, good.id))
        assert bundle["entry_hex"] == good.raw.hex()
        state = await here.on_ledger(lambda ctx: ctx.store.check_state(NETWORK, author.id, 10))
        assert state is None
        bad = author.entries[29]
        refused = await here.on_ledger(lambda ctx: _refusal(ctx, bad.id))
        assert refused == "verify.signed-invalid-entry"
        assert await here.on_ledger(lambda ctx: ctx.ledger.is_frozen(NETWORK, author.id))


def _refusal(ctx: LedgerContext, entry_id: bytes) -> str | None:
    try:
        operations.prove(ctx, entry_id)
    except CommonsError as e:
        return e.code
    return None


async def test_a_reader_checks_an_unchecked_entry_without_recording_it(tmp_path: Path) -> None:
    """`fabnode ledger prove` with no node running reads the home read-only: the
    entry is checked for that answer, and the check is recorded later by the node."""
    author = author_with_bad_entry("deferred-reader", n=20, bad_at=0)
    async with node(tmp_path) as here:
        await catch_up(here, ledger_holding(author))
        with SqliteLogStore.open_reader(NodeHome(tmp_path / "home").database) as reader:
            bundle = Ledger(reader).prove(author.entries[9].id)
            assert bundle["entry_hex"] == author.entries[9].raw.hex()
            assert reader.check_state(NETWORK, author.id, 10) == UNCHECKED


async def test_the_background_task_settles_a_catch_up_and_then_rests(tmp_path: Path) -> None:
    """serve_deferred_checks: after the catch-up's ranges it checks every batch, then
    finds nothing left (a look per committed range or RECHECK_S, not per second)."""
    author = author_with_bad_entry("deferred-task", n=250, bad_at=0)
    async with node(tmp_path) as here:
        runner = LedgerRunner(here.storage, here.ctx)
        await catch_up(here, ledger_holding(author))
        totals = DeferredChecks()
        async with trio.open_nursery() as nursery:
            await nursery.start(serve_deferred_checks, runner, totals)
            with trio.fail_after(60):
                while totals.checked < 249:
                    await trio.sleep(0.05)
            assert totals.statistics() == {"checked": 249, "failed": 0}
            assert await here.on_ledger(lambda ctx: ctx.store.count_unchecked()) == 0
            nursery.cancel_scope.cancel()
