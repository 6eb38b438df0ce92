"""The licence rule of a design, the same on publish and on receipt (specs/0010 §4).

A design may be published, and a received design enters the catalogue, only when

1. its `licence` is an SPDX expression in normal form (licenses.spdx) — otherwise
   DecodeError("decode.bad-licence"): the body is not what any honest node signs;
2. the network's allow-list accepts it (licenses.allowlist) —
   otherwise RuleViolationError("rule.licence-not-open");
3. when it names parents (`derived_from`), the parents' licences allow a child under
   it (licenses.derive): `forbidden` raises RuleViolationError("rule.derivative-forbidden");
   `review` is allowed but flagged in the result, for a person to look at.

The caller resolves `derived_from` to the parents' licences, one per parent, in order;
a node that does not hold a parent yet defers the check (nothing here guesses).
Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from licenses import allowlist, derive, spdx
from protocol.design import DesignBody
from protocol.errors import DecodeError, LocalMisuseError, RuleViolationError


@dataclass(frozen=True, slots=True)
class LicenceCheck:
    """A design that passed: `allowed`, or `review` (publishable, flagged for a person)."""

    verdict: str
    reason: str
    attribution: list[str] = field(default_factory=list)

    @property
    def needs_review(self) -> bool:
        return self.verdict == "review"


def check_design_licence(
    body: DesignBody,
    parent_licences: Sequence[str],
    *,
    allow_list: frozenset[str] | None = None,
) -> LicenceCheck:
    """Apply the licence rule (module docstring) to a design and its parents' licences.

    `allow_list` is the network's (licenses.allowlist; the default list when None).
    Raises DecodeError, RuleViolationError, or LocalMisuseError when the number of
    parent licences is not the number of parents.
    """
    if len(parent_licences) != len(body.derived_from):
        raise LocalMisuseError(
            "misuse.bad-argument",
            f"got {len(parent_licences)} parent licences, want {len(body.derived_from)}",
        )
    return check_licence_rule(body.licence, parent_licences, allow_list=allow_list)


def check_licence_rule(
    licence: str,
    parent_licences: Sequence[str],
    *,
    allow_list: frozenset[str] | None = None,
) -> LicenceCheck:
    """The rule's checks in the order of specs/0010 §4.1 (rows L1-L5) for a design under
    `licence` whose parents are under `parent_licences`, in the order it names them."""
    normal = spdx.normalise(licence)
    if normal != licence:
        raise DecodeError(
            "decode.bad-licence",
            f"licence {licence!r} is not in normal form, want {normal!r}",
            field="licence",
        )
    if not allowlist.is_allowed(licence, allow_list):
        raise RuleViolationError(
            "rule.licence-not-open",
            f"{licence} is not on the network's list of open licences",
            field="licence",
        )
    if not parent_licences:
        return LicenceCheck("allowed", "an original design: no parent licences apply")
    verdict = derive.derive(list(parent_licences), licence)
    if verdict.verdict == "forbidden":
        raise RuleViolationError(
            "rule.derivative-forbidden",
            f"a design under {licence} cannot derive from "
            f"{', '.join(parent_licences)}: {verdict.reason}",
            field="derived_from",
        )
    return LicenceCheck(verdict.verdict, verdict.reason, list(verdict.attribution))
