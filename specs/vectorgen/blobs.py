"""blobs/fetch and blobs/serve: the blob transfer conversation of 0009 §3.

blobs/fetch: a fetcher of one blob (its id, its size limit, the bytes it already holds
from this server, its chunk length) receives the server's frames one by one. Expected:
the wants it sent and the events it handed out, or the error of the first check of
0009 §3.3 that fails (C1-C12, then the hash of §5) with the 1-based position of the
frame (`at`). blobs/serve: a server holding some blobs receives a client's bytes read
by read and answers after each read; expected: every frame it sent, or the error of
the first check of 0009 §3.2 that fails (S1-S6, then `remote.bad-range`) with the read
(`at`). Frames are built here from plain maps with our canonical encoder and, for the
mutations, changed by hand, so each case says which bytes are wrong; the honest
conversations come from a small model of 0009 §3 rules 2 and 3 (`honest_fetch`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

from protocol import canonical
from protocol.ids import id_to_text
from specs.vectorgen.common import Case, error, ok

FETCH = ("blobs", "fetch")
SERVE = ("blobs", "serve")
MAX_CHUNK_BYTES = 1024 * 1024  # 0009 §2
MAX_WANT_FRAME_BYTES = 128
MAX_FRAME_BYTES = MAX_CHUNK_BYTES + 1024
MAX_INFLIGHT = 8
FETCH_WINDOW = 4

DATA = b"fab commons, blob"  # 17 bytes
OTHER = b"another blob"
CHUNK = 5  # the chunk length of most fetch cases: DATA is 4 chunks, the last 2 bytes


def blob_id(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


ID = blob_id(DATA)
OTHER_ID = blob_id(OTHER)


def frame(value: Any) -> bytes:
    body = canonical.encode(value)
    return len(body).to_bytes(4, "big") + body


def want(offset: int, length: int, blob: bytes = ID) -> dict[str, Any]:
    return {"t": "want", "blob": blob, "offset": offset, "length": length}


def chunk(offset: int, size: int, data: bytes, blob: bytes = ID) -> dict[str, Any]:
    return {"t": "chunk", "blob": blob, "offset": offset, "size": size, "data": data}


def none(blob: bytes = ID) -> dict[str, Any]:
    return {"t": "none", "blob": blob}


def err(code: str, message: str = "no") -> dict[str, Any]:
    return {"t": "error", "code": code, "message": message}


def with_key(value: dict[str, Any], key: str, new: Any) -> dict[str, Any]:
    return {**value, key: new}


def without(value: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in value.items() if k != key}


# -- blobs/fetch ---------------------------------------------------------------------


def honest_fetch(
    data: bytes, held: int, chunk_bytes: int, blob: bytes = ID
) -> tuple[list[dict[str, Any]], list[list[dict[str, int]]], list[dict[str, Any]]]:
    """The frames of a server answering as `data` the fetch of `blob` by a fetcher
    holding `held` bytes, the wants the fetcher sends before the first frame and after
    each (0009 §3.3), and the events it hands out."""
    size = len(data)
    frames: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    sent = [[{"offset": held, "length": chunk_bytes}]]
    unanswered = list(sent[0])
    asked = held + chunk_bytes
    received = held
    while received < size or not frames:
        w = unanswered.pop(0)
        part = data[w["offset"] : w["offset"] + min(w["length"], size - w["offset"])]
        frames.append(chunk(w["offset"], size, part, blob))
        received += len(part)
        sent.append([])
        if part:
            events.append({"event": "chunk", "offset": w["offset"], "length": len(part)})
        if received == size:
            events.append({"event": "finished", "size": size})
            break
        while len(unanswered) < FETCH_WINDOW and asked < size:
            w = {"offset": asked, "length": min(chunk_bytes, size - asked)}
            sent[-1].append(w)
            unanswered.append(w)
            asked += w["length"]
    return frames, sent, events


def fetch_case(
    name: str,
    description: str,
    frames: list[Any],
    expect: dict[str, Any],
    *,
    blob: bytes = ID,
    held: bytes = b"",
    chunk_bytes: int = CHUNK,
    max_blob_bytes: int = 1024,
) -> Case:
    data = {
        "blob": id_to_text(blob),
        "max_blob_bytes": max_blob_bytes,
        "chunk_bytes": chunk_bytes,
        "held_hex": held.hex(),
        "frames_hex": [(f if isinstance(f, bytes) else frame(f)).hex() for f in frames],
    }
    return Case(*FETCH, name, description, data, expect)


def fetched(data: bytes, held: int = 0, chunk_bytes: int = CHUNK) -> dict[str, Any]:
    _, wants, events = honest_fetch(data, held, chunk_bytes, blob_id(data))
    return ok(wants=wants, events=events)


def fetch_happy_cases() -> Iterator[Case]:
    frames, _, _ = honest_fetch(DATA, 0, MAX_CHUNK_BYTES)
    yield fetch_case(
        "one-chunk",
        "The whole blob in one chunk, the fetcher asking for MAX_CHUNK_BYTES.",
        frames,
        fetched(DATA, 0, MAX_CHUNK_BYTES),
        chunk_bytes=MAX_CHUNK_BYTES,
    )
    frames, _, _ = honest_fetch(DATA, 0, CHUNK)
    yield fetch_case(
        "several-chunks",
        "Four chunks of 5 bytes asked for; the last is shorter (2 bytes).",
        frames,
        fetched(DATA),
    )
    big = bytes(range(40))
    frames, _, _ = honest_fetch(big, 0, 4, blob_id(big))
    yield fetch_case(
        "window",
        "A 40-byte blob in chunks of 4: four wants in flight once the size is known.",
        frames,
        fetched(big, 0, 4),
        blob=blob_id(big),
        chunk_bytes=4,
    )
    frames, _, _ = honest_fetch(DATA, 7, CHUNK)
    yield fetch_case(
        "resume",
        "The fetcher holds 7 bytes from this server and asks from offset 7.",
        frames,
        fetched(DATA, 7),
        held=DATA[:7],
    )
    frames, _, _ = honest_fetch(DATA, len(DATA), CHUNK)
    yield fetch_case(
        "resume-at-the-end",
        "The fetcher holds every byte: an empty chunk at offset = size finishes it.",
        frames,
        fetched(DATA, len(DATA)),
        held=DATA,
    )
    frames, _, _ = honest_fetch(b"", 0, CHUNK, blob_id(b""))
    yield fetch_case(
        "empty-blob",
        "The empty blob: one empty chunk of size 0.",
        frames,
        fetched(b""),
        blob=blob_id(b""),
    )
    frames, _, _ = honest_fetch(DATA, 0, CHUNK)
    yield fetch_case(
        "size-at-the-limit",
        "A blob of exactly max_blob_bytes.",
        frames,
        fetched(DATA),
        max_blob_bytes=len(DATA),
    )
    yield fetch_case(
        "not-held",
        "The server does not hold the blob.",
        [none()],
        ok(wants=[[{"offset": 0, "length": CHUNK}], []], events=[{"event": "missing"}]),
    )


def refused(code: str, at: int, peer_code: str) -> dict[str, Any]:
    return error(code, at=at, peer_code=peer_code)


def fetch_refusal_cases() -> Iterator[Case]:
    yield fetch_case(
        "refused-bad-range",
        "The fetcher holds 20 bytes of what the server holds as 17: remote.bad-range.",
        [err("remote.bad-range", "offset 20 past size 17")],
        refused("remote.refused", 1, "remote.bad-range"),
        held=DATA + b"xyz",
    )
    yield fetch_case(
        "refused-too-many-streams",
        "The server refuses the stream before answering any want.",
        [err("remote.too-many-streams")],
        refused("remote.refused", 1, "remote.too-many-streams"),
    )
    first, _, _ = honest_fetch(DATA, 0, CHUNK)
    yield fetch_case(
        "refused-after-a-chunk",
        "An error after the first chunk.",
        [first[0], err("remote.too-many-wants")],
        refused("remote.refused", 2, "remote.too-many-wants"),
    )
    code_64 = "remote." + "x" * 57
    yield fetch_case(
        "error-code-of-64-bytes",
        "An error whose code has 64 bytes, the most allowed.",
        [err(code_64)],
        refused("remote.refused", 1, code_64),
    )
    yield fetch_case(
        "error-code-of-65-bytes",
        "An error whose code has 65 bytes.",
        [err(code_64 + "x")],
        error("remote.bad-message", at=1),
    )
    yield fetch_case(
        "error-message-of-1024-bytes",
        "An error whose message has 1,024 bytes (é is 2), the most allowed.",
        [err("remote.bad-range", "é" * 512)],
        refused("remote.refused", 1, "remote.bad-range"),
    )
    yield fetch_case(
        "error-message-of-1025-bytes",
        "An error whose message has 1,025 bytes.",
        [err("remote.bad-range", "é" * 512 + "x")],
        error("remote.bad-message", at=1),
    )


def fetch_mutation_cases() -> Iterator[Case]:
    honest, _, _ = honest_fetch(DATA, 0, CHUNK)
    c0, c1 = honest[0], honest[1]

    def fails(code: str, at: int) -> dict[str, Any]:
        return error(code, at=at)

    yield fetch_case(
        "zero-length-frame",
        "A frame header of length 0 (C1).",
        [b"\x00\x00\x00\x00"],
        fails("remote.bad-frame", 1),
    )
    yield fetch_case(
        "frame-over-the-limit",
        "A frame header one byte over MAX_FRAME_BYTES; refused on its 4 bytes (C1).",
        [(MAX_FRAME_BYTES + 1).to_bytes(4, "big")],
        fails("remote.bad-frame", 1),
    )
    body = canonical.encode(c0)
    wide = body.replace(b"\xa4size\x11", b"\xa4size\xcc\x11")
    assert wide != body
    yield fetch_case(
        "non-canonical-body",
        "A chunk whose size is a wide integer (C2).",
        [len(wide).to_bytes(4, "big") + wide],
        fails("remote.bad-message", 1),
    )
    yield fetch_case(
        "array-body",
        "A frame holding an array (C2).",
        [frame([1])],
        fails("remote.bad-message", 1),
    )
    yield fetch_case(
        "not-a-map",
        "A frame holding an integer (C3).",
        [frame(7)],
        fails("remote.bad-message", 1),
    )
    yield fetch_case(
        "unknown-type",
        "A message whose t is none of the four (C3).",
        [with_key(c0, "t", "chunks")],
        fails("remote.bad-message", 1),
    )
    yield fetch_case(
        "chunk-without-size",
        "A chunk missing its size (C3).",
        [without(c0, "size")],
        fails("remote.bad-message", 1),
    )
    yield fetch_case(
        "chunk-extra-key",
        "A chunk with a key it does not have (C3).",
        [with_key(c0, "zz", 1)],
        fails("remote.bad-message", 1),
    )
    yield fetch_case(
        "negative-offset",
        "A chunk whose offset is -1 (C3).",
        [with_key(c0, "offset", -1)],
        fails("remote.bad-message", 1),
    )
    yield fetch_case(
        "blob-of-31-bytes",
        "A chunk whose blob has 31 bytes (C3).",
        [with_key(c0, "blob", ID[:31])],
        fails("remote.bad-message", 1),
    )
    yield fetch_case(
        "data-as-text",
        "A chunk whose data is text (C3).",
        [with_key(c0, "data", DATA[:CHUNK].decode())],
        fails("remote.bad-message", 1),
    )
    yield fetch_case(
        "want-from-the-server",
        "The server sends a want (C5).",
        [want(0, 1)],
        fails("remote.bad-message", 1),
    )
    yield fetch_case(
        "chunk-of-another-blob",
        "A well-formed chunk of another blob (C6).",
        [chunk(0, len(OTHER), OTHER[:CHUNK], blob=OTHER_ID)],
        fails("remote.unexpected-chunk", 1),
    )
    yield fetch_case(
        "none-for-another-blob",
        "A none about another blob (C6).",
        [none(OTHER_ID)],
        fails("remote.unexpected-chunk", 1),
    )
    yield fetch_case(
        "chunk-out-of-order",
        "The second chunk answers the third want, not the oldest (C7).",
        [c0, honest[2]],
        fails("remote.unexpected-chunk", 2),
    )
    yield fetch_case(
        "size-over-the-limit",
        "A first chunk declaring one byte over max_blob_bytes (C8).",
        [c0],
        fails("remote.blob-too-large", 1),
        max_blob_bytes=len(DATA) - 1,
    )
    yield fetch_case(
        "size-over-the-limit-later",
        "A later chunk declares a larger size over the limit: C8 comes before C9.",
        [c0, with_key(c1, "size", len(DATA) + 1)],
        fails("remote.blob-too-large", 2),
        max_blob_bytes=len(DATA),
    )
    yield fetch_case(
        "size-changed",
        "The second chunk declares a size one byte smaller (C9).",
        [c0, with_key(c1, "size", len(DATA) - 1)],
        fails("remote.size-changed", 2),
    )
    yield fetch_case(
        "offset-past-size",
        "A fetcher holding 7 bytes gets a chunk at 7 of a 6-byte blob (C10).",
        [chunk(7, 6, b"")],
        fails("remote.unexpected-chunk", 1),
        held=DATA[:7],
    )
    yield fetch_case(
        "overlong-chunk",
        "A chunk one byte longer than the want's length (C11).",
        [chunk(0, len(DATA), DATA[: CHUNK + 1])],
        fails("remote.overlong-chunk", 1),
    )
    yield fetch_case(
        "overlong-last-chunk",
        "The last chunk one byte past the declared size (C11).",
        [*honest[:3], chunk(15, len(DATA), DATA[15:] + b"!")],
        fails("remote.overlong-chunk", 4),
    )
    yield fetch_case(
        "short-chunk",
        "A chunk one byte shorter than asked, before the end (C12).",
        [chunk(0, len(DATA), DATA[: CHUNK - 1])],
        fails("remote.short-chunk", 1),
    )
    yield fetch_case(
        "empty-chunk-before-the-end",
        "An empty chunk at offset 0 of a 17-byte blob (C12).",
        [chunk(0, len(DATA), b"")],
        fails("remote.short-chunk", 1),
    )
    wrong = DATA[:3] + b"X" + DATA[4:]
    frames, _, _ = honest_fetch(wrong, 0, CHUNK)
    yield fetch_case(
        "hash-mismatch",
        "Well-formed chunks whose bytes (one changed) do not hash to the id (0009 §5).",
        frames,
        fails("verify.blob-hash-mismatch", len(frames)),
    )
    frames, _, _ = honest_fetch(DATA, 7, CHUNK)
    yield fetch_case(
        "hash-mismatch-held-bytes",
        "Right bytes after 7 wrong ones this server sent before: the whole is checked.",
        frames,
        fails("verify.blob-hash-mismatch", len(frames)),
        held=b"X" * 7,
    )
    short = DATA[:12]
    frames, _, _ = honest_fetch(short, 0, CHUNK)
    yield fetch_case(
        "size-lie",
        "The server claims 12 bytes and sends the blob's first 12: the hash catches it.",
        frames,
        fails("verify.blob-hash-mismatch", len(frames)),
    )


# -- blobs/serve ---------------------------------------------------------------------


def serve_case(
    name: str,
    description: str,
    reads: list[list[Any] | bytes],
    expect: dict[str, Any],
    *,
    blobs: tuple[bytes, ...] = (DATA,),
) -> Case:
    """`reads`: each read's bytes, or the messages (maps) whose frames it holds."""
    data = {
        "blobs_hex": [b.hex() for b in blobs],
        "reads_hex": [
            (r if isinstance(r, bytes) else b"".join(_framed(m) for m in r)).hex() for r in reads
        ],
    }
    return Case(*SERVE, name, description, data, expect)


