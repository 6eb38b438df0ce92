"""Availability by rule: which members keep (pin) which design files (specs/0009 §13).

The federation's rules (specs/0008 §2) say how many members pin each design's files
(`pin_replicas`) and how many bytes of them each member pins at most
(`pin_quota_bytes`). Who pins a blob is chosen by rendezvous hashing (highest random
weight, Thaler and Ravishankar 1998): each member's weight for a blob is

    weight(blob, member) = SHA-256(PIN_TAG || blob || member)      compared as bytes

and the `pin_replicas` members of highest weight pin it, the blob's authors (those of
the designs naming it) left out: they keep their own files anyway, and a replica on
the author's node is no help while it is offline. Every node computes the same choice
from the same members and designs; a member joining or leaving moves only the blobs it
gains or loses, about 1/n of them. A member pins the blobs it was chosen for, highest
weight first, skipping any that would take it past its quota.

Pure: no I/O, no clock. Left to others: reading the designs and rules, fetching and
keeping the blobs (node/ops/pinning.py, the node's pinning task).
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Final

from protocol.tags import PIN_WEIGHT

#: Rules absent from a charter (older charters) take these values (specs/0008 §2).
DEFAULT_PIN_REPLICAS: Final = 2
DEFAULT_PIN_QUOTA_BYTES: Final = 1024 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class PinnedFile:
    """One blob a live design names: its size and the authors of the designs naming it."""

    size: int
    authors: frozenset[bytes]


def weight(blob: bytes, member: bytes) -> bytes:
    """The member's rendezvous weight for the blob (larger pins first)."""
    return hashlib.sha256(PIN_WEIGHT + blob + member).digest()


def pinners(
    blob: bytes, members: Collection[bytes], replicas: int, authors: Collection[bytes] = ()
) -> list[bytes]:
    """The members that pin `blob`: the `replicas` of highest weight, its authors left
    out, highest first."""
    candidates = sorted(set(members) - set(authors))
    candidates.sort(key=lambda m: weight(blob, m), reverse=True)
    return candidates[: max(replicas, 0)]


def pin_set(
    member: bytes,
    files: Mapping[bytes, PinnedFile],
    members: Collection[bytes],
    replicas: int,
    quota_bytes: int,
) -> list[bytes]:
    """The blobs `member` pins: those it is chosen for, by weight (highest first), each
    taken if it still fits in `quota_bytes`. Empty for a non-member."""
    if member not in members:
        return []
    chosen = [
        blob
        for blob, file in files.items()
        if member in pinners(blob, members, replicas, file.authors)
    ]
    chosen.sort(key=lambda blob: weight(blob, member), reverse=True)
    kept: list[bytes] = []
    used = 0
    for blob in chosen:
        if used + files[blob].size <= quota_bytes:
            kept.append(blob)
            used += files[blob].size
    return kept
