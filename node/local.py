"""The node's ledger on its home folder, for commands run without a daemon.

`open_local(home)` takes the home's writer lock (one writer, ever), opens the
SQLite store and a `Ledger` on it. Appends to our own log go through
`append_own`, which refuses to sign if the signing guard finds the home restored
from a backup (node.signguard), signs a fresh checkpoint with the entries, and
raises the guard's mark once they are durable.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from ledger.log import Ledger
from node.home import Identity, NodeHome
from node.signguard import SignGuard
from node.storage import SqliteLogStore
from protocol import kinds
from protocol.entry import Entry


@dataclass
class LocalNode:
    home: NodeHome
    identity: Identity
    network_name: str
    network: bytes
    store: SqliteLogStore
    ledger: Ledger
    guard: SignGuard

    def append_own(self, items: Sequence[tuple[str, dict[str, Any]]]) -> list[Entry]:
        """Sign entries into our own log (creating it with its inception first)."""
        head = self.ledger.head(self.network, self.identity.id)
        self.guard.check(self.network, 0 if head is None else head.size)
        key = self.home.signing_key()
        todo = list(items)
        if head is None:
            inception = {
                "signing_key": self.identity.signing_public,
                "recovery_key": self.identity.recovery_public,
            }
            todo.insert(0, (kinds.INCEPTION, inception))
        made = self.ledger.append(key, self.network, self.identity.id, todo, now_ms())
        self.ledger.sign_checkpoint(key, self.network, self.identity.id)
        self.guard.record(self.network, made[-1].seq)
        return made[len(todo) - len(items) :]


@contextlib.contextmanager
def open_local(home: NodeHome) -> Iterator[LocalNode]:
    identity = home.identity()
    name, network = home.network()
    with home.writer_lock(), SqliteLogStore(home.database) as store:
        yield LocalNode(home, identity, name, network, store, Ledger(store), SignGuard(identity.id))


def now_ms() -> int:
    return time.time_ns() // 1_000_000
