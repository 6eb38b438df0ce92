"""Pure helpers a sync driver uses around SyncConnection (specs/0005-sync.md §6).

  plan_requests        what to fetch, given our log sizes and the peer's heads;
  build_heads_frames   our heads, cut into frames by count and bytes;
  build_range_frames   a served range, cut into ~1 MiB frames, each with its own
                       consistency proof and later key events, so each frame is
                       verifiable alone by Ledger.ingest_range.

They decide nothing about trust: the ledger verifies what arrives. Ranges are
half-open, [from_seq, to_seq), over 1-based sequence numbers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import NamedTuple

from protocol.errors import LocalMisuseError
from protocol.sync_limits import (
    MAX_ENTRIES_PER_RANGE_FRAME,
    MAX_HEADS_PER_FRAME,
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


class RangeRequest(NamedTuple):
    """Entries [from_seq, to_seq) of `author`'s log: what a Get asks for."""

    author: bytes
    from_seq: int
    to_seq: int


def plan_requests(
    local_heads: Mapping[bytes, int],
    remote_heads: Iterable[Head],
    *,
    max_range: int = MAX_RANGE_REQUEST,
) -> list[RangeRequest]:
    """For each remote log longer than ours, the ranges from our size + 1 to its size,
    at most `max_range` entries each; by author, then by seq (the order to send them,
    since answers come back in request order and must be ingested in log order)."""
    if not 1 <= max_range <= MAX_RANGE_REQUEST:
        raise LocalMisuseError(
            "misuse.bad-argument", f"max_range must be in [1, {MAX_RANGE_REQUEST}]"
        )
    plan: list[RangeRequest] = []
    for head in sorted(remote_heads, key=lambda h: h.author):
        have = local_heads.get(head.author, 0)
        for start in range(have + 1, head.size + 1, max_range):
            plan.append(RangeRequest(head.author, start, min(start + max_range, head.size + 1)))
    return plan


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
