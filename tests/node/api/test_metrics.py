"""The metrics collector and the health check (node/api/metrics.py), without a node."""

from __future__ import annotations

import threading
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest
import trio
import trio.testing
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from node.api.metrics import NodeMetrics, is_healthy
from node.net.network import NetworkStats
from node.net.streams import P2PStatistics, RelayStatistics
from node.runtime.measures import SyncLag
from node.runtime.storage_thread import StorageStatistics, open_storage
from node.store.blobs import BlobStoreStatistics
from node.store.diskspace import DiskSpace


def fake_node(tmp_path: Path, peers: int) -> NodeMetrics:
    stats = NetworkStats(syncs_completed=3, gossip_entries_stored=7, sync_entries_stored=5)
    for i in range(peers):  # every peer sent the same two faults: two series, not 2 * peers
        stats.refuse(f"peer{i}", "decode.bad-frame")
        stats.refuse(f"peer{i}", "verify.bad-signature")
    p2p = P2PStatistics("me", ["peer0", "peer1"], {}, {}, {}, ["peer9"], {})
    # 1,000 refused relay requests of two kinds from as many peers: two series as well
    relay = RelayStatistics(["peer3"], {"peer3": 1}, {"reservations": 1, "circuits": 3},
                            {"not-a-member": 999, "over-limit": 1}, 2, 1,
                            {"closed": 1, "data-limit": 1}, 5 << 20)  # fmt: skip
    host = SimpleNamespace(statistics=lambda: p2p, relay_statistics=lambda: relay)
    relays = SimpleNamespace(relayed_addrs=["/ip4/203.0.113.7/tcp/4001/p2p/r/p2p-circuit"])
    network = SimpleNamespace(stats=stats, lag=SyncLag(), host=host, relays=relays)
    storage = SimpleNamespace(statistics=lambda: StorageStatistics(1, 64, 0, 42))
    service = SimpleNamespace(
        entries_signed=2, disk=DiskSpace(tmp_path), storage=storage, on_ledger=None
    )
    blobs = SimpleNamespace(statistics=lambda: BlobStoreStatistics(1, 10))
    return NodeMetrics(cast(Any, service), cast(Any, network), cast(Any, blobs))


def test_series_are_named_by_convention_and_bounded_by_code(tmp_path: Path) -> None:
    registry = CollectorRegistry()
    registry.register(fake_node(tmp_path, peers=1000))
    families = list(text_string_to_metric_families(generate_latest(registry).decode()))
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value for f in families for s in f.samples
    }
    for family in families:
        assert family.name.startswith("fabnode_"), family.name
        if family.type == "counter":
            assert all(s.name.endswith("_total") for s in family.samples), family.name
    assert samples[("fabnode_peers_connected", ())] == 2
    assert samples[("fabnode_peers_banned", ())] == 1
    assert samples[("fabnode_entries_stored_total", (("source", "own"),))] == 2
    assert samples[("fabnode_entries_stored_total", (("source", "gossip"),))] == 7
    refused = {k: v for k, v in samples.items() if k[0] == "fabnode_refused_total"}
    assert refused == {
        ("fabnode_refused_total", (("code", "decode.bad-frame"),)): 1000,
        ("fabnode_refused_total", (("code", "verify.bad-signature"),)): 1000,
    }
    assert samples[("fabnode_storage_jobs_total", ())] == 42
    relay_refused = {k: v for k, v in samples.items() if k[0] == "fabnode_relay_refused_total"}
    assert relay_refused == {
        ("fabnode_relay_refused_total", (("reason", "not-a-member"),)): 999,
        ("fabnode_relay_refused_total", (("reason", "over-limit"),)): 1,
    }
    ended = {k[1]: v for k, v in samples.items() if k[0] == "fabnode_relay_circuits_ended_total"}
    assert ended == {(("reason", "closed"),): 1, (("reason", "data-limit"),): 1}
    assert samples[("fabnode_relay_circuits_opened_total", ())] == 3
    assert samples[("fabnode_relay_reservations_granted_total", ())] == 1
    assert samples[("fabnode_relay_bytes_total", ())] == 5 << 20
    assert samples[("fabnode_relay_circuits", ())] == 1
    assert samples[("fabnode_relayed_addresses", ())] == 1
    assert samples[("fabnode_dcutr_successes_total", ())] == 1


@pytest.fixture
def thread_clock() -> trio.testing.MockClock:
    """A mock clock that jumps only after the loop sat idle for a while of real time: the
    storage thread's answers come from a real thread, which autojump would not wait for."""
    return trio.testing.MockClock(autojump_threshold=0.5)


async def test_healthy_only_while_storage_answers_and_not_stopping(
    tmp_path: Path, thread_clock: trio.abc.Clock
) -> None:
    assert trio.lowlevel.current_clock() is thread_clock
    async with open_storage(tmp_path / "ledger.sqlite") as storage:
        service = cast(Any, SimpleNamespace(storage=storage, stopping=trio.Event()))
        assert await is_healthy(service)
        release = threading.Event()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(storage.run, lambda _store: release.wait())  # a stuck job
            await trio.sleep(0.01)
            assert not await is_healthy(service)  # the no-op timed out behind it
            release.set()
        assert await is_healthy(service)
        service.stopping.set()
        assert not await is_healthy(service)
