"""An in-memory sync driver over two real Ledgers (specs/0005-sync.md §6), for tests.

`Peer` does what the node's driver will: hello, heads filtered for the peer, plan
with plan_requests, gets within the in-flight limit, ranges served with
build_range_frames and ingested with Ledger.ingest_range frame by frame, done.
`run_session` wires two peers back to back, aioquic style, moving bytes in chunks
chosen by the caller, until both machines are finished. `authors()` holds the
deterministic logs the tests share (one of 2,500 entries, one with a key rotation).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from ledger.log import Ledger
from ledger.store import Batch, MemoryLogStore, stored_entry
from ledger.syncpeer import SyncPeer
from protocol.logstate import LogHead, verify_next
from protocol.sync import (
    Range,
)
from tests.factory import NETWORK, Author, seeded_key

Chunker = Callable[[bytes], Iterator[bytes]]


def whole(data: bytes) -> Iterator[bytes]:
    if data:
        yield data


class Peer(SyncPeer):
    """The node's SyncPeer on the shared test network, named for messages."""

    def __init__(self, name: str, ledger: Ledger, **options: Any) -> None:
        super().__init__(ledger, NETWORK, **options)
        self.name = name

    def ingest(self, r: Range) -> None:
        before = len(self.rejected)
        super().ingest(r)
        if len(self.rejected) > before:  # tests want the peer's fault to surface
            raise self.rejected[-1]

    def _add_forks(self, proofs: Iterable[bytes]) -> None:
        for raw in proofs:
            self.ledger.add_fork_proof(raw)


def drain(peer: Peer) -> None:
    peer.drain()


def transfer(src: Peer, dst: Peer, chunker: Chunker) -> bool:
    data = bytes(src.outbox)
    src.outbox.clear()
    for chunk in chunker(data):
        dst.conn.receive_data(chunk, now_ms=dst.now_ms)
        drain(dst)
    return bool(data)


def run_session(a: Peer, b: Peer, chunker: Chunker = whole, max_rounds: int = 100_000) -> int:
    """Run until both machines are finished; return the number of rounds."""
    a.start()
    b.start()
    for rounds in range(1, max_rounds):
        moved = transfer(a, b, chunker)
        moved = transfer(b, a, chunker) or moved
        if a.conn.is_finished and b.conn.is_finished and not a.outbox and not b.outbox:
            return rounds
        assert moved, f"stalled: {a.conn.statistics()} {b.conn.statistics()}"
    raise AssertionError("too many rounds")


# -- real logs ---------------------------------------------------------------------------
@functools.cache
def authors() -> dict[str, Author]:
    big = Author("sync-big")
    for i in range(2499):
        big.note(f"entry {i} " + "x" * 400)  # ~600 bytes: 2,500 entries are ~1.5 MB
    rot = Author("sync-rotating")
    for i in range(40):
        rot.note(f"before {i}")
    rot.rotate(seeded_key("sync-rotating/2"))
    for i in range(40):
        rot.note(f"after {i}")
    small = Author("sync-small")
    for i in range(5):
        small.note(f"small {i}")
    designer = Author("sync-designer")
    designer.append("design.publish", {"title": "a clamp"})
    extra = Author("sync-sink-only")
    for i in range(6):
        extra.note(f"extra {i}")
    return {"big": big, "rot": rot, "small": small, "designer": designer, "extra": extra}


def ledger_with(prefixes: dict[str, int | None]) -> Ledger:
    """A ledger holding the first n entries of each named log (None: all, checkpointed)."""
    ledger = Ledger(MemoryLogStore())
    for name, n in prefixes.items():
        author = authors()[name]
        ledger.ingest([e.raw for e in author.entries[:n]])
        if n is None:
            ledger.sign_checkpoint(author.signing, NETWORK, author.id)
    return ledger


def source_and_sink() -> tuple[Ledger, Ledger]:
    source = ledger_with({"big": None, "rot": None, "small": None})
    sink = ledger_with({"big": 100, "rot": 10, "extra": None})
    return source, sink


def assert_same_logs(a: Ledger, b: Ledger, names: list[str]) -> None:
    for name in names:
        author = authors()[name].id
        head_a, head_b = a.head(NETWORK, author), b.head(NETWORK, author)
        assert head_a is not None and head_b is not None, name
        assert head_a.size == head_b.size == len(authors()[name].entries)
        assert a.tree(NETWORK, author).root() == b.tree(NETWORK, author).root()


def chunker_from(sizes: list[int]) -> Any:
    def chunks(data: bytes) -> Iterator[bytes]:
        i = k = 0
        while i < len(data):
            yield data[i : i + sizes[k % len(sizes)]]
            i, k = i + sizes[k % len(sizes)], k + 1

    return chunks


def ledger_holding(*held: Author) -> Ledger:
    """A ledger holding these logs whole with their authors' checkpoints, stored as
    they are (a badly signed entry included: only an author's own node could hold one,
    and it serves it like any other)."""
    store = MemoryLogStore()
    for author in held:
        head = LogHead(NETWORK, author.id)
        for entry in author.entries:
            head = verify_next(head, entry)  # the log rules; no signature is checked
        store.commit(Batch(heads=[head], entries=[stored_entry(e) for e in author.entries]))
    ledger = Ledger(store)
    for author in held:
        ledger.sign_checkpoint(author.signing, NETWORK, author.id)
    return ledger