def _framed(message: Any) -> bytes:
    return message if isinstance(message, bytes) else frame(message)


def answers(*messages: dict[str, Any]) -> dict[str, Any]:
    return ok(answers_hex=[frame(m).hex() for m in messages])


def answer(w: dict[str, Any], held: bytes = DATA) -> dict[str, Any]:
    """The chunk of rule 2 answering want `w` of a held blob."""
    offset, size = w["offset"], len(held)
    return chunk(offset, size, held[offset : offset + min(w["length"], size - offset)], w["blob"])


def padded_want(body_bytes: int) -> bytes:
    """A want with an extra key `pad`, its body exactly `body_bytes` long."""
    for n in range(body_bytes):
        body = canonical.encode(with_key(want(0, 1), "pad", "x" * n))
        if len(body) == body_bytes:
            return len(body).to_bytes(4, "big") + body
    raise AssertionError(f"no want pads to {body_bytes} bytes")


def serve_happy_cases() -> Iterator[Case]:
    w = want(0, MAX_CHUNK_BYTES)
    yield serve_case(
        "one-want",
        "A want of MAX_CHUNK_BYTES, the most allowed: the whole 17-byte blob.",
        [[w]],
        answers(answer(w)),
    )
    ws = [want(0, 5), want(5, 5), want(10, 5), want(15, 5)]
    yield serve_case(
        "several-wants",
        "Four wants in one read, answered in order; the last chunk is shorter.",
        [ws],
        answers(*map(answer, ws)),
    )
    w = want(7, 100)
    yield serve_case(
        "from-an-offset",
        "A want from offset 7, as a resuming client sends.",
        [[w]],
        answers(answer(w)),
    )
    w = want(len(DATA), 5)
    yield serve_case(
        "offset-at-the-size",
        "A want at offset = size: an empty chunk.",
        [[w]],
        answers(answer(w)),
    )
    w = want(3, 0)
    yield serve_case(
        "zero-length",
        "A want of length 0: an empty chunk at its offset.",
        [[w]],
        answers(answer(w)),
    )
    w = want(0, 5, blob=blob_id(b""))
    yield serve_case(
        "empty-blob",
        "The empty blob: an empty chunk of size 0.",
        [[w]],
        answers(answer(w, b"")),
        blobs=(b"",),
    )
    yield serve_case(
        "not-held",
        "A want for a blob the server does not hold.",
        [[want(0, 5, blob=OTHER_ID)]],
        answers(none(OTHER_ID)),
    )
    ws = [want(0, 5, blob=OTHER_ID), want(0, 5), want(0, 5, blob=OTHER_ID)]
    yield serve_case(
        "held-and-not-held",
        "Wants for a held and a missing blob, answered in the order they came.",
        [ws],
        answers(none(OTHER_ID), answer(ws[1]), none(OTHER_ID)),
    )
    ws = [want(0, 5), want(0, 5, blob=OTHER_ID)]
    yield serve_case(
        "two-blobs",
        "A server holding two blobs answers a want for each.",
        [ws],
        answers(answer(ws[0]), answer(ws[1], OTHER)),
        blobs=(DATA, OTHER),
    )
    split = frame(want(0, 5))
    yield serve_case(
        "frame-across-reads",
        "A want split across two reads: answered after the second.",
        [split[:10], split[10:]],
        answers(answer(want(0, 5))),
    )
    ws = [want(i, 1) for i in range(MAX_INFLIGHT)]
    yield serve_case(
        "eight-wants",
        "MAX_INFLIGHT (8) wants in one read, the most allowed (S6).",
        [ws],
        answers(*map(answer, ws)),
    )
    more = [want(i, 1) for i in range(MAX_INFLIGHT, 2 * MAX_INFLIGHT)]
    yield serve_case(
        "eight-wants-twice",
        "Eight wants, then eight more in the next read: the first were answered (S6).",
        [ws, more],
        answers(*map(answer, ws + more)),
    )


