"""Is this node reachable? A tally of dial-back verdicts (specs/0014 §6).

Peers we ask dial us back on a new connection (node.net.reachability moves the bytes);
each answer is a verdict `reached` or not from one server. The tally keeps the latest
verdict per server for VERDICT_TTL_MS and says `public` once DIALBACK_CONFIRMATIONS
servers reached us, `private` once that many could not (and fewer reached us), else
`unknown`. It also says whom to ask: a server not asked for ASK_INTERVAL_MS, or for
RETRY_AFTER_MS when it gave no answer.

Pure: every call takes the driver's `now_ms`; servers are opaque ids. At most
MAX_SERVERS servers are remembered (the oldest verdict goes first).
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from typing import Generic, Literal, TypeVar

ServerT = TypeVar("ServerT", bound=Hashable)
Status = Literal["public", "private", "unknown"]

DIALBACK_CONFIRMATIONS = 2  # go-libp2p's users report ~4 for the open internet; a
# federation of a few labs may have 2 members online: 2 agreeing servers decide
VERDICT_TTL_MS = 60 * 60 * 1000  # an hour: a home router's mapping may change
ASK_INTERVAL_MS = 30 * 60 * 1000  # each server is asked again after half an hour
RETRY_AFTER_MS = 45 * 1000  # ... or soon, when it gave no answer (busy, refused, reset):
# longer than the servers' 30 s between two requests of one peer (node.net.reachability)
MAX_SERVERS = 64


@dataclass(frozen=True)
class Verdict(Generic[ServerT]):
    server: ServerT
    reached: bool
    at_ms: int


class ReachabilityTally(Generic[ServerT]):
    """The latest dial-back verdict of each server, and what they add up to."""

    def __init__(self, confirmations: int = DIALBACK_CONFIRMATIONS) -> None:
        self.confirmations = confirmations
        self._verdicts: dict[ServerT, Verdict[ServerT]] = {}
        self._asked: dict[ServerT, int] = {}

    def should_ask(self, server: ServerT, now_ms: int) -> bool:
        asked = self._asked.get(server)
        return asked is None or now_ms - asked >= ASK_INTERVAL_MS

    def asked(self, server: ServerT, now_ms: int) -> None:
        self._asked[server] = now_ms
        if len(self._asked) > MAX_SERVERS:
            del self._asked[min(self._asked, key=self._asked.__getitem__)]

    def no_answer(self, server: ServerT, now_ms: int) -> None:
        """`server` was asked and said nothing: ask it again after RETRY_AFTER_MS."""
        self._asked[server] = now_ms - ASK_INTERVAL_MS + RETRY_AFTER_MS

    def verdict(self, server: ServerT, reached: bool, now_ms: int) -> None:
        self._verdicts.pop(server, None)
        self._verdicts[server] = Verdict(server, reached, now_ms)
        if len(self._verdicts) > MAX_SERVERS:
            del self._verdicts[next(iter(self._verdicts))]

    def verdicts(self, now_ms: int) -> list[Verdict[ServerT]]:
        """The verdicts still in force, newest last."""
        return [v for v in self._verdicts.values() if now_ms - v.at_ms < VERDICT_TTL_MS]

    def status(self, now_ms: int) -> Status:
        current = self.verdicts(now_ms)
        reached = sum(1 for v in current if v.reached)
        if reached >= self.confirmations:
            return "public"
        if len(current) - reached >= self.confirmations:
            return "private"
        return "unknown"
