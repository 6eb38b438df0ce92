"""Pure helpers a sync driver uses around SyncConnection (specs/0005-sync.md §6).

  SyncPlan             what to fetch, given our log sizes and the peer's heads,
                       made lazily, one request at a time;
  build_heads_frames   our heads, cut into frames by count and bytes;
  build_range_frames   a served range, cut into ~1 MiB frames, each with its own
                       consistency proof and later key events, so each frame is
                       verifiable alone by Ledger.ingest_range.

They decide nothing about trust: the ledger verifies what arrives. Ranges are
half-open, [from_seq, to_seq), over 1-based sequence numbers.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, NamedTuple

from protocol.errors import LocalMisuseError
from protocol.sync_limits import (
    MAX_ENTRIES_PER_RANGE_FRAME,
    MAX_HEADS_PER_FRAME,
    MAX_PLANNED_LOGS,
    MAX_RANGE_REQUEST,
    MAX_SYNC_FRAME_BYTES,
    RANGE_FRAME_TARGET_BYTES,
)
from protocol.sync_messages import (
    Head,
    Heads,
    Range,
)

_BIN_HEADER_BYTES = 5  # bin32, the largest bin header
MAX_UINT = (1 << 64) - 1  # a get's to_seq is a uint (0005 §3)


class RangeRequest(NamedTuple):
    """Entries [from_seq, to_seq) of `author`'s log: what a Get asks for."""

    author: bytes
    from_seq: int
    to_seq: int


class SyncPlan:
    """What to fetch from one peer, made lazily, one request at a time (0005 §6).

    `add(author, have, size)` records a log the peer holds longer than ours (we hold
    `have` entries, it offers `size`); `next_request()` gives the next get, from our
    size + 1 up, in chunks of at most `max_range`, logs in the order added (by
    author, as heads arrive); `answered(request, reached)` reports the size our log
    reached once that get's answer ended: an answer that fell short of the request's
    end drops the rest of that log for this session.

    So the work a peer can cause is bounded by what it proves, not by what it claims:
    a head claiming 2^63 entries costs one request per verified chunk, and the plan
    holds O(1) per log (at most `max_logs`, the rest left to a later session), never
    one item per chunk (specs/0012 §5, finding 1)."""

    __slots__ = ("_logs", "lacking", "logs_refused", "max_logs", "max_range")

    def __init__(self, *, max_range: int = MAX_RANGE_REQUEST, max_logs: int = MAX_PLANNED_LOGS):
        if not 1 <= max_range <= MAX_RANGE_REQUEST:
            raise LocalMisuseError(
                "misuse.bad-argument", f"max_range must be in [1, {MAX_RANGE_REQUEST}]"
            )
        self.max_range = max_range
        self.max_logs = max_logs
        self._logs: deque[list[Any]] = deque()  # [author, next from_seq, size]
        #: Entries the plan's logs offer beyond ours, as claimed (for progress reports).
        self.lacking = 0
        #: Logs not added because the plan was full (fetched by a later session).
        self.logs_refused = 0

    def __bool__(self) -> bool:
        return bool(self._logs)

    def add(self, author: bytes, have: int, size: int) -> bool:
        """Plan entries (have, size] of `author`'s log; False if the plan is full."""
        if size <= have:
            return True
        if len(self._logs) >= self.max_logs:
            self.logs_refused += 1
            return False
        self._logs.append([author, have + 1, size])
        self.lacking += size - have
        return True

    def next_log(self) -> tuple[bytes, int, int] | None:
        """The log `next_request` would ask for: (author, from_seq, size), or None."""
        if not self._logs:
            return None
        author, start, size = self._logs[0]
        return author, start, size

    def leave_next_log(self) -> tuple[bytes, int, int] | None:
        """Drop the log `next_request` would ask for (another session fetches it); it."""
        if not self._logs:
            return None
        author, start, size = self._logs.popleft()
        return author, start, size

    def next_request(self) -> RangeRequest | None:
        """The next get to send, or None when the plan is done."""
        if not self._logs:
            return None
        log = self._logs[0]
        author, start, size = log
        stop = min(start + self.max_range, size + 1, MAX_UINT)
        log[1] = stop
        if stop > size or stop >= MAX_UINT:
            self._logs.popleft()
        return RangeRequest(author, start, stop)

    def answered(self, request: RangeRequest, reached: int) -> None:
        """`request`'s answer ended with our log at `reached` entries: if it fell short,
        forget the rest of that log (its later chunks would start past our head)."""
        if reached >= request.to_seq - 1:
            return
        if self._logs and self._logs[0][0] == request.author:
            self._logs.popleft()


