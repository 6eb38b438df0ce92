"""entries/log: whole logs folded from their first entry, and the key model behind them."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any, Literal, Self

from protocol import canonical, kinds
from protocol.ids import id_to_text
from protocol.keys import SigningKey
from specs.vectorgen.common import (
    ALICE,
    ALICE_NEXT,
    ALICE_THIRD,
    BOB,
    NETWORK,
    OTHER_NETWORK,
    T0_MS,
    UNKNOWN_KIND,
    Case,
    Identity,
    entry_id,
    error,
    ok,
    payload_fields,
    sign_fields,
)


class Log:
    """Builds one log's entries and models the keys a correct fold puts in force."""

    def __init__(self, author: Identity = ALICE) -> None:
        self.author = author
        self.raws: list[bytes] = []
        self.events: list[bytes] = []  # the key events, in log order
        self.signing = author.signing
        self.key_event: bytes | None = None
        self.established_seq = 0

    @property
    def head(self) -> bytes | None:
        return entry_id(self.raws[-1]) if self.raws else None

    def add(
        self,
        kind: str,
        body: Any,
        *,
        key: SigningKey | None = None,
        seq: int | None = None,
        prev: bytes | Literal["head"] | None = "head",
        timestamp_ms: int | None = None,
        network: bytes = NETWORK,
        author: Identity | None = None,
    ) -> Self:
        """Append an entry: by default the next one, signed by the key in force."""
        key = key or self.signing
        fields = payload_fields(
            signer=key.public,
            seq=len(self.raws) + 1 if seq is None else seq,
            prev=self.head if isinstance(prev, str) else prev,
            kind=kind,
            body=body,
            author=(author or self.author).id,
            network=network,
            timestamp_ms=timestamp_ms,
        )
        self.raws.append(sign_fields(key, fields))
        return self

    def inception(self, **options: Any) -> Self:
        body = self.author.inception_body()
        return self._key_event(self.author.signing, kinds.INCEPTION, body, **options)

    def note(self, **options: Any) -> Self:
        return self.add(kinds.NOTE, {"text": f"note {len(self.raws) + 1}"}, **options)

    def rotate(self, next_key: SigningKey, **options: Any) -> Self:
        body = {
            "prev_key_event": options.pop("prev_key_event", self.key_event),
            "next_key": next_key.public,
        }
        return self._key_event(next_key, kinds.ROTATION, body, **options)

    def revoke(self, revoke_from_seq: int, next_key: SigningKey, **options: Any) -> Self:
        body = {
            "prev_key_event": options.pop("prev_key_event", self.key_event),
            "revoke_from_seq": revoke_from_seq,
            "next_key": next_key.public,
        }
        options.setdefault("key", self.author.recovery)
        return self._key_event(next_key, kinds.REVOCATION, body, **options)

    def _key_event(self, next_key: SigningKey, kind: str, body: Any, **options: Any) -> Self:
        self.add(kind, body, **options)
        self.events.append(self.raws[-1])
        self.signing, self.key_event, self.established_seq = next_key, self.head, len(self.raws)
        return self

    def ok(self, *revoked: tuple[int, int]) -> dict[str, Any]:
        """The expected fold result, from this model (not from protocol.logstate)."""
        assert self.head is not None and self.key_event is not None
        keys = {
            "signing_key_hex": self.signing.public.hex(),
            "recovery_key_hex": self.author.recovery.public.hex(),
            "key_event": id_to_text(self.key_event),
            "established_seq": self.established_seq,
        }
        revoked_ranges = [list(r) for r in revoked]
        return ok(
            size=len(self.raws), head_id=id_to_text(self.head), revoked=revoked_ranges, keys=keys
        )


def log_cases() -> Iterator[Case]:
    for builder in (_happy_logs, _key_event_logs, _chain_logs, _inception_logs):
        for name, description, log, expect in builder():
            data = {
                "network_hex": NETWORK.hex(),
                "author_hex": log.author.id.hex(),
                "entries_hex": [raw.hex() for raw in log.raws],
            }
            yield Case("entries", "log", name, description, data, expect)


