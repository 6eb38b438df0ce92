"""The blob exchange `/fabcommons/blob/1` as two sans-IO machines (specs/0009-blobs.md).

A client asks one server for one blob, in chunks, on one stream. Frames are those of
protocol/framing.py; each holds one message, a canonical map (0009 §3):

    want   {"blob": bin32, "length": uint, "offset": uint, "t": "want"}
    chunk  {"blob": bin32, "data": bin, "offset": uint, "size": uint, "t": "chunk"}
    none   {"blob": bin32, "t": "none"}
    error  {"code": str, "message": str, "t": "error"}

`BlobFetch` (client) says which `want` to send next (`send_next`), takes whatever bytes
arrived (`receive_data`) and turns them into events (`next_event`), making the checks
of 0009 §3.3 in their order. `BlobServe` (server) turns bytes into `Want` requests
(`next_request`, the checks of §3.2), says which bytes of a held blob answer one
(`chunk_range`) and turns the caller's answers into frames (`respond_chunk`,
`respond_none`, `respond_error`). Neither does I/O or keeps time.

Guarantees: a peer's bytes yield events or a RemoteFaultError, never another exception
(a server's `error` message is `remote.refused`, its code kept as `peer_code`);
a chunk's declared size is checked against the caller's limit before its data is
handed out; handed-out data are exactly the requested, contiguous bytes of one blob,
so appending them in order rebuilds a prefix of what the server claims the blob is.
Left to others: whether the bytes hash to the id (the store checks that at the end,
0009 §5), timeouts, node-wide limits (streams per peer, §8.4), and choosing another peer.
"""

from __future__ import annotations

import enum
from collections import deque
from dataclasses import dataclass
from typing import Any, Final

from protocol.errors import DecodeError, LocalMisuseError, RemoteFaultError
from protocol.framing import FrameDecoder, encode_frame
from protocol.ids import ID_BYTES, id_to_text

PROTOCOL_ID: Final = "/fabcommons/blob/1"
#: Most bytes one `want` may ask for, and so the most `data` one `chunk` carries.
MAX_CHUNK_BYTES: Final = 1024 * 1024
#: Largest frame of this protocol: a full chunk plus room for its fields.
MAX_FRAME_BYTES: Final = MAX_CHUNK_BYTES + 1024
#: Largest frame a server accepts; a `want` is about 75 bytes.
MAX_WANT_FRAME_BYTES: Final = 128
#: Most wants a server holds unanswered; one more and it refuses the conversation.
MAX_INFLIGHT: Final = 8
#: Wants a client keeps in flight once it knows the blob's size.
FETCH_WINDOW: Final = 4
#: Limits of an `error` message's fields, in UTF-8 bytes.
MAX_CODE_BYTES: Final = 64
MAX_ERROR_MESSAGE_BYTES: Final = 1024
#: Size limit of a blob until the network's rules set one (0009 §4).
DEFAULT_MAX_BLOB_BYTES: Final = 1024 * 1024 * 1024

_FIELDS: Final = {
    "want": frozenset({"t", "blob", "offset", "length"}),
    "chunk": frozenset({"t", "blob", "offset", "size", "data"}),
    "none": frozenset({"t", "blob"}),
    "error": frozenset({"t", "code", "message"}),
}


# -- messages (0009 §3) ------------------------------------------------------------


@dataclass(frozen=True)
class Want:
    """A request for bytes [offset, offset + length) of a blob; also the server's event."""

    blob: bytes
    offset: int
    length: int


@dataclass(frozen=True)
class Chunk:
    blob: bytes
    offset: int
    size: int
    data: bytes


@dataclass(frozen=True)
class NotHeld:
    """The `none` message: the server does not hold the blob."""

    blob: bytes


@dataclass(frozen=True)
class ErrorMessage:
    code: str
    message: str


Message = Want | Chunk | NotHeld | ErrorMessage
_TYPE_NAMES: Final = {Want: "want", Chunk: "chunk", NotHeld: "none", ErrorMessage: "error"}


