"""Reachability behind NAT, measured (issue 15; specs/0014 §6-§7.5): time to first sync
behind a NAT, relayed against direct throughput, and DCUtR's hole punches.

Real `fabnode run` processes in network namespaces (tests/netns.py): one member with a
public address on a switched segment and `labs` labs, each behind its own nftables
masquerade router with no port forwarded; once with routers that drop what reaches
them unasked ("routers-drop", most home routers) and once with routers that answer it
with a reset ("routers-reset", Linux with no filter rule). For each router kind:

1. time to first sync: the labs are started one after the other, each with only the
   member as bootstrap; from its process start to its ready line, to its first
   completed sync session (`sync.syncs_completed` of GET /api/v1/status) and to
   holding the member's log (statuses polled every POLL_S);
2. hole punches: the labs reach each other only through the member's relay (they
   reserve there, 0014 §7), and DCUtR tries to upgrade each relayed link (§7.5). Per
   pair of labs, the time from the later lab's start to a relayed link and to a direct
   one (the doctors' `connections`, polled every DOCTOR_POLL_S), watched for `watch_s`
   once every pair is linked (at most LINK_TIMEOUT_S); DCUtR's attempts and successes
   summed over the labs' doctors;
3. throughput: the second lab fetches a blob of `blob_bytes` that only the first holds
   (POST /api/v1/blobs/ID/fetch; a blob no entry names, so the member neither holds
   it nor fetches it for others), over whatever link the two hold (the doctor says
   which before and after; the member's relay byte counter, /metrics, how many bytes
   crossed it); then an equal blob that only the member holds, over the lab's direct
   connection to it. Bytes/s each, and lab-to-lab / from the member. With routers that
   reset, DCUtR cannot open a direct link, so the first is the relayed figure; the
   member relay cuts a circuit at 64 MiB, far above the blob.

Figures only: nothing asserts on time. Needs root, iproute2 and nftables, like the NAT
tests; elsewhere it prints why and measures nothing. The namespaces, nodes and homes
go away at the end, on Ctrl-C and on SIGTERM.
Run: python -m bench.nat [--quick]  (make bench-nat); the last line printed is every
figure as JSON.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from node.cli.client import NodeClient
from node.store.home import NodeHome
from protocol.errors import CommonsError
from tests import netns
from tests.integration.test_metrics import scrape, token_of, value
from tests.node_process import running_node

PORT = 4001
LAB_LISTEN = f"/ip4/0.0.0.0/tcp/{PORT}"
#: Router kinds: name -> `stealth` (drop what reaches the router unasked).
KINDS = {"routers-drop": True, "routers-reset": False}
POLL_S = 0.2
DOCTOR_POLL_S = 0.5
SYNC_TIMEOUT_S = 120.0
#: Reservations at the member, then the relayed records' exchange: ~40-80 s (tests).
LINK_TIMEOUT_S = 200.0
MIB = 1024 * 1024

Row = tuple[str, str, str]  # figure, value, note (bench.table's rows)


@dataclass(frozen=True)
class Plan:
    labs: int  # behind NAT, per router kind: labs * (labs - 1) / 2 pairs to punch
    blob_bytes: int
    watch_s: float  # how long DCUtR is watched once every pair is linked


FULL = Plan(labs=3, blob_bytes=16 * MIB, watch_s=30.0)
QUICK = Plan(labs=2, blob_bytes=4 * MIB, watch_s=15.0)


@dataclass
class Node:
    name: str
    host: netns.Host
    home: Path
    ready: dict[str, Any]
    started: float  # time.monotonic() just before its process was launched
    ready_s: float

    @property
    def peer(self) -> str:
        return str(self.ready["peer_id"])

    def call(self, method: str, path: str, body: Any = None) -> Any:
        return netns.api_on(self.host, self.home, method, path, body)


def start(stack: ExitStack, root: Path, name: str, host: netns.Host, *args: str) -> Node:
    """A new home `name` and its node on `host`, stopped when `stack` closes."""
    home = netns.init_home(root, name)
    began = time.monotonic()
    _, ready = stack.enter_context(running_node(home, *args, wrap=host.wrap()))
    return Node(name, host, home, dict(ready), began, time.monotonic() - began)


def first_sync(lab: Node, member: str, member_size: int) -> dict[str, Any]:
    """Seconds from the lab's process start to its ready line, its first completed sync
    session and its holding the member's whole log (None: not within SYNC_TIMEOUT_S)."""
    synced: float | None = None
    held: float | None = None
    while synced is None or held is None:
        status = lab.call("GET", "/api/v1/status")
        now = time.monotonic() - lab.started
        if synced is None and status["sync"]["syncs_completed"] >= 1:
            synced = now
        logs = status["logs"]
        if held is None and any(h["author"] == member and h["size"] >= member_size for h in logs):
            held = now
        if now > SYNC_TIMEOUT_S:
            break
        time.sleep(POLL_S)
    return {"ready_s": lab.ready_s, "first_sync_s": synced, "member_log_s": held}


