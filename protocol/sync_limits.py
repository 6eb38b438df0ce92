"""Limits of the sync protocol `/fabcommons/sync/1` (specs/0005-sync.md §5).

Every list a peer can send is bounded per frame and every count per session, so a
peer cannot make a node allocate or loop without bound. Checked while reading
each message (protocol.sync_messages) and each transition (protocol.sync_state).
A network's rules may lower them, never raise them.
"""

from __future__ import annotations

from typing import Final

from protocol.reconcile_wire import MAX_MESSAGE_BYTES

SYNC_PROTOCOL_ID: Final = "/fabcommons/sync/1"
SYNC_VERSION: Final = 1
#: The set reconciliation of heads a hello offers (`reconcile`, specs/0005 §8): 2, items
#: that commit to their note's signature lines (1, items without them, never shipped
#: in a release: a hello offering 1 gets the full exchange).
RECONCILE_VERSION: Final = 2

#: Largest frame body either side may send or accept.
MAX_SYNC_FRAME_BYTES: Final = 5 * 1024 * 1024  # a maximal fork proof (0004) fits
#: Largest frame accepted before the peer's hello: a hello is at most ~150 KB (4,096
#: filter authors, 64 kinds), so a peer cannot make us buffer 5 MiB before it has
#: even named its network (specs/0012 §5, finding 2).
MAX_HELLO_FRAME_BYTES: Final = 256 * 1024
#: A range response is cut into frames of about this many entry bytes: noise+yamux
#: moves 85-160 MB/s with 64 KiB-1 MiB frames but 12 MB/s with 4 KiB ones.
RANGE_FRAME_TARGET_BYTES: Final = 1024 * 1024
MAX_ENTRIES_PER_RANGE_FRAME: Final = 4096
MAX_HEADS_PER_FRAME: Final = 2048
MAX_HEADS_PER_SESSION: Final = 1 << 20
MAX_INFLIGHT_REQUESTS: Final = 4
MAX_REQUESTS_PER_SESSION: Final = 1 << 20
#: Most logs one session plans to fetch (a driver's bound, 0005 §6): the plan holds
#: O(1) per log; logs beyond wait for a later session.
MAX_PLANNED_LOGS: Final = 16_384
#: Most entries one `get` may ask for (to_seq - from_seq).
MAX_RANGE_REQUEST: Final = 10_000
#: A consistency proof between u64 tree sizes is far shorter; this is a loose cap.
MAX_PROOF_HASHES: Final = 128
MAX_KEY_EVENTS_PER_FRAME: Final = 64  # = ledger.keyhistory.MAX_KEY_EVENTS
MAX_NOTE_BYTES: Final = 64 * 1024  # = ledger.checkpoint.MAX_CHECKPOINT_BYTES
MAX_FILTER_AUTHORS: Final = 4096
MAX_FILTER_KINDS: Final = 64
MAX_FORK_PROOFS_PER_FRAME: Final = 64
MAX_FORK_PROOFS_PER_SESSION: Final = 1024
MAX_ERROR_CODE_BYTES: Final = 64
MAX_ERROR_MESSAGE_BYTES: Final = 1024
#: A reconcile message's largest size (0005 §8.3): the wire format's own limit.
MAX_RECONCILE_MESSAGE_BYTES: Final = MAX_MESSAGE_BYTES
#: One side's reconcile messages in a session: far more than any honest
#: reconciliation takes (0005 §8.4), so a peer cannot keep one going forever.
MAX_RECONCILE_MESSAGES_PER_SESSION: Final = 4096
#: No byte from the peer for this long while we wait on it: `remote.timeout`.
IDLE_TIMEOUT_MS: Final = 30_000
#: The frame decoder's per-item caps: the longest array any message allows, and
#: byte strings up to a whole frame (a fork proof can exceed MAX_BIN_BYTES).
DECODER_MAX_ARRAY_LEN: Final = max(
    MAX_ENTRIES_PER_RANGE_FRAME, MAX_HEADS_PER_FRAME, MAX_FILTER_AUTHORS
)
DECODER_MAX_BIN_BYTES: Final = MAX_SYNC_FRAME_BYTES
