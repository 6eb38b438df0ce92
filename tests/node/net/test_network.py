"""The node announces any amount of news in announcements its peers accept
(specs/0005 §10): fork proofs at most MAX_ANNOUNCE_FORKS to an announcement.

Real parts: a Network over a real home (SQLite on its storage thread) and a real
libp2p host, and a second real host whose router validator is the node's own
(`gossip.check_announcement`). Before the fix, nine fork proofs left in one
announcement that every peer rejected.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import trio

from ledger import gossip
from ledger.log import Ledger
from ledger.store import MemoryLogStore
from node.net.host import HostConfig, Verdict, open_host
from node.net.network import Network, announce_topic
from node.ops.context import make_context
from node.runtime.service import LedgerRunner, open_news
from node.runtime.storage_thread import open_storage
from node.store.blobs import BlobStore
from node.store.home import NodeHome
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
