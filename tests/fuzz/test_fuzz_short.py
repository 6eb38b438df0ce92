"""A short coverage-guided fuzz run of every target in tests/fuzz (specs/0012 §3).

Two checks:
  - its seeds (from specs/vectors) and the fuzz-regression inputs pass through it
    in-process, uninstrumented: deterministic, needs no fuzzer;
  - atheris fuzzes all of them for half a minute in one child process (the `mixed`
    target of `python -m tests.fuzz.run`: one start-up, the input's first byte picks
    the target); a crash fails the test with the target, the input (hex and base64)
    and the command that replays it. `make fuzz` runs each target on its own, longer.
A machine without atheris skips the second check and says why; .ci/run installs it
through the test extra.
"""

from __future__ import annotations

import base64
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fuzz.targets import MIXED, TARGETS, seed_inputs, split_mixed
from tests.paths import ROOT

#: Seconds of fuzzing, all targets together, in `make test`.
SHORT_SECONDS = int(os.environ.get("FUZZ_SHORT_SECONDS", "30"))
#: A fixed seed: every run makes the same inputs in the same order (a faster machine
#: just gets further), so `make test` does not fail by chance; `make fuzz` explores.
SHORT_SEED = int(os.environ.get("FUZZ_SHORT_SEED", "1"))


@pytest.mark.parametrize("name", list(TARGETS))
def test_seeds_and_regressions_pass(name: str) -> None:
    target = TARGETS[name]
    seeds = seed_inputs(target)
    assert seeds, f"target {name} has no seeds"
    for seed in seeds:
        target.run(seed)


@pytest.mark.skipif(
    importlib.util.find_spec("atheris") is None,
    reason="atheris is not installed (pip install -e '.[test]' brings it)",
)
def test_short_fuzz_run_finds_no_crash(tmp_path: Path) -> None:
    """Every target at once (the `mixed` target: one start-up, the first byte picks)."""
    artifacts = tmp_path / "artifacts"
    command = [sys.executable, "-m", "tests.fuzz.run", MIXED.name]
    command += ["--seconds", str(SHORT_SECONDS), "--artifacts", str(artifacts)]
    command += ["--seed", str(SHORT_SEED)]
    done = subprocess.run(
        command, check=False, cwd=ROOT, capture_output=True, text=True, timeout=600
    )
    if done.returncode == 0:
        return
    report = [f"fuzzing failed (exit {done.returncode})", done.stderr[-4000:]]
    for crash in sorted(artifacts.glob("*")) if artifacts.is_dir() else []:
        data = crash.read_bytes()
        target, rest = split_mixed(data) if data else (MIXED, data)
        report += [
            f"target {target.name}, input {crash.name}: hex {rest.hex()}",
            f"  base64 {base64.b64encode(rest).decode()}",
            f"  replay: python -m tests.fuzz.run {target.name} --reproduce <file of these bytes>",
        ]
    pytest.fail("\n".join(report), pytrace=False)
