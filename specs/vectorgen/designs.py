"""designs/publish, designs/mesh and designs/manifest (specs/0010).

Every expectation is written here from the spec, never computed by the code under test:
publication verdicts from the check table of 0010 §4.1 with the families and derivative
rules of 0006 written out by hand; mesh geometry from how each mesh was built (a unit
tetrahedron, a cube, their corners and volumes known exactly; 0010 §3.1); manifest
results from the field table of 0010 §5.1. Mesh files are built here byte by byte:
binary and ASCII STL, and 3MF packages zipped with fixed timestamps and no compression.
"""

from __future__ import annotations

import io
import math
import struct
import zipfile
from collections.abc import Iterator, Sequence
from fractions import Fraction
from typing import Any

from specs.vectorgen.common import Case, error, ok

BAD_LICENCE = "decode.bad-licence"
NOT_OPEN = "rule.licence-not-open"
FORBIDDEN = "rule.derivative-forbidden"


def cases() -> Iterator[Case]:
    yield from publish_cases()
    yield from mesh_cases()


# -- designs/publish -------------------------------------------------------------------------


def _publish(
    name: str,
    description: str,
    licence: str,
    expect: dict[str, Any],
    parents: list[str] | None = None,
    allow_list: list[str] | None = None,
) -> Case:
    data = {"licence": licence, "parent_licences": parents or [], "allow_list": allow_list}
    return Case("designs", "publish", name, description, data, expect)


def publish_cases() -> Iterator[Case]:
    allowed = ok(verdict="allowed", attribution=[])
    yield _publish("original", "An original design under an open licence: allowed.", "MIT", allowed)
    yield _publish(
        "original-copyleft",
        "An original design under CERN-OHL-S-2.0, open by the family table: allowed.",
        "CERN-OHL-S-2.0",
        allowed,
    )
    yield _publish(
        "licence-not-parsed",
        "L1: a list that says neither AND nor OR is no expression.",
        "MIT, Apache-2.0",
        error(BAD_LICENCE),
    )
    yield _publish(
        "licence-too-long",
        "L1: an expression of 1,025 characters is too large.",
        "LicenseRef-" + "a" * 1014,
        error("decode.too-large"),
    )
    yield _publish(
        "licence-at-length-limit",
        "L1 boundary: an expression of 1,024 characters is read; a LicenseRef of no "
        "family is not on the default list (L3).",
        "LicenseRef-" + "a" * 1013,
        error(NOT_OPEN, field="licence"),
    )
    yield _publish(
        "licence-not-normal-form",
        "L2: `mit` parses, but its normal form is `MIT`: a signed body holds the normal form.",
        "mit",
        error(BAD_LICENCE, field="licence"),
    )
    yield _publish(
        "operator-not-normal-form",
        "L2: lower-case operators are not the normal form.",
        "MIT or Apache-2.0",
        error(BAD_LICENCE, field="licence"),
    )
    yield _publish(
        "non-commercial",
        "L3: a NonCommercial licence is blocked, never allowed.",
        "CC-BY-NC-4.0",
        error(NOT_OPEN, field="licence"),
    )
    yield _publish(
        "no-derivatives",
        "L3: a NoDerivatives licence is blocked, never allowed.",
        "CC-BY-ND-4.0",
        error(NOT_OPEN, field="licence"),
    )
    yield _publish(
        "or-one-option-allowed",
        "L3: under OR one allowed option suffices.",
        "MIT OR CC-BY-NC-4.0",
        allowed,
    )
    yield _publish(
        "and-part-blocked",
        "L3: under AND every part must be allowed.",
        "MIT AND CC-BY-NC-4.0",
        error(NOT_OPEN, field="licence"),
    )
    yield _publish(
        "not-on-network-list",
        "L3: an open licence the network's list does not name is refused.",
        "GPL-3.0-only",
        error(NOT_OPEN, field="licence"),
        allow_list=["MIT", "CERN-OHL-S-2.0"],
    )
    yield _publish(
        "on-network-list",
        "L3: a licence the network's list names is allowed.",
        "CERN-OHL-S-2.0",
        allowed,
        allow_list=["MIT", "CERN-OHL-S-2.0"],
    )
    yield _publish(
        "with-exception-base-listed",
        "L3: `X WITH E` is allowed when X is listed (an exception only adds permissions).",
        "Apache-2.0 WITH SHL-2.1",
        allowed,
        allow_list=["Apache-2.0"],
    )
    yield _publish(
        "allow-list-blocked-entry",
        "0006 §7: a rule document that lists a blocked licence is refused.",
        "MIT",
        error(NOT_OPEN),
        allow_list=["MIT", "CC-BY-NC-4.0"],
    )
    yield _publish(
        "allow-list-entry-not-one-licence",
        "0006 §7: an allow-list entry is one licence, not an expression.",
        "MIT",
        error(BAD_LICENCE),
        allow_list=["MIT OR Apache-2.0"],
    )
    yield _publish(
        "derivative-allowed",
        "L5: CC-BY-SA-4.0 allows GPL-3.0-only as a child (one-way); its licence is carried.",
        "GPL-3.0-only",
        ok(verdict="allowed", attribution=["CC-BY-SA-4.0"]),
        parents=["CC-BY-SA-4.0"],
    )
    yield _publish(
        "derivative-permissive-parents",
        "L5: permissive parents allow any child; each is carried, in the parents' order.",
        "CERN-OHL-S-2.0",
        ok(verdict="allowed", attribution=["MIT", "CC-BY-4.0"]),
        parents=["MIT", "CC-BY-4.0"],
    )
    yield _publish(
        "derivative-forbidden",
        "L5: GPL-3.0-only requires a child under GPL-3.0-only, not CC-BY-SA-4.0.",
        "CC-BY-SA-4.0",
        error(FORBIDDEN, field="derived_from"),
        parents=["GPL-3.0-only"],
    )
    yield _publish(
        "derivative-review",
        "L5: mixed copyleft in the parents is review: publishable, flagged.",
        "CERN-OHL-S-2.0",
        ok(verdict="review", attribution=["CERN-OHL-S-2.0", "CC-BY-SA-4.0"]),
        parents=["CERN-OHL-S-2.0", "CC-BY-SA-4.0"],
    )
    yield _publish(
        "not-open-before-forbidden",
        "L3 before L5: a blocked child of a GPL parent is refused as not open.",
        "CC-BY-NC-4.0",
        error(NOT_OPEN, field="licence"),
        parents=["GPL-3.0-only"],
    )
    yield _publish(
        "parent-licence-not-parsed",
        "L4: a parent's licence that is no expression.",
        "MIT",
        error(BAD_LICENCE),
        parents=["MIT, Apache-2.0"],
    )