def links(labs: Sequence[Node]) -> dict[tuple[int, int], set[str]]:
    """(i, j) with i < j -> the kinds of connection ("relayed", "direct") either lab
    of the pair reports to the other."""
    index = {lab.peer: i for i, lab in enumerate(labs)}
    found: dict[tuple[int, int], set[str]] = {}
    for i, lab in enumerate(labs):
        for c in lab.call("GET", "/api/v1/doctor")["connections"]:
            j = index.get(c["peer"])
            if j is not None and j != i:
                found.setdefault((min(i, j), max(i, j)), set()).add(c["connection"])
    return found


def watch_pairs(labs: Sequence[Node], watch_s: float) -> dict[tuple[int, int], dict[str, float]]:
    """Per pair, seconds from the later lab's start to its first relayed and its first
    direct link: until every pair is direct, or `watch_s` after every pair is linked,
    or LINK_TIMEOUT_S."""
    pairs = list(itertools.combinations(range(len(labs)), 2))
    seen: dict[tuple[int, int], dict[str, float]] = {p: {} for p in pairs}
    deadline = time.monotonic() + LINK_TIMEOUT_S
    linked = False
    while time.monotonic() < deadline:
        now_links = links(labs)
        now = time.monotonic()
        for (i, j), kinds in now_links.items():
            since = max(labs[i].started, labs[j].started)
            for kind in kinds:
                seen[(i, j)].setdefault(f"{kind}_s", now - since)
        if not linked and all(seen.values()):
            linked, deadline = True, min(deadline, now + watch_s)
        if all("direct_s" in s for s in seen.values()):
            break
        time.sleep(DOCTOR_POLL_S)
    return seen


def relay_bytes(member: Node) -> float:
    metrics = member.host.call(lambda: scrape(member.ready["api"], token_of(member.home)))
    return value(metrics, "fabnode_relay_bytes_total")


def add_blob(node: Node, path: Path) -> str:
    """Store the file at `path` as a blob of `node`'s (POST /api/v1/blobs); its id."""

    def send() -> Any:
        client = NodeClient.discover(NodeHome(node.home))
        assert client is not None, f"no node running on {node.home}"
        return client.send_file("POST", "/api/v1/blobs", path)

    return str(node.host.call(send)["blob"])


def connection_kinds(node: Node, peer: str) -> list[str]:
    connections = node.call("GET", "/api/v1/doctor")["connections"]
    return sorted(c["connection"] for c in connections if c["peer"] == peer)


