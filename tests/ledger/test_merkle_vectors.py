"""transparency-dev/merkle's inclusion and consistency vectors against ledger.merkle's verifiers.

Every JSON file under shared/vectors/rfc6962/testdata/{inclusion,consistency}/ is one case:
hashes are base64, a null proof is the empty proof, and `wantErr` says the proof must fail.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from ledger.merkle import verify_consistency, verify_inclusion
from protocol.errors import ProofError
from tests.paths import ROOT

VECTORS = ROOT.parent / "shared" / "vectors" / "rfc6962" / "testdata"
KINDS = ("inclusion", "consistency")


MISSING = f"RFC 6962 vectors not found at {VECTORS} (expected a checkout of shared/vectors)"


def _case_files() -> list[Path]:
    return sorted(p for kind in KINDS for p in (VECTORS / kind).rglob("*.json"))


CASES = _case_files()
PARAMS = [pytest.param(p, id=str(p.relative_to(VECTORS).with_suffix(""))) for p in CASES] or [
    pytest.param(None, id="missing", marks=pytest.mark.skip(reason=MISSING))
]


def _b64(value: str) -> bytes:
    return base64.b64decode(value, validate=True)


def _proof(case: dict[str, Any]) -> list[bytes]:
    return [_b64(h) for h in case["proof"] or []]


def _check(kind: str, case: dict[str, Any]) -> None:
    if kind == "inclusion":
        verify_inclusion(
            case["leafIdx"],
            case["treeSize"],
            _b64(case["leafHash"]),
            _proof(case),
            _b64(case["root"]),
        )
    else:
        verify_consistency(
            case["size1"], case["size2"], _b64(case["root1"]), _b64(case["root2"]), _proof(case)
        )


def test_vectors_are_present() -> None:
    if not VECTORS.is_dir():
        pytest.skip(MISSING)
    assert len(CASES) > 0, f"no vector files under {VECTORS}"
    for kind in KINDS:
        assert any(p.relative_to(VECTORS).parts[0] == kind for p in CASES), kind


@pytest.mark.parametrize("path", PARAMS)
def test_vector(path: Path) -> None:
    kind = path.relative_to(VECTORS).parts[0]
    case = json.loads(path.read_text())
    if case["wantErr"]:
        with pytest.raises(ProofError):
            _check(kind, case)
    else:
        _check(kind, case)
