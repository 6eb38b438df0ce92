"""Which logs a node's sync sessions are fetching, so two of them do not fetch the
same entries at once (specs/0005 §6 step 4, "claims").

A node may run several sessions at once: with one peer (each side opens its own on
connecting) or with several. Each would plan every log the peer holds longer than
ours, so a new node catching up from one peer fetched every entry twice, one copy
skipped. A session *claims* a log when it sends its first get for it, and keeps the
claim while its answers for that log come; another session that is about to ask for
a log claimed by a live session leaves it, and looks again before it sends `done`
(the claim may have ended by then). A claim ends with its session, when its answer
fell short, or when no frame of that log came for CLAIM_STALE_MS: a peer that keeps
a session barely alive holds nobody else's logs. Node-local bookkeeping: nothing of
it is on the wire, and a node without it only fetches more.

Claims are taken, refreshed and released where sessions run (the node's storage
thread); a session's end is only marked on its `ClaimToken` (one attribute, set from
any thread), its claims then count for nothing and are replaced as they are met, or
swept when the table reaches PRUNE_AT.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: A claim on which no frame came for this long counts for nothing (the sync I/O
#: timeout: a live session's peer answers a get within it).
CLAIM_STALE_MS = 30_000
#: Claims held before those of ended sessions are swept out.
PRUNE_AT = 65_536


class ClaimToken:
    """One session's handle on its claims: they count while `ended` is False."""

    __slots__ = ("ended",)

    def __init__(self) -> None:
        self.ended = False


@dataclass
class _Claim:
    token: ClaimToken
    progress_ms: int  # when it was taken or a frame of the log last came


@dataclass
class SyncClaims:
    """(network, author) -> the claim of the session fetching that log."""

    _claims: dict[tuple[bytes, bytes], _Claim] = field(default_factory=dict)
    #: Gets a session did not send because another session was fetching the log.
    left_to_others: int = 0

    def claim(self, token: ClaimToken, network: bytes, author: bytes, now_ms: int) -> bool:
        """Claim `author`'s log for `token`'s session (or refresh its claim); False if
        another live session holds a fresh claim on it (leave the log to it)."""
        key = (network, author)
        held = self._claims.get(key)
        if (
            held is not None
            and held.token is not token
            and not held.token.ended
            and now_ms - held.progress_ms <= CLAIM_STALE_MS
        ):
            self.left_to_others += 1
            return False
        if held is None and len(self._claims) >= PRUNE_AT:
            self._claims = {k: c for k, c in self._claims.items() if not c.token.ended}
        self._claims[key] = _Claim(token, now_ms)
        return True

    def progress(self, token: ClaimToken, network: bytes, author: bytes, now_ms: int) -> None:
        """A frame of a log `token` claims came: its claim is fresh again."""
        held = self._claims.get((network, author))
        if held is not None and held.token is token:
            held.progress_ms = now_ms

    def release(self, token: ClaimToken, network: bytes, author: bytes) -> None:
        """End `token`'s claim on one log (its answer fell short), if it holds it."""
        key = (network, author)
        held = self._claims.get(key)
        if held is not None and held.token is token:
            del self._claims[key]

    def live(self) -> int:
        """Claims of sessions still running."""
        return sum(1 for c in self._claims.values() if not c.token.ended)
