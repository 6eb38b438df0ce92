"""Vouches: who stands for a candidate, by witness time (specs/0008-governance.md §3.2).

A member's `member.vouch` of a candidate stands until the same member's later
`member.unvouch` (its log orders them: the higher seq wins; at equal seqs, in a forked
log, the unvouch). For an admission, only events witnessed before the proposal's
deadline count, and only of the proposal's electorate. Pure: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from protocol.entry import Entry
from protocol.governance import UNVOUCH, VOUCH, UnvouchBody, VouchBody
from protocol.kinds import check_body

#: (author, seq) -> witnessed-by time in seconds, or None (ledger.governance.WitnessTimes).
WitnessTimes = Callable[[bytes, int], int | None]


@dataclass(frozen=True, slots=True)
class VouchEvent:
    """A member.vouch (`on`) or member.unvouch entry of `voucher`'s log."""

    voucher: bytes
    candidate: bytes
    seq: int
    on: bool


def vouch_from_entry(entry: Entry) -> VouchEvent | None:
    """The vouch or withdrawal an entry carries, or None."""
    if entry.kind not in (VOUCH, UNVOUCH):
        return None
    status = check_body(entry.kind, entry.body)
    if not isinstance(status.model, VouchBody | UnvouchBody):
        return None
    return VouchEvent(entry.author, status.model.candidate, entry.seq, entry.kind == VOUCH)


def standing_vouches(
    candidate: bytes,
    vouches: Iterable[VouchEvent],
    electorate: frozenset[bytes],
    witness_times: WitnessTimes,
    before_s: int,
) -> frozenset[bytes]:
    """The electorate members whose latest vouch event for `candidate` witnessed
    before `before_s` is a vouch (§3.2): each voucher's log orders its own events."""
    latest: dict[bytes, tuple[int, bool]] = {}
    for v in vouches:
        if v.candidate != candidate or v.voucher not in electorate:
            continue
        at = witness_times(v.voucher, v.seq)
        if at is None or at >= before_s:
            continue
        held = latest.get(v.voucher)
        # The higher seq wins; at equal seqs (a forked log, 0004) the unvouch does.
        if held is None or (held[0], not held[1]) < (v.seq, not v.on):
            latest[v.voucher] = (v.seq, v.on)
    return frozenset(w for w, (_, on) in latest.items() if on)
