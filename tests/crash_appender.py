"""A process that appends to one log until it is killed (tests/integration/test_crash_safety.py).

    python -m tests.crash_appender DB_PATH [SEED]

It resumes the log of `Author(AUTHOR_NAME)` from the head stored in DB_PATH, then
forever signs 1-200 new entries, commits them as one batch through SqliteLogStore
and prints the log's new size on its own line, flushed. A printed size is the
promise "durably appended": a crash at any later moment must not lose it.
"""

from __future__ import annotations

import random
import sys
from dataclasses import dataclass

from ledger.store import Batch, stored_entry
from node.store.logs import SqliteLogStore
from protocol import kinds
from protocol.entry import Entry, sign_entry
from protocol.keys import SigningKey
from protocol.logstate import LogHead, verify_next
from tests.factory import Author

AUTHOR_NAME = "crash-appender"
MAX_BATCH = 200


@dataclass
class Appender:
    """Extends one log from its committed head; `head` moves only after a commit."""

    inception: Entry
    signing: SigningKey
    head: LogHead

    @classmethod
    def resume(cls, store: SqliteLogStore) -> Appender:
        author = Author(AUTHOR_NAME)
        heads = {(h.network, h.author): h for h in store.heads()}
        head = heads.get((author.network, author.id), LogHead(author.network, author.id))
        return cls(author.entries[0], author.signing, head)

    def next_entry(self, head: LogHead) -> Entry:
        if head.size == 0:
            return self.inception
        return sign_entry(
            self.signing,
            network=head.network,
            author=head.author,
            seq=head.size + 1,
            prev=head.head_id,
            timestamp_ms=head.last_timestamp_ms + 1000,
            kind=kinds.NOTE,
            body={"text": f"note {head.size + 1}"},
        )

    def append(self, store: SqliteLogStore, count: int) -> int:
        """Commit `count` new entries as one batch; return the log's new size."""
        head = self.head
        entries = []
        for _ in range(count):
            entry = self.next_entry(head)
            head = verify_next(head, entry)
            entries.append(stored_entry(entry))
        store.commit(Batch(heads=[head], entries=entries))
        self.head = head
        return head.size


def main(argv: list[str]) -> None:
    rng = random.Random(int(argv[2]) if len(argv) > 2 else 0)
    with SqliteLogStore(argv[1]) as store:
        appender = Appender.resume(store)
        while True:
            size = appender.append(store, rng.randint(1, MAX_BATCH))
            print(size, flush=True)


if __name__ == "__main__":
    main(sys.argv)
