"""A seeded pseudo-random generator for the simulator: SplitMix64 (Steele et al., 2014).

Pure integer arithmetic, so a seed gives the same stream on every Python version and
machine (the standard `random` module is not for the pure packages, and its derived
methods have changed across versions). Not for keys or anything secret.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")
_MASK = (1 << 64) - 1


class Rng:
    def __init__(self, seed: int) -> None:
        self._state = seed & _MASK

    def next_u64(self) -> int:
        self._state = (self._state + 0x9E3779B97F4A7C15) & _MASK
        z = self._state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
        return z ^ (z >> 31)

    def random(self) -> float:
        """A float in [0, 1) with 53 random bits."""
        return (self.next_u64() >> 11) / (1 << 53)

    def below(self, n: int) -> int:
        """An integer in [0, n), unbiased (rejection sampling)."""
        if n <= 0:
            raise ValueError("below(n) needs n >= 1")
        limit = (1 << 64) - (1 << 64) % n
        while True:
            x = self.next_u64()
            if x < limit:
                return x % n

    def between(self, low: int, high: int) -> int:
        """An integer in [low, high]."""
        return low + self.below(high - low + 1)

    def choice(self, items: Sequence[T]) -> T:
        return items[self.below(len(items))]

    def sample(self, items: Sequence[T], k: int) -> list[T]:
        """k distinct items in random order (a partial Fisher-Yates shuffle)."""
        pool = list(items)
        k = min(k, len(pool))
        for i in range(k):
            j = i + self.below(len(pool) - i)
            pool[i], pool[j] = pool[j], pool[i]
        return pool[:k]

    def fork(self, label: int) -> Rng:
        """An independent stream for one component, so adding draws elsewhere does not
        shift it."""
        return Rng(self.next_u64() ^ (label * 0x9E3779B97F4A7C15 & _MASK))
