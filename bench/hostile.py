"""The node under attack (issue 17; specs/0012 §5): its memory and API latency while a
hostile peer works on it, beside the same figures idle.

One `fabnode run` node, its fresh home (a temporary folder) holding ENTRIES notes of
~1 kB. Idle, for a fixed time: VmRSS and VmHWM (/proc), the latency of `GET
/api/v1/status` and of signing a note (`POST /api/v1/notes`), median and p95. The
same while each attack runs for that time from a raw libp2p host in this process
(tests/hostile.py; the peak reset at its start), with whether the attacker ended
banned; and idle again at the end (how noisy the machine is). The attacks: a plan
bomb (2,048 heads of 2^63 entries, every get answered empty); half-sent 5 MiB frames
on as many streams as open; 4 x 10,000 entries asked per session, never read; hellos
with a kinds filter, session after session; announcements of entries beyond the head
of an unknown author, as fast as gossip takes them. The API is timed from a child
process (the attacker's work does not delay its clock). Ratios to idle of the same
run (the machine is shared); nothing is asserted.
Run: python -m bench.hostile [--quick]; the last line printed is every figure as JSON.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import hashlib
import http.client
import itertools
import json
import logging
import multiprocessing
import os
import signal
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from multiprocessing.pool import Pool
from pathlib import Path
from typing import Any, TypeVar
from unittest.mock import patch
from urllib.parse import urlsplit

import trio

from bench.network import Fleet, NodeProc, _finite, call, memory_mib
from bench.stats import percentile
from ledger.checkpoint import sign_checkpoint
from node.net.host import GossipConfig, HostConfig, P2PHost, Verdict, open_host
from node.net.network import MAX_SESSIONS_PER_PEER, announce_topic
from node.ops.context import append_own, open_local
from node.store.home import NodeHome
from protocol import kinds
from protocol.announce import encode_announcement
from protocol.design import DESIGN
from protocol.entry import sign_entry
from protocol.errors import CommonsError, RemoteFaultError
from protocol.identity import identity_id
from protocol.ids import id_from_text
from protocol.keys import SigningKey
from protocol.sync import Closed, Event, RemoteError
from protocol.sync_limits import MAX_RANGE_REQUEST
from protocol.sync_messages import Done, Get, Head, Heads, Hello, Range, SyncFilter
from tests.hostile import HostileSession, open_session

ENTRIES = 20_000
TEXT_BYTES = 1_000
BOMB_LOGS = 2_048
HUGE = 2**63
RANGE_STARTS = (1, 3_334, 6_667, 10_000)  # 4 x 10,000 entries, all within ENTRIES
HELD_STREAMS = 64  # half-sent frames: streams tried, one every HOLD_EVERY_S
HOLD_EVERY_S = 0.05
GOSSIP = GossipConfig(publish_per_topic_per_second=190)  # under the node's 200/s limit
GAP_S = 0.02  # between two API request pairs
RETRY_S = 0.2  # after a refused session
SETTLE_S = 2.0  # after an attack, before the next
HTTP_TIMEOUT_S = 30.0
E = TypeVar("E")


@dataclass
class Target:
    """The node as an attacker sees it, and what the attacker managed."""

    host: P2PHost
    peer: str
    network: bytes
    author: bytes
    counts: Counter[str] = field(default_factory=Counter)


Attack = Callable[..., Awaitable[None]]  # (target, task_status=...)


async def event_of(session: HostileSession) -> Event:
    """The node's next message; its error or its close ends the session."""
    event = await session.next_event()
    if isinstance(event, RemoteError | Closed):
        code = event.code if isinstance(event, RemoteError) else "remote.closed-early"
        raise RemoteFaultError(code, "the node ended the session")
    return event


async def wait_for(session: HostileSession, kind: type[E]) -> E:
    """The node's next message of type `kind`, skipping others."""
    while not isinstance(event := await event_of(session), kind):
        pass
    return event


async def greet(t: Target, hello: Hello) -> HostileSession:
    """A new session, hellos exchanged and the node's heads read."""
    session = await open_session(t.host, t.peer, t.network)
    await session.send(hello)
    await wait_for(session, Hello)
    while (await wait_for(session, Heads)).more:
        pass
    return session


def repeated(work: Callable[[Target], Awaitable[None]]) -> Attack:
    """An attack running `work` again and again, in as many sessions at once as a peer
    may hold; a refusal is counted by its code."""

    async def loop(t: Target) -> None:
        while True:
            try:
                await work(t)
                t.counts["sessions"] += 1
            except CommonsError as e:
                t.counts[e.code] += 1
                await trio.sleep(RETRY_S)

    async def attack(t: Target, task_status: trio.TaskStatus[None]) -> None:
        task_status.started()
        async with trio.open_nursery() as nursery:
            for _ in range(MAX_SESSIONS_PER_PEER):
                nursery.start_soon(loop, t)

    return attack


