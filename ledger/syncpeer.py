"""One side of a sync session over a Ledger: what to announce, ask, serve and keep.

`SyncPeer` turns the events of a `protocol.sync.SyncConnection` into ledger work
and answers (specs/0005-sync.md §6): hello → our heads (filtered for the peer)
and fork proofs; heads → a plan of gets within the in-flight limit; get → range
frames proven against our latest checkpoint within what we hold; range → one
`Ledger.ingest_range` per frame; done when the plan is empty. It does no I/O:
`feed(data)` returns the bytes to send, so the node's driver runs it where the
ledger lives (its storage thread) and tests run two of them back to back.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from ledger.checkpoint import decode_signed_checkpoint
from ledger.gossip import check_checkpoint
from ledger.log import Ledger
from ledger.store import StoredCheckpoint
from ledger.syncclaims import ClaimToken, SyncClaims
from ledger.syncitems import Offered, servable_checkpoint
from ledger.syncreconcile import HeadReconciliation
from protocol.entry import Entry, read_stored_entry
from protocol.errors import CommonsError, RemoteFaultError
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
    Reconcile,
    ReconcileReply,
    RemoteError,
    SyncConnection,
    SyncFilter,
    SyncPlan,
    build_heads_frames,
    build_range_frames,
)
from protocol.sync_limits import (
    MAX_ENTRIES_PER_RANGE_FRAME,
    MAX_FORK_PROOFS_PER_FRAME,
    MAX_RANGE_REQUEST,
    RANGE_FRAME_TARGET_BYTES,
    RECONCILE_VERSION,
)

BIN_HEADER_BYTES = 5  # msgpack bin32 header, per entry in a range frame
READ_BATCH_ENTRIES = 64  # entries read from the store at a time while framing an answer
MAX_ENTRIES_PER_FRAME = MAX_ENTRIES_PER_RANGE_FRAME


def _none(end: int) -> list[bytes]:
    return []


@dataclass
class _Answer:
    """A get being answered: its checkpoint (None: one empty frame), the next seq
    to send and the end of what we serve, [next_seq, stop)."""

    get: Get
    checkpoint: StoredCheckpoint | None
    next_seq: int
    stop: int


@dataclass
class SyncPeer:
    ledger: Ledger
    network: bytes
    filter: SyncFilter = field(default_factory=SyncFilter)
    role: str = ROLE_PEER
    target_bytes: int = RANGE_FRAME_TARGET_BYTES
    max_range: int = MAX_RANGE_REQUEST
    now_ms: int = 0
    conn: SyncConnection = field(init=False)
    outbox: bytearray = field(default_factory=bytearray)
    events: list[Event] = field(default_factory=list)
    plan: SyncPlan = field(init=False)
    planned: bool = False
    #: Our gets not yet answered in full, by id (at most MAX_INFLIGHT_REQUESTS).
    asked: dict[int, RangeRequest] = field(default_factory=dict)
    frames_ingested: int = 0
    frames_skipped: int = 0
    entries_ingested: int = 0
    rejected: list[CommonsError] = field(default_factory=list)
    #: Heads of a log we hold as far whose note changed the one we keep (cosignatures
    #: merged, ours cleaned, or a checkpoint of a size we held without one).
    cosigned_heads: int = 0
    #: Whether `events` records every event of the session (tests read it). The node
    #: turns it off: a catch-up would hold every range frame until the session ends.
    keep_events: bool = True
    #: Entries committed by this session, for views to index (their owner clears it).
    committed: list[Entry] = field(default_factory=list)
    #: The peer's gets still to answer, oldest first (built by `produce`).
    serving: deque[_Answer] = field(default_factory=deque)
    #: The authors whose log holds one of some kinds (the node's index: one query);
    #: None: read the logs (fine for tests and the simulator, too slow for a node).
    kinds_index: Callable[[bytes, Sequence[str]], set[bytes]] | None = None
    #: Whether answers wait for `produce` (the node: one frame in memory at a time) or
    #: are built whole into each `feed`'s output (tests, the simulator). Same bytes.
    lazy_answers: bool = False
    #: An author whose log size in the peer's heads we want to know (the node's own,
    #: after a restore from a backup): `watched_size`, None if the peer sent no head.
    watch: bytes | None = None
    watched_size: int | None = None
    #: Whether our hello offers set reconciliation of heads (0005 §8); False behaves as
    #: a node from before it (the full head exchange with every peer).
    reconcile: bool = True
    #: Heads and fork proofs we sent (all we serve, or after a reconciliation only those
    #: the peer lacks).
    heads_sent: int = 0
    forks_sent: int = 0
    #: The node's claims on logs its sessions fetch (None: this session alone): a log
    #: another live session is fetching is left to it (ledger.syncclaims).
    claims: SyncClaims | None = None
    claim_token: ClaimToken = field(default_factory=ClaimToken)
    #: Logs left to another session, (author, size offered), looked at again before
    #: `done`; and how many times a log was left.
    left: list[tuple[bytes, int]] = field(default_factory=list)
    logs_left: int = 0
    _reconcile: HeadReconciliation | None = None

    def __post_init__(self) -> None:
        self.conn = SyncConnection(self.network, now_ms=self.now_ms)
        self.plan = SyncPlan(max_range=self.max_range)

    # -- driving -----------------------------------------------------------------------
    def send(
        self, message: Hello | Heads | Reconcile | ReconcileReply | Get | Range | Forks | Done
    ) -> None:
        self.outbox += self.conn.send(message, now_ms=self.now_ms)

    def start(self) -> None:
        """Queue our hello; take it with `take_outbox`."""
        offered = RECONCILE_VERSION if self.reconcile else 0
        self.send(Hello(self.network, self.filter, self.role, reconcile=offered))

    def feed(self, data: bytes, now_ms: int) -> bytes:
        """Bytes from the peer in (b"" = it closed), bytes to send out."""
        self.now_ms = now_ms
        self.conn.receive_data(data, now_ms=now_ms)
        self.drain()
        return self.take_outbox()

    def take_outbox(self) -> bytes:
        data = bytes(self.outbox)
        self.outbox.clear()
        return data

    def drain(self) -> None:
        """Handle every event the bytes received so far make; unless `lazy_answers`,
        build the answers too."""
        while True:
            event = self.conn.next_event()
            if isinstance(event, NeedData | Closed | RemoteError):
                if not isinstance(event, NeedData) and self.keep_events:
                    self.events.append(event)
                break
            self.handle(event)
        while self.serving and not self.lazy_answers:
            self._next_frame(self.serving[0])

    # -- what we hold --------------------------------------------------------------------
    def local_sizes(self) -> dict[bytes, int]:
        return {h.author: h.size for h in self.ledger.heads() if h.network == self.network}

    def servable(self, author: bytes) -> StoredCheckpoint | None:
        """Our latest checkpoint of a log that lies within what we hold of it."""
        return servable_checkpoint(self.ledger, self.network, author)

    def servable_heads(self, wanted: SyncFilter) -> list[Head]:
        """Our head of every log we serve that `wanted` admits (the ledger's cached
        items, ledger.syncitems: the logs' items are their servable heads)."""
        having = None if wanted.kinds is None else self._authors_with(wanted.kinds)
        return [
            head
            for head in self.ledger.sync_items(self.network).offered().values()
            if isinstance(head, Head)
            and wanted.admits_author(head.author)
            and (having is None or head.author in having)
        ]

    def _authors_with(self, kinds: Sequence[str]) -> set[bytes]:
        """Authors whose log holds an entry of one of `kinds` (specs/0005 §7)."""
        if self.kinds_index is not None:
            return self.kinds_index(self.network, kinds)
        return {
            head.author
            for head in self.ledger.heads()
            if head.network == self.network
            and any(
                read_stored_entry(raw).kind in kinds
                for raw in self.ledger.store.read_entries(self.network, head.author, 1, 1 << 62)
            )
        }

    # -- events ------------------------------------------------------------------------
    def handle(self, event: Event) -> None:
        if self.keep_events:
            self.events.append(event)
        if isinstance(event, Hello):
            if self.conn.reconciling:
                items = self.ledger.sync_items(self.network)
                watched = None if self.watch is None else items.head_item(self.watch)
                self._reconcile = HeadReconciliation(items.offered(), items.index(), watched)
                self.send(Reconcile(self._reconcile.initiate()))
            else:
                self._announce([] if self.role != ROLE_PEER else self.servable_heads(event.filter))
        elif isinstance(event, Reconcile):
            assert self._reconcile is not None  # the machine allows it only once reconciling
            self.send(ReconcileReply(self._reconcile.answer(event.message, event.ranges)))
        elif isinstance(event, ReconcileReply):
            self._reconciled(event)
        elif isinstance(event, Heads):
            self._take_heads(event.heads)
            self.planned = not event.more
        elif isinstance(event, Get):
            self.serve(event)
        elif isinstance(event, Range):
            self.ingest(event)
        elif isinstance(event, Forks):
            self._add_forks(event.proofs)
        self.pump()

    def _announce(self, heads: list[Head], proofs: list[bytes] | None = None) -> None:
        """Our heads, then fork proofs: those given, or every one we hold (0005 §6 step 2)."""
        for frame in build_heads_frames(heads):
            self.send(frame)
        self.heads_sent += len(heads)
        if proofs is None:
            proofs = [p.raw for p in self.ledger.store.fork_proofs()]
        for start in range(0, len(proofs), MAX_FORK_PROOFS_PER_FRAME):
            self.send(Forks(tuple(proofs[start : start + MAX_FORK_PROOFS_PER_FRAME])))
        self.forks_sent += len(proofs)

    def _reconciled(self, reply: ReconcileReply) -> None:
        """The peer's answer to our reconcile: ask on, or send what it lacks (0005 §8.5).
        A watched log we agree on shows its size, as its head would have."""
        assert self._reconcile is not None
        message = self._reconcile.step(reply.message, reply.ranges)
        if message is not None:
            self.send(Reconcile(message))
            return
        if self.watch is not None:
            agreed = self._reconcile.agreed_size()
            self.watched_size = agreed if agreed is not None else self.watched_size
        self._announce(*self._reconcile.lacking())
        self._reconcile.forget_offers()

    def servable_items(self) -> Mapping[bytes, Offered]:
        """Our reconciliation items (0005 §8.2): logs by head, frozen authors by proofs
        (the ledger's cache: read them, do not change them)."""
        return self.ledger.sync_items(self.network).offered()

    def pump(self) -> None:
        """Send the plan's gets while the in-flight limit allows; `done` once the plan
        is empty and, our answers in, no log left to another session can be taken
        back (its claim ended meanwhile)."""
        while True:
            while self.planned and self.conn.can_request:
                if not self._claim_next():
                    continue
                request = self.plan.next_request()
                if request is None:
                    break
                request_id = self.conn.next_request_id
                self.send(Get(request_id, *request))
                self.asked[request_id] = request
            if not (self.planned and not self.plan and self.conn.our_state.value == "EXCHANGE"):
                return
            if self.left and self.asked:
                return  # look at the logs left to others once our answers are in
            if not self._take_back_left():
                self.send(Done())
                return

    def _claim_next(self) -> bool:
        """Claim the log the next get asks for; if another live session fetches it,
        leave it (looked at again before `done`) and say False."""
        upcoming = self.plan.next_log()
        if upcoming is None or self.claims is None:
            return True
        if self.claims.claim(self.claim_token, self.network, upcoming[0], self.now_ms):
            return True
        author, _, size = upcoming
        self.plan.leave_next_log()
        self.left.append((author, size))
        self.logs_left += 1
        return False

    def _take_back_left(self) -> bool:
        """Plan again the logs left to sessions whose claim has ended, still short of
        the size their peer offered us; True if any was."""
        if self.claims is None or not self.left:
            return False
        still: list[tuple[bytes, int]] = []
        for author, size in self.left:
            head = self.ledger.head(self.network, author)
            have = head.size if head else 0
            if size <= have:
                continue
            if self.claims.claim(self.claim_token, self.network, author, self.now_ms):
                self.plan.add(author, have, size)
            else:
                still.append((author, size))
        taken = len(still) < len(self.left)
        self.left = still
        return taken and bool(self.plan)

    def serve(self, get: Get) -> None:
        """Queue the answer to a get; `produce` builds it one frame at a time, so a
        peer's gets never hold more than one frame of entries in memory (0005 §6
        step 5; specs/0012 §5, finding 3). The checkpoint is fixed now."""
        checkpoint = self.servable(get.author)
        stop = min(get.to_seq, checkpoint.size + 1) if checkpoint else get.from_seq
        if checkpoint is None or get.from_seq >= stop:
            checkpoint, stop = None, get.from_seq
        self.serving.append(_Answer(get, checkpoint, get.from_seq, stop))

    @property
    def producing(self) -> bool:
        """Whether answers remain to be built (call `produce`)."""
        return bool(self.serving)

    def produce(self) -> bytes:
        """The next frame (or frames, for a short log) of the oldest answer, as bytes."""
        if self.serving:
            self._next_frame(self.serving[0])
        return self.take_outbox()

    def _next_frame(self, answer: _Answer) -> None:
        get, checkpoint = answer.get, answer.checkpoint
        if checkpoint is None:
            for frame in build_range_frames(
                get.id, get.author, get.from_seq, [], b"", _none, _none
            ):
                self.send(frame)
            self.serving.popleft()
            return
        raws = self._read_frame_entries(get.author, answer.next_seq, answer.stop)
        n = checkpoint.size
        tree = self.ledger.tree(self.network, get.author)
        events = self.ledger.key_history(self.network, get.author).events
        last = answer.next_seq + len(raws) >= answer.stop
        for frame in build_range_frames(
            get.id,
            get.author,
            answer.next_seq,
            raws,
            checkpoint.note,
            lambda end: tree.consistency_proof(end, n),
            lambda end: [e.raw for e in events if end < e.seq <= n],
            target_bytes=self.target_bytes,
            last=last,
        ):
            self.send(frame)
        answer.next_seq += len(raws)
        if last:
            self.serving.popleft()

    def _read_frame_entries(self, author: bytes, start: int, stop: int) -> list[bytes]:
        """Entries from `start` up to about one frame's worth (`target_bytes`), read in
        small batches so a log of large entries is never read whole."""
        raws: list[bytes] = []
        size = 0
        while start < stop and size < self.target_bytes and len(raws) < MAX_ENTRIES_PER_FRAME:
            batch = self.ledger.store.read_entries(
                self.network, author, start, min(stop, start + READ_BATCH_ENTRIES)
            )
            if not batch:
                break
            for raw in batch:
                cost = len(raw) + BIN_HEADER_BYTES  # as build_range_frames counts it
                if raws and (size + cost > self.target_bytes or len(raws) >= MAX_ENTRIES_PER_FRAME):
                    return raws
                raws.append(raw)
                size += cost
            start += len(batch)
        return raws

    def ingest(self, r: Range) -> None:
        """One frame: ingested whole, or skipped (already held / bad: recorded). The
        last frame of an answer tells the plan how far the log got."""
        self._ingest_frame(r)
        if not r.more and (request := self.asked.pop(r.id, None)) is not None:
            head = self.ledger.head(self.network, r.author)
            reached = head.size if head else 0
            self.plan.answered(request, reached)
            if self.claims is not None and reached < request.to_seq - 1:
                self.claims.release(self.claim_token, self.network, r.author)  # others may

    def release_claims(self) -> None:
        """End this session's claims (call when it ends, however it ends; from any
        thread: it only marks the session's token)."""
        self.claim_token.ended = True

    def _ingest_frame(self, r: Range) -> None:
        head = self.ledger.head(self.network, r.author)
        if not r.entries or r.start_seq != (head.size if head else 0) + 1:
            self.frames_skipped += 1
            return
        try:
            self.committed += self.ledger.ingest_range(
                self.network, r.author, r.entries, r.checkpoint, r.proof, r.key_events
            )
        except CommonsError as e:  # the peer's fault; nothing of the frame was kept
            self.rejected.append(e)
            self.frames_skipped += 1
            return
        self.frames_ingested += 1
        self.entries_ingested += len(r.entries)
        if self.claims is not None:
            self.claims.progress(self.claim_token, self.network, r.author, self.now_ms)

    def _take_heads(self, heads: Iterable[Head]) -> None:
        """Judge each head before it costs anything (`take_head`); a refused head is
        recorded and the next one judged."""
        for head in heads:
            try:
                self.take_head(head)
            except CommonsError as e:
                self.rejected.append(e)

    def take_head(self, head: Head) -> bool:
        """Judge one head of the peer's (specs/0005 §6 step 3); True if its log joined
        the plan, False if there is nothing to fetch; raise the refusal.

        - a log of an author frozen or forgotten here: nothing.
        - a log we hold at least as far: a checkpoint of the size of one we store,
          with another root, is an equivocation that planning by size would miss;
          `add_checkpoint` keeps it as a fork proof (0004 §4); with the same root, its
          note's cosignature lines we lack are merged into ours (`add_checkpoint`
          keeps those that verify, 0003 §3.3): sync spreads cosignatures that gossip
          lost. Reads no Merkle tree.
        - a log longer than ours: its note must decode, be of this network, carry a
          valid line by the key we hold where we can know it
          (ledger.gossip.check_checkpoint), and name this author and this size, or
          the head is refused; then it joins the plan, which asks for one chunk at a
          time."""
        if self.ledger.is_frozen(self.network, head.author) or self.ledger.is_forgotten(
            self.network, head.author
        ):
            return False
        if head.author == self.watch:
            self.watched_size = head.size
        ours = self.ledger.head(self.network, head.author)
        have = 0 if ours is None else ours.size
        if head.size > have:
            self._check_offered(head)
            return self.plan.add(head.author, have, head.size)
        self._take_held_head(head, have)
        return False

    def _check_offered(self, head: Head) -> None:
        check_checkpoint(head.checkpoint, self.network, self.ledger)
        cp = decode_signed_checkpoint(head.checkpoint).checkpoint
        if cp.author != head.author or cp.size != head.size:
            raise RemoteFaultError(
                "remote.bad-head",
                f"a head of size {head.size} carries a checkpoint of size {cp.size}"
                + ("" if cp.author == head.author else " of another author"),
                field="checkpoint",
            )

    def _take_held_head(self, head: Head, have: int) -> None:
        """A head of a log we hold at least as far (`have`): what its note teaches us."""
        held = self.ledger.store.checkpoints(self.network, head.author)
        if any(c.note == head.checkpoint for c in held):
            return  # the very note we keep (the usual case): nothing to decode
        offered = decode_signed_checkpoint(head.checkpoint)
        cp = offered.checkpoint
        ours = next((c for c in held if c.size == cp.size), None)
        if ours is not None and ours.root != cp.root:
            self.ledger.add_checkpoint(head.checkpoint)  # a fork proof; raises
            return
        if ours is not None and set(offered.signatures) <= set(
            decode_signed_checkpoint(ours.note).signatures
        ):
            return  # nothing we lack (a peer's note in another order, or fewer lines)
        if ours is not None or cp.size <= have:
            # Another note of a checkpoint we keep with lines we lack (we keep those
            # that verify, 0003 §3.3), or one of a size we hold without a checkpoint
            # (our entries came by gossip): add_checkpoint checks its root.
            kept = self.ledger.add_checkpoint(head.checkpoint)
            if ours is None or kept.text != ours.note:
                self.cosigned_heads += 1

    def _add_forks(self, proofs: Iterable[bytes]) -> None:
        for raw in proofs:
            try:
                self.ledger.add_fork_proof(raw)
            except CommonsError as e:
                self.rejected.append(e)
