"""A simulation's configuration and its running state, shared by the scenario that
builds and drives it (ledger.sim.scenario) and the checks that judge it
(ledger.sim.checks). Pure data."""

from __future__ import annotations

from dataclasses import dataclass, field

from ledger.sim.node import Federation, SimNode
from ledger.sim.rng import Rng
from protocol.logstate import LogHead


@dataclass(frozen=True)
class SimConfig:
    seed: int = 1
    nodes: int = 50
    authors: int = 12  # honest writers, the members among them
    entries_per_author: int = 5
    members: int = 5
    degree: int = 6
    loss: float = 0.01
    latency_ms: tuple[int, int] = (20, 150)
    jitter_ms: int = 30
    skew_ms: int = 120_000  # each node's clock is off by up to this much, either way
    crashes: int = 2
    partition: bool = True
    byzantine: bool = True
    write_window_ms: tuple[int, int] = (1_000, 50_000)
    max_ms: int = 900_000
    #: Sessions offer set reconciliation of heads (specs/0005 §8); False: the full
    #: head exchange, as nodes before it (to compare).
    reconcile: bool = True
    #: Identities whose logs every node holds from the start (one inception entry under
    #: a signed checkpoint each, written before the run; specs/0013 §4.1): what a
    #: federation of many labs and designers looks like to sync, besides the writers.
    identities: int = 0


@dataclass
class Sim:
    config: SimConfig
    rng: Rng
    fed: Federation
    honest: list[SimNode]
    writers: list[SimNode]
    members: list[SimNode]
    byzantine: SimNode | None
    forged: list[bytes]
    last_disturbance_ms: int = 0
    converged_at_ms: int | None = None
    #: The logs every node held from the start (config.identities): their heads.
    held_before: list[LogHead] = field(default_factory=list)
    #: Bytes sent by all nodes when the partition healed (None: no partition yet).
    bytes_at_heal: int | None = None
