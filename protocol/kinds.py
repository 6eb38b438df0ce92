"""The registry of entry kinds and their bodies (specs/0002-identities-and-entries.md §5).

A kind names a body schema: a pydantic v2 model validated in strict mode after
canonical decoding (no coercion: an int is never accepted for a str). Key-event
kinds (inception, rotation, revocation) are part of log validity, because the
chain of keys depends on them; every other kind is body validity only, so an
unknown kind or an invalid body still joins its log and views skip it with a
recorded reason (`BodyStatus`). Later specs register their kinds here.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Annotated, Any

import pydantic
from pydantic import BaseModel, ConfigDict, Field

Bytes32 = Annotated[bytes, Field(min_length=32, max_length=32)]
PositiveInt = Annotated[int, Field(ge=1, le=2**64 - 1)]


class StrictBody(BaseModel):
    """Base for every body: strict types, no unknown fields, immutable."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


class InceptionBody(StrictBody):
    """identity.inception — seq 1 of every log: the keys the identity id commits to."""

    signing_key: Bytes32
    recovery_key: Bytes32


class RotationBody(StrictBody):
    """key.rotate — signed by the key in force; `next_key` signs from the next seq on."""

    prev_key_event: Bytes32
    next_key: Bytes32


class RevocationBody(StrictBody):
    """key.revoke — signed by the recovery key: entries from `revoke_from_seq` up to
    this one are void, and `next_key` signs from the next seq on."""

    prev_key_event: Bytes32
    revoke_from_seq: PositiveInt
    next_key: Bytes32


class NoteBody(StrictBody):
    """note — free text an operator publishes (announcements)."""

    text: Annotated[str, Field(min_length=1, max_length=4096)]


class KeyRole(Enum):
    """Which of the author's keys must sign an entry of a kind."""

    SIGNING = "signing"
    RECOVERY = "recovery"


@dataclass(frozen=True, slots=True)
class KindSpec:
    name: str
    model: type[StrictBody]
    signer: KeyRole = KeyRole.SIGNING
    key_event: bool = False


INCEPTION = "identity.inception"
ROTATION = "key.rotate"
REVOCATION = "key.revoke"
NOTE = "note"

_REGISTRY: dict[str, KindSpec] = {}


def register(spec: KindSpec) -> None:
    """Add a kind; a name can be registered once."""
    if spec.name in _REGISTRY and _REGISTRY[spec.name] != spec:
        raise ValueError(f"kind {spec.name} registered twice")
    _REGISTRY[spec.name] = spec


def spec_for(kind: str) -> KindSpec | None:
    return _REGISTRY.get(kind)


def known_kinds() -> list[str]:
    return sorted(_REGISTRY)


@dataclass(frozen=True, slots=True)
class BodyStatus:
    """Outcome of body validation: `model` when valid, else a code and a reason."""

    model: StrictBody | None
    code: str | None = None
    reason: str | None = None

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
        return BodyStatus(None, "body.invalid", f"{where}: {first['msg']}")


for _spec in (
    KindSpec(INCEPTION, InceptionBody, key_event=True),
    KindSpec(ROTATION, RotationBody, key_event=True),
    KindSpec(REVOCATION, RevocationBody, KeyRole.RECOVERY, key_event=True),
    KindSpec(NOTE, NoteBody),
):
    register(_spec)

import protocol.capability  # noqa: E402  (registers the capability.advert kind)
import protocol.design  # noqa: E402  (registers the design kind)
import protocol.governance  # noqa: E402  (registers the gov.* and member.* kinds)
import protocol.jobs  # noqa: E402, F401  (registers the job.* kinds)