def fetch_rate(fetcher: Node, source: Node, member: Node, size: int, root: Path) -> dict[str, Any]:
    """`fetcher` fetches `size` random bytes that only `source` holds."""
    path = root / f"blob-of-{source.name}.bin"
    path.write_bytes(os.urandom(size))
    blob = add_blob(source, path)
    before, relayed_before = connection_kinds(fetcher, source.peer), relay_bytes(member)
    began = time.perf_counter()
    got = fetcher.call("POST", f"/api/v1/blobs/{blob}/fetch")
    seconds = time.perf_counter() - began
    names = {n.peer: n.name for n in (fetcher, source, member)}
    return {
        "from": source.name,
        "bytes": size,
        "seconds": seconds,
        "bytes_per_s": size / seconds,
        "status": got.get("status"),
        "peer": names.get(got.get("peer") or "", got.get("peer")),
        "through": names.get(got.get("through") or "", got.get("through")),
        "link_before": before,
        "link_after": connection_kinds(fetcher, source.peer),
        "relay_bytes": relay_bytes(member) - relayed_before,
    }


def fetch_or_error(
    fetcher: Node, source: Node, member: Node, size: int, root: Path
) -> dict[str, Any]:
    """`fetch_rate`, or the error code of a fetch that failed (no link to `source`)."""
    try:
        return fetch_rate(fetcher, source, member, size, root)
    except CommonsError as e:
        return {"from": source.name, "error": e.code}


def measure_kind(caps: netns.Capabilities, stealth: bool, plan: Plan) -> dict[str, Any]:
    """One member and `plan.labs` labs behind routers of one kind: the module's 1-3."""
    # left in reverse: the nodes stop, then the namespaces and the homes go
    with (
        tempfile.TemporaryDirectory(prefix="fabnode-bench-nat-") as tmp,
        netns.switch(caps, 1) as net,
        ExitStack() as stack,
    ):
        root = Path(tmp)
        (member_host,) = net.hosts
        lab_hosts = [net.add_nat_lab(stealth=stealth)[0] for _ in range(plan.labs)]
        member = start(stack, root, "member", member_host, "--listen", member_host.listen(PORT))
        member.call("POST", "/api/v1/notes", {"text": "the member's log, for the labs to sync"})
        own = member.call("GET", "/api/v1/status")
        member_id = own["identity"]
        member_size = next(h["size"] for h in own["logs"] if h["author"] == member_id)
        boot = ("--listen", LAB_LISTEN, "--bootstrap", member.ready["listen"][0])
        labs, synced = [], []
        for i, host in enumerate(lab_hosts):
            labs.append(start(stack, root, f"lab-{i}", host, *boot))
            synced.append(first_sync(labs[-1], member_id, member_size))
        pairs = watch_pairs(labs, plan.watch_s)
        punches = [lab.call("GET", "/api/v1/doctor")["hole_punches"] for lab in labs]
        b, a = labs[1], labs[0]
        return {
            "first_sync": synced,
            "pairs": {f"lab-{i}/lab-{j}": seen for (i, j), seen in pairs.items()},
            "hole_punches": {
                "attempts": sum(p["attempts"] for p in punches),
                "successes": sum(p["successes"] for p in punches),
            },
            "from_lab": fetch_or_error(b, a, member, plan.blob_bytes, root),
            "from_member": fetch_or_error(b, member, member, plan.blob_bytes, root),
        }


def machine() -> str:
    """The CPU this ran on, for the printed header."""
    cpuinfo = Path("/proc/cpuinfo")
    lines = cpuinfo.read_text().splitlines() if cpuinfo.exists() else []
    model = next((ln.split(":", 1)[1].strip() for ln in lines if ln.startswith("model name")), "")
    return f"{platform.machine()}, {os.cpu_count()} CPUs {model}".strip()


def measure(quick: bool = False) -> dict[str, Any]:
    """Every figure, or {"skipped": why} where namespaces or nftables are missing."""
    caps = netns.probe()
    why = caps.namespaces or caps.nft
    if why is not None:
        return {"skipped": why}
    plan = QUICK if quick else FULL
    load_before, began = os.getloadavg()[0], time.monotonic()
    kinds = {name: measure_kind(caps, stealth, plan) for name, stealth in KINDS.items()}
    return {
        "plan": asdict(plan),
        "machine": machine(),
        "load_before": load_before,
        "load_after": os.getloadavg()[0],
        "seconds": time.monotonic() - began,
        "kinds": kinds,
    }


