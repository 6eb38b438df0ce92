"""What every suite shares: the case file, fixed keys and identities, entry bytes, writing.

Keys come from fixed seeds (seed = SHA-256("fabcommons-vectors/" || name)) and timestamps
are fixed, so everything built here is the same on every run.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from protocol import canonical, tags
from protocol.entry import ENTRY_VERSION
from protocol.identity import development_network, identity_id
from protocol.ids import id_to_text
from protocol.keys import SigningKey

VECTORS_DIR = Path(__file__).resolve().parents[1] / "vectors"
CASE_NAME = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")  # used with fullmatch
#: 2026-01-01T00:00:00Z; entry n of a log is stamped T0_MS + n seconds unless a case says.
T0_MS = 1_767_225_600_000


@dataclass(frozen=True, slots=True)
class Case:
    """One vector file."""

    area: str
    suite: str
    case: str
    description: str
    input: dict[str, Any]
    expect: dict[str, Any]

    @property
    def path(self) -> str:
        return f"{self.area}/{self.suite}/{self.case}.json"

    def to_text(self) -> str:
        fields = {
            "area": self.area,
            "suite": self.suite,
            "case": self.case,
            "description": self.description,
            "input": self.input,
            "expect": self.expect,
        }
        return json.dumps(fields, sort_keys=True, indent=2) + "\n"


def ok(**fields: Any) -> dict[str, Any]:
    return {"ok": True, **fields}


def error(code: str, **fields: Any) -> dict[str, Any]:
    return {"ok": False, "error": code, **fields}


def seed_key(name: str) -> SigningKey:
    return SigningKey(hashlib.sha256(b"fabcommons-vectors/" + name.encode()).digest())


# --- identities and raw entry bytes -------------------------------------------------


@dataclass(frozen=True, slots=True)
class Identity:
    """An author: its signing key, recovery key and the id they commit to."""

    signing: SigningKey
    recovery: SigningKey

    @property
    def id(self) -> bytes:
        return identity_id(self.signing.public, self.recovery.public)

    def inception_body(self) -> dict[str, Any]:
        return {"signing_key": self.signing.public, "recovery_key": self.recovery.public}


def identity(name: str) -> Identity:
    return Identity(seed_key(f"{name}/signing"), seed_key(f"{name}/recovery"))


ALICE = identity("alice")
BOB = identity("bob")
ALICE_NEXT = seed_key("alice/signing-2")
NETWORK = development_network("fabcommons-vectors")
OTHER_NETWORK = development_network("fabcommons-vectors-other")
ALICE_THIRD = seed_key("alice/signing-3")
UNKNOWN_KIND = "vectors.unknown-kind"


def payload_fields(
    *,
    signer: bytes,
    seq: Any,
    prev: Any,
    kind: Any,
    body: Any,
    author: bytes = ALICE.id,
    network: bytes = NETWORK,
    timestamp_ms: Any = None,
    version: Any = ENTRY_VERSION,
) -> list[Any]:
    """The nine payload fields, in wire order; any may be set to an invalid value."""
    ts = T0_MS + 1000 * seq if timestamp_ms is None else timestamp_ms
    return [version, network, author, signer, seq, prev, ts, kind, body]


def signed(key: SigningKey, payload: bytes, *, tag: bytes = tags.ENTRY_SIG) -> bytes:
    """Entry bytes [payload, signature] with `key` signing `tag || payload`."""
    return canonical.encode([payload, key.sign(tag, payload)])


def sign_fields(key: SigningKey, fields: list[Any]) -> bytes:
    return signed(key, canonical.encode(fields))


def entry_id(raw: bytes) -> bytes:
    return hashlib.sha256(raw).digest()


def text_id(raw: bytes | None) -> str | None:
    return None if raw is None else id_to_text(raw)


# --- writing and checking the files -------------------------------------------------


def expected_files(cases: Sequence[Case]) -> dict[Path, str]:
    from specs.vectorgen.readme import readme  # noqa: PLC0415 (readme imports Case from here)

    files = {VECTORS_DIR / c.path: c.to_text() for c in cases}
    files[VECTORS_DIR / "README.md"] = readme(cases)
    return files


def stale_files(cases: Sequence[Case], files: dict[Path, str]) -> list[Path]:
    """Vector files in the suites this script owns that it no longer produces."""
    suites = sorted({VECTORS_DIR / c.area / c.suite for c in cases})
    return [p for d in suites for p in sorted(d.glob("*.json")) if p not in files]


def differences(files: dict[Path, str], stale: Sequence[Path]) -> list[str]:
    out = [f"stale: {p.relative_to(VECTORS_DIR)}" for p in stale]
    for path, text in files.items():
        if not path.exists():
            out.append(f"missing: {path.relative_to(VECTORS_DIR)}")
        elif path.read_bytes() != text.encode():
            out.append(f"differs: {path.relative_to(VECTORS_DIR)}")
    return out
