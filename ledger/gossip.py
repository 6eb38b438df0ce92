"""What a node learns from a gossip announcement besides its entries (specs/0005 §4).

An announcement (protocol.announce) may carry checkpoint notes and fork proofs beside
its entries. `learn` keeps what it can check (ledger.add_checkpoint, add_fork_proof),
says whether a note shows a log we lack or more of one than we hold (sync fetches it),
and returns the fork proofs that are news here, to be passed on. Used by the node's
gossip (node.network) and by the simulator (ledger.sim), so both follow one policy.

Pure: no I/O, no clock. Entries are the caller's (ledger.ingest_entries).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from ledger.checkpoint import decode_signed_checkpoint
from ledger.forkproof import claimed_author
from ledger.log import Ledger
from protocol.announce import Announcement
from protocol.errors import CommonsError


@dataclass(frozen=True, slots=True)
class Learned:
    ahead: bool  # a checkpoint shows a log we lack, or more of one than we hold
    new_forks: list[bytes]  # fork proofs stored here for the first time, to pass on


def is_ahead(ledger: Ledger, network: bytes, note: bytes) -> bool:
    """Does this checkpoint note show more of a log of `network` than we hold?"""
    try:
        checkpoint = decode_signed_checkpoint(note).checkpoint
    except CommonsError:
        return False
    if checkpoint.network != network:
        return False
    head = ledger.head(network, checkpoint.author)
    return head is None or checkpoint.size > head.size


def learn(ledger: Ledger, network: bytes, announcement: Announcement) -> Learned:
    """Keep an announcement's checkpoints and fork proofs that verify; see the module."""
    ahead = False
    for note in announcement.checkpoints:
        ahead = is_ahead(ledger, network, note) or ahead
        with contextlib.suppress(CommonsError):  # kept only if we can check it
            ledger.add_checkpoint(note)
    new_forks: list[bytes] = []
    for raw in announcement.forks:
        known = ledger.is_frozen(network, claimed_author(raw))
        try:
            ledger.add_fork_proof(raw)
        except CommonsError:
            continue
        if not known:
            new_forks.append(raw)
    return Learned(ahead, new_forks)