# -- the attacks ---------------------------------------------------------------------


@functools.cache
def bomb_heads(network: bytes) -> tuple[Head, ...]:
    """Heads of 2^63 entries by unknown authors, each checkpoint signed by its own key."""
    heads = []
    for i in range(BOMB_LOGS):
        key = SigningKey(hashlib.sha256(b"bomb/%d" % i).digest())
        author = hashlib.sha256(b"author/%d" % i).digest()
        note = sign_checkpoint(key, network, author, HUGE, bytes(32)).text
        heads.append(Head(author, HUGE, note))
    return tuple(sorted(heads, key=lambda h: h.author))


async def plan_bomb(t: Target) -> None:
    session = await greet(t, Hello(t.network))
    await session.send(Heads(bomb_heads(t.network), more=False), Done())
    while not isinstance(event := await event_of(session), Done):
        if isinstance(event, Get):
            await session.send(Range(event.id, event.author, event.from_seq, (), b"", (), ()))
            t.counts["gets answered empty"] += 1
    await session.stream.close()


async def range_flood(t: Target) -> None:
    session = await greet(t, Hello(t.network))
    await session.send(Heads((), more=False))
    span = MAX_RANGE_REQUEST
    await session.send(*(Get(i, t.author, s, s + span) for i, s in enumerate(RANGE_STARTS)))
    t.counts["entries asked"] += span * len(RANGE_STARTS)
    await trio.sleep_forever()  # and never read a byte of the answers


async def kinds_hello(t: Target) -> None:
    session = await greet(t, Hello(t.network, SyncFilter(kinds=(DESIGN,))))  # none held
    await session.send(Heads((), more=False), Done())
    await wait_for(session, Done)
    await session.stream.close()


async def half_frames(t: Target, task_status: trio.TaskStatus[None]) -> None:
    frame = (5 << 20).to_bytes(4, "big") + bytes(4 << 20)

    async def hold(t: Target) -> None:
        try:
            session = await open_session(t.host, t.peer, t.network)
            await session.send(Hello(t.network))
            await session.stream.write(frame, HTTP_TIMEOUT_S)
            t.counts["half frames sent"] += 1
        except CommonsError as e:
            t.counts[e.code] += 1
            return
        await trio.sleep_forever()

    task_status.started()
    async with trio.open_nursery() as nursery:
        for _ in range(HELD_STREAMS):
            nursery.start_soon(hold, t)
            await trio.sleep(HOLD_EVERY_S)


async def gossip_flood(t: Target, task_status: trio.TaskStatus[None]) -> None:
    """Announcements of one note each at seq 2, 3, ... of an author the node never saw."""
    topic = announce_topic(t.network)
    await t.host.subscribe(topic, lambda _peer, _data: Verdict.ACCEPT)
    with trio.move_on_after(30):  # a mesh with the node first (not timed)
        while not t.host.statistics().topics.get(topic, (0, 0))[1]:
            await trio.sleep(0.05)
    signing, recovery = SigningKey(os.urandom(32)), SigningKey(os.urandom(32))
    author = identity_id(signing.public, recovery.public)
    task_status.started()
    for seq in itertools.count(2):
        entry = sign_entry(
            signing,
            network=t.network,
            author=author,
            seq=seq,
            prev=hashlib.sha256(b"%d" % seq).digest(),
            timestamp_ms=1_700_000_000_000 + seq,
            kind=kinds.NOTE,
            body={"text": f"beyond your head {seq}"},
        )
        await t.host.publish(topic, encode_announcement(t.network, [entry.raw]))
        t.counts["announcements published"] += 1


ATTACKS: dict[str, tuple[str, Attack]] = {
    "plan_bomb": ("plan bomb: 2,048 heads of 2^63 entries", repeated(plan_bomb)),
    "half_frames": ("half-sent 5 MiB frames", half_frames),
    "range_flood": ("range answers asked, never read", repeated(range_flood)),
    "kinds_hellos": ("hellos with a kinds filter", repeated(kinds_hello)),
    "gossip_flood": ("unverifiable gossip", gossip_flood),
}


# -- the node and its figures ------------------------------------------------------------


