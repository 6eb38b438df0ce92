"""protocol/blob_route.py: content routing's messages (specs/0009 §12). The vectors
(blobs/route) hold the cases of the spec's table; here, properties over any message."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocol import canonical
from protocol.blob_route import (
    MAX_ASKED_BLOBS,
    MAX_ROUTE_FRAME_BYTES,
    Get,
    Have,
    Held,
    Ready,
    RouteError,
    RouteMessage,
    decode_message,
    encode_message,
    judge_answer,
)
from protocol.errors import LocalMisuseError, RemoteFaultError
from protocol.framing import encode_frame

ids = st.binary(min_size=32, max_size=32)
id_lists = st.lists(ids, max_size=MAX_ASKED_BLOBS, unique=True).map(lambda x: tuple(sorted(x)))
texts = st.text(max_size=64).filter(lambda t: len(t.encode("utf-8", "replace")) <= 64)
messages = st.one_of(
    id_lists.filter(bool).map(Have),
    id_lists.map(Held),
    ids.map(Get),
    st.builds(Ready, ids, st.integers(min_value=0, max_value=2**64 - 1)),
    st.builds(RouteError, texts, texts),
)


@given(messages)
def test_every_message_round_trips_within_the_frame_limit(message: RouteMessage) -> None:
    try:
        value = encode_message(message)
    except LocalMisuseError:  # a lone surrogate in generated text: not UTF-8
        return
    assert decode_message(canonical.decode(canonical.encode(value))) == message
    encode_frame(value, max_frame_bytes=MAX_ROUTE_FRAME_BYTES)  # never over the cap


@pytest.mark.parametrize(
    "bad",
    [Have(()), Have((bytes(32), bytes(32))), Held((bytes(31),)), RouteError("x" * 65, "")],
)
def test_the_encoder_refuses_what_the_decoder_would(bad: RouteMessage) -> None:
    with pytest.raises(LocalMisuseError):
        encode_message(bad)


@given(id_lists.filter(bool), id_lists)
def test_a_held_answer_names_only_asked_blobs(
    asked: tuple[bytes, ...], held: tuple[bytes, ...]
) -> None:
    if set(held) <= set(asked):
        assert judge_answer(Have(asked), Held(held)) == Held(held)
    else:
        with pytest.raises(RemoteFaultError) as info:
            judge_answer(Have(asked), Held(held))
        assert info.value.code == "remote.unexpected-answer"
