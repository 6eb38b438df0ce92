"""Distributions the node keeps for its metrics (node/api/metrics.py): plain data.

A Prometheus histogram is a fixed set of cumulative buckets, so its series count is
bounded whatever it measures: that is how the node reports things it has one of per
log or per peer (thousands of authors, dozens of peers) without a series for each.

- `Histogram`: counts of observed values by upper bound, and their sum.
- `SyncLag`: what sync sessions found we lacked (specs/0005 §6 step 3, the peer's
  heads against ours) and what each peer's last session left unfetched.
- `GossipTrace`: when the last few thousand entries went out in, came in by, and were
  stored from gossip, on the machine's monotonic clock (`GET /api/v1/status/gossip`;
  bench/network.py reads it to time gossip as the nodes see it, without polling).

Written on the trio thread (the network's sessions) and read there at scrape time;
the trace also from the storage thread, under its lock.
"""

from __future__ import annotations

import bisect
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

#: Entries, by powers of ten: a log of one lab's notes, a busy lab, a whole catch-up.
ENTRY_BUCKETS = (0, 1, 10, 100, 1_000, 10_000, 100_000, 1_000_000)
#: Peers whose last session's leftover is remembered (the oldest go first).
MAX_TRACKED_PEERS = 4096
#: Entries the gossip trace remembers (the oldest go first): ~100 bytes each.
MAX_TRACED_ENTRIES = 4096


@dataclass
class Histogram:
    """Observed values by bucket: `counts[i]` of them are <= `bounds[i]` and above the
    bound before it; `counts[-1]` are above every bound (Prometheus' +Inf)."""

    bounds: tuple[int, ...] = ENTRY_BUCKETS
    counts: list[int] = field(default_factory=list)
    sum: int = 0

    def __post_init__(self) -> None:
        if not self.counts:
            self.counts = [0] * (len(self.bounds) + 1)

    def observe(self, value: int) -> None:
        self.counts[bisect.bisect_left(self.bounds, value)] += 1
        self.sum += value

    @property
    def count(self) -> int:
        return sum(self.counts)

    def cumulative(self) -> list[tuple[str, int]]:
        """(upper bound as text, values at or below it), "+Inf" last: the exposition's
        buckets."""
        out: list[tuple[str, int]] = []
        running = 0
        for bound, n in zip((*map(str, self.bounds), "+Inf"), self.counts, strict=True):
            running += n
            out.append((bound, running))
        return out

    @classmethod
    def of(cls, values: Iterable[int], bounds: tuple[int, ...] = ENTRY_BUCKETS) -> Histogram:
        histogram = cls(bounds)
        for value in values:
            histogram.observe(value)
        return histogram


@dataclass
class SyncLag:
    """How far behind sync found the node: per session, the entries the peer's heads
    showed we lacked; per peer, how many of them its last session did not fetch."""

    lacking: Histogram = field(default_factory=Histogram)
    unfetched: OrderedDict[str, int] = field(default_factory=OrderedDict)

    def session_planned(self, peer: str, lacking: int, fetched: int) -> None:
        """A session with `peer` ended after planning to fetch `lacking` entries."""
        self.lacking.observe(lacking)
        self.unfetched.pop(peer, None)
        self.unfetched[peer] = max(0, lacking - fetched)
        while len(self.unfetched) > MAX_TRACKED_PEERS:
            self.unfetched.popitem(last=False)

    def behind_entries(self, peers: Iterable[str]) -> int:
        """The most entries one of `peers` (those connected) showed us at its last
        session that we still lack: 0 when we hold what every peer offered."""
        return max((self.unfetched.get(p, 0) for p in peers), default=0)


class GossipTrace:
    """Per entry id: when we published it, first received it in an announcement (and
    its size), and stored it, in `time.monotonic_ns()` (CLOCK_MONOTONIC: one clock
    for every process of a machine, so a benchmark can subtract one node's times
    from another's). Bounded: the oldest entries are forgotten first."""

    def __init__(self, capacity: int = MAX_TRACED_ENTRIES) -> None:
        self.capacity = capacity
        self._times: OrderedDict[bytes, dict[str, int]] = OrderedDict()
        self._lock = threading.Lock()

    def _mark(self, entry_ids: Iterable[bytes], what: str, extra: dict[str, int]) -> None:
        now = time.monotonic_ns()
        with self._lock:
            for entry_id in entry_ids:
                times = self._times.get(entry_id)
                if times is None:
                    times = self._times[entry_id] = {}
                    while len(self._times) > self.capacity:
                        self._times.popitem(last=False)
                if what not in times:
                    times[what] = now
                    times.update(extra)

    def published(self, entry_ids: Iterable[bytes], size_bytes: int) -> None:
        """We handed an announcement of `size_bytes` with these entries to gossip."""
        self._mark(entry_ids, "published_ns", {"bytes": size_bytes})

    def received(self, entry_ids: Iterable[bytes], size_bytes: int) -> None:
        """An announcement of `size_bytes` with these entries arrived (first time counts)."""
        self._mark(entry_ids, "received_ns", {"bytes": size_bytes})

    def stored(self, entry_ids: Iterable[bytes]) -> None:
        """These entries, received by gossip, are in the ledger now."""
        self._mark(entry_ids, "stored_ns", {})

    def snapshot(self) -> list[dict[str, Any]]:
        """Every traced entry, oldest first: {"entry_id": bytes, times...}."""
        with self._lock:
            return [{"entry_id": k, **v} for k, v in self._times.items()]