def fill_log(home: Path, state_dir: Path, count: int) -> None:
    """`count` notes of TEXT_BYTES in the home's own log, written offline (its sign
    guard's mark where the node will look for it)."""
    with patch.dict(os.environ, {"FABNODE_STATE_DIR": str(state_dir)}):
        NodeHome(home).create_identity()
        with open_local(NodeHome(home)) as ctx:
            for start in range(0, count, 500):
                texts = (f"{i:08d}" + "x" * (TEXT_BYTES - 8) for i in range(start, start + 500))
                append_own(ctx, [(kinds.NOTE, {"text": text}) for text in texts])


def reset_peak(pid: int) -> bool:
    """Set the process's VmHWM back to its VmRSS (Linux >= 4.0); False if refused."""
    with contextlib.suppress(OSError):
        return Path(f"/proc/{pid}/clear_refs").write_text("5") == 1
    return False


def cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def request(conn: http.client.HTTPConnection, token: str, path: str, body: Any) -> Any:
    data = None if body is None else json.dumps(body).encode()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    conn.request("GET" if body is None else "POST", path, body=data, headers=headers)
    response = conn.getresponse()
    raw = response.read()
    if response.status >= 300:
        raise OSError(f"{path}: HTTP {response.status}")
    return json.loads(raw)


def sample_api(url: str, token: str, seconds: float, watch: str) -> dict[str, Any]:
    """Status, then a note, GAP_S apart, for `seconds`: latencies (ms), and when
    `watch` was first seen banned. Runs in a child process."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, HTTP_TIMEOUT_S)
    times: dict[str, list[float]] = {"status": [], "note": []}
    errors, banned_after, began = 0, None, time.monotonic()
    while time.monotonic() - began < seconds:
        for what, path, body in (
            ("status", "/api/v1/status", None),
            ("note", "/api/v1/notes", {"text": f"bench.hostile {len(times['note'])}"}),
        ):
            sent = time.monotonic()
            try:
                answer = request(conn, token, path, body)
            except (OSError, http.client.HTTPException, ValueError):
                errors += 1
                conn.close()  # the next request reconnects
                continue
            times[what].append((time.monotonic() - sent) * 1000)
            if what == "status" and banned_after is None and watch in answer["banned_peers"]:
                banned_after = sent - began
        time.sleep(GAP_S)
    conn.close()
    out = {
        k: {"p50": percentile(v, 50), "p95": percentile(v, 95), "n": len(v)}
        for k, v in times.items()
    }
    return {**out, "errors": errors, "banned_after_s": banned_after}


@dataclass
class Bench:
    node: NodeProc
    pool: Pool
    network: bytes
    author: bytes

    def sample(self, seconds: float, watch: str = "") -> dict[str, Any]:
        """API latencies and the node's memory and CPU while they were taken."""
        pid = self.node.proc.pid
        peak_reset, cpu = reset_peak(pid), cpu_s(pid)
        args = (self.node.ready["api"], self.node.token, seconds, watch)
        began = time.monotonic()
        figures: dict[str, Any] = self.pool.apply(sample_api, args)
        figures["node_cores"] = (cpu_s(pid) - cpu) / (time.monotonic() - began)
        figures |= {"rss_mib": memory_mib(pid), "peak_mib": memory_mib(pid, "VmHWM")}
        return {**figures, "peak_reset": peak_reset}

    async def attack(self, attack: Attack, seconds: float) -> dict[str, Any]:
        """One attack's figures; a SIGTERM meanwhile ends it and the run, cleanly."""
        figures: dict[str, Any] = {}
        with trio.open_signal_receiver(signal.SIGTERM) as signals:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(cancel_on_signal, signals, nursery.cancel_scope)
                figures = await self._attack(attack, seconds)
                nursery.cancel_scope.cancel()
        if not figures:
            raise SystemExit(128 + signal.SIGTERM)
        return figures

    async def _attack(self, attack: Attack, seconds: float) -> dict[str, Any]:
        seed = os.urandom(32)
        async with open_host(HostConfig(key_seed=seed, gossip=GOSSIP)) as host:
            peer = await host.connect(self.node.listen)
            t = Target(host, peer, self.network, self.author)
            async with trio.open_nursery() as nursery:
                await nursery.start(attack, t)
                figures = await trio.to_thread.run_sync(
                    self.sample, seconds, host.peer_id, abandon_on_cancel=True
                )
                nursery.cancel_scope.cancel()
        await trio.sleep(SETTLE_S)
        status = await trio.to_thread.run_sync(call, self.node, "GET", "/api/v1/status")
        return figures | {
            "attacker": dict(t.counts),
            "banned": host.peer_id in status["banned_peers"],
            "refused": status["sync"]["refused"].get(host.peer_id, {}),
            "rss_after_mib": memory_mib(self.node.proc.pid),
        }

    def run(self, name: str, seconds: float, idle: dict[str, Any]) -> dict[str, Any]:
        """One attack's figures with their ratios to idle; a failure as {"error": ...}."""
        print(f"[bench.hostile {time.strftime('%H:%M:%S')}] {name}", file=sys.stderr, flush=True)
        try:
            got = trio.run(self.attack, ATTACKS[name][1], seconds)
        except Exception as e:  # one attack failing is a row, not the end of the run
            return {"error": f"{type(e).__name__}: {e}"}
        return got | {"x_idle": ratios(got, idle)}


