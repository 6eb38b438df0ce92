"""node.ops.notifications: what committed entries and the clock make for this node's
identity, judged on a real home (SQLite files, a charter, real signatures). The
deliveries (e-mail, webhooks, the page) are tests/integration/test_notifications.py."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from node.i18n import translator
from node.ops import context as operations
from node.ops.notifications import due_notices, notices_for
from protocol.governance import APPLY, PROPOSAL, charter_network_id
from tests.factory import Author
from tests.node.ops.test_governance import chartered_home, ingest


def test_a_proposal_and_an_application_make_notices_and_a_fork_an_alert(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home, charter = chartered_home(tmp_path, monkeypatch)
    network = charter_network_id(charter)
    a, _, c = sorted((Author(n, network=network) for n in ("lab-a", "lab-b", "lab-c")),
                     key=lambda f: f.id)  # fmt: skip
    candidate = Author("candidate", network=network)
    with operations.open_local(home) as ctx:
        view = ctx.governance
        assert view is not None
        action = {"action": "rules.change", "title": "Longer offers",
                  "changes": {"job_offer_ttl_s": 7200}}  # fmt: skip
        proposal = a.append(PROPOSAL, {"proposal": action})
        applied = candidate.append(APPLY, {"name": "Lab Dee", "text": "a new fab lab"})
        kept = ingest(ctx.ledger, view, [*a.entries, *candidate.entries])
        assert {proposal.id, applied.id} <= {e.id for e in kept}
        notices = notices_for(ctx, kept, radius_km=50)
        kinds = {n.kind: n for n in notices}
        assert kinds["proposal-open"].title == "New proposal: Longer offers"
        assert kinds["application"].title == "Admission application: Lab Dee"
        assert all("a new fab lab" not in n.text for n in notices)  # titles, not bodies
        assert notices_for(ctx, [], radius_km=50) == []
        # In the language the settings name: the words are ours, the titles the entries'.
        spanish = {n.kind: n for n in notices_for(ctx, kept, 50, translator("es"))}
        assert spanish["proposal-open"].title == "Nueva propuesta: Longer offers"
        assert spanish["application"].title == "Solicitud de admisión: Lab Dee"
        assert spanish["application"].text.startswith("de ")
        assert [n.key for n in spanish.values()] == [n.key for n in kinds.values()]

        assert [n.kind for n in due_notices(ctx, int(time.time()))] == []  # no fork yet
        c.note("one history")
        twin = Author(c.name, network=network)  # c restored an old backup and signed again
        twin.clock_ms += 7
        twin.note("another history")
        ingest(ctx.ledger, view, c.entries)
        ctx.ledger.ingest_entries([twin.entries[1]])
        (alert,) = [n for n in due_notices(ctx, int(time.time())) if n.kind == "fork"]
        assert alert.link == "#/node" and "frozen" in alert.text
        (german,) = [
            n for n in due_notices(ctx, int(time.time()), translator("de")) if n.kind == "fork"
        ]
        assert german.title == "Verzweigung erkannt" and "eingefroren" in german.text
