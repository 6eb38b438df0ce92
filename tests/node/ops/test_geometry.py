"""Mesh geometry: STL (binary and ASCII) and 3MF, integers out, typed errors for bad input."""

from __future__ import annotations

import contextlib
import io
import struct
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from node.demo.parts import PARTS, PARTS_FOLDER, Triangle, binary_stl, box, part_stl
from node.ops import geometry
from node.ops.geometry import analyse_mesh, media_type_for, stl_is_binary
from protocol.design import Geometry
from protocol.errors import CommonsError, DecodeError, LocalMisuseError

CUBE = box((20.0, 20.0, 20.0))
CUBE_GEOMETRY = Geometry(
    bbox_min_um=[0, 0, 0],
    bbox_max_um=[20000, 20000, 20000],
    volume_mm3=8000,
    triangles=12,
    closed=True,
)


def ascii_stl(triangles: list[Triangle], name: str = "cube") -> bytes:
    lines = [f"solid {name}"]
    for a, b, c in triangles:
        lines += ["  facet normal 0 0 0", "    outer loop"]
        lines += [f"      vertex {float(x)} {float(y)} {float(z)}" for x, y, z in (a, b, c)]
        lines += ["    endloop", "  endfacet"]
    lines.append(f"endsolid {name}")
    return ("\n".join(lines) + "\n").encode("ascii")


def threemf(
    triangles: list[Triangle], *, unit: str = "millimeter", transform: str | None = None
) -> bytes:
    """A 3MF package of one object, written by hand (3MF Core Specification §3, §4)."""
    vertices: dict[tuple[float, float, float], int] = {}
    faces = []
    for triangle in triangles:
        faces.append([vertices.setdefault(v, len(vertices)) for v in triangle])
    vertex_xml = "".join(f'<vertex x="{x}" y="{y}" z="{z}"/>' for x, y, z in vertices)
    face_xml = "".join(f'<triangle v1="{a}" v2="{b}" v3="{c}"/>' for a, b, c in faces)
    item = f' transform="{transform}"' if transform else ""
    model = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<model unit="{unit}" xml:lang="en-US" '
        'xmlns="http://schemas.microsoft.com/3dmanufacturing/core/2015/02">'
        '<resources><object id="1" type="model"><mesh>'
        f"<vertices>{vertex_xml}</vertices><triangles>{face_xml}</triangles>"
        "</mesh></object></resources>"
        f'<build><item objectid="1"{item}/></build></model>'
    )
    return package({"3D/3dmodel.model": model})


def package(parts: dict[str, str]) -> bytes:
    content_types = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" '
        'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="model" '
        'ContentType="application/vnd.ms-package.3dmanufacturing-3dmodel+xml"/></Types>'
    )
    rels = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Target="/3D/3dmodel.model" Id="rel0" '
        'Type="http://schemas.microsoft.com/3dmanufacturing/2013/01/3dmodel"/></Relationships>'
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", content_types)
        archive.writestr("_rels/.rels", rels)
        for name, text in parts.items():
            archive.writestr(name, text)
    return out.getvalue()


def bad_mesh(data: bytes, media_type: str = "model/stl") -> DecodeError:
    with pytest.raises(DecodeError) as caught:
        analyse_mesh(data, media_type)
    return caught.value


# -- STL ------------------------------------------------------------------------------------


def test_binary_cube() -> None:
    data = binary_stl(CUBE, b"cube")
    assert len(data) == 84 + 50 * 12 and stl_is_binary(data)
    assert analyse_mesh(data, "model/stl") == CUBE_GEOMETRY


def test_ascii_cube() -> None:
    data = ascii_stl(CUBE)
    assert not stl_is_binary(data)
    assert analyse_mesh(data, "model/stl") == CUBE_GEOMETRY


def test_binary_whose_header_begins_with_solid() -> None:
    data = binary_stl(CUBE, b"solid cube exported by a CAD program that should know better")
    assert data.startswith(b"solid") and stl_is_binary(data)
    assert analyse_mesh(data, "model/stl") == CUBE_GEOMETRY


