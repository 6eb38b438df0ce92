"""The page checks a form's fields with the node's own limits (node/api/web/checks.js
`LIMITS`, README "Orders from the dashboard"): each literal there equals the protocol's
constant, so a limit changed on one side only fails here, not in a lab's browser."""

from __future__ import annotations

import ast
import operator
import re

from protocol import fields, jobmessage, jobs
from tests.paths import ROOT

CHECKS = ROOT / "node" / "api" / "web" / "checks.js"

EXPECTED = {
    "title": fields.MAX_NAME_CHARS,
    "material": fields.MAX_MATERIAL_CHARS,
    "note": jobs.MAX_NOTE_CHARS,
    "tracking": jobs.MAX_TRACKING_CHARS,
    "reason": jobs.MAX_NOTE_CHARS,
    "message": jobmessage.MAX_TEXT_CHARS,
    "quantity": jobs.MAX_QUANTITY,
    "radiusKm": jobs.MAX_RADIUS_KM,
    "amountMinor": jobs.MAX_AMOUNT_MINOR,
    "evidence": jobs.MAX_EVIDENCE,
    "attachments": jobs.MAX_ATTACHMENTS,
    "sealedFiles": jobs.MAX_SEALED_BLOBS,
}

_OPS = {ast.Pow: operator.pow, ast.Sub: operator.sub, ast.Add: operator.add}


def _number(node: ast.expr) -> int:
    """An integer expression of literals, + - and ** (what the LIMITS literals use)."""
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return node.value
    if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
        return int(_OPS[type(node.op)](_number(node.left), _number(node.right)))
    raise AssertionError(f"not a plain number: {ast.dump(node)}")


def page_limits() -> dict[str, int]:
    found = re.search(r"export const LIMITS = \{(.*?)\};", CHECKS.read_text(), re.S)
    assert found is not None, "checks.js has no LIMITS object"
    pairs = re.findall(r"(\w+):\s*([^,]+)", found.group(1))
    return {key: _number(ast.parse(value.strip(), mode="eval").body) for key, value in pairs}


def test_every_page_limit_is_the_protocols() -> None:
    assert page_limits() == EXPECTED
