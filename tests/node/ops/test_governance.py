"""The node's side of governance, in process (specs/0008 §1.2, §4.1, §7).

Real ledgers over real stores, real signatures; no processes (tests/
test_governance_network.py runs five real nodes). The charter in a home, the
admission policy on ingest, cosignatures gathered from several witnesses into one
note, and the governance view: the same entries in any order give the same rules.
"""

from __future__ import annotations

import json
import random
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.admission import OUTSIDER_MAX_ENTRIES, longest_str_bytes
from ledger.governance import rules_hash
from ledger.log import Ledger
from ledger.store import MemoryLogStore
from node.cli.main import main
from node.ops import context as operations
from node.ops import designs, jobs
from node.ops import governance as governance_ops
from node.ops.governance_view import GovernanceView, allow_list_of
from node.store.home import NodeHome
from protocol import canonical, kinds
from protocol.design import DesignBody
from protocol.entry import Entry
from protocol.errors import DecodeError, JobError, LocalMisuseError, RuleViolationError
from protocol.governance import (
    APPLY,
    MAX_CHARTER_BYTES,
    PROPOSAL,
    UNVOUCH,
    VOTE,
    VOUCH,
    Charter,
    Rules,
    charter_bytes,
    charter_network_id,
    charter_toml,
    decode_charter,
    parse_charter_toml,
)
from protocol.ids import id_to_text
from tests.factory import Author

T0_S = 1_800_000_000
RULES = Rules(
    quorum_permille=500,
    pass_threshold_permille=500,
    veto_threshold_permille=334,
    voting_period_s=3600,
    effect_delay_s=0,
    admission_vouches=0,
    licences=["CERN-OHL-S-2.0"],
    max_entry_bytes=4096,
    max_str_bytes=4096,
    max_blob_bytes=1 << 20,
    job_offer_ttl_s=3600,
    witness_count=2,
)


def federation(test: bool = True) -> tuple[Charter, bytes, list[Author]]:
    """A charter of three founders, and the founders writing in its network."""
    names = ["lab-a", "lab-b", "lab-c"]
    ids = sorted(Author(n).id for n in names)
    charter = Charter(version=1, name="Node Commons", members=ids, rules=RULES, text="", test=test)
    network = charter_network_id(charter)
    founders = sorted((Author(n, network=network) for n in names), key=lambda a: a.id)
    return charter, network, founders


# -- the charter and the home -----------------------------------------------------------


def test_a_test_charter_round_trips_and_its_flag_is_hashed() -> None:
    charter, network, _ = federation()
    assert parse_charter_toml(charter_toml(charter)) == charter
    assert decode_charter(charter_bytes(charter)) == charter
    plain = charter.model_copy(update={"test": False})
    assert charter_network_id(plain) != network
    assert b"test" not in charter_bytes(plain)
    explicit = canonical.encode({**plain.model_dump(), "test": False})
    with pytest.raises(DecodeError) as err:
        decode_charter(explicit)  # `test: false` is not the canonical form
    assert err.value.code == "decode.bad-charter"


def test_a_home_adopts_one_charter_only(tmp_path: Path) -> None:
    home = NodeHome(tmp_path / "lab")
    home.create_identity()
    assert home.charter() is None
    charter, network, _ = federation()
    assert home.adopt_charter(charter, ["/ip4/127.0.0.1/tcp/1/p2p/x"]) == network
    assert home.charter() == charter and home.network() == ("Node Commons", network)
    assert home.bootstrap() == ["/ip4/127.0.0.1/tcp/1/p2p/x"]
    assert home.adopt_charter(charter, []) == network  # the same again: fine
    other = charter.model_copy(update={"name": "Another"})
    with pytest.raises(LocalMisuseError) as err:
        home.adopt_charter(other, [])
    assert err.value.code == "misuse.chartered-home"
    with pytest.raises(LocalMisuseError) as err:
        home.set_development_network("dev")
    assert err.value.code == "misuse.chartered-home"


