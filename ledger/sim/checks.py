"""The properties checked at the end of every simulation run, and its report (specs/0013 §5).

  converged            every honest node holds every honest log in full (same size and
                       head id as its author's) and nothing else unfrozen;
  forks_detected       every honest node holds a verified fork proof of the equivocator,
                       and no honest author is frozen;
  same_rules           every honest node computes the same rules hash from its own ledger,
                       and the proposal passed;
  no_acknowledged_lost every entry whose append returned to an honest author is stored by
                       every honest node;
  no_forgery_stored    no forged entry is stored anywhere.

The report is plain data; `digest` is the SHA-256 of its canonical JSON without the digest
itself, so two runs of one seed can be compared with one string. Pure: no I/O.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from ledger.log import Ledger
from ledger.sim.node import SimNode
from ledger.sim.state import Sim
from ledger.sim.voting import DECIDE_AT_S, governance_inputs, make_charter, rules_at

Report = dict[str, Any]


def holdings(ledger: Ledger, network: bytes) -> bytes:
    """A digest of the frozen authors and the heads of every other log held."""
    frozen = sorted({p.author for p in ledger.store.fork_proofs() if p.network == network})
    h = hashlib.sha256(b"".join(frozen))
    for head in sorted(ledger.heads(), key=lambda x: x.author):
        if head.network == network and head.author not in frozen:
            h.update(head.author + head.size.to_bytes(8, "big") + (head.head_id or b""))
    return h.digest()


def target(sim: Sim) -> bytes:
    """What every honest node should hold: each honest author's own log and the logs
    held from the start, the equivocator (once it forked) frozen."""
    network = sim.fed.network
    byz = sim.byzantine
    frozen = [byz.identity.id] if byz and byz.identity and byz.alt_ledger else []
    h = hashlib.sha256(b"".join(frozen))
    heads = [w.ledger.head(network, _id(w)) for w in sim.writers] + sim.held_before
    for head in sorted((x for x in heads if x is not None), key=lambda x: x.author):
        h.update(head.author + head.size.to_bytes(8, "big") + (head.head_id or b""))
    return h.digest()


def all_converged(sim: Sim) -> bool:
    if sim.fed.links.down:
        return False
    want, network = target(sim), sim.fed.network
    return all(holdings(n.ledger, network) == want for n in sim.honest)


def _id(node: SimNode) -> bytes:
    assert node.identity is not None
    return node.identity.id


def report(
    sim: Sim,
    config: dict[str, Any],
    *,
    idle_sync_bytes_per_node: int | None = None,
    healed_to_converged_bytes: int | None = None,
) -> Report:
    """The run's figures and properties; `idle_sync_bytes_per_node` is what one sync
    interval after convergence cost each node (None: it never converged);
    `healed_to_converged_bytes`, what all nodes sent from the partition's heal to
    convergence (None: no partition, or no convergence)."""
    fed, network = sim.fed, sim.fed.network
    honest = sim.honest
    n = len(fed.nodes)
    stats = [node.stats for node in fed.nodes]
    converged_at = sim.converged_at_ms
    props = {
        "converged": all_converged(sim),
        **_forks(sim),
        **_rules(sim),
        "no_acknowledged_lost": all(
            node.store.locate(i) is not None for w in sim.writers for i in w.acknowledged
            for node in honest
        ),
        "no_forgery_stored": bool(sim.forged) == (sim.byzantine is not None)
        and all(node.store.locate(f) is None for f in sim.forged for node in fed.nodes),
    }  # fmt: skip
    out: Report = {
        "config": json.loads(json.dumps(config)),
        "network": network.hex(),
        "converged_at_ms": converged_at,
        "last_disturbance_ms": sim.last_disturbance_ms,
        "convergence_ms": None if converged_at is None else converged_at - sim.last_disturbance_ms,
        "entries_acknowledged": sum(len(w.acknowledged) for w in sim.writers),
        "reach_ms": _reach(sim),
        "bytes_per_node": sum(fed.links.bytes_sent) // n,
        "max_bytes_node": max(fed.links.bytes_sent),
        "gossip_bytes_per_node": sum(s.gossip_bytes for s in stats) // n,
        "sync_bytes_per_node": sum(s.sync_bytes for s in stats) // n,
        "idle_sync_bytes_per_node": idle_sync_bytes_per_node,
        "heal_to_converged_bytes_per_node": _after_heal(sim, healed_to_converged_bytes),
        "messages_per_node": sum(fed.links.messages_sent) // n,
        "announcements": {
            "accepted": sum(s.accepted for s in stats),
            "rejected": sum(s.rejected for s in stats),
            "ignored": sum(s.ignored for s in stats),
        },
        "syncs": {
            "completed": sum(s.syncs_completed for s in stats),
            "failed": sum(s.syncs_failed for s in stats),
            "entries_stored": sum(s.sync_entries_stored for s in stats),
        },
        "gossip_entries_stored": sum(s.gossip_entries_stored for s in stats),
        "events": fed.sched.events_run,
        "properties": props,
        "ok": all(v for k, v in props.items() if isinstance(v, bool)),
    }
    out["digest"] = hashlib.sha256(json.dumps(out, sort_keys=True).encode()).hexdigest()
    return out


def _after_heal(sim: Sim, total: int | None) -> int | None:
    return None if total is None else total // len(sim.fed.nodes)


def _reach(sim: Sim) -> dict[str, int | None]:
    """Delivery delay over every (node, entry) stored: the author's commit to storing."""
    times = sorted(sim.fed.delays_ms)
    if not times:
        return {"p50": None, "p99": None, "max": None}
    return {
        "p50": times[len(times) // 2],
        "p99": times[min(len(times) - 1, len(times) * 99 // 100)],
        "max": times[-1],
    }


def _forks(sim: Sim) -> dict[str, Any]:
    network, byz = sim.fed.network, sim.byzantine
    writers = {_id(w) for w in sim.writers}
    detected = all(byz is None or n.ledger.is_frozen(network, _id(byz)) for n in sim.honest)
    false = any(n.ledger.is_frozen(network, w) for n in sim.honest for w in writers)
    return {"forks_detected": detected, "no_honest_author_frozen": not false}


def _rules(sim: Sim) -> dict[str, Any]:
    """Each honest node's rules hash; nodes with identical inputs share one evaluation."""
    network = sim.fed.network
    charter = make_charter([_id(m) for m in sim.members])
    results: dict[bytes, tuple[bytes, bool]] = {}
    hashes: set[bytes] = set()
    passed = True
    for node in sim.honest:
        key = governance_inputs(node.ledger, network, charter)
        if key not in results:
            results[key] = rules_at(node.ledger, network, charter, DECIDE_AT_S)
        hashes.add(results[key][0])
        passed = passed and results[key][1]
    return {
        "same_rules": len(hashes) == 1 and passed,
        "rules_hash": sorted(h.hex() for h in hashes)[0] if hashes else None,
        "rules_hash_variants": len(hashes),
        "governance_input_variants": len(results),
    }
