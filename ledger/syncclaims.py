"""Which logs a node's sync sessions are fetching, so two of them do not fetch the
same entries at once (specs/0005 §6 step 3, "claims").

A node may run several sessions at once: with one peer (each side opens its own on
connecting) or with several. Each would plan every log the peer holds longer than
ours, so a new node catching up from one peer fetched every entry twice, one copy
skipped. A session that plans a log *claims* it up to the size it plans; another
session then leaves that log alone unless it offers more than the claim. A claim
ends with its session, or when the claiming session's answer for that log fell
short (the other sessions may fetch it again). Node-local bookkeeping: nothing of
it is on the wire, and a node without it only fetches more.

Thread-safe (one lock), since sessions take claims on the storage thread and the
driver releases a session's claims where the session ends.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

Owner = object


@dataclass
class SyncClaims:
    """(network, author) -> (the session fetching it, up to which size)."""

    _claims: dict[tuple[bytes, bytes], tuple[Owner, int]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    #: Logs a session left to another one fetching them, since the node started.
    left_to_others: int = 0

    def claim(self, owner: Owner, network: bytes, author: bytes, size: int) -> bool:
        """Claim `author`'s log up to `size` for `owner`; False if another session's
        claim already reaches `size` (leave the log to it)."""
        key = (network, author)
        with self._lock:
            held = self._claims.get(key)
            if held is not None and held[0] is not owner and held[1] >= size:
                self.left_to_others += 1
                return False
            self._claims[key] = (owner, size)
            return True

    def release(self, owner: Owner, network: bytes, author: bytes) -> None:
        """End `owner`'s claim on one log (its answer fell short), if it holds it."""
        key = (network, author)
        with self._lock:
            held = self._claims.get(key)
            if held is not None and held[0] is owner:
                del self._claims[key]

    def release_all(self, owner: Owner) -> None:
        """End every claim of `owner` (its session ended, however)."""
        with self._lock:
            for key in [k for k, (o, _) in self._claims.items() if o is owner]:
                del self._claims[key]

    def __len__(self) -> int:
        return len(self._claims)
