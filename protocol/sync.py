"""The sync conversation as a sans-IO state machine (specs/0005-sync.md §4).

One `SyncConnection` per side of one `/fabcommons/sync/1` stream; the protocol is
symmetric, so both sides run the same machine. In the shape of h11:

    conn.receive_data(bytes, now_ms=...)   what the stream delivered (b"" at EOF)
    conn.next_event()                      Hello | Heads | Reconcile | ReconcileReply
                                           | Get | Range | Forks | Done
                                           | RemoteError | NeedData | Closed
    conn.send(message, now_ms=...)         one frame of bytes to write
    conn.next_timeout_ms() / conn.handle_timeout(now_ms)   as aioquic's timers

Guarantees: every message from the peer is checked against the transition table
(`TRANSITIONS`), the accounting of both sides' requests and the limits of
protocol.sync_messages before it is returned; a peer that breaks any rule gets a
RemoteFaultError with a stable `remote.*` code, never another exception. Buffered
input never exceeds one frame plus the last chunk fed. Our own messages pass the
same checks, and a message we may not send raises LocalMisuseError (`misuse.*`) and
changes nothing. The machine knows nothing of the ledger: the driver verifies
checkpoints, proofs and entries (Ledger.ingest_range) and decides what to request
(protocol.sync_plan). It reads no clock: time comes in as `now_ms`.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from protocol import framing
from protocol.errors import DecodeError, LocalMisuseError, RemoteFaultError
from protocol.sync_fields import SyncViolationError
from protocol.sync_limits import (
    DECODER_MAX_ARRAY_LEN,
    DECODER_MAX_BIN_BYTES,
    IDLE_TIMEOUT_MS,
    MAX_HELLO_FRAME_BYTES,
    MAX_INFLIGHT_REQUESTS,
    MAX_REQUESTS_PER_SESSION,
    MAX_SYNC_FRAME_BYTES,
)
from protocol.sync_messages import (
    ROLE_PEER,
    ROLE_PULL,
    Done,
    Forks,
    Get,
    Head,
    Heads,
    Hello,
    Message,
    Range,
    Reconcile,
    ReconcileReply,
    SyncError,
    SyncFilter,
    message_to_wire,
    parse_message,
    reconciling,
)
from protocol.sync_plan import (
    RangeRequest,
    SyncPlan,
    build_heads_frames,
    build_range_frames,
    plan_requests,
)
from protocol.sync_state import TRANSITIONS, PendingRequest, Side, SideState

S = SideState
__all__ = [
    "TRANSITIONS",
    "Closed",
    "Done",
    "Event",
    "Forks",
    "Get",
    "Head",
    "Heads",
    "Hello",
    "Message",
    "NeedData",
    "PendingRequest",
    "Range",
    "RangeRequest",
    "Reconcile",
    "ReconcileReply",
    "RemoteError",
    "ROLE_PEER",
    "ROLE_PULL",
    "SideState",
    "SyncConnection",
    "SyncError",
    "SyncFilter",
    "SyncPlan",
    "SyncStatistics",
    "build_heads_frames",
    "build_range_frames",
    "plan_requests",
    "reconciling",
]


@dataclass(frozen=True, slots=True)
class RemoteError:
    """The peer sent an error frame; it will close the stream."""

    code: str
    message: str


@dataclass(frozen=True, slots=True)
class NeedData:
    """No complete frame is buffered: feed more bytes."""


@dataclass(frozen=True, slots=True)
class Closed:
    """The peer closed its side cleanly (EOF where the protocol allows it)."""


Event = (
    Hello
    | Heads
    | Reconcile
    | ReconcileReply
    | Get
    | Range
    | Forks
    | Done
    | RemoteError
    | NeedData
    | Closed
)


@dataclass(frozen=True, slots=True)
class SyncStatistics:
    our_state: SideState
    their_state: SideState
    frames_received: int
    frames_sent: int
    bytes_received: int
    bytes_sent: int
    our_outstanding: int
    their_outstanding: int
    buffered_bytes: int


class SyncConnection:
    """One side of one sync session (specs/0005 §4)."""

    def __init__(
        self, network: bytes, *, now_ms: int, idle_timeout_ms: int = IDLE_TIMEOUT_MS
    ) -> None:
        self.network = network
        self.idle_timeout_ms = idle_timeout_ms
        self._us, self._them = Side(), Side()
        self._decoder = framing.FrameDecoder(
            max_frame_bytes=MAX_HELLO_FRAME_BYTES,  # MAX_SYNC_FRAME_BYTES after its hello
            max_bin_bytes=DECODER_MAX_BIN_BYTES,
            max_array_len=DECODER_MAX_ARRAY_LEN,
        )
        self._inbox = bytearray()  # bytes received, not yet given to the decoder
        self._last_progress_ms = now_ms
        self._eof = False
        self._failed: RemoteFaultError | None = None
        self._frames_in = self._frames_out = self._bytes_in = self._bytes_out = 0

    # -- state ------------------------------------------------------------------------
    @property
    def our_state(self) -> SideState:
        return self._us.state

    @property
    def their_state(self) -> SideState:
        return self._them.state

    @property
    def their_hello(self) -> Hello | None:
        return self._them.hello

    @property
    def reconciling(self) -> bool:
        """Whether both hellos are known and the session reconciles its heads (0005 §8.1)."""
        return self._us.reconciling(self._them)

    @property
    def is_finished(self) -> bool:
        return self._us.state is S.FINISHED

    @property
    def next_request_id(self) -> int:
        return self._us.last_id + 1

    @property
    def can_request(self) -> bool:
        """Whether a get may be sent now (state, peer role and in-flight limit)."""
        them = self._them.hello
        return (
            self._us.state is S.EXCHANGE
            and (them is None or them.role != ROLE_PULL)
            and len(self._us.pending) < MAX_INFLIGHT_REQUESTS
            and self._us.requests < MAX_REQUESTS_PER_SESSION
        )

    @property
    def our_requests(self) -> tuple[PendingRequest, ...]:
        """Our gets the peer has not finished answering, oldest first."""
        return tuple(self._us.pending.values())

    @property
    def their_requests(self) -> tuple[PendingRequest, ...]:
        """The peer's gets we have not finished answering, oldest first."""
        return tuple(self._them.pending.values())

    def statistics(self) -> SyncStatistics:
        return SyncStatistics(
            self._us.state,
            self._them.state,
            self._frames_in,
            self._frames_out,
            self._bytes_in,
            self._bytes_out,
            len(self._us.pending),
            len(self._them.pending),
            self.buffered_bytes,
        )

    @property
    def buffered_bytes(self) -> int:
        """Bytes received and not yet returned as events."""
        return self._decoder.buffered_bytes + len(self._inbox)

    # -- sending ------------------------------------------------------------------------
    def send(self, message: Message, *, now_ms: int) -> bytes:
        """The frame carrying `message`; raises LocalMisuseError and changes nothing
        if we may not send it now."""
        if self._failed is not None and not isinstance(message, SyncError):
            raise LocalMisuseError("misuse.connection-failed", "only an error frame may follow")
        try:
            wire = message_to_wire(message)
            checked = parse_message(wire)
            if isinstance(checked, Hello) and checked.network != self.network:
                raise SyncViolationError("wrong-network", "hello for another network", "network")
            new_state = self._us.check(self._them, checked)
        except SyncViolationError as v:
            raise LocalMisuseError("misuse." + v.reason, v.message, field=v.field) from None
        data = framing.encode_frame(wire, max_frame_bytes=MAX_SYNC_FRAME_BYTES)
        self._us.apply(self._them, checked, new_state)
        self._settle()
        self._frames_out += 1
        self._bytes_out += len(data)
        self._last_progress_ms = max(self._last_progress_ms, now_ms)
        return data

    # -- receiving ----------------------------------------------------------------------
    def receive_data(self, data: bytes, *, now_ms: int) -> None:
        """Bytes the stream delivered; b"" means the peer closed its side.

        Drain `next_event` until NeedData before feeding more: buffering is refused
        (misuse.undrained) beyond one maximal frame."""
        if self._failed is not None:
            raise LocalMisuseError(
                "misuse.connection-failed", "the peer already broke the protocol"
            )
        if not data:
            self._eof = True
            return
        if self._eof:
            raise LocalMisuseError("misuse.data-after-eof", "data fed after EOF")
        if self._them.state is S.ERROR:
            return  # after the peer's error frame, nothing it says matters
        if self.buffered_bytes > framing.HEADER_BYTES + MAX_SYNC_FRAME_BYTES:
            raise LocalMisuseError("misuse.undrained", "call next_event until NeedData first")
        self._bytes_in += len(data)
        self._last_progress_ms = max(self._last_progress_ms, now_ms)
        self._inbox += data

    def _feed_decoder(self) -> None:
        """Hand the buffered bytes to the frame decoder; a bad length it sees is
        raised again, in order, by `next_frame` (so `next_event` reports it)."""
        if self._inbox:
            chunk = bytes(self._inbox)
            self._inbox.clear()
            with contextlib.suppress(RemoteFaultError):
                self._decoder.receive_data(chunk)

    def next_event(self) -> Event:
        """The next event, or raise RemoteFaultError (then the session is over)."""
        if self._failed is not None:
            raise LocalMisuseError(
                "misuse.connection-failed", "the peer already broke the protocol"
            )
        if self._them.state is S.ERROR:
            return Closed() if self._eof else NeedData()
        try:
            return self._next_event()
        except RemoteFaultError as e:
            self._fail(e)
            raise

    def _next_event(self) -> Event:
        self._feed_decoder()
        try:
            value = self._decoder.next_frame()
        except DecodeError as e:
            code = "remote.oversized" if e.code == "decode.limit" else "remote.bad-frame"
            raise RemoteFaultError(code, e.message, decode=e.code) from e
        if value is None:
            return self._at_end_of_buffer()
        self._frames_in += 1
        try:
            message = parse_message(value)
            if isinstance(message, Hello) and message.network != self.network:
                raise SyncViolationError("wrong-network", "hello for another network", "network")
            new_state = self._them.check(self._us, message)
        except SyncViolationError as v:
            raise RemoteFaultError("remote." + v.reason, v.message, field=v.field) from None
        self._them.apply(self._us, message, new_state)
        if isinstance(message, Hello):
            self._decoder.max_frame_bytes = MAX_SYNC_FRAME_BYTES
        self._settle()
        if isinstance(message, SyncError):
            return RemoteError(message.code, message.message)
        return message

    def _at_end_of_buffer(self) -> Event:
        if not self._eof:
            return NeedData()
        if self.buffered_bytes:
            raise RemoteFaultError("remote.closed-early", "stream closed inside a frame")
        owed = self._them.state not in (S.DONE, S.FINISHED) or self._us.pending
        if owed and self._us.state is not S.ERROR:
            raise RemoteFaultError("remote.closed-early", f"closed in {self._them.state.value}")
        return Closed()

    def _settle(self) -> None:
        """State-triggered transition: both done and nothing outstanding."""
        us, them = self._us, self._them
        if us.state is them.state is S.DONE and not us.pending and not them.pending:
            us.state = them.state = S.FINISHED

    def _fail(self, error: RemoteFaultError) -> None:
        self._failed = error
        self._them.state = S.ERROR

    # -- time (aioquic style) ---------------------------------------------------------------
    def _waiting_on_them(self) -> bool:
        """Whether the peer owes us something: its hello or heads, answers to our
        requests, or (while it has none of its own outstanding) gets or done."""
        them = self._them
        if them.state in (S.HELLO, S.HEADS) or self._us.pending or self._us.reconcile_pending:
            return True
        return them.state is S.EXCHANGE and not them.pending

    def next_timeout_ms(self) -> int | None:
        """When handle_timeout must be called, or None while nothing is awaited."""
        if self._failed is not None or self._us.state in (S.FINISHED, S.ERROR):
            return None
        if self._them.state is S.ERROR or not self._waiting_on_them():
            return None
        return self._last_progress_ms + self.idle_timeout_ms

    def handle_timeout(self, now_ms: int) -> None:
        """Raise RemoteFaultError("remote.timeout") if the peer stalled past the deadline."""
        deadline = self.next_timeout_ms()
        if deadline is not None and now_ms >= deadline:
            error = RemoteFaultError(
                "remote.timeout", f"no progress for {now_ms - self._last_progress_ms} ms"
            )
            self._fail(error)
            raise error