def encode_message(message: Message) -> bytes:
    """One frame holding `message` (LocalMisuseError if it breaks a limit)."""
    value = {"t": _TYPE_NAMES[type(message)], **vars(message)}
    try:
        _checked(value)
    except RemoteFaultError as e:
        raise LocalMisuseError("misuse.bad-argument", f"not a valid message: {e.message}") from e
    if isinstance(message, Chunk) and len(message.data) > MAX_CHUNK_BYTES:
        # the client's frame decoder refuses a longer byte string (MAX_CHUNK_BYTES)
        raise LocalMisuseError(
            "misuse.bad-argument", f"chunk of {len(message.data)} bytes, limit {MAX_CHUNK_BYTES}"
        )
    return encode_frame(value, max_frame_bytes=MAX_FRAME_BYTES)


def decode_message(value: Any) -> Message:
    """The message a decoded frame holds; RemoteFaultError("remote.bad-message") if none."""
    if type(value) is not dict:
        raise _bad("a message is a map")
    _checked(value)
    kind = value["t"]
    if kind == "want":
        return Want(value["blob"], value["offset"], value["length"])
    if kind == "chunk":
        return Chunk(value["blob"], value["offset"], value["size"], value["data"])
    if kind == "none":
        return NotHeld(value["blob"])
    return ErrorMessage(value["code"], value["message"])


def _checked(value: dict[str, Any]) -> None:
    """Check a message map's fields and their types; raise bad-message if one is wrong."""
    kind = value.get("t")
    fields = _FIELDS.get(kind) if isinstance(kind, str) else None
    if fields is None:
        raise _bad(f"unknown message type {kind!r}")
    if value.keys() != fields:
        raise _bad(f"{kind} has fields {sorted(value)}, want {sorted(fields)}")
    for name in ("offset", "length", "size"):
        if name in value and (type(value[name]) is not int or value[name] < 0):
            raise _bad(f"{name} must be an unsigned integer")
    if "blob" in value and (type(value["blob"]) is not bytes or len(value["blob"]) != ID_BYTES):
        raise _bad(f"blob must be {ID_BYTES} bytes")
    if "data" in value and type(value["data"]) is not bytes:
        raise _bad("data must be bytes")
    if kind == "error":
        _check_text(value["code"], "code", MAX_CODE_BYTES)
        _check_text(value["message"], "message", MAX_ERROR_MESSAGE_BYTES)


def _check_text(text: Any, name: str, limit: int) -> None:
    if type(text) is str:
        try:
            if len(text.encode()) <= limit:
                return
        except UnicodeEncodeError:  # a lone surrogate: only our own text can hold one
            pass
    raise _bad(f"{name} must be UTF-8 text of at most {limit} bytes")


def _bad(why: str) -> RemoteFaultError:
    return RemoteFaultError("remote.bad-message", why)


# -- client events -----------------------------------------------------------------


@dataclass(frozen=True)
class ChunkReceived:
    """Bytes [offset, offset + len(data)) of the blob, next in order."""

    offset: int
    data: bytes


@dataclass(frozen=True)
class Missing:
    """The server does not hold the blob. Terminal."""


@dataclass(frozen=True)
class Finished:
    """Every byte up to `size` has been received. Terminal; the hash is not checked yet."""

    size: int


FetchEvent = ChunkReceived | Missing | Finished


class State(enum.Enum):
    RUNNING = "running"
    DONE = "done"  # a terminal event was returned; later input is ignored
    BROKEN = "broken"  # a RemoteFaultError was raised; the machine refuses further use


