"""The federation simulator from the command line (specs/0013-simulation.md).

  python -m bench.sim --seed S --nodes N [--json]
      one run: its figures and properties; exit status 1 if any property fails.
  python -m bench.sim --scale [--sizes 100,1000,5000] [--seed S]
      the same scenario at each size: convergence time after the last disturbance
      (virtual), bytes sent per node, events and wall time, as a table; the last line
      printed is one JSON object with every figure.

The workload is fixed across sizes (the same writers, entries, faults and governance),
so the table shows what the federation's size alone costs. Figures only; the
simulator's own checks are the pass/fail. Errors print {"error": {"code", "message"}}.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from ledger.sim.scenario import run
from ledger.sim.state import SimConfig


def one(seed: int, nodes: int, *, reconcile: bool = True) -> dict[str, Any]:
    config = SimConfig(seed=seed, nodes=nodes, reconcile=reconcile)
    started = time.perf_counter()
    report = run(config)
    report["wall_s"] = round(time.perf_counter() - started, 1)
    return report


#: Federation sizes `make bench` simulates (seed 1); `make sim-scale` adds 5,000.
BENCH_SIZES = (100, 1000)


def measure(sizes: tuple[int, ...] = BENCH_SIZES, seed: int = 1) -> dict[str, Any]:
    """Figures for bench/table.py: per size, convergence after the last disturbance
    (virtual time), bytes sent per node, and whether every property held."""
    out: dict[str, Any] = {}
    for nodes in sizes:
        r = one(seed, nodes)
        out[f"{nodes:,} nodes: all properties hold"] = "yes" if r["ok"] else "NO"
        out[f"{nodes:,} nodes: converged after the last disturbance"] = (
            _s(r["convergence_ms"]) + " (virtual)"
        )
        out[f"{nodes:,} nodes: bytes sent per node"] = r["bytes_per_node"]
        out[f"{nodes:,} nodes: sync bytes per node, one idle interval"] = _n(
            r["idle_sync_bytes_per_node"]
        )
        out[f"{nodes:,} nodes: wall time"] = f"{r['wall_s']} s"
    return out


def summary(r: dict[str, Any]) -> str:
    props = r["properties"]
    failed = [k for k, v in props.items() if v is False]
    lines = [
        f"nodes {r['config']['nodes']}, seed {r['config']['seed']}: "
        + ("all properties hold" if r["ok"] else f"FAILED: {', '.join(failed)}"),
        f"  converged at {_s(r['converged_at_ms'])} (virtual), "
        f"{_s(r['convergence_ms'])} after the last disturbance at {_s(r['last_disturbance_ms'])}",
        f"  delivery delay, author to each node: p50 {_s(r['reach_ms']['p50'])}, "
        f"p99 {_s(r['reach_ms']['p99'])}, max {_s(r['reach_ms']['max'])}",
        f"  bytes sent per node {r['bytes_per_node']:,} "
        f"(gossip {r['gossip_bytes_per_node']:,}, sync {r['sync_bytes_per_node']:,}; "
        f"an idle sync interval after convergence {_n(r['idle_sync_bytes_per_node'])}); "
        f"busiest node {r['max_bytes_node']:,}",
        f"  entries acknowledged {r['entries_acknowledged']}, announcements {r['announcements']}, "
        f"syncs {r['syncs']}",
        f"  rules hash {props['rules_hash']} ({props['governance_input_variants']} distinct "
        f"governance inputs), events {r['events']:,}, wall {r['wall_s']} s",
        f"  digest {r['digest']}",
    ]
    return "\n".join(lines)


def _n(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"


def _s(ms: int | None) -> str:
    return "never" if ms is None else f"{ms / 1000:.2f} s" if ms < 10_000 else f"{ms / 1000:.1f} s"


def table(reports: list[dict[str, Any]]) -> str:
    head = (
        f"{'nodes':>6} {'ok':>3} {'converged':>10} {'after last fault':>17} "
        f"{'deliver p50':>11} {'deliver p99':>11} "
        f"{'bytes/node':>11} {'gossip/node':>12} {'sync/node':>10} {'idle sync/node':>14} "
        f"{'msgs/node':>10} "
        f"{'events':>10} {'wall':>8}"
    )
    rows = [head]
    for r in reports:
        rows.append(
            f"{r['config']['nodes']:>6} {'yes' if r['ok'] else 'NO':>3} "
            f"{_s(r['converged_at_ms']):>10} {_s(r['convergence_ms']):>17} "
            f"{_s(r['reach_ms']['p50']):>11} {_s(r['reach_ms']['p99']):>11} "
            f"{r['bytes_per_node']:>11,} {r['gossip_bytes_per_node']:>12,} "
            f"{r['sync_bytes_per_node']:>10,} {_n(r['idle_sync_bytes_per_node']):>14} "
            f"{r['messages_per_node']:>10,} "
            f"{r['events']:>10,} {r['wall_s']:>6} s"
        )
    return "\n".join(rows)


def fail(code: str, message: str) -> None:
    print(json.dumps({"error": {"code": code, "message": message}}))
    sys.exit(1)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.sim", description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--nodes", type=int, default=100)
    parser.add_argument("--scale", action="store_true", help="run every size of --sizes")
    parser.add_argument("--sizes", default="100,1000,5000")
    parser.add_argument("--json", action="store_true", help="print the whole report as JSON")
    parser.add_argument(
        "--no-reconcile",
        dest="reconcile",
        action="store_false",
        help="sessions use the full head exchange (nodes before set reconciliation)",
    )
    args = parser.parse_args(argv)
    try:
        sizes = [int(s) for s in args.sizes.split(",")] if args.scale else [args.nodes]
    except ValueError:
        fail("usage.bad-sizes", f"--sizes wants integers separated by commas, got {args.sizes!r}")
    if any(n < 20 for n in sizes):
        fail("usage.too-few-nodes", "a simulation needs at least 20 nodes")
    reports = []
    for n in sizes:
        report = one(args.seed, n, reconcile=args.reconcile)
        reports.append(report)
        if not args.json:
            print(summary(report), flush=True)
    if args.json and not args.scale:
        print(json.dumps(reports[0], indent=2, sort_keys=True))
    elif args.scale:
        print(table(reports))
        figures = [
            {k: r[k] for k in ("converged_at_ms", "convergence_ms", "reach_ms", "bytes_per_node",
                               "gossip_bytes_per_node", "sync_bytes_per_node",
                               "idle_sync_bytes_per_node", "wall_s", "ok")}
            | {"nodes": r["config"]["nodes"]}
            for r in reports
        ]  # fmt: skip
        print(json.dumps({"sim": figures}))
    if not all(r["ok"] for r in reports):
        failed = [r["config"]["nodes"] for r in reports if not r["ok"]]
        fail("sim.property-failed", f"a property failed in the run(s) of {failed} nodes")


if __name__ == "__main__":
    main()