LogCase = tuple[str, str, Log, dict[str, Any]]


def _at(code: str, at: int) -> dict[str, Any]:
    return error(code, at=at)


def _happy_logs() -> Iterator[LogCase]:
    log = Log().inception().note().note().note()
    yield "happy-path", "An inception then three notes.", log, log.ok()
    log = Log().inception().note().add(UNKNOWN_KIND, {"x": 1}).note()
    yield "unknown-kind-joins", "An entry of an unknown kind joins the log.", log, log.ok()
    log = Log().inception().add(kinds.NOTE, {"text": 42}).note()
    yield "invalid-body-joins", "A note whose text is an integer joins the log.", log, log.ok()
    log = Log().inception().note(timestamp_ms=T0_MS + 1000)
    yield "timestamp-equal", "Two entries may carry the same timestamp.", log, log.ok()
    log = Log().inception().note().note()
    log.raws[-1] = canonical.encode([canonical.decode(log.raws[-1])[0], bytes(64)])
    yield (
        "bad-signature-in-log",
        "Entry 3 has a zero signature.",
        log,
        _at("verify.bad-signature", 3),
    )


def _key_event_logs() -> Iterator[LogCase]:
    nif, bke = "verify.key-not-in-force", "verify.bad-key-event"
    log = Log().inception().note().rotate(ALICE_NEXT).note()
    yield "rotation", "A rotation, then a note by the next key.", log, log.ok()
    log = Log().inception().note().rotate(ALICE_NEXT).note(key=ALICE.signing)
    yield "rotated-key-old-signer", "The rotated-out key signs after a rotation.", log, _at(nif, 4)
    log = Log().inception().rotate(ALICE_NEXT, key=ALICE.recovery)
    yield "rotation-signed-by-recovery-key", "The recovery key signs a rotation.", log, _at(nif, 2)
    log = Log().inception().note()
    log.rotate(ALICE_NEXT, prev_key_event=log.head)
    yield (
        "rotation-wrong-prev-key-event",
        "A rotation's prev_key_event names a note.",
        log,
        _at(bke, 3),
    )
    log = Log().inception().add(kinds.ROTATION, {"next_key": ALICE_NEXT.public})
    yield "rotation-invalid-body", "A rotation lacks prev_key_event.", log, _at(bke, 2)
    log = Log().inception().note().note().note().revoke(3, ALICE_NEXT).note()
    yield "revocation", "Seq 5 revokes from 3; the next key signs 6.", log, log.ok((3, 5))
    log = Log().inception().note().rotate(ALICE_NEXT).note().revoke(3, ALICE_THIRD).note()
    yield (
        "revocation-after-rotation",
        "Recovery revokes a rotation and the entry after it.",
        log,
        log.ok((3, 5)),
    )
    log = Log().inception().note().revoke(3, ALICE_NEXT)
    yield "revoke-from-own-seq", "A revocation from its own seq voids nothing.", log, log.ok()
    log = Log().inception().note().revoke(2, ALICE_NEXT).note(key=ALICE.signing)
    yield "revoked-key-old-signer", "The revoked key signs after a revocation.", log, _at(nif, 4)
    log = Log().inception().note().revoke(2, ALICE_NEXT, key=ALICE.signing)
    yield (
        "revocation-signed-by-signing-key",
        "The signing key signs a revocation.",
        log,
        _at(nif, 3),
    )
    log = Log().inception().note().revoke(4, ALICE_NEXT)
    yield "revoke-from-out-of-range", "revoke_from_seq is after the revocation.", log, _at(bke, 3)
    log = Log().inception().note().revoke(1, ALICE_NEXT)
    yield "revoke-from-seq-one", "revoke_from_seq names the inception.", log, _at(bke, 3)
    yield from _precedence_logs()


