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
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ledger.log import Ledger
from ledger.store import MemoryLogStore
from protocol.entry import decode_entry
from protocol.sync import (
    ROLE_PEER,
    Closed,
    Done,
    Event,
    Forks,
    Get,
    Head,
    Heads,
    Hello,
    NeedData,
    Range,
    RangeRequest,
    RemoteError,
    SyncConnection,
    SyncFilter,
    build_heads_frames,
    build_range_frames,
    plan_requests,
)
from protocol.sync_limits import MAX_RANGE_REQUEST, RANGE_FRAME_TARGET_BYTES
from tests.factory import NETWORK, Author, seeded_key

Chunker = Callable[[bytes], Iterator[bytes]]


def whole(data: bytes) -> Iterator[bytes]:
    if data:
        yield data


def _none(end: int) -> list[bytes]:
    return []


@dataclass
class Peer:
    name: str
    ledger: Ledger
    filter: SyncFilter = field(default_factory=SyncFilter)
    role: str = ROLE_PEER
    target_bytes: int = RANGE_FRAME_TARGET_BYTES
    max_range: int = MAX_RANGE_REQUEST
    now_ms: int = 0
    conn: SyncConnection = field(init=False)
    outbox: bytearray = field(default_factory=bytearray)
    events: list[Event] = field(default_factory=list)
    remote_heads: list[Head] = field(default_factory=list)
    plan: deque[RangeRequest] = field(default_factory=deque)
    planned: bool = False
    frames_ingested: int = 0
    frames_skipped: int = 0

    def __post_init__(self) -> None:
        self.conn = SyncConnection(NETWORK, now_ms=self.now_ms)

    def send(self, message: Hello | Heads | Get | Range | Forks | Done) -> None:
        self.outbox += self.conn.send(message, now_ms=self.now_ms)

    def start(self) -> None:
        self.send(Hello(NETWORK, self.filter, self.role))

    # -- what we hold ------------------------------------------------------------------
    def local_sizes(self) -> dict[bytes, int]:
        return {h.author: h.size for h in self.ledger.heads() if h.network == NETWORK}

    def servable_heads(self, wanted: SyncFilter) -> list[Head]:
        """Logs with a checkpoint that the peer's filter admits (kinds: whole logs)."""
        heads = []
        for head in self.ledger.heads():
            stored = self.ledger.store.checkpoints(NETWORK, head.author)
            if stored and wanted.admits_author(head.author) and self._has_kind(head.author, wanted):
                heads.append(Head(head.author, stored[-1].size, stored[-1].note))
        return heads

    def _has_kind(self, author: bytes, wanted: SyncFilter) -> bool:
        if wanted.kinds is None:
            return True
        raws = self.ledger.store.read_entries(NETWORK, author, 1, 1 << 62)
        return any(decode_entry(raw).kind in wanted.kinds for raw in raws)

    # -- events ----------------------------------------------------------------------------
    def handle(self, event: Event) -> None:
        self.events.append(event)
        if isinstance(event, Hello):
            heads = [] if self.role != ROLE_PEER else self.servable_heads(event.filter)
            for frame in build_heads_frames(heads):
                self.send(frame)
            proofs = tuple(p.raw for p in self.ledger.store.fork_proofs())
            if proofs:
                self.send(Forks(proofs))
        elif isinstance(event, Heads):
            self.remote_heads += event.heads
            if not event.more:
                self.plan.extend(
                    plan_requests(self.local_sizes(), self.remote_heads, max_range=self.max_range)
                )
                self.planned = True
        elif isinstance(event, Get):
            self.serve(event)
        elif isinstance(event, Range):
            self.ingest(event)
        elif isinstance(event, Forks):
            for raw in event.proofs:
                self.ledger.add_fork_proof(raw)
        self.pump()

    def pump(self) -> None:
        while self.plan and self.conn.can_request:
            author, from_seq, to_seq = self.plan.popleft()
            self.send(Get(self.conn.next_request_id, author, from_seq, to_seq))
        if self.planned and not self.plan and self.conn.our_state.value == "EXCHANGE":
            self.send(Done())

    def serve(self, get: Get) -> None:
        stored = self.ledger.store.checkpoints(NETWORK, get.author)
        stop = min(get.to_seq, stored[-1].size + 1) if stored else get.from_seq
        if not stored or get.from_seq >= stop:
            for frame in build_range_frames(
                get.id, get.author, get.from_seq, [], b"", _none, _none
            ):
                self.send(frame)
            return
        n = stored[-1].size
        raws = self.ledger.store.read_entries(NETWORK, get.author, get.from_seq, stop)
        tree = self.ledger.tree(NETWORK, get.author)
        events = self.ledger.key_history(NETWORK, get.author).events
        frames = build_range_frames(
            get.id,
            get.author,
            get.from_seq,
            raws,
            stored[-1].note,
            lambda end: tree.consistency_proof(end, n),
            lambda end: [e.raw for e in events if end < e.seq <= n],
            target_bytes=self.target_bytes,
        )
        for frame in frames:
            self.send(frame)

    def ingest(self, r: Range) -> None:
        head = self.ledger.head(NETWORK, r.author)
        if not r.entries or r.start_seq != (head.size if head else 0) + 1:
            self.frames_skipped += 1
            return
        self.ledger.ingest_range(NETWORK, r.author, r.entries, r.checkpoint, r.proof, r.key_events)
        self.frames_ingested += 1


def drain(peer: Peer) -> None:
    while True:
        event = peer.conn.next_event()
        if isinstance(event, NeedData | Closed | RemoteError):
            if not isinstance(event, NeedData):
                peer.events.append(event)
            return
        peer.handle(event)


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
