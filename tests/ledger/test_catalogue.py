"""The design catalogue view: ledger.catalogue (pure) and node.catalogue_store (SQLite).

Real signed `design` entries from tests.factory go through `index_entry` into both
implementations; MemoryCatalogue is the literal reference the SQLite one is
checked against, and a rebuild must equal incremental indexing.
"""

from __future__ import annotations

import hashlib
import itertools
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.catalogue import (
    MAX_LINEAGE_DEPTH,
    DesignRow,
    Filters,
    LineageRow,
    MemoryCatalogue,
    Skipped,
    index_entry,
)
from ledger.log import Ledger
from ledger.store import MemoryLogStore
from node.store.catalogue import SCHEMA_VERSION, CatalogueStore, licence_family
from protocol import kinds
from protocol.entry import Entry
from tests.factory import Author

FILE_SHA = hashlib.sha256(b"file").digest()


def design_body(
    name: str,
    *,
    summary: str = "An open design",
    licence: str = "CERN-OHL-S-2.0",
    licensors: tuple[str, ...] = ("Fab Lab Test",),
    tags: tuple[str, ...] = (),
    processes: tuple[str, ...] = ("3d-printing",),
    materials: tuple[str, ...] = ("pla",),
    derived_from: tuple[bytes, ...] = (),
    supersedes: bytes | None = None,
    version: str | None = "1.0",
) -> dict[str, Any]:
    """A body that validates as a `design` (protocol.design, specs/0010 §2)."""
    return {
        "name": name,
        "summary": summary,
        "version": version,
        "supersedes": supersedes,
        "licence": licence,
        "licensors": list(licensors),
        "organisation": None,
        "language": "en",
        "files": [
            {
                "path": "model.stl",
                "role": "source",
                "sha256": FILE_SHA,
                "size_bytes": 4,
                "media_type": "model/stl",
                "geometry": None,
            }
        ],
        "links": [],
        "derived_from": list(derived_from),
        "tags": sorted(tags),
        "processes": sorted(processes),
        "materials": sorted(materials),
        "outer_dimensions_um": None,
        "oshwa_uid": None,
        "licence_as_stated": None,
    }


@pytest.fixture
def sqlite_catalogue(tmp_path: Path) -> Iterator[CatalogueStore]:
    with CatalogueStore(tmp_path / "catalogue.sqlite3") as catalogue:
        yield catalogue