def test_ascii_with_several_solids_counts_them_all() -> None:
    moved = [tuple((x + 30, y, z) for x, y, z in t) for t in CUBE]
    data = ascii_stl(CUBE, "a") + ascii_stl(moved, "b")  # type: ignore[arg-type]
    found = analyse_mesh(data, "model/stl")
    assert (found.triangles, found.volume_mm3) == (24, 16000)
    assert found.bbox_max_um == [50000, 20000, 20000]


def test_an_open_mesh_is_not_closed() -> None:
    found = analyse_mesh(binary_stl(CUBE[:-1], b"open"), "model/stl")
    assert found.triangles == 11 and not found.closed


def test_a_path_is_read_like_bytes(tmp_path: Path) -> None:
    path = tmp_path / "cube.stl"
    path.write_bytes(binary_stl(CUBE, b"cube"))
    assert analyse_mesh(path, "model/stl") == CUBE_GEOMETRY


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"garbage that is neither",
        binary_stl(CUBE, b"cube")[:-1],  # truncated
        binary_stl(CUBE, b"cube") + b"\x00",  # trailing byte
        binary_stl(CUBE, b"solid cube")[:-7],  # truncated, header says solid
        binary_stl([], b"empty"),  # well-formed, no triangles
        ascii_stl(CUBE).replace(b"vertex 0.0 0.0 0.0", b"vertex 0.0 0.0", 1),
        ascii_stl(CUBE).replace(b"vertex 0.0 0.0 0.0", b"vertex nan 0.0 0.0", 1),
        ascii_stl([]),
        b"solid x\n" + bytes(range(256)) * 4,
        binary_stl([((0.0, 0.0, 0.0), (1e12, 0.0, 0.0), (0.0, 1.0, 0.0))], b"far"),
        binary_stl([((0.0, 0.0, 0.0), (float("inf"), 0.0, 0.0), (0.0, 1.0, 0.0))], b"inf"),
    ],
)
def test_malformed_stl_is_a_bad_mesh(data: bytes) -> None:
    assert bad_mesh(data).code == "decode.bad-mesh"


# -- 3MF -------------------------------------------------------------------------------------


def test_3mf_cube() -> None:
    assert analyse_mesh(threemf(CUBE), "model/3mf") == CUBE_GEOMETRY


def test_3mf_units_are_converted() -> None:
    in_cm = box((2.0, 2.0, 2.0))
    assert analyse_mesh(threemf(in_cm, unit="centimeter"), "model/3mf") == CUBE_GEOMETRY


def test_3mf_build_transforms_are_applied() -> None:
    moved = threemf(CUBE, transform="1 0 0 0 1 0 0 0 1 100 0 5")
    found = analyse_mesh(moved, "model/3mf")
    assert found.bbox_min_um == [100000, 0, 5000]
    assert found.bbox_max_um == [120000, 20000, 25000]
    assert found.volume_mm3 == 8000


MODEL = (
    '<model unit="millimeter" xmlns="http://schemas.microsoft.com/3dmanufacturing/core/2015/02">'
)


@pytest.mark.parametrize(
    "data",
    [
        b"PK\x03\x04 not really a zip",
        binary_stl(CUBE, b"cube"),
        package({}),  # no model part
        package({"3D/3dmodel.model": "<model"}),  # not XML
        package({"3D/3dmodel.model": MODEL + "<resources/><build/></model>"}),  # no triangles
        package(
            {
                "3D/3dmodel.model": MODEL
                + '<resources><object id="1"><mesh><vertices><vertex x="0" y="0" z="0"/>'
                '</vertices><triangles><triangle v1="0" v2="1" v3="2"/></triangles></mesh>'
                '</object></resources><build><item objectid="1"/></build></model>'
            }
        ),  # vertices that do not exist
        threemf(CUBE, unit="furlong"),
        threemf(CUBE)[:-40],  # truncated package
    ],
)
def test_malformed_3mf_is_a_bad_mesh(data: bytes) -> None:
    assert bad_mesh(data, "model/3mf").code == "decode.bad-mesh"


