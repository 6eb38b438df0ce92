"""Issue 14 at the ops level, over a real home: a forked (frozen) lab leaves the
directory and matching with why and since when; names come from the ledger; an
admission without the vouches the rules ask warns before and reads void after."""

from __future__ import annotations

import random
from pathlib import Path

from node.ops import capabilities, names
from node.ops import context as operations
from node.ops import governance as governance_ops
from node.ops.capabilities import MatchQuery
from node.store.home import NodeHome
from protocol.capability import ADVERT, advert_body_map, advert_from_toml
from protocol.governance import APPLY, VOUCH, charter_network_id
from protocol.ids import id_to_text
from tests.factory import Author
from tests.node.ops.test_capabilities import LAB_TOML
from tests.node.ops.test_governance import RULES, federation, governed, pass_proposal


def _advert(name: str) -> dict[str, object]:
    body = advert_from_toml(LAB_TOML.replace("Fab Lab Barcelona", name).encode())
    return advert_body_map(body)


def test_a_forked_lab_leaves_the_directory_and_matching_with_why(tmp_path: Path) -> None:
    home = NodeHome(tmp_path / "lab")
    home.create_identity()
    with operations.open_local(home) as ctx:
        honest = Author("forker", network=ctx.network)
        twin = Author("forker", network=ctx.network)  # the same keys: a restored backup
        other = Author("other", network=ctx.network)
        for author, name in ((honest, "Forked Lab"), (twin, "Forked Lab"), (other, "Good Lab")):
            author.append(ADVERT, _advert(name))
        honest.note("one history")
        twin.clock_ms += 7
        twin.note("another history")
        ctx.ledger.ingest_entries([*honest.entries, *other.entries])
        assert capabilities.frozen_labs(ctx) == {}
        ctx.ledger.ingest_entries([twin.entries[-1]])  # a fork at seq 3: proof stored
        assert ctx.ledger.is_frozen(ctx.network, honest.id)

        found = capabilities.find(ctx, None, None, None)
        assert [a["lab"] for a in found["adverts"]] == [id_to_text(other.id)]
        (frozen,) = found["frozen"]
        assert frozen["lab"] == id_to_text(honest.id)
        why = frozen["frozen"]
        assert why["reason"] == "forked" and why["position"] == 3
        assert (
            why["since"] == "claimed" and why["since_s"] == honest.entries[-1].timestamp_ms // 1000
        )

        matched = capabilities.match_query(ctx, MatchQuery(parts=[], processes=["3dp-fdm"]), None)
        assert [c["lab"] for c in matched["candidates"]] == [id_to_text(other.id)]
        (excluded,) = matched["excluded"]
        assert excluded["reasons"] == ["frozen"] and excluded["frozen"]["fork_proof"]

        known = names.names_json(ctx)["names"]  # a frozen lab keeps its name
        assert known == {id_to_text(honest.id): "Forked Lab", id_to_text(other.id): "Good Lab"}
        assert names.label(known, id_to_text(other.id)) == "Good Lab"
        stranger = id_to_text(Author("stranger").id)
        assert names.label(known, stranger) == stranger[:12] + "…"


def test_an_admission_short_of_vouches_warns_and_reads_void() -> None:
    charter, _, _ = federation()
    charter = charter.model_copy(
        update={"rules": RULES.model_copy(update={"admission_vouches": 1})}
    )
    network = charter_network_id(charter)
    founders = sorted((Author(n, network=network) for n in ("lab-a", "lab-b", "lab-c")),
                      key=lambda a: a.id)  # fmt: skip
    candidate = Author("lab-x", network=network)
    candidate.append(APPLY, {"name": "Lab X", "text": "We mill aluminium."})
    ledger, view, _ = governed(charter, network, founders)
    ledger.ingest_entries(candidate.entries)
    view.index(candidate.entries)
    view.refresh(ledger, 1_800_000_000)
    assert governance_ops.admission_warnings(view, candidate.id)[0]["code"] == (
        "warn.too-few-vouches"
    )
    admit = {"action": "member.admit", "title": "Admit X", "member": candidate.id}
    proposal = pass_proposal(ledger, view, founders, admit, 1_800_000_100, random.Random(1))
    view.refresh(ledger, 1_800_000_100 + 3600)
    shown = view.proposal_json(view.proposals[proposal.id])
    assert shown["tally"]["outcome"] == "passed"
    assert shown["tally"]["void_reason"] == "too-few-vouches"
    assert view.state is not None and candidate.id not in view.state.members
    assert view.members_json()["applications"][0]["name"] == "Lab X"
    founders[0].append(VOUCH, {"candidate": candidate.id})
    ledger.ingest_entries(founders[0].entries)
    view.index(founders[0].entries)
    view.refresh(ledger, 1_800_000_100 + 3600)
    assert governance_ops.admission_warnings(view, candidate.id) == []
