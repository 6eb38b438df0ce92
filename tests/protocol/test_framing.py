"""Length-prefixed frames: limits before buffering, and no frame lost to a bad neighbour."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocol.errors import RemoteFaultError
from protocol.framing import FrameDecoder, encode_frame


def decoder() -> FrameDecoder:
    return FrameDecoder(max_frame_bytes=1024, max_bin_bytes=1024, max_array_len=16)


def drain(chunks: list[bytes]) -> list[object]:
    d, got = decoder(), []
    try:
        for chunk in chunks:
            d.receive_data(chunk)
            while (frame := d.next_frame()) is not None:
                got.append(frame)
    except RemoteFaultError as e:
        got.append(e.code)
    return got


@given(st.lists(st.integers(1, 8), min_size=1, max_size=40))
def test_a_bad_header_never_loses_the_good_frame_before_it(cuts: list[int]) -> None:
    stream = encode_frame({"t": "done"}, max_frame_bytes=1024) + b"\0\0\0\0"
    chunks, i = [], 0
    for n in cuts:
        chunks.append(stream[i : i + n])
        i += n
    chunks.append(stream[i:])
    assert drain([c for c in chunks if c]) == [{"t": "done"}, "remote.bad-frame"]


def test_an_oversized_length_is_refused_before_buffering() -> None:
    d = decoder()
    with pytest.raises(RemoteFaultError) as err:
        d.receive_data((10**6).to_bytes(4, "big") + b"x")
    assert err.value.code == "remote.bad-frame"
