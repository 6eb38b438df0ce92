"""Faults across real hosts: partitions, kills, loss, delay, a byzantine twin (issue: faults).

Every node is a real `fabnode run` process in its own network namespace, on a
switched 10.77.0.0/24 (tests/netns.py): real libp2p over real veth links, real
SQLite files. Faults come from the kernel (a bridge split, tc netem/tbf,
nftables). Where the machine cannot make namespaces (not root, no iproute2) or
lacks a qdisc, the test is skipped with the reason; nothing passes silently.

Each test prints what it measured (e.g. seconds from heal to convergence); run
with `-s` to read it. Waits poll with deadlines; nothing sleeps to synchronise.
"""

from __future__ import annotations

import shutil
import signal
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests import netns
from tests.cli_helpers import fabnode
from tests.node_process import api, running_node, wait_until

pytestmark = pytest.mark.integration

CONVERGE_S = 180.0  # sync runs every 30 s and on connect; bootstrap redials every 30 s


@pytest.fixture(scope="module")
def caps() -> netns.Capabilities:
    return netns.probe()


@pytest.fixture
def stack() -> Iterator[ExitStack]:
    with ExitStack() as s:
        yield s


def need(reason: str | None) -> None:
    if reason is not None:
        pytest.skip(f"fault test skipped: {reason}")


@dataclass
class Node:
    """One lab: a home on one host; `ready` once its process runs."""

    home: Path
    host: netns.Host
    proc: Any = None
    ready: dict[str, Any] = field(default_factory=dict)

    def api(self, method: str, path: str, body: Any = None) -> Any:
        return self.host.call(lambda: api(self.home, method, path, body))

    def status(self) -> dict[str, Any]:
        out: dict[str, Any] = self.api("GET", "/api/v1/status")
        return out

    def heads(self) -> dict[str, tuple[int, str | None]]:
        return {h["author"]: (h["size"], h["head"]) for h in self.status()["logs"]}

    def size(self, author: str) -> int:
        return self.heads().get(author, (0, None))[0]

    def entry_ids(self, author: str) -> set[str]:
        rows = self.api("GET", f"/api/v1/ledger/entries?author={author}&limit=100000")
        return {r["id"] for r in rows["entries"]}

    def fork_proofs_of(self, author: str) -> list[dict[str, Any]]:
        proofs = self.api("GET", "/api/v1/ledger/fork-proofs")["fork_proofs"]
        return [p for p in proofs if p["author"] == author]

    def note(self, text: str) -> dict[str, Any]:
        """`fabnode note` on this node's host, through the running node: acknowledged."""
        status, out = fabnode("note", text, home=self.home, wrap=self.host.wrap())
        assert status == 0, out
        return dict(out)

    @property
    def listen(self) -> str:
        return str(self.ready["listen"][0])


def make_home(root: Path, name: str) -> Path:
    home = root / name
    status, _ = fabnode("init", home=home)
    assert status == 0
    return home


def identity(home: Path) -> str:
    return str(fabnode("id", home=home)[1]["identity"])


def start(stack: ExitStack, node: Node, *peers: Node, env: dict[str, str] | None = None) -> None:
    boot = [arg for p in peers for arg in ("--bootstrap", p.listen)]
    node.proc, node.ready = stack.enter_context(
        running_node(
            node.home, "--listen", node.host.listen(), *boot, wrap=node.host.wrap(), env=env
        )
    )


def start_mesh(stack: ExitStack, nodes: list[Node]) -> None:
    """Each node dials all started before it: a full mesh once all are up."""
    for i, node in enumerate(nodes):
        start(stack, node, *nodes[:i])
    for node in nodes:
        wait_until(
            f"{node.home.name} meets all others",
            lambda n=node: len(n.status()["peers"]) >= len(nodes) - 1,
            timeout_s=120,
        )


def converged(nodes: list[Node]) -> bool:
    heads = [n.heads() for n in nodes]
    return all(h == heads[0] for h in heads)


def report(what: str, **figures: float | int | str) -> None:
    shown = ", ".join(
        f"{k}={v:.1f}" if isinstance(v, float) else f"{k}={v}" for k, v in figures.items()
    )
    print(f"\n[faults] {what}: {shown}")


