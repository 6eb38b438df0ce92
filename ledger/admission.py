"""Who may publish in a federation: the admission rule (specs/0008-governance.md §7.1).

Every member node applies it to every entry it receives or signs, with the rules in
force and the identities admitted there (members and those vouched for, §3.2).
`refusal` makes the checks of the §7.1 table in its order and returns the first one
that fails, as a RuleViolationError with that row's code and fields, or None when the
entry is admitted. The node's governance view (node.ops.governance_view) calls it;
so do the vectors governance/admit. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from protocol import kinds
from protocol.entry import Entry
from protocol.errors import RuleViolationError
from protocol.governance import APPLY, Rules
from protocol.ids import id_to_text

#: Kinds accepted from any author: its key events and an admission request (§7.1).
OPEN_KINDS = frozenset({kinds.INCEPTION, kinds.ROTATION, kinds.REVOCATION, APPLY})
#: Entries an outsider's log may hold here: its inception, a few key events and
#: applications (§7.1).
OUTSIDER_MAX_ENTRIES = 8


def refusal(entry: Entry, rules: Rules, admitted: Collection[bytes]) -> RuleViolationError | None:
    """Why `entry` is not admitted under `rules` (§7.1, rows 1-6), or None.

    The size rules hold for every author and kind. An author not in `admitted` may
    publish only the open kinds, each with a valid body, and at most
    OUTSIDER_MAX_ENTRIES entries in all: what it takes to apply, not a free store on
    every member's disk (specs/0012 §5, finding 5)."""
    size, limit = len(entry.raw), rules.max_entry_bytes
    if size > limit:
        return RuleViolationError(
            "rule.entry-too-large",
            f"entry of {size} bytes, the rules allow {limit}",
            size=size,
            limit=limit,
        )
    longest, str_limit = longest_str_bytes(entry.body), rules.max_str_bytes
    if longest > str_limit:
        return RuleViolationError(
            "rule.string-too-long",
            f"a text of {longest} bytes in the body, the rules allow {str_limit}",
            size=longest,
            limit=str_limit,
        )
    if entry.author in admitted:
        return None
    return _outsider_refusal(entry)


def _outsider_refusal(entry: Entry) -> RuleViolationError | None:
    """Rows 4-6: why an entry of an author neither member nor vouched for is refused."""
    if entry.kind not in OPEN_KINDS:
        return RuleViolationError(
            "rule.not-admitted",
            f"{id_to_text(entry.author)} is neither a member nor vouched for",
            kind=entry.kind,
        )
    status = kinds.check_body(entry.kind, entry.body)
    if not status.valid:
        return RuleViolationError(
            "rule.invalid-body",
            f"an outsider's {entry.kind} must be valid: {status.reason}",
            kind=entry.kind,
        )
    if entry.seq > OUTSIDER_MAX_ENTRIES:
        return RuleViolationError(
            "rule.outsider-quota",
            f"an outsider's log holds at most {OUTSIDER_MAX_ENTRIES} entries here",
            seq=entry.seq,
            limit=OUTSIDER_MAX_ENTRIES,
        )
    return None


def longest_str_bytes(value: Any) -> int:
    """The UTF-8 length of the longest text anywhere in a decoded body (map keys too)."""
    longest, pending = 0, [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            longest = max(longest, len(item.encode()))
        elif isinstance(item, dict):
            pending += item.keys()
            pending += item.values()
        elif isinstance(item, list | tuple):
            pending += item
    return longest