# -- designs/mesh ----------------------------------------------------------------------------

BAD_MESH = "decode.bad-mesh"
Point = tuple[float, float, float]
Triangle = tuple[Point, Point, Point]


def tetrahedron(edge: float = 10.0, at: Point = (0.0, 0.0, 0.0)) -> list[Triangle]:
    """A right tetrahedron with three edges of `edge` mm along the axes, outward normals."""
    x, y, z = at
    o, a, b, c = (x, y, z), (x + edge, y, z), (x, y + edge, z), (x, y, z + edge)
    return [(o, b, a), (o, a, c), (o, c, b), (a, b, c)]


def cube(edge: float = 20.0) -> list[Triangle]:
    """A cube of `edge` mm centred on the origin: 12 triangles, outward normals."""
    h = edge / 2
    corners = {(i, j, k): (i * h, j * h, k * h) for i in (-1, 1) for j in (-1, 1) for k in (-1, 1)}
    quads = [  # each face's corners counter-clockwise seen from outside
        [(-1, -1, -1), (-1, 1, -1), (1, 1, -1), (1, -1, -1)],
        [(-1, -1, 1), (1, -1, 1), (1, 1, 1), (-1, 1, 1)],
        [(-1, -1, -1), (1, -1, -1), (1, -1, 1), (-1, -1, 1)],
        [(-1, 1, -1), (-1, 1, 1), (1, 1, 1), (1, 1, -1)],
        [(-1, -1, -1), (-1, -1, 1), (-1, 1, 1), (-1, 1, -1)],
        [(1, -1, -1), (1, 1, -1), (1, 1, 1), (1, -1, 1)],
    ]
    out: list[Triangle] = []
    for q in quads:
        a, b, c, d = (corners[k] for k in q)
        out += [(a, b, c), (a, c, d)]
    return out


