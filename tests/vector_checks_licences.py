"""Checkers of the licences area of the conformance vectors (specs/vectors/licences/).

One function per suite, each taking a case's `input` and `expect`; tests/specs/test_vectors.py
dispatches on (area, suite). The fields are defined in specs/vectors/README.md;
reasons are for people and are not checked.
"""

from __future__ import annotations

from typing import Any

from licenses.derive import derive
from licenses.families import assess
from licenses.spdx import normalise, parse_expression
from tests.vector_support import Checker, expect_error, same


def check_licence(data: dict[str, Any], expect: dict[str, Any]) -> None:
    text: str = data["expression"]
    if not expect["ok"]:
        expect_error(expect, lambda: parse_expression(text))
        return
    found = assess(parse_expression(text))
    got = {
        "ok": True,
        "expression": found.expression,
        "open": found.open,
        "family": found.family.value,
    }
    assert same(got, expect)
    assert normalise(found.expression) == found.expression


def check_derivation(data: dict[str, Any], expect: dict[str, Any]) -> None:
    parents: list[str] = data["parents"]
    child: str = data["child"]
    if not expect["ok"]:
        expect_error(expect, lambda: derive(parents, child))
        return
    verdict = derive(parents, child)
    got = {"ok": True, "verdict": verdict.verdict, "attribution": verdict.attribution}
    assert same(got, expect)


LICENCE_CHECKERS: dict[tuple[str, str], Checker] = {
    ("licences", "check"): check_licence,
    ("licences", "derive"): check_derivation,
}
