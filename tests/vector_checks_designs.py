"""Checkers of the designs area of the conformance vectors (specs/vectors/designs/).

One function per suite, each taking a case's `input` and `expect`; tests/specs/test_vectors.py
dispatches on (area, suite). The fields are defined in specs/vectors/README.md.
"""

from __future__ import annotations

from typing import Any, Literal

from licenses.allowlist import decode_allow_list
from licenses.design_licence import LicenceCheck, check_licence_rule
from licenses.okh import import_manifest
from licenses.okh_draft import DesignDraft, design_body
from node.ops.geometry import analyse_mesh
from protocol.design import design_body_map
from protocol.jsonform import to_json as tagged
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


_FORMATS: dict[str, Literal["losh", "v1"]] = {"okh-losh": "losh", "okh-v1": "v1"}


def _manifest(data: dict[str, Any]) -> DesignDraft:
    text = data["manifest"]
    manifest = bytes.fromhex(data["manifest_hex"]) if text is None else text.encode()
    form = _FORMATS[data["format"]]
    override = data["licence_override"]
    return import_manifest(manifest, form, source="vector", licence_override=override)


def check_manifest(data: dict[str, Any], expect: dict[str, Any]) -> None:
    if not expect["ok"]:
        expect_error(expect, lambda: _manifest(data))
        return
    draft = _manifest(data)
    body = tagged(design_body_map(design_body(draft)))
    paths = [{"rel": r.rel, "path": r.target} for r in draft.paths()]
    assert same({"ok": True, "body": body, "paths": paths}, expect)


DESIGN_CHECKERS: dict[tuple[str, str], Checker] = {
    ("designs", "manifest"): check_manifest,
    ("designs", "publish"): check_publish,
    ("designs", "mesh"): check_mesh,
}
