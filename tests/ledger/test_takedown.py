"""Withdrawals and the blocklist (specs/0010 §7, 0009 §9, 0008 §3): ledger.takedown,
the catalogue views that judge withdrawals (MemoryCatalogue as the reference for the
SQLite store), and the blocklist in the governance state."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.catalogue import Filters, MemoryCatalogue, index_entry
from ledger.governance import GovernanceState, Proposal, apply_proposal
from ledger.log import Ledger
from ledger.store import MemoryLogStore
from ledger.takedown import (
    BLOCKED,
    NOT_AUTHOR,
    WITHDRAWN,
    BlobPolicy,
    DesignFacts,
    Withdrawal,
    judge_withdrawals,
    withdrawal_from_entry,
    withheld_blobs,
)
from node.store.catalogue import CatalogueStore
from protocol import kinds
from protocol.design import WITHDRAW
from protocol.governance import BlockBlobs, Rules, UnblockBlobs
from tests.factory import Author
from tests.ledger.test_catalogue import FILE_SHA, design_body


def _id(name: str) -> bytes:
    return hashlib.sha256(name.encode()).digest()


@pytest.fixture(params=["memory", "sqlite"])
def catalogue(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    if request.param == "memory":
        yield MemoryCatalogue()
    else:
        with CatalogueStore(tmp_path / "catalogue.sqlite3") as store:
            yield store


def test_a_withdrawal_body_is_bounded_and_one_line() -> None:
    design = _id("d")
    assert kinds.check_body(WITHDRAW, {"design": design, "reason": "unsafe"}).valid
    for bad in ("", "x" * 1025, "two\nlines", " padded"):
        status = kinds.check_body(WITHDRAW, {"design": design, "reason": bad})
        assert status.code == "body.invalid"
    assert not kinds.check_body(WITHDRAW, {"design": design[:31], "reason": "r"}).valid


def test_only_the_author_withdraws_and_the_catalogue_marks_it(catalogue: Any) -> None:
    lab, other = Author("lab"), Author("other")
    design = lab.append("design", design_body("Clamp"))
    child = other.append("design", design_body("Clamp mk2", derived_from=(design.id,)))
    stranger = other.append(WITHDRAW, {"design": design.id, "reason": "not yours"})
    for entry in (stranger, design, child):  # a withdrawal may come first
        index_entry(catalogue, entry, revoked=False)
    assert {r["name"] for r in catalogue.search("clamp")} == {"Clamp mk2", "Clamp"}
    own = lab.append(WITHDRAW, {"design": design.id, "reason": "a safety recall"})
    index_entry(catalogue, own, revoked=False)
    assert {r["name"] for r in catalogue.search("clamp")} == {"Clamp mk2"}
    both = catalogue.search("clamp", Filters(include_withdrawn=True))
    shown = {r["name"]: r["withdrawn"] for r in both}
    assert shown["Clamp mk2"] is None
    assert shown["Clamp"] == {
        "entry_id": own.id,
        "reason": "a safety recall",
        "timestamp_ms": own.timestamp_ms,
    }
    (ancestor,) = catalogue.ancestors(child.id)
    assert ancestor.id == design.id and ancestor.known and ancestor.withdrawn
    if isinstance(catalogue, CatalogueStore):
        assert catalogue.withdrawal_of(design.id) == withdrawal_from_entry(own)
        assert catalogue.ignored_withdrawals() == [stranger.id]
        assert catalogue.withheld_blobs() == frozenset()  # the child names the same file


def test_a_file_only_withdrawn_designs_name_is_withheld(tmp_path: Path) -> None:
    lab = Author("lab")
    design = lab.append("design", design_body("Clamp"))
    with CatalogueStore(tmp_path / "c.sqlite3") as store:
        index_entry(store, design, revoked=False)
        index_entry(store, lab.append(WITHDRAW, {"design": design.id, "reason": "r"}), False)
        assert store.withheld_blobs() == {FILE_SHA}
        store.rebuild_from(_store_of(lab))
        assert store.withheld_blobs() == {FILE_SHA}


def _store_of(author: Author) -> Any:
    ledger = Ledger(MemoryLogStore())
    ledger.ingest([e.raw for e in author.entries])
    return ledger.store


ids = st.sampled_from([_id(str(i)) for i in range(4)])


@given(
    st.lists(st.tuples(ids, ids, st.frozensets(ids, max_size=3)), max_size=4),
    st.lists(st.tuples(ids, ids, ids, st.integers(0, 3)), max_size=5, unique_by=lambda w: w[0]),
)
def test_judging_is_order_free_and_only_authors_count(
    designs: list[tuple[bytes, bytes, frozenset[bytes]]],
    withdrawals: list[tuple[bytes, bytes, bytes, int]],
) -> None:
    facts = {d: DesignFacts(d, a, f) for d, a, f in designs}
    ws = [Withdrawal(e, a, d, "r", t) for e, a, d, t in withdrawals]
    judged = judge_withdrawals(facts, ws)
    assert judged == judge_withdrawals(facts, list(reversed(ws)))
    for design, w in judged.withdrawn.items():
        assert facts[design].author == w.author
    assert set(judged.ignored.values()) <= {NOT_AUTHOR}
    withheld = withheld_blobs(facts, judged.withdrawn)
    live = {f for d in facts.values() if d.id not in judged.withdrawn for f in d.files}
    assert not withheld & live


def test_the_policy_puts_blocked_before_withheld() -> None:
    a, b, c = _id("a"), _id("b"), _id("c")
    policy = BlobPolicy(blocked=frozenset({a}), withheld=frozenset({a, b}))
    assert [policy.serves(x) for x in (a, b, c)] == [False, False, True]
    assert [getattr(policy.store_refusal(x), "code", None) for x in (a, b, c)] == [
        BLOCKED,
        None,
        None,
    ]
    assert [getattr(policy.fetch_refusal(x), "code", None) for x in (a, b, c)] == [
        BLOCKED,
        WITHDRAWN,
        None,
    ]


def test_block_and_unblock_change_the_state_or_are_void() -> None:
    rules = Rules(
        quorum_permille=500, pass_threshold_permille=500, veto_threshold_permille=334,
        voting_period_s=3600, effect_delay_s=0, admission_vouches=0, licences=[],
        max_entry_bytes=65536, max_str_bytes=16384, max_blob_bytes=1 << 20,
        job_offer_ttl_s=3600, witness_count=1,
    )  # fmt: skip
    state = GovernanceState(rules, frozenset({_id("m1"), _id("m2")}), "text")
    x, y = sorted((_id("x"), _id("y")))

    def proposal(name: str, action: Any) -> Proposal:
        return Proposal(_id(name), _id("m1"), 2, action)

    block = BlockBlobs(action="blobs.block", title="t", blobs=[x, y], reason="illegal")
    state = apply_proposal(state, proposal("p1", block), 10)
    assert state.blocked == {x, y}
    state = apply_proposal(state, proposal("p2", block), 20)
    assert state.skipped == ((_id("p2"), "already-blocked"),)
    unblock = UnblockBlobs(action="blobs.unblock", title="t", blobs=[y])
    state = apply_proposal(state, proposal("p3", unblock), 30)
    assert state.blocked == {x}
    state = apply_proposal(state, proposal("p4", unblock), 40)
    assert state.skipped[-1] == (_id("p4"), "not-blocked")
    with pytest.raises(ValueError):
        BlockBlobs(action="blobs.block", title="t", blobs=[y, x], reason="unsorted")