# -- the admission policy ----------------------------------------------------------------


def node_ledger(charter: Charter, network: bytes) -> tuple[Ledger, GovernanceView]:
    ledger = Ledger(MemoryLogStore())
    view = GovernanceView(charter, network)
    ledger.admission = view.admits
    return ledger, view


def ingest(ledger: Ledger, view: GovernanceView, entries: list[Entry]) -> list[Entry]:
    report = ledger.ingest_entries(entries)
    view.index(report.accepted)
    return report.accepted


def test_outsiders_may_only_apply_and_members_may_publish() -> None:
    charter, network, (a, _, _) = federation()
    ledger, view = node_ledger(charter, network)
    outsider = Author("lab-x", network=network)
    applied = outsider.append(APPLY, {"name": "Lab X", "text": "hello"})
    note = outsider.note("not yet")
    report = ledger.ingest_entries(outsider.entries)
    assert [e.seq for e in report.accepted] == [1, 2]  # the inception and the request
    assert [(i, e.code) for i, e in report.rejected] == [(note.id, "rule.not-admitted")]
    view.index(report.accepted)
    assert (
        outsider.id in view.applications and applied.id == view.applications[outsider.id].entry_id
    )
    a.note("a member")
    assert [e.seq for e in ingest(ledger, view, a.entries)] == [1, 2]


def test_outsiders_are_held_to_the_size_rules_a_valid_body_and_a_quota() -> None:
    """specs/0012 §5 finding 5: a non-member made every member store 2,001
    member.apply entries of 60 KB, invalid bodies at that."""
    charter, network, _ = federation()
    ledger, view = node_ledger(charter, network)
    outsider = Author("lab-x", network=network)
    big = outsider.append(APPLY, {"name": "Lab X", "text": "x" * 4000, "pad": "y" * 900})
    assert len(big.raw) > RULES.max_entry_bytes
    refused = view.admits(big)
    assert isinstance(refused, RuleViolationError) and refused.code == "rule.entry-too-large"
    outsider.entries.pop()
    invalid = outsider.append(APPLY, {"name": 7})
    refused = view.admits(invalid)
    assert isinstance(refused, RuleViolationError) and refused.code == "rule.invalid-body"
    outsider.entries.pop()
    for i in range(OUTSIDER_MAX_ENTRIES + 3):
        outsider.append(APPLY, {"name": "Lab X", "text": f"please, {i}"})
    report = ledger.ingest_entries(outsider.entries)
    assert len(report.accepted) == OUTSIDER_MAX_ENTRIES
    assert report.rejected[0][1].code == "rule.outsider-quota"


def test_a_vouch_lets_an_identity_publish_until_withdrawn() -> None:
    charter, network, (a, _, _) = federation()
    ledger, view = node_ledger(charter, network)
    designer = Author("designer", network=network)
    a.append(VOUCH, {"candidate": designer.id})
    ingest(ledger, view, a.entries)
    view.refresh(ledger, T0_S)
    assert designer.id in view.vouched and designer.id not in view.state.members  # type: ignore[union-attr]
    designer.note("my first design note")
    assert len(ingest(ledger, view, designer.entries)) == 2
    a.append(UNVOUCH, {"candidate": designer.id})
    ingest(ledger, view, a.entries[-1:])
    view.refresh(ledger, T0_S)
    later = designer.note("after the vouch was withdrawn")
    report = ledger.ingest_entries([later])
    assert report.rejected[0][1].code == "rule.not-admitted"


