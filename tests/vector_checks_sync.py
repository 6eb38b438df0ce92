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
from protocol.reconcile import Reconciler, fingerprint
from protocol.reconcile_wire import decode_message
from protocol.sync import Heads, Hello, NeedData, SyncConnection
from protocol.sync_items import frozen_item_id, log_item_id
from protocol.sync_messages import parse_message
from tests.vector_support import Checker, failure, same


def check_conversation(data: dict[str, Any], expect: dict[str, Any]) -> None:
    network = bytes.fromhex(data["network_hex"])
    conn = SyncConnection(network, now_ms=0)
    if "our_hello_hex" in data:
        _send_frame(conn, bytes.fromhex(data["our_hello_hex"]))
    else:
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


def check_reconcile(data: dict[str, Any], expect: dict[str, Any]) -> None:
    """sync/reconcile (0005 §8): fingerprints, item ids, whole conversations byte for
    byte, malformed messages by code."""
    if "ids_hex" in data:
        values = [bytes.fromhex(i) for i in data["ids_hex"]]
        assert fingerprint(values).hex() == expect["fingerprint_hex"]
    elif "author_hex" in data:
        author, root = bytes.fromhex(data["author_hex"]), bytes.fromhex(data["root_hex"])
        lines = [line.encode() for line in data["lines"]]
        item = log_item_id(author, data["size"], root, lines)
        assert item.hex() == expect["id_hex"]
    elif "frozen_author_hex" in data:
        assert frozen_item_id(bytes.fromhex(data["frozen_author_hex"])).hex() == expect["id_hex"]
    elif "message_hex" in data:
        try:
            decode_message(bytes.fromhex(data["message_hex"]), **_limit(data))
        except RemoteFaultError as e:
            assert e.code == expect["error"]
            return
        raise AssertionError(f"accepted; want {expect['error']}")
    else:
        _check_reconcile_session(data, expect)


def _limit(data: dict[str, Any]) -> dict[str, int]:
    return {"max_bytes": data["max_bytes"]} if "max_bytes" in data else {}


def _check_reconcile_session(data: dict[str, Any], expect: dict[str, Any]) -> None:
    limit = data["max_message_bytes"]
    sides = [
        Reconciler([(0, bytes.fromhex(i)) for i in data[key]], max_message_bytes=limit)
        for key in ("initiator_ids_hex", "responder_ids_hex")
    ]
    initiator, responder = sides
    have: set[str] = set()
    need: set[str] = set()
    said: list[str] = []
    message: bytes | None = initiator.initiate()
    while message is not None:
        reply = responder.reconcile(message).reply or b""
        said += [message.hex(), reply.hex()]
        step = initiator.reconcile(reply)
        have |= {i.hex() for i in step.have_ids}
        need |= {i.hex() for i in step.need_ids}
        message = step.reply
    assert said == expect["messages_hex"]
    assert (sorted(have), sorted(need)) == (expect["have_hex"], expect["need_hex"])


SYNC_CHECKERS: dict[tuple[str, str], Checker] = {
    ("sync", "conversation"): check_conversation,
    ("sync", "reconcile"): check_reconcile,
    ("sync", "heads"): check_heads,
}
