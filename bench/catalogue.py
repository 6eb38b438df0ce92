"""Catalogue throughput on this machine (node.store.catalogue, ledger.catalogue).

Builds N synthetic designs (default 100,000; names and tags from a small
vocabulary, 30 % derived from 1 to 3 earlier designs, 10 % superseding an earlier
version of their author) straight into a temporary catalogue, in bulk, without
signing entries; then prints:
  * index build rate, designs/s (rows, facets, FTS and lineage edges);
  * search latency p50/p99 over 200 queries, without and with filters;
  * ancestors and descendants latency p50/p99 over 200 random designs, and
    ancestors over 200 designs that have parents.
Figures only; nothing here asserts on time.  Run: python -m bench.catalogue [N]
"""

from __future__ import annotations

import hashlib
import random
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ledger.catalogue import DesignRow, Filters
from node.store.catalogue import CatalogueStore

SAMPLES = 200
CHUNK = 10_000
SEED = 20_240_601

NOUNS = [
    "bracket",
    "hinge",
    "enclosure",
    "gear",
    "clamp",
    "mount",
    "spindle",
    "fixture",
    "jig",
    "panel",
    "knob",
    "pulley",
]
ADJECTIVES = [
    "modular",
    "parametric",
    "compact",
    "rugged",
    "open",
    "printable",
    "folding",
    "adjustable",
]
TAGS = [
    "robotics",
    "furniture",
    "lab-tools",
    "drone",
    "prosthetics",
    "education",
    "agriculture",
    "audio",
]
PROCESSES = ["3d-printing", "laser-cutting", "cnc-milling", "pcb", "sewing", "casting"]
MATERIALS = ["pla", "petg", "plywood", "acrylic", "aluminium", "steel", "fr4", "textile"]
FAMILIES = ["strong-copyleft", "weak-copyleft", "permissive"]
LICENCES = ["CERN-OHL-S-2.0", "CERN-OHL-W-2.0", "CERN-OHL-P-2.0", "CC-BY-SA-4.0", "MIT"]


def make_rows(n: int, rng: random.Random) -> tuple[list[DesignRow], list[tuple[bytes, bytes]]]:
    """n rows from 500 authors, and their derived_from edges (child, parent)."""
    rows: list[DesignRow] = []
    edges: list[tuple[bytes, bytes]] = []
    authors = [hashlib.sha256(b"author%d" % i).digest() for i in range(500)]
    last_of: dict[bytes, DesignRow] = {}
    for i in range(n):
        design_id = hashlib.sha256(b"design%d" % i).digest()
        author = rng.choice(authors)
        derived: tuple[bytes, ...] = ()
        if i and rng.random() < 0.3:
            parents = [rows[rng.randrange(i)].id for _ in range(rng.randint(1, 3))]
            derived = tuple(dict.fromkeys(parents))
        older = last_of.get(author)
        row = DesignRow(
            id=design_id,
            author=author,
            seq=i + 2,
            timestamp_ms=1_700_000_000_000 + i * 1000,
            name=f"{rng.choice(ADJECTIVES)} {rng.choice(NOUNS)} {i}",
            summary=f"A {rng.choice(ADJECTIVES)} {rng.choice(NOUNS)} for {rng.choice(TAGS)}",
            version=f"1.{i % 7}",
            licence=rng.choice(LICENCES),
            licensors=(f"Lab {author.hex()[:6]}",),
            tags=tuple(rng.sample(TAGS, 2)),
            processes=(rng.choice(PROCESSES),),
            materials=tuple(rng.sample(MATERIALS, 2)),
            supersedes=older.id if older is not None and rng.random() < 0.1 else None,
            derived_from=derived,
        )
        rows.append(row)
        last_of[author] = row
        edges += [(design_id, parent) for parent in derived]
    return rows, edges


def build(
    catalogue: CatalogueStore, rows: list[DesignRow], edges: list[tuple[bytes, bytes]]
) -> float:
    start = time.perf_counter()
    for i in range(0, len(rows), CHUNK):
        catalogue.add_designs(rows[i : i + CHUNK])
    with catalogue.batch():
        for row in rows:
            if row.derived_from:
                catalogue.add_edges(row.id, row.derived_from)
    return len(rows) / (time.perf_counter() - start)


def latencies_ms(run: Callable[[int], object]) -> tuple[float, float]:
    samples: list[float] = []
    for i in range(SAMPLES):
        start = time.perf_counter()
        run(i)
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return samples[len(samples) // 2], samples[min(len(samples) - 1, len(samples) * 99 // 100)]


def measure(n: int = 100_000) -> dict[str, Any]:
    """Build the catalogue of n designs; latencies (p50, p99) in ms of each query kind."""
    rng = random.Random(SEED)
    rows, edges = make_rows(n, rng)
    queries = [f"{rng.choice(ADJECTIVES)} {rng.choice(NOUNS)[:4]}" for _ in range(SAMPLES)]
    filters = [
        Filters(licence_family=rng.choice(FAMILIES), material=rng.choice(MATERIALS))
        for _ in range(SAMPLES)
    ]
    picks = [rng.choice(rows).id for _ in range(SAMPLES)]
    derived = [r.id for r in rows if r.derived_from]
    deep = [rng.choice(derived) for _ in range(SAMPLES)]
    with tempfile.TemporaryDirectory() as folder:
        catalogue = CatalogueStore(Path(folder) / "catalogue.sqlite3")
        try:
            rate = build(catalogue, rows, edges)
            latency = {
                "search, text only": latencies_ms(lambda i: catalogue.search(queries[i])),
                "search, text + licence + material": latencies_ms(
                    lambda i: catalogue.search(queries[i], filters[i])
                ),
                "search, filters only": latencies_ms(lambda i: catalogue.search("", filters[i])),
                "ancestors": latencies_ms(lambda i: catalogue.ancestors(picks[i])),
                "descendants": latencies_ms(lambda i: catalogue.descendants(picks[i])),
                "ancestors, derived designs only": latencies_ms(
                    lambda i: catalogue.ancestors(deep[i])
                ),
            }
        finally:
            catalogue.close()
    return {"designs": n, "edges": len(edges), "build_per_s": rate, "latency_ms": latency}


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    f = measure(n)
    print(f"designs: {n:,}, lineage edges: {f['edges']:,}")
    print(f"index build: {f['build_per_s']:,.0f} designs/s")
    for what, p50_p99 in f["latency_ms"].items():
        report(what, p50_p99)


def report(what: str, p50_p99: tuple[float, float]) -> None:
    print(f"{what}: p50 {p50_p99[0]:.2f} ms, p99 {p50_p99[1]:.2f} ms")


if __name__ == "__main__":
    main()
