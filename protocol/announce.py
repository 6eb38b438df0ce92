"""Gossip announcements and their in-router validation (specs/0005-sync.md §10).

Gossip is for freshness only; sync makes delivery reliable. An announcement
carries a few new entries (a small batch, not one message per entry: gossip
costs ~10 to 16 ms of CPU per message per node), new checkpoints and fork proofs:

    announce = canonical map {"checkpoints": [bin ...], "entries": [bin ...],
                              "forks": [bin ...], "network": bin(32), "v": 1}

`check_announcement(data, network, view)` judges the envelope and the entries.
REJECT (the sender is penalised and nothing is forwarded or stored): oversized,
not canonical, malformed, wrong network, a bad signature, an entry by a frozen
author, an entry that should extend a log we hold but breaks its chain. IGNORE
(not forwarded, no penalty): nothing new in it. ACCEPT otherwise — including
unknown kinds (they are log-valid) and entries beyond our head (we will sync the
gap). Checkpoints and fork proofs are ledger records this layer cannot parse: the
validator every node runs inside the gossipsub router is
ledger.gossip.check_announcement, which calls this one and then judges those.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Protocol

from protocol import canonical, limits
from protocol.entry import Entry, decode_entry
from protocol.errors import CommonsError, DecodeError, RuleViolationError, VerificationError
from protocol.logstate import LogHead, verify_next

ANNOUNCE_VERSION = 1
MAX_ANNOUNCE_BYTES = 256 * 1024
MAX_ANNOUNCE_ENTRIES = 32
MAX_ANNOUNCE_CHECKPOINTS = 8
MAX_ANNOUNCE_FORKS = 4


class Verdict(Enum):
    ACCEPT = "accept"
    REJECT = "reject"
    IGNORE = "ignore"


class LedgerView(Protocol):
    """What validation reads of the local ledger (single lookups, no I/O)."""

    def head(self, network: bytes, author: bytes) -> LogHead | None: ...

    def is_frozen(self, network: bytes, author: bytes) -> bool: ...


@dataclass
class Announcement:
    network: bytes
    entries: list[Entry] = field(default_factory=list)
    checkpoints: list[bytes] = field(default_factory=list)
    forks: list[bytes] = field(default_factory=list)


@dataclass
class CheckResult:
    verdict: Verdict
    announcement: Announcement | None = None
    error: CommonsError | None = None


def encode_announcement(
    network: bytes,
    entries: Sequence[bytes] = (),
    checkpoints: Sequence[bytes] = (),
    forks: Sequence[bytes] = (),
) -> bytes:
    data = canonical.encode(
        {
            "checkpoints": list(checkpoints),
            "entries": list(entries),
            "forks": list(forks),
            "network": network,
            "v": ANNOUNCE_VERSION,
        }
    )
    if len(data) > MAX_ANNOUNCE_BYTES:
        raise ValueError("announcement too large; announce fewer entries and let sync fetch")
    return data


def decode_announcement(data: bytes) -> Announcement:
    value = canonical.decode(
        data, max_bytes=MAX_ANNOUNCE_BYTES, max_bin_bytes=limits.MAX_ENTRY_BYTES
    )
    want = {"checkpoints", "entries", "forks", "network", "v"}
    if not isinstance(value, dict) or set(value) != want or value["v"] != ANNOUNCE_VERSION:
        raise DecodeError("decode.bad-announcement", "not a version 1 announcement")
    lists = (value["entries"], value["checkpoints"], value["forks"])
    caps = (MAX_ANNOUNCE_ENTRIES, MAX_ANNOUNCE_CHECKPOINTS, MAX_ANNOUNCE_FORKS)
    if not all(
        isinstance(items, list) and len(items) <= cap and all(isinstance(i, bytes) for i in items)
        for items, cap in zip(lists, caps, strict=True)
    ) or not (isinstance(value["network"], bytes) and len(value["network"]) == 32):
        raise DecodeError("decode.bad-announcement", "announcement fields are malformed")
    entries = [decode_entry(raw) for raw in value["entries"]]
    return Announcement(value["network"], entries, value["checkpoints"], value["forks"])


def check_announcement(data: bytes, network: bytes, view: LedgerView) -> CheckResult:
    """The envelope and entries half of the gossip validator (the router runs
    ledger.gossip.check_announcement): ACCEPT, REJECT or IGNORE, with the decoded
    announcement. Checkpoints and fork proofs are carried through unjudged."""
    try:
        announcement = decode_announcement(data)
        if announcement.network != network:
            raise VerificationError("verify.wrong-network", "announcement of another network")
        fresh = _check_entries(announcement.entries, network, view)
    except CommonsError as e:
        return CheckResult(Verdict.REJECT, None, e)
    if not (fresh or announcement.checkpoints or announcement.forks):
        return CheckResult(Verdict.IGNORE, announcement)
    return CheckResult(Verdict.ACCEPT, announcement)


def _check_entries(entries: list[Entry], network: bytes, view: LedgerView) -> bool:
    """Raise for any entry that can be judged bad now; True if any entry is new."""
    heads: dict[bytes, LogHead | None] = {}
    fresh = False
    for entry in sorted(entries, key=lambda e: (e.author, e.seq)):
        if entry.network != network:
            raise VerificationError("verify.wrong-network", "entry of another network")
        if view.is_frozen(network, entry.author):
            raise RuleViolationError("rule.frozen-author", "author is frozen by a fork proof")
        if entry.author not in heads:
            heads[entry.author] = view.head(network, entry.author)
        head = heads[entry.author] or LogHead(network, entry.author)
        if entry.seq == head.size + 1:
            heads[entry.author] = verify_next(head, entry)
            fresh = True
        elif entry.seq > head.size + 1:
            fresh = True  # beyond what we hold: sync will fetch the gap and check it
        elif entry.id != head.head_id or entry.seq != head.size:
            fresh = True  # a conflict at a held seq: the ingest decides (fork proof)
    return fresh
