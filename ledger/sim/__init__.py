"""A deterministic simulator of a federation running the real protocol (specs/0013).

Thousands of nodes, each a real `Ledger`, exchange the real encoded gossip and sync bytes
over a simulated network (latency, loss, partitions, crashes) on a virtual clock;
`scenario.run(SimConfig(seed=...))` returns a report whose digest is a function of the
config alone. Modules: rng (seeded stream), world (scheduler, links), node (gossip and
sync as node/net/network.py does them), voting (the governance scenario), scenario (the
timeline), checks (the properties and the report).
"""
