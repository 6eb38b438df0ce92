"""Record encoders of protocol/ against their decoders (specs/0012 §1; h11's rule).

A body every registered kind accepts is one an entry can carry: its map (the kind's
model dumped, as design_body_map and advert_body_map do) is canonical, reads back to the
same model, and signs into an entry that decodes to it, unless the whole entry is over
64 KiB (then sign_entry refuses, misuse.bad-entry). charter_bytes and charter_toml read
back to the same charter, maximal ones included; advert_to_okw reads back to the same
advert or is refused (misuse.too-large); seal opens to the same plaintext.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from protocol import canonical, kinds, limits, sealed
from protocol.capability import AdvertBody, SealKey, advert_body_map
from protocol.design import DESIGN, DesignBody, design_body_map
from protocol.entry import decode_entry, sign_entry
from protocol.errors import LocalMisuseError
from protocol.governance import (
    MAX_CHARTER_BYTES,
    MAX_CHARTER_TOML_BYTES,
    Charter,
    charter_bytes,
    charter_toml,
    decode_charter,
    parse_charter_toml,
)
from protocol.identity import development_network
from protocol.keys import SigningKey
from protocol.okw import MAX_OKW_BYTES, advert_from_okw, advert_to_okw
from tests.protocol.strategies import (
    ADVERT_BODY,
    MACHINE,
    SAMPLES,
    WIDTHS,
    adverts,
    bodies,
    charters,
    put,
)

NET = development_network("record-encoders")
KEY = SigningKey(bytes(range(1, 33)))
AUTHOR = b"\x02" * 32
ENTRY_SIZED = {"max_bytes": limits.MAX_ENTRY_BYTES << 4}


def test_every_registered_kind_has_a_sample() -> None:
    assert sorted(SAMPLES) == kinds.known_kinds()
    for kind, (body, _) in SAMPLES.items():
        assert kinds.check_body(kind, body).valid, kind


@pytest.mark.parametrize("kind", sorted(SAMPLES))
@given(data=st.data())
@settings(max_examples=30)
def test_a_valid_body_is_one_an_entry_carries(kind: str, data: st.DataObject) -> None:
    _, body = data.draw(bodies(kind))
    status = kinds.check_body(kind, body)
    assume(status.model is not None)
    _carried(kind, body)


#: Every text field of every kind, filled to its cap with characters of 1 to 4 bytes.
AT_CAP = [
    (kind, path, ch * cap)
    for kind, (_, fields) in sorted(SAMPLES.items())
    for path, cap in fields
    for ch in WIDTHS
]


@pytest.mark.parametrize(
    ("kind", "path", "text"),
    AT_CAP,
    ids=[f"{k}-{'.'.join(map(str, p))}-{len(t.encode()) // len(t)}B" for k, p, t in AT_CAP],
)
def test_a_text_field_at_its_cap_is_refused_by_its_kind_or_carried(
    kind: str, path: tuple[Any, ...], text: str
) -> None:
    body = copy.deepcopy(SAMPLES[kind][0])
    put(body, path, text)
    if kinds.check_body(kind, body).valid:
        _carried(kind, body)


def _carried(kind: str, body: dict[str, Any]) -> None:
    """The body's model dumps to a canonical map that reads back to the same model, and
    signs into an entry that decodes to it (or is refused for its size alone)."""
    model = kinds.check_body(kind, body).model
    assert model is not None
    mapped = model.model_dump()  # design_body_map, advert_body_map, the node's dumps
    again = kinds.check_body(kind, canonical.decode(canonical.encode(mapped), **ENTRY_SIZED))
    assert again.model == model
    try:
        entry = sign_entry(
            KEY,
            network=NET,
            author=AUTHOR,
            seq=1,
            prev=None,
            timestamp_ms=1,
            kind=kind,
            body=mapped,
        )
    except LocalMisuseError as e:  # only for its size
        assert e.code == "misuse.bad-entry"
        assert len(canonical.encode(mapped)) > limits.MAX_ENTRY_BYTES - 400
        return
    decoded = decode_entry(entry.raw)
    assert decoded.body == mapped
    assert kinds.check_body(kind, decoded.body).model == model


def test_the_body_maps_are_the_model_dumps() -> None:
    design = DesignBody.model_validate(SAMPLES[DESIGN][0], strict=True)
    assert design_body_map(design) == SAMPLES[DESIGN][0]
    advert = AdvertBody.model_validate(SAMPLES["capability.advert"][0], strict=True)
    assert advert_body_map(advert) == SAMPLES["capability.advert"][0]


@given(charters())
@settings(max_examples=40)
def test_charters_round_trip_through_bytes_and_toml(charter: Charter) -> None:
    data = charter_bytes(charter)
    assert len(data) <= MAX_CHARTER_BYTES
    assert decode_charter(data) == charter
    text = charter_toml(charter)
    assert len(text.encode()) <= MAX_CHARTER_TOML_BYTES
    assert parse_charter_toml(text) == charter


def test_an_advert_too_large_for_an_okw_document_is_refused() -> None:
    machine = {
        **MACHINE,
        "make": "😀" * 200,
        "materials": [f"{i:02d}" + "😀" * 62 for i in range(32)],
    }
    advert = AdvertBody.model_validate({**ADVERT_BODY, "machines": [machine] * 64}, strict=True)
    with pytest.raises(LocalMisuseError) as info:
        advert_to_okw(advert)
    assert info.value.code == "misuse.too-large"


@given(adverts())
@settings(max_examples=40)
def test_an_advert_reads_back_from_okw_or_is_refused(body: dict[str, Any]) -> None:
    status = kinds.check_body("capability.advert", body)
    assume(isinstance(status.model, AdvertBody))
    assert isinstance(status.model, AdvertBody)
    advert = status.model
    try:
        text = advert_to_okw(advert)
    except LocalMisuseError as e:
        assert e.code == "misuse.too-large"
        return
    assert len(text.encode()) <= MAX_OKW_BYTES
    assert advert_from_okw(text.encode()) == advert.model_copy(update={"seal_key": None})


X25519 = [sealed.generate_key(sealed.X25519_SUITE) for _ in range(sealed.MAX_RECIPIENTS + 1)]
HYBRID = sealed.generate_key(sealed.HYBRID_SUITE)
CHUNK = sealed.CHUNK_BYTES
SIZES = st.sampled_from([0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK])


@given(SIZES, st.integers(1, sealed.MAX_RECIPIENTS), st.booleans())
@settings(max_examples=25)
def test_a_sealed_file_opens_to_its_plaintext_for_every_recipient(
    size: int, count: int, hybrid: bool
) -> None:
    keys = [HYBRID] if hybrid else X25519[:count]
    plaintext = bytes(i % 251 for i in range(size))
    data = sealed.seal(plaintext, [k.public() for k in keys])
    header = sealed.read_header(data)
    assert [kid for kid, _ in header.recipients] == [sealed.key_id(k.public()) for k in keys]
    assert all(sealed.open_sealed(data, k) == plaintext for k in keys)


@pytest.mark.parametrize(
    "recipients",
    [
        [k.public() for k in X25519],  # one over MAX_RECIPIENTS
        [X25519[0].public()] * 2,
        [X25519[0].public(), HYBRID.public()],
        [],
    ],
    ids=["too-many", "repeated", "two-suites", "none"],
)
def test_sealing_to_recipients_no_header_may_name_is_refused(recipients: list[SealKey]) -> None:
    with pytest.raises(LocalMisuseError) as info:
        sealed.seal(b"part", recipients)
    assert info.value.code == "misuse.bad-recipients"
