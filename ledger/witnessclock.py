"""The network's clock: when an entry was witnessed (specs/0008-governance.md §4).

No voter's clock and no single node's clock decides a deadline. An entry at `seq` of an
author's log is covered by every checkpoint of that log of size >= seq; each checkpoint
carries witness cosignatures with timestamps (specs/0003 §3). The entry's witnessed-by
time is, over the covering checkpoints cosigned by at least `k` distinct eligible
witnesses, the smallest of their median cosignature times, where

  * eligible witnesses are the given members other than the entry's author (an author
    cannot witness its own log);
  * the median of m timestamps is the upper median, sorted[m // 2]: with an even count
    the later of the two middle times, so half the witnesses cannot pull it earlier.

An entry with no such checkpoint is not witnessed (None). Inputs are plain data:
cosignatures already verified (ledger.checkpoint.cosignatures_in), keyed by the witness's
identity id. Pure: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from protocol.errors import LocalMisuseError

#: One checkpoint of a log: its size and {witness identity id: cosignature timestamp_s}.
CosignedCheckpoint = tuple[int, Mapping[bytes, int]]


def upper_median(values: Sequence[int]) -> int:
    """sorted(values)[len // 2]: the median, or the later middle value of an even count."""
    if not values:
        raise LocalMisuseError("misuse.bad-argument", "the median of no values")
    return sorted(values)[len(values) // 2]


def witnessed_at(
    seq: int,
    checkpoints: Iterable[CosignedCheckpoint],
    witnesses: Iterable[bytes],
    k: int,
    *,
    author: bytes | None = None,
) -> int | None:
    """The witnessed-by time of entry `seq`, in POSIX seconds, or None if not witnessed."""
    if k < 1:
        raise LocalMisuseError("misuse.bad-argument", f"k is at least 1, got {k}")
    eligible = frozenset(witnesses) - ({author} if author is not None else set())
    best: int | None = None
    for size, cosignatures in checkpoints:
        if size < seq:
            continue
        times = [t for w, t in cosignatures.items() if w in eligible]
        if len(times) < k:
            continue
        median = upper_median(times)
        best = median if best is None else min(best, median)
    return best


@dataclass(frozen=True, slots=True)
class WitnessClock:
    """Checkpoints of many logs: author id -> its cosigned checkpoints, in any order."""

    logs: Mapping[bytes, Sequence[CosignedCheckpoint]] = field(default_factory=dict)

    def witnessed_at(
        self, author: bytes, seq: int, witnesses: Iterable[bytes], k: int
    ) -> int | None:
        return witnessed_at(seq, self.logs.get(author, ()), witnesses, k, author=author)
