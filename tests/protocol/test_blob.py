"""The blob exchange machines of protocol/blob.py, without any I/O (specs/0009-blobs.md)."""

from __future__ import annotations

import hashlib
import itertools
import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol import canonical
from protocol.blob import (
    FETCH_WINDOW,
    MAX_CHUNK_BYTES,
    MAX_INFLIGHT,
    BlobFetch,
    BlobServe,
    Chunk,
    ChunkReceived,
    ErrorMessage,
    FetchEvent,
    Finished,
    Message,
    Missing,
    NotHeld,
    Want,
    decode_message,
    encode_message,
)
from protocol.errors import LocalMisuseError, RemoteFaultError
from protocol.framing import FrameDecoder

EMPTY_ID = hashlib.sha256(b"").digest()
BLOB = random.Random(9).randbytes(2 * MAX_CHUNK_BYTES + 100)
BLOB_ID = hashlib.sha256(BLOB).digest()
LIMIT = 10 * MAX_CHUNK_BYTES

# specs/0009-blobs.md §3, byte for byte (blob = SHA-256 of the empty string).
SPEC_FRAMES: dict[str, tuple[Message, str]] = {
    "want": (
        Want(EMPTY_ID, 0, MAX_CHUNK_BYTES),
        "0000004384a4626c6f62c420e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b78"
        "52b855a66c656e677468ce00100000a66f666673657400a174a477616e74",
    ),
    "chunk": (
        Chunk(EMPTY_ID, 0, 3, b"abc"),
        "0000004885a4626c6f62c420e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b78"
        "52b855a464617461c403616263a66f666673657400a473697a6503a174a56368756e6b",
    ),
    "none": (
        NotHeld(EMPTY_ID),
        "0000002f82a4626c6f62c420e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b78"
        "52b855a174a46e6f6e65",
    ),
    "error": (
        ErrorMessage("remote.bad-range", "offset 9 past size 3"),
        "0000003c83a4636f6465b072656d6f74652e6261642d72616e6765a76d657373616765b46f66667365"
        "74203920706173742073697a652033a174a56572726f72",
    ),
}


def frames_of(data: bytes) -> list[Any]:
    decoder = FrameDecoder(
        max_frame_bytes=2 * MAX_CHUNK_BYTES, max_bin_bytes=MAX_CHUNK_BYTES, max_array_len=0
    )
    decoder.receive_data(data)
    out = []
    while (value := decoder.next_frame()) is not None:
        out.append(decode_message(value))
    return out


def chunk_frame(offset: int, length: int = MAX_CHUNK_BYTES, *, blob: bytes = BLOB) -> bytes:
    data = blob[offset : offset + length]
    return encode_message(Chunk(hashlib.sha256(blob).digest(), offset, len(blob), data))


def all_events(fetch: BlobFetch, *, send: bool = True) -> list[FetchEvent]:
    """Every event the buffered bytes give, sending wants as a driver would (if `send`)."""
    events = []
    while (event := fetch.next_event()) is not None:
        events.append(event)
        while send and fetch.send_next() is not None:
            pass
    return events


def fault_code(fetch: BlobFetch, data: bytes) -> str:
    with pytest.raises(RemoteFaultError) as err:
        fetch.receive_data(data)
        all_events(fetch)
    return err.value.code


def started(resume_offset: int = 0, limit: int = LIMIT) -> BlobFetch:
    fetch = BlobFetch(BLOB_ID, limit, resume_offset)
    assert fetch.send_next() is not None
    return fetch


@pytest.mark.parametrize("name", sorted(SPEC_FRAMES))
def test_messages_are_the_bytes_of_the_spec(name: str) -> None:
    message, hex_frame = SPEC_FRAMES[name]
    assert encode_message(message).hex() == hex_frame
    assert frames_of(bytes.fromhex(hex_frame)) == [message]


