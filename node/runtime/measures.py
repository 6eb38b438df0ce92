"""Distributions the node keeps for its metrics (node/api/metrics.py): plain data.

A Prometheus histogram is a fixed set of cumulative buckets, so its series count is
bounded whatever it measures: that is how the node reports things it has one of per
log or per peer (thousands of authors, dozens of peers) without a series for each.

- `Histogram`: counts of observed values by upper bound, and their sum.
- `SyncLag`: what sync sessions found we lacked (specs/0005 §6 step 3, the peer's
  heads against ours) and what each peer's last session left unfetched.

Written on the trio thread (the network's sessions) and read there at scrape time.
"""

from __future__ import annotations

import bisect
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field

#: Entries, by powers of ten: a log of one lab's notes, a busy lab, a whole catch-up.
ENTRY_BUCKETS = (0, 1, 10, 100, 1_000, 10_000, 100_000, 1_000_000)
#: Peers whose last session's leftover is remembered (the oldest go first).
MAX_TRACKED_PEERS = 4096


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