def geometry(triangles: Sequence[Triangle]) -> dict[str, Any]:
    """0010 §3.2, literally: corners in mm (exact here), micrometres and mm³ rounded half
    to even; the volume the divergence sum over x; closed when every edge is two
    triangles'."""
    corners = [p for t in triangles for p in t]
    low = [min(p[i] for p in corners) for i in range(3)]
    high = [max(p[i] for p in corners) for i in range(3)]
    volume = Fraction(0)
    edges: dict[frozenset[Point], int] = {}
    for a, b, c in triangles:
        u = [Fraction(b[i]) - Fraction(a[i]) for i in range(3)]
        v = [Fraction(c[i]) - Fraction(a[i]) for i in range(3)]
        normal_x = u[1] * v[2] - u[2] * v[1]
        volume += normal_x * (Fraction(a[0]) + Fraction(b[0]) + Fraction(c[0])) / 6
        for e in ((a, b), (b, c), (c, a)):
            edges[frozenset(e)] = edges.get(frozenset(e), 0) + 1
    return ok(
        geometry={
            "bbox_min_um": [round(Fraction(v) * 1000) for v in low],
            "bbox_max_um": [round(Fraction(v) * 1000) for v in high],
            "volume_mm3": round(abs(volume)),
            "triangles": len(triangles),
            "closed": all(n == 2 for n in edges.values()),
        }
    )


def binary_stl(triangles: Sequence[Triangle], header: bytes = b"fabcommons vectors") -> bytes:
    out = header.ljust(80, b" ") + struct.pack("<I", len(triangles))
    for t in triangles:
        out += struct.pack("<3f", 0.0, 0.0, 0.0)
        out += b"".join(struct.pack("<3f", *p) for p in t) + b"\0\0"
    return out


def _num(v: float) -> str:
    return repr(v) if not float(v).is_integer() else str(int(v))


def ascii_stl(triangles: Sequence[Triangle]) -> bytes:
    lines = ["solid vectors"]
    for t in triangles:
        lines += ["  facet normal 0 0 0", "    outer loop"]
        lines += [f"      vertex {' '.join(_num(c) for c in p)}" for p in t]
        lines += ["    endloop", "  endfacet"]
    lines.append("endsolid vectors")
    return ("\n".join(lines) + "\n").encode()


def stored_zip(members: Sequence[tuple[str, bytes]]) -> bytes:
    """A zip of `members`, stored (no compression), every time 1980-01-01 00:00."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        for name, data in members:
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.create_system = 3
            info.external_attr = 0o644 << 16
            z.writestr(info, data)
    return buf.getvalue()


_CONTENT_TYPES = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<Types xmlns="http://schemas.openxmlformats.org'
    b'/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.'
    b'openxmlformats-package.relationships+xml"/><Default Extension="model" ContentType='
    b'"application/vnd.ms-package.3dmanufacturing-3dmodel+xml"/></Types>'
)
_RELS = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<Relationships xmlns="http://schemas.'
    b'openxmlformats.org/package/2006/relationships"><Relationship Target="/3D/3dmodel.model"'
    b' Id="rel0" Type="http://schemas.microsoft.com/3dmanufacturing/2013/01/3dmodel"/>'
    b"</Relationships>"
)
_TET_VERTICES = [(0, 0, 0), (10, 0, 0), (0, 10, 0), (0, 0, 10)]
_TET_TRIANGLES = [(0, 2, 1), (0, 1, 3), (0, 3, 2), (1, 2, 3)]


def model_xml(
    unit: str | None = "millimeter",
    triangles: Sequence[tuple[int, int, int]] = _TET_TRIANGLES,
    transform: str | None = None,
) -> bytes:
    """A 3MF model part: one object, the tetrahedron's vertices, one build item."""
    vs = "".join(f'<vertex x="{x}" y="{y}" z="{z}"/>' for x, y, z in _TET_VERTICES)
    ts = "".join(f'<triangle v1="{a}" v2="{b}" v3="{c}"/>' for a, b, c in triangles)
    unit_attr = "" if unit is None else f' unit="{unit}"'
    placed = "" if transform is None else f' transform="{transform}"'
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<model{unit_attr} xml:lang="en-US" '
        'xmlns="http://schemas.microsoft.com/3dmanufacturing/core/2015/02">'
        f'<resources><object id="1" type="model"><mesh><vertices>{vs}</vertices>'
        f"<triangles>{ts}</triangles></mesh></object></resources>"
        f'<build><item objectid="1"{placed}/></build></model>'
    ).encode()


