"""Which licences are open, and how: the family table (specs/0006-licences.md §3, §4).

Openness follows the Open Source Hardware Definition 1.0: a licence with NonCommercial
or NoDerivatives terms, or one that restricts fields of use, is not open, and a design
under it cannot be published on a Fab Commons network. Every licence of the table has
a family, whether it asks for attribution, and its share-alike scope:

    strong-copyleft  open; derivatives as a whole under the same (or a listed) licence
    weak-copyleft    open; the licensed files and changes to them stay under it
    permissive       open; anything, usually keeping notices
    blocked          not open (NonCommercial, NoDerivatives, field-of-use terms)
    unknown          not in the table (or a LicenseRef-): not open until listed

For an expression (§4): under OR the licensee may pick, so the most open option counts;
under AND every part applies, so the most restrictive part counts. `X WITH E` is in the
table when the pair is (Apache-2.0 WITH SHL-2.1, the Solderpad Hardware Licence);
otherwise it takes X's family, since an exception only adds permissions.

Pure: no I/O. Derivative rules are in licenses.derive, the allow-list in
licenses.allowlist.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from licenses.spdx import AllOf, AnyOf, Expression, Licence, ParsedExpression, render


class Family(Enum):
    STRONG = "strong-copyleft"
    WEAK = "weak-copyleft"
    PERMISSIVE = "permissive"
    BLOCKED = "blocked"
    UNKNOWN = "unknown"

    @property
    def open(self) -> bool:
        return self in _OPEN

    @property
    def openness(self) -> int:
        """Rank for choosing under OR (highest wins) and AND (lowest wins)."""
        return _RANK[self]


_OPEN = frozenset({Family.STRONG, Family.WEAK, Family.PERMISSIVE})
_RANK = {
    Family.BLOCKED: 0,
    Family.UNKNOWN: 1,
    Family.STRONG: 2,
    Family.WEAK: 3,
    Family.PERMISSIVE: 4,
}


class ShareAlike(Enum):
    NONE = "none"  # no share-alike
    FILES = "files"  # the licensed files/components and changes to them
    WORK = "work"  # the whole derived work


@dataclass(frozen=True, slots=True)
class Terms:
    """One row of the table."""

    family: Family
    attribution: bool
    share_alike: ShareAlike
    note: str = ""

    @property
    def open(self) -> bool:
        return self.family.open


_S = Terms(Family.STRONG, True, ShareAlike.WORK)
_W = Terms(Family.WEAK, True, ShareAlike.FILES)
_P = Terms(Family.PERMISSIVE, True, ShareAlike.NONE)
_PD = Terms(Family.PERMISSIVE, False, ShareAlike.NONE)
_NC = Terms(Family.BLOCKED, True, ShareAlike.NONE, "NonCommercial terms")
_ND = Terms(Family.BLOCKED, True, ShareAlike.NONE, "NoDerivatives terms")
_FIELD = Terms(Family.BLOCKED, True, ShareAlike.NONE, "restricts fields of use (OSHWD §6)")
_CERN_1 = Terms(
    Family.STRONG,
    True,
    ShareAlike.WORK,
    "a CERN OHL with no variant is read as the strongly reciprocal (-S) kind",
)

#: specs/0006 §3, by exact SPDX id (and `X WITH E` pairs).
TABLE: dict[str, Terms] = {
    # strong copyleft
    "CERN-OHL-S-2.0": _S,
    "CERN-OHL-1.1": _CERN_1,
    "CERN-OHL-1.2": _CERN_1,
    "TAPR-OHL-1.0": _S,
    **{f"GPL-{v}-{s}": _S for v in ("1.0", "2.0", "3.0") for s in ("only", "or-later")},
    **{f"AGPL-3.0-{s}": _S for s in ("only", "or-later")},
    # weak copyleft
    "CERN-OHL-W-2.0": _W,
    **{f"LGPL-{v}-{s}": _W for v in ("2.0", "2.1", "3.0") for s in ("only", "or-later")},
    "MPL-2.0": _W,
    "MPL-2.0-no-copyleft-exception": _W,
    # permissive
    "CERN-OHL-P-2.0": _P,
    "MIT": _P,
    "MIT-0": _PD,
    "Apache-2.0": _P,
    "Apache-2.0 WITH SHL-2.0": _P,
    "Apache-2.0 WITH SHL-2.1": _P,
    "SHL-0.5": _P,
    "SHL-0.51": _P,
    "ISC": _P,
    "Zlib": _P,
    "0BSD": _PD,
    "CC0-1.0": _PD,
    "Unlicense": _PD,
    # blocked, beyond the NC/ND patterns below
    "PolyForm-Noncommercial-1.0.0": _NC,
    "PolyForm-Small-Business-1.0.0": Terms(
        Family.BLOCKED, True, ShareAlike.NONE, "limits commercial use to small businesses"
    ),
    "NCGL-UK-2.0": _NC,
    "BSD-3-Clause-No-Military-License": _FIELD,
    "BSD-3-Clause-No-Nuclear-License": _FIELD,
    "BSD-3-Clause-No-Nuclear-License-2014": _FIELD,
}

# Families named by pattern (specs/0006 §3): every Creative Commons BY licence and port,
# every BSD-* not listed above.
_CC = re.compile(r"CC-BY(?P<nc>-NC)?(?P<nd>-ND)?(?P<sa>-SA)?-\d\.\d(?:-[A-Z]+)?")
_BSD = re.compile(r"BSD-[0-9].*")


def terms_of(leaf: Licence) -> Terms | None:
    """The table's row for one licence, None when it is not in the table."""
    key = str(leaf) if leaf.exception else leaf.id
    found = TABLE.get(key)
    if found is None and leaf.exception:
        found = TABLE.get(leaf.id)
    if found is not None:
        return found
    cc = _CC.fullmatch(leaf.id)
    if cc is not None:
        if cc.group("nc"):
            return _NC
        if cc.group("nd"):
            return _ND
        return _S if cc.group("sa") else _P
    if _BSD.fullmatch(leaf.id):
        return _P
    return None


