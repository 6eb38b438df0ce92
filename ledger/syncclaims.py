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

Claims are taken and released where sessions run (the node's storage thread). The
end of a session is only marked on its owner (`ClaimOwner.claims_ended`, one
attribute set from any thread); its claims then count for nothing and are dropped
as they are met, or all at once when the table grows past PRUNE_AT.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

#: Claims held before those of ended sessions are swept out.
PRUNE_AT = 65_536


class ClaimOwner(Protocol):
    """A session: its claims count while `claims_ended` is False."""

    claims_ended: bool


@dataclass
class SyncClaims:
    """(network, author) -> (the session fetching it, up to which size)."""

    _claims: dict[tuple[bytes, bytes], tuple[ClaimOwner, int]] = field(default_factory=dict)
    #: Logs a session left to another one fetching them, since the node started.
    left_to_others: int = 0

    def claim(self, owner: ClaimOwner, network: bytes, author: bytes, size: int) -> bool:
        """Claim `author`'s log up to `size` for `owner`; False if another live
        session's claim already reaches `size` (leave the log to it)."""
        key = (network, author)
        held = self._claims.get(key)
        by_other = held is not None and held[0] is not owner and not held[0].claims_ended
        if by_other and held is not None and held[1] >= size:
            self.left_to_others += 1
            return False
        if len(self._claims) >= PRUNE_AT:
            self._claims = {k: v for k, v in self._claims.items() if not v[0].claims_ended}
        self._claims[key] = (owner, size)
        return True

    def release(self, owner: ClaimOwner, network: bytes, author: bytes) -> None:
        """End `owner`'s claim on one log (its answer fell short), if it holds it."""
        key = (network, author)
        held = self._claims.get(key)
        if held is not None and held[0] is owner:
            del self._claims[key]

    def live(self) -> int:
        """Claims of sessions still running."""
        return sum(1 for owner, _ in self._claims.values() if not owner.claims_ended)
