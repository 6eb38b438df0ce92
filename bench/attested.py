"""Checkpoint-attested ranges (specs/0003 §4.2) on the node's receive path, against the
path that checks every entry's signature on receipt, in one process (issue 20).

bench.sync_receive replays a recorded catch-up session into a fresh node home three
ways per run: every signature checked on receipt on every core (the old path,
`Ledger.attested_ranges = False`), attested (the node's way: one check per range
frame, the entries' own checks deferred), and attested followed by the deferred checks
until none is left (node.runtime.deferred_checks, one thread). Each run is bracketed by
the raw PyNaCl verify rate of distinct signatures; ratios are to figures of the same
run, since the machine is shared. Figures only.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from bench import sync_receive
from bench.ledger import append_run, raw_nacl_distinct_rates, seeded

RUNS = 3


def main() -> None:
    """Attested catch-up against the old path (every signature checked on receipt, on
    every core) in the same process, each run bracketed by the raw verify rate:
    python -m bench.attested [N]"""
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    with tempfile.TemporaryDirectory(prefix="fabbench-attested-") as tmp:
        _, _, network, author = append_run(Path(tmp), n)
        chunks = sync_receive.record(
            Path(tmp) / "author.sqlite3", seeded("bench/signing"), network, author
        )
        print(f"node receive path, {n:,} entries replayed (ratios to the same run's figures)")
        for i in range(RUNS):
            folder = Path(tmp) / f"run{i}"
            folder.mkdir()
            raw = raw_nacl_distinct_rates()[0]
            old, old_cpu, _ = sync_receive.receive_rates(folder, chunks, "bench", attested=False)
            new, new_cpu, _ = sync_receive.receive_rates(folder, chunks, "bench")
            _, both, _ = sync_receive.catch_up_and_checks(folder, chunks, "bench")
            raw = (raw + raw_nacl_distinct_rates()[0]) / 2
            print(
                f"  run {i + 1}: raw verify {raw:,.0f}/s; every signature on receipt"
                f" {old:,.0f}/s ({old / raw:.2f} x raw, CPU {old_cpu:,.0f}/s);"
                f" attested {new:,.0f}/s ({new / raw:.2f} x raw, {new / old:.2f} x the old"
                f" path, CPU {new_cpu:,.0f}/s); attested then every deferred check"
                f" {both:,.0f}/s ({both / old:.2f} x the old path)"
            )


if __name__ == "__main__":
    main()
