"""Gossip announcements and their in-router validation (specs/0005-sync.md §10).

Gossip is for freshness only; sync makes delivery reliable. An announcement
carries a few new entries (a small batch, not one message per entry: gossip
costs ~10 to 16 ms of CPU per message per node), new checkpoints and fork proofs:

    announce = canonical map {"checkpoints": [bin ...], "entries": [bin ...],
                              "forks": [bin ...], "network": bin(32), "v": 1}

`encode_announcement` refuses (LocalMisuseError, `misuse.*`) whatever its decoder
would refuse: more than MAX_ANNOUNCE_ENTRIES entries, MAX_ANNOUNCE_CHECKPOINTS
checkpoints or MAX_ANNOUNCE_FORKS fork proofs, an item over MAX_ANNOUNCE_ITEM_BYTES,
a whole over MAX_ANNOUNCE_BYTES, a network id that is not 32 bytes. The records it
carries are opaque to it: they are valid when their own encoders made them
(protocol.entry.sign_entry, ledger.checkpoint, ledger.forkproof). A sender never
calls it over the limits: `build_announcements` cuts any amount of news into
announcements that are each within every limit (`cut_announcements` gives the items
of each, for a driver that encodes them itself).

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

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import NamedTuple, Protocol

from protocol import canonical, limits
from protocol.entry import Entry, decode_entry
from protocol.errors import (
    CommonsError,
    DecodeError,
    LocalMisuseError,
    RuleViolationError,
    VerificationError,
)
from protocol.logstate import LogHead, verify_next

ANNOUNCE_VERSION = 1
MAX_ANNOUNCE_BYTES = 256 * 1024
MAX_ANNOUNCE_ENTRIES = 32
MAX_ANNOUNCE_CHECKPOINTS = 8
MAX_ANNOUNCE_FORKS = 4
#: Longest item (entry, checkpoint note, fork proof) an announcement carries: the
#: decoder's byte-string cap, an entry's own (0002). A fork proof may be longer
#: (0004: up to 66 x 64 KiB); such a proof travels by sync only (0005 §3 `forks`).
MAX_ANNOUNCE_ITEM_BYTES = limits.MAX_ENTRY_BYTES
_CAPS = {
    "entries": MAX_ANNOUNCE_ENTRIES,
    "checkpoints": MAX_ANNOUNCE_CHECKPOINTS,
    "forks": MAX_ANNOUNCE_FORKS,
}
_FIELDS = tuple(_CAPS)  # in the order of encode_announcement's arguments


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
    #: IGNOREd because something new in it cannot be checked here (an entry beyond
    #: our head, a checkpoint whose key we lack): not relayed, but worth a sync with
    #: the sender, which proves what it holds (specs/0005 §10).
    unverified: bool = False
    #: Log heads after the announcement's own entries (author -> head), so its
    #: checkpoints can be judged against the entries it carries.
    heads: Mapping[bytes, LogHead] = field(default_factory=dict)


def encode_announcement(
    network: bytes,
    entries: Sequence[bytes] = (),
    checkpoints: Sequence[bytes] = (),
    forks: Sequence[bytes] = (),
) -> bytes:
    """One announcement; LocalMisuseError for one its decoder would refuse (see module):
    misuse.bad-argument (network, item types), misuse.too-many-items (a list over its
    cap, `field` naming it), misuse.too-large (an item or the whole over its cap)."""
    if not isinstance(network, bytes) or len(network) != 32:
        raise LocalMisuseError("misuse.bad-argument", "a network id is 32 bytes", field="network")
    lists = dict(zip(_FIELDS, (list(entries), list(checkpoints), list(forks)), strict=True))
    for name, items in lists.items():
        if len(items) > _CAPS[name]:
            raise LocalMisuseError(
                "misuse.too-many-items", f"{len(items)} {name}, limit {_CAPS[name]}", field=name
            )
        for item in items:
            _check_item(name, item)
    data = canonical.encode({**lists, "network": network, "v": ANNOUNCE_VERSION})
    if len(data) > MAX_ANNOUNCE_BYTES:
        raise LocalMisuseError(
            "misuse.too-large", f"announcement of {len(data)} bytes, limit {MAX_ANNOUNCE_BYTES}"
        )
    return data


def _check_item(name: str, item: bytes) -> None:
    if not isinstance(item, bytes):
        raise LocalMisuseError("misuse.bad-argument", f"{name} are bytes", field=name)
    if len(item) > MAX_ANNOUNCE_ITEM_BYTES:
        raise LocalMisuseError(
            "misuse.too-large",
            f"an item of {len(item)} bytes in {name}, limit {MAX_ANNOUNCE_ITEM_BYTES}",
            field=name,
        )


class AnnouncementItems(NamedTuple):
    """The raw items of one announcement, within every limit (see cut_announcements)."""

    entries: tuple[bytes, ...] = ()
    checkpoints: tuple[bytes, ...] = ()
    forks: tuple[bytes, ...] = ()


def build_announcements(
    network: bytes,
    entries: Sequence[bytes] = (),
    checkpoints: Sequence[bytes] = (),
    forks: Sequence[bytes] = (),
) -> list[bytes]:
    """Any amount of news as announcements, each within every limit of the decoder:
    the items of `cut_announcements`, encoded. No news, no announcement."""
    if not isinstance(network, bytes) or len(network) != 32:
        raise LocalMisuseError("misuse.bad-argument", "a network id is 32 bytes", field="network")
    cut = cut_announcements(entries, checkpoints, forks)
    return [encode_announcement(network, *items) for items in cut]


def cut_announcements(
    entries: Sequence[bytes] = (), checkpoints: Sequence[bytes] = (), forks: Sequence[bytes] = ()
) -> list[AnnouncementItems]:
    """Any amount of news cut into the items of announcements each within every limit.

    In order: the entries as given, then the checkpoints, then the fork proofs, each
    announcement filled as far as the limits allow (so a checkpoint rides with the last
    entries, as 0005 §10 wants). A fork proof over MAX_ANNOUNCE_ITEM_BYTES is left out:
    gossip cannot carry it, and every sync session sends it (0005 §3 `forks`). No news,
    []. An entry or checkpoint no announcement can carry raises LocalMisuseError as
    encode_announcement does."""
    news = [("entries", e) for e in entries] + [("checkpoints", c) for c in checkpoints]
    news += [("forks", f) for f in forks if not _too_long_to_gossip(f)]
    out: list[AnnouncementItems] = []
    batch = _Batch()
    for name, item in news:
        _check_item(name, item)
        if not batch.fits(name, item):
            out.append(batch.items())
            batch = _Batch()
        batch.add(name, item)
    if batch.count:
        out.append(batch.items())
    return out


def _too_long_to_gossip(proof: bytes) -> bool:
    return isinstance(proof, bytes) and len(proof) > MAX_ANNOUNCE_ITEM_BYTES


#: The encoded size of an announcement with no items (its network id is 32 bytes).
_EMPTY_BYTES = len(encode_announcement(bytes(32)))


@dataclass
class _Batch:
    """One announcement being filled, with its exact encoded size so far."""

    size: int = _EMPTY_BYTES
    lists: dict[str, list[bytes]] = field(default_factory=lambda: {n: [] for n in _FIELDS})
    count: int = 0

    def _growth(self, name: str, item: bytes) -> int:
        header = 2 if len(self.lists[name]) == 15 else 0  # fixarray -> array16
        n = len(item)
        return header + n + (2 if n < 1 << 8 else 3 if n < 1 << 16 else 5)

    def fits(self, name: str, item: bytes) -> bool:
        room = len(self.lists[name]) < _CAPS[name]
        return room and self.size + self._growth(name, item) <= MAX_ANNOUNCE_BYTES

    def add(self, name: str, item: bytes) -> None:
        self.size += self._growth(name, item)
        self.lists[name].append(item)
        self.count += 1

    def items(self) -> AnnouncementItems:
        return AnnouncementItems(*(tuple(self.lists[n]) for n in _FIELDS))


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
        heads: dict[bytes, LogHead] = {}
        fresh, unverified = _check_entries(announcement.entries, network, view, heads)
    except CommonsError as e:
        return CheckResult(Verdict.REJECT, None, e)
    if unverified:
        return CheckResult(Verdict.IGNORE, announcement, unverified=True, heads=heads)
    if not (fresh or announcement.checkpoints or announcement.forks):
        return CheckResult(Verdict.IGNORE, announcement, heads=heads)
    return CheckResult(Verdict.ACCEPT, announcement, heads=heads)


def _check_entries(
    entries: list[Entry], network: bytes, view: LedgerView, after: dict[bytes, LogHead]
) -> tuple[bool, bool]:
    """Raise for any entry that can be judged bad now; (any entry is new, any entry is
    beyond our head: its key and chain cannot be checked here). `after` receives the
    heads the entries that extend our logs lead to."""
    heads: dict[bytes, LogHead | None] = {}
    fresh = unverified = False
    for entry in sorted(entries, key=lambda e: (e.author, e.seq)):
        if entry.network != network:
            raise VerificationError("verify.wrong-network", "entry of another network")
        if view.is_frozen(network, entry.author):
            raise RuleViolationError("rule.frozen-author", "author is frozen by a fork proof")
        if entry.author not in heads:
            heads[entry.author] = view.head(network, entry.author)
        head = heads[entry.author] or LogHead(network, entry.author)
        if entry.seq == head.size + 1:
            heads[entry.author] = after[entry.author] = verify_next(head, entry)
            fresh = True
        elif entry.seq > head.size + 1:
            unverified = True  # beyond what we hold: sync fetches the gap and checks it
        elif entry.id != head.head_id or entry.seq != head.size:
            fresh = True  # a conflict at a held seq: the ingest decides (fork proof)
    return fresh, unverified
