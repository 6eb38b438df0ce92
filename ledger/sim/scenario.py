"""One seeded simulation run: build a federation, inject faults, run, check (specs/0013).

`run(SimConfig)` builds `nodes` nodes on a random mesh (a ring plus random links, mean
degree `degree`), lets `authors` of them write, and on a fixed timeline injects: one
partition (two random halves, healed later), node crashes and restarts, one byzantine
author that equivocates (two entries at one seq, each shown to half of its peers) and
forges entries, and the governance scenario of ledger.sim.voting. It then runs until
every honest node holds the target state (every honest log in full, the equivocator
frozen) or `max_ms` passes, and checks the properties (ledger.sim.checks). Everything
random comes from one `Rng(seed)`: the same config gives the same report, byte for byte.
Pure: no I/O, no real clock.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import asdict

from ledger.log import Ledger
from ledger.peering import SYNC_INTERVAL_MS
from ledger.sim import checks
from ledger.sim.node import BASE_TIME_MS, Federation, Identity, SimNode
from ledger.sim.rng import Rng
from ledger.sim.state import Sim, SimConfig
from ledger.sim.voting import Witnessing, make_charter, proposal_body
from ledger.sim.world import Links, Scheduler
from ledger.store import MemoryLogStore
from protocol import canonical, kinds
from protocol.entry import sign_entry
from protocol.governance import PROPOSAL, VOTE, charter_network_id
from protocol.keys import SigningKey
from protocol.logstate import LogHead

FIRST_WRITE_MS = (500, 3_000)  # every writer's inception, so members can witness early
PROPOSE_MS = 8_000
VOTE_MS = (10_000, 15_000)
PARTITION_MS = (20_000, 50_000)
CRASH_WINDOW_MS = (15_000, 55_000)
CRASH_LENGTH_MS = (5_000, 20_000)
EQUIVOCATE_MS = 30_000
FORGE_MS = 35_000
CHECK_EVERY_MS = 1_000


def build(config: SimConfig) -> Sim:
    if not 2 <= config.members <= config.authors < config.nodes:
        raise ValueError("need 2 <= members <= authors < nodes")
    rng = Rng(config.seed)
    sched = Scheduler()
    links = Links(config.nodes, rng.fork(1), config.latency_ms, config.jitter_ms, config.loss)
    layout = rng.fork(2)
    nodes = [
        SimNode(i, MemoryLogStore(), layout.between(-config.skew_ms, config.skew_ms))
        for i in range(config.nodes)
    ]
    _wire(nodes, config.degree, layout)
    chosen = layout.sample(range(config.nodes), config.authors + 1)
    for i in chosen:
        nodes[i].identity = Identity.from_seed(b"%d/%d" % (config.seed, i))
    writers = [nodes[i] for i in chosen[: config.authors]]
    members = writers[: config.members]
    byzantine = nodes[chosen[-1]] if config.byzantine else None
    if byzantine is not None:
        byzantine.byzantine = True
    charter = make_charter([_id(m) for m in members])
    timeline = rng.fork(3)
    network = charter_network_id(charter)
    fed = Federation(nodes, links, sched, network, rng.fork(4), reconcile=config.reconcile)
    honest = [n for n in nodes if not n.byzantine]
    sim = Sim(config, timeline, fed, honest, writers, members, byzantine, [])
    if config.identities:
        sim.held_before = _hold_before(nodes, network, config)
    return sim


def _hold_before(nodes: list[SimNode], network: bytes, config: SimConfig) -> list[LogHead]:
    """`config.identities` logs, one inception under a signed checkpoint each, written
    a day before the run and held by every node from the start: one store built and
    verified once, then copied (MemoryLogStore.copy shares what no node changes), and
    its reconciliation items computed once (SyncItems.copy_from)."""
    store = MemoryLogStore()
    base = Ledger(store)
    written_ms = BASE_TIME_MS - 86_400_000
    for i in range(config.identities):
        ident = Identity.from_seed(b"held/%d/%d" % (config.seed, i))
        keys = {"signing_key": ident.signing.public, "recovery_key": ident.recovery.public}
        base.append(ident.signing, network, ident.id, [(kinds.INCEPTION, keys)], written_ms)
        base.sign_checkpoint(ident.signing, network, ident.id)
    items = base.sync_items(network)
    for node in nodes:
        node.store = store.copy()
        node.ledger = Ledger(node.store)
        node.ledger.sync_items(network).copy_from(items)
    return base.heads()


def _wire(nodes: list[SimNode], degree: int, rng: Rng) -> None:
    n = len(nodes)
    edges = {(i, (i + 1) % n) for i in range(n)} if n > 2 else {(0, 1)}
    for i in range(n):
        for j in rng.sample(range(n), max(0, (degree - 2) // 2) + 1):
            if j != i:
                edges.add((i, j))
    for a, b in sorted(edges):
        if b not in nodes[a].peers and a != b:
            nodes[a].peers.append(b)
            nodes[b].peers.append(a)


def _id(node: SimNode) -> bytes:
    assert node.identity is not None
    return node.identity.id


def schedule(sim: Sim) -> None:
    cfg, fed, rng, sched = sim.config, sim.fed, sim.rng, sim.fed.sched
    for node in sim.honest:
        sched.at(rng.below(1000), functools.partial(fed.start_node, node))
    authors = sim.writers + ([sim.byzantine] if sim.byzantine else [])
    last = 0
    for author in authors:
        for k in range(cfg.entries_per_author):
            at = rng.between(*(FIRST_WRITE_MS if k == 0 else cfg.write_window_ms))
            last = max(last, at)
            text = f"node {author.index} note {k}"
            sched.at(at, functools.partial(_write, fed, author, text))
    if cfg.partition:
        sides = {n.index: rng.below(2) for n in fed.nodes}
        sched.at(PARTITION_MS[0], functools.partial(fed.links.side.update, sides))
        sched.at(PARTITION_MS[1], fed.links.side.clear)
        sched.at(PARTITION_MS[1], functools.partial(_healed, sim))
        last = max(last, PARTITION_MS[1])
    crashable = [n for n in sim.honest if n not in sim.members]  # members witness
    for node in rng.sample(crashable, cfg.crashes):
        down = rng.between(*CRASH_WINDOW_MS)
        up = down + rng.between(*CRASH_LENGTH_MS)
        sched.at(down, functools.partial(fed.crash, node))
        sched.at(up, functools.partial(fed.restart, node))
        last = max(last, up)
    if sim.byzantine is not None:
        sched.at(EQUIVOCATE_MS, functools.partial(_equivocate, sim))
        sched.at(FORGE_MS, functools.partial(_forge, sim))
    sim.last_disturbance_ms = last
    _schedule_governance(sim)


def _healed(sim: Sim) -> None:
    sim.bytes_at_heal = sum(sim.fed.links.bytes_sent)


def _write(fed: Federation, node: SimNode, text: str) -> None:
    if node.index in fed.links.down or node.alt_ledger is not None:
        return  # a crashed node writes nothing; the equivocator stops after forking
    fed.append(node, [(kinds.NOTE, {"text": text})])


def _schedule_governance(sim: Sim) -> None:
    fed, rng = sim.fed, sim.rng
    witnessing = Witnessing(fed, sim.members)

    def published(now_ms: int) -> None:
        sim.last_disturbance_ms = max(sim.last_disturbance_ms, now_ms)

    witnessing.on_publish = published
    proposer, voters = sim.members[0], sim.members[1:]
    holder: dict[str, bytes] = {}

    def propose() -> None:
        holder["id"] = witnessing.write(proposer, PROPOSAL, proposal_body())

    def vote(voter: SimNode, choice: str) -> None:
        witnessing.write(voter, VOTE, {"proposal": holder["id"], "choice": choice})

    fed.sched.at(PROPOSE_MS, propose)
    for i, voter in enumerate(voters):
        choice = "no" if i == len(voters) - 1 and len(voters) > 2 else "yes"
        fed.sched.at(rng.between(*VOTE_MS), functools.partial(vote, voter, choice))


def _equivocate(sim: Sim) -> None:
    """Two entries at one seq, each with its own checkpoint, to two halves of the peers."""
    fed, node = sim.fed, sim.byzantine
    assert node is not None and node.identity is not None
    network, me = fed.network, node.identity.id
    if node.ledger.head(network, me) is None:
        fed.commit(node, [(kinds.NOTE, {"text": "before the fork"})])
    head = node.ledger.head(network, me)
    assert head is not None
    alt = Ledger(node.store.copy())  # all it holds (its log, the logs held from the start)
    half = frozenset(sim.rng.sample(node.peers, len(node.peers) // 2))
    node.alt_ledger, node.alt_peers = alt, half
    now = fed.clock_ms(node)
    for ledger, text, to in ((node.ledger, "a", None), (alt, "b", half)):
        made = ledger.append(
            node.identity.signing, network, me, [(kinds.NOTE, {"text": text})], now
        )
        note = ledger.sign_checkpoint(node.identity.signing, network, me).text
        peers = sorted(to) if to is not None else [p for p in node.peers if p not in half]
        fed.announce(node, [made[0].raw], note, to=peers)


def _forge(sim: Sim) -> None:
    """A signature flipped on an honest entry; an entry by a stranger in an honest log."""
    fed, node = sim.fed, sim.byzantine
    assert node is not None
    victim = sim.writers[-1]
    head = victim.ledger.head(fed.network, _id(victim))
    if head is None:
        return
    raw = victim.store.read_entries(fed.network, _id(victim), head.size, head.size + 1)[0]
    flipped = raw[:-1] + bytes([raw[-1] ^ 1])
    stranger = SigningKey(hashlib.sha256(b"sim/stranger").digest())
    fake = sign_entry(stranger, network=fed.network, author=_id(victim), seq=head.size + 1,
                      prev=head.head_id, timestamp_ms=fed.clock_ms(node), kind=kinds.NOTE,
                      body={"text": "not mine"})  # fmt: skip
    for forged in (flipped, fake.raw):
        sim.forged.append(hashlib.sha256(forged).digest())
        data = canonical.encode(
            {"checkpoints": [], "entries": [forged], "forks": [], "network": fed.network, "v": 1}
        )
        fed.flood(node, data, None)


def run(config: SimConfig) -> checks.Report:
    sim = build(config)
    schedule(sim)
    sched = sim.fed.sched
    healed: dict[str, int] = {}  # bytes all nodes sent from the heal to convergence

    def probe() -> None:
        now = sched.now_ms
        if now >= sim.last_disturbance_ms and checks.all_converged(sim):
            sim.converged_at_ms = now
            if sim.bytes_at_heal is not None:
                healed["bytes"] = sum(sim.fed.links.bytes_sent) - sim.bytes_at_heal
            return
        sched.after(CHECK_EVERY_MS, probe)

    sched.at(CHECK_EVERY_MS, probe)
    sched.run_until(config.max_ms, stop=lambda: sim.converged_at_ms is not None)
    idle = _idle_round(sim) if sim.converged_at_ms is not None else None
    return checks.report(
        sim,
        asdict(config),
        idle_sync_bytes_per_node=idle,
        healed_to_converged_bytes=healed.get("bytes"),
    )


def _idle_round(sim: Sim) -> int:
    """Sync bytes per node over one anti-entropy interval after convergence: every
    node has run one session with each peer or more, and nothing is left to fetch."""
    nodes = sim.fed.nodes
    before = sum(n.stats.sync_bytes for n in nodes)
    sim.fed.sched.run_until(sim.fed.sched.now_ms + SYNC_INTERVAL_MS)
    return (sum(n.stats.sync_bytes for n in nodes) - before) // len(nodes)
