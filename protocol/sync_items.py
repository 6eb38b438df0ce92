"""The items that set reconciliation compares: one per log a node serves and one per
fork proof it holds (specs/0005-sync.md §8.2).

A log's item is (0, id) with id = SHA-256("fabcommons/v1/sync-item\\0" || author ||
size as 8 bytes big-endian || root), the author's log at its latest servable
checkpoint (size, root). So two nodes that serve the same prefix of every log hold
the same items, and each log whose servable head differs between them gives one
item on each side that holds it: the logs whose heads are worth sending. The sort
key is 0 for every item (there is no clock to trust): ranges are split by id, which
a hash spreads evenly. Cosignatures do not enter the id: two notes of one size and
root are one head. A fork proof's item is (0, SHA-256(the same tag || its id)), 32
bytes hashed where a log's item hashes 72, so the two kinds never share a preimage.
"""

from __future__ import annotations

import hashlib
from typing import Final

from protocol import tags
from protocol.errors import LocalMisuseError

SORT_KEY: Final = 0


def log_item_id(author: bytes, size: int, root: bytes) -> bytes:
    """The id of the item of `author`'s log served at `size` entries with `root`."""
    if len(author) != 32 or len(root) != 32 or not 0 <= size < 1 << 64:
        raise LocalMisuseError("misuse.bad-argument", "want a 32-byte author and root, a u64")
    return hashlib.sha256(tags.SYNC_ITEM + author + size.to_bytes(8, "big") + root).digest()


def fork_item_id(fork_proof_id: bytes) -> bytes:
    """The id of the item of a fork proof (its id: SHA-256 of its bytes, 0004)."""
    if len(fork_proof_id) != 32:
        raise LocalMisuseError("misuse.bad-argument", "want a 32-byte fork proof id")
    return hashlib.sha256(tags.SYNC_ITEM + fork_proof_id).digest()