@pytest.mark.parametrize(
    "value",
    [
        {"t": "want", "blob": EMPTY_ID, "offset": 0},
        {"t": "want", "blob": EMPTY_ID, "offset": 0, "length": 1, "x": 1},
        {"t": "want", "blob": EMPTY_ID[:31], "offset": 0, "length": 1},
        {"t": "want", "blob": EMPTY_ID, "offset": -1, "length": 1},
        {"t": "want", "blob": EMPTY_ID, "offset": True, "length": 1},
        {"t": "chunk", "blob": EMPTY_ID, "offset": 0, "size": 1, "data": "a"},
        {"t": "error", "code": "x" * 65, "message": ""},
        {"t": "gimme", "blob": EMPTY_ID},
        [1],
    ],
)
def test_malformed_messages_are_refused(value: Any) -> None:
    with pytest.raises(RemoteFaultError) as err:
        decode_message(value)
    assert err.value.code == "remote.bad-message"


def test_a_whole_blob_in_pipelined_chunks() -> None:
    fetch = BlobFetch(BLOB_ID, LIMIT)
    assert frames_of(fetch.send_next() or b"") == [Want(BLOB_ID, 0, MAX_CHUNK_BYTES)]
    assert fetch.send_next() is None  # one want until the size is known
    fetch.receive_data(chunk_frame(0))
    assert all_events(fetch, send=False) == [ChunkReceived(0, BLOB[:MAX_CHUNK_BYTES])]
    wants = []
    while (frame := fetch.send_next()) is not None:
        wants += frames_of(frame)
    assert wants == [Want(BLOB_ID, MAX_CHUNK_BYTES, MAX_CHUNK_BYTES), Want(BLOB_ID, 2 << 20, 100)]
    fetch.receive_data(chunk_frame(MAX_CHUNK_BYTES) + chunk_frame(2 * MAX_CHUNK_BYTES))
    events = all_events(fetch)
    assert events[-1] == Finished(len(BLOB))
    assert b"".join(e.data for e in events if isinstance(e, ChunkReceived)) == BLOB[2**20 :]
    assert fetch.send_next() is None and fetch.next_event() is None


def test_the_window_bounds_wants_in_flight() -> None:
    big = bytes(20 * MAX_CHUNK_BYTES)
    fetch = BlobFetch(hashlib.sha256(big).digest(), LIMIT * 4)
    fetch.send_next()
    fetch.receive_data(chunk_frame(0, blob=big))
    all_events(fetch, send=False)
    sent = 0
    while fetch.send_next() is not None:
        sent += 1
    assert sent == FETCH_WINDOW


def test_resume_starts_at_the_offset_and_may_find_the_blob_complete() -> None:
    fetch = BlobFetch(BLOB_ID, LIMIT, resume_offset=len(BLOB))
    assert frames_of(fetch.send_next() or b"") == [Want(BLOB_ID, len(BLOB), MAX_CHUNK_BYTES)]
    fetch.receive_data(chunk_frame(len(BLOB)))
    assert all_events(fetch) == [Finished(len(BLOB))]


def test_the_empty_blob() -> None:
    fetch = BlobFetch(EMPTY_ID, LIMIT)
    fetch.send_next()
    fetch.receive_data(encode_message(Chunk(EMPTY_ID, 0, 0, b"")))
    assert all_events(fetch) == [Finished(0)]


def test_none_and_error_end_the_conversation() -> None:
    fetch = started()
    fetch.receive_data(encode_message(NotHeld(BLOB_ID)))
    assert all_events(fetch) == [Missing()]
    assert fetch.send_next() is None
    fetch = started()
    fetch.receive_data(encode_message(ErrorMessage("remote.bad-range", "no")))
    with pytest.raises(RemoteFaultError) as err:
        fetch.next_event()
    assert (err.value.code, err.value.details) == (
        "remote.refused",
        {"peer_code": "remote.bad-range"},
    )
    assert fetch.send_next() is None


def test_a_smaller_chunk_length() -> None:
    fetch = BlobFetch(BLOB_ID, LIMIT, chunk_bytes=1000)
    assert frames_of(fetch.send_next() or b"") == [Want(BLOB_ID, 0, 1000)]
    fetch.receive_data(chunk_frame(0, 1000))
    assert all_events(fetch, send=False) == [ChunkReceived(0, BLOB[:1000])]
    wants = [frames_of(fetch.send_next() or b"")[0] for _ in range(FETCH_WINDOW)]
    assert wants == [Want(BLOB_ID, 1000 * i, 1000) for i in range(1, FETCH_WINDOW + 1)]
    with pytest.raises(LocalMisuseError):
        BlobFetch(BLOB_ID, LIMIT, chunk_bytes=MAX_CHUNK_BYTES + 1)


