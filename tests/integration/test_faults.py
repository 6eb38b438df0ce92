"""Faults across real hosts: partitions, kills, loss, delay, a byzantine twin, skewed
clocks (issue: faults).

Every node is a real `fabnode run` process in its own network namespace, on a
switched 10.77.0.0/24 (tests/netns.py): real libp2p over real veth links, real
SQLite files. Faults come from the kernel (a bridge split, tc netem/tbf,
nftables) and, for clocks, libfaketime in one node's process. Where the machine
cannot make namespaces (not root, no iproute2) or lacks a qdisc, the test is
skipped with the reason; nothing passes silently.

Each test prints what it measured (e.g. seconds from heal to convergence); run
with `-s` to read it. Waits poll with deadlines; nothing sleeps to synchronise.
"""

from __future__ import annotations

import contextlib
import functools
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from ledger.checkpoint import witness_name
from ledger.inclusion import InclusionResult, check_bundle
from ledger.witnessclock import witnessed_at
from node.store.home import NodeHome
from node.store.peerid import peer_id_from_seed
from protocol.governance import parse_charter_toml
from protocol.ids import id_to_text
from tests import netns
from tests.cli_helpers import fabnode
from tests.node_process import api, running_node, wait_until

pytestmark = pytest.mark.integration

CONVERGE_S = 180.0  # sync runs every 30 s and on connect; bootstrap redials every 30 s
ROUNDS = 2  # of notes from each of four publishers while partitioned


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
    env: dict[str, str] = field(default_factory=dict)  # e.g. libfaketime's, for a skewed clock

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
    def identity(self) -> str:
        return str(self.status()["identity"])

    @functools.cached_property
    def address(self) -> str:
        """Its libp2p address, peer id included: known before it runs."""
        peer = peer_id_from_seed(NodeHome(self.home).node_key_seed())
        return f"{self.host.listen()}/p2p/{peer}"

    def running(self, *peers: Node) -> Any:
        boot = [arg for p in peers for arg in ("--bootstrap", p.address)]
        listen = ("--listen", self.host.listen())
        return running_node(self.home, *listen, *boot, wrap=self.host.wrap(), env=self.env)


def make_home(root: Path, name: str) -> Path:
    home = root / name
    status, _ = fabnode("init", home=home)
    assert status == 0
    return home


def make_homes(root: Path, *names: str) -> list[Path]:
    with ThreadPoolExecutor(len(names)) as pool:  # `fabnode init` is mostly start-up time
        return list(pool.map(lambda name: make_home(root, name), names))


def start(stack: ExitStack, node: Node, *peers: Node) -> None:
    node.proc, node.ready = stack.enter_context(node.running(*peers))


def start_mesh(stack: ExitStack, nodes: list[Node]) -> None:
    """All at once, each dialling all others (its peer id is known before it runs)."""

    def enter(node: Node) -> Any:
        running = node.running(*(n for n in nodes if n is not node))
        node.proc, node.ready = running.__enter__()
        return running

    for node in nodes:  # read (or create) each peer key once, before the threads
        assert node.address
    with ThreadPoolExecutor(len(nodes)) as pool:
        started = [pool.submit(enter, node) for node in nodes]
        for future in started:  # each one stops at the end, even if another failed to start
            with contextlib.suppress(Exception):
                stack.push(future.result().__exit__)
        for future in started:
            future.result()
    stack.callback(stop_all, nodes)  # runs first: all stop at once, each still waited for
    for node in nodes:
        wait_until(
            f"{node.home.name} meets all others",
            lambda n=node: len(n.status()["peers"]) >= len(nodes) - 1,
            timeout_s=120,
        )


