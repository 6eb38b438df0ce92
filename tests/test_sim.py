"""The federation simulator (specs/0013-simulation.md): a small run holds every property,
a run is a function of its seed, and the checks catch what they claim to."""

from __future__ import annotations

import dataclasses
import functools
import json

import pytest

from bench import sim as sim_cli
from ledger.log import Ledger
from ledger.sim import checks
from ledger.sim.rng import Rng
from ledger.sim.scenario import build, run, schedule
from ledger.sim.state import SimConfig
from ledger.sim.world import Links, Scheduler
from ledger.store import MemoryLogStore
from protocol import kinds
from protocol.entry import sign_entry
from tests.factory import NETWORK, Author
from tests.sync_harness import Peer, run_session

SMALL = SimConfig(seed=7, nodes=50)


@functools.cache
def small_report() -> checks.Report:
    return run(SMALL)


def test_small_run_holds_every_property() -> None:
    report = small_report()
    props = report["properties"]
    assert report["ok"], props
    for name in ("converged", "forks_detected", "no_honest_author_frozen", "same_rules",
                 "no_acknowledged_lost", "no_forgery_stored"):  # fmt: skip
        assert props[name] is True, name
    assert props["rules_hash_variants"] == 1
    assert report["converged_at_ms"] is not None
    assert report["convergence_ms"] >= 0


def test_small_run_exercised_the_faults() -> None:
    report = small_report()
    assert report["announcements"]["rejected"] >= 2  # the forgeries, refused at first hop
    assert report["syncs"]["failed"] > 0  # across the partition and to crashed nodes
    assert report["syncs"]["entries_stored"] > 0  # sync repaired what gossip missed
    assert report["entries_acknowledged"] >= SMALL.authors * SMALL.entries_per_author - 10
    assert report["bytes_per_node"] > 0


def test_same_seed_same_report_other_seed_another() -> None:
    config = SimConfig(seed=3, nodes=24, authors=8, entries_per_author=3, crashes=1)
    first, again = run(config), run(config)
    assert first["digest"] == again["digest"]
    assert first == again
    other = run(dataclasses.replace(config, seed=4))
    assert other["digest"] != first["digest"]
    assert other["ok"] and first["ok"]


def test_checks_catch_a_lost_entry_and_a_node_behind() -> None:
    sim = build(SimConfig(seed=5, nodes=20, authors=6, entries_per_author=2, crashes=1))
    schedule(sim)
    sim.fed.sched.run_until(120_000)
    assert checks.report(sim, {})["ok"]
    sim.writers[0].acknowledged.append(b"\x01" * 32)  # acknowledged, stored nowhere
    lagging = sim.honest[-1]
    lagging.store = MemoryLogStore()  # a node that lost everything
    lagging.ledger = Ledger(lagging.store)
    after = checks.report(sim, {})
    assert after["properties"]["no_acknowledged_lost"] is False
    assert after["properties"]["converged"] is False
    assert after["properties"]["forks_detected"] is False
    assert after["ok"] is False


def test_rng_is_reproducible_and_in_range() -> None:
    a, b = Rng(42), Rng(42)
    assert [a.next_u64() for _ in range(5)] == [b.next_u64() for _ in range(5)]
    r = Rng(1)
    draws = [r.below(7) for _ in range(7000)]
    assert set(draws) == set(range(7))
    assert all(800 < draws.count(i) < 1200 for i in range(7))
    assert all(0.0 <= r.random() < 1.0 for _ in range(1000))
    picked = r.sample(range(100), 10)
    assert len(set(picked)) == 10 and all(0 <= p < 100 for p in picked)
    with pytest.raises(ValueError):
        r.below(0)


def test_scheduler_runs_in_time_then_insertion_order() -> None:
    sched, seen = Scheduler(), list[str]()
    for name, at in (("b", 5), ("a", 1), ("c", 5), ("d", 9)):
        sched.at(at, functools.partial(seen.append, name))
    sched.run_until(5)
    assert seen == ["a", "b", "c"] and sched.now_ms == 5
    sched.run_until(100)
    assert seen[-1] == "d"