@dataclass(frozen=True, slots=True)
class Assessment:
    """The family and openness of an expression, with the reason, for people."""

    expression: str
    family: Family
    reason: str
    attribution: tuple[str, ...] = ()

    @property
    def open(self) -> bool:
        return self.family.open

    def to_json(self) -> dict[str, object]:
        return {
            "expression": self.expression,
            "open": self.open,
            "family": self.family.value,
            "reason": self.reason,
        }


def assess(parsed: ParsedExpression) -> Assessment:
    """Family and openness of a parsed expression (specs/0006 §4)."""
    found = assess_expression(parsed.expression)
    reason = "; ".join([found.reason, *(f"note: {n}" for n in parsed.notes)])
    return Assessment(parsed.text, found.family, reason, found.attribution)


def leaf_assessment(leaf: Licence) -> Assessment:
    """One licence's row as an Assessment (unknown when not in the table)."""
    terms = terms_of(leaf)
    name = str(leaf)
    if terms is None:
        why = (
            "a LicenseRef names a licence outside the SPDX list"
            if "LicenseRef-" in leaf.id
            else "not in the network's licence table"
        )
        return Assessment(name, Family.UNKNOWN, f"{name}: {why}; openness not assessed")
    reason = f"{name} is {terms.family.value}"
    if leaf.exception and str(leaf) not in TABLE:
        reason += f" (as {leaf.id}; the exception {leaf.exception} only adds permissions)"
    if leaf.or_later:
        reason += f" (as {leaf.id}, the earliest version it allows)"
    if terms.note:
        reason += f" ({terms.note})"
    attribution = (name,) if terms.attribution else ()
    return Assessment(name, terms.family, reason, attribution)


def assess_expression(expr: Expression) -> Assessment:
    """Family and openness of an expression tree, without normalising notes."""
    if isinstance(expr, Licence):
        return leaf_assessment(expr)
    if isinstance(expr, AnyOf):
        subs = [assess_expression(e) for e in expr.options]
        best = max(subs, key=lambda a: a.family.openness)  # first of the most open
        reason = f"the licensee may choose {best.expression}: {best.reason}"
        return Assessment(render(expr), best.family, reason, best.attribution)
    assert isinstance(expr, AllOf)
    subs = [assess_expression(e) for e in expr.parts]
    worst = min(subs, key=lambda a: a.family.openness)
    reason = f"every part applies, the most restrictive decides: {worst.reason}"
    attribution = tuple(dict.fromkeys(name for s in subs for name in s.attribution))
    return Assessment(render(expr), worst.family, reason, attribution)
