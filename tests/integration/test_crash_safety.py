"""SqliteLogStore keeps every acknowledged commit when its process is SIGKILLed.

A child (tests/crash_appender.py) appends batches to one log and prints each
committed size. We kill it at random moments, then reopen the database and check
that it is sound, holds at least every size the child reported, verifies entry by
entry, and takes the next append. (SIGKILL tests process crashes: the OS still
flushes its page cache. Power loss is covered by synchronous=FULL, not here.)
"""

from __future__ import annotations

import hashlib
import random
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from ledger.store import encode_head
from node.store.logs import SqliteLogStore
from protocol.entry import decode_entry
from protocol.logstate import LogHead, verify_next
from tests.crash_appender import MAX_BATCH, Appender
from tests.paths import ROOT

pytestmark = pytest.mark.integration

ROUNDS = 25
SEED = 20_240_601


@dataclass
class Checked:
    """The prefix of the log already verified entry by entry in an earlier round."""

    head: LogHead
    leaves: list[bytes] = field(default_factory=list)


def run_and_kill(db: Path, delay_s: float, seed: int) -> list[int]:
    """Start the appender, let it run `delay_s` after its first commit, SIGKILL it."""
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.crash_appender", str(db), str(seed)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        first = child.stdout.readline()  # readiness: the first durable commit
        time.sleep(delay_s)  # not a wait for readiness: the random moment of the crash
        child.send_signal(signal.SIGKILL)
        rest, errors = child.communicate()
    finally:
        child.kill()
        child.wait()
    assert first.endswith("\n"), f"appender failed to start: {errors}"
    assert child.returncode == -signal.SIGKILL
    lines = (first + rest).split("\n")[:-1]  # a line cut by the kill has no newline
    return [int(line) for line in lines]


def stored_state(db: Path) -> bytes:
    conn = sqlite3.connect(db)
    try:
        rows = conn.execute("SELECT state FROM logs").fetchall()
    finally:
        conn.close()
    assert len(rows) == 1
    return bytes(rows[0][0])


def empty(appender: Appender) -> Checked:
    return Checked(LogHead(appender.head.network, appender.head.author))


def check_log(store: SqliteLogStore, db: Path, checked: Checked) -> Checked:
    """Verify the stored log: the known prefix unchanged, every newer entry folded."""
    network, author = checked.head.network, checked.head.author
    raws = store.read_entries(network, author, 1, 2**62)
    leaves = [hashlib.sha256(b"\x00" + raw).digest() for raw in raws]  # RFC 6962, literally
    assert leaves[: len(checked.leaves)] == checked.leaves
    assert store.leaf_hashes(network, author) == leaves
    head = checked.head
    for raw in raws[head.size :]:
        head = verify_next(head, decode_entry(raw))
    assert store.heads() == [head]
    assert stored_state(db) == encode_head(head)
    return Checked(head, leaves)


def test_every_acknowledged_commit_survives_sigkill(tmp_path: Path) -> None:
    db = tmp_path / "crash.db"
    rng = random.Random(SEED)
    checked: Checked | None = None  # each entry is decoded and verified once, when new
    for round_ in range(ROUNDS):
        reported = run_and_kill(db, rng.uniform(0.02, 0.3), seed=round_)
        assert reported == sorted(reported)
        with SqliteLogStore(db) as store:
            assert store.integrity_check() == ["ok"]
            appender = Appender.resume(store)
            checked = check_log(store, db, checked or empty(appender))
            assert reported[-1] <= checked.head.size
            count = rng.randint(1, MAX_BATCH)
            assert appender.append(store, count) == checked.head.size + count