def stop_all(nodes: list[Node]) -> None:
    """SIGTERM every node at once, then wait for each (a clean stop, as running_node's)."""
    alive = [n.proc for n in nodes if n.proc is not None and n.proc.poll() is None]
    for proc in alive:
        proc.send_signal(signal.SIGTERM)
    for proc in alive:
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


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
    """Five founders of one federation; a rules change is proposed, then the network
    splits 3|2 and both sides publish notes and vote. After the heal every node holds
    the same logs, every acknowledged entry, the same tally and the same rules."""
    net, root = lab_net
    homes = make_homes(root, *(f"lab{i}" for i in range(5)))
    found_federation(homes, "Partitioned Commons")
    nodes = [Node(home, net.hosts[i]) for i, home in enumerate(homes)]
    began = time.monotonic()
    start_mesh(stack, nodes)
    meshed = time.monotonic() - began
    authors = [n.identity for n in nodes]
    changes = {"job_offer_ttl_s": 86400}
    pid = nodes[0].api(
        "POST",
        "/api/v1/governance/proposals",
        {"action": "rules.change", "title": "Shorter job offers", "changes": changes},
    )["proposal"]
    for node in nodes:
        wait_until(f"{node.home.name}: open", lambda n=node: tally(n, pid)["outcome"] == "voting")
    side_a, side_b = nodes[:3], nodes[3:]
    net.partition([n.host.index for n in side_b])

    acked: dict[str, set[str]] = {a: set() for a in authors}
    publishers = (0, 1, 3, 4)
    with ThreadPoolExecutor(4) as pool:
        for round_ in range(ROUNDS):  # both sides keep publishing, at the same time
            texts = [f"round {round_} from lab{i}" for i in publishers]
            notes = pool.map(lambda i, text: nodes[i].note(text), publishers, texts)
            for i, out in zip(publishers, notes, strict=True):
                acked[authors[i]].add(out["entry_id"])
        choices = ("yes", "yes", "no", "yes")  # and vote, on both sides of the cut
        votes = list(pool.map(lambda i, c: vote(nodes[i], pid, c), publishers, choices))
    for i, entry_id in zip(publishers, votes, strict=True):
        acked[authors[i]].add(entry_id)
    for side, side_publishers in ((side_a, (0, 1)), (side_b, (3, 4))):
        for node in side:  # each side agrees within itself...
            for i in side_publishers:
                wait_until(
                    f"{node.home.name} has lab{i}'s notes and vote",
                    lambda n=node, a=authors[i]: acked[a] <= n.entry_ids(a),
                )
    assert not acked[authors[3]] <= side_a[0].entry_ids(authors[3])  # ...and the cut is real
    assert not acked[authors[0]] <= side_b[0].entry_ids(authors[0])

    healed = time.monotonic()
    net.heal()
    wait_until("every node holds the same heads", lambda: converged(nodes), timeout_s=CONVERGE_S)
    took = time.monotonic() - healed
    for node in nodes:
        for author, ids in acked.items():
            assert ids <= node.entry_ids(author), f"{node.home.name} lost acknowledged entries"
    for node in nodes:  # every vote witnessed in time, on every node
        wait_until(
            f"{node.home.name} counts the four votes",
            lambda n=node: set(tally(n, pid)["counted"]) == set(votes),
            timeout_s=CONVERGE_S,
        )
    effect = tally(nodes[0], pid)["effective_at_s"]
    set_clocks(nodes, effect + 60 - int(time.time()))
    finals = [wait_until(f"{n.home.name}: final", lambda n=n: final_tally(n, pid)) for n in nodes]
    assert finals[0]["outcome"] == "passed" and set(finals[0]["counted"]) == set(votes)
    for final in finals[1:]:
        for key in ("outcome", "counted", "excluded", "counts", "deadline_s", "effective_at_s"):
            assert final[key] == finals[0][key], key
    rules = [n.api("GET", "/api/v1/governance/rules") for n in nodes]
    assert len({r["rules_hash"] for r in rules}) == 1  # the same rules in force everywhere
    assert rules[0]["rules"]["job_offer_ttl_s"] == 86400
    report(
        f"partition 3|2, {4 * ROUNDS} notes and 4 votes during the cut",
        mesh_s=meshed,
        converge_after_heal_s=took,
    )


def found_federation(homes: list[Path], name: str) -> None:
    """Every home a founder of one test federation (CHARTER, below)."""
    ids = [NodeHome(h).identity().id for h in homes]
    members = ", ".join(f'"{id_to_text(i)}"' for i in ids)
    charter = parse_charter_toml(CHARTER.format(members=members).replace(SKEWED, name))
    for home in homes:
        NodeHome(home).adopt_charter(charter, [])


def tally(node: Node, proposal: str) -> dict[str, Any]:
    out: dict[str, Any] = node.api("GET", f"/api/v1/governance/proposals/{proposal}/tally")
    return out


def final_tally(node: Node, proposal: str) -> dict[str, Any] | None:
    out = tally(node, proposal)
    return out if out["final"] else None