def _precedence_logs() -> Iterator[LogCase]:
    """Entries that break two rows of specs/0002 §6 at once: the earlier row decides."""
    nif, bke = "verify.key-not-in-force", "verify.bad-key-event"
    log = Log().inception().add(kinds.ROTATION, {"next_key": ALICE_NEXT.public}, key=BOB.signing)
    yield (
        "rotation-invalid-body-wrong-signer",
        "A rotation lacking prev_key_event, signed by another key: the body (row 7) comes first.",
        log,
        _at(bke, 2),
    )
    log = Log().inception().note()
    log.revoke(2, ALICE_NEXT, prev_key_event=log.head, key=ALICE.signing)
    yield (
        "revocation-wrong-prev-key-event-wrong-signer",
        "A revocation naming a note as prev_key_event, signed by the signing key: the signer "
        "(row 9) comes before prev_key_event (row 10).",
        log,
        _at(nif, 3),
    )
    log = Log().inception().note()
    log.revoke(2, ALICE_NEXT, prev_key_event=log.head)
    yield (
        "revocation-wrong-prev-key-event",
        "A revocation's prev_key_event names a note.",
        log,
        _at(bke, 3),
    )
    log = Log().inception().note().rotate(ALICE_NEXT).note()
    log.revoke(3, ALICE_THIRD, prev_key_event=log.events[0])
    yield (
        "revocation-skips-voided-rotation",
        "Seq 5 revokes from 3, voiding the rotation at 3, and names the inception as "
        "prev_key_event: the voided rotation is still the last key event.",
        log,
        _at(bke, 5),
    )
    body = ALICE.inception_body() | {"recovery_key": BOB.recovery.public}
    log = Log().add(kinds.INCEPTION, body, key=ALICE.recovery)
    yield (
        "inception-keys-mismatch-wrong-signer",
        "The inception names another recovery key and is signed by the recovery key: the "
        "keys (row 8) come before the signer (row 9).",
        log,
        _at("verify.bad-inception", 1),
    )


def _chain_logs() -> Iterator[LogCase]:
    log = Log().inception().note(seq=3)
    yield "seq-gap", "Entry 2 has seq 3.", log, _at("verify.seq-gap", 2)
    log = Log().inception().note().note(seq=2)
    yield "seq-stale", "Entry 3 repeats seq 2.", log, _at("verify.seq-stale", 3)
    log = Log().inception().note(prev=hashlib.sha256(b"not an entry").digest())
    yield "bad-prev", "Entry 2's prev does not name entry 1.", log, _at("verify.bad-prev", 2)
    log = Log().inception().note(network=OTHER_NETWORK)
    yield "wrong-network", "Entry 2 names another network.", log, _at("verify.wrong-network", 2)
    log = Log().inception().note(author=BOB, key=BOB.signing)
    yield "wrong-author", "Entry 2 is by another author.", log, _at("verify.wrong-author", 2)
    log = Log().inception().note(timestamp_ms=T0_MS)
    yield (
        "timestamp-regress",
        "Entry 2 is older than entry 1.",
        log,
        _at("verify.timestamp-regress", 2),
    )


def _inception_logs() -> Iterator[LogCase]:
    bad = "verify.bad-inception"
    log = Log().inception().note().inception()
    yield "inception-not-first", "Entry 3 is a second inception.", log, _at(bad, 3)
    log = Log().note()
    yield "first-not-inception", "Entry 1 is a note, not an inception.", log, _at(bad, 1)
    body = ALICE.inception_body() | {"recovery_key": BOB.recovery.public}
    log = Log().add(kinds.INCEPTION, body)
    yield "inception-keys-mismatch", "The inception names another recovery key.", log, _at(bad, 1)
    log = Log().add(kinds.INCEPTION, {"signing_key": ALICE.signing.public})
    yield (
        "inception-invalid-body",
        "The inception lacks its recovery key.",
        log,
        _at("verify.bad-key-event", 1),
    )
    log = Log().inception(key=ALICE.recovery)
    yield (
        "inception-wrong-signer",
        "The recovery key signs the inception.",
        log,
        _at("verify.key-not-in-force", 1),
    )
