"""The conformance vectors in specs/vectors/ against the protocol and ledger packages.

Two checks: `specs/generate_vectors.py --check` must find every vector file byte-identical
to what it would write, and every `<area>/<suite>/<case>.json` must hold for the real code
(one test per file; the file format is in specs/vectors/README.md). Errors are checked
by family (the class named by the code's prefix) and code, never by message. The checkers
of the ledger area are in tests/vector_checks_ledger.py.

A vector that the code does not yet meet because of a known protocol bug is listed in
KNOWN_BUGS as a strict xfail: once the bug is fixed the test XPASSes, which fails the run
until the entry is removed.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from protocol import canonical
from protocol.entry import decode_entry
from protocol.errors import CommonsError
from protocol.ids import id_from_text, id_to_text
from protocol.jsonform import from_json as untagged
from protocol.jsonform import to_json as tagged
from protocol.keys import verify_signature
from protocol.kinds import check_body
from protocol.logstate import LogHead, verify_next
from tests.paths import ROOT
from tests.vector_checks_blobs import BLOB_CHECKERS
from tests.vector_checks_capabilities import CAPABILITY_CHECKERS
from tests.vector_checks_designs import DESIGN_CHECKERS
from tests.vector_checks_discovery import DISCOVERY_CHECKERS
from tests.vector_checks_fuzz import FUZZ_CHECKERS
from tests.vector_checks_governance import GOVERNANCE_CHECKERS
from tests.vector_checks_jobs import JOB_CHECKERS
from tests.vector_checks_ledger import LEDGER_CHECKERS
from tests.vector_checks_licences import LICENCE_CHECKERS
from tests.vector_checks_sync import SYNC_CHECKERS
from tests.vector_support import Checker, expect_error, failure, same

GENERATOR = ROOT / "specs" / "generate_vectors.py"
VECTORS = ROOT / "specs" / "vectors"
FILES = sorted(VECTORS.rglob("*.json"))

KNOWN_BUGS: dict[str, str] = {}


def _relative(path: Path) -> str:
    return path.relative_to(VECTORS).as_posix()


def _params() -> list[Any]:
    params = []
    for path in FILES:
        reason = KNOWN_BUGS.get(_relative(path))
        marks = [pytest.mark.xfail(reason=reason, strict=True)] if reason else []
        params.append(pytest.param(path, id=_relative(path), marks=marks))
    return params


def check_canonical(data: dict[str, Any], expect: dict[str, Any]) -> None:
    encoded = bytes.fromhex(data["encoded_hex"])
    if not expect["ok"]:
        expect_error(expect, lambda: canonical.decode(encoded))
        return
    assert same(tagged(canonical.decode(encoded)), expect["value"])
    assert canonical.encode(untagged(expect["value"])) == encoded


def check_id(data: dict[str, Any], expect: dict[str, Any]) -> None:
    text: str = data["text"]
    if not expect["ok"]:
        expect_error(expect, lambda: id_from_text(text))
        return
    raw = bytes.fromhex(expect["id_hex"])
    assert id_to_text(raw) == text
    assert id_from_text(text) == raw


def check_ed25519(data: dict[str, Any], expect: dict[str, Any]) -> None:
    key, message, signature = (
        bytes.fromhex(data[k]) for k in ("public_key_hex", "message_hex", "signature_hex")
    )
    if not expect["ok"]:
        expect_error(expect, lambda: verify_signature(key, b"", message, signature))
        return
    verify_signature(key, b"", message, signature)


def _text_id(raw: bytes | None) -> str | None:
    return None if raw is None else id_to_text(raw)


def check_single(data: dict[str, Any], expect: dict[str, Any]) -> None:
    raw = bytes.fromhex(data["entry_hex"])
    if not expect["ok"]:
        expect_error(expect, lambda: decode_entry(raw))
        return
    entry = decode_entry(raw)
    status = check_body(entry.kind, entry.body)
    got = {
        "ok": True,
        "network": id_to_text(entry.network),
        "author": id_to_text(entry.author),
        "signer_hex": entry.signer.hex(),
        "seq": entry.seq,
        "prev": _text_id(entry.prev),
        "timestamp_ms": entry.timestamp_ms,
        "kind": entry.kind,
        "body": tagged(entry.body),
        "id": id_to_text(entry.id),
        "body_status": {"valid": status.valid, "code": status.code},
    }
    assert same(got, expect)


def fold(data: dict[str, Any]) -> dict[str, Any]:
    """Decode and fold a log's entries; the result in the vectors' expect form."""
    head = LogHead(bytes.fromhex(data["network_hex"]), bytes.fromhex(data["author_hex"]))
    for at, entry_hex in enumerate(data["entries_hex"], start=1):
        try:
            head = verify_next(head, decode_entry(bytes.fromhex(entry_hex)))
        except CommonsError as e:
            return failure(e, at=at)
    assert head.head_id is not None and head.keys is not None
    keys = {
        "signing_key_hex": head.keys.signing_key.hex(),
        "recovery_key_hex": head.keys.recovery_key.hex(),
        "key_event": id_to_text(head.keys.key_event),
        "established_seq": head.keys.established_seq,
    }
    revoked = [list(r) for r in head.revoked]
    return {
        "ok": True,
        "size": head.size,
        "head_id": id_to_text(head.head_id),
        "revoked": revoked,
        "keys": keys,
    }


def check_log(data: dict[str, Any], expect: dict[str, Any]) -> None:
    assert same(fold(data), expect)


CHECKERS: dict[tuple[str, str], Checker] = {
    ("encoding", "canonical"): check_canonical,
    ("ids", "text"): check_id,
    ("signatures", "ed25519"): check_ed25519,
    ("entries", "single"): check_single,
    ("entries", "log"): check_log,
    **LEDGER_CHECKERS,
    **GOVERNANCE_CHECKERS,
    **LICENCE_CHECKERS,
    **SYNC_CHECKERS,
    **CAPABILITY_CHECKERS,
    **FUZZ_CHECKERS,
    **JOB_CHECKERS,
    **BLOB_CHECKERS,
    **DESIGN_CHECKERS,
    **DISCOVERY_CHECKERS,
}


def test_regeneration_is_byte_identical() -> None:
    result = subprocess.run(
        [sys.executable, str(GENERATOR), "--check"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_vectors_are_present() -> None:
    assert len(FILES) > 200
    suites = {tuple(_relative(p).split("/")[:2]) for p in FILES}
    assert suites == set(CHECKERS)


def test_known_bugs_name_existing_vectors() -> None:
    assert set(KNOWN_BUGS) <= {_relative(p) for p in FILES}


_HEX = re.compile(r"(?:[0-9a-f]{2})*")
_BODY_STATUSES = [
    {"valid": True, "code": None},
    {"valid": False, "code": "body.invalid"},
    {"valid": False, "code": "body.unknown-kind"},
]


def _format_faults(value: Any, name: str = "") -> Iterator[str]:
    """Where a case's input or expect breaks the conventions of specs/vectors/README.md §2-3."""
    if name == "bundle":  # a proof file, in its own format (specs/0003 §6.1)
        return
    if name.endswith("_hex"):
        items = value if isinstance(value, list) else [value]
        yield from (
            f"{name}: not hex" for v in items if not (isinstance(v, str) and _HEX.fullmatch(v))
        )
        return
    if name == "at" and not (type(value) is int and value >= 1):
        yield "at: not a 1-based position"
    if name == "body_status" and value not in _BODY_STATUSES:
        yield f"body_status: {value!r}"
    if isinstance(value, float):
        yield f"{name}: a float"
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _format_faults(item, key)
    elif isinstance(value, list):
        for item in value:
            yield from _format_faults(item, name)


def test_every_file_follows_the_format() -> None:
    faults = {}
    for path in FILES:
        case = json.loads(path.read_text(encoding="utf-8"))
        assert sorted(case) == ["area", "case", "description", "expect", "input", "suite"]
        found = [*_format_faults(case["input"]), *_format_faults(case["expect"])]
        if found:
            faults[_relative(path)] = found
    assert faults == {}


@pytest.mark.parametrize("path", _params())
def test_vector(path: Path) -> None:
    case = json.loads(path.read_text(encoding="utf-8"))
    assert _relative(path) == f"{case['area']}/{case['suite']}/{case['case']}.json"
    assert case["description"]
    expect = case["expect"]
    assert isinstance(expect["ok"], bool)
    assert ("error" in expect) is not expect["ok"]
    CHECKERS[case["area"], case["suite"]](case["input"], expect)