def test_a_node_killed_mid_sync_restarts_clean_and_catches_up(
    caps: netns.Capabilities, lab_net: tuple[netns.Switch, Path]
) -> None:
    need(caps.tbf)
    net, root = lab_net
    source_home, late_home = make_homes(root, "source", "late")
    source, late = Node(source_home, net.hosts[0]), Node(late_home, net.hosts[1])
    with ExitStack() as stack:
        start(stack, source)
        author = source.identity
        for batch in range(5):
            texts = [f"entry {batch * 1000 + i}" for i in range(1000)]
            source.api("POST", "/api/v1/notes/batch", {"texts": texts})
        net.limit_download(late.host.index, 400)  # so the catch-up takes seconds, not one batch
        with ExitStack() as doomed:
            start(doomed, late, source)
            # The first 1 MiB range frame takes ~20 s at 400 kbit/s; more on a loaded machine.
            partial = wait_until(
                "late is part-way", lambda: late.size(author), timeout_s=CONVERGE_S, every_s=0.05
            )
            assert partial < 5001, "the slowed link let the whole log through at once"
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
    homes = make_homes(root, *(f"lossy{i}" for i in range(5)))
    nodes = [Node(home, net.hosts[i]) for i, home in enumerate(homes)]
    how = ""
    for node in nodes:
        how = net.shape(node.host.index, loss_pct=10)
    began = time.monotonic()
    start_mesh(stack, nodes)
    author = nodes[0].identity
    nodes[0].api("POST", "/api/v1/notes/batch", {"texts": [f"lossy {i}" for i in range(1000)]})
    for i in range(1, 5):
        nodes[i].api("POST", "/api/v1/notes", {"text": f"and one from lossy{i}"})
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
    homes = make_homes(root, *(f"far{i}" for i in range(5)))
    nodes = [Node(home, net.hosts[i]) for i, home in enumerate(homes)]
    for node in nodes:
        net.shape(node.host.index, delay_ms=80, jitter_ms=40, loss_pct=5)
    began = time.monotonic()
    start_mesh(stack, nodes)
    author = nodes[2].identity
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
    *homes, twin_a = make_homes(root, "lab0", "lab2", "lab4", "twin-a")
    twin_b = root / "twin-b"
    shutil.copytree(twin_a, twin_b)  # one identity and its keys on two machines...
    (twin_b / "keys" / "node.key").unlink(missing_ok=True)  # ...with their own peer ids
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
    forker = nodes[1].identity
    assert nodes[3].identity == forker
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


SKEW_S = 600
SKEWED = "Skewed Commons"
CHARTER = """version = 1
name = "Skewed Commons"
text = "Five labs; two of them have their clocks ten minutes off."
test = true
members = [{members}]

[rules]
quorum_permille = 600
pass_threshold_permille = 500
veto_threshold_permille = 334
voting_period_s = 86400
effect_delay_s = 3600
admission_vouches = 2
licences = ["CC-BY-SA-4.0"]
max_entry_bytes = 32768
max_str_bytes = 4096
max_blob_bytes = 104857600
job_offer_ttl_s = 604800
witness_count = 3
"""


