"""The gossip validator's ledger half, and what an announcement teaches (specs/0005 §10).

An announcement (protocol.announce) may carry checkpoint notes and fork proofs beside
its entries. protocol/ cannot parse either (both are ledger records), so the whole
in-router validator is `check_announcement` here: protocol.announce.check_announcement
for the envelope and the entries, then

  * every fork proof must pass `verify_fork_proof` (it carries its own key history,
    so it is checked with no other context) and be of this network;
  * every checkpoint must decode (`decode_signed_checkpoint`: the size limit first),
    be of this network, and, where the in-memory log head shows which key signs it,
    carry a valid signature by that key (`check_checkpoint`).

Anything bad is REJECT, so the sender's peer score drops as for a bad entry. A
checkpoint whose key this node cannot know from its heads alone (an author whose log
we lack, a size before the latest rotation, a size beyond our head without a line by
the key we hold) is passed over, not judged: see specs/0005 §10 for why.

`learn` then keeps what it can check (ledger.add_checkpoint, add_fork_proof), says
whether a note shows a log we lack or more of one than we hold (sync fetches it), and
returns the fork proofs that are news here, to be passed on. Used by the node's
gossip (node.net.network) and by the simulator (ledger.sim), so both follow one policy.

Pure: no I/O, no clock. `check_announcement` reads only the view's in-memory heads
and freezes (it runs inside the router); entries are the caller's
(ledger.ingest_entries).
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass

from ledger.checkpoint import (
    SIG_TYPE_ED25519,
    SignedCheckpoint,
    decode_signed_checkpoint,
    key_id,
    verify_checkpoint_signature,
)
from ledger.forkproof import claimed_author, verify_fork_proof
from ledger.log import Ledger, checkpoint_side
from protocol import announce
from protocol.announce import Announcement, CheckResult, LedgerView, Verdict
from protocol.errors import CommonsError, VerificationError
from protocol.logstate import LogHead


def check_announcement(data: bytes, network: bytes, view: LedgerView) -> CheckResult:
    """The whole gossip validator: ACCEPT, REJECT or IGNORE, with the decoded announcement.

    protocol.announce.check_announcement judges the envelope and the entries; this
    adds the checkpoints and fork proofs (see the module)."""
    result = announce.check_announcement(data, network, view)
    if result.verdict is not Verdict.ACCEPT or result.announcement is None:
        return result
    unverified = False
    after = _After(view, result.heads)  # a checkpoint may cover the entries it came with
    try:
        for note in result.announcement.checkpoints:
            unverified |= not check_checkpoint(note, network, after)
        for raw in result.announcement.forks:  # the dearer check last
            proof = verify_fork_proof(raw, checkpoint_verifier=checkpoint_side)
            if proof.network != network:
                raise VerificationError("verify.wrong-network", "fork proof of another network")
    except CommonsError as e:
        return CheckResult(Verdict.REJECT, None, e)
    if unverified:  # not relayed, no credit: a sync with the sender proves it or not
        return CheckResult(Verdict.IGNORE, result.announcement, unverified=True)
    return result


@dataclass(frozen=True, slots=True)
class _After:
    """The view as it will be once an announcement's own entries are stored."""

    view: LedgerView
    heads: Mapping[bytes, LogHead]

    def head(self, network: bytes, author: bytes) -> LogHead | None:
        return self.heads.get(author) or self.view.head(network, author)

    def is_frozen(self, network: bytes, author: bytes) -> bool:
        return self.view.is_frozen(network, author)


def check_checkpoint(note: bytes, network: bytes, view: LedgerView) -> bool:
    """Raise if a gossiped checkpoint note is bad; True if its author's signature was
    verified here, False if the key that signs it is not known from `view`'s heads.

    The log head holds only the keys now in force (`LogHead.keys`), which sign every
    checkpoint of size >= their `established_seq`. Beyond our head a rotation we have
    not fetched may have replaced them, so there only a line by that key is checked."""
    signed = decode_signed_checkpoint(note)
    cp = signed.checkpoint
    if cp.network != network:
        raise VerificationError("verify.wrong-network", "checkpoint of another network")
    head = view.head(network, cp.author)
    if head is None or head.keys is None:
        return False  # a log we lack: no key to check it by; sync checks what it fetches
    key = head.keys.signing_key
    if max(cp.size, 1) < head.keys.established_seq:
        return False  # signed by an earlier key: Ledger.add_checkpoint checks it
    if cp.size > head.size and not _has_line_by(signed, key):
        return False  # perhaps signed after a rotation we do not hold yet
    verify_checkpoint_signature(signed, key)
    return True


def _has_line_by(signed: SignedCheckpoint, public_key: bytes) -> bool:
    name = signed.checkpoint.origin
    want = key_id(name, SIG_TYPE_ED25519, public_key)
    return any(s.name == name and s.key_id == want for s in signed.signatures)


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