class BlobFetch:
    """Client side of one blob conversation.

    Wants are sent in order and answered in order (0009 §3), so the oldest unanswered
    want says exactly which chunk may come next. Until the first chunk tells the size,
    one want is in flight; afterwards up to `window`. Each asks for `chunk_bytes`
    (the last for what is left of the blob).
    """

    def __init__(
        self,
        blob_id: bytes,
        max_blob_bytes: int,
        resume_offset: int = 0,
        *,
        window: int = FETCH_WINDOW,
        chunk_bytes: int = MAX_CHUNK_BYTES,
    ) -> None:
        if type(blob_id) is not bytes or len(blob_id) != ID_BYTES:
            raise LocalMisuseError("misuse.bad-argument", f"a blob id is {ID_BYTES} bytes")
        if not 0 <= resume_offset <= max_blob_bytes:
            raise LocalMisuseError(
                "misuse.bad-argument", f"resume offset {resume_offset}, limit {max_blob_bytes}"
            )
        if not 1 <= window <= MAX_INFLIGHT:
            raise LocalMisuseError("misuse.bad-argument", f"window {window}, 1..{MAX_INFLIGHT}")
        if not 1 <= chunk_bytes <= MAX_CHUNK_BYTES:
            raise LocalMisuseError(
                "misuse.bad-argument", f"chunk of {chunk_bytes} bytes, 1..{MAX_CHUNK_BYTES}"
            )
        self.blob_id = blob_id
        self.max_blob_bytes = max_blob_bytes
        self.window = window
        self.chunk_bytes = chunk_bytes
        self.state = State.RUNNING
        self.size: int | None = None
        #: Everything before this offset has been handed out (or was held at the start).
        self.received_offset = resume_offset
        self._request_offset = resume_offset
        self._wanted: deque[Want] = deque()
        self._pending: deque[FetchEvent] = deque()
        self._decoder = FrameDecoder(
            max_frame_bytes=MAX_FRAME_BYTES, max_bin_bytes=MAX_CHUNK_BYTES, max_array_len=0
        )

    def send_next(self) -> bytes | None:
        """The next `want` frame to send, or None while the window is full or all is asked."""
        if self.state is not State.RUNNING:
            return None
        if self.size is None:
            if self._wanted:
                return None
            length = self.chunk_bytes
        elif len(self._wanted) >= self.window or self._request_offset >= self.size:
            return None
        else:
            length = min(self.chunk_bytes, self.size - self._request_offset)
        want = Want(self.blob_id, self._request_offset, length)
        self._wanted.append(want)
        self._request_offset += length
        return encode_message(want)

    def receive_data(self, data: bytes) -> None:
        """Bytes from the server; RemoteFaultError("remote.bad-frame") on a bad length."""
        if self.state is State.DONE:
            return
        self._require_usable()
        try:
            self._decoder.receive_data(data)
        except RemoteFaultError:
            self.state = State.BROKEN
            raise

    def next_event(self) -> FetchEvent | None:
        """The next event, or None when more bytes are needed (or the conversation is over)."""
        if self._pending:
            return self._pending.popleft()
        if self.state is State.DONE:
            return None
        self._require_usable()
        try:
            return self._next_message_event()
        except RemoteFaultError:
            self.state = State.BROKEN
            raise

    def _require_usable(self) -> None:
        if self.state is State.BROKEN:
            raise LocalMisuseError("misuse.machine-broken", "the server broke this conversation")

    def _next_message_event(self) -> FetchEvent | None:
        try:
            value = self._decoder.next_frame()
        except DecodeError as e:
            raise RemoteFaultError("remote.bad-message", f"undecodable frame: {e.code}") from e
        if value is None:
            return None
        message = decode_message(value)
        if isinstance(message, ErrorMessage):
            # the peer's message is shown, never trusted as ours
            raise RemoteFaultError(
                "remote.refused",
                f"the server refused: {message.code}: {message.message[:200]}",
                peer_code=message.code,
            )
        if isinstance(message, Want):
            raise RemoteFaultError("remote.bad-message", "a server does not send wants")
        if message.blob != self.blob_id or not self._wanted:
            raise RemoteFaultError(
                "remote.unexpected-chunk", f"unasked-for answer about {id_to_text(message.blob)}"
            )
        if isinstance(message, NotHeld):
            self.state = State.DONE
            return Missing()
        return self._accept_chunk(message)

    def _accept_chunk(self, chunk: Chunk) -> FetchEvent | None:
        want = self._wanted[0]
        if chunk.offset != want.offset:
            raise RemoteFaultError(
                "remote.unexpected-chunk", f"got offset {chunk.offset}, want {want.offset}"
            )
        if chunk.size > self.max_blob_bytes:
            raise RemoteFaultError(
                "remote.blob-too-large", f"declared size {chunk.size}, limit {self.max_blob_bytes}"
            )
        if self.size is not None and chunk.size != self.size:
            raise RemoteFaultError(
                "remote.size-changed", f"got size {chunk.size}, earlier {self.size}"
            )
        if chunk.offset > chunk.size:
            raise RemoteFaultError(
                "remote.unexpected-chunk", f"offset {chunk.offset} past size {chunk.size}"
            )
        expected = min(want.length, chunk.size - chunk.offset)
        if len(chunk.data) > expected:
            raise RemoteFaultError(
                "remote.overlong-chunk", f"got {len(chunk.data)} bytes, want {expected}"
            )
        if len(chunk.data) < expected:
            raise RemoteFaultError(
                "remote.short-chunk", f"got {len(chunk.data)} bytes, want {expected}"
            )
        self._wanted.popleft()
        self.size = chunk.size
        self.received_offset += len(chunk.data)
        if self.received_offset == chunk.size:
            self.state = State.DONE
            self._pending.append(Finished(chunk.size))
        if chunk.data:
            return ChunkReceived(chunk.offset, chunk.data)
        return self._pending.popleft()  # an empty chunk only ever ends the blob


