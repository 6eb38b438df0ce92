"""The newest capability advert of each lab, kept up to date incrementally
(specs/0011-capabilities.md §1).

`AdvertIndex.refresh(store, network)` reads each log of the network only from where it
last stopped, keeping per log the newest valid `capability.advert` that is not revoked;
when a revocation comes to cover that advert (or a log is found shorter than read, as
after a rebuild) the log is read again from its start. It guarantees the same answer as
reading every log from scratch (tests/ledger/test_adverts.py checks it against that), in
lab id order. Pure: stores are passed in; bodies are checked with protocol.kinds.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ledger.matching import LabAdvert
from ledger.store import LogStore
from protocol import kinds
from protocol.capability import ADVERT, AdvertBody
from protocol.entry import read_stored_entry
from protocol.logstate import LogHead


@dataclass
class _LogScan:
    scanned: int = 0
    newest: LabAdvert | None = None


def _stale(scan: _LogScan, head: LogHead) -> bool:
    revoked = scan.newest is not None and head.is_revoked(scan.newest.seq)
    return revoked or head.size < scan.scanned


@dataclass
class AdvertIndex:
    """Newest advert per log, reading each log only from where it last stopped."""

    logs: dict[tuple[bytes, bytes], _LogScan] = field(default_factory=dict)

    def refresh(self, store: LogStore, network: bytes) -> list[LabAdvert]:
        found = []
        for head in store.heads():
            if head.network != network:
                continue
            scan = self.logs.setdefault((head.network, head.author), _LogScan())
            if _stale(scan, head):
                scan.scanned, scan.newest = 0, None
            for raw in store.read_entries(
                head.network, head.author, scan.scanned + 1, head.size + 1
            ):
                entry = read_stored_entry(raw)
                if entry.kind != ADVERT or head.is_revoked(entry.seq):
                    continue
                body = kinds.check_body(entry.kind, entry.body).model
                if isinstance(body, AdvertBody):
                    scan.newest = LabAdvert(entry.author, entry.seq, entry.id, body)
            scan.scanned = head.size
            if scan.newest is not None:
                found.append(scan.newest)
        return sorted(found, key=lambda a: a.lab)