def test_a_declared_size_over_the_limit_is_refused_before_any_data() -> None:
    fetch = started(limit=len(BLOB) - 1)
    assert fault_code(fetch, chunk_frame(0)) == "remote.blob-too-large"
    with pytest.raises(LocalMisuseError) as err:
        fetch.next_event()
    assert err.value.code == "misuse.machine-broken"


def changed_size_frame() -> bytes:
    return encode_message(Chunk(BLOB_ID, MAX_CHUNK_BYTES, len(BLOB) + 1, BLOB[2**20 : 2**21]))


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        (lambda: chunk_frame(0, blob=BLOB[:-1]), "remote.unexpected-chunk"),  # another blob
        (lambda: chunk_frame(MAX_CHUNK_BYTES), "remote.unexpected-chunk"),  # wrong offset
        (lambda: encode_message(Chunk(BLOB_ID, 0, 9, b"x" * 10)), "remote.overlong-chunk"),
        (lambda: encode_message(Chunk(BLOB_ID, 0, 10**6, b"x" * 10)), "remote.short-chunk"),
        (lambda: encode_message(Want(BLOB_ID, 0, 1)), "remote.bad-message"),
        (lambda: b"\x00\x00\x00\x01\xc1", "remote.bad-message"),
        (lambda: (2**21).to_bytes(4, "big"), "remote.bad-frame"),
        (lambda: encode_message(NotHeld(EMPTY_ID)), "remote.unexpected-chunk"),
    ],
)
def test_faulty_answers(frame: Any, code: str) -> None:
    assert fault_code(started(), frame()) == code


def test_the_size_may_not_change_between_chunks() -> None:
    fetch = started()
    fetch.receive_data(chunk_frame(0))
    all_events(fetch)
    fetch.send_next()
    assert fault_code(fetch, changed_size_frame()) == "remote.size-changed"


def test_an_answer_nobody_asked_for_is_refused() -> None:
    fetch = BlobFetch(BLOB_ID, LIMIT)
    assert fault_code(fetch, chunk_frame(0)) == "remote.unexpected-chunk"


def want_frames(*wants: Want) -> bytes:
    return b"".join(encode_message(w) for w in wants)


def test_the_server_answers_in_order() -> None:
    serve = BlobServe()
    serve.receive_data(want_frames(Want(BLOB_ID, 0, 10), Want(EMPTY_ID, 0, 10)))
    first = serve.next_request()
    assert first == Want(BLOB_ID, 0, 10)
    with pytest.raises(LocalMisuseError):
        serve.respond_none(EMPTY_ID)  # the oldest want is answered first
    with pytest.raises(LocalMisuseError):
        serve.respond_chunk(BLOB_ID, 0, len(BLOB), BLOB[:9])  # one byte short
    assert frames_of(serve.respond_chunk(BLOB_ID, 0, len(BLOB), BLOB[:10])) == [
        Chunk(BLOB_ID, 0, len(BLOB), BLOB[:10])
    ]
    assert serve.next_request() == Want(EMPTY_ID, 0, 10)
    assert frames_of(serve.respond_none(EMPTY_ID)) == [NotHeld(EMPTY_ID)]
    assert serve.next_request() is None and serve.unanswered == 0


def test_the_server_says_which_bytes_answer_a_want() -> None:
    serve = BlobServe()
    serve.receive_data(want_frames(Want(BLOB_ID, 5, 10), Want(BLOB_ID, 8, 10), Want(BLOB_ID, 9, 1)))
    serve.next_request()
    assert serve.chunk_range(BLOB_ID, 8) == (5, 8)  # the last chunk is shorter
    serve.respond_chunk(BLOB_ID, 5, 8, BLOB[5:8])
    serve.next_request()
    assert serve.chunk_range(BLOB_ID, 8) == (8, 8)  # at the end: an empty chunk
    serve.respond_chunk(BLOB_ID, 8, 8, b"")
    serve.next_request()
    with pytest.raises(RemoteFaultError) as err:
        serve.chunk_range(BLOB_ID, 8)
    assert err.value.code == "remote.bad-range"


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (want_frames(Want(BLOB_ID, 0, MAX_CHUNK_BYTES + 1)), "remote.want-too-large"),
        (want_frames(*[Want(BLOB_ID, 0, 1)] * (MAX_INFLIGHT + 1)), "remote.too-many-wants"),
        (encode_message(NotHeld(BLOB_ID)), "remote.bad-message"),
        (b"\x00\x00\x01\x00", "remote.bad-frame"),
    ],
)
def test_the_server_refuses(data: bytes, code: str) -> None:
    serve = BlobServe()
    with pytest.raises(RemoteFaultError) as err:
        serve.receive_data(data)
    assert err.value.code == code
    farewell = frames_of(serve.respond_error(err.value.code, err.value.message))
    assert farewell == [ErrorMessage(code, err.value.message)]
    assert serve.closed and serve.next_request() is None