def test_texts_above_the_rules_string_limit_are_refused() -> None:
    names = ["lab-a", "lab-b", "lab-c"]
    rules = RULES.model_copy(update={"max_str_bytes": 300})
    charter = Charter(version=1, name="Short texts", members=sorted(Author(n).id for n in names),
                      rules=rules, text="", test=True)  # fmt: skip
    network = charter_network_id(charter)
    a = min((Author(n, network=network) for n in names), key=lambda f: f.id)
    ledger, view = node_ledger(charter, network)
    ingest(ledger, view, a.entries)
    fits = a.note("é" * 150)  # 300 bytes of UTF-8: at the limit
    assert view.admits(fits) is None
    assert ingest(ledger, view, [fits]) == [fits]
    long = a.note("é" * 151)  # 302 bytes, far below max_entry_bytes
    assert len(long.raw) < rules.max_entry_bytes
    error = view.admits(long)
    assert isinstance(error, RuleViolationError) and error.code == "rule.string-too-long"
    assert ledger.ingest_entries([long]).rejected[0][1].code == "rule.string-too-long"
    assert longest_str_bytes({"k" * 5: ["ab", {"c": "d" * 9}]}) == 9


def test_entries_above_the_rules_size_are_refused_and_never_signed() -> None:
    charter, network, (a, _, _) = federation()
    ledger, view = node_ledger(charter, network)
    ingest(ledger, view, a.entries)
    big = a.note("x" * 4000)  # over max_entry_bytes = 4096 once encoded with the rest
    assert len(big.raw) > RULES.max_entry_bytes
    error = view.admits(big)
    assert isinstance(error, RuleViolationError) and error.code == "rule.entry-too-large"
    with pytest.raises(RuleViolationError):
        ledger.append(a.signing, network, a.id, [("note", {"text": "y" * 4000})], 0)


def test_a_sync_range_with_a_refused_entry_is_refused_whole() -> None:
    charter, network, _ = federation()
    author_ledger = Ledger(MemoryLogStore())
    outsider = Author("lab-x", network=network)
    outsider.note("one")
    author_ledger.ingest_entries(outsider.entries)
    note = author_ledger.sign_checkpoint(outsider.signing, network, outsider.id)
    ledger, _ = node_ledger(charter, network)
    with pytest.raises(RuleViolationError) as err:
        ledger.ingest_range(network, outsider.id, [e.raw for e in outsider.entries], note.text, [])
    assert err.value.code == "rule.not-admitted"
    assert ledger.head(network, outsider.id) is None


# -- witnessing and the view ---------------------------------------------------------------


def witness_all(ledger: Ledger, founders: list[Author], network: bytes, now_s: int) -> None:
    for witness in founders:
        for author in founders:
            if author is not witness:
                ledger.witness_latest(witness.signing, witness.id, network, author.id, now_s)


def test_cosignatures_of_several_witnesses_are_merged_into_one_note() -> None:
    _, network, (a, b, c) = federation()
    node = Ledger(MemoryLogStore())
    peers = [Ledger(MemoryLogStore()) for _ in (b, c)]
    for ledger in (node, *peers):
        ledger.ingest_entries(a.entries)
    node.ingest_entries([*b.entries, *c.entries])  # lines kept are by witnesses held here
    note = node.sign_checkpoint(a.signing, network, a.id)
    cosigned = []
    for ledger, witness in zip(peers, (b, c), strict=True):
        ledger.add_checkpoint(note.text)
        signed = ledger.witness_latest(witness.signing, witness.id, network, a.id, T0_S)
        assert signed is not None
        assert ledger.witness_latest(witness.signing, witness.id, network, a.id, T0_S) is None
        cosigned.append(signed.text)
    for text in cosigned:
        node.add_checkpoint(text)
    kept = node.latest_checkpoint(network, a.id)
    assert kept is not None and len(kept.signatures) == 3  # the author's and two witnesses'


