"""`fabnode licence …`: check an SPDX expression, and ask whether a derivative may be
licensed so (specs/0006-licences.md §8).

Both commands are pure queries of the `licenses` package: no home, no running node.
A verdict or an openness answer is a result (exit 0), whatever it says; an expression
that does not parse is an error (`decode.bad-licence`, exit 1).
"""

from __future__ import annotations

import argparse
from typing import Any

from licenses.derive import derive
from licenses.families import assess
from licenses.spdx import parse_expression
from node.i18n import N_, _

#: A derivation's verdict (specs/0006 §8) in words for people; --json keeps the value.
_VERDICTS = {"allowed": N_("allowed"), "forbidden": N_("forbidden"), "review": N_("review")}


def add_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    licence = sub.add_parser("licence", help=_("SPDX licence expressions and derivatives"))
    actions = licence.add_subparsers(metavar="ACTION")
    p = actions.add_parser(
        "check",
        parents=[common],
        help=_("normalise an SPDX expression; say whether it is open, and its family"),
    )
    p.add_argument(
        "expression", metavar="EXPR", help=_('an SPDX expression, e.g. "MIT OR GPL-3.0"')
    )
    p.set_defaults(handler=cmd_check)
    p = actions.add_parser(
        "derive",
        parents=[common],
        help=_("may a child made from these parents be licensed so?"),
        description=_(
            "Verdict (allowed, forbidden, review) on licensing a derivative design CHILD "
            "made from one or more parent designs, with the reason and the parent "
            "licences whose attribution the child carries."
        ),
    )
    p.add_argument(
        "--parent",
        action="append",
        required=True,
        metavar="EXPR",
        help=_("a parent design's licence expression (repeatable)"),
    )
    p.add_argument("--child", required=True, metavar="EXPR", help=_("the child's licence"))
    p.set_defaults(handler=cmd_derive)


def cmd_check(args: argparse.Namespace) -> dict[str, Any]:
    found = assess(parse_expression(args.expression))
    out: dict[str, Any] = found.to_json()
    text = (
        _("{expression}: open, {family}") if found.open else _("{expression}: NOT open, {family}")
    )
    line = text.format(expression=found.expression, family=found.family.value)
    out["_text"] = f"{line}\n{found.reason}"
    return out


def cmd_derive(args: argparse.Namespace) -> dict[str, Any]:
    verdict = derive(args.parent, args.child)
    out: dict[str, Any] = verdict.to_json()
    lines = [
        _("{verdict}: {reason}").format(
            verdict=_(_VERDICTS.get(verdict.verdict, verdict.verdict)), reason=verdict.reason
        )
    ]
    if verdict.attribution:
        carried = _("attribution carried from: {licences}")
        lines.append(carried.format(licences=", ".join(verdict.attribution)))
    out["_text"] = "\n".join(lines)
    return out