def test_links_partitions_crashes_and_loss() -> None:
    links = Links(4, Rng(9), loss=0.0)
    assert links.send(0, 1, 100, lossy=True) is not None
    links.side.update({0: 0, 1: 1, 2: 0, 3: 1})
    assert links.send(0, 1, 100, lossy=False) is None  # partitioned: counted, not delivered
    assert links.send(0, 2, 100, lossy=False) is not None
    links.side.clear()
    links.down.add(2)
    assert links.send(0, 2, 100, lossy=False) is None
    assert links.send(2, 0, 100, lossy=False) is None  # a down node sends nothing
    assert links.bytes_sent == [400, 0, 0, 0]
    lossy = Links(2, Rng(9), loss=1.0)
    assert lossy.send(0, 1, 10, lossy=True) is None
    assert lossy.send(0, 1, 10, lossy=False) is not None  # streams are reliable


def test_config_is_checked() -> None:
    with pytest.raises(ValueError):
        build(SimConfig(nodes=5, authors=12))


def test_sync_turns_an_equivocation_at_an_equal_size_into_a_fork_proof() -> None:
    """Found by the simulator: two peers holding the two branches of a fork at the same
    size fetch nothing from each other; their heads' checkpoints still disagree."""
    author = Author("sim-equivocator")
    author.note("shared")
    branches = []
    for text in ("left", "right"):
        entry = sign_entry(author.signing, network=NETWORK, author=author.id, seq=3,
                           prev=author.entries[-1].id, timestamp_ms=author.clock_ms + 1,
                           kind=kinds.NOTE, body={"text": text})  # fmt: skip
        ledger = Ledger(MemoryLogStore())
        ledger.ingest([e.raw for e in author.entries] + [entry.raw])
        ledger.sign_checkpoint(author.signing, NETWORK, author.id)
        branches.append(Peer(text, ledger))
    run_session(branches[0], branches[1])
    for peer in branches:
        assert peer.ledger.is_frozen(NETWORK, author.id)
        assert [p.author for p in peer.ledger.store.fork_proofs()] == [author.id]
        assert [e.code for e in peer.rejected] == ["verify.inconsistent-checkpoint"]


def test_logs_held_from_the_start_cost_the_full_exchange_and_not_reconciliation() -> None:
    """specs/0013 §4.1: every node holds 300 more logs; both ways converge and hold them;
    an idle round of full head exchanges carries them, a reconciled one does not."""
    config = SimConfig(seed=2, nodes=24, authors=6, entries_per_author=2, crashes=1)
    alone = run(config)
    full, reconciled = (
        run(dataclasses.replace(config, identities=300, reconcile=r)) for r in (False, True)
    )
    assert full["ok"] and reconciled["ok"] and alone["ok"]
    idle = {name: r["idle_sync_bytes_per_node"] for name, r in
            (("alone", alone), ("full", full), ("reconciled", reconciled))}  # fmt: skip
    assert idle["full"] > 100 * idle["reconciled"]  # ~300 heads a session, each way
    assert idle["reconciled"] < 2 * idle["alone"]  # a fingerprint covers them all
    assert full["heal_to_converged_bytes_per_node"] > reconciled["heal_to_converged_bytes_per_node"]


def test_held_logs_are_in_every_nodes_target() -> None:
    sim = build(SimConfig(seed=5, nodes=20, authors=6, entries_per_author=2, identities=50))
    assert len(sim.held_before) == 50
    network = sim.fed.network
    # nothing written yet: every node holds exactly the held logs, the target
    assert all(checks.holdings(n.ledger, network) == checks.target(sim) for n in sim.honest)
    lagging = sim.honest[-1]
    lagging.store = MemoryLogStore()  # a node without them is not converged
    lagging.ledger = Ledger(lagging.store)
    assert checks.holdings(lagging.ledger, network) != checks.target(sim)


@pytest.mark.parametrize(
    ("argv", "code"),
    [(["--nodes", "5"], "usage.too-few-nodes"), (["--scale", "--sizes", "1k"], "usage.bad-sizes"),
     (["--identities", "-1"], "usage.bad-identities")],
)  # fmt: skip
def test_command_line_errors_are_json(
    argv: list[str], code: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        sim_cli.main(argv)
    assert exited.value.code == 1
    assert json.loads(capsys.readouterr().out)["error"]["code"] == code
