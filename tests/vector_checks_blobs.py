"""Checks the blobs/fetch and blobs/serve vectors (specs/0009 §3.2, §3.3, §5).

blobs/fetch runs a real BlobFetch whose handed-out bytes go to a real partial of a
BlobStore in a temporary folder (the store makes the hash check of §5), as the
node's driver does; blobs/serve runs a real BlobServe answering from the blobs of
the case, as the node's driver answers from its store. `expect.at` is the 1-based
position of the frame (fetch) or read (serve) that gave the error.
"""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path
from typing import Any

from ledger.pinning import PinnedFile, pin_set, pinners
from node.store.blobs import BlobStore, PartialBlob
from protocol import blob_route as route
from protocol.blob import BlobFetch, BlobServe, ChunkReceived, Finished, Want, decode_message
from protocol.canonical import decode
from protocol.errors import CommonsError
from protocol.ids import id_from_text, id_to_text
from tests.vector_support import Checker, failure, same

SOURCE = "the-server"  # the peer whose bytes the partial holds (0009 §6)


def check_fetch(data: dict[str, Any], expect: dict[str, Any]) -> None:
    blob = id_from_text(data["blob"])
    held = bytes.fromhex(data["held_hex"])
    with tempfile.TemporaryDirectory() as folder:
        store = BlobStore(Path(folder), max_blob_bytes=data["max_blob_bytes"])
        if held:
            with store.open_partial(blob, source=SOURCE) as partial:
                partial.append(0, held)
        with store.open_partial(blob, source=SOURCE) as partial:
            assert partial.offset == len(held)
            got = _fetch(data, blob, partial)
    assert same(got, expect), got


def _fetch(data: dict[str, Any], blob: bytes, partial: PartialBlob) -> dict[str, Any]:
    fetch = BlobFetch(blob, data["max_blob_bytes"], partial.offset, chunk_bytes=data["chunk_bytes"])
    wants: list[list[dict[str, int]]] = []  # before the first frame, then after each
    events: list[dict[str, Any]] = []

    def send() -> None:
        wants.append([])
        while (frame := fetch.send_next()) is not None:
            w = decode_message(decode(frame[4:]))
            assert isinstance(w, Want) and w.blob == blob
            wants[-1].append({"offset": w.offset, "length": w.length})

    send()
    for at, frame_hex in enumerate(data["frames_hex"], start=1):
        try:
            fetch.receive_data(bytes.fromhex(frame_hex))
            while (event := fetch.next_event()) is not None:
                if isinstance(event, ChunkReceived):
                    partial.append(event.offset, event.data)
                    length = len(event.data)
                    events.append({"event": "chunk", "offset": event.offset, "length": length})
                elif isinstance(event, Finished):
                    partial.finish()  # verify.blob-hash-mismatch unless the bytes are the blob
                    events.append({"event": "finished", "size": event.size})
                else:
                    events.append({"event": "missing"})
            send()
        except CommonsError as e:
            return failure(e, at=at, **e.details)
    return {"ok": True, "wants": wants, "events": events}


def check_serve(data: dict[str, Any], expect: dict[str, Any]) -> None:
    blobs = {hashlib.sha256(b).digest(): b for b in map(bytes.fromhex, data["blobs_hex"])}
    serve = BlobServe()
    sent: list[str] = []
    got: dict[str, Any] = {"ok": True, "answers_hex": sent}
    for at, read_hex in enumerate(data["reads_hex"], start=1):
        try:
            serve.receive_data(bytes.fromhex(read_hex))
            while (want := serve.next_request()) is not None:
                held = blobs.get(want.blob)
                if held is None:
                    sent.append(serve.respond_none(want.blob).hex())
                    continue
                start, end = serve.chunk_range(want.blob, len(held))
                frame = serve.respond_chunk(want.blob, start, len(held), held[start:end])
                sent.append(frame.hex())
        except CommonsError as e:
            got = failure(e, at=at, **e.details)
            break
    assert same(got, expect), got


BLOB_CHECKERS: dict[tuple[str, str], Checker] = {
    ("blobs", "fetch"): check_fetch,
    ("blobs", "serve"): check_serve,
}


def check_route(data: dict[str, Any], expect: dict[str, Any]) -> None:
    """blobs/route (0009 §12): decode the frame's value; an answer is then judged
    against the request it answers; a valid message encodes back to the same value."""
    value = decode(bytes.fromhex(data["frame_hex"]), max_bytes=route.MAX_ROUTE_FRAME_BYTES)
    request_hex = data["request_hex"]
    try:
        message = route.decode_message(value)
        if request_hex:
            request = route.decode_message(decode(bytes.fromhex(request_hex)))
            assert isinstance(request, route.Have | route.Get | route.Prove)
            route.judge_answer(request, message)
    except CommonsError as e:
        assert same(failure(e, **e.details), expect), e
        return
    assert route.encode_message(message) == value
    fields = {
        k: [id_to_text(b) for b in v] if isinstance(v, tuple) else v.hex()
        if k in ("nonce", "digest") else id_to_text(v) if isinstance(v, bytes) else v
        for k, v in vars(message).items()
    }  # fmt: skip
    t = {route.Have: "have", route.Held: "held", route.Get: "get", route.Ready: "ready",
         route.Prove: "prove", route.Proof: "proof"}  # fmt: skip
    assert same({"ok": True, "t": t[type(message)], **fields}, expect)


BLOB_CHECKERS[("blobs", "route")] = check_route


def check_proof(data: dict[str, Any], expect: dict[str, Any]) -> None:
    """blobs/proof (0009 §12.4): a real store's range, as the node's server reads it,
    hashed by protocol.blob_route.proof_digest."""
    blob_bytes, nonce = bytes.fromhex(data["blob_hex"]), bytes.fromhex(data["nonce_hex"])
    with tempfile.TemporaryDirectory() as folder:
        store = BlobStore(Path(folder))
        blob, size = store.add_bytes(blob_bytes)
        chunk = store.read_chunk(blob, min(data["offset"], size), data["length"])
    digest = route.proof_digest(blob, nonce, chunk)
    assert same({"ok": True, "blob": id_to_text(blob), "digest": digest.hex()}, expect)


BLOB_CHECKERS[("blobs", "proof")] = check_proof


def check_pinning(data: dict[str, Any], expect: dict[str, Any]) -> None:
    """blobs/pinning (0009 §13): who pins each blob, and what each member pins."""
    members = [id_from_text(m) for m in data["members"]]
    files = {
        id_from_text(f["blob"]): PinnedFile(f["size"], frozenset(map(id_from_text, f["authors"])))
        for f in data["files"]
    }
    replicas, quota = data["pin_replicas"], data["pin_quota_bytes"]
    got = {
        "ok": True,
        "pinners": [
            {"blob": id_to_text(b), "members": [id_to_text(m) for m in
                                                pinners(b, members, replicas, f.authors)]}
            for b, f in sorted(files.items())
        ],
        "pin_sets": [
            {"member": id_to_text(m),
             "pins": [id_to_text(b) for b in pin_set(m, files, members, replicas, quota)]}
            for m in sorted(members)
        ],
    }  # fmt: skip
    assert same(got, expect)


BLOB_CHECKERS[("blobs", "pinning")] = check_pinning
