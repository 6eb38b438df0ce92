"""The Hypercore reference of the catch-up benchmark (bench.hypercore_catchup): its
blocks are as long as the entries our catch-up moves, and a tiny real run, two
Node.js processes over a TCP loopback socket, gives the figures bench.network reads.

The run needs `node` and `npm ci` done in bench/hypercore (the Makefile's pytest and
bench targets do it); it is skipped, saying so, when either is missing. Nothing here
looks at time.
"""

from __future__ import annotations

import statistics

import pytest

from bench import hypercore_catchup
from ledger.log import Ledger
from ledger.store import MemoryLogStore
from protocol import kinds
from protocol.identity import identity_id
from tests.factory import NETWORK, seeded_key

BLOCKS = 200


def test_blocks_are_as_long_as_the_entries_a_catch_up_moves() -> None:
    """entry_bytes(n) against the entries of a real log of n notes of the catch-up's
    texts, signed by Ledger.append as a node signs its own."""
    n = 1_000
    signing, recovery = seeded_key("hypercore/signing"), seeded_key("hypercore/recovery")
    author = identity_id(signing.public, recovery.public)
    inception = {"signing_key": signing.public, "recovery_key": recovery.public}
    notes = [(kinds.NOTE, {"text": hypercore_catchup.catch_up_text(i)}) for i in range(n)]
    store = MemoryLogStore()
    Ledger(store).append(
        signing, NETWORK, author, [(kinds.INCEPTION, inception), *notes], 1_800_000_000_000
    )
    raws = store.read_entries(NETWORK, author, 2, n + 2)  # the notes, not the inception
    assert len(raws) == n
    assert abs(statistics.fmean(len(raw) for raw in raws) - hypercore_catchup.entry_bytes(n)) < 1


@pytest.mark.integration
def test_a_tiny_run_prints_the_figures_bench_network_reads() -> None:
    reason = hypercore_catchup.missing()
    if reason is not None:
        pytest.skip(reason)
    figures = hypercore_catchup.measure(BLOCKS, block_bytes=251, timeout_s=60.0)
    assert figures["blocks"] == BLOCKS
    assert figures["block_bytes"] == 251
    assert figures["bytes"] == BLOCKS * 251
    assert figures["hypercore"].startswith("11.")
    assert figures["seconds"] > 0
    assert figures["entries_per_s"] == pytest.approx(BLOCKS / figures["seconds"])
    assert 0 < figures["first_block_s"] <= figures["seconds"]
    assert figures["client_cpu_s"] > 0
