"""Hypercore catching up the same number of entries over TCP: the reference of our
catch-up rate, taken in the same run (issue 20: "at least 5x Hypercore").

bench/hypercore/catchup.mjs (Hypercore pinned by bench/hypercore/package-lock.json,
installed by `make bench`: `npm ci` in that folder) runs two Node.js processes, as
bench.network's catch-up runs two nodes: a server holding N blocks in a Hypercore on
disk (RocksDB, as our nodes hold theirs in SQLite files) and a client with an empty
core on disk that connects over a TCP loopback socket and downloads them all; the
client's clock runs from before it connects to the last block verified and stored.
Each block is as long as one of our catch-up entries encoded (`entry_bytes`), so
both move the same bytes of payload. What differs, and stays in the figures: our
entries each carry an Ed25519 signature and are checked against a signed checkpoint
(specs/0003 §4.2), while Hypercore signs its tree once per append batch; our SQLite
commits are synchronous=FULL, RocksDB does not fsync each write.
`measure(n)` returns the script's figures; `python -m bench.hypercore_catchup [N]`
prints them as one JSON line. Figures only; nothing here asserts on time.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from protocol import kinds
from protocol.entry import sign_entry
from protocol.identity import development_network, identity_id
from protocol.keys import SigningKey

FOLDER = Path(__file__).resolve().parent / "hypercore"
SCRIPT = FOLDER / "catchup.mjs"
SAMPLE = 200
TIMEOUT_S = 600.0


def missing() -> str | None:
    """Why the Hypercore reference cannot run here (no Node.js, not installed), or None."""
    if shutil.which("node") is None:
        return "node (Node.js >= 20) is not on PATH"
    if not (FOLDER / "node_modules" / "hypercore" / "package.json").is_file():
        return "hypercore not installed: run `npm ci` in bench/hypercore (make bench does)"
    return None


def catch_up_text(i: int) -> str:
    """The text of the i-th note bench.network's catch-up signs."""
    return f"catch-up entry {i}"


def entry_bytes(n: int) -> int:
    """The mean encoded size, rounded, of the notes a catch-up of n entries moves:
    SAMPLE of them spread over 1..n, each signed at its own seq (the inception is
    seq 1, note i is seq i + 2) with a clock of today's magnitude."""
    signing = SigningKey(hashlib.sha256(b"bench/hypercore/signing").digest())
    recovery = SigningKey(hashlib.sha256(b"bench/hypercore/recovery").digest())
    author = identity_id(signing.public, recovery.public)
    prev, sizes = hashlib.sha256(b"bench/hypercore/prev").digest(), []
    for i in sorted({k * n // SAMPLE for k in range(SAMPLE)}):
        entry = sign_entry(
            signing,
            network=development_network("bench"),
            author=author,
            seq=i + 2,
            prev=prev,
            timestamp_ms=1_800_000_000_000 + i,
            kind=kinds.NOTE,
            body={"text": catch_up_text(i)},
        )
        prev = entry.id
        sizes.append(len(entry.raw))
    return round(statistics.fmean(sizes))


def measure(n: int, block_bytes: int | None = None, timeout_s: float = TIMEOUT_S) -> dict[str, Any]:
    """Hypercore's catch-up of n blocks of `block_bytes` (default: `entry_bytes(n)`):
    entries_per_s, bytes, seconds and the rest of catchup.mjs's line. Raises
    RuntimeError when it cannot run or fails; its processes end with it."""
    reason = missing()
    if reason is not None:
        raise RuntimeError(reason)
    size = entry_bytes(n) if block_bytes is None else block_bytes
    with tempfile.TemporaryDirectory(prefix="fabbench-hypercore-") as tmp:
        command = ["node", str(SCRIPT), "--blocks", str(n), "--block-bytes", str(size)]
        # its own process group, so a timeout stops the server and client it started too
        proc = subprocess.Popen(
            [*command, "--dir", tmp],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        try:
            out, err = proc.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired as e:
            raise RuntimeError(
                f"Hypercore's catch-up of {n:,} blocks took over {timeout_s:.0f} s"
            ) from e
        finally:  # a timeout, or this process stopped (SIGTERM, Ctrl-C): stop them too
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.communicate()
    lines = out.strip().splitlines()
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"catchup.mjs failed ({proc.returncode}): {err.strip()[-300:]}")
    figures: dict[str, Any] = json.loads(lines[-1])
    return figures


def main() -> None:
    """python -m bench.hypercore_catchup [N]  (default 100,000 blocks)"""
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    print(json.dumps(measure(n), sort_keys=True))


if __name__ == "__main__":
    main()
