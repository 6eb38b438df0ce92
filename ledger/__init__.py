"""Fab Commons ledger: per-identity transparency logs, proofs, checkpoints, fork proofs."""
