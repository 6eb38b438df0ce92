"""The libp2p-free half of the node's host API: settings, records, subscriptions, streams.

node/net/host.py is the only module that imports libp2p; it builds these objects and
re-exports them, so callers import everything from node.p2p. Kept apart so that
the boundary module stays small and everything here is plain trio.

`Stream` is what stream-protocol handlers (sync, blobs) hold: `read_some` and
`write` each take `timeout_s`; `read_frame` / `write_frame` move whole frames of
protocol/framing.py over it. node/net/host.py hands every Stream a transport adaptor
that already turned libp2p's exceptions into `RemoteFaultError` and the end of
the peer's data into `b""`.

Guarantees:
- A read or write that misses its deadline resets the stream (its state is
  unknown once an operation is cut short) and raises
  `RemoteFaultError("remote.timeout")`; so does any other remote fault. A write's
  deadline bounds each WRITE_SLICE_BYTES of it, i.e. how long it may go without
  progress, not the whole: a 1 MiB sync frame on a 256 kbit/s link takes ~33 s and
  must still get through (before, such a link could never finish one frame, reset
  every session and never caught up).
- `read_some` returns `b""` once, and for ever after, when the peer has closed
  its side; it never returns `b""` otherwise.
- `read_frame` returns None only when the peer closed cleanly between frames;
  a close inside a frame is `remote.truncated-frame`. (A frame that holds a
  msgpack nil is therefore not told apart from the end: protocols send maps.)
- `close` and `reset` never raise a remote fault: the conversation is over.
"""

from __future__ import annotations

import collections
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

import trio

from protocol.errors import CommonsError, LocalMisuseError, RemoteFaultError
from protocol.framing import FrameDecoder, encode_frame

logger = logging.getLogger(__name__)

#: Bytes asked of the transport per read while assembling a frame.
READ_CHUNK_BYTES = 256 * 1024
#: Bytes handed to the transport at a time by `write`, each under the write's deadline:
#: the slowest link that still makes progress moves this much per timeout.
WRITE_SLICE_BYTES = 64 * 1024
#: How long a close or reset may take before we stop waiting for it.
CLOSE_TIMEOUT_S = 5.0
#: libp2p's spam window is the last 1.0 s; a little margin.
SPAM_WINDOW_S = 1.05
#: `publish` waits while some peer's outbound queue (32 RPCs in libp2p) holds more.
QUEUE_HIGH_WATER = 16


@dataclass(frozen=True)
class GossipConfig:
    heartbeat_interval_s: int = 1
    degree: int = 6
    degree_low: int = 4
    degree_high: int = 12
    #: libp2p's spam limit, per forwarding peer and topic (our own publishes count
    #: under our id); over it a message is dropped and the forwarder penalised (P5).
    max_messages_per_topic_per_second: int = 200
    #: How fast `publish` lets our own messages out, per topic. Well under the limit:
    #: relays add others' messages, and queues make arrivals burstier than sends.
    publish_per_topic_per_second: int = 50
    seen_ttl_s: int = 120
    subscription_buffer: int = 1024
    #: How long `publish` waits for room in libp2p's outbound queues, then sends anyway.
    publish_backpressure_s: float = 2.0


@dataclass(frozen=True)
class ScoreConfig:
    """Gossip peer scoring. Weights signed as in the gossipsub v1.1 spec (penalties < 0),
    decays per heartbeat (1 s). With the defaults, each rejected message costs 10
    (1 %/s decay): after 2 we stop forwarding to the peer (gossip threshold), at 10
    our fallback bans it, and the publish/graylist gate (libp2p then drops its
    messages unvalidated) sits beyond that, so that rejects go on being counted
    until the ban. P2 credit (max +10) or P5 penalties shift this a little."""

    first_delivery_weight: float = 1.0
    first_delivery_cap: float = 10.0
    first_delivery_decay: float = 0.9
    invalid_message_weight: float = -10.0
    invalid_message_cap: float = 100.0
    invalid_message_decay: float = 0.99
    behaviour_penalty_weight: float = -1.0
    behaviour_penalty_threshold: float = 5.0
    behaviour_penalty_decay: float = 0.9
    gossip_threshold: float = -20.0
    publish_threshold: float = -120.0
    graylist_threshold: float = -120.0
    #: Our fallback: ban a peer when its decaying reject count reaches this (None: never).
    ban_after_rejects: float | None = 10.0
    ban_duration_s: float = 600.0


