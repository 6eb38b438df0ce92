"""May a design under one licence become a derivative under another? (specs/0006 §5)

`derive(parents, child)` answers for a child design made from one or more parents:
`allowed`, `forbidden`, or `review` (a person must decide), with the reason, and the
parent licences whose attribution the child must carry. The rules are tables:

- `COMPATIBLE_CHILDREN`: for each copyleft licence, the child licences it allows
  (a one-way list: CC-BY-SA-4.0 allows GPL-3.0-only, not the reverse);
- `PAIR_RULES`: the few (parent, child) pairs that need their own verdict;
- by family: a permissive parent allows any open child (keeping its notices); a weak
  parent allows its own licence (or a listed one), and other open children need review,
  since only the parent's files must stay under it; a strong parent forbids the rest.

Expressions (§5.2): a parent's OR lets the licensee pick (the best verdict over options
counts); a parent's AND means every part binds (the worst); a child's OR must suit the
parent whichever option a user picks (the worst); a child's AND suits a copyleft parent
when every part does, needs review when only some do. Several parents bind together,
like an AND. When the parents bind under copylefts of different groups and the child
suits only some of them (mixed copyleft: often hardware under one licence and
documentation under another), the verdict is review, not forbidden.

Pure: no I/O. Parsing is licenses.spdx, families are licenses.families.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum

from licenses.families import Family, ShareAlike, assess_expression, leaf_assessment, terms_of
from licenses.spdx import (
    BAD_LICENCE,
    AllOf,
    AnyOf,
    Expression,
    Licence,
    leaves,
    parse_expression,
    render,
)
from protocol.errors import DecodeError


class Verdict(Enum):
    FORBIDDEN = "forbidden"
    REVIEW = "review"
    ALLOWED = "allowed"

    @property
    def rank(self) -> int:
        return _RANK[self]


_RANK = {Verdict.FORBIDDEN: 0, Verdict.REVIEW: 1, Verdict.ALLOWED: 2}


@dataclass(frozen=True, slots=True)
class DerivationVerdict:
    """The answer: a verdict, why, and the parent licences whose notices the child keeps."""

    verdict: str
    reason: str
    attribution: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        return {"verdict": self.verdict, "reason": self.reason, "attribution": self.attribution}


def _gpl(*versions: str) -> frozenset[str]:
    return frozenset(f"GPL-{v}-{s}" for v in versions for s in ("only", "or-later"))


def _lgpl(*versions: str) -> frozenset[str]:
    return frozenset(f"LGPL-{v}-{s}" for v in versions for s in ("only", "or-later"))


_GPL2_UP = _gpl("2.0", "3.0")
_GPL3 = _gpl("3.0")
_BY_SA = (
    "CC-BY-SA-1.0",
    "CC-BY-SA-2.0",
    "CC-BY-SA-2.0-UK",
    "CC-BY-SA-2.1-JP",
    "CC-BY-SA-2.5",
    "CC-BY-SA-3.0",
    "CC-BY-SA-3.0-AT",
    "CC-BY-SA-3.0-DE",
    "CC-BY-SA-3.0-IGO",
    "CC-BY-SA-4.0",
)


def _by_sa_children(parent: str) -> frozenset[str]:
    """CC BY-SA 2.0 and later allow adaptations under the same or a later version (or a
    port of one); 1.0 only under itself; 4.0 also under GPLv3 (CC's compatibility list)."""
    version = parent.split("-")[3]
    if version == "1.0":
        return frozenset({parent})
    later = frozenset(c for c in _BY_SA if c.split("-")[3] >= version)
    return later | _GPL3 if version == "4.0" else later


#: specs/0006 §5.1: child licences each copyleft parent allows (the parent's own included).
COMPATIBLE_CHILDREN: dict[str, frozenset[str]] = {
    "CERN-OHL-S-2.0": frozenset({"CERN-OHL-S-2.0"}),
    "CERN-OHL-1.1": frozenset({"CERN-OHL-1.1"}),
    "CERN-OHL-1.2": frozenset({"CERN-OHL-1.2"}),
    "TAPR-OHL-1.0": frozenset({"TAPR-OHL-1.0"}),
    "GPL-1.0-only": frozenset({"GPL-1.0-only"}),
    "GPL-1.0-or-later": _gpl("1.0", "2.0", "3.0"),
    "GPL-2.0-only": frozenset({"GPL-2.0-only"}),
    "GPL-2.0-or-later": _GPL2_UP,
    "GPL-3.0-only": frozenset({"GPL-3.0-only"}),
    "GPL-3.0-or-later": _GPL3,
    "AGPL-3.0-only": frozenset({"AGPL-3.0-only"}),
    "AGPL-3.0-or-later": frozenset({"AGPL-3.0-only", "AGPL-3.0-or-later"}),
    **{v: _by_sa_children(v) for v in _BY_SA},
    "CERN-OHL-W-2.0": frozenset({"CERN-OHL-W-2.0"}),
    "LGPL-2.0-only": frozenset({"LGPL-2.0-only"}) | _GPL2_UP,
    "LGPL-2.0-or-later": _GPL2_UP | _lgpl("2.0", "2.1", "3.0"),
    "LGPL-2.1-only": frozenset({"LGPL-2.1-only"}) | _GPL2_UP,
    "LGPL-2.1-or-later": _GPL2_UP | _lgpl("2.1", "3.0"),
    "LGPL-3.0-only": frozenset({"LGPL-3.0-only", "GPL-3.0-only"}),
    "LGPL-3.0-or-later": _GPL3 | _lgpl("3.0"),
    "MPL-2.0": frozenset({"MPL-2.0"}),
    "MPL-2.0-no-copyleft-exception": frozenset({"MPL-2.0-no-copyleft-exception"}),
}

#: specs/0006 §5.1: (parent, child) pairs with their own verdict, before the family rules.
PAIR_RULES: dict[tuple[str, str], tuple[Verdict, str]] = {
    ("Apache-2.0", "GPL-2.0-only"): (
        Verdict.REVIEW,
        "Apache-2.0's patent terms are held incompatible with GPL-2.0-only",
    ),
    ("CERN-OHL-1.2", "CERN-OHL-S-2.0"): (
        Verdict.REVIEW,
        "CERN-OHL-1.2 allows CERN-OHL-S-2.0 only if the parent's notice says 'or later'",
    ),
    ("CERN-OHL-1.1", "CERN-OHL-S-2.0"): (
        Verdict.REVIEW,
        "CERN-OHL-1.1 allows CERN-OHL-S-2.0 only if the parent's notice says 'or later'",
    ),
}


@dataclass(frozen=True, slots=True)
class _Outcome:
    verdict: Verdict
    reason: str
    attribution: tuple[str, ...] = ()
    groups: frozenset[str] = frozenset()  # the parent's copyleft licences that bind
    final: bool = False  # a parent that is not open: mixing copylefts cannot soften it


def derive(parents: Sequence[str], child: str) -> DerivationVerdict:
    """The verdict on a child licensed `child` made from parents licensed `parents`.

    Raises DecodeError (decode.bad-licence) when an expression does not parse or no
    parent is given.
    """
    if not parents:
        raise DecodeError(BAD_LICENCE, "a derivative needs at least one parent licence")
    parent_exprs = [parse_expression(p).expression for p in parents]
    child_expr = parse_expression(child).expression
    outcome = _child_openness(child_expr) or _all(
        [_parent(p, child_expr) for p in parent_exprs], "the parents"
    )
    return DerivationVerdict(outcome.verdict.value, outcome.reason, list(outcome.attribution))


def _child_openness(child: Expression) -> _Outcome | None:
    found = assess_expression(child)
    if found.family is Family.BLOCKED:
        return _Outcome(Verdict.FORBIDDEN, f"the child's licence is not open: {found.reason}")
    if found.family is Family.UNKNOWN:
        return _Outcome(Verdict.REVIEW, f"the child's licence is not assessed: {found.reason}")
    return None


def _parent(parent: Expression, child: Expression) -> _Outcome:
    if isinstance(parent, Licence):
        return _leaf_parent(parent, child)
    if _key(parent) == _key(child):
        found = assess_expression(parent)
        reason = f"the child keeps the parent's licence {render(parent)}"
        return _Outcome(Verdict.ALLOWED, reason, found.attribution, _groups(parent))
    if isinstance(parent, AnyOf):
        subs = [_parent(p, child) for p in parent.options]
        best = max(subs, key=lambda o: o.verdict.rank)  # the first of the best
        chosen = render(parent.options[subs.index(best)])
        reason = f"choosing {chosen} for the parent: {best.reason}"
        return _Outcome(best.verdict, reason, best.attribution, best.groups, best.final)
    return _all([_parent(p, child) for p in parent.parts], render(parent))


def _all(subs: list[_Outcome], what: str) -> _Outcome:
    """Every outcome binds: the worst wins, unless copylefts of several groups mix."""
    attribution = tuple(dict.fromkeys(a for s in subs for a in s.attribution))
    groups = frozenset(g for s in subs for g in s.groups)
    # The worst verdict; among forbidden ones a blocked parent's first, so that a blocked
    # licence binds whatever the order of the parts (AND is commutative).
    worst = min(subs, key=lambda o: (o.verdict.rank, not o.final))
    mixed = (
        worst.verdict is Verdict.FORBIDDEN
        and len(groups) > 1
        and not any(s.final for s in subs)
        and any(s.verdict is not Verdict.FORBIDDEN and s.groups for s in subs)
    )
    if mixed:
        reason = (
            f"mixed copyleft in {what} ({', '.join(sorted(groups))}): the child suits some "
            "but not all; a person must check which part of the design each licence covers"
        )
        return _Outcome(Verdict.REVIEW, reason, attribution, groups)
    reason = worst.reason
    if worst.verdict is Verdict.ALLOWED:
        reason = "; ".join(dict.fromkeys(s.reason for s in subs))
    return _Outcome(worst.verdict, reason, attribution, groups, worst.final)


def _key(expr: Expression) -> object:
    """Equal for expressions that differ only in the order of operands."""
    if isinstance(expr, Licence):
        return str(expr)
    items = expr.options if isinstance(expr, AnyOf) else expr.parts
    return (type(expr).__name__, frozenset(_key(e) for e in items))


def _groups(expr: Expression) -> frozenset[str]:
    return frozenset(str(leaf) for leaf in leaves(expr) if _copyleft(leaf))


def _copyleft(leaf: Licence) -> bool:
    terms = terms_of(leaf)
    return terms is not None and terms.open and terms.share_alike is not ShareAlike.NONE


def _leaf_parent(parent: Licence, child: Expression) -> _Outcome:
    """One parent licence against the whole child expression."""
    found = leaf_assessment(parent)
    if found.family is Family.BLOCKED:
        reason = f"the parent's licence is not open: {found.reason}; no open derivative"
        return _Outcome(Verdict.FORBIDDEN, reason, found.attribution, final=True)
    if found.family is Family.UNKNOWN:
        reason = f"the parent's licence is not assessed: {found.reason}"
        return _Outcome(Verdict.REVIEW, reason, found.attribution)
    outcome = _against_child(parent, child)
    return _Outcome(outcome.verdict, outcome.reason, found.attribution, _groups(parent))


def _against_child(parent: Licence, child: Expression) -> _Outcome:
    if isinstance(child, AnyOf):
        subs = [_against_child(parent, c) for c in child.options]
        worst = min(subs, key=lambda o: o.verdict.rank)
        return _Outcome(worst.verdict, f"every option of the child must suit: {worst.reason}")
    if isinstance(child, AllOf):
        subs = [_against_child(parent, c) for c in child.parts]
        worst = min(subs, key=lambda o: o.verdict.rank)
        if worst.verdict is Verdict.ALLOWED or not _copyleft(parent):
            return worst
        if any(s.verdict is Verdict.ALLOWED for s in subs):
            reason = (
                f"the child keeps {parent} beside other licences: a person must check that "
                f"{parent} still covers every part derived from the parent"
            )
            return _Outcome(Verdict.REVIEW, reason)
        return worst
    return _pair(parent, child)


def _pair(parent: Licence, child: Licence) -> _Outcome:
    """The leaf rule of §5.1: one open parent licence, one open child licence."""
    p, c = str(parent), str(child)
    rule = PAIR_RULES.get((p, c))
    if rule is not None:
        return _Outcome(*rule)
    terms = terms_of(parent)
    if terms is None:  # not reached: _leaf_parent decides unknown parents
        return _Outcome(Verdict.REVIEW, f"{p} is not in the licence table")
    if terms.family is Family.PERMISSIVE:
        keep = " keeping its notices" if terms.attribution else ""
        return _Outcome(Verdict.ALLOWED, f"{p} is permissive: any open child{keep}")
    if p == c:
        return _Outcome(Verdict.ALLOWED, f"the child keeps the parent's licence {p}")
    if parent.exception or parent.or_later or child.exception or child.or_later:
        reason = f"{p} → {c}: an exception or '+' changes what the copyleft allows"
        return _Outcome(Verdict.REVIEW, reason)
    allowed = COMPATIBLE_CHILDREN.get(parent.id, frozenset({parent.id}))
    if c in allowed:
        return _Outcome(Verdict.ALLOWED, f"a child of {p} may take {c}")
    listed = ", ".join(sorted(allowed))
    if terms.family is Family.WEAK:
        reason = (
            f"{p} is weak copyleft: the parent's files and changes to them stay under {p} "
            f"(or {listed}); a person must check how the child under {c} keeps them so"
        )
        return _Outcome(Verdict.REVIEW, reason)
    return _Outcome(Verdict.FORBIDDEN, f"{p} requires the child under one of {listed}, not {c}")
