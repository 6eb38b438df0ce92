"""A hostile sync peer against a real node process (specs/0012 §5).

Each test is one finding of the hostile-peer audit, reproduced with a raw libp2p
host that speaks the sync protocol by hand (tests/hostile.py): what it claims is
hostile, its frames are well formed. Each checks the node's resident memory (read
from /proc) against a stated bound, that its API still answers, and that it still
stops on SIGTERM.
"""

from __future__ import annotations

import collections
import hashlib
import signal
import subprocess
from pathlib import Path

import pytest
import trio

from ledger.checkpoint import sign_checkpoint
from protocol.ids import id_from_text
from protocol.keys import SigningKey
from protocol.sync import Done, Get, Head, Heads, Hello, Range
from protocol.sync_limits import MAX_INFLIGHT_REQUESTS, MAX_RANGE_REQUEST
from tests.cli_helpers import fabnode
from tests.hostile import hostile_session, rss_bytes
from tests.node_process import api, running_node

pytestmark = pytest.mark.integration

#: What a node may grow by while it handles a hostile session (the audit saw GBs).
RSS_GROWTH_BOUND = 64 << 20
#: A stopped node exits within this (the audit saw SIGTERM ignored for good).
STOP_TIMEOUT_S = 20
HUGE = 2**63


def claimed_head(network: bytes, name: str, size: int = HUGE) -> Head:
    """A head of a log nobody holds, its checkpoint signed by a key nobody knows."""
    key = SigningKey(hashlib.sha256(b"bomb/" + name.encode()).digest())
    author = hashlib.sha256(b"author/" + name.encode()).digest()
    note = sign_checkpoint(key, network, author, size, bytes(32)).text
    return Head(author, size, note)


def stop(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=STOP_TIMEOUT_S)


async def test_a_head_claiming_2_63_entries_is_planned_one_range_at_a_time(
    tmp_path: Path,
) -> None:
    """Finding 1, the plan bomb: a heads frame of logs of 2^63 entries by authors the
    node does not hold. The node asks for one chunk at a time and drops a log whose
    answer falls short, so its memory stays flat and it sends `done`."""
    home = tmp_path / "lab"
    assert fabnode("init", home=home)[0] == 0
    with running_node(home) as (proc, ready):
        status = await trio.to_thread.run_sync(api, home, "GET", "/api/v1/status")
        network = id_from_text(status["network"]["id"])
        idle = rss_bytes(proc.pid)
        heads = sorted((claimed_head(network, str(i)) for i in range(2048)), key=lambda h: h.author)
        mismatched = claimed_head(network, "mismatch", size=5)
        async with hostile_session(ready["listen"][0], network) as session:
            await session.wait_for(Hello)
            while (await session.wait_for(Heads)).more:
                pass
            await session.send(Heads(tuple(heads), more=True))
            await session.send(Heads((Head(b"\xff" * 32, 9, mismatched.checkpoint),), more=False))
            await session.send(Done())
            gets: list[Get] = []
            while not isinstance(event := await session.next_event(), Done):
                assert isinstance(event, Get), event
                gets.append(event)
                empty = Range(event.id, event.author, event.from_seq, (), b"", (), ())
                await session.send(empty)
            assert rss_bytes(proc.pid) < idle + RSS_GROWTH_BOUND
        per_log = collections.Counter(g.author for g in gets)
        assert set(per_log) == {h.author for h in heads}  # the mismatched head was refused
        assert max(per_log.values()) <= MAX_INFLIGHT_REQUESTS  # then the log was dropped
        assert all(g.to_seq - g.from_seq <= MAX_RANGE_REQUEST for g in gets)
        status = await trio.to_thread.run_sync(api, home, "GET", "/api/v1/status")
        assert status["logs"] == []
        assert status["sync"]["refused"][session.peer_id] == {"remote.bad-head": 1}
        stop(proc)
