"""The `design` kind: its body schema, and the licence rule on publish and on receipt."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from licenses.design_licence import check_design_licence
from protocol import canonical, kinds
from protocol.design import (
    DESIGN,
    MAX_FILES,
    MAX_LICENSORS,
    MAX_NAME_CHARS,
    MAX_SUMMARY_CHARS,
    MAX_TAG_CHARS,
    DesignBody,
    design_body_map,
)
from protocol.entry import decode_entry
from protocol.errors import DecodeError, LocalMisuseError, RuleViolationError
from tests.factory import Author


def blob(name: str) -> bytes:
    return hashlib.sha256(name.encode()).digest()


def cube_file(path: str = "cube.stl") -> dict[str, Any]:
    return {
        "path": path,
        "role": "export",
        "sha256": blob(path),
        "size_bytes": 684,
        "media_type": "model/stl",
        "geometry": {
            "bbox_min_um": [0, 0, 0],
            "bbox_max_um": [20000, 20000, 20000],
            "volume_mm3": 8000,
            "triangles": 12,
            "closed": True,
        },
    }


def body(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "name": "Calibration cube",
        "summary": "A 20 mm cube.\n\nPrint it first.",
        "version": "1.0.0",
        "supersedes": None,
        "licence": "CERN-OHL-S-2.0",
        "licensors": ["Fab Lab Lisboa"],
        "organisation": None,
        "language": "en-GB",
        "files": [cube_file()],
        "links": [{"rel": "repo", "url": "https://example.org/cube"}],
        "derived_from": [],
        "tags": ["calibration", "tsdc:3DP"],
        "processes": ["3d-printing", "fdm"],
        "materials": ["PETG", "PLA"],
        "outer_dimensions_um": [20000, 20000, 20000],
        "oshwa_uid": "PT000042",
        "licence_as_stated": None,
    }
    base.update(changes)
    return base


def status(value: dict[str, Any]) -> kinds.BodyStatus:
    return kinds.check_body(DESIGN, value)


def model(value: dict[str, Any]) -> DesignBody:
    found = status(value).model
    assert isinstance(found, DesignBody)
    return found


def test_the_kind_is_registered() -> None:
    assert DESIGN in kinds.known_kinds()
    spec = kinds.spec_for(DESIGN)
    assert spec is not None and spec.model is DesignBody and not spec.key_event


def test_a_full_body_is_valid_and_round_trips_canonically() -> None:
    value = body()
    decoded = canonical.decode(canonical.encode(value))
    assert status(decoded).valid
    assert design_body_map(model(decoded)) == value


def test_a_minimal_body_is_valid() -> None:
    value = body(
        summary="",
        version=None,
        licensors=[],
        language=None,
        files=[],
        links=[],
        tags=[],
        processes=[],
        materials=[],
        outer_dimensions_um=None,
        oshwa_uid=None,
        licence_as_stated=None,
    )
    assert status(value).valid


def test_every_field_is_required_so_one_design_has_one_encoding() -> None:
    for name in body():
        short = body()
        del short[name]
        assert status(short).code == "body.invalid", name


@pytest.mark.parametrize("uid", ["US000001", "DE000008", "PT123456"])
def test_oshwa_uid_accepted(uid: str) -> None:
    assert status(body(oshwa_uid=uid)).valid


@pytest.mark.parametrize(
    "uid",
    [
        "us000001",
        "USA00001",
        "US00001",
        "US0000012",
        "U1000001",
        "US\u0660\u0660\u0660\u0660\u0660\u0661",
        " US000001",
        "",
    ],
)
def test_oshwa_uid_refused(uid: str) -> None:
    assert status(body(oshwa_uid=uid)).code == "body.invalid"


STRICT_TYPE_CASES = [
    ("name", 5),
    ("name", b"cube"),
    ("version", 1),
    ("licensors", "Fab Lab Lisboa"),
    ("supersedes", "b" + "a" * 52),
    ("derived_from", [blob("p").hex()]),
    ("outer_dimensions_um", [20000.0, 20000, 20000]),
    ("outer_dimensions_um", [True, 1, 1]),
    ("files", [{**cube_file(), "size_bytes": "684"}]),
    ("files", [{**cube_file(), "sha256": blob("x").hex()}]),
    ("files", [{**cube_file(), "geometry": {**cube_file()["geometry"], "volume_mm3": 8000.0}}]),
    ("files", [{**cube_file(), "geometry": {**cube_file()["geometry"], "closed": 1}}]),
    ("files", [{**cube_file(), "extra": 1}]),
    ("links", [{"rel": "repo", "url": "https://example.org", "title": "x"}]),
]


@pytest.mark.parametrize(("field", "value"), STRICT_TYPE_CASES)
def test_strict_types_no_coercion(field: str, value: Any) -> None:
    assert status(body(**{field: value})).code == "body.invalid"


def test_unknown_field_refused() -> None:
    assert status(body(colour="red")).code == "body.invalid"


BOUND_CASES = [
    ("name", ""),
    ("name", "x" * (MAX_NAME_CHARS + 1)),
    ("name", " Cube"),
    ("name", "Cube\nTwo"),
    ("summary", "x" * (MAX_SUMMARY_CHARS + 1)),
    ("summary", "Cube\x00"),
    ("summary", "trailing \n"),
    ("version", ""),
    ("licence", ""),
    ("licence", "MIT  OR Apache-2.0"),
    ("licence", "MIT, Apache-2.0"),
    ("licensors", ["x"] * 2),
    ("licensors", [f"p{i}" for i in range(MAX_LICENSORS + 1)]),
    ("language", "EN-gb"),
    ("language", "english"),
    ("language", "en_GB"),
    ("files", [cube_file(f"f{i}.stl") for i in range(MAX_FILES + 1)]),
    ("files", [cube_file("a.stl"), cube_file("a.stl")]),
    ("files", [cube_file("../a.stl")]),
    ("files", [cube_file("/a.stl")]),
    ("files", [cube_file("a//b.stl")]),
    ("files", [cube_file("a\\b.stl")]),
    ("files", [{**cube_file(), "media_type": "Model/STL"}]),
    ("files", [{**cube_file(), "media_type": "model/stl; charset=x"}]),
    ("files", [{**cube_file(), "role": "picture"}]),
    ("files", [{**cube_file(), "size_bytes": -1}]),
    ("files", [{**cube_file(), "sha256": b"short"}]),
    (
        "files",
        [
            {
                **cube_file(),
                "geometry": {
                    **cube_file()["geometry"],
                    "bbox_min_um": [1, 0, 0],
                    "bbox_max_um": [0, 5, 5],
                },
            }
        ],
    ),
    ("files", [{**cube_file(), "geometry": {**cube_file()["geometry"], "triangles": 0}}]),
    ("files", [{**cube_file(), "geometry": {**cube_file()["geometry"], "bbox_min_um": [0, 0]}}]),
    ("links", [{"rel": "repo", "url": "example.org"}]),
    ("links", [{"rel": "repo", "url": "https://example.org/a b"}]),
    ("links", [{"rel": "repo", "url": "https://x.org/" + "a" * 2048}]),
    ("links", [{"rel": "repo", "url": "https://x.org"}] * 2),
    ("derived_from", [blob("p"), blob("p")]),
    ("derived_from", [b"\x00" * 31]),
    ("tags", ["b", "a"]),
    ("tags", ["x" * (MAX_TAG_CHARS + 1)]),
    ("processes", ["FDM"]),
    ("processes", ["laser cutting"]),
    ("materials", ["PLA", "PLA"]),
    ("outer_dimensions_um", [0, 1, 1]),
    ("outer_dimensions_um", [1, 1]),
    ("outer_dimensions_um", [10**9 + 1, 1, 1]),
]


@pytest.mark.parametrize(("field", "value"), BOUND_CASES)
def test_bounds_and_canonical_forms(field: str, value: Any) -> None:
    assert status(body(**{field: value})).code == "body.invalid"


def test_the_previous_version_is_not_also_a_parent() -> None:
    previous = blob("v1")
    assert status(body(supersedes=previous)).valid
    assert status(body(supersedes=previous, derived_from=[previous])).code == "body.invalid"


@given(st.dictionaries(st.sampled_from(sorted(body())), st.integers() | st.text() | st.none()))
def test_any_mutation_is_valid_or_a_recorded_reason(changes: dict[str, Any]) -> None:
    found = status(body(**changes))
    assert found.valid or (found.code == "body.invalid" and found.reason)


# -- the licence rule (licenses.design_licence) ------------------------------------------


def test_an_original_open_design_is_allowed() -> None:
    result = check_design_licence(model(body()), [])
    assert result.verdict == "allowed" and not result.needs_review


def test_a_licence_that_is_not_open_is_refused() -> None:
    with pytest.raises(RuleViolationError) as caught:
        check_design_licence(model(body(licence="CC-BY-NC-4.0")), [])
    assert caught.value.code == "rule.licence-not-open"


def test_an_unknown_licence_ref_needs_the_network_to_list_it() -> None:
    design = model(body(licence="LicenseRef-PANAKA-OHL-1.0"))
    with pytest.raises(RuleViolationError) as caught:
        check_design_licence(design, [])
    assert caught.value.code == "rule.licence-not-open"
    allowed = frozenset({"LicenseRef-PANAKA-OHL-1.0"})
    assert check_design_licence(design, [], allow_list=allowed).verdict == "allowed"


def test_a_licence_not_in_normal_form_is_refused() -> None:
    with pytest.raises(DecodeError) as caught:
        check_design_licence(model(body(licence="cc-by-sa-4.0")), [])
    assert caught.value.code == "decode.bad-licence"


def test_one_licence_per_parent() -> None:
    with pytest.raises(LocalMisuseError):
        check_design_licence(model(body(derived_from=[blob("p")])), [])


@pytest.mark.parametrize(
    ("parents", "child", "verdict"),
    [
        (["CC-BY-4.0"], "CC-BY-SA-4.0", "allowed"),
        (["CC-BY-SA-4.0"], "CC-BY-SA-4.0", "allowed"),
        (["CERN-OHL-W-2.0"], "CERN-OHL-S-2.0", "review"),
        (["CC-BY-SA-4.0"], "MIT", "forbidden"),
        (["CERN-OHL-S-2.0"], "CERN-OHL-P-2.0", "forbidden"),
    ],
)
def test_derivatives(parents: list[str], child: str, verdict: str) -> None:
    design = model(body(licence=child, derived_from=[blob(p) for p in parents]))
    if verdict == "forbidden":
        with pytest.raises(RuleViolationError) as caught:
            check_design_licence(design, parents)
        assert caught.value.code == "rule.derivative-forbidden"
    else:
        result = check_design_licence(design, parents)
        assert result.verdict == verdict
        assert result.needs_review == (verdict == "review")


def publish(author: Author, value: dict[str, Any], parent_licences: list[str]) -> bytes:
    """What a node does before signing: validate the body, apply the licence rule."""
    check_design_licence(model(value), parent_licences)
    return author.append(DESIGN, value).raw


def receive(raw: bytes, licences_by_id: dict[bytes, str]) -> str:
    """What a node does on receipt: decode, check the body, apply the same rule."""
    entry = decode_entry(raw)
    design = model(entry.body)
    return check_design_licence(design, [licences_by_id[p] for p in design.derived_from]).verdict


def test_the_rule_holds_on_publish_and_on_receipt() -> None:
    alice, bob = Author("alice"), Author("bob")
    parent_raw = publish(alice, body(licence="CC-BY-SA-4.0"), [])
    parent = decode_entry(parent_raw)
    licences = {parent.id: parent.body["licence"]}
    assert receive(parent_raw, licences) == "allowed"

    child = body(name="Cube, bevelled", licence="CC-BY-SA-4.0", derived_from=[parent.id])
    assert receive(publish(bob, child, ["CC-BY-SA-4.0"]), licences) == "allowed"

    relicensed = body(name="Cube, closed", licence="MIT", derived_from=[parent.id])
    with pytest.raises(RuleViolationError) as on_publish:
        publish(bob, relicensed, ["CC-BY-SA-4.0"])
    assert on_publish.value.code == "rule.derivative-forbidden"
    # A node that skips the check can still sign it: every receiver applies the rule.
    raw = bob.append(DESIGN, relicensed).raw
    with pytest.raises(RuleViolationError) as on_receipt:
        receive(raw, licences)
    assert on_receipt.value.code == "rule.derivative-forbidden"


def test_a_new_version_names_the_one_it_supersedes() -> None:
    alice = Author("alice")
    first = decode_entry(publish(alice, body(version="1.0.0"), []))
    second = decode_entry(publish(alice, body(version="1.1.0", supersedes=first.id), []))
    assert model(second.body).supersedes == first.id
