"""The job entry kinds and the job lifecycle table (specs/0007-jobs.md §2-§4).

A job starts with a customer's `job.offer`; its entry id is the job id. Labs answer
with `job.bid` (replaceable, withdrawable), the customer may `job.counter` a bid, and
`job.award`s one. The awarded lab then signs `job.start` (in production), `job.ship`
and `job.deliver`; the customer signs `job.confirm` or `job.dispute` (evidence as blob
ids), and after a confirmation one `job.review`. A dispute ends when the customer
confirms after all or the lab signs `job.refund`. The customer may `job.cancel`
before production starts; an open offer expires `ttl_s` after it was signed.
Customer and labs may exchange sealed `job.message`s, which are not steps.

The lifecycle is one table, `TRANSITIONS`: (state, kind) -> (role allowed, next
state). `transition` looks a step up and raises a `JobError` with a stable code when
the kind is not allowed in that state (`job.out-of-turn`) or the signer is not the
party allowed to make it (`job.not-party`). Deriving a job's state from a set of
entries, in any arrival order, is protocol.jobstate.

Guarantees: every body is within the bounds below and has one canonical encoding
(every field present, nil where absent). No floats: places are integer micro-degrees
(protocol.processes.Location), money integer minor units of an ISO 4217 currency,
times integer milliseconds.
Its kinds are listed in `KINDS`, which protocol.kinds gathers. Pure: no I/O, no clock.
"""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Final

from pydantic import AfterValidator, Field, model_validator

from protocol.bodies import Bytes32, KindSpec, StrictBody
from protocol.capability import SealKey
from protocol.errors import JobError
from protocol.fields import Material, Name
from protocol.processes import Location, ProcessId, ToleranceClass

OFFER: Final = "job.offer"
BID: Final = "job.bid"
COUNTER: Final = "job.counter"
WITHDRAW: Final = "job.withdraw"
AWARD: Final = "job.award"
CANCEL: Final = "job.cancel"
START: Final = "job.start"
SHIP: Final = "job.ship"
DELIVER: Final = "job.deliver"
CONFIRM: Final = "job.confirm"
DISPUTE: Final = "job.dispute"
REFUND: Final = "job.refund"
REVIEW: Final = "job.review"
FILES: Final = "job.files"
MESSAGE: Final = "job.message"

MAX_QUANTITY: Final = 1_000_000
MAX_RADIUS_KM: Final = 20_038  # half the Earth's circumference: anywhere
MAX_AMOUNT_MINOR: Final = 2**53 - 1
MAX_NOTE_CHARS: Final = 2000
MAX_EVIDENCE: Final = 16
MAX_SEALED_BLOBS: Final = 64
MAX_ATTACHMENTS: Final = 8
MAX_TRACKING_CHARS: Final = 200
MAX_TIME_MS: Final = 2**63 - 1


def _text(value: str) -> str:
    if any((ord(c) < 0x20 and c not in "\t\n") or 0x7F <= ord(c) <= 0x9F for c in value):
        raise ValueError("control characters other than tab and newline are not allowed")
    if value != value.strip():
        raise ValueError("no leading or trailing white space")
    return value


def _unique(value: list[bytes]) -> list[bytes]:
    if len(set(value)) != len(value):
        raise ValueError("must not repeat an item")
    return value


Note = Annotated[str, Field(max_length=MAX_NOTE_CHARS), AfterValidator(_text)]
TimeMs = Annotated[int, Field(ge=0, le=MAX_TIME_MS)]
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$")]


class Money(StrictBody):
    """An amount in integer minor units (cents) of an ISO 4217 currency."""

    amount_minor: Annotated[int, Field(ge=0, le=MAX_AMOUNT_MINOR)]
    currency: Currency


class PartSize(StrictBody):
    """What matching needs of a part: its bounding box and volume (as design geometry)."""

    size_um: Annotated[
        list[Annotated[int, Field(ge=1, le=10**9)]], Field(min_length=3, max_length=3)
    ]
    volume_mm3: Annotated[int, Field(ge=0, le=2**63 - 1)]


class OfferBody(StrictBody):
    """job.offer — what the customer wants made, where and by when (§2.1)."""

    title: Name
    design: Bytes32 | None
    sealed: bool
    part: PartSize | None
    quantity: Annotated[int, Field(ge=1, le=MAX_QUANTITY)]
    process: ProcessId
    material: Material
    tolerance: ToleranceClass | None
    deadline_ms: TimeMs
    location: Location
    radius_km: Annotated[int, Field(ge=1, le=MAX_RADIUS_KM)]
    budget: Money | None
    ttl_s: Annotated[int, Field(ge=60, le=90 * 86_400)]
    note: Note

    @model_validator(mode="after")
    def _names_what(self) -> OfferBody:
        if self.design is None and not self.sealed:
            raise ValueError("an offer names a design, or is sealed (private files)")
        return self


class BidBody(StrictBody):
    """job.bid — a lab's price and promised ready time; its latest bid replaces older."""

    job: Bytes32
    price: Money
    ready_ms: TimeMs
    note: Note


class CounterBody(StrictBody):
    """job.counter — the customer's counter-offer to one bid (the lab may bid again)."""

    job: Bytes32
    bid: Bytes32
    price: Money
    ready_ms: TimeMs
    note: Note


class WithdrawBody(StrictBody):
    """job.withdraw — a lab withdraws one of its bids before it is awarded."""

    job: Bytes32
    bid: Bytes32


