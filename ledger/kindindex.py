"""The entries of some kinds in every log of a network, kept up to date incrementally
(specs/0007-jobs.md §5: the entries a job view is derived from).

`KindIndex(wanted).refresh(store, network)` reads each log only from where it last
stopped and keeps the entries whose kind starts with one of `wanted`; revoked ones are
left out of each answer (a revocation can come later, so they are filtered when read,
not when kept); a log found shorter than read (as after a rebuild) is read again from
its start. It guarantees the same answer as reading every log from scratch
(tests/ledger/test_jobs.py checks it against that), in (author, seq) order. Pure: stores
are passed in.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ledger.store import LogStore
from protocol.entry import Entry, read_stored_entry


@dataclass
class KindIndex:
    """Entries of the `wanted` kinds (prefixes, e.g. "job.") per log."""

    wanted: tuple[str, ...]
    logs: dict[tuple[bytes, bytes], tuple[int, list[Entry]]] = field(default_factory=dict)

    def refresh(self, store: LogStore, network: bytes) -> list[Entry]:
        out: list[Entry] = []
        for head in sorted(store.heads(), key=lambda h: h.author):
            if head.network != network:
                continue
            scanned, kept = self.logs.get((head.network, head.author), (0, []))
            if head.size < scanned:
                scanned, kept = 0, []
            for raw in store.read_entries(head.network, head.author, scanned + 1, head.size + 1):
                entry = read_stored_entry(raw)
                if entry.kind.startswith(self.wanted):
                    kept.append(entry)
            self.logs[head.network, head.author] = (head.size, kept)
            out.extend(e for e in kept if not head.is_revoked(e.seq))
        return out