def pass_proposal(
    ledger: Ledger,
    view: GovernanceView,
    founders: list[Author],
    action: dict[str, Any],
    opened_s: int,
    order: random.Random | None = None,
) -> Entry:
    """Founder a proposes `action`, a and b vote yes; opened and voted at `opened_s`
    (witness time), so it passes at opened_s + 3600 (no effect delay)."""
    a, b, c = founders
    network = a.network
    proposal = a.append(PROPOSAL, {"proposal": action})
    ingest(ledger, view, [*a.entries, *b.entries, *c.entries])
    for author in founders:
        ledger.sign_checkpoint(author.signing, network, author.id)
    witness_all(ledger, founders, network, opened_s)
    votes = [v.append(VOTE, {"proposal": proposal.id, "choice": "yes"}) for v in (a, b)]
    if order is not None:
        order.shuffle(votes)
    for vote in votes:
        ingest(ledger, view, [vote])
    for author in (a, b):
        ledger.sign_checkpoint(author.signing, network, author.id)
    witness_all(ledger, founders, network, opened_s + 60)
    return proposal


def governed(
    charter: Charter, network: bytes, founders: list[Author], order: random.Random | None = None
) -> tuple[Ledger, GovernanceView, Entry]:
    """Founder a proposes to lower max_blob_bytes, a and b vote yes, all witnessed."""
    ledger, view = node_ledger(charter, network)
    action = {"action": "rules.change", "title": "t", "changes": {"max_blob_bytes": 2048}}
    return ledger, view, pass_proposal(ledger, view, founders, action, T0_S, order)


def test_a_witnessed_rule_change_applies_at_its_deadline() -> None:
    charter, network, founders = federation()
    ledger, view, proposal = governed(charter, network, founders)
    view.refresh(ledger, T0_S + 120)
    result = view.result_of(proposal.id)
    assert result is not None and result.outcome.value == "voting" and result.yes == 2
    view.refresh(ledger, T0_S + 3600)
    assert view.state is not None and view.state.rules.max_blob_bytes == 2048
    assert view.result_of(proposal.id).outcome.value == "passed"  # type: ignore[union-attr]
    assert view.state_at(ledger, T0_S + 3599).rules == RULES  # `rules show --at`


@settings(max_examples=5, deadline=None)
@given(st.randoms(use_true_random=False))
def test_any_arrival_order_gives_the_same_rules_hash(rnd: random.Random) -> None:
    hashes = set()
    for order in (None, rnd):
        charter, network, founders = federation()
        ledger, view, _ = governed(charter, network, founders, order)
        view.refresh(ledger, T0_S + 7200)
        assert view.state is not None
        hashes.add(rules_hash(view.state.rules))
    assert len(hashes) == 1


def test_the_rules_allow_list_reaches_the_catalogue() -> None:
    assert allow_list_of(RULES) == frozenset({"CERN-OHL-S-2.0"})
    assert allow_list_of(RULES.model_copy(update={"licences": []})) is None


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=512))
def test_charter_bytes_decode_or_fail_typed(data: bytes) -> None:
    try:
        charter = decode_charter(data)
    except DecodeError as e:
        assert e.code.startswith("decode.")
        return
    assert charter_bytes(charter) == data  # pragma: no cover (random bytes rarely decode)


@settings(max_examples=25, deadline=None)
@given(st.text(max_size=64), st.booleans(), st.integers(min_value=1, max_value=2))
def test_charters_round_trip(name: str, test: bool, k: int) -> None:
    charter, _, _ = federation(test)
    try:
        changed = Charter.model_validate(
            {**charter.model_dump(), "name": name, "rules": {**RULES.model_dump(),
             "witness_count": k}}, strict=True)  # fmt: skip
    except ValueError:
        return  # an empty name: refused by the model
    assert decode_charter(charter_bytes(changed)) == changed
    assert parse_charter_toml(charter_toml(changed)) == changed


def test_an_oversized_charter_is_refused_before_parsing() -> None:
    with pytest.raises(DecodeError) as err:
        decode_charter(b"\x80" * (MAX_CHARTER_BYTES + 1))
    assert err.value.code == "decode.too-large"


