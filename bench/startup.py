"""Start-up time and idle memory of a node, beside a bare py-libp2p host's, in one run.

Each sample starts, one after the other on the same machine:
  ours   `fabnode run` on an initialised home with no peers (bench.network.Fleet):
         process start to its ready line;
  bare   bench.gossip_peer, a plain py-libp2p host with Noise, Yamux and gossipsub and
         nothing of ours: process start to its ready line;
and, for where the time and memory go, two processes that only import: the
interpreter alone (`python -c pass`) and `import libp2p` (py-libp2p 0.8.1's package imports
aioquic, rich, requests, httpx, zeroconf, dns, psutil, prometheus_client... whoever
uses it pays for them). Resident memory (VmRSS) is read once the process has
settled after its ready line (two reads SETTLE_S apart within 1 MiB, at most
SETTLE_MAX_S). Printed: medians of `--samples` samples, ours / bare as ratios, and
ours minus bare (what is ours). Figures only; nothing asserts on time.
Run: python -m bench.startup [--samples 5] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import threading
import time
from typing import Any

from bench.network import Fleet, memory_mib

SAMPLES = 5
SETTLE_S = 0.5
SETTLE_MAX_S = 5.0
READY_TIMEOUT_S = 60.0


def settled_rss_mib(pid: int) -> float:
    """VmRSS once two reads SETTLE_S apart differ by under 1 MiB (or after SETTLE_MAX_S)."""
    last = memory_mib(pid)
    waited = 0.0
    while waited < SETTLE_MAX_S:
        time.sleep(SETTLE_S)  # the process is idle: this waits for its memory to settle
        waited += SETTLE_S
        now = memory_mib(pid)
        if abs(now - last) < 1.0:
            return now
        last = now
    return last


def ours(fleet: Fleet) -> tuple[float, float]:
    node = fleet.start("solo")
    rss = settled_rss_mib(node.proc.pid)
    fleet.stop([node])
    return node.startup_s, rss


def bare(seed: int) -> tuple[float, float]:
    """bench.gossip_peer: launch to its ready line, then its settled RSS."""
    launched = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.gossip_peer", str(seed)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    ready = threading.Event()
    at: list[float] = []

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            if not at and '"ready"' in line:
                at.append(time.perf_counter())
                ready.set()
        ready.set()

    threading.Thread(target=read, daemon=True).start()
    try:
        if not ready.wait(READY_TIMEOUT_S) or not at:
            raise RuntimeError("the bare py-libp2p host did not get ready")
        return at[0] - launched, settled_rss_mib(proc.pid)
    finally:
        assert proc.stdin is not None
        proc.stdin.close()  # end of stdin stops the peer
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def importing(code: str) -> tuple[float, float]:
    """A process that runs `code` then prints its own RSS: (wall s, MiB). VmRSS from
    /proc, not getrusage: a child's ru_maxrss keeps the forking parent's peak."""
    report = (
        "print(next(l.split()[1] for l in open('/proc/self/status') if l.startswith('VmRSS:')))"
    )
    started = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", f"{code}\n{report}"], capture_output=True, text=True, check=True
    )
    return time.perf_counter() - started, int(out.stdout.split()[-1]) / 1024


def measure(samples: int = SAMPLES) -> dict[str, Any]:
    rows: dict[str, list[tuple[float, float]]] = {
        "ours": [],
        "bare": [],
        "python": [],
        "import_libp2p": [],
    }
    with Fleet("startup") as fleet:
        for i in range(samples):  # interleaved, so both see the same machine
            rows["ours"].append(ours(fleet))
            rows["bare"].append(bare(i + 1))
            rows["python"].append(importing("pass"))
            rows["import_libp2p"].append(importing("import libp2p"))
    med = {
        name: {
            "startup_s": statistics.median(s for s, _ in got),
            "rss_mib": statistics.median(r for _, r in got),
        }
        for name, got in rows.items()
    }
    o, b = med["ours"], med["bare"]
    return {
        "samples": samples,
        "medians": med,
        "startup_ratio": o["startup_s"] / b["startup_s"],
        "rss_ratio": o["rss_mib"] / b["rss_mib"],
        "startup_ours_minus_bare_s": o["startup_s"] - b["startup_s"],
        "rss_ours_minus_bare_mib": o["rss_mib"] - b["rss_mib"],
    }


def report(f: dict[str, Any]) -> str:
    m = f["medians"]
    return "\n".join(
        [
            f"start-up and idle memory, medians of {f['samples']} (process start -> ready line;"
            " VmRSS settled after it; the import rows: wall time and VmRSS at the end)",
            f"  {'':<34} {'start-up':>9} {'RSS':>10}",
            *(
                f"  {label:<34} {m[key]['startup_s']:>7.2f} s {m[key]['rss_mib']:>6.1f} MiB"
                for key, label in (
                    ("ours", "fabnode run (ours)"),
                    ("bare", "bare py-libp2p host (gossipsub)"),
                    ("import_libp2p", "python -c 'import libp2p'"),
                    ("python", "python -c pass"),
                )
            ),
            f"  ours / bare: start-up {f['startup_ratio']:.2f} x, RSS {f['rss_ratio']:.2f} x;"
            f" ours - bare: {f['startup_ours_minus_bare_s']:+.2f} s,"
            f" {f['rss_ours_minus_bare_mib']:+.1f} MiB",
        ]
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.startup", description=__doc__)
    parser.add_argument("--samples", type=int, default=SAMPLES)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    figures = measure(max(1, args.samples))
    print(json.dumps(figures) if args.json else report(figures))


if __name__ == "__main__":
    main()
