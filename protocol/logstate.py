"""Log validity: does an entry extend its author's log? (specs/0002 §6)

A sans-IO fold: `LogHead` is everything needed to judge the next entry of one
(network, author) log, and `verify_next(head, entry)` returns the new head or
raises. It makes the checks of specs/0002 §6 in the table's order: network, author,
sequence number, previous-entry hash, timestamp order, an inception at seq 1 and
nowhere else, a key event's body, an inception's keys against the author, the signer
(the key the author's key events put in force for this kind: the signing key, or the
recovery key for a revocation), then a key event's `prev_key_event` and a
revocation's range. Every other kind joins the log whatever its body (protocol.kinds).

A revocation voids entries [revoke_from_seq, its own seq): they stay in the log,
so it can still be replicated and proven, and `LogHead.is_revoked` tells views
to ignore them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from protocol import kinds
from protocol.entry import Entry
from protocol.errors import VerificationError
from protocol.identity import identity_id


@dataclass(frozen=True, slots=True)
class KeyState:
    """The author's keys in force after some prefix of its log."""

    signing_key: bytes
    recovery_key: bytes
    key_event: bytes  # id of the entry that put `signing_key` in force
    established_seq: int


@dataclass(frozen=True, slots=True)
class LogHead:
    """The state of one log after its first `size` entries."""

    network: bytes
    author: bytes
    size: int = 0
    head_id: bytes | None = None
    last_timestamp_ms: int = 0
    keys: KeyState | None = None
    revoked: tuple[tuple[int, int], ...] = ()  # half-open [from, to) seq ranges

    def is_revoked(self, seq: int) -> bool:
        return any(start <= seq < end for start, end in self.revoked)


def verify_next(head: LogHead, entry: Entry) -> LogHead:
    """Return the head after appending `entry`, or raise VerificationError."""
    if entry.network != head.network:
        raise VerificationError("verify.wrong-network", "entry belongs to another network")
    if entry.author != head.author:
        raise VerificationError("verify.wrong-author", "entry belongs to another author's log")
    if entry.seq != head.size + 1:
        code = "verify.seq-gap" if entry.seq > head.size + 1 else "verify.seq-stale"
        raise VerificationError(code, f"got seq {entry.seq}, want {head.size + 1}")
    if entry.prev != head.head_id:
        raise VerificationError("verify.bad-prev", "prev does not name the log's last entry")
    if entry.timestamp_ms < head.last_timestamp_ms:
        raise VerificationError(
            "verify.timestamp-regress",
            f"got {entry.timestamp_ms} ms, log is at {head.last_timestamp_ms} ms",
        )
    keys = _next_keys(head, entry)
    revoked = head.revoked
    if entry.kind == kinds.REVOCATION:
        start = _revocation(entry).revoke_from_seq
        if start < entry.seq:
            revoked = (*revoked, (start, entry.seq))
    # Built directly rather than with dataclasses.replace: this runs once per entry.
    return LogHead(
        head.network, head.author, entry.seq, entry.id, entry.timestamp_ms, keys, revoked
    )


def verify_run(
    head: LogHead,
    entries: Sequence[Entry],
    before: Callable[[Entry], Exception | None] | None = None,
) -> LogHead:
    """`verify_next` over `entries` in turn: the head after the last, or the first
    error, exactly as the fold would raise it. `before(entry)`, if given, is asked
    first for each entry and its error raised (a ledger's own refusals). A run of
    entries that are not key events is checked without building a head per entry
    (this runs once per entry received)."""
    i, n = 0, len(entries)
    while i < n:
        entry = entries[i]
        if head.keys is None or head.size == 0 or entry.kind in kinds.KEY_EVENT_KINDS:
            if before is not None and (refused := before(entry)) is not None:
                raise refused
            head = verify_next(head, entry)
            i += 1
            continue
        network, author, keys, revoked = head.network, head.author, head.keys, head.revoked
        size, last_id, last_ms = head.size, head.head_id, head.last_timestamp_ms
        signing = keys.signing_key
        while i < n:
            entry = entries[i]
            if entry.kind in kinds.KEY_EVENT_KINDS:
                break
            if before is not None and (refused := before(entry)) is not None:
                raise refused
            if (
                entry.seq != size + 1
                or entry.prev != last_id
                or entry.timestamp_ms < last_ms
                or entry.signer != signing
                or entry.network != network
                or entry.author != author
            ):  # verify_next says which check fails, in the table's order
                verify_next(LogHead(network, author, size, last_id, last_ms, keys, revoked), entry)
                raise AssertionError("verify_next accepted what the run refused")
            size, last_id, last_ms = entry.seq, entry.id, entry.timestamp_ms
            i += 1
        head = LogHead(network, author, size, last_id, last_ms, keys, revoked)
    return head


def _next_keys(head: LogHead, entry: Entry) -> KeyState:
    if head.keys is None or entry.seq == 1:
        return _inception(head, entry)
    keys = head.keys
    if entry.kind == kinds.INCEPTION:
        raise VerificationError("verify.bad-inception", "inception is only allowed at seq 1")
    if entry.kind == kinds.REVOCATION:
        body = _revocation(entry)
        _expect_signer(entry, keys.recovery_key, "recovery")
        _expect_prev_event(body.prev_key_event, keys)
        if not 2 <= body.revoke_from_seq <= entry.seq:
            raise VerificationError(
                "verify.bad-key-event", f"revoke_from_seq {body.revoke_from_seq} out of range"
            )
        return KeyState(body.next_key, keys.recovery_key, entry.id, entry.seq)
    if entry.kind == kinds.ROTATION:
        rotation = _key_body(entry, kinds.RotationBody)
        _expect_signer(entry, keys.signing_key, "signing")
        _expect_prev_event(rotation.prev_key_event, keys)
        return KeyState(rotation.next_key, keys.recovery_key, entry.id, entry.seq)
    _expect_signer(entry, keys.signing_key, "signing")
    return keys


def _inception(head: LogHead, entry: Entry) -> KeyState:
    if entry.kind != kinds.INCEPTION:
        raise VerificationError("verify.bad-inception", "seq 1 must be an identity.inception")
    body = _key_body(entry, kinds.InceptionBody)
    if identity_id(body.signing_key, body.recovery_key) != head.author:
        raise VerificationError("verify.bad-inception", "inception keys do not match the author")
    _expect_signer(entry, body.signing_key, "signing")
    return KeyState(body.signing_key, body.recovery_key, entry.id, 1)


def _expect_signer(entry: Entry, key: bytes, role: str) -> None:
    if entry.signer != key:
        raise VerificationError(
            "verify.key-not-in-force",
            f"seq {entry.seq} ({entry.kind}) must be signed by the author's {role} key in force",
        )


def _expect_prev_event(named: bytes, keys: KeyState) -> None:
    if named != keys.key_event:
        raise VerificationError(
            "verify.bad-key-event", "prev_key_event does not name the last key event"
        )


def _revocation(entry: Entry) -> kinds.RevocationBody:
    return _key_body(entry, kinds.RevocationBody)


_M = TypeVar("_M", bound=kinds.StrictBody)


def _key_body(entry: Entry, model: type[_M]) -> _M:
    status = kinds.check_body(entry.kind, entry.body)
    if not isinstance(status.model, model):
        raise VerificationError(
            "verify.bad-key-event", f"{entry.kind} body is invalid: {status.reason}"
        )
    return status.model
