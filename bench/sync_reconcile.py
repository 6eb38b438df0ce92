"""Bytes of a sync session between two nodes, before and after set reconciliation.

Two ledgers hold the same N logs (each an inception entry under a signed checkpoint,
the smallest log a node serves); one real SyncPeer on each runs a whole session
back to back, as the simulator drives them, once with the full head exchange (a
peer that does not offer reconciliation, 0005 §8.1) and once reconciling. Printed:
the bytes both ways of an idle session (the two nodes agree on every log) and of a
session where one log differs, and the ratio old/new. Bytes are counted on the
machines' own frames, so the figures are exact and the same on every run.
Run: python -m bench.sync_reconcile [--logs 100,2000,10000]
"""

from __future__ import annotations

import argparse
import hashlib
from typing import Any

from ledger.log import Ledger
from ledger.store import MemoryLogStore
from ledger.syncpeer import SyncPeer
from protocol import kinds
from protocol.entry import sign_entry
from protocol.identity import development_network, identity_id
from protocol.keys import SigningKey

NETWORK = development_network("bench-sync-reconcile")
LOG_COUNTS = (100, 2_000, 10_000)


def key(name: str) -> SigningKey:
    return SigningKey(hashlib.sha256(b"bench-sync-reconcile/" + name.encode()).digest())


def populate(ledgers: list[Ledger], count: int, first: int = 0) -> None:
    """Logs first..first+count-1 in every ledger: an inception under a checkpoint."""
    for i in range(first, first + count):
        signing, recovery = key(f"{i}/signing"), key(f"{i}/recovery")
        author = identity_id(signing.public, recovery.public)
        entry = sign_entry(
            signing,
            network=NETWORK,
            author=author,
            seq=1,
            prev=None,
            timestamp_ms=1_700_000_000_000 + i,
            kind=kinds.INCEPTION,
            body={"signing_key": signing.public, "recovery_key": recovery.public},
        )
        for ledger in ledgers:
            ledger.ingest([entry.raw])
            ledger.sign_checkpoint(signing, NETWORK, author)


def session_bytes(a: Ledger, b: Ledger, *, reconcile: bool) -> dict[str, int]:
    """Run one session between a and b; bytes each way and the heads sent."""
    one = SyncPeer(a, NETWORK, reconcile=reconcile, keep_events=False)
    two = SyncPeer(b, NETWORK, reconcile=reconcile, keep_events=False)
    one.start()
    two.start()
    for _ in range(100_000):
        out_one, out_two = one.take_outbox(), two.take_outbox()
        if out_one:
            two.outbox += two.feed(out_one, 0)
        if out_two:
            one.outbox += one.feed(out_two, 0)
        if one.conn.is_finished and two.conn.is_finished and not one.outbox and not two.outbox:
            break
    else:
        raise RuntimeError("the session did not finish")
    stats = one.conn.statistics()
    return {
        "bytes": stats.bytes_sent + stats.bytes_received,
        "frames": stats.frames_sent + stats.frames_received,
        "heads": one.heads_sent + two.heads_sent,
        "entries": one.entries_ingested + two.entries_ingested,
    }


def measure(log_counts: tuple[int, ...] = LOG_COUNTS) -> dict[str, Any]:
    rows: list[dict[str, Any]] = []
    a, b = Ledger(MemoryLogStore()), Ledger(MemoryLogStore())
    have = 0
    for n in sorted(log_counts):
        populate([a, b], n - have, have)
        have = n
        old = session_bytes(a, b, reconcile=False)
        new = session_bytes(a, b, reconcile=True)
        rows.append({"logs": n, "idle_old": old, "idle_new": new, **one_difference(n)})
    return {"sessions": rows}


def one_difference(n: int) -> dict[str, dict[str, int]]:
    """Bytes of a session where b holds one log a lacks, among n shared (fresh
    ledgers for each mode: a session leaves them in sync)."""
    out = {}
    for mode, reconcile in (("diff_old", False), ("diff_new", True)):
        a, b = Ledger(MemoryLogStore()), Ledger(MemoryLogStore())
        populate([a, b], n)
        populate([b], 1, n)
        out[mode] = session_bytes(a, b, reconcile=reconcile)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logs", default=",".join(map(str, LOG_COUNTS)))
    args = parser.parse_args()
    counts = tuple(int(x) for x in args.logs.split(","))
    print(
        f"{'logs':>7} {'idle old B':>12} {'idle new B':>11} {'old/new':>8}"
        f" {'1 diff old B':>13} {'1 diff new B':>13}"
    )
    for row in measure(counts)["sessions"]:
        old, new = row["idle_old"]["bytes"], row["idle_new"]["bytes"]
        print(
            f"{row['logs']:>7,} {old:>12,} {new:>11,} {old / new:>8.0f}"
            f" {row['diff_old']['bytes']:>13,} {row['diff_new']['bytes']:>13,}"
        )


if __name__ == "__main__":
    main()
