"""Gossip latency as the nodes see it, beside a plain py-libp2p gossipsub mesh (issue 20).

Each node keeps the times it published, received and stored the last few thousand
entries (node.runtime.measures.GossipTrace, `GET /api/v1/status/gossip`) on
CLOCK_MONOTONIC, which every process of a machine shares. So nothing polls while
notes travel: the bench posts M notes from random nodes, GAP_S apart, then reads each
node's trace once. Per note:
  - reach-all from publish: the last node's time minus the source's publish time, as
    received (the announcement arrived) and as stored (the entry is in the ledger:
    what a reader of that node sees);
  - reach-all from the API call: from the bench's POST to the last node's store.
The reference, in the same run: as many plain py-libp2p peers (bench.gossip_peer: the
same host, transport and gossipsub parameters, no validator, scoring or ledger), over
the same links (our nodes dial `topology`, then discovery adds links; the plain peers
dial every link our nodes held at the end), publishing payloads of our announcements' size from the
same random sources at the same pace. The ratio ours / plain is the figure (goal:
within 1.3x at 20 nodes). Figures only; nothing asserts on time.
"""

from __future__ import annotations

import json
import math
import random
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from bench.stats import percentile

#: Between two notes: well above a reach-all, so notes do not queue behind each other.
GAP_S = 0.3
#: After the last note, how long every node has to hold every note.
SETTLE_S = 15.0
MESH_TIMEOUT_S = 60.0
MESH_STABLE_S = 2.0
READY_TIMEOUT_S = 60.0

Call = Callable[[Any, str, str, Any], Any]


def topology(n: int, rng: random.Random) -> list[list[int]]:
    """Whom node i dials at start: node 0, and from node 2 on one random earlier node
    (not 0), so the graph is not a pure star. The same for our nodes and the plain ones."""
    out: list[list[int]] = [[]]
    for i in range(1, n):
        out.append([0] if i < 2 else [0, rng.randrange(1, i)])
    return out


def sources(n: int, notes: int, seed: int) -> list[int]:
    """Which node publishes each note: the same sequence for both meshes."""
    rng = random.Random(seed)
    return [rng.randrange(n) for _ in range(notes)]


@dataclass
class NoteTimes:
    """One note: the source's publish time and each other node's times (None: missing)."""

    api_ns: int | None
    published_ns: int | None
    received_ns: list[int | None]
    stored_ns: list[int | None]


def summarise(notes: Sequence[NoteTimes]) -> dict[str, Any]:
    """p50/p99/max of reach-all (the last node) and per node, from publish and from the API."""

    def figures(values: list[float]) -> dict[str, float]:
        return {
            "p50": percentile(values, 50),
            "p99": percentile(values, 99),
            "max": max(values, default=float("nan")),
        }

    reach_received, reach_stored, reach_api, per_node = [], [], [], []
    missing = 0
    for note in notes:
        if note.published_ns is None:
            missing += 1
            continue
        received = [t for t in note.received_ns if t is not None]
        stored = [t for t in note.stored_ns if t is not None]
        per_node += [(t - note.published_ns) / 1e6 for t in received]
        if len(received) == len(note.received_ns) and received:
            reach_received.append((max(received) - note.published_ns) / 1e6)
        else:
            missing += 1
        if stored and len(stored) == len(note.stored_ns):
            reach_stored.append((max(stored) - note.published_ns) / 1e6)
            if note.api_ns is not None:
                reach_api.append((max(stored) - note.api_ns) / 1e6)
    return {
        "notes": len(notes),
        "missing": missing,
        "reach_all_received_ms": figures(reach_received),
        "reach_all_stored_ms": figures(reach_stored),
        "reach_all_from_api_ms": figures(reach_api),
        "per_node_received_ms": figures(per_node),
    }


# -- our nodes ---------------------------------------------------------------------------


