"""The blob store under a blocklist (specs/0009 §9): blocked bytes are never stored."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from ledger.takedown import BlobPolicy
from node.store.blobs import BlobStore
from protocol.errors import RuleViolationError


def test_blocked_bytes_are_refused_however_they_come(tmp_path: Path) -> None:
    data = b"illegal" * 100
    blob = hashlib.sha256(data).digest()
    store = BlobStore(tmp_path / "blobs", policy=BlobPolicy(blocked=frozenset({blob})))
    with pytest.raises(RuleViolationError) as added:
        store.add_bytes(data)
    assert added.value.code == "rule.blob-blocked"
    path = tmp_path / "f.bin"
    path.write_bytes(data)
    with pytest.raises(RuleViolationError):
        store.add_file(path)
    with pytest.raises(RuleViolationError):
        store.open_partial(blob, source="peer")
    assert not store.has(blob) and store.partial_bytes() == 0
    assert store.add_bytes(b"fine")[0] == hashlib.sha256(b"fine").digest()


def test_a_blob_blocked_while_fetched_is_discarded_and_purge_drops_it(tmp_path: Path) -> None:
    data = b"x" * 1000
    blob = hashlib.sha256(data).digest()
    store = BlobStore(tmp_path / "blobs")
    partial = store.open_partial(blob, source="peer")
    partial.append(0, data)
    store.policy = BlobPolicy(blocked=frozenset({blob}))
    with pytest.raises(RuleViolationError):
        partial.finish()
    assert not store.has(blob) and not store.partial_path(blob).exists()
    store.policy = BlobPolicy()
    store.add_bytes(data)
    assert store.purge(blob) and not store.has(blob) and not store.purge(blob)
