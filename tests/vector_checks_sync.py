"""Checks the sync vectors against a real SyncConnection and SyncPeer (specs/0005).

sync/conversation  `expect.at` is the 1-based position of the refused frame in
                   `input.frames_hex`; `input.sends` (optional) are our own frames,
                   each sent after the peer frame `after`.
sync/heads         a ledger holding `input.held_hex` and a SyncPeer that has received
                   the peer's hello (no filter) gets `input.heads_frame_hex`; each head
                   goes to SyncPeer.take_head: planned (from our size + 1 to its size),
                   held (nothing to fetch) or refused with the error's code.
"""

from __future__ import annotations

from typing import Any

from ledger.log import Ledger
from ledger.store import MemoryLogStore
from ledger.syncpeer import SyncPeer
from protocol import canonical
from protocol.errors import CommonsError, RemoteFaultError
from protocol.ids import id_to_text
from protocol.sync import Heads, Hello, NeedData, SyncConnection
from protocol.sync_messages import parse_message
from tests.vector_support import Checker, failure, same


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


def check_heads(data: dict[str, Any], expect: dict[str, Any]) -> None:
    network = bytes.fromhex(data["network_hex"])
    ledger = Ledger(MemoryLogStore())
    held = [bytes.fromhex(h) for h in data["held_hex"]]
    assert len(ledger.ingest(held).accepted) == len(held)
    peer = SyncPeer(ledger, network)
    peer.start()
    peer.feed(_hello(network), 1)
    peer.conn.receive_data(bytes.fromhex(data["heads_frame_hex"]), now_ms=1)
    heads = peer.conn.next_event()
    assert isinstance(heads, Heads)
    verdicts: list[dict[str, Any]] = []
    for head in heads.heads:
        got: dict[str, Any] = {"author": id_to_text(head.author)}
        have = ledger.head(network, head.author)
        try:
            planned = peer.take_head(head)
        except CommonsError as e:
            got |= {"verdict": "refused", "code": failure(e)["error"]}
        else:
            from_seq = (have.size if have else 0) + 1
            got |= {"verdict": "planned", "from_seq": from_seq, "size": head.size}
            if not planned:
                got = {"author": got["author"], "verdict": "held"}
        verdicts.append(got)
    assert same({"ok": True, "heads": verdicts}, expect)


def _hello(network: bytes) -> bytes:
    """The peer's hello, as the peer's own connection sends it."""
    return SyncConnection(network, now_ms=0).send(Hello(network), now_ms=0)


SYNC_CHECKERS: dict[tuple[str, str], Checker] = {
    ("sync", "conversation"): check_conversation,
    ("sync", "heads"): check_heads,
}
