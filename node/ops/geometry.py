"""Measure mesh files of a design: bounding box, volume, triangles (specs/0010 §3).

`analyse_mesh(path_or_bytes, media_type)` reads an STL (binary or ASCII) or a 3MF file
with trimesh and returns a protocol.design.Geometry: floats from the library become
integers here, at the boundary — corners in micrometres, volume in whole mm³ — so no
float ever reaches a record. STL has no unit and is read as millimetres, as slicers
do; 3MF states its unit and is converted.

STL form (the only reliable test, since binary headers may begin with "solid" too): a
file is binary iff its size is exactly 84 + 50·n bytes, n being the little-endian
uint32 at bytes 80..84; otherwise it must be ASCII and begin with "solid".

Guarantees: sizes are checked before parsing (files, and a 3MF's members before
unpacking); every failure of the input is DecodeError("decode.bad-mesh") or
("decode.too-large"), a media type this module does not read is
LocalMisuseError("misuse.not-a-mesh"), an unreadable path LocalMisuseError
("misuse.bad-file"); no library exception escapes. Left to others: hashing and storing
the bytes (node/store/blobs.py), deciding which files to measure.
"""

from __future__ import annotations

import importlib
import io
import math
import struct
import zipfile
from functools import cache
from pathlib import Path
from typing import Any, Final

from protocol.design import MAX_LENGTH_UM, Geometry
from protocol.errors import DecodeError, LocalMisuseError

#: Largest mesh file read, in bytes (checked before reading).
MAX_MESH_BYTES: Final = 256 * 1024 * 1024
#: Largest total of a 3MF's unpacked members, and most members, checked before unpacking.
MAX_3MF_UNPACKED_BYTES: Final = 512 * 1024 * 1024
MAX_3MF_MEMBERS: Final = 4096

STL_HEADER_BYTES: Final = 84
STL_TRIANGLE_BYTES: Final = 50

STL_MEDIA_TYPES: Final = frozenset(
    {"model/stl", "model/x.stl-binary", "model/x.stl-ascii", "application/sla"}
)
THREEMF_MEDIA_TYPES: Final = frozenset(
    {"model/3mf", "application/vnd.ms-package.3dmanufacturing-3dmodel+xml"}
)
_SUFFIX_MEDIA_TYPES: Final = {".stl": "model/stl", ".3mf": "model/3mf"}
# 3MF Core Specification §3.4 (model units), in millimetres.
_3MF_UNIT_MM: Final = {
    "micron": 0.001,
    "millimeter": 1.0,
    # Not a 3MF unit, but trimesh's name for a model without one (3MF's default is
    # millimeter), so a model that writes it is read as millimetres too (specs/0010 §3.1).
    "millimeters": 1.0,
    "centimeter": 10.0,
    "inch": 25.4,
    "foot": 304.8,
    "meter": 1000.0,
}


def media_type_for(name: str) -> str | None:
    """The media type of a mesh file by its name's suffix, None if not a mesh."""
    return _SUFFIX_MEDIA_TYPES.get(Path(name).suffix.lower())


def is_mesh_media_type(media_type: str) -> bool:
    return media_type in STL_MEDIA_TYPES or media_type in THREEMF_MEDIA_TYPES


def stl_is_binary(data: bytes) -> bool:
    """True iff `data` has exactly the size a binary STL's triangle count declares."""
    if len(data) < STL_HEADER_BYTES:
        return False
    count: int = struct.unpack_from("<I", data, 80)[0]
    return len(data) == STL_HEADER_BYTES + STL_TRIANGLE_BYTES * count


def analyse_mesh(source: Path | bytes, media_type: str) -> Geometry:
    """The geometry of an STL or 3MF file (module docstring); raises CommonsError."""
    if not is_mesh_media_type(media_type):
        raise LocalMisuseError("misuse.not-a-mesh", f"{media_type!r} is not STL or 3MF")
    data = _read(source)
    try:
        if media_type in STL_MEDIA_TYPES:
            triangles, mm_per_unit = _stl_triangles(data), 1.0
        else:
            triangles, mm_per_unit = _3mf_triangles(data)
        return _measure(triangles, mm_per_unit)
    except (DecodeError, LocalMisuseError):
        raise
    except Exception as e:  # the library's view of malformed input, whatever its type
        raise _bad(f"cannot read the mesh ({type(e).__name__}: {str(e)[:200]})") from e


def read_triangles_mm(source: Path | bytes, media_type: str) -> Any:
    """The mesh's triangles as an (n, 3, 3) float64 array of corners in millimetres, read
    and checked as analyse_mesh reads them (for previews, node.ops.previews)."""
    if not is_mesh_media_type(media_type):
        raise LocalMisuseError("misuse.not-a-mesh", f"{media_type!r} is not STL or 3MF")
    data = _read(source)
    try:
        if media_type in STL_MEDIA_TYPES:
            return _stl_triangles(data)
        triangles, mm_per_unit = _3mf_triangles(data)
        return triangles * mm_per_unit
    except (DecodeError, LocalMisuseError):
        raise
    except Exception as e:  # as analyse_mesh
        raise _bad(f"cannot read the mesh ({type(e).__name__}: {str(e)[:200]})") from e


