"""The node announces any amount of news in announcements its peers accept
(specs/0005 §10): fork proofs at most MAX_ANNOUNCE_FORKS to an announcement.

Real parts: a Network over a real home (SQLite on its storage thread) and a real
libp2p host, and a second real host whose router validator is the node's own
(`gossip.check_announcement`). Before the fix, nine fork proofs left in one
announcement that every peer rejected.
"""

from __future__ import annotations

import functools
import hashlib
from contextlib import AsyncExitStack
from pathlib import Path

import trio

from ledger import gossip
from ledger.log import Ledger
from ledger.store import MemoryLogStore
from node.net.host import HostConfig, Verdict, open_host
from node.net.network import Network, announce_topic, penalty_for
from node.ops.context import LedgerContext, make_context
from node.runtime.service import LedgerRunner, open_news
from node.runtime.storage_thread import open_storage
from node.store.blobs import BlobStore
from node.store.home import NodeHome
from node.store.logs import SqliteLogStore
from protocol.announce import MAX_ANNOUNCE_FORKS
from protocol.blob import DEFAULT_MAX_BLOB_BYTES
from tests.factory import NETWORK
from tests.ledger.test_gossip import fork_proof

FORKS = 2 * MAX_ANNOUNCE_FORKS + 1


def seed(name: str) -> bytes:
    return hashlib.sha256(b"announce-test/" + name.encode()).digest()


async def test_many_fork_proofs_go_out_in_announcements_every_peer_accepts(
    tmp_path: Path,
) -> None:
    home = NodeHome(tmp_path / "home")
    home.create_identity()
    home.set_development_network("tests")
    topic = announce_topic(NETWORK)
    judged: list[tuple[Verdict, int]] = []
    judge_ledger = Ledger(MemoryLogStore())

    def judge(_peer: str, data: bytes) -> Verdict:
        result = gossip.check_announcement(data, NETWORK, judge_ledger)
        forks = 0 if result.announcement is None else len(result.announcement.forks)
        judged.append((result.verdict, forks))
        return result.verdict

    async with open_storage(home.database) as storage:
        ctx = await storage.run(lambda store: make_context(home, store))
        _, news = open_news()
        async with (
            open_host(HostConfig(key_seed=seed("node"))) as host,
            open_host(HostConfig(key_seed=seed("peer"))) as peer,
        ):
            network = Network(
                LedgerRunner(storage, ctx),
                host,
                BlobStore(home.blobs, max_blob_bytes=DEFAULT_MAX_BLOB_BYTES),
                news,
                progress=lambda *_: None,
                max_blob_bytes=lambda: DEFAULT_MAX_BLOB_BYTES,
            )
            await peer.subscribe(topic, judge)
            async with trio.open_nursery() as nursery:
                await nursery.start(network.run)
                await peer.connect(host.listen_addrs[0])
                with trio.fail_after(30):
                    while not host.statistics().topics.get(topic, (0, 0))[1]:
                        await trio.sleep(0.05)
                proofs = [fork_proof(f"forker-{i}") for i in range(FORKS)]
                await network.announce([], None, proofs)
                with trio.fail_after(30):
                    while sum(n for _, n in judged) < FORKS and len(judged) < FORKS:
                        await trio.sleep(0.05)
                nursery.cancel_scope.cancel()
        await storage.run(lambda _store: ctx.catalogue.close())
    assert [v for v, _ in judged] == [Verdict.ACCEPT] * len(judged)
    assert sum(n for _, n in judged) == FORKS
    assert max(n for _, n in judged) <= MAX_ANNOUNCE_FORKS


async def test_a_fork_proof_learned_in_a_sync_session_is_announced(tmp_path: Path) -> None:
    """A fork proof a node first meets in a sync session is gossiped on at once (the
    simulator found it waited for every peer's next session): B syncs with A, which
    holds a proof; C, B's gossip peer only, is sent it in an announcement."""
    topic = announce_topic(NETWORK)
    proof = fork_proof("sync-forker")
    heard: list[int] = []
    judge_ledger = Ledger(MemoryLogStore())

    def judge(_peer: str, data: bytes) -> Verdict:
        result = gossip.check_announcement(data, NETWORK, judge_ledger)
        if result.announcement is not None and proof in result.announcement.forks:
            heard.append(1)
        return result.verdict

    async with AsyncExitStack() as stack:
        nodes = []
        for name in ("a", "b"):
            home = NodeHome(tmp_path / name)
            home.create_identity()
            home.set_development_network("tests")
            storage = await stack.enter_async_context(open_storage(home.database))
            ctx = await storage.run(functools.partial(_context, home))
            stack.push_async_callback(storage.run, functools.partial(_close_catalogue, ctx))
            host = await stack.enter_async_context(open_host(HostConfig(key_seed=seed(name))))
            network = Network(
                LedgerRunner(storage, ctx),
                host,
                BlobStore(home.blobs, max_blob_bytes=DEFAULT_MAX_BLOB_BYTES),
                open_news()[1],
                progress=lambda *_: None,
                max_blob_bytes=lambda: DEFAULT_MAX_BLOB_BYTES,
            )
            nodes.append((storage, ctx, host, network))
        (storage_a, ctx_a, host_a, _), (storage_b, _, host_b, _) = nodes
        await storage_a.run(lambda _store: ctx_a.ledger.add_fork_proof(proof))
        assert ctx_a.ledger.take_new_fork_proofs() == [proof]  # A's own news, not sent
        observer = await stack.enter_async_context(open_host(HostConfig(key_seed=seed("c"))))
        await observer.subscribe(topic, judge)
        async with trio.open_nursery() as nursery:
            for _, _, _, network in nodes:
                await nursery.start(network.run)
            await observer.connect(host_b.listen_addrs[0])
            with trio.fail_after(30):  # C in B's mesh before B can learn anything
                while not host_b.statistics().topics.get(topic, (0, 0))[1]:
                    await trio.sleep(0.05)
            await host_b.connect(host_a.listen_addrs[0])  # B syncs with A at once
            with trio.fail_after(30):
                while not heard:
                    await trio.sleep(0.05)
            nursery.cancel_scope.cancel()
        held = await storage_b.run(lambda store: [p.raw for p in store.fork_proofs()])
        assert held == [proof]


def _context(home: NodeHome, store: SqliteLogStore) -> LedgerContext:
    return make_context(home, store)


def _close_catalogue(ctx: LedgerContext, _store: SqliteLogStore) -> None:
    ctx.catalogue.close()


def test_what_each_fault_costs_its_peer() -> None:
    """specs/0012 §5: a whole penalty for what only a broken peer does, a quarter for
    what a bad link also causes, nothing for a rule it may not know yet nor for a
    record our own clock may wrongly call "from the future"."""
    assert penalty_for("verify.bad-signature") == 1.0
    assert penalty_for("decode.bad-address-frame") == 1.0
    assert penalty_for("remote.timeout") == 0.25
    assert penalty_for("rule.offer-too-long") == 0.0
    assert penalty_for("verify.address-from-future") == 0.0
    assert penalty_for("misuse.disk-full") == 0.0