def package(model: bytes, extra: Sequence[tuple[str, bytes]] = ()) -> bytes:
    members = [("[Content_Types].xml", _CONTENT_TYPES), ("_rels/.rels", _RELS)]
    return stored_zip([*members, ("3D/3dmodel.model", model), *extra])


def _claiming(data: bytes, name: bytes, size: int) -> bytes:
    """A zip whose central directory says member `name` unpacks to `size` bytes."""
    at = data.rindex(b"PK\x01\x02")
    while data[at + 46 : at + 46 + len(name)] != name:
        at = data.rindex(b"PK\x01\x02", 0, at)
    return data[: at + 24] + struct.pack("<I", size) + data[at + 28 :]


def _mesh(
    name: str, description: str, media_type: str, data: bytes, expect: dict[str, Any]
) -> Case:
    return Case(
        "designs",
        "mesh",
        name,
        description,
        {"media_type": media_type, "mesh_hex": data.hex()},
        expect,
    )


def _tet_in(unit_mm: float, shift: Point = (0.0, 0.0, 0.0)) -> list[Triangle]:
    corners = [tuple(c * unit_mm + shift[i] for i, c in enumerate(v)) for v in _TET_VERTICES]
    return [(corners[a], corners[b], corners[c]) for a, b, c in _TET_TRIANGLES]  # type: ignore[misc]