@pytest.fixture
def lab_net(caps: netns.Capabilities, tmp_path: Path) -> Iterator[tuple[netns.Switch, Path]]:
    need(caps.namespaces)
    with netns.switch(caps, 5) as net:
        yield net, tmp_path


def test_a_partition_with_both_sides_publishing_heals_into_one_history(
    lab_net: tuple[netns.Switch, Path], stack: ExitStack
) -> None:
    net, root = lab_net
    nodes = [Node(make_home(root, f"lab{i}"), net.hosts[i]) for i in range(5)]
    authors = [identity(n.home) for n in nodes]
    start_mesh(stack, nodes)
    side_a, side_b = nodes[:3], nodes[3:]
    net.partition([n.host.index for n in side_b])

    acked: dict[str, set[str]] = {a: set() for a in authors}
    for round_ in range(3):  # both sides keep publishing
        for i in (0, 1, 3, 4):
            acked[authors[i]].add(nodes[i].note(f"round {round_} from lab{i}")["entry_id"])
    for side, publishers in ((side_a, (0, 1)), (side_b, (3, 4))):
        for node in side:  # each side agrees within itself...
            for i in publishers:
                wait_until(
                    f"{node.home.name} has lab{i}'s notes",
                    lambda n=node, a=authors[i]: n.size(a) >= 4,
                )
    assert side_a[0].size(authors[3]) < 4  # ...and the cut is real
    assert side_b[0].size(authors[0]) < 4

    healed = time.monotonic()
    net.heal()
    wait_until("every node holds the same heads", lambda: converged(nodes), timeout_s=CONVERGE_S)
    took = time.monotonic() - healed
    for node in nodes:
        for author, ids in acked.items():
            assert ids <= node.entry_ids(author), f"{node.home.name} lost acknowledged entries"
    assert all(size == 4 for size, _ in nodes[0].heads().values())
    report("partition 3|2, 12 notes during the cut", converge_after_heal_s=took)


def test_a_node_killed_mid_sync_restarts_clean_and_catches_up(
    caps: netns.Capabilities, lab_net: tuple[netns.Switch, Path]
) -> None:
    need(caps.tbf)
    net, root = lab_net
    source = Node(make_home(root, "source"), net.hosts[0])
    late = Node(make_home(root, "late"), net.hosts[1])
    author = identity(source.home)
    with ExitStack() as stack:
        start(stack, source)
        for batch in range(5):
            texts = [f"entry {batch * 1000 + i}" for i in range(1000)]
            source.api("POST", "/api/v1/notes/batch", {"texts": texts})
        net.limit_download(late.host.index, 400)  # so the catch-up takes seconds, not one batch
        with ExitStack() as doomed:
            start(doomed, late, source)
            partial = wait_until(
                "late is part-way",
                lambda: 0 < late.size(author) < 5001 and late.size(author),
                every_s=0.05,
            )
            late.proc.send_signal(signal.SIGKILL)  # no clean stop: mid-transaction, maybe
            late.proc.wait()
        status, checked = fabnode("ledger", "verify", home=late.home)
        assert status == 0 and checked["ok"], checked  # no corruption...
        assert checked["entries"] < 5001  # ...cut off part-way, its checkpoint ahead
        assert checked["checkpoints_ahead"] == 1, checked
        net.unlimit_download(late.host.index)
        restarted = time.monotonic()
        start(stack, late, source)
        wait_until("late catches up", lambda: late.size(author) == 5001, timeout_s=CONVERGE_S)
        took = time.monotonic() - restarted
    status, checked = fabnode("ledger", "verify", home=late.home)
    assert status == 0 and checked["ok"] and checked["entries"] == 5001, checked
    assert checked["checkpoints_ahead"] == 0
    report(
        "SIGKILL mid-sync of 5,000 entries",
        killed_at_entries=partial,
        catch_up_after_restart_s=took,
    )


