"""Small real parts as binary STL, for the demo federation and the tests.

`PARTS` names three parts a fab lab makes every week — a 20 mm calibration cube, an
L bracket and an M5 spacer — and `part_stl(name)` builds each one's binary STL from
its dimensions alone: closed meshes, outward normals, corners rounded to 0.1 µm, so the
same code writes the same bytes. `python -m node.demo.parts DIR` writes them to DIR; the
copies shipped in node/data/parts/ are checked against this code by the tests.
"""

from __future__ import annotations

import math
import struct
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Final

Point = tuple[float, float, float]
Triangle = tuple[Point, Point, Point]

PARTS_FOLDER: Final = Path(__file__).parents[1] / "data" / "parts"


def box(size: Point) -> list[Triangle]:
    """An axis-aligned box from the origin to `size`."""
    x, y, z = size
    return prism([(0, 0), (x, 0), (x, y), (0, y)], [(0, 1, 2), (0, 2, 3)], z)


def l_bracket() -> list[Triangle]:
    """An L bracket: legs 40 x 30 mm, 4 mm thick, 20 mm wide (5280 mm³)."""
    profile = [(0.0, 0.0), (40.0, 0.0), (40.0, 4.0), (4.0, 4.0), (4.0, 30.0), (0.0, 30.0)]
    # fan from the inner corner (4, 4), which sees every other vertex
    caps = [(3, 4, 5), (3, 5, 0), (3, 0, 1), (3, 1, 2)]
    return prism(profile, caps, 20.0)


def spacer(outer_d: float = 10.0, inner_d: float = 5.3, height: float = 8.0) -> list[Triangle]:
    """A round spacer for M5 screws: a tube of 48 facets."""
    n = 48
    angles = [2 * math.pi * i / n for i in range(n)]
    outer = [(outer_d / 2 * math.cos(a), outer_d / 2 * math.sin(a)) for a in angles]
    inner = [(inner_d / 2 * math.cos(a), inner_d / 2 * math.sin(a)) for a in angles]
    triangles: list[Triangle] = []
    for i in range(n):
        j = (i + 1) % n
        o0, o1, i0, i1 = outer[i], outer[j], inner[i], inner[j]
        for z, up in ((height, True), (0.0, False)):
            triangles += _oriented([_at(o0, z), _at(o1, z), _at(i1, z)], up)
            triangles += _oriented([_at(o0, z), _at(i1, z), _at(i0, z)], up)
        triangles += _wall(o0, o1, height)
        triangles += _wall(i1, i0, height)  # the hole: walked clockwise, faces inward
    return triangles


def prism(
    profile: list[tuple[float, float]], caps: list[tuple[int, int, int]], height: float
) -> list[Triangle]:
    """A counter-clockwise polygon, triangulated by `caps`, extruded from z=0 to `height`."""
    triangles: list[Triangle] = []
    for a, b, c in caps:
        triangles += _oriented([_at(profile[k], height) for k in (a, b, c)], True)
        triangles += _oriented([_at(profile[k], 0.0) for k in (a, b, c)], False)
    for i, start in enumerate(profile):
        triangles += _wall(start, profile[(i + 1) % len(profile)], height)
    return triangles


def _at(point: tuple[float, float], z: float) -> Point:
    return (round(point[0], 4), round(point[1], 4), z)


def _oriented(corners: list[Point], up: bool) -> list[Triangle]:
    a, b, c = corners
    return [(a, b, c) if up else (a, c, b)]


def _wall(start: tuple[float, float], end: tuple[float, float], height: float) -> list[Triangle]:
    """Two triangles facing right of the walk from `start` to `end` (outward for CCW)."""
    b0, b1, t0, t1 = _at(start, 0.0), _at(end, 0.0), _at(start, height), _at(end, height)
    return [(b0, b1, t1), (b0, t1, t0)]


def binary_stl(triangles: list[Triangle], header: bytes) -> bytes:
    """A binary STL: 80-byte header, uint32 count, then normal, corners, 0 per triangle."""
    if len(header) > 80:
        raise ValueError("an STL header is at most 80 bytes")
    out = [header.ljust(80, b" "), struct.pack("<I", len(triangles))]
    for a, b, c in triangles:
        out.append(struct.pack("<12fH", *_normal(a, b, c), *a, *b, *c, 0))
    return b"".join(out)


def _normal(a: Point, b: Point, c: Point) -> Point:
    u = (b[0] - a[0], b[1] - a[1], b[2] - a[2])
    v = (c[0] - a[0], c[1] - a[1], c[2] - a[2])
    n = (u[1] * v[2] - u[2] * v[1], u[2] * v[0] - u[0] * v[2], u[0] * v[1] - u[1] * v[0])
    length = math.sqrt(sum(x * x for x in n)) or 1.0
    return (n[0] / length, n[1] / length, n[2] / length)


PARTS: Final[dict[str, tuple[str, Callable[[], list[Triangle]]]]] = {
    "calibration-cube-20mm.stl": (
        "Fab Commons demo part: 20 mm calibration cube",
        lambda: box((20.0, 20.0, 20.0)),
    ),
    "l-bracket-40x30x20.stl": ("Fab Commons demo part: L bracket 40x30x20 mm", l_bracket),
    "spacer-m5-10x8.stl": ("Fab Commons demo part: M5 spacer, 10 mm OD, 8 mm", spacer),
}


def part_stl(name: str) -> bytes:
    """The binary STL of one of `PARTS`."""
    header, build = PARTS[name]
    return binary_stl(build(), header.encode("ascii"))


def write_parts(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name in PARTS:
        path = folder / name
        path.write_bytes(part_stl(name))
        written.append(path)
    return written


if __name__ == "__main__":
    for written in write_parts(Path(sys.argv[1]) if len(sys.argv) > 1 else PARTS_FOLDER):
        print(written)