@dataclass(frozen=True)
class RelayLimits:
    """A member relay's limits (specs/0014 §7.3): per circuit, per peer and in all.
    libp2p enforces the reservations in all, the circuits per reservation and each
    circuit's bytes; node.net.host enforces the rest (and a circuit's duration while
    it is idle, which libp2p checks only when bytes move)."""

    circuit_bytes: int = 64 * 1024 * 1024
    circuit_duration_s: int = 30 * 60
    reservations: int = 32
    reservation_ttl_s: int = 3600
    circuits_per_reservation: int = 8
    circuits_per_peer: int = 4
    circuits: int = 64


@dataclass(frozen=True)
class RelayStatistics:
    """What our relay service and our DCUtR did (specs/0014 §7.3, §7.5)."""

    reservations: list[str]  # peers holding a reservation with us now
    circuits: dict[str, int]  # source peer -> circuits it has open through us
    served: dict[str, int]  # "reservations" granted, "circuits" opened so far
    refused: dict[str, int]  # why -> how many requests were refused
    dcutr_attempts: int
    dcutr_successes: int
    ended: dict[str, int] = field(default_factory=dict)  # why -> circuits that ended
    bytes_relayed: int = 0  # written to either end of our circuits, both ways together


@dataclass(frozen=True)
class HostConfig:
    key_seed: bytes
    listen: list[str] = field(default_factory=lambda: ["/ip4/127.0.0.1/tcp/0"])
    bootstrap: list[str] = field(default_factory=list)
    mdns: bool = False
    gossip: GossipConfig = field(default_factory=GossipConfig)
    scoring: ScoreConfig = field(default_factory=ScoreConfig)
    dial_timeout_s: float = 10.0
    relay: RelayLimits = field(default_factory=RelayLimits)


@dataclass(frozen=True)
class ConnectionInfo:
    """One live connection: to whom, relayed or direct, and the remote "ip:port"."""

    peer: str
    relayed: bool
    remote: str | None


@dataclass(frozen=True)
class Message:
    from_peer: str
    data: bytes
    msg_id: bytes


@dataclass(frozen=True)
class P2PStatistics:
    peer_id: str
    connected_peers: list[str]
    topics: dict[str, tuple[int, int]]  # topic -> (peers subscribed, peers in our mesh)
    peer_scores: dict[str, float]  # connected peers, libp2p's score over our topics
    rejects: dict[str, float]  # our decaying count of rejected messages
    banned_peers: list[str]
    address_bans: dict[str, float]  # IP address -> decaying count of its peers' bans


class Subscription:
    """The messages of one topic that our validator accepted, from other peers, in order."""

    def __init__(
        self,
        topic: str,
        receive: trio.MemoryReceiveChannel[Any],
        convert: Callable[[Any], Message | None],
        unsubscribe: Callable[[], Awaitable[None]],
    ) -> None:
        self.topic = topic
        self._receive = receive
        self._convert = convert  # None for what we should not deliver (our own)
        self._unsubscribe = unsubscribe

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> Message:
        while True:
            try:
                message = self._convert(await self._receive.receive())
            except (trio.EndOfChannel, trio.ClosedResourceError):
                raise StopAsyncIteration from None
            if message is not None:
                return message

    async def unsubscribe(self) -> None:
        """Leave the topic; iteration ends after what is already buffered."""
        await self._unsubscribe()


class PublishPacer:
    """Makes `publish` wait rather than let libp2p drop: libp2p counts our own publishes
    against its spam limit (per topic, last 1.0 s) and drops RPCs for a peer whose
    32-slot outbound queue is full (a publish takes two slots: message + IDONTWANT)."""

    def __init__(self, config: GossipConfig, queue_lengths: Callable[[], Iterable[int]]):
        self._config = config
        self._queue_lengths = queue_lengths
        self._sent: dict[str, collections.deque[float]] = {}

    async def wait(self, topic: str) -> None:
        sent = self._sent.setdefault(topic, collections.deque())
        while True:
            now = trio.current_time()
            while sent and now - sent[0] > SPAM_WINDOW_S:
                sent.popleft()
            if len(sent) < self._config.publish_per_topic_per_second:
                break
            await trio.sleep_until(sent[0] + SPAM_WINDOW_S)
        sent.append(now)
        with trio.move_on_after(self._config.publish_backpressure_s):
            while any(n > QUEUE_HIGH_WATER for n in self._queue_lengths()):
                await trio.sleep(0.001)


class RawStream(Protocol):
    """The transport under a Stream; raises only RemoteFaultError, b"" at the end."""

    async def read(self, max_bytes: int) -> bytes: ...

    async def write(self, data: bytes) -> None: ...

    async def close(self) -> None: ...

    async def reset(self) -> None: ...


