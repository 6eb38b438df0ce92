"""Which key an author had in force at a given seq, from its key events alone.

A key history is the author's key-event entries in log order: the inception
(seq 1), then each rotation and revocation, each naming the id of the one before
(`prev_key_event`, specs/0002 §4). Checking the chain needs no other entries, so
a fork proof can carry it and be verified with no other context (specs/0004).

What the chain cannot show is an event left off its *end*: a holder of the full
log must also check that no later key event precedes the seq in question
(`Ledger.verify_fork_proof` does).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from protocol import kinds
from protocol.entry import Entry, decode_entry
from protocol.errors import VerificationError
from protocol.logstate import KeyState, LogHead, verify_next

MAX_KEY_EVENTS = 64


@dataclass(frozen=True, slots=True)
class KeyPeriod:
    """`signing_key` signs entries with seq > `from_seq` (the inception key also seq 1)."""

    from_seq: int
    signing_key: bytes
    recovery_key: bytes
    event_id: bytes


@dataclass(frozen=True, slots=True)
class KeyHistory:
    network: bytes
    author: bytes
    periods: tuple[KeyPeriod, ...]
    events: tuple[Entry, ...]

    def period_for_entry(self, seq: int) -> KeyPeriod:
        """The key period whose keys may sign the entry at `seq`."""
        if seq == 1:
            return self.periods[0]
        return [p for p in self.periods if p.from_seq < seq][-1]

    def period_after(self, size: int) -> KeyPeriod:
        """The key period in force once the first `size` entries exist (checkpoints)."""
        return [p for p in self.periods if p.from_seq <= max(size, 1)][-1]

    def signer_allowed(self, entry: Entry) -> bool:
        period = self.period_for_entry(entry.seq)
        if entry.kind == kinds.REVOCATION and entry.seq > 1:
            return entry.signer == period.recovery_key
        return entry.signer == period.signing_key


def verify_key_history(raw_events: Sequence[bytes], network: bytes, author: bytes) -> KeyHistory:
    """Check a key-event chain and return the periods it establishes, or raise."""
    if not 1 <= len(raw_events) <= MAX_KEY_EVENTS:
        raise VerificationError("verify.bad-key-history", "want 1 to 64 key events")
    events = [decode_entry(raw) for raw in raw_events]
    head = verify_next(LogHead(network, author), events[0])
    periods = [_period(head)]
    for event in events[1:]:
        head = _fold_event(head, event)
        periods.append(_period(head))
    return KeyHistory(network, author, tuple(periods), tuple(events))


def extend_keys(head: LogHead, raw_events: Sequence[bytes], *, upto_seq: int) -> KeyState:
    """The keys in force after `head` and then these later key events (seqs beyond
    the head, not yet held): each must continue the chain. Used to check a checkpoint
    signed after a rotation the receiver has not fetched yet."""
    if head.keys is None or len(raw_events) > MAX_KEY_EVENTS:
        raise VerificationError("verify.bad-key-history", "no key state to extend")
    for raw in raw_events:
        event = decode_entry(raw)
        if (event.network, event.author) != (head.network, head.author):
            raise VerificationError("verify.bad-key-history", "key event of another log")
        if event.seq <= head.size:
            raise VerificationError("verify.bad-key-history", "key event inside the held log")
        if event.seq > upto_seq:
            raise VerificationError("verify.bad-key-history", "key event beyond the checkpoint")
        head = _fold_event(head, event)
    assert head.keys is not None
    return head.keys


def _fold_event(head: LogHead, event: Entry) -> LogHead:
    """Apply one later key event to `head`, skipping the entries in between."""
    assert head.keys is not None
    if event.kind not in (kinds.ROTATION, kinds.REVOCATION):
        raise VerificationError("verify.bad-key-history", f"{event.kind} is not a key event")
    if event.seq <= head.keys.established_seq:
        raise VerificationError("verify.bad-key-history", "key events out of order")
    # Pretend the log reaches just below this event: everything verify_next checks
    # about key events (signer role, prev_key_event, body) then applies unchanged.
    below = LogHead(
        head.network, head.author, event.seq - 1, event.prev, 0, head.keys, head.revoked
    )
    return verify_next(below, event)


def _period(head: LogHead) -> KeyPeriod:
    assert head.keys is not None
    k = head.keys
    return KeyPeriod(k.established_seq, k.signing_key, k.recovery_key, k.key_event)
