"""How fast `fabnode` answers: commands that need no running node, measured as a user
runs them (a new process each time), beside the references of the same run: the
interpreter alone (`python -c pass`) and importing the whole daemon (what every
command cost before the command table).

Median wall time of N runs each, and the peak RSS of the program itself: VmHWM of its
own memory map, read by a small wrapper at exit (the kernel's ru_maxrss would count
the pages of the benchmark's own process, copied by fork before exec). Figures only;
nothing here asserts on time. Run: python -m bench.cli [--runs N]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

FABNODE = [sys.executable, "-m", "node.cli"]
#: Runs module argv[1] (if any) as __main__ with the rest as its arguments, then
#: prints the process's peak RSS (VmHWM, kB) as the last line on stderr.
WRAPPER = (
    "import atexit, runpy, sys\n"
    "def hwm():\n"
    "    line = next(x for x in open('/proc/self/status') if x.startswith('VmHWM'))\n"
    "    print('HWM', line.split()[1], file=sys.stderr)\n"
    "atexit.register(hwm)\n"
    "if len(sys.argv) > 1:\n"
    "    sys.argv = sys.argv[1:]\n"
    "    runpy.run_module(sys.argv[0], run_name='__main__', alter_sys=True)\n"
)


def wrapped(module: str | None, *args: str) -> list[str]:
    return [sys.executable, "-c", WRAPPER, *([module] if module else []), *args]


def run_once(argv: Sequence[str]) -> tuple[float, int]:
    """(seconds, peak RSS in bytes) of one run of `argv`, which must succeed."""
    began = time.perf_counter()
    done = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
    elapsed = time.perf_counter() - began
    error = done.stderr.decode(errors="replace")
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {done.returncode}: {error[-300:]}")
    hwm = [line for line in error.splitlines() if line.startswith("HWM ")]
    return elapsed, int(hwm[-1].split()[1]) * 1024


def median_of(argv: Sequence[str], runs: int) -> dict[str, float]:
    samples = [run_once(argv) for _ in range(runs)]
    return {
        "median_s": statistics.median(s for s, _ in samples),
        "rss_mib": max(r for _, r in samples) / 2**20,
    }


def measure(runs: int = 7) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        home = str(Path(folder) / "home")
        subprocess.run([*FABNODE, "--home", home, "init"], check=True, capture_output=True)
        commands = {
            "python -c pass": wrapped(None),
            "import the daemon": wrapped("node.daemon"),
            "fabnode --help": wrapped("node.cli", "--help"),
            "fabnode id --json": wrapped("node.cli", "--home", home, "id", "--json"),
            "fabnode licence check": wrapped("node.cli", "licence", "check", "CERN-OHL-S-2.0"),
        }
        figures = {name: median_of(argv, runs) for name, argv in commands.items()}
    daemon = figures["import the daemon"]["median_s"]
    for name in ("fabnode --help", "fabnode id --json", "fabnode licence check"):
        figures[name]["vs_daemon_import"] = figures[name]["median_s"] / daemon
    return {"runs": runs, "commands": figures}


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.cli", description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args(argv)
    figures = measure(args.runs)
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
