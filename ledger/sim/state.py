"""A simulation's configuration and its running state, shared by the scenario that
builds and drives it (ledger.sim.scenario) and the checks that judge it
(ledger.sim.checks). Pure data."""

from __future__ import annotations

from dataclasses import dataclass

from ledger.sim.node import Federation, SimNode
from ledger.sim.rng import Rng


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