def time_our_notes(nodes: Sequence[Any], call: Call, order: Sequence[int]) -> dict[str, Any]:
    """Post a note from `nodes[i]` for each i of `order`, GAP_S apart; then read every
    node's gossip trace (retrying until each holds each note or SETTLE_S passes)."""
    posted: list[tuple[int, str, int]] = []
    heads: dict[str, int] = {}  # a node's first note comes after its inception entry
    for k, i in enumerate(order):
        sent = time.monotonic_ns()
        reply = call(nodes[i], "POST", "/api/v1/notes", {"text": f"bench note {k}"})
        posted.append((i, str(reply["entry_id"]), sent))
        heads[str(reply["author"])] = int(reply["seq"])
        time.sleep(GAP_S)
    deadline = time.monotonic() + SETTLE_S
    while True:
        traces = [_trace(call, node) for node in nodes]
        held = all(
            eid in traces[j] and "stored_ns" in traces[j][eid]
            for i, eid, _ in posted
            for j in range(len(nodes))
            if j != i
        )
        if held or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    notes, sizes = [], []
    for i, eid, sent in posted:
        others = [traces[j].get(eid, {}) for j in range(len(nodes)) if j != i]
        sizes += [t["bytes"] for t in others if "bytes" in t]
        notes.append(
            NoteTimes(
                api_ns=sent,
                published_ns=traces[i].get(eid, {}).get("published_ns"),
                received_ns=[t.get("received_ns") for t in others],
                stored_ns=[t.get("stored_ns") for t in others],
            )
        )
    out = summarise(notes)
    out["announcement_bytes"] = int(statistics.median(sizes)) if sizes else 0
    out["entries_published"] = sum(heads.values())
    return out


def _trace(call: Call, node: Any) -> dict[str, dict[str, int]]:
    reply = call(node, "GET", "/api/v1/status/gossip", None)
    return {str(t["entry_id"]): t for t in reply["entries"]}


# -- the plain py-libp2p mesh ------------------------------------------------------------


class PlainPeer:
    """One bench.gossip_peer process, spoken to a line at a time."""

    def __init__(self, seed: int) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bench.gossip_peer", str(seed)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        self.addr = ""

    def read(self, timeout_s: float = READY_TIMEOUT_S) -> dict[str, Any]:
        box: list[str] = []
        assert self.proc.stdout is not None
        reader = threading.Thread(target=lambda: box.append(self.proc.stdout.readline()))  # type: ignore[union-attr]
        reader.start()
        reader.join(timeout_s)
        if not box or not box[0]:
            raise RuntimeError(f"plain peer {self.proc.pid}: no answer in {timeout_s:.0f} s")
        out: dict[str, Any] = json.loads(box[0])
        return out

    def ask(self, command: dict[str, Any]) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(command) + "\n")
        self.proc.stdin.flush()
        return self.read()

    def stop(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def plain_run(
    n: int, dials: Sequence[Sequence[int]], order: Sequence[int], payload_bytes: int
) -> dict[str, Any]:
    """The same measurement on n plain gossipsub peers."""
    peers = [PlainPeer(9_000 + i) for i in range(n)]
    try:
        for peer in peers:
            peer.addr = str(peer.read()["ready"]["addr"])
        for peer, targets in zip(peers, dials, strict=True):
            if targets:
                peer.ask({"connect": [peers[t].addr for t in targets]})
        mesh = _wait_plain_mesh(peers)
        for k, i in enumerate(order):
            peers[i].ask({"publish": k, "bytes": payload_bytes})
            time.sleep(GAP_S)
        time.sleep(1.0)  # the last note's hops
        reports = [peer.ask({"report": True}) for peer in peers]
    finally:
        for peer in peers:
            peer.stop()
    notes = []
    for k, i in enumerate(order):
        published = reports[i]["published"].get(str(k))
        others = [reports[j]["received"].get(str(k)) for j in range(n) if j != i]
        notes.append(NoteTimes(None, published, others, others))
    out = summarise(notes)
    out["mesh"] = mesh
    out["announcement_bytes"] = payload_bytes
    return out


def _wait_plain_mesh(peers: Sequence[PlainPeer]) -> dict[str, Any]:
    begun = time.monotonic()
    stable_since: float | None = None
    meshes: list[int] = []
    while time.monotonic() - begun < MESH_TIMEOUT_S:
        meshes = [int(p.ask({"mesh": True})["mesh"]) for p in peers]
        now = time.monotonic()
        if min(meshes) < 1:
            stable_since = None
        elif stable_since is None:
            stable_since = now
        elif now - stable_since >= MESH_STABLE_S:
            return {"settled": True, "wait_s": now - begun, "mesh": meshes}
        time.sleep(0.25)
    return {"settled": False, "wait_s": MESH_TIMEOUT_S, "mesh": meshes}


def ratio(ours: dict[str, Any], plain: dict[str, Any], key: str, q: str = "p50") -> float:
    """ours / plain of one figure (NaN when either is missing)."""
    a, b = ours.get(key, {}).get(q, float("nan")), plain.get(key, {}).get(q, float("nan"))
    if math.isnan(a) or math.isnan(b) or not b:
        return float("nan")
    return float(a / b)
