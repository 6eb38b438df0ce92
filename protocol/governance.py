"""Charters, rules as data, and the governance entry kinds (specs/0008-governance.md).

A federation starts from a charter (§1): a name, its founding members (identity ids),
its initial rules and its text. The network id is protocol.identity.network_id of
`charter_bytes`, the canonical msgpack of the charter. Rules (§2) are a strict model of
integers and strings only: thresholds are per-mille integers, never floats, and size
limits never exceed the hard caps of protocol.limits. Proposals and votes (§3) are entry
kinds listed in `KINDS` for protocol.kinds.

Guarantees: a `Charter` or `Rules` value is always within bounds; `charter_bytes` is the
one byte form of a charter. Tallying, membership and the rules in force over time are
ledger.governance's business. Pure: no I/O, no clock.
"""

from __future__ import annotations

import tomllib
from enum import Enum
from typing import Annotated, Any, Literal

import pydantic
from pydantic import (
    Field,
    SerializerFunctionWrapHandler,
    field_validator,
    model_serializer,
    model_validator,
)

from protocol import blob, canonical, limits
from protocol.bodies import Bytes32, KindSpec, StrictBody
from protocol.errors import DecodeError, RemoteFaultError
from protocol.identity import network_id
from protocol.ids import id_from_text, id_to_text

CHARTER_VERSION = 1
PERMILLE = 1000
MAX_MEMBERS = 1000
MAX_LICENCES = 256
MAX_CHARTER_TEXT_BYTES = limits.MAX_STR_BYTES
MAX_WITNESS_COUNT = 64
#: Longest charter TOML text (§1.1), in UTF-8 bytes: room for a maximal charter's
#: canonical bytes written out as TOML, checked before the TOML is parsed.
MAX_CHARTER_TOML_BYTES = 4 * limits.MAX_ENTRY_BYTES
DAY_S = 86_400

PROPOSAL = "gov.proposal"
VOTE = "gov.vote"
VOUCH = "member.vouch"
UNVOUCH = "member.unvouch"
APPLY = "member.apply"
MIN_BLOB_BYTES = 1024

#: Rules a charter may leave out (§2); every other rule is required.
OPTIONAL_RULES = ("pin_replicas", "pin_quota_bytes")
MAX_PIN_REPLICAS = 16
MAX_PIN_QUOTA_BYTES = 1024**4

Permille = Annotated[int, Field(ge=0, le=PERMILLE)]
LicenceId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9.+-]+$")]