def test_3mf_members_are_measured_before_unpacking(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(geometry, "MAX_3MF_UNPACKED_BYTES", 1000)
    assert bad_mesh(threemf(CUBE), "model/3mf").code == "decode.too-large"


# -- limits, media types, files ------------------------------------------------------------


def test_size_is_checked_before_reading(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(geometry, "MAX_MESH_BYTES", 100)
    path = tmp_path / "cube.stl"
    path.write_bytes(binary_stl(CUBE, b"cube"))
    for source in (path, path.read_bytes()):
        with pytest.raises(DecodeError) as caught:
            analyse_mesh(source, "model/stl")
        assert caught.value.code == "decode.too-large"


def test_local_misuse(tmp_path: Path) -> None:
    with pytest.raises(LocalMisuseError) as caught:
        analyse_mesh(tmp_path / "missing.stl", "model/stl")
    assert caught.value.code == "misuse.bad-file"
    with pytest.raises(LocalMisuseError) as caught:
        analyse_mesh(b"", "image/png")
    assert caught.value.code == "misuse.not-a-mesh"


def test_media_types_by_name() -> None:
    assert media_type_for("parts/Cube.STL") == "model/stl"
    assert media_type_for("plate.3mf") == "model/3mf"
    assert media_type_for("readme.md") is None


# -- the shipped demo parts ------------------------------------------------------------------


def test_shipped_parts_are_what_the_generator_writes() -> None:
    for name in PARTS:
        assert (PARTS_FOLDER / name).read_bytes() == part_stl(name), name


@pytest.mark.parametrize(
    ("name", "bbox_max_um", "volume_mm3", "triangles"),
    [
        ("calibration-cube-20mm.stl", [20000, 20000, 20000], 8000, 12),
        ("l-bracket-40x30x20.stl", [40000, 30000, 20000], 5280, 20),
        ("spacer-m5-10x8.stl", [5000, 5000, 8000], 451, 384),
    ],
)
def test_shipped_parts_measure_as_designed(
    name: str, bbox_max_um: list[int], volume_mm3: int, triangles: int
) -> None:
    found = analyse_mesh(PARTS_FOLDER / name, "model/stl")
    assert (found.bbox_max_um, found.volume_mm3, found.triangles) == (
        bbox_max_um,
        volume_mm3,
        triangles,
    )
    assert found.closed


# -- nothing but typed errors ---------------------------------------------------------------

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _only_commons_errors(data: bytes, media_type: str) -> None:
    with contextlib.suppress(CommonsError):
        analyse_mesh(data, media_type)


@FUZZ
@given(st.binary(max_size=2048), st.sampled_from(["model/stl", "model/3mf"]))
def test_random_bytes_give_geometry_or_a_typed_error(data: bytes, media_type: str) -> None:
    _only_commons_errors(data, media_type)


@FUZZ
@given(st.lists(st.tuples(*[st.floats(width=32)] * 9), min_size=1, max_size=8))
def test_binary_stl_with_any_floats(corners: list[tuple[float, ...]]) -> None:
    triangles = [((c[0], c[1], c[2]), (c[3], c[4], c[5]), (c[6], c[7], c[8])) for c in corners]
    _only_commons_errors(binary_stl(triangles, b"fuzz"), "model/stl")


@FUZZ
@given(st.binary(min_size=1, max_size=600), st.integers(0, 2**32 - 1))
def test_binary_stl_with_any_payload_and_count(payload: bytes, count: int) -> None:
    _only_commons_errors(b"solid" + b"\x00" * 75 + struct.pack("<I", count) + payload, "model/stl")


@FUZZ
@given(st.text(alphabet="solidfacetnormalvertexend 0123456789.-e\n", max_size=600))
def test_ascii_like_text(text: str) -> None:
    _only_commons_errors(b"solid " + text.encode(), "model/stl")


@FUZZ
@given(st.data())
def test_mutated_3mf(data: st.DataObject) -> None:
    original = bytearray(threemf(CUBE))
    for _ in range(data.draw(st.integers(1, 8))):
        original[data.draw(st.integers(0, len(original) - 1))] = data.draw(st.integers(0, 255))
    _only_commons_errors(bytes(original), "model/3mf")
