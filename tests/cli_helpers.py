"""Run the real `fabnode` command in a subprocess, as an operator would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def fabnode(
    *args: str | Path,
    home: Path | None = None,
    state: Path | None = None,
    wrap: Sequence[str] = (),
) -> tuple[int, Any]:
    """Run `fabnode [--home H] ARGS --json`; return (exit status, parsed JSON output).

    `state` is the signing-guard folder (FABNODE_STATE_DIR); by default one beside
    the home, so tests never touch the user's own state folder.
    """
    env = dict(os.environ)
    if state is not None or home is not None:
        env["FABNODE_STATE_DIR"] = str(state or Path(str(home) + "-state"))
    argv = [*wrap, sys.executable, "-m", "node.cli"]
    if home is not None:
        argv += ["--home", str(home)]
    argv += [str(a) for a in args] + ["--json"]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False, env=env)
    try:
        return done.returncode, json.loads(done.stdout)
    except json.JSONDecodeError as e:
        raise AssertionError(f"not JSON: {done.stdout!r} {done.stderr!r}") from e


def fabnode_text(*args: str | Path, home: Path) -> tuple[int, str]:
    """Run `fabnode --home H ARGS` for its human output; return (exit status, stdout)."""
    env = {**os.environ, "FABNODE_STATE_DIR": str(home) + "-state"}
    argv = [sys.executable, "-m", "node.cli", "--home", str(home), *[str(a) for a in args]]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False, env=env)
    return done.returncode, done.stdout
