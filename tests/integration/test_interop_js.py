"""Gossip between py-libp2p and js-libp2p, through a js peer we did not write.

Topology A — J — B: two Python peers (A, B) that are not connected to each other, and a
js-libp2p peer J (tests/interop/peer.mjs, pinned by tests/interop/package-lock.json) between
them; J dials B, A dials J, so both ends of the noise handshake run in both languages.
A's message reaches J byte for byte and J's gossipsub relays it to B; J's message reaches A
and B. The message id is SHA-256 of the data on every side (docs/architecture.md §4).

Needs `node` and `npm ci` run in tests/interop; skipped, saying so, when either is missing.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import IO, Any

import pytest
import trio

from node.net.network import announce_topic
from protocol.announce import encode_announcement
from protocol.ids import id_from_text
from tests.cli_helpers import fabnode
from tests.interop.pyhost import PyPeer, Received, open_py_peer, wait_until
from tests.node_process import api, log_size, running_node
from tests.paths import ROOT

INTEROP_DIR = ROOT / "tests" / "interop"
NODE = shutil.which("node")
TOPIC = "fabcommons/interop-test/1"
DEADLINE_S = 20.0
QUIT_DEADLINE_S = 10.0

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(NODE is None, reason="node (Node.js >= 20) is not on PATH"),
    pytest.mark.skipif(
        not (INTEROP_DIR / "node_modules").is_dir(),
        reason="js peer not installed: run `npm ci` in tests/interop",
    ),
]

Event = dict[str, Any]


class JsPeer:
    """Drives peer.mjs: JSON commands on its stdin, JSON events (one a line) from its stdout.

    Its stdout is read only while a test waits for an event; every event read is kept, so a
    wait also sees events that arrived during an earlier one.
    """

    def __init__(self, process: trio.Process, stderr: IO[bytes]) -> None:
        self._process = process
        self._stderr = stderr
        self._pending = b""
        self._eof = False
        self.events: list[Event] = []
        self.peer_id = ""
        self.addrs: list[str] = []

    async def _read_some(self) -> None:
        assert self._process.stdout is not None
        chunk = await self._process.stdout.receive_some()
        if not chunk:
            self._eof = True
            return
        *lines, self._pending = (self._pending + chunk).split(b"\n")
        self.events += [json.loads(line) for line in lines if line.strip()]

    def report(self) -> str:
        self._stderr.seek(0)
        stderr = self._stderr.read().decode(errors="replace")[-4000:]
        lines = "\n".join(json.dumps(e) for e in self.events[-40:])
        return f"js peer events:\n{lines}\njs peer stderr:\n{stderr}"

    async def wait_event(self, match: Callable[[Event], bool], what: str) -> Event:
        """The first event so far (or to come) that `match`es; fails after DEADLINE_S."""
        with trio.move_on_after(DEADLINE_S):
            while True:
                for event in self.events:
                    if match(event):
                        return event
                if self._eof:
                    break
                await self._read_some()
        why = "it closed its stdout first" if self._eof else f"not within {DEADLINE_S} s"
        pytest.fail(f"js peer: no {what}: {why}\n{self.report()}")

    async def send(self, command: Event) -> None:
        assert self._process.stdin is not None
        await self._process.stdin.send_all(json.dumps(command).encode() + b"\n")

    async def quit(self) -> int:
        """Ask it to quit (command, then stdin EOF), read its last events, reap it; kill it if
        that takes over QUIT_DEADLINE_S. Returns its exit code."""
        with trio.move_on_after(QUIT_DEADLINE_S):
            try:
                await self.send({"cmd": "quit"})
                assert self._process.stdin is not None
                await self._process.stdin.aclose()
            except trio.BrokenResourceError:
                pass  # already gone: its exit code and stderr tell why
            while not self._eof:
                await self._read_some()
            return await self._process.wait()
        self._process.kill()
        return await self._process.wait()

    async def close_pipes(self) -> None:
        for stream in (self._process.stdin, self._process.stdout):
            if stream is not None:
                await stream.aclose()


@asynccontextmanager
async def open_js_peer(topic: str, dial: list[str]) -> AsyncIterator[JsPeer]:
    """Start peer.mjs on `topic`, dialling `dial`; yield it once it is listening."""
    assert NODE is not None
    command = [NODE, "--import", "./polyfill.mjs", "peer.mjs", "--topic", topic]
    for addr in dial:
        command += ["--dial", addr]
    with tempfile.TemporaryFile() as stderr:
        process = await trio.lowlevel.open_process(
            command, cwd=INTEROP_DIR, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr
        )
        peer = JsPeer(process, stderr)
        try:
            ready = await peer.wait_event(lambda e: e["event"] == "ready", "ready event")
            peer.peer_id, peer.addrs = ready["peer_id"], ready["addrs"]
            yield peer
        finally:
            with trio.CancelScope(shield=True):
                returncode = await peer.quit()
                await peer.close_pipes()
        assert returncode == 0, f"js peer exited with {returncode}\n{peer.report()}"
        assert peer.events[-1] == {"event": "stopped"}, peer.report()


async def receive(peer: PyPeer, what: str) -> Received:
    try:
        with trio.fail_after(DEADLINE_S):
            return await peer.receive()
    except trio.TooSlowError:
        pytest.fail(f"{what}: nothing received within {DEADLINE_S} s")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


async def test_gossip_flows_both_ways_and_js_relays_between_py_peers() -> None:
    async with (
        open_py_peer(TOPIC) as a,
        open_py_peer(TOPIC) as b,
        open_js_peer(TOPIC, dial=[b.addrs[0]]) as j,
    ):
        await j.wait_event(
            lambda e: e["event"] == "dialed" and e["peer_id"] == b.peer_id, "dial of B"
        )
        with trio.fail_after(DEADLINE_S):
            await a.connect(next(addr for addr in j.addrs if "/tcp/" in addr))

        # The mesh forms as subscriptions arrive (or at the latest on the next 1 s heartbeat);
        # A and B know each other only through J.
        await j.wait_event(
            lambda e: e["event"] == "mesh" and {a.peer_id, b.peer_id} <= set(e["peers"]),
            "mesh with A and B",
        )
        await wait_until(lambda: j.peer_id in a.mesh_peers(), "J in A's mesh", DEADLINE_S)
        await wait_until(lambda: j.peer_id in b.mesh_peers(), "J in B's mesh", DEADLINE_S)
        assert b.peer_id not in a.connected_peers()
        assert a.peer_id not in b.connected_peers()

        # py -> js, relayed by js -> py.
        data = b"fab commons interop A->J->B \x00\xff" + os.urandom(16)
        await a.publish(data)
        at_j = await j.wait_event(
            lambda e: e["event"] == "message" and e["data_hex"] == data.hex(), "A's message"
        )
        assert at_j["from"] == a.peer_id
        assert at_j["propagation_source"] == a.peer_id
        assert at_j["msg_id_hex"] == sha256_hex(data)
        assert await receive(b, "B, relayed from A") == Received(from_peer=a.peer_id, data=data)
        assert a.has_seen(hashlib.sha256(data).digest())
        assert b.has_seen(hashlib.sha256(data).digest())

        # js -> both py peers.
        data = b"fab commons interop J->A,B \x00\xff" + os.urandom(16)
        await j.send({"cmd": "publish", "data_hex": data.hex()})
        published = await j.wait_event(lambda e: e["event"] == "published", "publish result")
        assert published["msg_id_hex"] == sha256_hex(data)
        assert set(published["recipients"]) == {a.peer_id, b.peer_id}
        for name, peer in (("A", a), ("B", b)):
            assert await receive(peer, f"{name}, from J") == Received(j.peer_id, data)
            assert peer.has_seen(hashlib.sha256(data).digest())

        errors = [e for e in j.events if e["event"] == "error"]
        assert errors == [], j.report()


async def test_js_peer_relays_our_nodes_announcements_byte_for_byte(tmp_path: Path) -> None:
    """Two real `fabnode run` nodes joined only through the js peer: A's announcement
    reaches J exactly as A encoded it, and B accepts it from J and stores the entries."""
    homes = [tmp_path / "a", tmp_path / "b"]
    for home in homes:
        assert fabnode("init", home=home)[0] == 0
    with running_node(homes[0]) as (_, ready_a), running_node(homes[1]) as (_, ready_b):
        status = await trio.to_thread.run_sync(api, homes[0], "GET", "/api/v1/status")
        network = id_from_text(status["network"]["id"])
        topic = announce_topic(network)
        dial = [ready_a["listen"][0], ready_b["listen"][0]]
        async with open_js_peer(topic, dial=dial) as j:
            for node in (ready_a, ready_b):
                await j.wait_event(in_mesh(node["peer_id"]), f"{node['peer_id']} in J's mesh")
            note = {"text": "interop: a clamp for 20 mm tube"}
            posted = await trio.to_thread.run_sync(api, homes[0], "POST", "/api/v1/notes", note)
            seen = await j.wait_event(lambda e: e["event"] == "message", "A's announcement")
            expected = await trio.to_thread.run_sync(_announcement_of, homes[0], network)
            assert bytes.fromhex(seen["data_hex"]) == expected
            assert seen["from"] == ready_a["peer_id"]
            author = posted["author"]
            with trio.fail_after(DEADLINE_S):
                while await trio.to_thread.run_sync(log_size, homes[1], author) < 2:
                    await trio.sleep(0.1)
            peers_b = (await trio.to_thread.run_sync(api, homes[1], "GET", "/api/v1/status"))[
                "peers"
            ]
            assert ready_a["peer_id"] not in peers_b  # B got it through J, not from A


def in_mesh(peer_id: str) -> Callable[[Event], bool]:
    def match(event: Event) -> bool:
        return event["event"] == "mesh" and peer_id in event["peers"]

    return match


def _announcement_of(home: Path, network: bytes) -> bytes:
    """What A must have published for its first note: inception + note + checkpoint."""
    entries = api(home, "GET", "/api/v1/ledger/entries")["entries"]
    bundles = [api(home, "GET", f"/api/v1/ledger/proofs/{e['id']}") for e in entries]
    raws = [bytes.fromhex(b["entry_hex"]) for b in bundles]
    return encode_announcement(network, raws, [bundles[-1]["checkpoint"].encode()])
