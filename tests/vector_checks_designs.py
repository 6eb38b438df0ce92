"""Checkers of the designs area of the conformance vectors (specs/vectors/designs/).

One function per suite, each taking a case's `input` and `expect`; tests/specs/test_vectors.py
dispatches on (area, suite). The fields are defined in specs/vectors/README.md.
"""

from __future__ import annotations

from typing import Any

from licenses.allowlist import decode_allow_list
from licenses.design_licence import LicenceCheck, check_licence_rule
from node.ops.geometry import analyse_mesh
from tests.vector_support import Checker, expect_error, same


def _publish(data: dict[str, Any]) -> LicenceCheck:
    entries: list[str] | None = data["allow_list"]
    allow_list = None if entries is None else decode_allow_list(entries)
    return check_licence_rule(data["licence"], data["parent_licences"], allow_list=allow_list)


def check_publish(data: dict[str, Any], expect: dict[str, Any]) -> None:
    if not expect["ok"]:
        expect_error(expect, lambda: _publish(data))
        return
    found = _publish(data)
    assert same({"ok": True, "verdict": found.verdict, "attribution": found.attribution}, expect)


def check_mesh(data: dict[str, Any], expect: dict[str, Any]) -> None:
    mesh = bytes.fromhex(data["mesh_hex"])
    if not expect["ok"]:
        expect_error(expect, lambda: analyse_mesh(mesh, data["media_type"]))
        return
    found = analyse_mesh(mesh, data["media_type"])
    assert same({"ok": True, "geometry": found.model_dump()}, expect)


DESIGN_CHECKERS: dict[tuple[str, str], Checker] = {
    ("designs", "publish"): check_publish,
    ("designs", "mesh"): check_mesh,
}