def plan_requests(
    local_heads: Mapping[bytes, int],
    remote_heads: Iterable[Head],
    *,
    max_range: int = MAX_RANGE_REQUEST,
) -> list[RangeRequest]:
    """Every request a SyncPlan of these heads gives when every answer is whole: for
    each remote log longer than ours, the ranges from our size + 1 to its size, by
    author then seq. For tests and small plans: a driver uses SyncPlan itself."""
    plan = SyncPlan(max_range=max_range, max_logs=1 << 62)
    for head in sorted(remote_heads, key=lambda h: h.author):
        plan.add(head.author, local_heads.get(head.author, 0), head.size)
    return list(iter(plan.next_request, None))


def build_heads_frames(
    heads: Iterable[Head], *, target_bytes: int = RANGE_FRAME_TARGET_BYTES
) -> list[Heads]:
    """Heads sorted by author, in frames of at most MAX_HEADS_PER_FRAME heads and about
    `target_bytes`; always at least one frame, the last with more=false."""
    ordered = sorted(heads, key=lambda h: h.author)
    frames: list[list[Head]] = [[]]
    size = 0
    for head in ordered:
        cost = len(head.author) + len(head.checkpoint) + 2 * _BIN_HEADER_BYTES + 10
        current = frames[-1]
        if current and (len(current) >= MAX_HEADS_PER_FRAME or size + cost > target_bytes):
            frames.append([])
            size = 0
        frames[-1].append(head)
        size += cost
    last = len(frames) - 1
    return [Heads(tuple(f), more=i < last) for i, f in enumerate(frames)]


def build_range_frames(
    request_id: int,
    author: bytes,
    start_seq: int,
    entries_raws: Sequence[bytes],
    checkpoint_note: bytes,
    proof_for_end: Callable[[int], Sequence[bytes]],
    key_events_after: Callable[[int], Sequence[bytes]],
    *,
    target_bytes: int = RANGE_FRAME_TARGET_BYTES,
    last: bool = True,
) -> list[Range]:
    """Entries [start_seq, start_seq + len(entries_raws)) of one log as range frames.

    `checkpoint_note` is the log's checkpoint at some size N >= the last seq served.
    For a frame ending at seq `end` (a tree of `end` entries), `proof_for_end(end)`
    must give the consistency proof from `end` to N (empty when end == N), and
    `key_events_after(end)` the author's key events with seq in (end, N]. Each frame
    holds at least one entry and about `target_bytes` of entries. With `last`, the
    final frame has more=false (an empty range gives one empty frame); without it,
    every frame has more=true, for a driver that reads a long range in pieces.
    """
    if not 0 < target_bytes <= MAX_SYNC_FRAME_BYTES:
        raise LocalMisuseError("misuse.bad-argument", "target_bytes out of range")
    spans = _spans([len(raw) + _BIN_HEADER_BYTES for raw in entries_raws], target_bytes)
    frames: list[Range] = []
    for i, (begin, stop) in enumerate(spans):
        end = start_seq + stop - 1  # last seq of this frame = tree size after it
        frames.append(
            Range(
                request_id,
                author,
                start_seq + begin,
                tuple(entries_raws[begin:stop]),
                checkpoint_note,
                tuple(proof_for_end(end)),
                tuple(key_events_after(end)),
                more=not last or i < len(spans) - 1,
            )
        )
    if not frames and last:
        frames.append(Range(request_id, author, start_seq, (), b"", (), (), more=False))
    return frames


def _spans(costs: Sequence[int], target_bytes: int) -> list[tuple[int, int]]:
    """Cut [0, len(costs)) into consecutive non-empty spans of at most `target_bytes`
    (a single item may exceed it) and MAX_ENTRIES_PER_RANGE_FRAME items."""
    spans: list[tuple[int, int]] = []
    begin, size = 0, 0
    for i, cost in enumerate(costs):
        full = size + cost > target_bytes or i - begin >= MAX_ENTRIES_PER_RANGE_FRAME
        if i > begin and full:
            spans.append((begin, i))
            begin, size = i, 0
        size += cost
    if begin < len(costs):
        spans.append((begin, len(costs)))
    return spans
