"""A hostile sync peer against a real node process (specs/0012 §5).

Each test is one finding of the hostile-peer audit, reproduced with a raw libp2p
host that speaks the sync protocol by hand (tests/hostile.py): what it claims is
hostile, its frames are well formed. Each checks the node's resident memory (read
from /proc) against a stated bound, that its API still answers, and that it still
stops on SIGTERM.
"""

from __future__ import annotations

import collections
import contextlib
import hashlib
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import trio

from ledger.checkpoint import sign_checkpoint
from node.net.network import MAX_SESSIONS_PER_PEER
from node.ops.context import append_own, open_local
from node.store.home import NodeHome
from protocol import kinds
from protocol.errors import CommonsError
from protocol.ids import id_from_text
from protocol.keys import SigningKey
from protocol.sync import Done, Get, Head, Heads, Hello, Range
from protocol.sync_limits import MAX_INFLIGHT_REQUESTS, MAX_RANGE_REQUEST
from tests.cli_helpers import fabnode
from tests.hostile import (
    TIMEOUT_S,
    hostile_host,
    hostile_session,
    open_session,
    rss_bytes,
)
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


async def wait_status(home: Path, check: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    with trio.fail_after(60):
        while True:
            status: dict[str, Any] = await trio.to_thread.run_sync(
                api, home, "GET", "/api/v1/status"
            )
            if check(status):
                return status
            await trio.sleep(0.1)


async def test_half_sent_frames_are_bounded_and_their_sender_is_banned(tmp_path: Path) -> None:
    """Finding 2: streams that each hold a frame open. Before its hello a peer may
    send at most 256 KiB a frame; a peer holds at most 2 sessions (more are reset and
    charged); the charges ban it, and the ban holds when it connects again."""
    home = tmp_path / "lab"
    assert fabnode("init", home=home)[0] == 0
    with running_node(home) as (proc, ready):
        status = await trio.to_thread.run_sync(api, home, "GET", "/api/v1/status")
        network = id_from_text(status["network"]["id"])
        idle = rss_bytes(proc.pid)
        seed = hashlib.sha256(b"a banned host").digest()
        async with hostile_host(seed=seed) as host:
            node = await host.connect(ready["listen"][0])
            held = [await open_session(host, node, network) for _ in range(MAX_SESSIONS_PER_PEER)]
            for session in held:  # a valid hello, then most of a 5 MiB frame
                await session.send(Hello(network))
                await session.stream.write((5 << 20).to_bytes(4, "big") + bytes(4 << 20), TIMEOUT_S)
            for _ in range(12):  # over the cap: reset unread, each one charged
                with contextlib.suppress(CommonsError):  # once banned, no stream opens
                    extra = await open_session(host, node, network)
                    await extra.stream.write(b"\xff" * 1024, TIMEOUT_S)
            status = await wait_status(home, lambda s: host.peer_id in s["banned_peers"])
            assert rss_bytes(proc.pid) < idle + RSS_GROWTH_BOUND
        refused = status["sync"]["refused"][host.peer_id]
        assert refused["remote.too-many-sessions"] >= 8
        async with hostile_host("other") as other:
            node = await other.connect(ready["listen"][0])
            session = await open_session(other, node, network)
            await session.stream.write((300 << 10).to_bytes(4, "big") + bytes(1024), TIMEOUT_S)
            await wait_status(
                home, lambda s: "remote.bad-frame" in s["sync"]["refused"].get(other.peer_id, {})
            )
        async with hostile_host(seed=seed) as again:  # the banned identity, connected anew
            node = await again.connect(ready["listen"][0])
            with pytest.raises(CommonsError):  # no stream, or reset at once: the ban holds
                session = await open_session(again, node, network)
                await session.send(Hello(network))
                await session.next_event()
        assert (await trio.to_thread.run_sync(api, home, "GET", "/api/v1/status"))["logs"] == []
        stop(proc)


def fill_log(home: Path, count: int, text_bytes: int) -> None:
    """`count` notes of `text_bytes` each in the home's own log, written offline."""
    with open_local(NodeHome(home)) as ctx:
        for start in range(0, count, 500):
            notes = [
                (kinds.NOTE, {"text": f"{i:08d}" + "x" * (text_bytes - 8)})
                for i in range(start, min(count, start + 500))
            ]
            append_own(ctx, notes)


async def test_range_answers_are_built_one_frame_at_a_time(tmp_path: Path) -> None:
    """Finding 3: sessions each ask for 4 x 10,000 entries of a 40 MB log at once:
    the node builds about a frame per session at a time, never the answers whole
    (its peak resident set, VmHWM, stays within the bound)."""
    home = tmp_path / "lab"
    assert fabnode("init", home=home)[0] == 0
    await trio.to_thread.run_sync(fill_log, home, 40_000, 1_000)
    with running_node(home) as (proc, ready):
        status = await trio.to_thread.run_sync(api, home, "GET", "/api/v1/status")
        network = id_from_text(status["network"]["id"])
        author = id_from_text(status["identity"])
        idle = rss_bytes(proc.pid)
        async with hostile_host() as host:
            node = await host.connect(ready["listen"][0])
            sessions = []
            for _ in range(MAX_SESSIONS_PER_PEER):
                session = await open_session(host, node, network)
                sessions.append(session)
                await session.send(Hello(network))
                await session.wait_for(Hello)
                while (await session.wait_for(Heads)).more:
                    pass
                await session.send(Heads((), more=False))
                gets = [Get(i, author, 1 + i * 10_000, 10_001 + i * 10_000) for i in range(4)]
                await session.send(*gets)  # 40 MB asked of each session at once
            for session in sessions:  # every answer arrives, whole and in order
                for get in gets:
                    while (frame := await session.wait_for(Range)).more:
                        assert frame.id == get.id
                    assert frame.id == get.id
            assert rss_bytes(proc.pid, "VmHWM") < idle + RSS_GROWTH_BOUND
        status = await trio.to_thread.run_sync(api, home, "GET", "/api/v1/status")
        assert status["logs"][0]["size"] == 40_001
        stop(proc)
