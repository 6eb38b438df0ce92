"""Error codes: every code in the vectors is defined by a spec; every spec code has a vector.

A code is `family.name` (specs/0001 §6), its family one of FAMILIES.

- A code *appears in the vectors* when it is the `expect.error` of a case, or the value of
  a `code` key anywhere under `expect` (a job's refused entries, a body status).
- A code is *defined by the specs* when it is written in backticks in the prose or a table
  of `specs/*.md`; kind names (`job.offer` is a kind, not a code) and NOT_CODES (text of
  the same shape that names something else) are left out.

Every code in the vectors must be defined, with no exception. Every defined code must be
reached by some vector, except those in UNREACHED, each with its reason; the list is
exact both ways, so a new code needs a vector or a reason, and a code that gains a vector
leaves the list.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from protocol.kinds import known_kinds
from tests.paths import ROOT

SPECS = ROOT / "specs"
VECTORS = SPECS / "vectors"
FAMILIES = ("decode", "verify", "proof", "misuse", "remote", "rule", "job", "body", "audit")
CODE = re.compile(rf"`((?:{'|'.join(FAMILIES)})\.[a-z0-9]+(?:-[a-z0-9]+)*)`")

#: Backticked text shaped like a code that is not one.
NOT_CODES = {
    "body.text": "0012 §1: the location of a field in a refused API request, not a code",
}

_LOCAL = (
    "a local misuse (0001 §6): the error of this node's own caller, never the answer to "
    "a peer's bytes, which are all a vector holds"
)
_STORE = (
    "found by re-verifying this node's own store (0003 §8): needs a damaged database, "
    "not a vector input"
)
_TRANSPORT = "an event of the transport (a stream closed or timed out), not bytes a vector can hold"
_STREAM_LIMIT = (
    "a node's own limit on the blob streams a peer holds (0009 §3 rule 6, §8.4), answered "
    "before any want: the count of a peer's streams, not bytes a vector holds"
)

#: Codes the specs define that no vector reaches, and why.
_PEERING = "the peering machine's own misuse (0005), tests/ledger/test_peering.py"
_NODE_LIMIT = "a node's own limit on a session (0005 §6, 0012 §5), not a message a vector holds"
_LOCAL_RULE = "a node's local setting (0003 §5.1), not its federation's rules"
UNREACHED: dict[str, str] = {
    "misuse.own-log": _LOCAL,
    "misuse.bad-host": _LOCAL,
    "misuse.disk-full": _LOCAL,
    "misuse.bad-backup": _LOCAL,
    "misuse.home-exists": _LOCAL,
    "misuse.internal-error": _LOCAL,
    "misuse.migration-failed": _LOCAL,
    "misuse.storage-interrupted": _LOCAL,
    "remote.over-budget": _NODE_LIMIT,
    "remote.too-many-sessions": _NODE_LIMIT,
    "remote.too-slow": _NODE_LIMIT,
    "rule.forgotten": _LOCAL_RULE,
    "rule.quota-exceeded": _LOCAL_RULE,
    "misuse.no-session": _PEERING,
    "misuse.time-went-back": _PEERING,
    "audit.checkpoint-mismatch": _STORE,
    "audit.leaf-mismatch": _STORE,
    "audit.state-mismatch": _STORE,
    "misuse.bad-argument": _LOCAL,
    "misuse.bad-batch": _LOCAL,
    "misuse.bad-database": _LOCAL,
    "misuse.bad-entry": _LOCAL,
    "misuse.bad-job": _LOCAL,
    "misuse.bad-recipients": _LOCAL,
    "misuse.bad-message": _LOCAL,
    "misuse.no-seal-key": _LOCAL,
    "misuse.blob-busy": _LOCAL,
    "misuse.blob-io": _LOCAL,
    "misuse.blob-missing": _LOCAL,
    "misuse.no-preview": _LOCAL,
    "misuse.unknown-file": _LOCAL,
    "misuse.connection-failed": _LOCAL,
    "misuse.data-after-eof": _LOCAL,
    "misuse.frame-too-large": _LOCAL,
    "misuse.newer-database": _LOCAL,
    "misuse.no-federation": _LOCAL,
    "misuse.not-a-test-federation": _LOCAL,
    "misuse.restored-backup": _LOCAL,
    "misuse.home-key-not-in-force": _LOCAL,
    "misuse.revoke-out-of-range": _LOCAL,
    "misuse.too-many-key-events": _LOCAL,
    "misuse.wrong-recovery-key": _LOCAL,
    "misuse.storage-full": _LOCAL,
    "misuse.too-large": _LOCAL,
    "misuse.too-many-items": _LOCAL,
    "misuse.unauthorized": _LOCAL,
    "misuse.undrained": _LOCAL,
    "misuse.unexpected-message": _LOCAL,
    "misuse.not-a-job-file": _LOCAL,
    "job.files-not-sealed": "the customer's node's check of blobs it holds before it signs "
    "job.files (0007 §2.4): the derivation reads no blob, so no vector input reaches it",
    "misuse.unknown-bid": _LOCAL,
    "misuse.unknown-job": _LOCAL,
    "misuse.unknown-lab": _LOCAL,
    "misuse.unknown-proposal": _LOCAL,
    "misuse.bad-webhook-url": _LOCAL,
    "misuse.bad-email-address": _LOCAL,
    "misuse.bad-notify-setting": _LOCAL,
    "misuse.unknown-notification": _LOCAL,
    "remote.blob-unavailable": "the answer to this node's own caller when no peer gave a blob "
    "(0009 §3), not bytes a vector holds",
    "remote.closed": _TRANSPORT,
    "remote.closed-early": _TRANSPORT,
    "remote.timeout": _TRANSPORT,
    "remote.too-many-streams": _STREAM_LIMIT,
    "remote.not-relaying": "a node's own choice of the blobs it fetches for a peer (0009 "
    "§12.3: those it keeps itself), not bytes a vector holds; its frame is the vector "
    "blobs/route/error-not-relaying's peer_code",
    "rule.blob-too-large": "the blob store's own check of max_blob_bytes on adding a file "
    "and on every append (0009 §4): a fetcher refuses the declared size first "
    "(remote.blob-too-large, blobs/fetch C8), so no peer's bytes reach it",
}


def _codes_under(value: Any, key: str | None = None) -> Iterator[str]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _codes_under(v, k)
    elif isinstance(value, list):
        for v in value:
            yield from _codes_under(v, key)
    elif key in ("error", "code") and isinstance(value, str):
        yield value


def vector_codes() -> dict[str, list[str]]:
    """Each code in the vectors -> the case files it appears in."""
    found: dict[str, list[str]] = {}
    for path in sorted(VECTORS.rglob("*.json")):
        case = json.loads(path.read_text(encoding="utf-8"))
        for code in _codes_under(case["expect"]):
            found.setdefault(code, []).append(path.relative_to(VECTORS).as_posix())
    return found


def spec_codes() -> dict[str, list[str]]:
    """Each code the specs define -> the spec files that write it."""
    kinds = set(known_kinds())
    found: dict[str, list[str]] = {}
    for path in sorted(SPECS.glob("*.md")):
        for code in sorted(set(CODE.findall(path.read_text(encoding="utf-8")))):
            if code not in kinds and code not in NOT_CODES:
                found.setdefault(code, []).append(path.name)
    return found


def test_every_code_in_the_vectors_has_the_shape_of_a_code() -> None:
    shaped = re.compile(rf"(?:{'|'.join(FAMILIES)})\.[a-z0-9]+(?:-[a-z0-9]+)*")
    assert [c for c in vector_codes() if not shaped.fullmatch(c)] == []


def test_every_code_in_the_vectors_is_defined_by_a_spec() -> None:
    undefined = {c: files for c, files in vector_codes().items() if c not in spec_codes()}
    assert undefined == {}


def test_every_code_a_spec_defines_is_reached_by_a_vector_or_excused() -> None:
    unreached = set(spec_codes()) - set(vector_codes())
    assert sorted(unreached - set(UNREACHED)) == [], "add a vector, or a reason to UNREACHED"
    assert sorted(set(UNREACHED) - unreached) == [], "reached or no longer defined: unlist"


def test_the_exceptions_are_codes_and_not_kinds() -> None:
    assert set(NOT_CODES).isdisjoint(known_kinds())
    assert all(CODE.fullmatch(f"`{c}`") for c in [*NOT_CODES, *UNREACHED])
    assert all(reason for reason in UNREACHED.values())
