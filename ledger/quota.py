"""What a node keeps of logs it has no reason to keep (specs/0003 §5.1; 0012 §5
finding 6): a local setting, not a rule of the network.

A log has a reason to be kept when it is the node's own, or its author is one the
node's federation admits (a member, a vouched identity: `keeps(author)`). Every
other log — any author's on a development network, an outsider's in a federation
(whom 0008 §7.1 already holds to 8 entries) — may hold at most `max_log_entries`
entries here, and all of them together at most `max_other_entries`. An entry past
either is refused with `rule.quota-exceeded`: the log stops growing on this node (a
log has no holes, so later entries of it are refused too), nothing stored is lost,
and the peer that sent it is not charged (a rule of ours). Pure: the ledger's heads
are read, nothing is written.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from protocol.entry import Entry
from protocol.errors import CommonsError, RuleViolationError

DEFAULT_MAX_LOG_ENTRIES = 100_000
DEFAULT_MAX_OTHER_ENTRIES = 1_000_000


@dataclass
class LogQuota:
    """An admission policy (ledger.log.AdmissionPolicy) for logs kept without reason."""

    sizes: Callable[[], dict[tuple[bytes, bytes], int]]  # every held log's size
    keeps: Callable[[bytes], bool]  # authors with a reason to be kept
    max_log_entries: int = DEFAULT_MAX_LOG_ENTRIES
    max_other_entries: int = DEFAULT_MAX_OTHER_ENTRIES
    _others: int | None = None  # entries held of other logs, recounted now and then
    _calls: int = 0

    def __call__(self, entry: Entry) -> CommonsError | None:
        if self.keeps(entry.author):
            return None
        if entry.seq > self.max_log_entries:
            return RuleViolationError(
                "rule.quota-exceeded",
                f"this node keeps at most {self.max_log_entries} entries of a log it has"
                " no reason to keep",
            )
        if self._others is None or self._calls % 1024 == 0:
            held = self.sizes()
            self._others = sum(n for (_, a), n in held.items() if not self.keeps(a))
        self._calls += 1
        if self._others >= self.max_other_entries:
            return RuleViolationError(
                "rule.quota-exceeded",
                f"this node keeps at most {self.max_other_entries} entries of logs it has"
                " no reason to keep",
            )
        self._others += 1  # counted when admitted; the next recount corrects it
        return None