def serve_mutation_cases() -> Iterator[Case]:
    def fails(code: str, at: int) -> dict[str, Any]:
        return error(code, at=at)

    yield serve_case(
        "zero-length-frame",
        "A frame header of length 0 (S1).",
        [b"\x00\x00\x00\x00"],
        fails("remote.bad-frame", 1),
    )
    yield serve_case(
        "frame-of-129-bytes",
        "A want padded with an extra key to a 129-byte body, over MAX_WANT_FRAME_BYTES (S1).",
        [padded_want(MAX_WANT_FRAME_BYTES + 1)],
        fails("remote.bad-frame", 1),
    )
    yield serve_case(
        "frame-of-128-bytes",
        "A want padded with an extra key to a 128-byte body: it passes S1, then fails S3.",
        [padded_want(MAX_WANT_FRAME_BYTES)],
        fails("remote.bad-message", 1),
    )
    body = canonical.encode(want(0, 5))
    wide = body.replace(b"\xa6length\x05", b"\xa6length\xcc\x05")
    assert wide != body
    yield serve_case(
        "non-canonical-body",
        "A want whose length is a wide integer (S2).",
        [len(wide).to_bytes(4, "big") + wide],
        fails("remote.bad-message", 1),
    )
    yield serve_case(
        "blob-of-33-bytes",
        "A want whose blob has 33 bytes (S2).",
        [[with_key(want(0, 5), "blob", ID + b"\x00")]],
        fails("remote.bad-message", 1),
    )
    yield serve_case(
        "want-without-length",
        "A want missing its length (S3).",
        [[without(want(0, 5), "length")]],
        fails("remote.bad-message", 1),
    )
    yield serve_case(
        "want-extra-key",
        "A want with a key it does not have (S3).",
        [[with_key(want(0, 5), "zz", 1)]],
        fails("remote.bad-message", 1),
    )
    yield serve_case(
        "negative-offset",
        "A want whose offset is -1 (S3).",
        [[with_key(want(0, 5), "offset", -1)]],
        fails("remote.bad-message", 1),
    )
    yield serve_case(
        "length-as-boolean",
        "A want whose length is true (S3).",
        [[with_key(want(0, 5), "length", True)]],
        fails("remote.bad-message", 1),
    )
    yield serve_case(
        "chunk-from-the-client",
        "The client sends a chunk (S4).",
        [[chunk(0, len(DATA), DATA[:5])]],
        fails("remote.bad-message", 1),
    )
    yield serve_case(
        "none-from-the-client",
        "The client sends a none, after a want that was answered (S4).",
        [[want(0, 5)], [none()]],
        fails("remote.bad-message", 2),
    )
    yield serve_case(
        "length-over-the-limit",
        "A want of MAX_CHUNK_BYTES + 1 bytes (S5).",
        [[want(0, MAX_CHUNK_BYTES + 1)]],
        fails("remote.want-too-large", 1),
    )
    yield serve_case(
        "nine-wants",
        "Nine wants in one read, one more than MAX_INFLIGHT (S6).",
        [[want(i, 1) for i in range(MAX_INFLIGHT + 1)]],
        fails("remote.too-many-wants", 1),
    )
    yield serve_case(
        "offset-past-the-size",
        "A want from offset 18 of a 17-byte blob (rule 2).",
        [[want(len(DATA) + 1, 5)]],
        fails("remote.bad-range", 1),
    )
    yield serve_case(
        "offset-past-the-size-later",
        "A chunk answered, then a want past the end in the next read (rule 2).",
        [[want(0, 5)], [want(len(DATA) + 1, 5)]],
        fails("remote.bad-range", 2),
    )


def cases() -> Iterator[Case]:
    yield from fetch_happy_cases()
    yield from fetch_refusal_cases()
    yield from fetch_mutation_cases()
    yield from serve_happy_cases()
    yield from serve_mutation_cases()