class BlobServe:
    """Server side of one blob conversation.

    Every complete frame is parsed as soon as it arrives, so the count of unanswered
    wants is exact: an honest client never exceeds MAX_INFLIGHT, and a server never
    holds more than that many, whatever the client sends. After a RemoteFaultError the
    driver sends `respond_error(e.code, e.message)` and closes the stream.
    """

    def __init__(self) -> None:
        self.closed = False
        self._received: deque[Want] = deque()  # parsed, not yet handed to the driver
        self._answering: deque[Want] = deque()  # handed to the driver, not yet answered
        self._decoder = FrameDecoder(
            max_frame_bytes=MAX_WANT_FRAME_BYTES, max_bin_bytes=ID_BYTES, max_array_len=0
        )

    @property
    def unanswered(self) -> int:
        return len(self._received) + len(self._answering)

    def receive_data(self, data: bytes) -> None:
        """Bytes from the client; raises RemoteFaultError when it breaks the protocol."""
        if self.closed:
            raise LocalMisuseError("misuse.machine-broken", "the conversation is closed")
        self._decoder.receive_data(data)
        while True:
            try:
                value = self._decoder.next_frame()
            except DecodeError as e:
                raise RemoteFaultError("remote.bad-message", f"undecodable frame: {e.code}") from e
            if value is None:
                return
            message = decode_message(value)
            if not isinstance(message, Want):
                raise RemoteFaultError("remote.bad-message", "a client sends only wants")
            if message.length > MAX_CHUNK_BYTES:
                raise RemoteFaultError(
                    "remote.want-too-large", f"length {message.length}, limit {MAX_CHUNK_BYTES}"
                )
            if self.unanswered >= MAX_INFLIGHT:
                raise RemoteFaultError(
                    "remote.too-many-wants", f"more than {MAX_INFLIGHT} unanswered"
                )
            self._received.append(message)

    def next_request(self) -> Want | None:
        """The next want to answer, in arrival order; None until more bytes arrive."""
        if self.closed or not self._received:
            return None
        want = self._received.popleft()
        self._answering.append(want)
        return want

    def chunk_range(self, blob: bytes, size: int) -> tuple[int, int]:
        """The bytes [start, end) of a held blob of `size` bytes that answer the oldest
        handed-out want (0009 §3.2); RemoteFaultError("remote.bad-range") when its
        offset is past the end (then the driver sends `respond_error` and closes)."""
        want = self._oldest(blob)
        if want.offset > size:
            raise RemoteFaultError(
                "remote.bad-range", f"offset {want.offset} is past the end ({size} bytes)"
            )
        return want.offset, want.offset + min(want.length, size - want.offset)

    def respond_chunk(self, blob: bytes, offset: int, size: int, data: bytes) -> bytes:
        """The `chunk` frame answering the oldest handed-out want."""
        want = self._oldest(blob)
        expected = min(want.length, size - offset)
        if offset != want.offset or offset > size or len(data) != expected:
            raise LocalMisuseError(
                "misuse.bad-argument",
                f"chunk [{offset}, +{len(data)}) of {size} does not answer "
                f"want [{want.offset}, +{want.length})",
            )
        self._answering.popleft()
        return encode_message(Chunk(blob, offset, size, data))

    def respond_none(self, blob: bytes) -> bytes:
        """The `none` frame answering the oldest handed-out want."""
        self._oldest(blob)
        self._answering.popleft()
        return encode_message(NotHeld(blob))

    def respond_error(self, code: str, message: str) -> bytes:
        """The `error` frame that ends the conversation; the driver closes after sending it."""
        self.closed = True
        text = message.encode(errors="replace")[:MAX_ERROR_MESSAGE_BYTES].decode(errors="ignore")
        return encode_message(ErrorMessage(code, text))

    def _oldest(self, blob: bytes) -> Want:
        if self.closed or not self._answering or self._answering[0].blob != blob:
            raise LocalMisuseError("misuse.bad-argument", "no such want to answer")
        return self._answering[0]
