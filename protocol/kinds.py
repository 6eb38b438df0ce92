"""The registry of entry kinds and their bodies (specs/0002-identities-and-entries.md §5).

A kind names a body schema: a pydantic v2 model validated in strict mode after
canonical decoding (no coercion: an int is never accepted for a str). Key-event
kinds (inception, rotation, revocation) are part of log validity, because the
chain of keys depends on them; every other kind is body validity only, so an
unknown kind or an invalid body still joins its log and views skip it with a
recorded reason (`BodyStatus`). The registry is one table built from the `KINDS`
of each record module (protocol.bodies holds what they share).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pydantic

from protocol import capability, design, governance, jobs
from protocol.bodies import (
    CORE_KINDS,
    INCEPTION,
    NOTE,
    REVOCATION,
    ROTATION,
    Bytes32,
    InceptionBody,
    KeyRole,
    KindSpec,
    NoteBody,
    PositiveInt,
    RevocationBody,
    RotationBody,
    StrictBody,
)

#: The kinds that put keys in force (specs/0002 §6): verified one by one, never as a run
#: (protocol.logstate), and checked on receipt even in an attested range (0003 §4.2).
KEY_EVENT_KINDS = frozenset({INCEPTION, ROTATION, REVOCATION})

__all__ = [
    "KEY_EVENT_KINDS",
    "Bytes32",
    "PositiveInt",
    "StrictBody",
    "InceptionBody",
    "RotationBody",
    "RevocationBody",
    "NoteBody",
    "KeyRole",
    "KindSpec",
    "INCEPTION",
    "ROTATION",
    "REVOCATION",
    "NOTE",
    "CORE_KINDS",
    "BodyStatus",
    "check_body",
    "known_kinds",
    "spec_for",
]


def _table(*groups: tuple[KindSpec, ...]) -> dict[str, KindSpec]:
    table: dict[str, KindSpec] = {}
    for spec in (s for group in groups for s in group):
        if spec.name in table:
            raise ValueError(f"kind {spec.name} listed twice")
        table[spec.name] = spec
    return table


#: Every kind this node knows: one explicit table (h11's rule: what affects the
#: transitions lives in one place), never filled by side-effect imports.
_REGISTRY: dict[str, KindSpec] = _table(
    CORE_KINDS, capability.KINDS, design.KINDS, governance.KINDS, jobs.KINDS
)


def spec_for(kind: str) -> KindSpec | None:
    return _REGISTRY.get(kind)


def known_kinds() -> list[str]:
    return sorted(_REGISTRY)


@dataclass(frozen=True, slots=True)
class BodyStatus:
    """Outcome of body validation: `model` when valid, else a code, a reason and the
    `field` at fault (its dotted path in the body, e.g. "price.currency")."""

    model: StrictBody | None
    code: str | None = None
    reason: str | None = None
    field: str | None = None

    @property
    def valid(self) -> bool:
        return self.model is not None


def check_body(kind: str, body: dict[str, Any]) -> BodyStatus:
    """Validate a body against its kind; never raises for peer input."""
    spec = _REGISTRY.get(kind)
    if spec is None:
        return BodyStatus(None, "body.unknown-kind", f"kind {kind!r} is not known here")
    try:
        return BodyStatus(spec.model.model_validate(body, strict=True))
    except pydantic.ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        return BodyStatus(None, "body.invalid", f"{where}: {first['msg']}", where)
