"""Set reconciliation of heads between two real nodes (specs/0005-sync.md §8).

Two `Network`s, each over a real home (SQLite on its storage thread, catalogue and
all) and a real libp2p host on 127.0.0.1, hold the same N logs (an inception under
a signed checkpoint each). A session between them is measured on the session
machine's own byte counts (deterministic: no clock in it):
  - in sync, it costs the same few hundred bytes at 100 logs as at 2,000;
  - a node lacking one log fetches it in one session of a few KB;
  - a node forced to the full head exchange (`reconcile=False`, `fabnode run
    --no-sync-reconcile`) still syncs with one that offers reconciliation, at the
    old price, O(logs).
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import pytest
import trio

from ledger.syncpeer import SyncPeer
from node.net.host import HostConfig, P2PHost, open_host
from node.net.network import Network
from node.ops.context import LedgerContext, make_context
from node.runtime.service import LedgerRunner, open_news
from node.runtime.storage_thread import StorageThread, open_storage
from node.store.blobs import BlobStore
from node.store.home import NodeHome
from node.store.logs import SqliteLogStore
from protocol.blob import DEFAULT_MAX_BLOB_BYTES
from tests.factory import NETWORK, Author

pytestmark = pytest.mark.integration
T = TypeVar("T")
#: An idle reconciling session, both ways: two hellos, one 20-byte fingerprint and a
#: 1-byte reply each way, two empty heads frames, two dones, with their framing.
IDLE_SESSION_BYTES_AT_MOST = 1024


@functools.cache
def authors(count: int) -> tuple[Author, ...]:
    return tuple(Author(f"reconcile-{i}") for i in range(count))


@dataclass
class Node:
    storage: StorageThread
    ctx: LedgerContext
    host: P2PHost
    network: Network

    async def on_ledger(self, fn: Callable[[LedgerContext], T]) -> T:
        return await self.storage.run(lambda _store: fn(self.ctx))

    async def hold(self, logs: tuple[Author, ...]) -> None:
        """Hold these logs as their authors serve them: every entry, a checkpoint."""

        def store(ctx: LedgerContext) -> None:
            ctx.ledger.ingest([e.raw for a in logs for e in a.entries])
            for a in logs:
                ctx.ledger.sign_checkpoint(a.signing, NETWORK, a.id)

        await self.on_ledger(store)

    async def items(self) -> set[bytes]:
        return set(await self.on_ledger(lambda ctx: SyncPeer(ctx.ledger, NETWORK).servable_items()))


def _context(home: NodeHome, store: SqliteLogStore) -> LedgerContext:
    return make_context(home, store)


def _close(ctx: LedgerContext, _store: SqliteLogStore) -> None:
    ctx.catalogue.close()


@asynccontextmanager
async def two_nodes(tmp_path: Path, *, reconcile_b: bool = True) -> AsyncIterator[list[Node]]:
    async with AsyncExitStack() as stack:
        nodes = []
        for name, reconcile in (("a", True), ("b", reconcile_b)):
            home = NodeHome(tmp_path / name)
            home.create_identity()
            home.set_development_network("tests")
            storage = await stack.enter_async_context(open_storage(home.database))
            ctx = await storage.run(functools.partial(_context, home))
            stack.push_async_callback(storage.run, functools.partial(_close, ctx))
            seed = hashlib.sha256(b"reconcile-test/" + name.encode()).digest()
            host = await stack.enter_async_context(open_host(HostConfig(key_seed=seed)))
            network = Network(
                LedgerRunner(storage, ctx),
                host,
                BlobStore(home.blobs, max_blob_bytes=DEFAULT_MAX_BLOB_BYTES),
                open_news()[1],
                progress=lambda *_: None,
                max_blob_bytes=lambda: DEFAULT_MAX_BLOB_BYTES,
                reconcile=reconcile,
            )
            nodes.append(Node(storage, ctx, host, network))
        yield nodes


@asynccontextmanager
async def running(nodes: list[Node]) -> AsyncIterator[None]:
    """Both networks run and are connected; the sessions their connection starts
    (one each way) are over, so both hold the same logs."""
    a, b = nodes
    async with trio.open_nursery() as nursery:
        for node in nodes:
            await nursery.start(node.network.run)
        await a.host.connect(b.host.listen_addrs[0])
        with trio.fail_after(60):
            while min(n.network.stats.syncs_completed for n in nodes) < 2:
                await trio.sleep(0.05)
        yield
        nursery.cancel_scope.cancel()


def session_bytes(record: SyncPeer) -> int:
    stats = record.conn.statistics()
    return stats.bytes_sent + stats.bytes_received


async def idle_session(tmp_path: Path, logs: int, *, reconcile_b: bool = True) -> int:
    async with two_nodes(tmp_path, reconcile_b=reconcile_b) as nodes:
        for node in nodes:
            await node.hold(authors(logs))
        a, b = nodes
        async with running(nodes):
            assert await a.items() == await b.items()
            record = await a.network.sync_with(b.host.peer_id)
            assert record.conn.is_finished and record.entries_ingested == 0
            assert record.heads_sent == 0 or not reconcile_b
            return session_bytes(record)


async def test_an_idle_session_costs_the_same_bytes_at_100_and_2000_logs(tmp_path: Path) -> None:
    small = await idle_session(tmp_path / "100", 100)
    large = await idle_session(tmp_path / "2000", 2000)
    assert small == large
    assert large <= IDLE_SESSION_BYTES_AT_MOST


async def test_a_node_lacking_one_log_fetches_it_in_one_small_session(tmp_path: Path) -> None:
    shared, extra = authors(2001)[:2000], authors(2001)[2000:]
    async with two_nodes(tmp_path) as nodes:
        a, b = nodes
        for node in nodes:
            await node.hold(shared)
        async with running(nodes):
            await b.hold(extra)  # b alone holds one more log, told to nobody
            record = await a.network.sync_with(b.host.peer_id)
            assert record.entries_ingested == 1
            assert await a.items() == await b.items()
            assert session_bytes(record) < 8 * 1024  # the old exchange: ~1.7 MB


async def test_a_peer_with_the_full_exchange_only_still_syncs_with_one_reconciling(
    tmp_path: Path,
) -> None:
    shared, extra = authors(101)[:100], authors(101)[100:]
    async with two_nodes(tmp_path, reconcile_b=False) as nodes:
        a, b = nodes
        for node in nodes:
            await node.hold(shared)
        async with running(nodes):
            await a.hold(extra)
            record = await b.network.sync_with(a.host.peer_id)  # the old node asks
            assert not record.conn.reconciling
            assert record.entries_ingested == 1
            assert record.heads_sent >= 100  # every log it serves, as before
            assert await a.items() == await b.items()
    idle_old = await idle_session(tmp_path / "old", 100, reconcile_b=False)
    assert idle_old > 100 * 400  # ~430 bytes per head, each way