class FilesBody(StrictBody):
    """job.files — sealed blobs (HPKE to the awarded lab) the customer attaches."""

    job: Bytes32
    blobs: Annotated[
        list[Bytes32], Field(min_length=1, max_length=MAX_SEALED_BLOBS), AfterValidator(_unique)
    ]


class MessageBody(StrictBody):
    """job.message — a sealed message between the customer and a lab (§2.5): `to` the
    other party, `sealed` the blob of the sealed text, `attachments` sealed blobs, and
    `seal_key` the sender's own key, which the other party seals its replies to."""

    job: Bytes32
    to: Bytes32
    sealed: Bytes32
    attachments: Annotated[
        list[Bytes32], Field(max_length=MAX_ATTACHMENTS), AfterValidator(_unique)
    ]
    seal_key: SealKey

    @model_validator(mode="after")
    def _distinct_blobs(self) -> MessageBody:
        if self.sealed in self.attachments:
            raise ValueError("the message blob is not also an attachment")
        return self


class Step(StrictBody):
    """A lifecycle step: the job, and `after`, the latest step its signer had seen."""

    job: Bytes32
    after: Bytes32


class AwardBody(Step):
    bid: Bytes32


class CancelBody(Step):
    reason: Note


class StartBody(Step):
    pass


class ShipBody(Step):
    tracking: (
        Annotated[str, Field(min_length=1, max_length=MAX_TRACKING_CHARS), AfterValidator(_text)]
        | None
    )


class DeliverBody(Step):
    pass


class ConfirmBody(Step):
    pass


class DisputeBody(Step):
    reason: Annotated[str, Field(min_length=1, max_length=MAX_NOTE_CHARS), AfterValidator(_text)]
    evidence: Annotated[list[Bytes32], Field(max_length=MAX_EVIDENCE), AfterValidator(_unique)]


class RefundBody(Step):
    note: Note


class ReviewBody(Step):
    score: Annotated[int, Field(ge=1, le=5)]
    text: Note


class State(Enum):
    OPEN = "open"
    AWARDED = "awarded"
    IN_PRODUCTION = "in-production"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    CONFIRMED = "confirmed"
    DISPUTED = "disputed"
    REFUNDED = "refunded"
    REVIEWED = "reviewed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


class Role(Enum):
    CUSTOMER = "customer"  # the author of the offer
    LAB = "lab"  # the author of the awarded bid
    OTHER = "other"


S, C, L = State, Role.CUSTOMER, Role.LAB

#: The lifecycle (§3): (state, kind) -> (the only role that may sign it, next state).
TRANSITIONS: Final[dict[tuple[State, str], tuple[Role, State]]] = {
    (S.OPEN, AWARD): (C, S.AWARDED),
    (S.OPEN, CANCEL): (C, S.CANCELLED),
    (S.AWARDED, START): (L, S.IN_PRODUCTION),
    (S.AWARDED, CANCEL): (C, S.CANCELLED),
    (S.IN_PRODUCTION, SHIP): (L, S.SHIPPED),
    (S.IN_PRODUCTION, DISPUTE): (C, S.DISPUTED),
    (S.SHIPPED, DELIVER): (L, S.DELIVERED),
    (S.SHIPPED, CONFIRM): (C, S.CONFIRMED),
    (S.SHIPPED, DISPUTE): (C, S.DISPUTED),
    (S.DELIVERED, CONFIRM): (C, S.CONFIRMED),
    (S.DELIVERED, DISPUTE): (C, S.DISPUTED),
    (S.DISPUTED, CONFIRM): (C, S.CONFIRMED),
    (S.DISPUTED, REFUND): (L, S.REFUNDED),
    (S.CONFIRMED, REVIEW): (C, S.REVIEWED),
}
STEP_KINDS: Final = (AWARD, CANCEL, START, SHIP, DELIVER, CONFIRM, DISPUTE, REFUND, REVIEW)
SIDE_KINDS: Final = (BID, COUNTER, WITHDRAW, FILES)
TERMINAL: Final = frozenset({S.REFUNDED, S.REVIEWED, S.CANCELLED, S.EXPIRED})


def transition(state: State, kind: str, role: Role) -> State:
    """The next state after `kind` signed by `role`; raise JobError if not allowed."""
    found = TRANSITIONS.get((state, kind))
    if found is None:
        raise JobError(
            "job.out-of-turn", f"{kind} is not allowed when the job is {state.value}",
            state=state.value, kind=kind,
        )  # fmt: skip
    allowed, after = found
    if role is not allowed:
        raise JobError(
            "job.not-party",
            f"{kind} in state {state.value} is signed by the {allowed.value}, got {role.value}",
            state=state.value, kind=kind,
        )  # fmt: skip
    return after


KINDS: tuple[KindSpec, ...] = (
    KindSpec(OFFER, OfferBody),
    KindSpec(BID, BidBody),
    KindSpec(COUNTER, CounterBody),
    KindSpec(WITHDRAW, WithdrawBody),
    KindSpec(FILES, FilesBody),
    KindSpec(MESSAGE, MessageBody),
    KindSpec(AWARD, AwardBody),
    KindSpec(CANCEL, CancelBody),
    KindSpec(START, StartBody),
    KindSpec(SHIP, ShipBody),
    KindSpec(DELIVER, DeliverBody),
    KindSpec(CONFIRM, ConfirmBody),
    KindSpec(DISPUTE, DisputeBody),
    KindSpec(REFUND, RefundBody),
    KindSpec(REVIEW, ReviewBody),
)