def _median(values: Sequence[float | None]) -> str:
    known = [v for v in values if v is not None]
    missed = f", {len(values) - len(known)} not in time" if len(known) < len(values) else ""
    return f"{statistics.median(known):.1f} s{missed}" if known else "none in time"


def _pairs(kind: dict[str, Any]) -> str:
    """Per pair of labs, seconds from the later one's start: relayed link / direct link."""
    shown = []
    for name, seen in kind["pairs"].items():
        relayed, direct = seen.get("relayed_s"), seen.get("direct_s")
        r = f"{relayed:.0f}" if relayed is not None else "-"
        d = f"{direct:.0f}" if direct is not None else "-"
        shown.append(f"{name.replace('lab-', '')} {r}/{d} s")
    return "pairs, relayed/direct link after: " + ", ".join(shown)


def _rate(f: dict[str, Any]) -> str:
    if "error" in f:
        return f"FAILED: {f['error']}"
    link = "/".join(f["link_after"]) or "no link"
    return (
        f"{f['bytes_per_s'] / MIB:.2f} MiB/s ({f['bytes'] / MIB:.0f} MiB in {f['seconds']:.1f} s,"
        f" {link}, {f['relay_bytes'] / MIB:.1f} MiB through the relay)"
    )


def table_rows(f: dict[str, Any]) -> list[Row]:
    """The figures as rows (bench.table's section, and this module's own print)."""
    if "skipped" in f:
        return [("skipped", str(f["skipped"])[:90], "")]
    rows: list[Row] = []
    every = [s for k in f["kinds"].values() for s in k["first_sync"]]
    rows.append(
        (
            f"behind NAT, process start -> first sync / member's log (median of {len(every)})",
            f"{_median([s['first_sync_s'] for s in every])} /"
            f" {_median([s['member_log_s'] for s in every])}",
            f"ready line {_median([s['ready_s'] for s in every])}",
        )
    )
    for name, kind in f["kinds"].items():
        punches = kind["hole_punches"]
        rows.append(
            (
                f"{name}: DCUtR successes / attempts",
                f"{punches['successes']} / {punches['attempts']}",
                _pairs(kind),
            )
        )
        lab, member = kind["from_lab"], kind["from_member"]
        ratio = ""
        if "error" not in lab and "error" not in member:
            ratio = f"lab-to-lab / direct = {lab['bytes_per_s'] / member['bytes_per_s']:.2f}"
        rows.append((f"{name}: lab B from lab A", _rate(lab), ""))
        rows.append((f"{name}: lab B from the member (direct)", _rate(member), ratio))
    return rows


def print_rows(f: dict[str, Any]) -> None:
    if "skipped" not in f:
        print(
            f"bench.nat: {f['machine']}; load average {f['load_before']:.1f} before,"
            f" {f['load_after']:.1f} after; {f['seconds']:.0f} s; plan {f['plan']}"
        )
    rows = table_rows(f)
    width = [max(len(r[i]) for r in rows) for i in range(2)]
    for figure, value_, note in rows:
        print(f"{figure:<{width[0]}}  {value_:<{width[1]}}  {note}".rstrip())


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.nat", description=__doc__)
    parser.add_argument(
        "--quick", action="store_true", help="2 labs per router kind and a 4 MiB blob"
    )
    args = parser.parse_args(argv)
    # SIGTERM (a timeout) unwinds like Ctrl-C: nodes stopped, namespaces deleted.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    figures = measure(args.quick)
    print_rows(figures)
    print(json.dumps(figures, sort_keys=True, default=str))


if __name__ == "__main__":
    main()
