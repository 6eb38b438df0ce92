"""Start real `fabnode run` processes for integration tests, and stop them cleanly."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

READY_TIMEOUT_S = 60
ROOT = Path(__file__).resolve().parents[1]


def node_env(home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["FABNODE_STATE_DIR"] = str(home) + "-state"
    env.setdefault("FABNODE_LOG_LEVEL", "INFO")  # a failing test prints the node logs
    return env


@contextmanager
def running_node(
    home: Path,
    *extra: str,
    cwd: Path | None = None,
    wrap: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
    program: Sequence[str] | None = None,
) -> Iterator[tuple[subprocess.Popen[str], dict[str, Any]]]:
    """A `fabnode run` on `home` (in folder `cwd`, if given); yields (process, its ready
    line). SIGTERM at the end.

    `wrap` prefixes the command (e.g. `ip netns exec NS`, which execs in place, so
    the process is the node itself); `env` adds environment variables; `program` is
    the `fabnode` to run (default: this checkout's, `python -m node.cli`).
    """
    fabnode = [sys.executable, "-m", "node.cli"] if program is None else list(program)
    argv = [*wrap, *fabnode, "--home", str(home), "run", "--json", *extra]
    full_env = {**node_env(home), **(env or {})}
    if cwd is not None and program is None:  # the node runs elsewhere: it must find us
        full_env["PYTHONPATH"] = os.pathsep.join([str(ROOT), full_env.get("PYTHONPATH", "")])
    # The node's log goes to a file, never to an unread pipe: a long test's warnings
    # would fill the pipe and block the node. A failing test prints its tail.
    log_path = Path(str(home) + "-node.log")
    with log_path.open("a") as log_file:
        log_file.write(f"--- fabnode run {' '.join(extra)}\n")
        log_file.flush()
        proc = subprocess.Popen(
            argv,
            stdout=subprocess.PIPE,
            stderr=log_file,
            text=True,
            env=full_env,
            cwd=cwd,
        )
    try:
        ready = _read_ready(proc)
        yield proc, ready
    except BaseException:
        print(f"--- the last of {home.name}'s node log:\n{_tail(log_path)}")
        raise
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        assert proc.stdout is not None
        proc.stdout.close()


def _tail(path: Path, limit: int = 6000) -> str:
    text = path.read_text(errors="replace") if path.exists() else ""
    return text[-limit:]


def _read_ready(proc: subprocess.Popen[str]) -> dict[str, Any]:
    assert proc.stdout is not None
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            proc.wait()
            raise AssertionError("node exited before ready (its log is printed below)")
        if line.startswith("{") and '"ready"' in line:
            ready: dict[str, Any] = json.loads(line)["ready"]
            return ready
    raise AssertionError("node not ready in time")


def raw_post(
    url: str,
    path: str,
    headers: Mapping[str, str],
    pieces: Iterable[bytes],
    *,
    declared: int | None,
    timeout_s: float = 60,
) -> tuple[int, Any]:
    """POST `pieces` to the node at `url` by hand, below any HTTP library: declared as
    a Content-Length of `declared`, else sent chunked. The node may answer and close
    before the body is sent (a refusal must come first): what is left is dropped.
    Returns (status, the JSON answer)."""
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=timeout_s)
    try:
        conn.putrequest("POST", path)
        for name, value in headers.items():
            conn.putheader(name, value)
        if declared is None:
            conn.putheader("Transfer-Encoding", "chunked")
        else:
            conn.putheader("Content-Length", str(declared))
        conn.endheaders()
        with contextlib.suppress(OSError):
            for piece in pieces:
                if piece:
                    conn.send(
                        piece if declared is not None else b"%x\r\n%s\r\n" % (len(piece), piece)
                    )
            if declared is None:
                conn.send(b"0\r\n\r\n")
        response = conn.getresponse()
        return response.status, json.loads(response.read())
    finally:
        conn.close()


def api(home: Path, method: str, path: str, body: Any = None) -> Any:
    """Call the running node of `home` through its API, as the CLI does."""
    from node.cli.client import NodeClient  # noqa: PLC0415
    from node.store.home import NodeHome  # noqa: PLC0415

    client = NodeClient.discover(NodeHome(home))
    assert client is not None, f"no node running on {home}"
    return client.call(method, path, body)


def wait_until(what: str, check: Any, timeout_s: float = 60.0, every_s: float = 0.2) -> Any:
    """Poll `check()` until it returns something truthy; fail after the deadline."""
    deadline = time.monotonic() + timeout_s
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(every_s)
    raise AssertionError(f"timed out waiting for {what}; last: {last!r}")


def log_size(home: Path, author: str) -> int:
    status = api(home, "GET", "/api/v1/status")
    sizes = [h["size"] for h in status["logs"] if h["author"] == author]
    return sizes[0] if sizes else 0
