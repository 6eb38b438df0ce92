"""Run the fuzz targets of tests/fuzz/targets.py under atheris (libFuzzer for Python).

    python -m tests.fuzz.run TARGET [--seconds N]     one target, N seconds
    python -m tests.fuzz.run all [--seconds N]        every target in turn, N seconds each
    python -m tests.fuzz.run TARGET --reproduce FILE  run one input once, without atheris
    python -m tests.fuzz.run --list                   the targets and what they cover

Each target runs in its own process (libFuzzer ends the process when it stops), starts
from a corpus seeded with the target's deterministic seeds, and writes any crashing input
to the artifacts folder (`crash-<sha1>`). The exit status is 0 when no target crashed.
Only the project's packages are instrumented for coverage; the libraries they call are
not, so the fuzzer steers by our branches.
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from tests.paths import ROOT

PACKAGES = ["protocol", "ledger", "licenses", "node", "tests.fuzz"]
#: Longest input the fuzzer makes (libFuzzer's -max_len); seeds may be longer.
MAX_LEN_BYTES = 8192
#: Seconds one input may take before libFuzzer calls it a hang.
INPUT_TIMEOUT_S = 20
MEMORY_LIMIT_MB = 2048


def write_seeds(target: str, corpus: Path) -> int:
    """Write the target's seeds into `corpus`, each named by its SHA-1 as libFuzzer does."""
    from tests.fuzz.targets import RUNNABLE, seed_inputs  # noqa: PLC0415

    corpus.mkdir(parents=True, exist_ok=True)
    seeds = seed_inputs(RUNNABLE[target])
    for seed in seeds:
        (corpus / hashlib.sha1(seed).hexdigest()).write_bytes(seed)
    return len(seeds)


def fuzz_in_process(target: str, seconds: int, corpus: Path, artifacts: Path, seed: int) -> None:
    """Instrument the project, then hand over to libFuzzer; it exits the process."""
    import atheris  # noqa: PLC0415  (only the fuzzing child needs it)

    with atheris.instrument_imports(include=PACKAGES):
        from tests.fuzz.targets import RUNNABLE  # noqa: PLC0415  (instrumented)

    run = RUNNABLE[target].run
    artifacts.mkdir(parents=True, exist_ok=True)
    argv = [
        f"fuzz-{target}",
        str(corpus),
        f"-max_total_time={seconds}",
        f"-max_len={MAX_LEN_BYTES}",
        f"-timeout={INPUT_TIMEOUT_S}",
        f"-rss_limit_mb={MEMORY_LIMIT_MB}",
        f"-artifact_prefix={artifacts}/",
        "-print_final_stats=1",
        f"-seed={seed}",  # 0: libFuzzer picks one
    ]
    atheris.Setup(argv, run)
    atheris.Fuzz()


def reproduce(target: str, path: Path) -> int:
    """Run one input through a target, uninstrumented; the traceback is the report."""
    from tests.fuzz.targets import RUNNABLE  # noqa: PLC0415

    RUNNABLE[target].run(path.read_bytes())
    print(f"{target}: {path} passes")
    return 0


def fuzz_one(target: str, seconds: int, artifacts: Path, corpus: Path | None, seed: int) -> int:
    """Fuzz one target in a child process; returns its exit status."""
    with tempfile.TemporaryDirectory(prefix=f"fuzz-{target}-") as scratch:
        folder = corpus if corpus is not None else Path(scratch) / "corpus"
        write_seeds(target, folder)
        command = [sys.executable, "-m", "tests.fuzz.run", target, "--child"]
        command += ["--seconds", str(seconds), "--corpus", str(folder)]
        command += ["--artifacts", str(artifacts), "--seed", str(seed)]
        started = time.monotonic()
        status = subprocess.run(command, cwd=ROOT, check=False).returncode
        took = time.monotonic() - started
        print(f"fuzz {target}: exit {status} after {took:.1f} s", flush=True)
        return status


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("target", nargs="?", help="a target's name, or all")
    parser.add_argument("--seconds", type=int, default=60, help="fuzzing time per target")
    parser.add_argument("--corpus", type=Path, help="keep the corpus in this folder")
    parser.add_argument("--artifacts", type=Path, default=ROOT / ".fuzz-artifacts")
    parser.add_argument("--reproduce", type=Path, help="run this one input, no fuzzing")
    parser.add_argument("--seed", type=int, default=0, help="libFuzzer's seed; 0: a new one")
    parser.add_argument("--list", action="store_true", help="list the targets")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:  # before the targets are imported, so that they get instrumented
        fuzz_in_process(args.target, args.seconds, args.corpus, args.artifacts.resolve(), args.seed)
        return 0  # not reached: libFuzzer exits
    from tests.fuzz.targets import RUNNABLE, TARGETS  # noqa: PLC0415

    if args.target not in (*RUNNABLE, "all", None):
        parser.error(f"no target {args.target!r}; --list shows them")
    if args.list or args.target is None:
        for target in RUNNABLE.values():
            print(f"{target.name:12} {target.description}")
        return 0
    if args.reproduce is not None:
        return reproduce(args.target, args.reproduce)
    names = list(TARGETS) if args.target == "all" else [args.target]
    artifacts = args.artifacts.resolve()
    failed = []
    for name in names:
        corpus = None if args.corpus is None else args.corpus / name
        if fuzz_one(name, args.seconds, artifacts, corpus, args.seed):
            failed.append(name)
    if failed:
        print(f"crashed: {', '.join(failed)}; inputs in {args.artifacts}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
