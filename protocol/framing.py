"""Length-prefixed frames for stream protocols (specs/0005-sync.md §2).

A frame is a 4-byte big-endian length followed by that many bytes of one
canonical msgpack value. `FrameDecoder` is sans-IO: feed it whatever bytes the
transport delivered (`receive_data`), take out complete frames (`next_frame`).
The declared length is checked against the limit before any byte of the frame
is buffered, so a peer cannot make us allocate beyond `max_frame_bytes` plus what
the driver feeds in one read, provided the driver drains `next_frame` after each
`receive_data` (the node's drivers do).
"""

from __future__ import annotations

from typing import Any

from protocol import canonical
from protocol.errors import LocalMisuseError, RemoteFaultError

HEADER_BYTES = 4


def encode_frame(value: Any, *, max_frame_bytes: int) -> bytes:
    """One frame holding the canonical encoding of `value`."""
    body = canonical.encode(value)
    if len(body) > max_frame_bytes:
        raise LocalMisuseError(
            "misuse.frame-too-large", f"frame of {len(body)} bytes, limit {max_frame_bytes}"
        )
    return len(body).to_bytes(HEADER_BYTES, "big") + body


class FrameDecoder:
    """Splits a byte stream into frames; raises RemoteFaultError on a bad length."""

    def __init__(self, *, max_frame_bytes: int, max_bin_bytes: int, max_array_len: int) -> None:
        self.max_frame_bytes = max_frame_bytes
        self.max_bin_bytes = max_bin_bytes
        self.max_array_len = max_array_len
        self._buffer = bytearray()
        self._need: int | None = None

    @property
    def buffered_bytes(self) -> int:
        return len(self._buffer)

    def receive_data(self, data: bytes) -> None:
        self._buffer += data
        self._check_header()

    def next_frame(self) -> Any | None:
        """The next complete frame's decoded value, or None if more bytes are needed."""
        self._check_header()
        if self._need is None or len(self._buffer) < HEADER_BYTES + self._need:
            return None
        end = HEADER_BYTES + self._need
        body = bytes(self._buffer[HEADER_BYTES:end])
        del self._buffer[:end]
        self._need = None  # the next header is checked on the next call, not now:
        # a bad header after a good frame must not lose the good frame
        return canonical.decode(
            body,
            max_bytes=self.max_frame_bytes,
            max_bin_bytes=self.max_bin_bytes,
            max_array_len=self.max_array_len,
        )

    def _check_header(self) -> None:
        if self._need is not None or len(self._buffer) < HEADER_BYTES:
            return
        length = int.from_bytes(self._buffer[:HEADER_BYTES], "big")
        if length == 0 or length > self.max_frame_bytes:
            raise RemoteFaultError(
                "remote.bad-frame", f"frame of {length} bytes, limit {self.max_frame_bytes}"
            )
        self._need = length