def test_a_federation_home_opens_with_its_rules_in_force(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FABNODE_STATE_DIR", str(tmp_path / "state"))
    home = NodeHome(tmp_path / "lab")
    me = home.create_identity()
    charter, network, founders = federation()
    ids = sorted([me.id, *(f.id for f in founders[:2])])
    charter = charter.model_copy(update={"members": ids})
    home.adopt_charter(charter, [])
    with operations.open_local(home) as ctx:
        assert ctx.governance is not None and ctx.ledger.admission is not None
        assert ctx.network == charter_network_id(charter) != network
        assert ctx.catalogue.allow_list == frozenset({"CERN-OHL-S-2.0"})
        fields: dict[str, Any] = {"licence": "MIT", "derived_from": []}
        with pytest.raises(RuleViolationError) as err:
            designs.licence_check(ctx, DesignBody.model_construct(**fields))
        assert err.value.code == "rule.licence-not-open"
        fields["licence"] = "CERN-OHL-S-2.0"
        assert designs.licence_check(ctx, DesignBody.model_construct(**fields)).verdict == "allowed"
        rules = governance_ops.rules(ctx, None)
        assert rules["rules"]["max_blob_bytes"] == RULES.max_blob_bytes
        assert governance_ops.members(ctx)["members"] == sorted(id_to_text(i) for i in ids)
        # A job offer's lifetime is capped by the charter's rule, not the development one.
        assert jobs.offer_ttl_cap(ctx) == RULES.job_offer_ttl_s != jobs.DEV_JOB_OFFER_TTL_S
        offer = {"title": "bracket", "quantity": 1, "process": "3dp-fdm", "material": "PLA",
                 "deadline_ms": (T0_S + 10 * 86_400) * 1000 + 10**13,
                 "location": {"lat_microdeg": 0, "lon_microdeg": 0}, "radius_km": 50,
                 "sealed": True, "ttl_s": RULES.job_offer_ttl_s + 1}  # fmt: skip
        with pytest.raises(JobError) as job_err:
            jobs.offer(ctx, offer)
        assert job_err.value.code == "job.bad-offer"


def test_the_largest_charter_fits_the_charter_limit() -> None:
    charter, _, _ = federation(test=False)
    licences = sorted(f"LicenseRef-{i:0>52}" for i in range(256))
    largest = Charter.model_validate(
        {**charter.model_dump(), "members": sorted(bytes([i % 256, i // 256]) * 16
         for i in range(1000)), "text": "\U0001f6e0" * 4096, "name": "n" * 128,
         "rules": {**RULES.model_dump(), "licences": licences}}, strict=True)  # fmt: skip
    assert len(charter_bytes(largest)) <= MAX_CHARTER_BYTES
    assert decode_charter(charter_bytes(largest)) == largest


def test_the_charter_text_is_bounded_in_bytes() -> None:
    charter, _, _ = federation()
    with pytest.raises(ValueError):
        Charter.model_validate({**charter.model_dump(), "text": "\u00e9" * 9000}, strict=True)


# -- what passed proposals change on a node (specs/0008 §3, 0004 §5) -------------------------


def chartered_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[NodeHome, Charter]:
    """A home following the three founders' charter (it is not a member itself)."""
    monkeypatch.setenv("FABNODE_STATE_DIR", str(tmp_path / "state"))
    home = NodeHome(tmp_path / "lab")
    home.create_identity()
    charter, _, _ = federation()
    charter = charter.model_copy(update={"text": "The founding text."})
    home.adopt_charter(charter, [])
    return home, charter


def test_a_passed_unfreeze_lifts_the_freeze_from_its_effect_and_after_a_restart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home, charter = chartered_home(tmp_path, monkeypatch)
    network = charter_network_id(charter)
    founders = sorted((Author(n, network=network) for n in ("lab-a", "lab-b", "lab-c")),
                      key=lambda f: f.id)  # fmt: skip
    c = founders[2]
    c.note("one history")
    twin = Author(c.name, network=network)  # c restored an old backup and signed again
    twin.clock_ms += 7
    twin.note("another history")
    opened_s = int(time.time()) - 3 * 3600
    with operations.open_local(home) as ctx:
        view = ctx.governance
        assert view is not None
        ingest(ctx.ledger, view, c.entries)
        (proof,) = ctx.ledger.ingest_entries([twin.entries[1]]).forks
        assert ctx.ledger.is_frozen(network, c.id)
        action = {"action": "fork.unfreeze", "title": "c restored a backup",
                  "fork_proof": proof.id}  # fmt: skip
        pass_proposal(ctx.ledger, view, founders, action, opened_s)
        view.refresh(ctx.ledger, opened_s + 3599)  # before its effect: still frozen
        assert ctx.ledger.is_frozen(network, c.id)
        view.refresh(ctx.ledger, opened_s + 3600)
        assert view.state is not None and view.state.unfrozen == {proof.id}
        assert not ctx.ledger.is_frozen(network, c.id)
        assert [e.seq for e in ingest(ctx.ledger, view, [c.note("after the lift")])] == [3]
        listed = operations.fork_proofs(ctx)
        assert [(f["position"], f["lifted"]) for f in listed] == [(2, True)]
    with operations.open_local(home) as ctx:  # the node derives the lift on start-up
        assert not ctx.ledger.is_frozen(network, c.id)
        assert [p.id for p in ctx.store.fork_proofs()] == [proof.id]  # kept, to be shared
        refused = ctx.ledger.ingest_entries([twin.entries[1]])
        assert [e.code for _, e in refused.rejected] == ["rule.lifted-fork"]


def test_a_passed_amendment_is_the_charter_text_in_force(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    home, charter = chartered_home(tmp_path, monkeypatch)
    network = charter_network_id(charter)
    founders = sorted((Author(n, network=network) for n in ("lab-a", "lab-b", "lab-c")),
                      key=lambda f: f.id)  # fmt: skip
    with operations.open_local(home) as ctx:
        before = governance_ops.charter(ctx)
        assert before["text"] == before["founding_text"] == "The founding text."
        assert before["amendments"] == []
        assert ctx.governance is not None
        action = {"action": "charter.amend", "title": "Say more", "text": "The amended text."}
        opened_s = int(time.time()) - 3 * 3600
        amend = pass_proposal(ctx.ledger, ctx.governance, founders, action, opened_s)
        after = governance_ops.charter(ctx)
    assert after["text"] == "The amended text."
    assert after["founding_text"] == "The founding text."
    assert after["amendments"] == [
        {"proposal": id_to_text(amend.id), "title": "Say more", "effective_at_s": opened_s + 3600}
    ]
    assert after["toml"] == charter_toml(charter) and after["network"] == id_to_text(network)
    capsys.readouterr()
    assert main(["--home", str(home.path), "federation", "show", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["text"] == "The amended text." and shown["founding_text"] == "The founding text."
    assert shown["amendments"] == after["amendments"] and shown["founder"] is False


def test_a_revocation_voids_a_stolen_keys_proposal_in_the_view() -> None:
    charter, network, (a, b, _) = federation()
    ledger, view = node_ledger(charter, network)
    action = {"action": "rules.change", "title": "t", "changes": {"max_blob_bytes": 2048}}
    stolen = a.append(PROPOSAL, {"proposal": action})  # signed by the thief
    ingest(ledger, view, [*a.entries, *b.entries])
    assert stolen.id in view.proposals
    assert a.key_event is not None
    body = {"prev_key_event": a.key_event, "revoke_from_seq": stolen.seq, "next_key": b.id}
    revocation = a.append(kinds.REVOCATION, body, key=a.recovery)
    report = ledger.ingest_entries([revocation])
    assert report.accepted == [revocation]
    view.reload(ledger.store)  # as node.ops.context.index_committed does on a revocation
    assert stolen.id not in view.proposals and stolen.id not in view.proposal_titles
    fresh = GovernanceView(charter, network)
    fresh.load(ledger.store)  # a node opening its store ignores it too
    assert stolen.id not in fresh.proposals