def test_sync_completes_with_10_percent_loss_on_every_link(
    caps: netns.Capabilities, lab_net: tuple[netns.Switch, Path], stack: ExitStack
) -> None:
    if caps.netem is not None:
        need(caps.nft)
    net, root = lab_net
    nodes = [Node(make_home(root, f"lossy{i}"), net.hosts[i]) for i in range(5)]
    how = ""
    for node in nodes:
        how = net.shape(node.host.index, loss_pct=10)
    began = time.monotonic()
    start_mesh(stack, nodes)
    author = identity(nodes[0].home)
    nodes[0].api("POST", "/api/v1/notes/batch", {"texts": [f"lossy {i}" for i in range(1000)]})
    for i in range(1, 5):
        nodes[i].note(f"and one from lossy{i}")
    wait_until(
        "all hold the same heads",
        lambda: converged(nodes) and nodes[4].size(author) == 1001,
        timeout_s=CONVERGE_S,
    )
    dropped = sum(net.dropped(n.host.index) for n in nodes)
    assert dropped > 0  # the loss was real
    report(
        "10 % loss on every link",
        dropped_by=how,
        packets_dropped=dropped,
        mesh_and_sync_s=time.monotonic() - began,
    )


def test_sync_completes_over_delayed_jittery_lossy_links(
    caps: netns.Capabilities, lab_net: tuple[netns.Switch, Path], stack: ExitStack
) -> None:
    need(caps.netem)
    net, root = lab_net
    nodes = [Node(make_home(root, f"far{i}"), net.hosts[i]) for i in range(5)]
    for node in nodes:
        net.shape(node.host.index, delay_ms=80, jitter_ms=40, loss_pct=5)
    began = time.monotonic()
    start_mesh(stack, nodes)
    author = identity(nodes[2].home)
    nodes[2].api("POST", "/api/v1/notes/batch", {"texts": [f"far {i}" for i in range(500)]})
    wait_until(
        "all hold the same heads",
        lambda: converged(nodes) and nodes[0].size(author) == 501,
        timeout_s=CONVERGE_S,
    )
    report("80±40 ms delay, 5 % loss", mesh_and_sync_s=time.monotonic() - began)


def test_an_author_equivocating_across_a_partition_is_caught_when_it_heals(
    lab_net: tuple[netns.Switch, Path], stack: ExitStack
) -> None:
    net, root = lab_net
    homes = [make_home(root, f"lab{i}") for i in (0, 2, 4)]
    twin_a = make_home(root, "twin-a")
    twin_b = root / "twin-b"
    shutil.copytree(twin_a, twin_b)  # one identity and its keys on two machines...
    (twin_b / "keys" / "node.key").unlink(missing_ok=True)  # ...with their own peer ids
    forker = identity(twin_a)
    # side A: lab0, twin-a, lab2 | side B: twin-b, lab4; each twin has its own
    # signing guard (FABNODE_STATE_DIR beside each home), so neither refuses.
    nodes = [
        Node(homes[0], net.hosts[0]),
        Node(twin_a, net.hosts[1]),
        Node(homes[1], net.hosts[2]),
        Node(twin_b, net.hosts[3]),
        Node(homes[2], net.hosts[4]),
    ]
    start_mesh(stack, nodes)
    net.partition([3, 4])
    one = nodes[1].note("history one")
    two = nodes[3].note("history two")
    assert one["seq"] == two["seq"] == 2 and one["entry_id"] != two["entry_id"]
    for node in nodes:
        wait_until(f"{node.home.name} has a seq 2", lambda n=node: n.size(forker) == 2)
        assert not node.fork_proofs_of(forker)  # neither side can tell yet

    healed = time.monotonic()
    net.heal()
    for node in nodes:
        wait_until(
            f"the fork proof on {node.home.name}",
            lambda n=node: n.fork_proofs_of(forker),
            timeout_s=CONVERGE_S,
        )
        assert forker in node.status()["frozen_authors"]
    report(
        "equivocation across a 3|2 partition",
        proof_everywhere_after_heal_s=time.monotonic() - healed,
    )


def test_namespaces_of_a_crashed_run_are_cleaned_up(caps: netns.Capabilities) -> None:
    need(caps.namespaces)
    dead = 2**22 + 1  # above the default pid_max: no process has it
    while netns.pid_alive(dead):
        dead += 1
    stale = f"{netns.PREFIX}{dead}-sw"
    netns.add_namespace(stale)
    assert stale in netns.delete_stale_namespaces()
    assert stale not in netns.list_namespaces()