def test_a_full_window_is_allowed() -> None:
    serve = BlobServe()
    serve.receive_data(want_frames(*[Want(BLOB_ID, 0, 1)] * MAX_INFLIGHT))
    assert serve.unanswered == MAX_INFLIGHT


# -- properties ----------------------------------------------------------------------

FIELD_VALUES = st.one_of(
    st.sampled_from(["want", "chunk", "none", "error", "remote.x"]),
    st.integers(min_value=-2, max_value=2**33),
    st.sampled_from([BLOB_ID, EMPTY_ID, b"", b"abc"]),
    st.booleans(),
)
MESSAGES = st.dictionaries(
    st.sampled_from(["t", "blob", "offset", "length", "size", "data", "code", "message"]),
    FIELD_VALUES,
    max_size=6,
)
BLOBS = st.sampled_from([BLOB_ID, EMPTY_ID])
SIZES = st.integers(min_value=0, max_value=3 * MAX_CHUNK_BYTES)
WELL_FORMED = st.one_of(
    st.builds(Want, BLOBS, SIZES, SIZES),
    st.builds(Chunk, BLOBS, SIZES, SIZES, st.binary(max_size=32)),
    st.builds(NotHeld, BLOBS),
    st.builds(ErrorMessage, st.text(max_size=8), st.text(max_size=8)),
)
PEER_BYTES = st.lists(
    st.binary(max_size=64)
    | MESSAGES.map(lambda m: len(canonical.encode(m)).to_bytes(4, "big") + canonical.encode(m))
    | WELL_FORMED.map(encode_message),
    max_size=8,
)


@given(PEER_BYTES)
@settings(max_examples=400)
def test_any_bytes_give_the_client_events_or_a_remote_fault(pieces: list[bytes]) -> None:
    fetch = BlobFetch(BLOB_ID, LIMIT)
    try:
        for piece in pieces:
            fetch.send_next()
            fetch.receive_data(piece)
            for event in all_events(fetch):
                assert isinstance(event, ChunkReceived | Missing | Finished)
    except RemoteFaultError:
        pass


@given(PEER_BYTES)
@settings(max_examples=400)
def test_any_bytes_give_the_server_wants_or_a_remote_fault(pieces: list[bytes]) -> None:
    serve = BlobServe()
    try:
        for piece in pieces:
            serve.receive_data(piece)
            while (want := serve.next_request()) is not None:
                assert want.length <= MAX_CHUNK_BYTES
                serve.respond_none(want.blob)
    except RemoteFaultError:
        pass


ANSWERS = b"".join(chunk_frame(o) for o in range(0, len(BLOB), MAX_CHUNK_BYTES))


@given(st.lists(st.integers(min_value=0, max_value=len(ANSWERS)), max_size=12))
@settings(max_examples=60)
def test_chunk_boundaries_do_not_matter(cuts: list[int]) -> None:
    points = [0, *sorted(cuts), len(ANSWERS)]
    fetch = BlobFetch(BLOB_ID, LIMIT)
    received = bytearray()
    events: list[FetchEvent] = []
    fetch.send_next()
    for start, end in itertools.pairwise(points):
        fetch.receive_data(ANSWERS[start:end])
        for event in all_events(fetch):
            events.append(event)
            if isinstance(event, ChunkReceived):
                assert event.offset == len(received)
                received += event.data
    assert bytes(received) == BLOB
    assert events[-1] == Finished(len(BLOB))
