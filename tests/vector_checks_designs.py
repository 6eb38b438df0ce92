"""Checkers of the designs area of the conformance vectors (specs/vectors/designs/).

One function per suite, each taking a case's `input` and `expect`; tests/specs/test_vectors.py
dispatches on (area, suite). The fields are defined in specs/vectors/README.md.

designs/takedown  input.designs [{id, author, files}], withdrawals [{entry_id, author,
                  design, reason, timestamp_ms}], kept, blocked (id texts) ->
                  ledger.takedown.judge_withdrawals, withheld_blobs and BlobPolicy.
                  expect: withdrawn [{design, entry_id}] (by design id bytes), ignored
                  [{entry_id, code}] (by entry id bytes), blobs [{blob, serve, store,
                  fetch}] (by blob id bytes; store and fetch null or {code}), plus ok.
"""

from __future__ import annotations

from typing import Any, Literal

from ledger.readiness import readiness_from_json, warnings_for
from ledger.takedown import (
    BlobPolicy,
    DesignFacts,
    Withdrawal,
    judge_withdrawals,
    withheld_blobs,
)
from licenses.allowlist import decode_allow_list
from licenses.design_licence import LicenceCheck, check_licence_rule
from licenses.okh import import_manifest
from licenses.okh_draft import DesignDraft, design_body
from node.ops.geometry import analyse_mesh, read_mesh
from node.ops.readiness import measure_readiness
from protocol.design import design_body_map
from protocol.errors import CommonsError
from protocol.ids import id_from_text, id_to_text
from protocol.jsonform import from_json
from protocol.jsonform import to_json as tagged
from protocol.kinds import check_body
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


def check_mesh_readiness(data: dict[str, Any], expect: dict[str, Any]) -> None:
    _, corners = read_mesh(bytes.fromhex(data["mesh_hex"]), data["media_type"])
    assert same({"ok": True, "readiness": measure_readiness(corners).to_json()}, expect)


def check_readiness_body(data: dict[str, Any], expect: dict[str, Any]) -> None:
    status = check_body(data["kind"], from_json(data["body"]))
    assert same({"ok": True, "body_status": {"valid": status.valid, "code": status.code}}, expect)


def check_readiness(data: dict[str, Any], expect: dict[str, Any]) -> None:
    found = warnings_for(readiness_from_json(data["readiness"]), data["process"])
    got = [{"warning": w.code, "value": w.value, "limit": w.limit} for w in found]
    assert same({"ok": True, "warnings": got}, expect)


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


def _code(error: CommonsError | None) -> dict[str, str] | None:
    return None if error is None else {"code": error.code}


def check_takedown(data: dict[str, Any], expect: dict[str, Any]) -> None:
    designs = {
        id_from_text(d["id"]): DesignFacts(
            id_from_text(d["id"]),
            id_from_text(d["author"]),
            frozenset(id_from_text(f) for f in d["files"]),
        )
        for d in data["designs"]
    }
    withdrawals = [
        Withdrawal(id_from_text(w["entry_id"]), id_from_text(w["author"]),
                   id_from_text(w["design"]), w["reason"], w["timestamp_ms"])
        for w in data["withdrawals"]
    ]  # fmt: skip
    judged = judge_withdrawals(designs, withdrawals)
    kept = {id_from_text(b) for b in data["kept"]}
    blocked = frozenset(id_from_text(b) for b in data["blocked"])
    policy = BlobPolicy(blocked, withheld_blobs(designs, judged.withdrawn, kept))
    named = {f for d in designs.values() for f in d.files} | blocked
    got = {
        "ok": True,
        "withdrawn": [
            {"design": id_to_text(d), "entry_id": id_to_text(w.entry_id)}
            for d, w in sorted(judged.withdrawn.items())
        ],
        "ignored": [
            {"entry_id": id_to_text(e), "code": c} for e, c in sorted(judged.ignored.items())
        ],
        "blobs": [
            {
                "blob": id_to_text(b),
                "serve": policy.serves(b),
                "store": _code(policy.store_refusal(b)),
                "fetch": _code(policy.fetch_refusal(b)),
            }
            for b in sorted(named)
        ],
    }
    assert same(got, expect)


DESIGN_CHECKERS: dict[tuple[str, str], Checker] = {
    ("designs", "manifest"): check_manifest,
    ("designs", "publish"): check_publish,
    ("designs", "mesh"): check_mesh,
    ("designs", "readiness"): check_readiness,
    ("designs", "mesh-readiness"): check_mesh_readiness,
    ("designs", "readiness-body"): check_readiness_body,
    ("designs", "takedown"): check_takedown,
}
