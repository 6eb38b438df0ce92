"""Readiness kept by mesh hash (node.store.readiness): what was put is got back; a
damaged file, or one of another measurement version, reads as nothing (measured again)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from ledger.readiness import Readiness
from node.store.readiness import READINESS_VERSION, ReadinessStore
from protocol.errors import LocalMisuseError

SHA = hashlib.sha256(b"mesh").digest()
FOUND = Readiness(
    open_edges=4,
    non_manifold_edges=0,
    degenerate_faces=0,
    winding_errors=0,
    shells=1,
    overlapping_shells=None,
    solid_volume_mm3=None,
    thinnest_wall_um=500,
    wall_rays=2048,
    overhang_permille=12,
)


def test_put_then_get(tmp_path: Path) -> None:
    store = ReadinessStore(tmp_path / "readiness")
    assert store.get(SHA) is None
    store.put(SHA, FOUND)
    assert store.get(SHA) == FOUND
    assert ReadinessStore(tmp_path / "readiness").get(SHA) == FOUND  # it is on disk
    assert [p.name for p in (tmp_path / "readiness").iterdir()] == [f"{SHA.hex()}.json"]


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        "[]",
        json.dumps({"version": READINESS_VERSION + 1, "readiness": FOUND.to_json()}),
        json.dumps({"version": READINESS_VERSION, "readiness": {"open_edges": 1}}),
    ],
)
def test_a_damaged_or_stale_file_reads_as_nothing(tmp_path: Path, text: str) -> None:
    store = ReadinessStore(tmp_path)
    (tmp_path / f"{SHA.hex()}.json").write_text(text)
    assert store.get(SHA) is None


def test_a_hash_of_the_wrong_size_is_a_misuse(tmp_path: Path) -> None:
    with pytest.raises(LocalMisuseError) as raised:
        ReadinessStore(tmp_path).get(SHA[:31])
    assert raised.value.code == "misuse.bad-argument"
