"""Checks the sync/conversation vectors against a real SyncConnection (specs/0005).

`expect.at` is the 1-based position of the refused frame in `input.frames_hex`.
`input.sends` (optional) are our own frames, each sent after the peer frame `after`.
"""

from __future__ import annotations

from typing import Any

from protocol import canonical
from protocol.errors import RemoteFaultError
from protocol.sync import Hello, NeedData, SyncConnection
from protocol.sync_messages import parse_message
from tests.vector_support import Checker, same


def check_conversation(data: dict[str, Any], expect: dict[str, Any]) -> None:
    network = bytes.fromhex(data["network_hex"])
    conn = SyncConnection(network, now_ms=0)
    conn.send(Hello(network), now_ms=0)
    sends = data.get("sends", [])
    seen: list[str] = []
    for at, frame_hex in enumerate(data["frames_hex"], start=1):
        try:
            conn.receive_data(bytes.fromhex(frame_hex), now_ms=1)
            while not isinstance(event := conn.next_event(), NeedData):
                seen.append(type(event).__name__)
            for ours in (s for s in sends if s["after"] == at):
                _send_frame(conn, bytes.fromhex(ours["frame_hex"]))
        except RemoteFaultError as e:
            assert not expect["ok"], f"frame {at}: {e.code}"
            assert (e.code, at) == (expect["error"], expect["at"])
            return
    assert expect["ok"], f"no error; events {seen}"
    assert same(seen, expect["events"])


def _send_frame(conn: SyncConnection, data: bytes) -> None:
    """Send the message a frame holds; the bytes sent must be that frame."""
    message = parse_message(canonical.decode(data[4:]))
    assert conn.send(message, now_ms=1) == data


SYNC_CHECKERS: dict[tuple[str, str], Checker] = {("sync", "conversation"): check_conversation}