class Rules(StrictBody):
    """The network's rules in force (§2). Every field is an integer or a string."""

    quorum_permille: Annotated[int, Field(ge=1, le=PERMILLE)]
    pass_threshold_permille: Annotated[int, Field(ge=0, le=PERMILLE - 1)]
    veto_threshold_permille: Annotated[int, Field(ge=1, le=PERMILLE)]
    voting_period_s: Annotated[int, Field(ge=3600, le=90 * DAY_S)]
    effect_delay_s: Annotated[int, Field(ge=0, le=30 * DAY_S)]
    admission_vouches: Annotated[int, Field(ge=0, le=16)]
    licences: Annotated[list[LicenceId], Field(max_length=MAX_LICENCES)]
    max_entry_bytes: Annotated[int, Field(ge=1024, le=limits.MAX_ENTRY_BYTES)]
    max_str_bytes: Annotated[int, Field(ge=256, le=limits.MAX_STR_BYTES)]
    max_blob_bytes: Annotated[int, Field(ge=MIN_BLOB_BYTES, le=blob.DEFAULT_MAX_BLOB_BYTES)]
    job_offer_ttl_s: Annotated[int, Field(ge=60, le=90 * DAY_S)]
    witness_count: Annotated[int, Field(ge=1, le=MAX_WITNESS_COUNT)]
    #: Optional rules (§2): absent from the bytes when not set, so charters written
    #: before them keep their bytes and network ids; absent means the default.
    pin_replicas: Annotated[int, Field(ge=0, le=MAX_PIN_REPLICAS)] | None = None
    pin_quota_bytes: Annotated[int, Field(ge=0, le=MAX_PIN_QUOTA_BYTES)] | None = None

    @model_serializer(mode="wrap")
    def _omit_unset(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        value: dict[str, Any] = handler(self)
        for name in OPTIONAL_RULES:
            if value.get(name) is None:
                value.pop(name, None)
        return value

    @field_validator("licences")
    @classmethod
    def _sorted_unique(cls, value: list[str]) -> list[str]:
        if value != sorted(set(value)):
            raise ValueError("licences must be sorted and unique")
        return value


RULE_FIELDS = tuple(Rules.model_fields)


class RulesChange(StrictBody):
    """A partial rule set: each field set replaces that rule; absent fields stay (§3)."""

    quorum_permille: int | None = None
    pass_threshold_permille: int | None = None
    veto_threshold_permille: int | None = None
    voting_period_s: int | None = None
    effect_delay_s: int | None = None
    admission_vouches: int | None = None
    licences: list[str] | None = None
    max_entry_bytes: int | None = None
    max_str_bytes: int | None = None
    max_blob_bytes: int | None = None
    job_offer_ttl_s: int | None = None
    witness_count: int | None = None
    pin_replicas: int | None = None
    pin_quota_bytes: int | None = None

    @model_validator(mode="after")
    def _not_empty(self) -> RulesChange:
        if not self.changed():
            raise ValueError("a rules change changes at least one rule")
        return self

    def changed(self) -> dict[str, Any]:
        return {k: v for k, v in self.model_dump().items() if v is not None}

    def apply(self, rules: Rules) -> Rules:
        """The new rules; raise DecodeError decode.bad-rules if out of bounds."""
        try:
            return Rules.model_validate({**rules.model_dump(), **self.changed()}, strict=True)
        except pydantic.ValidationError as e:
            raise DecodeError("decode.bad-rules", _first(e), field=_loc(e)) from e


class Charter(StrictBody):
    """The founding document: its hash is the network id (§1).

    `test` marks a test federation (§1.2): its nodes accept a test clock offset. It is
    part of the hashed bytes only when true, so no production network id can carry it.
    """

    version: Literal[1]
    name: Annotated[str, Field(min_length=1, max_length=128)]
    members: Annotated[list[Bytes32], Field(min_length=1, max_length=MAX_MEMBERS)]
    rules: Rules
    text: Annotated[str, Field(max_length=MAX_CHARTER_TEXT_BYTES)]
    test: bool = False

    @field_validator("text")
    @classmethod
    def _text_bytes(cls, value: str) -> str:
        return _check_text_bytes(value)

    @field_validator("members")
    @classmethod
    def _members_sorted(cls, value: list[bytes]) -> list[bytes]:
        if value != sorted(set(value)):
            raise ValueError("members must be sorted and unique")
        return value

    @model_validator(mode="after")
    def _enough_witnesses(self) -> Charter:
        # An author never witnesses its own log: k others must be able to (§4).
        if self.rules.witness_count > len(self.members) - 1:
            raise ValueError("witness_count must be below the number of founding members")
        return self


def _check_text_bytes(value: str) -> str:
    """The charter text is bounded in UTF-8 bytes (a canonical string's limit, 0001)."""
    if len(value.encode()) > MAX_CHARTER_TEXT_BYTES:
        raise ValueError(f"the charter text is at most {MAX_CHARTER_TEXT_BYTES} bytes of UTF-8")
    return value


def charter_bytes(charter: Charter) -> bytes:
    """The canonical msgpack of the charter: the bytes the network id is the digest of.

    `test` appears only when true (§1.2)."""
    value = charter.model_dump()
    if not charter.test:
        del value["test"]
    return canonical.encode(value)


def charter_network_id(charter: Charter) -> bytes:
    return network_id(charter_bytes(charter))


#: Canonical charter bytes: 1000 members, 256 licences and 16 Ki characters of text fit.
MAX_CHARTER_BYTES = 128 * 1024


def decode_charter(data: bytes) -> Charter:
    """Parse canonical charter bytes (as fetched from a peer); raise DecodeError
    decode.bad-charter (or decode.too-large above MAX_CHARTER_BYTES)."""
    if len(data) > MAX_CHARTER_BYTES:
        raise DecodeError("decode.too-large", f"a charter is at most {MAX_CHARTER_BYTES} bytes")
    charter = _charter_from(canonical.decode(data, max_bytes=MAX_CHARTER_BYTES))
    if charter_bytes(charter) != data:  # e.g. an explicit `test: false`
        raise _bad_charter("charter", "not the canonical encoding of a charter")
    return charter


def charter_from_answer(network: bytes, answer: bytes) -> Charter:
    """The charter of `network` from what a peer wrote on `/fabcommons/charter/1`
    before closing (§1.3, its checks in order). Raises RemoteFaultError
    remote.charter-unavailable (it wrote nothing) or remote.wrong-charter (the charter
    of another network), or decode_charter's DecodeError."""
    if not answer:
        raise RemoteFaultError("remote.charter-unavailable", f"no charter of {id_to_text(network)}")
    charter = decode_charter(answer)
    if network_id(answer) != network:
        raise RemoteFaultError("remote.wrong-charter", "a charter whose hash is not the network id")
    return charter


def parse_charter_toml(text: str) -> Charter:
    """Parse a charter written in TOML (§1.1); raise DecodeError decode.bad-charter.

    Members are written as id text; they may appear in any order but only once.
    """
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_CHARTER_TOML_BYTES:
        raise DecodeError(
            "decode.too-large", f"charter of {size} bytes, limit {MAX_CHARTER_TOML_BYTES}"
        )
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise DecodeError("decode.bad-charter", f"not TOML: {e}", field="toml") from e
    members = raw.get("members")
    if isinstance(members, list):
        parsed = []
        for at, item in enumerate(members):
            if not isinstance(item, str):
                raise _bad_charter(f"members.{at}", "a member is an id text")
            try:
                parsed.append(id_from_text(item))
            except DecodeError as e:
                raise _bad_charter(f"members.{at}", e.message) from e
        if len(set(parsed)) != len(parsed):
            raise _bad_charter("members", "a member is listed twice")
        raw["members"] = sorted(parsed)
    rules = raw.get("rules")
    if isinstance(rules, dict) and isinstance(rules.get("licences"), list):
        rules["licences"] = sorted(rules["licences"], key=str)
    raw.setdefault("text", "")
    return _charter_from(raw)


def charter_toml(charter: Charter) -> str:
    """A TOML text of `charter` that parse_charter_toml reads back to the same charter."""
    rules = charter.rules.model_dump()
    lines = [
        f"version = {charter.version}",
        f"name = {_toml_str(charter.name)}",
        f"text = {_toml_str(charter.text)}",
        "members = [",
        *(f'  "{id_to_text(m)}",' for m in charter.members),
        "]",
        *(["test = true"] if charter.test else []),
        "",
        "[rules]",
    ]
    for key in RULE_FIELDS:
        if key not in rules:  # an optional rule left out (§2)
            continue
        value = rules[key]
        shown = "[" + ", ".join(_toml_str(v) for v in value) + "]" if key == "licences" else value
        lines.append(f"{key} = {shown}")
    return "\n".join(lines) + "\n"


def _toml_str(value: str) -> str:
    """A TOML basic string: backslash, quote and every control character escaped."""
    named = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r"}
    out = []
    for ch in value:
        if ch in named:
            out.append(named[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04X}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _charter_from(raw: Any) -> Charter:
    try:
        return Charter.model_validate(raw, strict=True)
    except pydantic.ValidationError as e:
        raise _bad_charter(_loc(e), _first(e)) from e


def _bad_charter(field: str, message: str) -> DecodeError:
    return DecodeError("decode.bad-charter", f"{field}: {message}", field=field)


def _loc(e: pydantic.ValidationError) -> str:
    return ".".join(str(p) for p in e.errors()[0]["loc"]) or "charter"


def _first(e: pydantic.ValidationError) -> str:
    return str(e.errors()[0]["msg"])


# --- entry kinds (§3) -------------------------------------------------------------------


class Action(Enum):
    CHANGE_RULES = "rules.change"
    ADMIT = "member.admit"
    REMOVE = "member.remove"
    UNFREEZE = "fork.unfreeze"
    AMEND = "charter.amend"
    BLOCK = "blobs.block"
    UNBLOCK = "blobs.unblock"


class Choice(Enum):
    YES = "yes"
    NO = "no"
    ABSTAIN = "abstain"
    VETO = "veto"


Title = Annotated[str, Field(min_length=1, max_length=256)]


class ChangeRules(StrictBody):
    action: Literal["rules.change"]
    title: Title
    changes: RulesChange


class AdmitMember(StrictBody):
    action: Literal["member.admit"]
    title: Title
    member: Bytes32


class RemoveMember(StrictBody):
    action: Literal["member.remove"]
    title: Title
    member: Bytes32


class LiftFreeze(StrictBody):
    """Lift the freeze a fork proof put on a log (specs/0004); names the proof's id."""

    action: Literal["fork.unfreeze"]
    title: Title
    fork_proof: Bytes32


class AmendCharter(StrictBody):
    action: Literal["charter.amend"]
    title: Title
    text: Annotated[str, Field(max_length=MAX_CHARTER_TEXT_BYTES)]

    @field_validator("text")
    @classmethod
    def _text_bytes(cls, value: str) -> str:
        return _check_text_bytes(value)


#: Most blobs one blocklist proposal names (§3).
MAX_BLOCKED_PER_PROPOSAL = 256
MAX_BLOCK_REASON_CHARS = 1024
BlobIds = Annotated[list[Bytes32], Field(min_length=1, max_length=MAX_BLOCKED_PER_PROPOSAL)]


def _ids_sorted_unique(value: list[bytes]) -> list[bytes]:
    if value != sorted(set(value)):
        raise ValueError("blobs must be sorted and unique")
    return value


class BlockBlobs(StrictBody):
    """Put blobs on the federation's blocklist (illegal content): every node deletes
    them and refuses to store or serve them (§3, §6; specs/0009 §9)."""

    action: Literal["blobs.block"]
    title: Title
    blobs: BlobIds
    reason: Annotated[str, Field(min_length=1, max_length=MAX_BLOCK_REASON_CHARS)]

    _sorted = field_validator("blobs")(_ids_sorted_unique)


class UnblockBlobs(StrictBody):
    """Take blobs off the blocklist: nodes may store and serve them again."""

    action: Literal["blobs.unblock"]
    title: Title
    blobs: BlobIds

    _sorted = field_validator("blobs")(_ids_sorted_unique)


ProposalAction = Annotated[
    ChangeRules
    | AdmitMember
    | RemoveMember
    | LiftFreeze
    | AmendCharter
    | BlockBlobs
    | UnblockBlobs,
    Field(discriminator="action"),
]


class ProposalBody(StrictBody):
    """gov.proposal — opened when witnessed; its entry id is the proposal id."""

    proposal: ProposalAction


class VoteBody(StrictBody):
    """gov.vote — a member's choice; a later vote (higher seq) replaces an earlier one."""

    proposal: Bytes32
    choice: Literal["yes", "no", "abstain", "veto"]


class VouchBody(StrictBody):
    """member.vouch — a member vouches for a candidate lab (admission referees)."""

    candidate: Bytes32


class UnvouchBody(StrictBody):
    """member.unvouch — withdraws a vouch made earlier by the same member."""

    candidate: Bytes32


class ApplyBody(StrictBody):
    """member.apply — an admission request: the one entry (with key events) a node
    relays and stores from an author that is neither a member nor vouched for (§3.3)."""

    name: Annotated[str, Field(min_length=1, max_length=128)]
    text: Annotated[str, Field(max_length=4096)]


KINDS: tuple[KindSpec, ...] = (
    KindSpec(PROPOSAL, ProposalBody),
    KindSpec(VOTE, VoteBody),
    KindSpec(VOUCH, VouchBody),
    KindSpec(UNVOUCH, UnvouchBody),
    KindSpec(APPLY, ApplyBody),
)


def proposal_body(action: dict[str, Any]) -> dict[str, Any]:
    """The `gov.proposal` body of an action a member proposes, `{proposal: action}`, or
    DecodeError decode.bad-proposal when that body is not valid (§7.4): the check the
    body gets as an entry (§3, 0002 §5), made before anything is signed."""
    body = {"proposal": action}
    try:
        ProposalBody.model_validate(body, strict=True)
    except pydantic.ValidationError as e:
        raise DecodeError("decode.bad-proposal", f"{_loc(e)}: {_first(e)}") from e
    return body
