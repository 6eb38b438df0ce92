"""The federation simulator from the command line (specs/0013-simulation.md).

  python -m bench.sim --seed S --nodes N [--json]
      one run: its figures and properties; exit status 1 if any property fails.
  python -m bench.sim --scale [--sizes 100,1000,5000] [--seed S] [--identities N] [--compare]
      the same scenario at each size: convergence time after the last disturbance
      (virtual), bytes sent per node, events and wall time, as a table; the last line
      printed is one JSON object with every figure. --identities N: every node holds N
      more logs from the start (specs/0013 §4.1); --compare: each size twice, with the
      full head exchange (as --no-reconcile) and with set reconciliation.

The workload is fixed across sizes (the same writers, entries, faults and governance),
so the table shows what the federation's size alone costs. Figures only; the
simulator's own checks are the pass/fail. Errors print {"error": {"code", "message"}}.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from typing import Any

from ledger.sim.scenario import run
from ledger.sim.state import SimConfig


def one(seed: int, nodes: int, *, reconcile: bool = True, identities: int = 0) -> dict[str, Any]:
    config = SimConfig(seed=seed, nodes=nodes, reconcile=reconcile, identities=identities)
    started = time.perf_counter()
    report = run(config)
    report["wall_s"] = round(time.perf_counter() - started, 1)
    report["peak_rss_mib"] = peak_rss_mib()
    return report


def peak_rss_mib() -> int:
    """The process's peak resident memory so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024


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
        f"nodes {r['config']['nodes']}, logs {_logs(r)}, seed {r['config']['seed']}, "
        f"{'reconciled' if r['config']['reconcile'] else 'full head exchange'}: "
        + ("all properties hold" if r["ok"] else f"FAILED: {', '.join(failed)}"),
        f"  converged at {_s(r['converged_at_ms'])} (virtual), "
        f"{_s(r['convergence_ms'])} after the last disturbance at {_s(r['last_disturbance_ms'])}",
        f"  delivery delay, author to each node: p50 {_s(r['reach_ms']['p50'])}, "
        f"p99 {_s(r['reach_ms']['p99'])}, max {_s(r['reach_ms']['max'])}",
        f"  bytes sent per node {r['bytes_per_node']:,} "
        f"(gossip {r['gossip_bytes_per_node']:,}, sync {r['sync_bytes_per_node']:,}; "
        f"an idle sync interval after convergence {_n(r['idle_sync_bytes_per_node'])}; "
        f"from the heal to convergence {_n(r['heal_to_converged_bytes_per_node'])}); "
        f"busiest node {r['max_bytes_node']:,}",
        f"  entries acknowledged {r['entries_acknowledged']}, announcements {r['announcements']}, "
        f"syncs {r['syncs']}",
        f"  rules hash {props['rules_hash']} ({props['governance_input_variants']} distinct "
        f"governance inputs), events {r['events']:,}, wall {r['wall_s']} s, "
        f"peak RSS {r['peak_rss_mib']} MiB",
        f"  digest {r['digest']}",
    ]
    return "\n".join(lines)


def _n(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"


def _s(ms: int | None) -> str:
    return "never" if ms is None else f"{ms / 1000:.2f} s" if ms < 10_000 else f"{ms / 1000:.1f} s"


def table(reports: list[dict[str, Any]]) -> str:
    head = (
        f"{'nodes':>6} {'logs':>6} {'exchange':>10} {'ok':>3} {'converged':>10} "
        f"{'after last fault':>17} {'deliver p50':>11} {'deliver p99':>11} "
        f"{'bytes/node':>11} {'gossip/node':>12} {'sync/node':>10} {'idle sync/node':>14} "
        f"{'heal→conv/node':>14} {'msgs/node':>10} {'events':>10} {'wall':>8} {'peak RSS':>9}"
    )
    rows = [head]
    for r in reports:
        cfg = r["config"]
        rows.append(
            f"{cfg['nodes']:>6} {_logs(r):>6} "
            f"{'reconciled' if cfg['reconcile'] else 'full':>10} {'yes' if r['ok'] else 'NO':>3} "
            f"{_s(r['converged_at_ms']):>10} {_s(r['convergence_ms']):>17} "
            f"{_s(r['reach_ms']['p50']):>11} {_s(r['reach_ms']['p99']):>11} "
            f"{r['bytes_per_node']:>11,} {r['gossip_bytes_per_node']:>12,} "
            f"{r['sync_bytes_per_node']:>10,} {_n(r['idle_sync_bytes_per_node']):>14} "
            f"{_n(r['heal_to_converged_bytes_per_node']):>14} "
            f"{r['messages_per_node']:>10,} "
            f"{r['events']:>10,} {r['wall_s']:>6} s {r['peak_rss_mib']:>5} MiB"
        )
    return "\n".join(rows)


def _logs(r: dict[str, Any]) -> str:
    """Logs held at convergence: the writers' (and the equivocator's) and those held
    from the start."""
    cfg = r["config"]
    return f"{cfg['identities'] + cfg['authors'] + int(cfg['byzantine']):,}"


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
        "--identities",
        type=int,
        default=0,
        help="logs every node holds from the start, besides the writers' (specs/0013 §4.1)",
    )
    parser.add_argument(
        "--compare",
        action="store_true",
        help="run each size with the full head exchange, then with set reconciliation",
    )
    parser.add_argument(
        "--no-reconcile",
        dest="reconcile",
        action="store_false",
        help="sessions use the full head exchange (nodes before set reconciliation)",
    )
    args = parser.parse_args(argv)
    try:
        sizes = [int(s) for s in args.sizes.split(",")] if args.scale else [args.nodes]
        # (--compare without --scale: the one size of --nodes, both ways)
    except ValueError:
        fail("usage.bad-sizes", f"--sizes wants integers separated by commas, got {args.sizes!r}")
    if any(n < 20 for n in sizes):
        fail("usage.too-few-nodes", "a simulation needs at least 20 nodes")
    if args.identities < 0:
        fail("usage.bad-identities", "--identities wants a count of 0 or more")
    modes = [False, True] if args.compare else [args.reconcile]
    reports = []
    for n in sizes:
        for reconcile in modes:
            report = one(args.seed, n, reconcile=reconcile, identities=args.identities)
            reports.append(report)
            if not args.json:
                print(summary(report), flush=True)
    if args.json and not args.scale:
        print(json.dumps(reports[0], indent=2, sort_keys=True))
    elif args.scale or args.compare:
        print(table(reports))
        figures = [
            {k: r[k] for k in ("converged_at_ms", "convergence_ms", "reach_ms", "bytes_per_node",
                               "gossip_bytes_per_node", "sync_bytes_per_node",
                               "idle_sync_bytes_per_node", "heal_to_converged_bytes_per_node",
                               "wall_s", "peak_rss_mib", "ok")}
            | {k: r["config"][k] for k in ("nodes", "identities", "reconcile")}
            for r in reports
        ]  # fmt: skip
        print(json.dumps({"sim": figures}))
    if not all(r["ok"] for r in reports):
        failed = [r["config"]["nodes"] for r in reports if not r["ok"]]
        fail("sim.property-failed", f"a property failed in the run(s) of {failed} nodes")


if __name__ == "__main__":
    main()
