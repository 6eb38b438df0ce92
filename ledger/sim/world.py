"""The simulated world: a virtual clock with an event queue, and the network between nodes.

`Scheduler` runs callbacks in (time_ms, insertion order): ties never depend on hashing or
object identity, so a run is a function of its seed. `Links` decides the fate of every
message between two nodes: dropped if either end is down or a partition separates them,
lost with probability `loss` (gossip only: sync runs over a reliable stream), otherwise
delivered after the link's base latency plus jitter. It counts the bytes each node sends.
Pure: no I/O, no real clock.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from dataclasses import dataclass, field

from ledger.sim.rng import Rng

Action = Callable[[], None]


class Scheduler:
    def __init__(self) -> None:
        self.now_ms = 0
        self._queue: list[tuple[int, int, Action]] = []
        self._counter = 0
        self.events_run = 0

    def at(self, time_ms: int, action: Action) -> None:
        self._counter += 1
        heapq.heappush(self._queue, (max(time_ms, self.now_ms), self._counter, action))

    def after(self, delay_ms: int, action: Action) -> None:
        self.at(self.now_ms + delay_ms, action)

    def run_until(self, end_ms: int, stop: Callable[[], bool] = lambda: False) -> None:
        """Run events up to `end_ms` (inclusive), or until `stop()` holds after one."""
        while self._queue and self._queue[0][0] <= end_ms:
            time_ms, _, action = heapq.heappop(self._queue)
            self.now_ms = time_ms
            action()
            self.events_run += 1
            if stop():
                return
        self.now_ms = max(self.now_ms, end_ms)


@dataclass
class Links:
    """Latency, loss, partitions and crashes between nodes 0..n-1."""

    n: int
    rng: Rng
    latency_ms: tuple[int, int] = (20, 150)  # base latency of a link, drawn once per link
    jitter_ms: int = 30
    loss: float = 0.01
    down: set[int] = field(default_factory=set)
    side: dict[int, int] = field(default_factory=dict)  # partition: node -> side; {} = none
    bytes_sent: list[int] = field(init=False)
    messages_sent: list[int] = field(init=False)
    _base: dict[tuple[int, int], int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.bytes_sent = [0] * self.n
        self.messages_sent = [0] * self.n

    def connected(self, a: int, b: int) -> bool:
        if a in self.down or b in self.down:
            return False
        return self.side.get(a, 0) == self.side.get(b, 0)

    def delay(self, a: int, b: int) -> int:
        key = (a, b) if a < b else (b, a)
        if key not in self._base:
            low, high = self.latency_ms
            self._base[key] = self.rng.between(low, high)
        return self._base[key] + self.rng.below(self.jitter_ms + 1)

    def send(self, a: int, b: int, size_bytes: int, *, lossy: bool) -> int | None:
        """Count `size_bytes` sent by `a`; the delay to `b`, or None if it never arrives."""
        if a in self.down:
            return None
        self.bytes_sent[a] += size_bytes
        self.messages_sent[a] += 1
        if not self.connected(a, b) or (lossy and self.rng.random() < self.loss):
            return None
        return self.delay(a, b)