def _read(source: Path | bytes) -> bytes:
    if isinstance(source, bytes | bytearray):
        data = bytes(source)
    else:
        try:
            size = source.stat().st_size
            if size > MAX_MESH_BYTES:
                raise _too_large(size)
            with source.open("rb") as f:
                data = f.read(MAX_MESH_BYTES + 1)
        except OSError as e:
            raise LocalMisuseError("misuse.bad-file", f"{source}: {e.strerror or e}") from e
    if len(data) > MAX_MESH_BYTES:
        raise _too_large(len(data))
    return data


@cache
def _trimesh() -> Any:
    """trimesh, imported on first use (it takes ~0.4 s) and typed as Any: its
    functions carry no annotations, and this module is the boundary that checks them."""
    return importlib.import_module("trimesh")


def _stl_triangles(data: bytes) -> Any:
    """An (n, 3, 3) float64 array of triangle corners."""
    stl = importlib.import_module("trimesh.exchange.stl")
    np = importlib.import_module("numpy")
    if stl_is_binary(data):
        loaded = stl.load_stl_binary(io.BytesIO(data))
    elif data.removeprefix(b"\xef\xbb\xbf").lstrip()[:5].lower() == b"solid":
        loaded = stl.load_stl_ascii(io.BytesIO(data))
    else:
        raise _bad(
            f"neither binary STL ({len(data)} bytes is not 84 + 50·n for the count in "
            "its header) nor ASCII STL (which begins with 'solid')"
        )
    solids = loaded["geometry"].values() if "geometry" in loaded else [loaded]
    parts = [np.asarray(s["vertices"], dtype=np.float64).reshape(-1, 3, 3) for s in solids]
    return np.concatenate(parts) if parts else np.zeros((0, 3, 3))


def _3mf_triangles(data: bytes) -> tuple[Any, float]:
    """The triangles of every build item, placed by its transforms, and the unit."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError) as e:
        raise _bad(f"not a 3MF package (zip): {e}") from e
    if len(members) > MAX_3MF_MEMBERS:
        raise _bad(f"{len(members)} members in the package, limit {MAX_3MF_MEMBERS}")
    unpacked = sum(m.file_size for m in members)
    if unpacked > MAX_3MF_UNPACKED_BYTES:
        raise DecodeError(
            "decode.too-large", f"3MF unpacks to {unpacked} bytes, limit {MAX_3MF_UNPACKED_BYTES}"
        )
    if not any("3d/3dmodel.model" in m.filename.lower() for m in members):
        raise _bad("no 3D/3dmodel.model part in the package")
    scene = _trimesh().load(io.BytesIO(data), file_type="3mf", force="scene", process=False)
    unit = str(scene.metadata.get("units", "millimeter")).lower()
    if unit not in _3MF_UNIT_MM:
        raise _bad(f"unknown 3MF unit {unit!r}")
    for geometry in scene.geometry.values():
        faces = geometry.faces
        if len(faces) and (faces.min() < 0 or faces.max() >= len(geometry.vertices)):
            raise _bad("a triangle names a vertex that does not exist")
    np = importlib.import_module("numpy")
    if not scene.geometry:
        return np.zeros((0, 3, 3)), _3MF_UNIT_MM[unit]
    return np.asarray(scene.to_mesh().triangles, dtype=np.float64), _3MF_UNIT_MM[unit]


def _measure(triangles: Any, mm_per_unit: float) -> Geometry:
    """Integer geometry of an (n, 3, 3) array of corners in some unit."""
    np = importlib.import_module("numpy")
    count = len(triangles)
    if count == 0:
        raise _bad("the mesh has no triangles")
    if count > 2**32 - 1:
        raise _bad(f"{count} triangles")
    if not np.isfinite(triangles).all():
        raise _bad("a vertex is not a finite number")
    corners = triangles.reshape(-1, 3) * mm_per_unit
    low, high = corners.min(axis=0), corners.max(axis=0)
    limit_mm = MAX_LENGTH_UM / 1000
    if max(abs(float(v)) for v in (*low, *high)) > limit_mm:
        raise _bad(f"a vertex lies more than {limit_mm:.0f} mm from the origin")
    volume_mm3 = _volume(triangles * mm_per_unit)
    mesh = _trimesh().Trimesh(
        vertices=corners, faces=np.arange(3 * count).reshape(-1, 3), process=False
    )
    mesh.merge_vertices()
    if not math.isfinite(volume_mm3):
        raise _bad("the volume is not a finite number")
    return Geometry(
        bbox_min_um=[_um(v) for v in low],
        bbox_max_um=[_um(v) for v in high],
        volume_mm3=round(volume_mm3),
        triangles=count,
        closed=bool(mesh.is_watertight),
    )


def _volume(triangles: Any) -> float:
    """|sum of N_x (a_x + b_x + c_x) / 6|, N = (b - a) cross (c - a) (specs/0010 §3.2): the
    enclosed volume of a closed mesh, written out rather than read from trimesh, whose
    mass properties divide by the volume and warn when it is zero."""
    a, b, c = triangles[:, 0], triangles[:, 1], triangles[:, 2]
    u, v = b - a, c - a
    normal_x = u[:, 1] * v[:, 2] - u[:, 2] * v[:, 1]
    return abs(float((normal_x * (a[:, 0] + b[:, 0] + c[:, 0])).sum()) / 6)


def _um(mm: Any) -> int:
    return round(float(mm) * 1000)


def _bad(message: str) -> DecodeError:
    return DecodeError("decode.bad-mesh", message)


def _too_large(size: int) -> DecodeError:
    return DecodeError("decode.too-large", f"mesh of {size} bytes, limit {MAX_MESH_BYTES}")
