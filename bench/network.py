"""Network figures of real `fabnode run` processes on 127.0.0.1 (issue: network).

Prints, on this machine:
  1. gossip reach-all latency, p50/p99 over M notes, for clusters of 5, 10 and 20
     node processes (--quick: 5), timed by the nodes themselves (each node's gossip
     trace on the machine's monotonic clock, read once after the notes: nothing
     polls while they travel), beside a plain py-libp2p gossipsub mesh of the same
     size, topology and payload in the same run (bench.gossip): the ratio is the
     figure; with how many entries reached the nodes by gossip and how many by sync
     (status "sync" counters), so the measured path is known to be gossip;
  2. catch-up sync of N entries (default 100,000; --quick 20,000): node A signs
     them in 1,000-entry batches while B is not running, then B starts with A as
     its bootstrap peer; entries/s from B's ready line to B's last entry stored (B's
     own time of it, on the machine's monotonic clock: status sync_last_stored_ns),
     and the ratio to the
     ledger ingest rate measured in the same run (bench.ledger; target >= 0.8);
     beside it, Hypercore catching up the same N over a TCP loopback socket between
     two Node.js processes (bench.hypercore_catchup), and our rate's ratio to it in
     the same run (issue 20's target: >= 5);
  3. resident memory (VmRSS) per node: idle after start-up, and B's after the
     catch-up (target < 150 MiB);
  4. start-up time of one node, process start to its "ready" line, median of 5.
Figures only; nothing here asserts on time. Every process is stopped (SIGTERM, then
kill) and every temporary folder removed, whatever happens; a phase that fails or
times out is reported as such and the others still run.
Run: python -m bench.network [--quick] [--entries N] [--catch-up-only]. The last line
printed is one JSON object with every figure (for `make bench`).
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import os
import platform
import random
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any
from urllib.parse import urlsplit

from bench import gossip, hypercore_catchup, previous
from bench.ledger import append_run, ingest_run
from bench.stats import spread
from node.net.streams import GossipConfig
from node.store.home import NodeHome
from protocol.ids import id_to_text

SEED = 20_240_617
BATCH = 1000
CATCHUP_POLL_S = 0.1  # a node of before sync_last_stored_ns is timed by this poll
READY_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 30.0
HTTP_TIMEOUT_S = 30.0
MESH_TIMEOUT_S = 60.0
MESH_STABLE_S = 2.0  # two heartbeats with every mesh formed
CATCHUP_TIMEOUT_S = 420.0
STARTUP_SAMPLES = 5
DEGREE_LOW = GossipConfig().degree_low

#: Anything worth a look, gathered while running and printed after the table.
PROBLEMS: list[str] = []
#: Non-empty stderr lines of the node processes, per phase: (line count, distinct lines).
STDERR: dict[str, tuple[int, Counter[str]]] = {}


class BenchError(Exception):
    """A phase could not go on (a node did not start, a deadline passed...)."""


def log(message: str) -> None:
    """Progress, on stderr; the figures go to stdout."""
    print(f"[bench.network {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# -- node processes ----------------------------------------------------------------------


@dataclass
class NodeProc:
    name: str
    home: Path
    proc: subprocess.Popen[str]
    stderr_path: Path
    launched: float
    ready: dict[str, Any] = field(default_factory=dict)
    ready_at: float = 0.0
    stdout_tail: list[str] = field(default_factory=list)
    seen_ready: threading.Event = field(default_factory=threading.Event)
    token: str = ""

    @property
    def startup_s(self) -> float:
        return self.ready_at - self.launched

    @property
    def listen(self) -> str:
        return str(self.ready["listen"][0])

    def identity(self) -> str:
        return id_to_text(NodeHome(self.home).identity().id)


def _drain_stdout(node: NodeProc) -> None:
    """Read the node's stdout to its end (so the pipe never fills): its ready line, the rest."""
    assert node.proc.stdout is not None
    for line in node.proc.stdout:
        if not node.seen_ready.is_set() and line.startswith("{") and '"ready"' in line:
            node.ready = json.loads(line)["ready"]
            node.ready_at = time.perf_counter()
            node.seen_ready.set()
        else:
            node.stdout_tail = [*node.stdout_tail[-19:], line.rstrip()]
    node.seen_ready.set()  # end of output: it exited (before ready if node.ready is empty)


