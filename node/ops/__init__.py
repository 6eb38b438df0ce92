"""Synchronous operations over a `LedgerContext` (node.ops.context): designs, jobs,
capabilities, sealed files, governance, the ledger. They run on the storage thread
in a running node and directly in an offline CLI command, so both do the same
thing. They use node.store and the pure packages; no trio, no libp2p, no HTTP."""