@pytest.fixture(params=["memory", "sqlite"])
def catalogue(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    if request.param == "memory":
        yield MemoryCatalogue(licence_family)
    else:
        with CatalogueStore(tmp_path / "catalogue.sqlite3") as store:
            yield store


def index_all(catalogue: Any, entries: list[Entry]) -> None:
    for entry in entries:
        index_entry(catalogue, entry, revoked=False)


def names(results: list[dict[str, Any]]) -> list[str]:
    return [r["name"] for r in results]


# -- indexing -------------------------------------------------------------------------


def test_a_signed_design_becomes_a_row(catalogue: Any) -> None:
    lab = Author("lab")
    entry = lab.append(
        "design", design_body("Parametric hinge", tags=("Furniture",), materials=("PETG",))
    )
    row = index_entry(catalogue, entry, revoked=False)
    assert isinstance(row, DesignRow)
    assert (row.id, row.author, row.seq) == (entry.id, lab.id, 2)
    [found] = catalogue.search("hinge")
    assert found["id"] == entry.id
    assert found["licence"] == "CERN-OHL-S-2.0"
    assert found["licensors"] == ["Fab Lab Test"]
    assert found["tags"] == ["Furniture"]
    assert found["materials"] == ["PETG"]
    assert found["superseded"] is False


def test_an_unversioned_design_is_listed(catalogue: Any) -> None:
    entry = Author("lab").append("design", design_body("Unversioned clamp", version=None))
    index_entry(catalogue, entry, revoked=False)
    [found] = catalogue.search("clamp")
    assert found["version"] is None


def test_indexing_twice_changes_nothing(catalogue: Any) -> None:
    entry = Author("lab").append("design", design_body("Gear"))
    index_entry(catalogue, entry, revoked=False)
    index_entry(catalogue, entry, revoked=False)
    assert names(catalogue.search("gear")) == ["Gear"]


def test_invalid_bodies_and_unknown_kinds_are_skipped_with_a_reason(
    sqlite_catalogue: CatalogueStore,
) -> None:
    lab = Author("lab")
    bad = lab.append("design", {"name": "no other fields"})
    future = lab.append("design.v9", {"anything": 1})
    skipped_bad = index_entry(sqlite_catalogue, bad, revoked=False)
    skipped_future = index_entry(sqlite_catalogue, future, revoked=False)
    assert isinstance(skipped_bad, Skipped) and skipped_bad.code == "body.invalid"
    assert isinstance(skipped_future, Skipped) and skipped_future.code == "body.unknown-kind"
    assert skipped_bad.reason
    recorded = {(s.entry_id, s.code) for s in sqlite_catalogue.skipped()}
    assert recorded == {(bad.id, "body.invalid"), (future.id, "body.unknown-kind")}
    assert sqlite_catalogue.count() == 0


def test_other_kinds_and_revoked_entries_are_ignored(sqlite_catalogue: CatalogueStore) -> None:
    lab = Author("lab")
    assert index_entry(sqlite_catalogue, lab.note("hello"), revoked=False) is None
    odd_note = lab.append("note", {"not": "a note body"})  # the notes' view judges it, not us
    assert index_entry(sqlite_catalogue, odd_note, revoked=False) is None
    design = lab.append("design", design_body("Clamp"))
    assert index_entry(sqlite_catalogue, design, revoked=True) is None
    assert sqlite_catalogue.count() == 0
    assert sqlite_catalogue.skipped() == []


# -- search ---------------------------------------------------------------------------


def test_a_name_match_ranks_above_a_summary_match(catalogue: Any) -> None:
    lab = Author("lab")
    index_all(
        catalogue,
        [
            lab.append("design", design_body("Tool wall", summary="holds a spindle wrench")),
            lab.append("design", design_body("Spindle mount", summary="for a CNC router")),
            lab.append("design", design_body("Lamp", summary="a desk lamp")),
        ],
    )
    assert names(catalogue.search("spindle")) == ["Spindle mount", "Tool wall"]
    assert names(catalogue.search("spin")) == ["Spindle mount", "Tool wall"]  # prefixes
    assert names(catalogue.search("spindle router")) == ["Spindle mount"]  # every word
    assert catalogue.search("nothing-like-this") == []


def test_filters(catalogue: Any) -> None:
    lab = Author("lab")
    index_all(
        catalogue,
        [
            lab.append(
                "design",
                design_body("Box A", tags=("Education",), processes=("laser-cutting",)),
            ),
            lab.append(
                "design",
                design_body("Box B", licence="MIT", materials=("plywood", "acrylic")),
            ),
            lab.append(
                "design",
                design_body("Box C", licence="CERN-OHL-W-2.0", tags=("education",)),
            ),
        ],
    )
    by = catalogue.search
    assert names(by("box", Filters(tag="EDUCATION"))) == ["Box C", "Box A"]
    assert names(by("box", Filters(process="laser-cutting"))) == ["Box A"]
    assert names(by("", Filters(material="Acrylic"))) == ["Box B"]
    assert names(by("", Filters(licence_family="permissive"))) == ["Box B"]
    assert names(by("", Filters(licence_family="strong-copyleft"))) == ["Box A"]
    assert names(by("box", Filters(licence_family="weak-copyleft", tag="education"))) == ["Box C"]
    assert names(by("", limit=2)) == ["Box C", "Box B"]  # no text: newest first


def test_query_syntax_is_never_an_error(sqlite_catalogue: CatalogueStore) -> None:
    index_all(sqlite_catalogue, [Author("lab").append("design", design_body("Knob"))])
    for query in ['"', "AND OR NOT", "NEAR(knob", "knob*", "^knob", "kn'ob", "-", "a:b"]:
        sqlite_catalogue.search(query)
    assert names(sqlite_catalogue.search('("knob*')) == ["Knob"]


def test_supersedes_shows_the_newest_version_only(catalogue: Any) -> None:
    lab, other = Author("lab"), Author("other")
    v1 = lab.append("design", design_body("Pulley", version="1"))
    v2 = lab.append("design", design_body("Pulley", version="2", supersedes=v1.id))
    v3 = lab.append("design", design_body("Pulley", version="3", supersedes=v2.id))
    hijack = other.append("design", design_body("Pulley copy", supersedes=v3.id))
    index_all(catalogue, [v3, hijack, v1, v2])  # order does not matter
    current = catalogue.search("pulley")
    assert {(r["name"], r["version"]) for r in current} == {("Pulley", "3"), ("Pulley copy", "1.0")}
    every = catalogue.search("pulley", Filters(include_superseded=True))
    flags = {r["version"]: r["superseded"] for r in every if r["name"] == "Pulley"}
    assert flags == {"1": True, "2": True, "3": False}


# -- lineage --------------------------------------------------------------------------


def test_lineage_both_ways_with_attribution(catalogue: Any) -> None:
    a, b, c = Author("a"), Author("b"), Author("c")
    base = a.append("design", design_body("Base", licence="CERN-OHL-P-2.0", licensors=("A",)))
    mid = b.append(
        "design",
        design_body("Mid", licence="CERN-OHL-W-2.0", licensors=("B",), derived_from=(base.id,)),
    )
    missing = hashlib.sha256(b"a design we do not hold").digest()
    top = c.append(
        "design",
        design_body("Top", licensors=("C", "D"), derived_from=(mid.id, base.id, missing)),
    )
    index_all(catalogue, [top, base, mid])
    up = catalogue.ancestors(top.id)
    assert sorted((r.id, r.depth) for r in up) == sorted([(mid.id, 1), (base.id, 1), (missing, 1)])
    by_id = {r.id: r for r in up}
    assert by_id[mid.id] == LineageRow(
        mid.id, 1, True, b.id, "Mid", "1.0", "CERN-OHL-W-2.0", ("B",)
    )
    assert by_id[missing] == LineageRow(missing, 1, known=False)
    assert [(r.name, r.depth) for r in catalogue.ancestors(mid.id)] == [("Base", 1)]
    down = catalogue.descendants(base.id)
    assert {(r.name, r.depth, r.licensors) for r in down} == {
        ("Mid", 1, ("B",)),
        ("Top", 1, ("C", "D")),
    }
    assert catalogue.descendants(top.id) == []


def fake_id(n: int) -> bytes:
    return hashlib.sha256(b"node%d" % n).digest()


def test_cycles_terminate_and_each_design_appears_once(catalogue: Any) -> None:
    # Real ids are hashes, so only a forged view could hold a cycle: edges go in directly.
    ring = [fake_id(i) for i in range(5)]
    for i, child in enumerate(ring):
        catalogue.add_edges(child, [ring[(i + 1) % 5], ring[(i + 2) % 5]])
    up = catalogue.ancestors(ring[0])
    assert sorted((r.id, r.depth) for r in up) == sorted(
        [(ring[1], 1), (ring[2], 1), (ring[3], 2), (ring[4], 2)]
    )
    assert len(catalogue.descendants(ring[0])) == 4


def test_depth_is_bounded(catalogue: Any) -> None:
    chain = [fake_id(i) for i in range(MAX_LINEAGE_DEPTH + 10)]
    for child, parent in itertools.pairwise(chain):
        catalogue.add_edges(child, [parent])
    up = catalogue.ancestors(chain[0])
    assert [r.depth for r in up] == list(range(1, MAX_LINEAGE_DEPTH + 1))
    assert len(catalogue.ancestors(chain[0], max_depth=3)) == 3
    assert len(catalogue.descendants(chain[-1])) == MAX_LINEAGE_DEPTH


# -- rebuild --------------------------------------------------------------------------


def test_a_catalogue_of_another_schema_is_emptied_and_marked(tmp_path: Path) -> None:
    path = tmp_path / "catalogue.sqlite3"
    with CatalogueStore(path) as fresh:
        assert fresh.needs_rebuild
        index_all(fresh, [Author("lab").append("design", design_body("Jig"))])
    with CatalogueStore(path) as again:
        assert not again.needs_rebuild and again.count() == 1
    with sqlite3.connect(path) as conn:
        conn.execute(
            "UPDATE meta SET value = ? WHERE key = 'schema_version'", (SCHEMA_VERSION + 1,)
        )
    conn.close()
    with CatalogueStore(path) as newer:
        assert newer.needs_rebuild and newer.count() == 0


def test_rebuild_skips_revoked_designs(tmp_path: Path) -> None:
    lab = Author("lab")
    kept = lab.append("design", design_body("Kept"))
    void = lab.append("design", design_body("Void"))
    lab.append(
        kinds.REVOCATION,
        {
            "prev_key_event": lab.key_event,
            "revoke_from_seq": void.seq,
            "next_key": lab.signing.public,
        },
        key=lab.recovery,
    )
    ledger = Ledger(MemoryLogStore())
    assert len(ledger.ingest_entries(lab.entries).accepted) == len(lab.entries)
    with CatalogueStore(tmp_path / "catalogue.sqlite3") as catalogue:
        assert catalogue.rebuild_from(ledger.store) == 1
        assert [r["id"] for r in catalogue.search("")] == [kept.id]


def test_index_committed_follows_the_ledger(tmp_path: Path) -> None:
    lab = Author("lab")
    ledger = Ledger(MemoryLogStore())
    with CatalogueStore(tmp_path / "catalogue.sqlite3") as catalogue:
        void = lab.append("design", design_body("Void"))
        kept_name = "Kept"
        lab.append("design", design_body(kept_name, derived_from=(void.id,)))
        catalogue.index_committed(ledger, ledger.ingest_entries(lab.entries).accepted)
        assert catalogue.count() == 2
        revocation = lab.append(
            kinds.REVOCATION,
            {
                "prev_key_event": lab.key_event,
                "revoke_from_seq": 2,
                "next_key": lab.recovery.public,
            },
            key=lab.recovery,
        )
        catalogue.index_committed(ledger, ledger.ingest_entries([revocation]).accepted)
        assert catalogue.count() == 0 and catalogue.descendants(void.id) == []
        assert catalogue.search(kept_name) == []


@st.composite
def design_graphs(draw: st.DrawFn) -> list[Entry]:
    """A few authors' logs of designs: random derived_from among earlier designs,
    some superseding an earlier design (own or not), some invalid, some notes."""
    authors = [Author(f"g{i}") for i in range(draw(st.integers(1, 3)))]
    made: list[Entry] = []
    for n in range(draw(st.integers(0, 12))):
        author = draw(st.sampled_from(authors))
        what = draw(st.sampled_from(["design", "design", "design", "bad", "note"]))
        if what == "note":
            author.note(f"note {n}")
            continue
        if what == "bad":
            author.append("design", {"name": n})
            continue
        earlier = [e.id for e in made]
        parents = draw(st.lists(st.sampled_from(earlier), max_size=3)) if earlier else []
        supersedes: bytes | None = None
        if draw(st.booleans()) and earlier:
            supersedes = draw(st.sampled_from(earlier))
        word = draw(st.sampled_from(["gear", "hinge", "box"]))
        body = design_body(
            f"{word} {n}",
            tags=(draw(st.sampled_from(["a", "b"])),),
            derived_from=tuple(dict.fromkeys(parents)),
            supersedes=supersedes,
        )
        made.append(author.append("design", body))
    return [e for a in authors for e in a.entries]


def snapshot(catalogue: Any, entries: list[Entry]) -> dict[str, Any]:
    every = Filters(include_superseded=True)
    return {
        "all": sorted(r["id"] + bytes([r["superseded"]]) for r in catalogue.search("", every, 99)),
        "current": sorted(r["id"] for r in catalogue.search("", limit=99)),
        "gear": sorted(r["id"] for r in catalogue.search("gear", Filters(tag="a"), 99)),
        "up": {e.id: catalogue.ancestors(e.id) for e in entries},
        "down": {e.id: catalogue.descendants(e.id) for e in entries},
    }


@settings(max_examples=40, deadline=None)
@given(design_graphs())
def test_rebuild_equals_incremental_indexing_and_the_reference(entries: list[Entry]) -> None:
    ledger = Ledger(MemoryLogStore())
    report = ledger.ingest_entries(entries)
    assert len(report.accepted) == len(entries)
    reference = MemoryCatalogue(licence_family)
    with CatalogueStore(":memory:") as incremental, CatalogueStore(":memory:") as rebuilt:
        for entry in report.accepted:
            index_entry(incremental, entry, revoked=False)
            index_entry(reference, entry, revoked=False)
        rebuilt.rebuild_from(ledger.store)
        expected = snapshot(reference, entries)
        assert snapshot(incremental, entries) == expected
        assert snapshot(rebuilt, entries) == expected
        assert rebuilt.skipped() == incremental.skipped()
        rebuilt.rebuild_from(ledger.store)  # twice: same again
        assert snapshot(rebuilt, entries) == expected
