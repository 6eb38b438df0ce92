"""design.readiness in the catalogue view (specs/0010 §3.5): the design's author only,
its newest entry shown, for the files the design names; in both implementations."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ledger.catalogue import MemoryCatalogue, Skipped, index_entry
from ledger.readiness import Readiness, readiness_bodies
from node.store.catalogue import CatalogueStore, licence_family
from protocol import canonical, kinds, limits
from protocol.design import MAX_READINESS_FILES, READINESS
from tests.factory import Author
from tests.ledger.test_catalogue import FILE_SHA, design_body
from tests.ledger.test_readiness import READY, THIN

OTHER_SHA = hashlib.sha256(b"not a file of the design").digest()
NEGATIVE_SHELLS: dict[str, Any] = {**READY.to_json(), "shells": -1}


@pytest.fixture(params=["memory", "sqlite"])
def catalogue(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    if request.param == "memory":
        yield MemoryCatalogue(licence_family)
    else:
        with CatalogueStore(tmp_path / "catalogue.sqlite3") as store:
            yield store


def readiness_body_map(design: bytes, found: dict[bytes, Readiness]) -> dict[str, Any]:
    (body,) = readiness_bodies(design, found)
    return body


def test_the_authors_newest_readiness_is_shown_for_the_designs_files(catalogue: Any) -> None:
    lab, stranger = Author("lab"), Author("stranger")
    design = lab.append("design", design_body("Fin"))
    first = lab.append(READINESS, readiness_body_map(design.id, {FILE_SHA: READY}))
    newer = lab.append(READINESS, readiness_body_map(design.id, {FILE_SHA: THIN, OTHER_SHA: READY}))
    forged = stranger.append(READINESS, readiness_body_map(design.id, {FILE_SHA: READY}))
    for entry in (newer, forged, design, first):  # any order: judged when read
        index_entry(catalogue, entry, revoked=False)
    # The newest of the author's; the stranger's never counts; a file the design does
    # not name is left out.
    assert catalogue.published_readiness(design.id) == {FILE_SHA: THIN}
    assert catalogue.published_readiness(forged.id) == {}  # not a design


def test_the_newest_findings_of_each_file_are_shown(catalogue: Any) -> None:
    lab = Author("lab")
    two = design_body("Pair")
    two["files"].append({**two["files"][0], "path": "other.stl", "sha256": OTHER_SHA})
    design = lab.append("design", two)
    both = lab.append(READINESS, readiness_body_map(design.id, {FILE_SHA: READY, OTHER_SHA: READY}))
    one = lab.append(READINESS, readiness_body_map(design.id, {OTHER_SHA: THIN}))  # newer
    for entry in (one, both, design):
        index_entry(catalogue, entry, revoked=False)
    assert catalogue.published_readiness(design.id) == {FILE_SHA: READY, OTHER_SHA: THIN}


def test_many_meshes_take_several_entries_each_within_the_entry_limit() -> None:
    big = 2**63 - 1
    largest = Readiness(big, big, big, big, big, True, big, big, big, 1000)
    found = {i.to_bytes(32, "big"): largest for i in range(256)}
    bodies = readiness_bodies(b"\x01" * 32, found)
    assert [len(b["files"]) for b in bodies] == [MAX_READINESS_FILES, MAX_READINESS_FILES]
    assert all(len(canonical.encode(b)) < limits.MAX_ENTRY_BYTES - 2048 for b in bodies)
    assert all(kinds.check_body(READINESS, b).valid for b in bodies)
    assert readiness_bodies(b"\x01" * 32, {}) == []


def test_a_readiness_before_its_design_applies_once_the_design_arrives(catalogue: Any) -> None:
    lab = Author("lab")
    design = lab.append("design", design_body("Fin"))
    published = lab.append(READINESS, readiness_body_map(design.id, {FILE_SHA: THIN}))
    index_entry(catalogue, published, revoked=False)
    assert catalogue.published_readiness(design.id) == {}
    index_entry(catalogue, design, revoked=False)
    assert catalogue.published_readiness(design.id) == {FILE_SHA: THIN}


@pytest.mark.parametrize(
    "body",
    [
        {"design": b"\x01" * 32, "files": []},  # at least one file
        {"design": b"\x01" * 32, "files": [{"sha256": FILE_SHA}]},  # no findings
        {
            "design": b"\x01" * 32,
            "files": [{"sha256": FILE_SHA, "readiness": NEGATIVE_SHELLS}],
        },
        {
            "design": b"\x01" * 32,
            "files": [
                {"sha256": FILE_SHA, "readiness": READY.to_json()},
                {"sha256": FILE_SHA, "readiness": READY.to_json()},
            ],
        },  # sorted, each once
    ],
)
def test_an_invalid_readiness_body_is_skipped_with_its_reason(
    catalogue: Any, body: dict[str, Any]
) -> None:
    entry = Author("lab").append(READINESS, body)
    assert not kinds.check_body(READINESS, body).valid
    skipped = index_entry(catalogue, entry, revoked=False)
    assert isinstance(skipped, Skipped) and skipped.code == "body.invalid"