def test_hosts_ten_minutes_ahead_and_behind_do_not_move_witness_time_or_deadlines(
    caps: netns.Capabilities, lab_net: tuple[netns.Switch, Path], stack: ExitStack
) -> None:
    """Governance decides deadlines by witnessed-by time (specs/0008 §4): the upper
    median of k = 3 members' cosignature times. One member's clock is 10 minutes
    ahead, another's 10 minutes behind (libfaketime: a namespace does not virtualise
    the clock); their entries and cosignatures carry their time, and every node still
    computes real time for every entry."""
    need(caps.faketime)
    net, root = lab_net
    homes = make_homes(root, *(f"member{i}" for i in range(5)))
    ids = [NodeHome(h).identity().id for h in homes]
    found_federation(homes, SKEWED)  # five founders, whose members witness each other
    nodes = [Node(home, net.hosts[i]) for i, home in enumerate(homes)]
    skew = {ids[3]: SKEW_S, ids[4]: -SKEW_S}
    for i in (3, 4):
        nodes[i].env = {
            "LD_PRELOAD": caps.faketime_lib,
            "FAKETIME": f"{skew[ids[i]]:+d}",
            "FAKETIME_DONT_FAKE_MONOTONIC": "1",
        }
    began = time.time()
    start_mesh(stack, nodes)
    for i in (3, 4):
        clock = nodes[i].status()["governance"]["now_s"]
        assert abs(clock - time.time() - skew[ids[i]]) < 60, "the skew is real"
    notes = {
        ids[i]: node.api("POST", "/api/v1/notes", {"text": f"from member{i}"})
        for i, node in enumerate(nodes)
    }
    names = {witness_name(i): i for i in ids}

    def cosigned(node: Node, entry_id: str) -> InclusionResult | None:
        result = check_bundle(node.api("GET", f"/api/v1/ledger/proofs/{entry_id}"))
        return result if len(result.cosigned_by) == len(ids) - 1 else None

    for node in nodes:  # every member's note, cosigned by the four others, on every node
        for note in notes.values():
            wait_until(
                f"{node.home.name} holds 4 cosignatures",
                lambda n=node, e=note["entry_id"]: cosigned(n, e),
                timeout_s=CONVERGE_S,
            )
    wait_until("every node holds the same heads", lambda: converged(nodes), timeout_s=CONVERGE_S)
    ended = time.time()

    def window(who: bytes) -> tuple[float, float]:
        off = skew.get(who, 0)
        return began + off - 2, ended + off + 2

    for node in nodes:
        for author, note in notes.items():
            result = cosigned(node, note["entry_id"])
            assert result is not None
            stamps = zip(result.cosigned_by, result.cosignature_times, strict=True)
            times = {names[name]: t for name, t in stamps}
            for witness, stamp in times.items():  # each cosignature says its host's time...
                lo, hi = window(witness)
                assert lo <= stamp <= hi, (skew.get(witness, 0), stamp, lo, hi)
            lo, hi = window(author)  # ...and each entry its author's...
            assert lo * 1000 <= result.entry.timestamp_ms <= hi * 1000
            covering = [(result.tree_size, times)]
            at = witnessed_at(result.entry.seq, covering, ids, 3, author=author)
            lo, hi = window(b"")  # ...but the witnessed time is real time, everywhere
            assert at is not None and lo <= at <= hi, (at, lo, hi)
    took = ended - began

    # Governance on that clock: a proposal, three votes in time (one from the fast
    # host), then the federation's test clock is moved past the deadline (specs/0008
    # §1.2). The slow host still believes voting is open and votes: witnessed after
    # the deadline, that vote is late on every node, its own included.
    fast, slow = nodes[3], nodes[4]
    changes = {"job_offer_ttl_s": 86400}
    proposed = nodes[0].api(
        "POST",
        "/api/v1/governance/proposals",
        {"action": "rules.change", "title": "Shorter job offers", "changes": changes},
    )
    pid = proposed["proposal"]

    on_time = nodes[:4]  # the slow host's clock is still before the witnessed opening
    for node in on_time:
        wait_until(f"{node.home.name}: open", lambda n=node: tally(n, pid)["outcome"] == "voting")
    in_time = {vote(node, pid, "yes") for node in (nodes[0], nodes[1], fast)}
    for node in on_time:
        wait_until(
            f"{node.home.name} counts three witnessed votes",
            lambda n=node: set(tally(n, pid)["counted"]) == in_time,
            timeout_s=CONVERGE_S,
        )
    deadline = wait_until(
        "one deadline on every node",
        lambda: len(d := {tally(n, pid)["deadline_s"] for n in on_time}) == 1 and d.pop(),
    )
    set_clocks(nodes, deadline + 300 - int(time.time()))  # witness time: 5 minutes late
    assert slow.status()["governance"]["now_s"] < deadline, "the slow host thinks it is in time"
    assert tally(slow, pid)["outcome"] == "voting" and set(tally(slow, pid)["counted"]) == in_time
    late = vote(slow, pid, "no")
    for node in nodes:
        wait_until(
            f"{node.home.name} judges the slow host's vote late",
            lambda n=node: tally(n, pid)["excluded"].get(late) == "late",
            timeout_s=CONVERGE_S,
        )
    effect = tally(nodes[0], pid)["effective_at_s"]
    set_clocks(nodes, effect + 2 * SKEW_S - int(time.time()))  # the slow host too is past it
    finals = [wait_until(f"{n.home.name}: final", lambda n=n: final_tally(n, pid)) for n in nodes]
    for final in finals:
        assert final["outcome"] == "passed" and set(final["counted"]) == in_time
        assert final["excluded"] == {late: "late"}
        for key in ("opened_at_s", "deadline_s", "effective_at_s", "counts"):
            assert final[key] == finals[0][key], key
    rules = [n.api("GET", "/api/v1/governance/rules") for n in nodes]
    assert len({r["rules_hash"] for r in rules}) == 1  # the same rules in force everywhere
    assert rules[0]["rules"]["job_offer_ttl_s"] == 86400
    report("one host +600 s, one -600 s", cosigned_everywhere_s=took, gov_s=time.time() - ended)


def vote(node: Node, proposal: str, choice: str) -> str:
    path = f"/api/v1/governance/proposals/{proposal}/votes"
    return str(node.api("POST", path, {"choice": choice})["vote"])


def set_clocks(nodes: list[Node], offset_s: int) -> None:
    """Move every node's test-federation clock to `offset_s` (never backwards)."""
    for node in nodes:
        node.api("POST", "/api/v1/governance/test-clock", {"offset_s": offset_s})
