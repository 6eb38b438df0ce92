"""governance/proposal: the check of a proposed action before it is signed (specs/0008 §7.4).

Each expectation follows from how the action was built against the action table of
0008 §3 (its fields, their types) and the rule names of §2, never from the code under test.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

from protocol.jsonform import to_json
from specs.vectorgen.common import Case, error, ok

BAD = "decode.bad-proposal"
_ID = hashlib.sha256(b"fabcommons-vectors/proposal-target").digest()


def _case(name: str, description: str, action: dict[str, Any], valid: bool) -> Case:
    expect = ok() if valid else error(BAD)
    return Case("governance", "proposal", name, description, {"action": to_json(action)}, expect)


def cases() -> Iterator[Case]:
    change = {
        "action": "rules.change",
        "title": "Longer votes",
        "changes": {"voting_period_s": 604_800},
    }
    admit = {"action": "member.admit", "title": "Admit a lab", "member": _ID}
    yield _case("rules-change", "A change of one rule.", change, True)
    yield _case(
        "rules-change-licences",
        "A change of the licence list: an array of text.",
        {**change, "changes": {"licences": ["CERN-OHL-S-2.0", "MIT"]}},
        True,
    )
    yield _case(
        "rules-change-out-of-bounds",
        "Bounds are not checked here: a quorum of 5000 per mille is valid, void when applied.",
        {**change, "changes": {"quorum_permille": 5000}},
        True,
    )
    yield _case("member-admit", "Admit a member by its id.", admit, True)
    yield _case(
        "member-remove", "Remove a member by its id.", {**admit, "action": "member.remove"}, True
    )
    yield _case(
        "fork-unfreeze",
        "Lift the freeze of a fork proof, named by its id.",
        {"action": "fork.unfreeze", "title": "Lift", "fork_proof": _ID},
        True,
    )
    yield _case(
        "charter-amend",
        "Replace the charter text; empty text is allowed.",
        {"action": "charter.amend", "title": "Clear the text", "text": ""},
        True,
    )
    yield _case(
        "title-256-chars", "A title of 256 characters.", {**admit, "title": "é" * 256}, True
    )
    yield _case(
        "title-257-chars", "A title of 257 characters.", {**admit, "title": "é" * 257}, False
    )
    yield _case("title-empty", "A title is at least one character.", {**admit, "title": ""}, False)
    yield _case(
        "title-missing",
        "Every action has a title.",
        {k: v for k, v in admit.items() if k != "title"},
        False,
    )
    yield _case(
        "unknown-action",
        "An action outside the table of §3.",
        {**admit, "action": "member.ban"},
        False,
    )
    yield _case("member-31-bytes", "A member id is 32 bytes.", {**admit, "member": _ID[:31]}, False)
    yield _case(
        "member-as-text", "A member id is bytes, not text.", {**admit, "member": _ID.hex()}, False
    )
    yield _case(
        "member-missing",
        "member.admit names its member.",
        {k: v for k, v in admit.items() if k != "member"},
        False,
    )
    yield _case("extra-field", "A field its row does not name.", {**admit, "text": "hello"}, False)
    yield _case(
        "changes-empty",
        "A rules change changes at least one rule.",
        {**change, "changes": {}},
        False,
    )
    yield _case(
        "changes-only-nil",
        "A rule given as nil is unchanged, so this changes none.",
        {**change, "changes": {"quorum_permille": None}},
        False,
    )
    yield _case(
        "changes-unknown-rule",
        "A rule name that §2 does not define.",
        {**change, "changes": {"quorum": 500}},
        False,
    )
    yield _case(
        "changes-rule-as-text",
        "A rule's integer given as text.",
        {**change, "changes": {"quorum_permille": "500"}},
        False,
    )
    yield _case(
        "amend-text-too-long",
        "Charter text of 16,385 characters.",
        {"action": "charter.amend", "title": "Long", "text": "a" * 16_385},
        False,
    )
    yield _case(
        "amend-text-too-many-bytes",
        "Charter text of 8,193 two-byte characters: 16,386 bytes of UTF-8.",
        {"action": "charter.amend", "title": "Long", "text": "é" * 8_193},
        False,
    )