class Fleet:
    """Node processes with homes in one temporary folder. Leaving the block stops every
    process (SIGTERM, then kill after STOP_TIMEOUT_S), keeps their stderr for the
    report and removes the folder."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.root = Path(tempfile.mkdtemp(prefix=f"fabbench-{label}-"))
        self.nodes: list[NodeProc] = []
        self.stopped: list[NodeProc] = []
        self.unclean: list[str] = []

    def __enter__(self) -> Fleet:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            self.stop(self.nodes)
            self._keep_stderr()
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def start(
        self,
        name: str,
        bootstrap: Sequence[str] = (),
        env_extra: dict[str, str] | None = None,
        run_args: Sequence[str] = (),
        source: Path | None = None,
    ) -> NodeProc:
        """Start `fabnode run` on home `name` (created if new); wait for its ready line.
        `source`: run the node of that tree instead (bench.previous), which also makes
        the home, so that it is of its own version."""
        home = self.root / name
        env = dict(os.environ) | (env_extra or {})
        env["FABNODE_STATE_DIR"] = str(self.root / f"{name}-state")
        env.pop("FABNODE_HOME", None)
        if source is not None:
            env["PYTHONPATH"] = str(source)
        if not home.exists() and source is None:
            NodeHome(home).create_identity()
        elif not home.exists():
            init = [sys.executable, "-m", "node.cli", "--home", str(home), "init"]
            subprocess.run(init, cwd=source, env=env, check=True, capture_output=True)
        argv = [sys.executable, "-m", "node.cli", "--home", str(home), "run", "--json"]
        argv += [arg for addr in bootstrap for arg in ("--bootstrap", addr)]
        argv += run_args
        stderr_path = self.root / f"{name}.stderr.{len(self.nodes) + len(self.stopped)}"
        with stderr_path.open("w") as err:
            launched = time.perf_counter()
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=err,
                text=True,
                env=env,
                cwd=source,
            )
        node = NodeProc(name, home, proc, stderr_path, launched)
        self.nodes.append(node)
        threading.Thread(target=_drain_stdout, args=(node,), daemon=True).start()
        if not node.seen_ready.wait(READY_TIMEOUT_S):
            raise BenchError(f"{self.label}/{name}: no ready line in {READY_TIMEOUT_S:.0f} s")
        if not node.ready:
            tail = stderr_path.read_text()[-1500:] or "\n".join(node.stdout_tail)
            raise BenchError(f"{self.label}/{name} exited before ready: {tail}")
        node.token = NodeHome(home).api_token()
        return node

    def stop(self, nodes: Sequence[NodeProc]) -> None:
        """SIGTERM all of them at once, wait, kill whatever is left."""
        nodes = [n for n in nodes if n in self.nodes]
        begun = time.perf_counter()
        for node in nodes:
            if node.proc.poll() is None:
                node.proc.send_signal(signal.SIGTERM)
            else:
                self.unclean.append(f"{node.name} had already exited ({node.proc.returncode})")
        deadline = begun + STOP_TIMEOUT_S
        for node in nodes:
            try:
                node.proc.wait(timeout=max(0.1, deadline - time.perf_counter()))
            except subprocess.TimeoutExpired:
                node.proc.kill()
                node.proc.wait()
                self.unclean.append(f"{node.name} ignored SIGTERM for {STOP_TIMEOUT_S:.0f} s")
            code = node.proc.returncode
            if code == -signal.SIGTERM:
                self.unclean.append(
                    f"{node.name} died of SIGTERM (exit -15, the default action: no handler "
                    f"installed yet) sent {begun - node.ready_at:.2f} s after its ready line"
                    + ("; api.json left behind" if (node.home / "api.json").exists() else "")
                )
            elif code not in (0, -signal.SIGKILL):
                self.unclean.append(f"{node.name} exited with {code}")
            assert node.proc.stdout is not None
            node.proc.stdout.close()
            self.nodes.remove(node)
            self.stopped.append(node)

    def _keep_stderr(self) -> None:
        lines: Counter[str] = Counter()
        total = 0
        for node in self.stopped:
            try:
                text = node.stderr_path.read_text(errors="replace")
            except OSError:
                continue
            for line in text.splitlines():
                if line.strip():
                    total += 1
                    lines[line.strip()[:200]] += 1
        count, seen = STDERR.get(self.label, (0, Counter()))
        STDERR[self.label] = (count + total, seen + lines)
        for problem in self.unclean:
            PROBLEMS.append(f"{self.label}: {problem}")


class Api:
    """One keep-alive HTTP connection to a node's local API (use from one thread)."""

    def __init__(self, node: NodeProc, timeout_s: float = HTTP_TIMEOUT_S) -> None:
        url = urlsplit(str(node.ready["api"]))
        self.conn = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port, timeout_s)
        self.token = node.token

    def __enter__(self) -> Api:
        return self

    def __exit__(self, *_: object) -> None:
        self.conn.close()

    def call(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        headers = {"Authorization": f"Bearer {self.token}"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        try:
            self.conn.request(method, path, body=data, headers=headers)
            response = self.conn.getresponse()
            raw = response.read()
        except (OSError, http.client.HTTPException):
            self.conn.close()  # the next call reconnects
            raise
        if response.status >= 300:
            raise BenchError(f"{method} {path}: HTTP {response.status} {raw[:300]!r}")
        return json.loads(raw)

    def status(self) -> dict[str, Any]:
        out: dict[str, Any] = self.call("GET", "/api/v1/status")
        return out


def call(node: NodeProc, method: str, path: str, body: Any = None) -> Any:
    with Api(node) as api:
        return api.call(method, path, body)


def log_size(status: dict[str, Any], author: str) -> int:
    return next((int(h["size"]) for h in status["logs"] if h["author"] == author), 0)


def announce_topic(status: dict[str, Any]) -> tuple[int, int]:
    """(peers subscribed, mesh size) of the announce topic."""
    for topic, counts in status.get("topics", {}).items():
        if topic.endswith("/announce/1"):
            return int(counts["peers"]), int(counts["mesh"])
    return 0, 0


def memory_mib(pid: int, key: str = "VmRSS") -> float:
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return float("nan")
    for line in text.splitlines():
        if line.startswith(f"{key}:"):
            return int(line.split()[1]) / 1024
    return float("nan")


# -- 1. gossip ---------------------------------------------------------------------------

SYNC_COUNTERS = (
    "gossip_entries_stored",
    "sync_entries_stored",
    "syncs_completed",
    "syncs_failed",
    "sync_frames_skipped",
    "sync_logs_left_to_others",
    "gossip_dropped",
    "announcements_accepted",
    "announcements_rejected",
    "announcements_ignored",
)


def sync_counters(nodes: Sequence[NodeProc]) -> Counter[str]:
    total: Counter[str] = Counter()
    for node in nodes:
        sync = call(node, "GET", "/api/v1/status")["sync"]
        for key in SYNC_COUNTERS:
            total[key] += int(sync[key])
    return total


def wait_for_mesh(nodes: Sequence[NodeProc]) -> dict[str, Any]:
    """Until every node has a peer, a subscribed peer and a gossip mesh of at least one
    peer, for MESH_STABLE_S in a row. Also counts the nodes whose mesh stays below
    what gossipsub aims at (all their subscribed peers, up to degree_low)."""
    begun = time.perf_counter()
    stable_since: float | None = None
    peers: list[int] = []
    mesh: list[int] = []
    while time.perf_counter() - begun < MESH_TIMEOUT_S:
        statuses = [call(node, "GET", "/api/v1/status") for node in nodes]
        peers = [len(s["peers"]) for s in statuses]
        topics = [announce_topic(s) for s in statuses]
        mesh = [m for _, m in topics]
        formed = all(p >= 1 and t >= 1 and m >= 1 for p, (t, m) in zip(peers, topics, strict=True))
        under = sum(m < min(t, DEGREE_LOW) for t, m in topics)
        now = time.perf_counter()
        if not formed:
            stable_since = None
        elif stable_since is None:
            stable_since = now
        elif now - stable_since >= MESH_STABLE_S:
            return {
                "settled": True,
                "wait_s": now - begun,
                "peers": peers,
                "mesh": mesh,
                "under_meshed": under,
            }
        time.sleep(0.25)
    PROBLEMS.append(
        f"gossip {len(nodes)} nodes: meshes not settled in {MESH_TIMEOUT_S:.0f} s "
        f"(peers {peers}, mesh {mesh}); measured anyway"
    )
    return {
        "settled": False,
        "wait_s": MESH_TIMEOUT_S,
        "peers": peers,
        "mesh": mesh,
        "under_meshed": -1,
    }


def start_cluster(fleet: Fleet, dials: Sequence[Sequence[int]]) -> list[NodeProc]:
    """Node i bootstraps to the nodes `dials[i]` names (bench.gossip.topology)."""
    nodes: list[NodeProc] = []
    for i, targets in enumerate(dials):
        nodes.append(fleet.start(f"n{i:02d}", [nodes[t].listen for t in targets]))
    return nodes


def gossip_run(n: int, notes: int) -> dict[str, Any]:
    dials = gossip.topology(n, random.Random(SEED + n))
    order = gossip.sources(n, notes, SEED + 1 + n)
    with Fleet(f"gossip-{n}") as fleet:
        begun = time.perf_counter()
        nodes = start_cluster(fleet, dials)
        started = time.perf_counter()
        log(f"gossip: {n} nodes started in {started - begun:.1f} s; waiting for meshes")
        mesh = wait_for_mesh(nodes)
        rss = [memory_mib(node.proc.pid) for node in nodes]
        before = sync_counters(nodes)
        window_start = time.perf_counter() - started
        measured = gossip.time_our_notes(nodes, call, order)
        after = sync_counters(nodes)
        graph = connection_graph(nodes)  # discovery added links: the plain mesh gets them too
        scores = peer_scores(nodes)
        window_end = time.perf_counter() - started
        died = [node.name for node in nodes if node.proc.poll() is not None]
        if died:
            PROBLEMS.append(f"gossip {n} nodes: exited during the run: {died}")
    log(f"gossip: {n} plain py-libp2p peers, {measured['announcement_bytes']} B payloads")
    plain = gossip.plain_run(n, graph, order, measured["announcement_bytes"])
    if not plain["mesh"]["settled"]:
        PROBLEMS.append(f"plain gossip {n} peers: meshes not settled ({plain['mesh']['mesh']})")
    delta = {key: after[key] - before[key] for key in SYNC_COUNTERS}
    expected = measured.pop("entries_published") * (n - 1)
    if measured["missing"]:
        PROBLEMS.append(f"gossip {n} nodes: {measured['missing']} notes missed a node's trace")
    if delta["sync_entries_stored"]:
        PROBLEMS.append(
            f"gossip {n} nodes: {delta['sync_entries_stored']} of {expected} deliveries came "
            "by sync, not gossip"
        )
    return {
        "nodes": n,
        **measured,
        "plain": plain,
        "ratio_received_p50": gossip.ratio(measured, plain, "reach_all_received_ms"),
        "ratio_stored_p50": gossip.ratio(measured, plain, "reach_all_stored_ms"),
        "ratio_stored_p99": gossip.ratio(measured, plain, "reach_all_stored_ms", "p99"),
        "deliveries_expected": expected,
        "counters": delta,
        "cluster_start_s": started - begun,
        "node_startup_s": spread([node.startup_s for node in nodes]),
        "mesh": mesh,
        "links": {"dialled": sum(map(len, dials)), "connected": sum(map(len, graph))},
        "window_s": [window_start, window_end],
        "rss_idle_mib": spread(rss),
        "peer_scores": scores,
    }


def connection_graph(nodes: Sequence[NodeProc]) -> list[list[int]]:
    """The links our nodes hold after the run, as dials (node i dials each earlier node
    it is connected to): the bootstrap dials plus what discovery added (specs/0014 §5).
    The plain mesh is given the same links, so both meshes forward over one topology."""
    statuses = [call(node, "GET", "/api/v1/status") for node in nodes]
    index = {s["peer_id"]: i for i, s in enumerate(statuses)}
    links: list[set[int]] = [set() for _ in nodes]
    for i, status in enumerate(statuses):
        for peer in status["peers"]:
            j = index.get(peer["peer_id"] if isinstance(peer, dict) else peer)
            if j is not None and j != i:
                links[max(i, j)].add(min(i, j))
    return [sorted(earlier) for earlier in links]


def peer_scores(nodes: Sequence[NodeProc]) -> dict[str, Any]:
    """The lowest gossip score any node gives a peer, and how many scores are negative."""
    scores = [
        float(score)
        for node in nodes
        for score in call(node, "GET", "/api/v1/status")["peer_scores"].values()
    ]
    return {"min": min(scores, default=0.0), "negative": sum(s < 0 for s in scores)}


# -- 2. catch-up -------------------------------------------------------------------------


def ledger_reference(n: int) -> dict[str, float]:
    """bench.ledger's append and ingest rates for the same n, in this process, one core;
    ingest is the better of two runs (so the ratio to it is not flattered by noise)."""
    with tempfile.TemporaryDirectory(prefix="fabbench-ledger-") as tmp:
        append_rate, raws, _, _ = append_run(Path(tmp), n)
        rates = []
        for i in range(2):
            (Path(tmp) / str(i)).mkdir()
            rates.append(ingest_run(Path(tmp) / str(i), raws))
    return {"append_per_s": append_rate, "ingest_per_s": max(rates)}


def sign_catch_up_notes(api: Api, n: int) -> None:
    """The catch-up's n notes (Hypercore's blocks are the same texts), BATCH a request."""
    for i in range(0, n, BATCH):
        texts = [hypercore_catchup.catch_up_text(j) for j in range(i, min(n, i + BATCH))]
        api.call("POST", "/api/v1/notes/batch", {"texts": texts})


def catchup_run(n: int, reference: dict[str, float]) -> dict[str, Any]:
    with Fleet("catch-up") as fleet:
        a = fleet.start("a")
        author = a.identity()
        log(f"catch-up: A signs {n:,} entries in {BATCH:,}-entry batches")
        begun = time.perf_counter()
        with Api(a, timeout_s=120.0) as api:
            sign_catch_up_notes(api, n)
            publish_s = time.perf_counter() - begun
            total = log_size(api.status(), author)
        rss_a = memory_mib(a.proc.pid)
        log(f"catch-up: A holds {total:,} entries; starting B")
        # a development network keeps at most 100,000 entries of another's log unless told
        b = fleet.start("b", [a.listen], run_args=quota_for(total))
        first_seen, done = wait_caught_up(b, author, total)
        checked = None if done is None else wait_checked(b)
        rss_b, peak_b = memory_mib(b.proc.pid), memory_mib(b.proc.pid, "VmHWM")
        rss_a_after = memory_mib(a.proc.pid)
        sync_b = call(b, "GET", "/api/v1/status")["sync"]
        fleet.stop([b])
        reference_s = checked_path_catch_up(fleet, a, author, total) if done else None
        fleet.stop([a])
        issue_day = issue_day_catch_up(fleet, n) if done else None
    out: dict[str, Any] = {
        "entries": total,
        "publish_per_s": n / publish_s,
        "b_startup_s": b.startup_s,
        "rss_a_mib": rss_a,
        "rss_a_after_mib": rss_a_after,
        "rss_b_mib": rss_b,
        "peak_rss_b_mib": peak_b,
        "b_sync": {k: sync_b[k] for k in SYNC_COUNTERS},
        "caught_up": done is not None,
    }
    if done is None:
        PROBLEMS.append(f"catch-up: B did not hold all {total:,} entries in {CATCHUP_TIMEOUT_S} s")
        return out
    seconds = done - b.ready_at
    out |= {
        "sync_s": seconds,
        "first_entries_after_ready_s": None if first_seen is None else first_seen - b.ready_at,
        "from_process_start_s": done - b.launched,
        "entries_per_s": total / seconds,
        "entries_per_s_after_first": None
        if first_seen is None or done <= first_seen
        else total / (done - first_seen),
        "ratio_to_ingest": total / seconds / reference.get("ingest_per_s", math.nan),
        # B's deferred signature checks of attested ranges (specs/0003 §4.2) all made
        "checked_s": None if checked is None else checked - b.ready_at,
        "entries_per_s_checked": None if checked is None else total / (checked - b.ready_at),
        "checked_path_entries_per_s": None if reference_s is None else total / reference_s,
        "ratio_to_checked_path": None if reference_s is None else reference_s / seconds,
        "issue_day": issue_day,
    }
    if issue_day and issue_day.get("entries_per_s"):
        issue_day["ratio_ours_to_it"] = out["entries_per_s"] / issue_day["entries_per_s"]
    return out


def quota_for(total: int) -> list[str]:
    """`fabnode run` options that let a node keep a log of `total` entries (ledger.quota)."""
    return ["--quota-log-entries", str(max(total, 100_000))]


def checked_path_catch_up(fleet: Fleet, a: NodeProc, author: str, total: int) -> float | None:
    """The same catch-up by a node C that checks every signature on receipt
    (FABNODE_ATTESTED_RANGES=0: the path before attested ranges), B stopped first: the
    seconds from C's ready line to all entries held, or None if it did not finish."""
    c = fleet.start("c", [a.listen], {"FABNODE_ATTESTED_RANGES": "0"}, quota_for(total))
    _, done = wait_caught_up(c, author, total)
    fleet.stop([c])
    return None if done is None else done - c.ready_at


def issue_day_catch_up(fleet: Fleet, n: int) -> dict[str, Any]:
    """The same catch-up between two nodes of the tree issue 20 was filed against
    (bench.previous: its "today's rate"): A' signs the same n notes, D' catches them
    up from it, ours stopped meanwhile. Its entries/s, or why it did not run."""
    try:
        return _issue_day_catch_up(fleet, n)
    except (BenchError, OSError, subprocess.SubprocessError, KeyError) as e:
        return {"skipped": f"{type(e).__name__}: {e}"[:300]}


def _issue_day_catch_up(fleet: Fleet, n: int) -> dict[str, Any]:
    source = previous.checkout(previous.ISSUE_20_BASE, fleet.root / "source")
    if isinstance(source, str):
        return {"skipped": source}
    commit = previous.ISSUE_20_BASE[:12]
    log(f"catch-up: nodes A' and D' of {commit} (issue 20's tree), the same {n:,} notes")
    a = fleet.start("a-then", source=source)
    with Api(a, timeout_s=120.0) as api:
        author = str(api.status()["identity"])
        sign_catch_up_notes(api, n)
        total = log_size(api.status(), author)
    held = min(total, previous.ISSUE_20_BASE_MAX_LOG_ENTRIES)  # its quota: no option then
    d = fleet.start("d-then", [a.listen], source=source)
    _, done = wait_caught_up(d, author, held)
    fleet.stop([d, a])
    if done is None:
        return {"skipped": f"it did not hold {held:,} entries in {CATCHUP_TIMEOUT_S:.0f} s"}
    return {
        "commit": previous.ISSUE_20_BASE,
        "entries": held,
        "seconds": done - d.ready_at,
        "entries_per_s": held / (done - d.ready_at),
    }


def wait_checked(b: NodeProc) -> float | None:
    """Poll B until no entry waits for its deferred signature check: the time then."""
    deadline = b.ready_at + CATCHUP_TIMEOUT_S
    with Api(b, timeout_s=60.0) as api:
        while time.perf_counter() < deadline:
            if api.status().get("unchecked_entries", 0) == 0:
                return time.perf_counter()
            time.sleep(CATCHUP_POLL_S)
    return None


def wait_caught_up(b: NodeProc, author: str, total: int) -> tuple[float | None, float | None]:
    """Poll B until it holds `total` entries of `author`: (first stored, all stored)
    times on this machine's monotonic clock, as B itself recorded them (its status:
    sync_first_stored_ns, sync_last_stored_ns), so neither the polling interval nor
    when B's API answers first moves them; the poll's own times if B has none."""
    first_seen: float | None = None
    deadline = b.ready_at + CATCHUP_TIMEOUT_S
    with Api(b, timeout_s=60.0) as api:
        while time.perf_counter() < deadline:
            status = api.status()
            size = log_size(status, author)
            now = time.perf_counter()  # CLOCK_MONOTONIC, as the node's time.monotonic_ns
            if size and first_seen is None:
                first_seen = now
            if size >= total:
                sync = status["sync"]
                first_ns = sync.get("sync_first_stored_ns")
                last_ns = sync.get("sync_last_stored_ns")
                if first_ns is not None and last_ns is not None:
                    return first_ns / 1e9, last_ns / 1e9
                return first_seen, now
            if b.proc.poll() is not None:
                raise BenchError(f"B exited during catch-up ({b.proc.returncode})")
            time.sleep(CATCHUP_POLL_S)
    return first_seen, None


def hypercore_run(n: int, ours: dict[str, Any]) -> dict[str, Any]:
    """Hypercore's catch-up of n blocks of our entries' size (bench.hypercore_catchup),
    right after ours; with our rate's ratio to it when ours finished."""
    log(f"Hypercore catch-up, {n:,} blocks, for reference")
    figures = hypercore_catchup.measure(n)
    if ours.get("entries_per_s"):
        figures["ratio_ours_to_hypercore"] = ours["entries_per_s"] / figures["entries_per_s"]
    return figures


# -- 4. start-up -------------------------------------------------------------------------


def startup_run(samples: int) -> dict[str, Any]:
    """One node with no peers started `samples` times on the same (initialised) home."""
    times: list[float] = []
    with Fleet("start-up") as fleet:
        for _ in range(samples):
            node = fleet.start("solo")
            times.append(node.startup_s)
            fleet.stop([node])
    return {"samples_s": times, "median_s": statistics.median(times)}


# -- report ------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "nproc": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)),
        "cpu": model,
        "python": platform.python_version(),
        "libp2p": metadata.version("libp2p"),
        "kernel": platform.release(),
        "load_avg_1m_at_start": os.getloadavg()[0],
    }


def cpu_seconds() -> tuple[float, float, float]:
    """(busy CPU-s of the whole machine, of this process and its reaped children, steal)."""
    tick = os.sysconf("SC_CLK_TCK")
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
    ours = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        ours += usage.ru_utime + usage.ru_stime
    return (user + nice + system + irq + softirq) / tick, ours, steal / tick


def attempt(what: str, figures: dict[str, Any], key: str, fn: Any, *args: Any) -> None:
    """Run one phase; a failure is reported (figures[key] = {"error": ...}), not raised."""
    try:
        figures[key] = fn(*args)
    except Exception as e:
        figures[key] = {"error": f"{type(e).__name__}: {e}"}
        PROBLEMS.append(f"{what} failed: {type(e).__name__}: {e}")
        log(f"{what} FAILED: {e}")


def print_table(figures: dict[str, Any], args: argparse.Namespace) -> None:
    m = figures["machine"]
    print(
        f"network benchmark{' (--quick)' if args.quick else ''}: real `fabnode run` processes "
        "on 127.0.0.1"
    )
    print(
        f"  machine: nproc {m['nproc']} ({m['cpus_usable']} usable), {m['cpu']}, "
        f"Python {m['python']}, libp2p {m['libp2p']}, Linux {m['kernel']}; load average "
        f"{m['load_avg_1m_at_start']:.2f} before, {m['load_avg_1m_at_end']:.2f} after"
    )
    print(
        f"  CPU used by other processes during the run: {m['other_processes_cpu_s']:.0f} CPU-s "
        f"of {figures['total_s'] * (m['nproc'] or 1):.0f}; steal {m['steal_cpu_s']:.1f} CPU-s"
    )
    if args.nodes:
        _print_gossip(figures, args)
    if "catchup" in figures:
        _print_catchup(figures["catchup"], figures["ledger"], args.entries)
        _print_hypercore(figures["hypercore"], args.entries)
    _print_memory(figures, args)
    s = figures.get("startup")
    if s is None:
        return
    if "error" in s:
        print(f"4. start-up: FAILED: {s['error'][:150]}")
    else:
        samples = ", ".join(f"{t:.2f}" for t in s["samples_s"])
        print(
            f"4. start-up of one node (process start -> ready line), median of "
            f"{len(s['samples_s'])}: {s['median_s']:.2f} s   ({samples})"
        )


def _print_gossip(figures: dict[str, Any], args: argparse.Namespace) -> None:
    print(
        f"1. gossip reach-all latency: {args.notes} notes from random nodes, "
        f"{gossip.GAP_S * 1000:.0f} ms apart, timed by the nodes' own traces (no polling);"
    )
    print(
        "   ours from publish to the last node's receive / store, and from the API call; "
        "plain py-libp2p (same size, topology, payload) from publish to the last receive"
    )
    print(
        "   nodes  bytes  ours recv p50/p99   stored p50/p99    API p50/p99    "
        "plain p50/p99    ratio stored/plain p50 (p99)  missing  via gossip / sync / expected"
    )
    for n in args.nodes:
        g = figures["gossip"][str(n)]
        if "error" in g:
            print(f"   {n:>5}   FAILED: {g['error'][:150]}")
            continue
        c, p = g["counters"], g["plain"]
        print(
            f"   {n:>5} {g['announcement_bytes']:>6}  {_pp(g['reach_all_received_ms'])}"
            f"  {_pp(g['reach_all_stored_ms'])}  {_pp(g['reach_all_from_api_ms'])}"
            f"  {_pp(p['reach_all_received_ms'])}"
            f"    {g['ratio_stored_p50']:>5.2f} x ({g['ratio_stored_p99']:.2f} x)  "
            f"        {g['missing']:>3}/{p['missing']:<3}"
            f"  {c['gossip_entries_stored']:>6} / {c['sync_entries_stored']:>4} / "
            f"{g['deliveries_expected']:<6}"
        )
    for n in args.nodes:
        g = figures["gossip"][str(n)]
        if "error" not in g:
            c = g["counters"]
            print(
                f"   {n:>5} nodes: started in {g['cluster_start_s']:.1f} s, meshes "
                f"{'settled' if g['mesh']['settled'] else 'NOT settled'} after "
                f"{g['mesh']['wait_s']:.1f} s; links {g['links']['dialled']} dialled, "
                f"{g['links']['connected']} held (both meshes); measured {g['window_s'][0]:.0f}-"
                f"{g['window_s'][1]:.0f} s after the last start; syncs in that window "
                f"{c['syncs_completed']} ok / {c['syncs_failed']} failed, gossip dropped "
                f"{c['gossip_dropped']}, announcements rejected {c['announcements_rejected']}; "
                f"nodes with a mesh below min(subscribed peers, {DEGREE_LOW}): "
                f"{g['mesh']['under_meshed']}; lowest peer score {g['peer_scores']['min']:g} "
                f"({g['peer_scores']['negative']} negative)"
            )


def _print_memory(figures: dict[str, Any], args: argparse.Namespace) -> None:
    print("3. resident memory per node (VmRSS, MiB)             target < 150")
    for n in args.nodes:
        g = figures["gossip"][str(n)]
        if "error" not in g:
            r = g["rss_idle_mib"]
            print(
                f"   idle, {n:>2}-node cluster (min/median/max)      "
                f"{r['min']:>6.1f} / {r['median']:.1f} / {r['max']:.1f}"
            )
    c = figures.get("catchup", {"error": "not run"})
    if "error" not in c:
        print(
            f"   A after signing {c['entries']:,} entries            {c['rss_a_mib']:>6.1f}"
            f"   (after serving the sync: {c['rss_a_after_mib']:.1f})"
        )
        print(
            f"   B after catching up                         {c['rss_b_mib']:>6.1f}"
            f"   (peak VmHWM {c['peak_rss_b_mib']:.1f})"
        )


def _print_hypercore(h: dict[str, Any], n: int) -> None:
    print(
        f"   Hypercore, the same {n:,} as blocks of our entries' size, server -> client"
        " over TCP (bench.hypercore_catchup)"
    )
    if "error" in h:
        print(f"   FAILED: {h['error'][:200]}")
        return
    print(
        f"   Hypercore {h['hypercore']}: {h['blocks']:,} blocks of {h['block_bytes']} B"
        f" in {h['seconds']:.1f} s      {h['entries_per_s']:>8,.0f} entries/s"
        f"   (client CPU {h['client_cpu_s']:.1f} s)"
    )
    if "ratio_ours_to_hypercore" in h:
        print(
            f"   catch-up rate / Hypercore's, same run             "
            f"{h['ratio_ours_to_hypercore']:>6.2f} x, target >= 5"
        )


def _print_catchup(c: dict[str, Any], ledger: dict[str, Any], n: int) -> None:
    print(f"2. catch-up sync, {n:,} entries, A -> B (B started after A signed them)")
    if "error" in ledger:
        print(f"   ledger reference FAILED: {ledger['error'][:200]}")
    else:
        print(
            f"   ledger reference (bench.ledger, same N, one core): append "
            f"{ledger['append_per_s']:,.0f} /s, ingest {ledger['ingest_per_s']:,.0f} /s"
        )
    if "error" in c:
        print(f"   FAILED: {c['error'][:200]}")
        return
    print(
        f"   A signs them through the API (notes/batch)      {c['publish_per_s']:>8,.0f} entries/s"
    )
    if not c["caught_up"]:
        print(f"   B did NOT catch up in {CATCHUP_TIMEOUT_S:.0f} s")
        return
    print(
        f"   B: {c['entries']:,} entries in {c['sync_s']:.1f} s after its ready line "
        f"({c['from_process_start_s']:.1f} s from process start, first entries after "
        f"{c['first_entries_after_ready_s'] or 0:.1f} s)"
    )
    print(
        f"   catch-up rate                                   {c['entries_per_s']:>8,.0f} entries/s"
        f"   = {c['ratio_to_ingest']:.2f} x ledger ingest, target >= 0.8"
    )
    if c["entries_per_s_after_first"]:
        print(
            f"   (from B's first entries to its last, leaving out connecting: "
            f"{c['entries_per_s_after_first']:,.0f} entries/s)"
        )
    if c.get("checked_path_entries_per_s"):
        print(
            f"   the same catch-up checking every signature on receipt (node C,"
            f" FABNODE_ATTESTED_RANGES=0): {c['checked_path_entries_per_s']:,.0f} entries/s;"
            f" attested = {c['ratio_to_checked_path']:.2f} x that"
        )
    day = c.get("issue_day") or {}
    if day.get("entries_per_s"):
        print(
            f"   the same catch-up between two nodes of the tree issue 20 was filed against"
            f" ({day['commit'][:12]}; {day['entries']:,} entries): {day['entries_per_s']:,.0f}"
            f" entries/s; ours = {day['ratio_ours_to_it']:.2f} x that, target >= 3"
        )
    elif day.get("skipped"):
        print(f"   the tree issue 20 was filed against: not run ({day['skipped']})")
    if c.get("entries_per_s_checked"):
        print(
            f"   and every entry's own signature checked after {c['checked_s']:.1f} s"
            f" (deferred checks, specs/0003 §4.2): {c['entries_per_s_checked']:,.0f} entries/s"
        )
    b = c["b_sync"]
    print(
        f"   B's counters: sync entries {b['sync_entries_stored']:,}, gossip entries "
        f"{b['gossip_entries_stored']:,}, syncs {b['syncs_completed']} ok / "
        f"{b['syncs_failed']} failed, range frames skipped {b.get('sync_frames_skipped', 0)},"
        f" logs left to another session {b.get('sync_logs_left_to_others', 0)}"
    )


def _pp(r: dict[str, float]) -> str:
    return f"{r['p50']:>7.1f} /{r['p99']:>7.1f}"


def print_problems() -> None:
    print("observations:")
    for problem in PROBLEMS:
        print(f"   - {problem}")
    for label, (count, lines) in STDERR.items():
        if count:
            print(f"   - node stderr, {label}: {count} lines; most frequent:")
            for line, times in lines.most_common(8):
                print(f"       {times:>5} x {line}")
    if not PROBLEMS and not any(count for count, _ in STDERR.values()):
        print("   none: every node stopped cleanly, no node wrote to stderr")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.network", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="5 nodes, 20,000 entries")
    parser.add_argument("--notes", type=int, default=30, help="gossip notes per cluster size")
    parser.add_argument("--nodes", help="cluster sizes, comma-separated (default 5,10,20)")
    parser.add_argument("--entries", type=int, help="catch-up entries (default 100,000)")
    parser.add_argument(
        "--catch-up-only",
        action="store_true",
        help="only the ledger reference, the catch-up and Hypercore's beside it",
    )
    parser.add_argument(
        "--gossip-only",
        action="store_true",
        help="only the gossip clusters and their plain py-libp2p meshes",
    )
    args = parser.parse_args(argv)
    default_nodes, default_entries = ("5", 20_000) if args.quick else ("5,10,20", 100_000)
    args.nodes = (
        [] if args.catch_up_only else [int(n) for n in (args.nodes or default_nodes).split(",")]
    )
    args.entries = args.entries or default_entries
    return args


def _stop_on_sigterm(signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)  # so every `finally` (and Fleet exit) still runs


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    figures = measure(args)
    print_table(figures, args)
    print_problems()
    print(f"(total {figures['total_s']:.0f} s)")
    print(json.dumps(_finite(figures), sort_keys=True, default=str))


def measure(
    args: argparse.Namespace | None = None, ledger: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Every figure of this benchmark (`args` as parsed from the command line; default
    the full run). `ledger`: bench.ledger figures already taken in this process, used
    as the reference of the catch-up rate instead of measuring it again."""
    args = args or parse_args([])
    began = time.perf_counter()
    cpu_before = cpu_seconds()
    figures: dict[str, Any] = {"bench": "network", "quick": args.quick, "machine": machine()}
    if ledger is not None and ledger.get("entries") == args.entries:
        figures["ledger"] = {"append_per_s": ledger["append_per_s"]}
        figures["ledger"]["ingest_per_s"] = ledger["ingest_per_s"]
    elif not args.gossip_only:
        log(f"ledger reference, {args.entries:,} entries (before any node runs)")
        attempt("ledger reference", figures, "ledger", ledger_reference, args.entries)
    if not args.catch_up_only and not args.gossip_only:
        log("start-up of one node")
        attempt("start-up", figures, "startup", startup_run, STARTUP_SAMPLES)
    figures["gossip"] = {}
    for n in args.nodes:
        log(f"gossip with {n} nodes")
        attempt(f"gossip {n} nodes", figures["gossip"], str(n), gossip_run, n, args.notes)
    if not args.gossip_only:
        _catch_up_and_hypercore(figures, args.entries)
    figures["problems"] = PROBLEMS
    figures["node_stderr_lines"] = {label: count for label, (count, _) in STDERR.items()}
    figures["total_s"] = time.perf_counter() - began
    figures["machine"]["load_avg_1m_at_end"] = os.getloadavg()[0]
    busy, ours, steal = (b - a for a, b in zip(cpu_before, cpu_seconds(), strict=True))
    figures["machine"]["other_processes_cpu_s"] = max(0.0, busy - ours)
    figures["machine"]["steal_cpu_s"] = steal
    if busy - ours > 0.05 * figures["total_s"] * (os.cpu_count() or 1):
        PROBLEMS.append(
            f"other processes used {busy - ours:.0f} CPU-s during this run "
            f"({(busy - ours) / figures['total_s'] / (os.cpu_count() or 1):.0%} of the machine): "
            "the figures are noisier than on a quiet machine"
        )
    figures["problems"] = list(PROBLEMS)
    return figures


def _catch_up_and_hypercore(figures: dict[str, Any], entries: int) -> None:
    attempt("catch-up", figures, "catchup", catchup_run, entries, figures["ledger"])
    c = figures["catchup"]
    attempt("Hypercore catch-up", figures, "hypercore", hypercore_run, entries, c)
    if "ratio_ours_to_hypercore" in figures["hypercore"]:
        c["hypercore_entries_per_s"] = figures["hypercore"]["entries_per_s"]
        c["ratio_to_hypercore"] = figures["hypercore"]["ratio_ours_to_hypercore"]


def _finite(value: Any) -> Any:
    """NaN (a figure that could not be taken) as null, so the line is strict JSON."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


if __name__ == "__main__":
    main()
