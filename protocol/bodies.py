"""What every entry kind is made of (specs/0002-identities-and-entries.md §5): the
strict body base, the kind spec, and the four kinds of the log itself (inception,
rotation, revocation, note).

Record modules (protocol.capability, design, governance, jobs) build their kinds from
these and list them in a `KINDS` tuple; protocol.kinds gathers every tuple into the
one registry table. Nothing here imports a record module, so there is no cycle.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Annotated

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

CORE_KINDS: tuple[KindSpec, ...] = (
    KindSpec(INCEPTION, InceptionBody, key_event=True),
    KindSpec(ROTATION, RotationBody, key_event=True),
    KindSpec(REVOCATION, RevocationBody, KeyRole.RECOVERY, key_event=True),
    KindSpec(NOTE, NoteBody),
)
