"""`fabnode blob status` for people (node/cli/blobs.py status_text): one line per peer,
with the verdict of the challenge of specs/0009 §12.4 where this node could ask it."""

from __future__ import annotations

from node.cli.blobs import status_text


def test_each_peer_line_shows_its_claim_and_the_proof_of_it() -> None:
    status = {
        "blob": "b" * 53, "held": True, "size": 10,
        "peers": [{"peer": "p1", "held": True}, {"peer": "p2", "held": True},
                  {"peer": "p3", "held": True}, {"peer": "p4", "held": False}],
        "proved": {"p1": True, "p2": False, "p3": None},
        "pinners": [],
    }  # fmt: skip
    assert status_text(status).splitlines()[1:5] == [
        "peer p1: holds it (proved)",
        "peer p2: holds it but failed the proof",
        "peer p3: holds it (proof unanswered)",
        "peer p4: does not hold it",
    ]


def test_a_node_that_does_not_hold_the_blob_shows_the_claims_unchecked() -> None:
    status = {"blob": "b" * 53, "held": False, "size": None,
              "peers": [{"peer": "p1", "held": True}], "proved": {}, "pinners": None}  # fmt: skip
    assert status_text(status).splitlines() == ["b" * 53 + ": not held here", "peer p1: holds it"]
