"""Health and metrics: `GET /healthz` for probes, `GET /metrics` for Prometheus.

(README "Monitoring"; included by node.api.build_app with one line.)

- `/healthz` answers anyone who reaches the API's address (no token; the Host check of
  node.api.guard still applies): 200 `{"ok": true}` when the node is not stopping and
  its storage thread runs a trivial job within HEALTH_STORAGE_TIMEOUT_S, else 503
  `{"ok": false}`. Nothing else is said (no version, peer, log or error), and it
  costs one queued no-op, so a monitor may poll it every second. A full disk is
  "ok": the node is read-only but serves what it holds and writes again by itself
  once space is freed (node.store.diskspace), so restarting it or taking it out of a
  pool would only hurt; `fabnode_disk_read_only` says it, for an alert.
- `/metrics` needs the bearer token like every API path: the Prometheus text format
  (prometheus_client's `generate_latest`) of a private registry holding `NodeMetrics`,
  a collector that reads the node's live statistics at scrape time (and the process's
  own, `fabnode_process_*`). What only the storage thread may read (the logs, fork
  proofs, our log's witnessed size) it reads in one job per scrape, the blob store's
  size in a worker thread.
- `/api/v1/status/gossip` (token): the gossip trace (node.runtime.measures.GossipTrace),
  for benchmarks and for an operator asking how long announcements take to arrive.

Series are bounded whatever the ledger holds: a log has no series of its own (a lab
network has thousands of authors) but counts in the histogram `fabnode_log_size_entries`;
a peer has none either; `code` labels are error codes (a fixed set in the code base).
Member relays (specs/0014 §7.3): the reservations our relay holds and has granted, its
open circuits, the circuits it opened, refused and saw end (each by reason, a fixed
set), the bytes it carried, our relayed addresses, and DCUtR hole punches started and
ended direct. Not exported: a notification queue (the node has none).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Final

import trio
from fastapi import FastAPI, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector
from pydantic import BaseModel

from node.net.network import Network
from node.ops.context import LedgerContext
from node.runtime.governance import GovernanceDriver
from node.runtime.measures import Histogram
from node.runtime.service import NodeService
from node.store.blobs import BlobStore, BlobStoreStatistics
from protocol.errors import CommonsError
from protocol.ids import id_to_text

#: Paths served without the token (node.api.guard): the health check only.
OPEN_PATHS: Final = frozenset({"/healthz"})
#: How long the storage thread may take to run a no-op before the node is "not ok"
#: (a probe's own timeout should be longer: Kubernetes' default of 1 s is not).
HEALTH_STORAGE_TIMEOUT_S: Final = 1.0
PREFIX: Final = "fabnode"


class HealthOut(BaseModel):
    ok: bool


@dataclass(frozen=True)
class LedgerMeasures:
    """What the storage thread reads for one scrape."""

    log_sizes: Histogram
    fork_proofs: int
    frozen_authors: int
    own_log_entries: int
    #: Entries of our log that k witnesses cosigned; None unless we are a member.
    witnessed_entries: int | None


def ledger_measures(ctx: LedgerContext) -> LedgerMeasures:
    """On the storage thread: log sizes, fork alerts, our log and its witnessed size."""
    proofs = ctx.store.fork_proofs()
    frozen = {(p.network, p.author) for p in proofs if not ctx.ledger.is_lifted(p.id)}
    me = ctx.identity.id
    own = ctx.ledger.head(ctx.network, me)
    view = ctx.governance
    witnessed = None
    if view is not None and view.state is not None and me in view.state.members:
        witnessed = view.witnessed_size(ctx.ledger, me)
    return LedgerMeasures(
        log_sizes=Histogram.of(h.size for h in ctx.ledger.heads()),
        fork_proofs=len(proofs),
        frozen_authors=len(frozen),
        own_log_entries=0 if own is None else own.size,
        witnessed_entries=witnessed,
    )


class NodeMetrics(Collector):
    """The node's statistics as Prometheus metric families, read when collected.

    `refresh()` first (awaited by the route): it reads what lives on the storage
    thread and on disk; `collect()` then reads the rest live, on the trio thread."""

    def __init__(
        self,
        service: NodeService,
        network: Network,
        blobs: BlobStore,
        governance: GovernanceDriver | None = None,
    ) -> None:
        self.service = service
        self.network = network
        self.blobs = blobs
        self.governance = governance
        self._ledger: LedgerMeasures | None = None
        self._blobs: BlobStoreStatistics | None = None

    async def refresh(self) -> None:
        self._ledger = await self.service.on_ledger(ledger_measures)
        self._blobs = await trio.to_thread.run_sync(self.blobs.statistics)

    def collect(self) -> Iterator[Metric]:
        yield from self._network()
        yield from self._relays()
        yield from self._ledger_families()
        yield from self._witness()
        yield from self._local()

    def _network(self) -> Iterator[Metric]:
        stats, p2p = self.network.stats, self.network.host.statistics()
        yield _gauge("peers_connected", "peers connected now", len(p2p.connected_peers))
        yield _gauge(
            "peers_banned", "peers banned now (refused and disconnected)", len(p2p.banned_peers)
        )
        yield _labelled(
            CounterMetricFamily,
            "sync_sessions",
            "sync sessions ended, by outcome",
            "outcome",
            {"completed": stats.syncs_completed, "failed": stats.syncs_failed},
        )
        lag = self.network.lag
        yield _gauge(
            "sync_lag_entries",
            "most entries a connected peer's heads showed we lacked that its last sync "
            "session did not fetch",
            lag.behind_entries(p2p.connected_peers),
        )
        yield _histogram(
            "sync_session_lacking_entries",
            "entries a peer's heads showed we lacked, per sync session",
            lag.lacking,
        )
        own = self.service.entries_signed
        own += 0 if self.governance is None else self.governance.entries_signed
        sources = {
            "gossip": stats.gossip_entries_stored,
            "sync": stats.sync_entries_stored,
            "own": own,
        }
        yield _labelled(
            CounterMetricFamily,
            "entries_stored",
            "entries stored, by where they came from",
            "source",
            sources,
        )
        verdicts = {
            "accepted": stats.announcements_accepted,
            "rejected": stats.announcements_rejected,
            "ignored": stats.announcements_ignored,
            "unverified": stats.announcements_unverified,
            "not_admitted": stats.announcements_not_admitted,
        }
        yield _labelled(
            CounterMetricFamily,
            "gossip_announcements",
            "gossip announcements validated, by verdict (our own included)",
            "verdict",
            verdicts,
        )
        yield _counter(
            "gossip_dropped",
            "announcements received and not stored (a full queue, a full disk; sync fetches them)",
            stats.gossip_dropped,
        )
        yield _counter(
            "fork_proofs_learned", "fork proofs learned from peers", stats.fork_proofs_learned
        )
        refused: Counter[str] = Counter()
        for by_code in stats.refused.values():
            refused.update(by_code)
        yield _labelled(
            CounterMetricFamily,
            "refused",
            "what peers sent that we refused, by error code",
            "code",
            dict(sorted(refused.items())),
        )

    def _relays(self) -> Iterator[Metric]:
        relay = self.network.host.relay_statistics()
        yield _gauge(
            "relay_reservations",
            "reservations peers hold at our member relay",
            len(relay.reservations),
        )
        yield _gauge(
            "relay_circuits", "circuits open through our relay", sum(relay.circuits.values())
        )
        yield _counter(
            "relay_reservations_granted",
            "reservations (and refreshes) our relay granted",
            relay.served.get("reservations", 0),
        )
        yield _labelled(
            CounterMetricFamily,
            "relay_refused",
            "hop requests our relay refused, by reason",
            "reason",
            dict(sorted(relay.refused.items())),
        )
        yield _counter(
            "relay_circuits_opened",
            "circuits our relay opened (the destination accepted)",
            relay.served.get("circuits", 0),
        )
        yield _labelled(
            CounterMetricFamily,
            "relay_circuits_ended",
            "circuits through our relay that ended, by reason",
            "reason",
            dict(sorted(relay.ended.items())),
        )
        yield _counter(
            "relay_bytes",
            "bytes our relay carried across its circuits, both ways together",
            relay.bytes_relayed,
        )
        yield _gauge(
            "relayed_addresses",
            "our addresses through member relays (a lab behind NAT)",
            len(self.network.relays.relayed_addrs),
        )
        yield _counter(
            "dcutr_attempts", "DCUtR hole punches this node started", relay.dcutr_attempts
        )
        yield _counter(
            "dcutr_successes",
            "DCUtR hole punches that ended with a direct connection",
            relay.dcutr_successes,
        )

    def _ledger_families(self) -> Iterator[Metric]:
        measures = self._ledger
        if measures is None:
            return
        yield _histogram(
            "log_size_entries", "logs held, by their size in entries", measures.log_sizes
        )
        yield _gauge("own_log_entries", "entries in this node's own log", measures.own_log_entries)
        yield _gauge("fork_proofs", "fork proofs held", measures.fork_proofs)
        yield _gauge(
            "frozen_authors", "authors frozen by a fork proof not lifted", measures.frozen_authors
        )

    def _witness(self) -> Iterator[Metric]:
        if self.governance is None:
            return
        yield _counter(
            "cosignatures_made",
            "checkpoints this node cosigned as a witness",
            self.governance.cosignatures_made,
        )
        measures = self._ledger
        if measures is not None and measures.witnessed_entries is not None:
            behind = max(0, measures.own_log_entries - measures.witnessed_entries)
            yield _gauge(
                "witness_lag_entries",
                "entries of our log not yet in a checkpoint "
                "cosigned by the federation's witness_count members",
                behind,
            )

    def _local(self) -> Iterator[Metric]:
        if self._blobs is not None:
            yield _gauge("blob_store_blobs", "blobs held", self._blobs.blobs)
            yield _gauge("blob_store_bytes", "bytes of the blobs held", self._blobs.blob_bytes)
        disk = self.service.disk
        if disk is not None:
            yield _gauge("disk_free_bytes", "free bytes on the home's disk", disk.last_free_bytes)
            yield _gauge(
                "disk_min_free_bytes", "below this the node is read-only", disk.min_free_bytes
            )
            yield _gauge(
                "disk_read_only", "1 while the disk is full and the node read-only", int(disk.full)
            )
        storage = self.service.storage.statistics()
        yield _gauge(
            "storage_jobs_pending", "storage thread jobs queued or running", storage.jobs_pending
        )
        yield _gauge(
            "storage_jobs_pending_max", "storage thread jobs allowed at once", storage.max_pending
        )
        yield _gauge(
            "storage_tasks_waiting", "tasks waiting for a storage job slot", storage.tasks_waiting
        )
        yield _counter("storage_jobs", "storage thread jobs run", storage.jobs_done)


def _gauge(name: str, doc: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(f"{PREFIX}_{name}", doc, value=value)


def _counter(name: str, doc: str, value: float) -> CounterMetricFamily:
    return CounterMetricFamily(f"{PREFIX}_{name}", doc, value=value)


def _labelled(
    family: type[CounterMetricFamily], name: str, doc: str, label: str, values: dict[str, int]
) -> CounterMetricFamily:
    metric = family(f"{PREFIX}_{name}", doc, labels=[label])
    for key, value in values.items():
        metric.add_metric([key], value)
    return metric


def _histogram(name: str, doc: str, histogram: Histogram) -> HistogramMetricFamily:
    return HistogramMetricFamily(
        f"{PREFIX}_{name}", doc, buckets=histogram.cumulative(), sum_value=histogram.sum
    )


async def is_healthy(service: NodeService) -> bool:
    """Not stopping, and the storage thread ran a no-op in time."""
    if service.stopping.is_set():
        return False
    with trio.move_on_after(HEALTH_STORAGE_TIMEOUT_S):
        try:
            await service.storage.run(_nothing)
        except CommonsError:  # closed or interrupted: stopping
            return False
        return not service.stopping.is_set()
    return False


def _nothing(_store: object) -> None:
    return None


API_PREFIX: Final = "/api/v1"


def routes(
    app: FastAPI, service: NodeService, guard: list[Any], metrics: NodeMetrics | None
) -> None:
    """`/healthz` (open) and `/metrics` (behind `guard`) on `app`; `metrics` None: an
    app built for its OpenAPI document only (the scrape holds the process's series)."""
    registry = CollectorRegistry()
    if metrics is not None:
        registry.register(metrics)
    ProcessCollector(namespace=PREFIX, registry=registry)

    @app.get(
        "/healthz",
        response_model=HealthOut,
        responses={503: {"model": HealthOut, "description": "stopping, or storage stuck"}},
    )
    async def healthz() -> JSONResponse:
        ok = await is_healthy(service)
        headers = {"Cache-Control": "no-store"}
        return JSONResponse({"ok": ok}, status_code=200 if ok else 503, headers=headers)

    @app.get(f"{API_PREFIX}/status/gossip", dependencies=guard)
    async def gossip_trace() -> dict[str, Any]:
        """When the last entries were published, received and stored by gossip here, in
        CLOCK_MONOTONIC nanoseconds (one clock for a machine's processes)."""
        trace = [] if metrics is None else metrics.network.trace.snapshot()
        entries = [{**t, "entry_id": id_to_text(t["entry_id"])} for t in trace]
        return {"clock": "monotonic_ns", "entries": entries}

    @app.get("/metrics", dependencies=guard, response_class=PlainTextResponse)
    async def scrape() -> Response:
        if metrics is not None:
            await metrics.refresh()
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