def mesh_cases() -> Iterator[Case]:
    stl, mf = "model/stl", "model/3mf"
    tet, box = tetrahedron(), cube()
    yield _mesh(
        "binary-tetrahedron",
        "A binary STL tetrahedron: 166.67 mm³ rounds to 167.",
        stl,
        binary_stl(tet),
        geometry(tet),
    )
    yield _mesh(
        "binary-cube",
        "A binary STL cube of 20 mm centred on the origin.",
        stl,
        binary_stl(box),
        geometry(box),
    )
    yield _mesh(
        "binary-header-says-solid",
        "S1: a header that begins with `solid` is binary when the size matches its count.",
        stl,
        binary_stl(tet, header=b"solid but binary"),
        geometry(tet),
    )
    open_tet = tet[:3]
    yield _mesh(
        "binary-open",
        "G5: a tetrahedron without one face is not closed; its volume is the nominal sum.",
        stl,
        binary_stl(open_tet),
        geometry(open_tet),
    )
    reversed_tet = [(a, c, b) for a, b, c in tet]
    yield _mesh(
        "binary-inside-out",
        "G5: triangles wound inwards give a negative sum; the volume is its magnitude.",
        stl,
        binary_stl(reversed_tet),
        geometry(reversed_tet),
    )
    ties = ((0.0625, 0.0, 0.0), (0.1875, 0.0, 0.0), (0.0625, 1.0, 0.0))
    yield _mesh(
        "micrometre-ties",
        "G5: corners at 62.5 µm and 187.5 µm (exact in binary) round half to even: 62, 188.",
        stl,
        binary_stl([ties]),
        geometry([ties]),
    )
    far = ((0.0, 0.0, 0.0), (1_000_000.0, 0.0, 0.0), (0.0, 10.0, 0.0))
    yield _mesh(
        "vertex-at-one-kilometre",
        "G3 boundary: a corner 1,000,000 mm from the origin is read.",
        stl,
        binary_stl([far]),
        geometry([far]),
    )
    beyond = ((0.0, 0.0, 0.0), (-1_000_001.0, 0.0, 0.0), (0.0, 10.0, 0.0))
    yield _mesh(
        "vertex-beyond-one-kilometre",
        "G3: a corner more than 1,000,000 mm from the origin.",
        stl,
        binary_stl([beyond]),
        error(BAD_MESH),
    )
    yield _mesh(
        "vertex-not-finite",
        "G2: a corner whose x is NaN.",
        stl,
        binary_stl([((math.nan, 0.0, 0.0), (1.0, 0.0, 0.0), (0.0, 1.0, 0.0))]),
        error(BAD_MESH),
    )
    yield _mesh(
        "binary-no-triangles",
        "G1: a binary STL of 84 bytes declares no triangle.",
        stl,
        binary_stl([]),
        error(BAD_MESH),
    )
    yield _mesh(
        "binary-size-mismatch",
        "S2: one byte more than the count declares, and no `solid`: neither form.",
        stl,
        binary_stl(tet) + b"\0",
        error(BAD_MESH),
    )
    yield _mesh(
        "binary-size-mismatch-solid-header",
        "S1, S3: a size that does not match makes it ASCII; with no `endsolid` it has no "
        "triangle (G1).",
        stl,
        binary_stl(tet, header=b"solid but binary")[:-1],
        error(BAD_MESH),
    )
    yield _mesh(
        "shorter-than-header", "S2: 10 bytes are neither form.", stl, b"\0" * 10, error(BAD_MESH)
    )
    yield _mesh(
        "ascii-tetrahedron", "An ASCII STL tetrahedron.", stl, ascii_stl(tet), geometry(tet)
    )
    yield _mesh(
        "ascii-with-bom",
        "S2: a UTF-8 byte order mark and white space may come before `solid`.",
        stl,
        b"\xef\xbb\xbf\n  " + ascii_stl(tet),
        geometry(tet),
    )
    two = ascii_stl(tet).replace(b"      vertex 0 0 10\n", b"", 1)
    yield _mesh(
        "ascii-vertex-missing",
        "S3: a facet with two vertices: the corner count is not a multiple of 3.",
        stl,
        two,
        error(BAD_MESH),
    )
    yield _mesh(
        "3mf-tetrahedron",
        "A 3MF package in millimetres.",
        mf,
        package(model_xml()),
        geometry(_tet_in(1.0)),
    )
    yield _mesh(
        "3mf-no-unit",
        "T5: a model without a unit is in millimetres (3MF core §3.4).",
        mf,
        package(model_xml(unit=None)),
        geometry(_tet_in(1.0)),
    )
    yield _mesh(
        "3mf-unit-millimeters",
        "T5: `millimeters`, not a 3MF unit, is read as millimetres.",
        mf,
        package(model_xml("millimeters")),
        geometry(_tet_in(1.0)),
    )
    yield _mesh(
        "3mf-centimetre",
        "T5: centimetres are converted to mm.",
        mf,
        package(model_xml("centimeter")),
        geometry(_tet_in(10.0)),
    )
    yield _mesh(
        "3mf-inch",
        "T5: inches are 25.4 mm.",
        mf,
        package(model_xml("inch")),
        geometry(_tet_in(25.4)),
    )
    yield _mesh(
        "3mf-transform",
        "T6: a build item's transform moves its object 5 mm along x.",
        mf,
        package(model_xml(transform="1 0 0 0 1 0 0 0 1 5 0 0")),
        geometry(_tet_in(1.0, (5.0, 0.0, 0.0))),
    )
    yield _mesh(
        "3mf-model-part-only",
        "T4: the model part alone is enough.",
        mf,
        stored_zip([("3D/3dmodel.model", model_xml())]),
        geometry(_tet_in(1.0)),
    )
    yield _mesh(
        "3mf-not-zip", "T1: bytes that are no zip archive.", mf, b"PK not a zip", error(BAD_MESH)
    )
    yield _mesh(
        "3mf-too-large-unpacked",
        "T3: a member that says it unpacks to 512 MiB + 1 byte, refused before unpacking.",
        mf,
        _claiming(
            package(model_xml(), [("Metadata/big.bin", b"x")]),
            b"Metadata/big.bin",
            512 * 1024 * 1024 + 1 - len(_CONTENT_TYPES) - len(_RELS) - len(model_xml()),
        ),
        error("decode.too-large"),
    )
    yield _mesh(
        "3mf-no-model-part",
        "T4: a package without a 3D/3dmodel.model part.",
        mf,
        stored_zip([("[Content_Types].xml", _CONTENT_TYPES)]),
        error(BAD_MESH),
    )
    yield _mesh(
        "3mf-not-xml", "T5: a model part that is not XML.", mf, package(b"<model"), error(BAD_MESH)
    )
    yield _mesh(
        "3mf-unknown-unit",
        "T5: a unit 3MF does not define.",
        mf,
        package(model_xml("furlong")),
        error(BAD_MESH),
    )
    yield _mesh(
        "3mf-vertex-out-of-range",
        "T6: a triangle names vertex 7 of four.",
        mf,
        package(model_xml(triangles=[(0, 1, 7)])),
        error(BAD_MESH),
    )
    yield _mesh(
        "3mf-no-triangles",
        "G1: an object with vertices and no triangle.",
        mf,
        package(model_xml(triangles=[])),
        error(BAD_MESH),
    )
