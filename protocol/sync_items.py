"""The items that set reconciliation compares: one per log a node serves and one per
author it holds frozen by a fork proof (specs/0005-sync.md §8.2).

A log's item is (0, id) with id = SHA-256("fabcommons/v1/sync-item\\0" || author ||
size as 8 bytes big-endian || root || lines), the author's log at its latest
servable checkpoint (size, root), where lines = SHA-256 of the signature lines of
the note kept for it, distinct, sorted bytewise and concatenated. So two nodes that
serve the same prefix of every log, with the same cosignatures, hold the same items,
and each log whose servable head or cosignatures differ between them gives one item
on each side that holds it: the logs whose heads are worth sending (a cosignature
one node lacks reaches it in the next session, as a new entry does). The sort key is
0 for every item (there is no clock to trust): ranges are split by id, which a hash
spreads evenly. A frozen author's item is (0, SHA-256(the same tag || author)): 32
bytes hashed where a log's item hashes 104, so the two kinds never share a
preimage. It names the freeze, not the proof: two nodes that freeze an author agree
whichever proof each holds (a node keeps only the first, 0004), so they do not send
each other proofs again and again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Final

from protocol import tags
from protocol.errors import LocalMisuseError

SORT_KEY: Final = 0


def log_item_id(author: bytes, size: int, root: bytes, lines: Iterable[bytes]) -> bytes:
    """The id of the item of `author`'s log served at `size` entries with `root`, whose
    note carries the signature `lines` (each as in the note: "— name base64\\n")."""
    if len(author) != 32 or len(root) != 32 or not 0 <= size < 1 << 64:
        raise LocalMisuseError("misuse.bad-argument", "want a 32-byte author and root, a u64")
    signed = hashlib.sha256(b"".join(sorted(set(lines)))).digest()
    return hashlib.sha256(
        tags.SYNC_ITEM + author + size.to_bytes(8, "big") + root + signed
    ).digest()


def frozen_item_id(author: bytes) -> bytes:
    """The id of the item of an author frozen by a fork proof we hold."""
    if len(author) != 32:
        raise LocalMisuseError("misuse.bad-argument", "want a 32-byte author")
    return hashlib.sha256(tags.SYNC_ITEM + author).digest()
