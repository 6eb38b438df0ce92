"""The items that set reconciliation compares: one per log a node serves and one per
author it holds frozen by a fork proof (specs/0005-sync.md §8.2).

A log's item is (0, id) with id = SHA-256("fabcommons/v1/sync-item\\0" || author ||
size as 8 bytes big-endian || root), the author's log at its latest servable
checkpoint (size, root). So two nodes that serve the same prefix of every log hold
the same items, and each log whose servable head differs between them gives one
item on each side that holds it: the logs whose heads are worth sending. The sort
key is 0 for every item (there is no clock to trust): ranges are split by id, which
a hash spreads evenly. Cosignatures do not enter the id: two notes of one size and
root are one head. A frozen author's item is (0, SHA-256(the same tag || author)):
32 bytes hashed where a log's item hashes 72, so the two kinds never share a
preimage. It names the freeze, not the proof: two nodes that freeze an author agree
whichever proof each holds (a node keeps only the first, 0004), so they do not send
each other proofs again and again.
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


def frozen_item_id(author: bytes) -> bytes:
    """The id of the item of an author frozen by a fork proof we hold."""
    if len(author) != 32:
        raise LocalMisuseError("misuse.bad-argument", "want a 32-byte author")
    return hashlib.sha256(tags.SYNC_ITEM + author).digest()
