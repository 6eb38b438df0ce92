"""Open Know-Where documents for adverts (specs/0011-capabilities.md §8)."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol.capability import PROCESSES, AdvertBody
from protocol.errors import DecodeError
from protocol.okw import MAX_OKW_BYTES, advert_from_okw, advert_to_okw
from tests.protocol.test_capability import advert_map

names = (
    st.text(
        st.characters(codec="utf-8", exclude_categories=("Cc", "Cs", "Zl", "Zp")),
        min_size=1,
        max_size=30,
    )
    .map(str.strip)
    .filter(bool)
)
materials = st.lists(names, min_size=1, max_size=4, unique=True).map(sorted)
machines = st.fixed_dictionaries(
    {
        "process": st.sampled_from(PROCESSES),
        "make": names,
        "model": names,
        "build_volume_um": st.lists(st.integers(1, 10**8), min_size=3, max_size=3),
        "materials": materials,
        "tolerance": st.sampled_from(["f", "m", "c", "v"]),
        "throughput_mm3_per_hour": st.integers(1, 10**12),
        "price": st.fixed_dictionaries(
            {
                "setup_fee_minor": st.integers(0, 10**12),
                "per_cm3_minor": st.integers(0, 10**12),
                "per_hour_minor": st.integers(0, 10**12),
            }
        ),
    }
)
adverts = st.builds(
    lambda name, lat, lon, avail, lead, ms, site: AdvertBody.model_validate(
        advert_map(
            name=name,
            location={"lat_microdeg": lat, "lon_microdeg": lon},
            availability=avail,
            lead_time_days=lead,
            machines=ms,
            website=site,
            seal_key=None,
        ),
        strict=True,
    ),
    names,
    st.integers(-90_000_000, 90_000_000),
    st.integers(-180_000_000, 180_000_000),
    st.sampled_from(["open", "busy", "closed"]),
    st.integers(0, 3650),
    st.lists(machines, min_size=1, max_size=4),
    st.sampled_from([None, "https://fablabs.io/labs/barcelona"]),
)


@settings(max_examples=60, deadline=None)
@given(adverts)
def test_an_advert_survives_an_okw_round_trip(body: AdvertBody) -> None:
    text = advert_to_okw(body)
    assert advert_from_okw(text.encode()) == body
    facility = yaml.safe_load(text)["manufacturing-facility"]
    assert {"name", "location", "facility-status", "equipment"} <= set(facility)
    assert facility["equipment"][0]["manufacturing-process"] == body.machines[0].process


def _document() -> dict[str, Any]:
    body = AdvertBody.model_validate(advert_map(seal_key=None), strict=True)
    doc: dict[str, Any] = yaml.safe_load(advert_to_okw(body))
    return doc


def test_an_okw_process_label_maps_onto_the_vocabulary() -> None:
    doc = _document()
    doc["manufacturing-facility"]["equipment"][0]["manufacturing-process"] = "FDM"
    assert advert_from_okw(yaml.safe_dump(doc).encode()).machines[0].process == "3dp-fdm"


def _without(path: list[Any]) -> bytes:
    doc = _document()
    table = doc
    for key in path[:-1]:
        table = table[key]
    del table[path[-1]]
    return yaml.safe_dump(doc).encode()


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"- a list\n",
        b"manufacturing-facility: 3\n",
        b"a: &x [1]\nb: *x\n",
        b"\xff\xfe",
        b"manufacturing-facility: {name: [unclosed\n",
        _without(["manufacturing-facility", "x-fabcommons"]),
        _without(["manufacturing-facility", "equipment", 0, "x-fabcommons", "tolerance-iso2768"]),
        _without(["manufacturing-facility", "location", "gps-coordinates"]),
    ],
)
def test_bad_documents_are_typed_errors(data: bytes) -> None:
    with pytest.raises(DecodeError) as e:
        advert_from_okw(data)
    assert e.value.code == "decode.bad-okw"


def test_the_size_limit_is_checked_before_parsing() -> None:
    with pytest.raises(DecodeError) as e:
        advert_from_okw(b"#" * (MAX_OKW_BYTES + 1))
    assert e.value.code == "decode.too-large"


@settings(max_examples=200)
@given(st.binary(max_size=400) | st.text(max_size=400).map(str.encode))
def test_any_input_is_an_advert_or_a_typed_error(data: bytes) -> None:
    try:
        advert_from_okw(data)
    except DecodeError as e:
        assert e.code in {"decode.bad-okw", "decode.too-large"}
