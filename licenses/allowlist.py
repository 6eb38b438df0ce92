"""The licences a network accepts for published designs (specs/0006-licences.md §7).

A network's rules (governance, later) hold an allow-list: SPDX ids, `LicenseRef-`s and
`X WITH E` pairs, each in its normal form. The default is every open licence of the
family table. An expression is allowed when the licensee can use it under listed
licences only: under OR one allowed option suffices; under AND every part must be
allowed. A `X WITH E` is allowed when the pair is listed or X is (an exception only adds
permissions); `X+` when X is. A licence that is not open (NonCommercial, NoDerivatives,
fields of use) is never allowed, whatever a list says: `decode_allow_list` refuses such
an entry, so that a rule document cannot carry one.

Pure: no I/O; governance decides where a list comes from.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache

from licenses.families import TABLE, Family, terms_of
from licenses.spdx import AllOf, AnyOf, Expression, Licence, licence_ids, parse_expression
from protocol.errors import DecodeError, RuleViolationError


@cache
def default_allow_list() -> frozenset[str]:
    """specs/0006 §7: every SPDX licence the family table calls open, and its open
    `X WITH E` pairs (Apache-2.0 WITH SHL-2.0 / SHL-2.1)."""
    ids = [i for i in licence_ids() if (t := terms_of(Licence(i))) is not None and t.open]
    pairs = [key for key, terms in TABLE.items() if " WITH " in key and terms.open]
    return frozenset(ids + pairs)


def decode_allow_list(entries: Iterable[str]) -> frozenset[str]:
    """Normalise an allow-list from a rule document; each entry one licence.

    Raises DecodeError (decode.bad-licence) for an entry that is not one licence, and
    RuleViolationError (rule.licence-not-open) for a licence that is not open.
    """
    out = set()
    for entry in entries:
        expr = parse_expression(entry).expression
        if not isinstance(expr, Licence):
            raise DecodeError(
                "decode.bad-licence", f"an allow-list entry is one licence, not {entry!r}"
            )
        if _blocked(expr):
            raise RuleViolationError(
                "rule.licence-not-open", f"{expr} is not open and cannot be allowed"
            )
        out.add(str(expr))
    return frozenset(out)


def is_allowed(expression: str, allow_list: frozenset[str] | None = None) -> bool:
    """True when a design under `expression` may be published under `allow_list` (the
    default list when None); raises DecodeError if the expression does not parse."""
    chosen = default_allow_list() if allow_list is None else allow_list
    return _allowed(parse_expression(expression).expression, chosen)


def _allowed(expr: Expression, allow_list: frozenset[str]) -> bool:
    if isinstance(expr, AnyOf):
        return any(_allowed(e, allow_list) for e in expr.options)
    if isinstance(expr, AllOf):
        return all(_allowed(e, allow_list) for e in expr.parts)
    if _blocked(expr):
        return False
    return str(expr) in allow_list or expr.id in allow_list


def _blocked(leaf: Licence) -> bool:
    terms = terms_of(leaf)
    return terms is not None and terms.family is Family.BLOCKED
