"""Every benchmark in one run, printed as one table at the end (`make bench`).

Each bench module exposes `measure(...) -> dict` of figures: bench.ledger (append,
ingest and the raw Ed25519 verify rate measured around each ingest run, the
physical bound of ingest), bench.catalogue (search and lineage latency at N
designs), bench.cli (how fast `fabnode` answers), bench.network (real node
processes: start-up, gossip reach-all by node count, RSS, catch-up sync), bench.hostile
(one real node's RSS and API latency under each hostile-peer attack, as ratios to its
idle figures), bench.sync_reconcile (bytes of an idle sync session and of one with a
log to fetch, full head exchange against set reconciliation, at 100 to 10,000
logs), bench.startup (a node's start-up and idle RSS beside a bare py-libp2p
host's, as ratios), bench.nat (labs behind NAT in network namespaces: first sync,
relayed against direct throughput, hole punches; skipped, with the reason, without
root or nftables). If a
module bench.sim exists, its `measure()` runs too and every figure it returns
becomes a row (its contract: a flat dict of figure name to a number or a string; a
key "targets" may map figure names to target text). A module that fails is
reported as failed; the others still run. Figures only; nothing here asserts on
time. Run: make bench  (or python -m bench.table [--quick]).
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import os
import platform
import time
import traceback
from collections.abc import Callable, Sequence
from typing import Any

from bench import catalogue, cli, hostile, ledger, nat, network, startup, sync_reconcile

Row = tuple[str, str, str]  # figure, value, target


def run(name: str, fn: Callable[[], dict[str, Any]], figures: dict[str, Any]) -> None:
    print(f"[bench.table {time.strftime('%H:%M:%S')}] {name}", flush=True)
    try:
        figures[name] = fn()
    except Exception as e:  # a failed module is a row, not the end of the run
        traceback.print_exc()
        figures[name] = {"error": f"{type(e).__name__}: {e}"}


def ledger_rows(f: dict[str, Any]) -> list[Row]:
    n = f["entries"]
    runs = len(f["ingest_runs"])
    return [
        ("raw Ed25519 verify, PyNaCl (bound)", f"{f['raw_verify_nacl_per_s']:,.0f} /s", ""),
        ("raw Ed25519 verify, cryptography", f"{f['raw_verify_cryptography_per_s']:,.0f} /s", ""),
        (f"local append, {n:,} entries", f"{f['append_per_s']:,.0f} entries/s", ">= 15,000"),
        (
            f"ingest, pipelined, {n:,} entries (median of {runs})",
            f"{f['ingest_per_s']:,.0f} entries/s",
            "",
        ),
        (
            "  raw verify around the ingest runs (one signature)",
            f"{f['ingest_raw_verify_per_s']:,.0f} /s",
            "",
        ),
        ("  ingest / raw verify, same runs", f"{f['ingest_ratio']:.2f}", ">= 0.70"),
        (
            "  raw verify of distinct signatures, same runs",
            f"{f['ingest_raw_verify_distinct_per_s']:,.0f} /s",
            "",
        ),
        ("  ingest / distinct-signature verify", f"{f['ingest_ratio_distinct']:.2f}", ""),
        (
            "  same two ratios in CPU time",
            f"{f['ingest_ratio_cpu']:.2f} / {f['ingest_ratio_distinct_cpu']:.2f}"
            f" ({f['ingest_per_cpu_s']:,.0f} entries per CPU-s)",
            "",
        ),
        (
            "node receive path: a sync session's frames (median),"
            f" signatures on {f['verify_threads']} thread(s)",
            f"{f['node_receive_per_s']:,.0f} entries/s",
            "",
        ),
        (
            "  node receive / raw verify: wall (distinct) / CPU (distinct)",
            f"{f['node_receive_ratio']:.2f} ({f['node_receive_ratio_distinct']:.2f}) /"
            f" {f['node_receive_ratio_cpu']:.2f} ({f['node_receive_ratio_distinct_cpu']:.2f})",
            ">= 0.70",
        ),
        (
            "  the same, signatures on one thread: ratios wall / CPU",
            f"{f['node_receive_one_thread_ratio']:.2f} /"
            f" {f['node_receive_one_thread_ratio_cpu']:.2f}"
            f" ({f['node_receive_one_thread_per_s']:,.0f} entries/s)",
            "",
        ),
        (
            "  serial Ledger.ingest, one thread: ratios wall / CPU",
            f"{f['serial_ingest_ratio']:.2f} / {f['serial_ingest_ratio_cpu']:.2f}"
            f" ({f['serial_ingest_per_s']:,.0f} entries/s)",
            "",
        ),
    ]


def catalogue_rows(f: dict[str, Any]) -> list[Row]:
    rows: list[Row] = [
        (f"catalogue build, {f['designs']:,} designs", f"{f['build_per_s']:,.0f} designs/s", "")
    ]
    for what, (p50, p99) in f["latency_ms"].items():
        rows.append((f"{what} at {f['designs']:,}", f"p50 {p50:.2f} / p99 {p99:.2f} ms", ""))
    return rows


def network_rows(f: dict[str, Any]) -> list[Row]:
    rows: list[Row] = []
    s = f.get("startup", {})
    startup = _or_error(s, lambda: f"{s['median_s']:.2f} s")
    rows.append(("start-up, process -> ready (median of 5)", startup, ""))
    c = f.get("catchup", {})
    if "entries_per_s" in c:
        rows.append(
            (
                f"catch-up sync, {c['entries']:,} entries",
                f"{c['entries_per_s']:,.0f} entries/s = {c['ratio_to_ingest']:.2f} x ingest",
                ">= 0.8 x ingest",
            )
        )
    else:
        rows.append(("catch-up sync", c.get("error", "did not finish"), ">= 0.8 x ingest"))
    h = f.get("hypercore", {})
    if "ratio_to_hypercore" in c:
        rows.append(
            (
                f"  Hypercore {h.get('hypercore', '')}, same N over TCP, same run",
                f"{c['hypercore_entries_per_s']:,.0f} entries/s; "
                f"ours = {c['ratio_to_hypercore']:.2f} x",
                "ours >= 5 x",
            )
        )
    elif "error" in h:
        rows.append(("  Hypercore, same N", f"FAILED: {h['error'][:60]}", "ours >= 5 x"))
    for n, g in f.get("gossip", {}).items():
        target = "<= 1.3 x plain" if n == "20" else ""
        rows.append((f"gossip reach-all, {n} nodes (stored / plain libp2p)", _reach(g), target))
    for n, g in f.get("gossip", {}).items():
        if "rss_idle_mib" in g:
            r = g["rss_idle_mib"]
            rows.append(
                (
                    f"RSS idle, {n}-node cluster (min/med/max)",
                    f"{r['min']:.0f} / {r['median']:.0f} / {r['max']:.0f} MiB",
                    "< 150",
                )
            )
    if "rss_b_mib" in c:
        rows.append(
            (
                f"RSS after catching up {c['entries']:,} entries",
                f"{c['rss_b_mib']:.0f} MiB (peak {c['peak_rss_b_mib']:.0f})",
                "< 150",
            )
        )
        rows.append(
            (
                "RSS of the node that signed them",
                f"{c['rss_a_mib']:.0f} MiB (after serving: {c['rss_a_after_mib']:.0f})",
                "< 150",
            )
        )
    return rows


def startup_rows(f: dict[str, Any]) -> list[Row]:
    m, n = f["medians"], f["samples"]
    o, b, lib = m["ours"], m["bare"], m["import_libp2p"]
    return [
        (
            f"start-up, process -> ready: ours / bare py-libp2p (median of {n})",
            f"{o['startup_s']:.2f} / {b['startup_s']:.2f} s = {f['startup_ratio']:.2f} x"
            f" ({f['startup_ours_minus_bare_s']:+.2f} s ours)",
            "< 0.8 s",
        ),
        (
            "idle RSS: ours / bare py-libp2p",
            f"{o['rss_mib']:.0f} / {b['rss_mib']:.0f} MiB = {f['rss_ratio']:.2f} x"
            f" ({f['rss_ours_minus_bare_mib']:+.0f} MiB ours)",
            "< 100 MiB",
        ),
        (
            "  import libp2p alone / python alone: time, RSS",
            f"{lib['startup_s'] * 1000:.0f} / {m['python']['startup_s'] * 1000:.0f} ms,"
            f" {lib['rss_mib']:.0f} / {m['python']['rss_mib']:.0f} MiB",
            "",
        ),
    ]


def _reach(g: dict[str, Any]) -> str:
    if "error" in g:
        return f"FAILED: {str(g['error'])[:60]}"
    r, p = g["reach_all_stored_ms"], g["plain"]["reach_all_received_ms"]
    return (
        f"p50 {r['p50']:.0f} / {p['p50']:.0f} ms = {g['ratio_stored_p50']:.2f} x, "
        f"p99 {r['p99']:.0f} / {p['p99']:.0f} ms ({g['missing']} of {g['notes']} missed)"
    )


def reconcile_rows(f: dict[str, Any]) -> list[Row]:
    rows: list[Row] = []
    for s in f["sessions"]:
        n = f"{s['logs']:,} logs"
        old, new = s["idle_old"]["bytes"], s["idle_new"]["bytes"]
        rows.append(
            (f"idle sync session, {n}: full exchange / reconciled", f"{old:,} / {new:,} B", "")
        )
        rows.append((f"  ratio full / reconciled, {n}", f"{old / new:,.0f}x", "O(1) reconciled"))
        rows.append(
            (
                f"one log differs, {n}: full exchange / reconciled",
                f"{s['diff_old']['bytes']:,} / {s['diff_new']['bytes']:,} B",
                "",
            )
        )
    return rows


def sim_rows(f: dict[str, Any]) -> list[Row]:
    targets = f.get("targets", {})
    return [
        (str(k), _fmt(v), str(targets.get(k, "")))
        for k, v in f.items()
        if k != "targets" and not isinstance(v, dict | list)
    ]


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _or_error(f: dict[str, Any], value: Callable[[], str]) -> str:
    if "error" in f:
        return f"FAILED: {str(f['error'])[:60]}"
    return value()


def cli_rows(f: dict[str, Any]) -> list[Row]:
    c = f["commands"]
    rows: list[Row] = [
        (
            f"{name} (median of {f['runs']}, peak RSS)",
            f"{c[name]['median_s'] * 1000:.0f} ms, {c[name]['rss_mib']:.0f} MiB",
            "",
        )
        for name in ("python -c pass", "import the daemon")
    ]
    for name in ("fabnode --help", "fabnode id --json", "fabnode licence check"):
        figure = c[name]
        value = (
            f"{figure['median_s'] * 1000:.0f} ms, {figure['rss_mib']:.0f} MiB"
            f" = {figure['vs_daemon_import']:.2f} x the daemon import"
        )
        rows.append((f"{name} (median of {f['runs']}, peak RSS)", value, "< 200 ms"))
    return rows


def hostile_rows(f: dict[str, Any]) -> list[Row]:
    idle, bound = f["idle"], "peak < idle + 64 MiB"
    rows: list[Row] = [
        ("idle: RSS / peak (VmHWM)", f"{idle['rss_mib']:.0f} / {idle['peak_mib']:.0f} MiB", ""),
        (
            "idle: GET status / POST note, p50|p95; node CPU",
            f"{_latencies(idle)}; {idle['node_cores']:.2f} cores",
            "",
        ),
    ]
    for name, (what, _) in hostile.ATTACKS.items():
        title, a = f"{what}, {f['attack_s']:.0f} s", f["attacks"].get(name, {"error": "not run"})
        if "error" in a:
            rows.append((title, f"FAILED: {str(a['error'])[:60]}", ""))
            continue
        x, cores = a["x_idle"], f"{a['node_cores']:.2f} cores"
        rss = f"{a['rss_mib']:.0f} / {a['peak_mib']:.0f} MiB"
        rows += [
            (f"{title}: RSS / peak", f"{rss} = {x['rss_mib']:.2f} / {x['peak_mib']:.2f} x", bound),
            ("  status / note p50|p95; node CPU", f"{_vs_idle(a)}; {cores}", ""),
            ("  attacker", hostile.attacker(a)[:75], ""),
        ]
    rows.append(("idle again, after the attacks: status / note", _vs_idle(f["idle_after"]), ""))
    return rows


def _latencies(f: dict[str, Any]) -> str:
    s, n = f["status"], f["note"]
    return f"{s['p50']:.1f}|{s['p95']:.1f} / {n['p50']:.0f}|{n['p95']:.0f} ms"


def _vs_idle(f: dict[str, Any]) -> str:
    x = f["x_idle"]
    return (
        f"{_latencies(f)} = {x['status_p50']:.1f}|{x['status_p95']:.1f}"
        f" / {x['note_p50']:.1f}|{x['note_p95']:.1f} x idle"
    )


def sim_module() -> Any | None:
    """bench.sim if this checkout has it (the simulator's figures), else None."""
    if importlib.util.find_spec("bench.sim") is None:
        return None
    return importlib.import_module("bench.sim")


SECTIONS: list[tuple[str, str, Callable[[dict[str, Any]], list[Row]]]] = [
    (
        "ledger",
        "ledger (ingest: verify on one worker thread, overlapped with the SQLite commit"
        " on the storage thread; the node's receive path verifies on every core)",
        ledger_rows,
    ),
    ("catalogue", "catalogue", catalogue_rows),
    ("cli", "command line (a new process per run)", cli_rows),
    ("network", "network (real fabnode processes on 127.0.0.1)", network_rows),
    ("startup", "start-up and idle memory, beside a bare py-libp2p host", startup_rows),
    ("hostile", "hostile peers (one real node)", hostile_rows),
    (
        "sync_reconcile",
        "sync session bytes, both ways (bench.sync_reconcile; exact, the same every run)",
        reconcile_rows,
    ),
    ("nat", "behind NAT (network namespaces; bench.nat)", nat.table_rows),
    ("sim", "simulator (bench.sim)", sim_rows),
]


def print_table(figures: dict[str, Any], header: str) -> None:
    rows: list[tuple[str, str, str]] = []
    for key, title, build in SECTIONS:
        if key not in figures:
            continue
        rows.append((f"-- {title}", "", ""))
        f = figures[key]
        if "error" in f:
            rows.append(("FAILED", str(f["error"])[:90], ""))
            continue
        try:
            rows += build(f)
        except (KeyError, TypeError, ValueError) as e:
            rows.append(("could not read the figures", f"{type(e).__name__}: {e}"[:90], ""))
    width = [max(len(r[i]) for r in rows) for i in range(2)]
    print()
    print(header)
    print(f"{'figure':<{width[0]}}  {'value':<{width[1]}}  target")
    for figure, value, target in rows:
        print(f"{figure:<{width[0]}}  {value:<{width[1]}}  {target}".rstrip())


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.table", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="20,000 entries, 5 nodes")
    args = parser.parse_args(argv)
    entries = 20_000 if args.quick else 100_000
    load_before = os.getloadavg()[0]
    began = time.perf_counter()
    figures: dict[str, Any] = {}
    run("ledger", lambda: ledger.measure(entries), figures)
    run("catalogue", lambda: catalogue.measure(entries), figures)
    run("cli", lambda: cli.measure(5 if args.quick else 11), figures)
    net_args = network.parse_args(["--quick"] if args.quick else [])
    reference = figures["ledger"] if "error" not in figures["ledger"] else None
    run("network", lambda: network.measure(net_args, reference), figures)
    run("startup", lambda: startup.measure(3 if args.quick else startup.SAMPLES), figures)
    run("hostile", lambda: hostile.measure(args.quick), figures)
    counts = (100, 2_000) if args.quick else sync_reconcile.LOG_COUNTS
    run("sync_reconcile", lambda: sync_reconcile.measure(counts), figures)
    run("nat", lambda: nat.measure(args.quick), figures)
    sim = sim_module()
    if sim is not None:
        run("sim", sim.measure, figures)
    header = (
        f"Fab Commons benchmarks, {time.strftime('%Y-%m-%d %H:%M %Z')}: {platform.machine()}, "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}; load average "
        f"{load_before:.1f} before, {os.getloadavg()[0]:.1f} after; "
        f"{time.perf_counter() - began:.0f} s"
    )
    if sim is None:
        header += "\n(bench.sim not present in this checkout: no simulator rows)"
    problems = figures.get("network", {}).get("problems", [])
    print(json.dumps(network._finite(figures), sort_keys=True, default=str))
    for problem in problems:
        print(f"note: {problem}")
    print_table(figures, header)


if __name__ == "__main__":
    main()