class Stream:
    """One bidirectional stream of a stream protocol, opened by us or by `remote_peer`."""

    def __init__(self, raw: RawStream, *, remote_peer: str, protocol: str) -> None:
        self._raw = raw
        self.remote_peer = remote_peer
        self.protocol = protocol
        self._done = False
        self._eof = False

    async def read_some(self, max_bytes: int, timeout_s: float) -> bytes:
        """Up to `max_bytes` bytes (at least one), or b"" once the peer closed its side."""
        if max_bytes < 1:
            raise LocalMisuseError("misuse.bad-argument", f"max_bytes {max_bytes} < 1")
        if self._eof:
            return b""
        self._check_open()
        data: bytes = await self._with_deadline(self._raw.read, max_bytes, timeout_s, "read")
        if not data:
            self._eof = True
        return data

    async def write(self, data: bytes, timeout_s: float) -> None:
        """Send all of `data`, or raise (the stream is then reset). `timeout_s` bounds
        each WRITE_SLICE_BYTES piece: the write fails when it stops making progress."""
        self._check_open()
        for start in range(0, max(len(data), 1), WRITE_SLICE_BYTES):
            piece = data[start : start + WRITE_SLICE_BYTES]
            await self._with_deadline(self._raw.write, piece, timeout_s, "write")

    async def close(self) -> None:
        """Close both directions politely; pending data is still delivered to the peer."""
        await self._finish(self._raw.close)

    async def reset(self) -> None:
        """Abort the stream; the peer's reads and writes fail with remote.stream-reset."""
        await self._finish(self._raw.reset)

    def _check_open(self) -> None:
        if self._done:
            raise LocalMisuseError("misuse.stream-closed", "the stream was closed or reset here")

    async def _with_deadline(
        self, op: Callable[[Any], Awaitable[Any]], arg: Any, timeout_s: float, what: str
    ) -> Any:
        try:
            with trio.fail_after(timeout_s):
                return await op(arg)
        except trio.TooSlowError as e:
            await self.reset()
            raise RemoteFaultError(
                "remote.timeout",
                f"{what} on {self.protocol} with {self.remote_peer} took over {timeout_s} s",
                peer=self.remote_peer,
            ) from e
        except RemoteFaultError:
            await self.reset()
            raise

    async def _finish(self, how: Callable[[], Awaitable[None]]) -> None:
        if self._done:
            return
        self._done = True
        with trio.move_on_after(CLOSE_TIMEOUT_S) as scope:
            scope.shield = True
            try:
                await how()
            except CommonsError as e:
                logger.debug("closing a stream with %s: %s", self.remote_peer, e)


async def serve_stream(stream: Stream, handler: Callable[[Stream], Awaitable[None]]) -> None:
    """Run a stream protocol's `handler` on an inbound stream, then close the stream.

    A CommonsError from the handler resets the stream (logged at info); any other
    exception is logged as a bug and resets it too, so that no peer can take the
    node down through one handler.
    """
    try:
        await handler(stream)
    except CommonsError as e:
        logger.info("%s with %s: %s", stream.protocol, stream.remote_peer, e)
        await stream.reset()
    except Exception:
        logger.exception("%s handler failed with %s", stream.protocol, stream.remote_peer)
        await stream.reset()
    else:
        await stream.close()


async def read_frame(stream: Stream, decoder: FrameDecoder, timeout_s: float) -> Any | None:
    """The next frame's value, within `timeout_s` for the whole frame; None at a clean end.

    The decoder keeps bytes that arrived beyond this frame for the next call, so
    use one decoder per stream. A frame the decoder refuses resets the stream.
    """
    deadline = trio.current_time() + timeout_s
    while True:
        try:
            value = decoder.next_frame()
        except CommonsError:
            await stream.reset()
            raise
        if value is not None:
            return value
        remaining_s = max(deadline - trio.current_time(), 0.0)
        data = await stream.read_some(READ_CHUNK_BYTES, remaining_s)
        if not data:
            break
        try:
            decoder.receive_data(data)
        except CommonsError:
            await stream.reset()
            raise
    if decoder.buffered_bytes:
        raise RemoteFaultError(
            "remote.truncated-frame",
            f"{stream.remote_peer} closed the stream inside a frame "
            f"({decoder.buffered_bytes} bytes buffered)",
            peer=stream.remote_peer,
        )
    return None


async def write_frame(
    stream: Stream, value: Any, *, max_frame_bytes: int, timeout_s: float
) -> None:
    """Encode `value` as one frame and send it within `timeout_s`."""
    await stream.write(encode_frame(value, max_frame_bytes=max_frame_bytes), timeout_s)