async def cancel_on_signal(signals: AsyncIterator[int], scope: trio.CancelScope) -> None:
    async for _ in signals:
        scope.cancel()


def ratios(attack: dict[str, Any], idle: dict[str, Any]) -> dict[str, float]:
    out = {k: attack[k] / idle[k] for k in ("rss_mib", "peak_mib")}
    lat = [(what, q) for what in ("status", "note") for q in ("p50", "p95")]
    return out | {f"{w}_{q}": attack[w][q] / idle[w][q] for w, q in lat}


def measure(quick: bool = False) -> dict[str, Any]:
    """Every figure: the idle row, then one per attack, each with its ratios to idle."""
    seconds = 5.0 if quick else 15.0
    figures: dict[str, Any] = {"quick": quick, "attack_s": seconds, "entries": ENTRIES}
    spawn = multiprocessing.get_context("spawn")
    libp2p_log = logging.getLogger("libp2p")  # the attacker's refused streams: expected
    level = libp2p_log.level
    libp2p_log.setLevel(logging.CRITICAL)
    try:
        with Fleet("hostile") as fleet, spawn.Pool(1) as pool:
            fill_log(fleet.root / "lab", fleet.root / "lab-state", ENTRIES)
            node = fleet.start("lab")
            status = call(node, "GET", "/api/v1/status")
            ids = (id_from_text(status["network"]["id"]), id_from_text(status["identity"]))
            bench = Bench(node, pool, *ids)
            time.sleep(SETTLE_S)
            figures["idle"] = idle = bench.sample(seconds)
            figures["attacks"] = {name: bench.run(name, seconds, idle) for name in ATTACKS}
            again = bench.sample(seconds)  # the same again: how noisy the machine is
            figures["idle_after"] = again | {"x_idle": ratios(again, idle)}
            figures["exited"] = node.proc.poll()
    finally:
        libp2p_log.setLevel(level)
    figures["problems"] = fleet.unclean
    return figures


def print_rows(figures: dict[str, Any]) -> None:
    """One row per attack beside the idle row, each figure with its ratio to idle."""
    row = "{:<40} {:>13} {:>13} {:>22} {:>22}  {}"
    print(row.format("", "RSS MiB", "peak MiB", "status p50|p95 ms", "note p50|p95 ms", "cores"))
    named = [(ATTACKS[name][0], a) for name, a in figures["attacks"].items()]
    for title, a in [("idle", figures["idle"]), *named, ("idle again", figures["idle_after"])]:
        if "error" in a:
            print(f"{title:<40} FAILED: {a['error'][:100]}")
            continue
        x = a.get("x_idle", {})
        cells = [f"{a[k]:.0f}" + (f" ({x[k]:.2f}x)" if x else "") for k in ("rss_mib", "peak_mib")]
        for what in ("status", "note"):
            ratio = f" ({x[what + '_p50']:.1f}|{x[what + '_p95']:.1f}x)" if x else ""
            cells.append(f"{a[what]['p50']:.1f}|{a[what]['p95']:.1f}{ratio}")
        tail = f"{a['node_cores']:.2f}  {attacker(a) if 'attacker' in a else ''}"
        print(row.format(title, *cells, tail).rstrip())


def attacker(a: dict[str, Any]) -> str:
    """Whether the attacker ended banned (when it was first seen so), and what it did."""
    ban = "banned" if a["banned"] else "not banned"
    if a["banned_after_s"] is not None:
        ban += f" after {a['banned_after_s']:.1f} s"
    did = sorted(a["attacker"].items(), key=lambda kv: ("." in kv[0], -kv[1]))  # refusals last
    return "; ".join([ban, *(f"{what} {n:,}" for what, n in did)])


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.hostile", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="5 s per attack (else 15 s)")
    args = parser.parse_args(argv)
    # Between attacks (during one, Bench.attack's receiver): the node stopped, folder gone.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    figures = measure(args.quick)
    print_rows(figures)
    print(json.dumps(_finite(figures), sort_keys=True, default=str))


if __name__ == "__main__":
    main()
