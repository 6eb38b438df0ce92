"""Start real `fabnode run` processes for integration tests, and stop them cleanly."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

READY_TIMEOUT_S = 60


def node_env(home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["FABNODE_STATE_DIR"] = str(home) + "-state"
    return env


@contextmanager
def running_node(home: Path, *extra: str) -> Iterator[tuple[subprocess.Popen[str], dict[str, Any]]]:
    """A `fabnode run` on `home`; yields (process, its ready line). SIGTERM at the end."""
    argv = [sys.executable, "-m", "node.cli", "--home", str(home), "run", "--json", *extra]
    proc = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=node_env(home)
    )
    try:
        ready = _read_ready(proc)
        yield proc, ready
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        assert proc.stdout is not None and proc.stderr is not None
        proc.stdout.close()
        proc.stderr.close()


def _read_ready(proc: subprocess.Popen[str]) -> dict[str, Any]:
    assert proc.stdout is not None
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            err = proc.stderr.read() if proc.stderr else ""
            raise AssertionError(f"node exited before ready: {err[-2000:]}")
        if line.startswith("{") and '"ready"' in line:
            ready: dict[str, Any] = json.loads(line)["ready"]
            return ready
    raise AssertionError("node not ready in time")
