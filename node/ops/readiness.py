"""Measure the print-readiness of a mesh (specs/0010 §3.3), keep it, and say what is
known of a design's meshes (its author's published findings, §3.5, or our own).

`measure_readiness(triangles_mm)` takes the (n, 3, 3) array of corners in millimetres
that node.ops.geometry read and checked (G1 to G4) and returns a ledger.readiness.Readiness:
edges that border one triangle (open) or more than two (non-manifold), triangles with
no area, edges whose two triangles turn the same way (flipped normals), shells and
whether they overlap (with the volume of their union, manifold3d), the thinnest wall
(rays cast inward from seeded samples, Embree through trimesh), and the share of the
surface that overhangs.

Guarantees: the result depends only on the triangles (fixed seed, no clock, no
threads' order), so the same mesh bytes give the same findings with the same
libraries; the cost is bounded: shells, overlap and walls are measured only up to
MAX_SOLID_TRIANGLES triangles (None above), and at most WALL_RAYS rays are cast.
`keep_readiness` measures and stores by hash (node.store.readiness); `mesh_readiness`
looks a design's meshes up (measuring those held but not yet measured, when asked);
`design_readiness` prefers our own measurement to the author's; `readiness_json` is
what `design show` and the API print.
Left to others: reading and checking the file (node.ops.geometry), the rules that
turn findings into warnings (ledger.readiness), signing (node.ops.designs).
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Sequence
from functools import cache
from typing import Any, Final

from ledger.readiness import Readiness, describe, warnings_for
from node.ops.context import LedgerContext
from node.ops.geometry import read_mesh
from node.store.blobs import BlobStore
from node.store.home import NodeHome
from node.store.readiness import ReadinessStore
from protocol.blob import DEFAULT_MAX_BLOB_BYTES
from protocol.capability import processes_for_token
from protocol.design import DesignBody, FileEntry
from protocol.errors import CommonsError

#: §3.3: above this many triangles, shells, overlap and thinnest wall are not measured.
MAX_SOLID_TRIANGLES: Final = 1_000_000
#: §3.3: rays cast for the thinnest wall, and the fewest hits that make an estimate.
WALL_RAYS: Final = 2048
MIN_WALL_HITS: Final = 16
#: §3.3: the percentile of the hit distances reported as the thinnest wall.
WALL_PERCENTILE: Final = 5
#: §3.3: the seed of the samples (numpy's PCG64), fixed so results repeat.
WALL_SEED: Final = 10
#: §3.3: rays start this far inside the surface (mm), and it is added back.
RAY_OFFSET_MM: Final = 0.001
#: §3.3: a triangle has no area when |N| <= this * (its longest edge)^2.
DEGENERATE_RATIO: Final = 1e-9
#: §3.3: a face overhangs when its normal's z is below -cos 45°; it lies on the bed when
#: every corner is within this (mm) of the lowest z.
OVERHANG_NZ: Final = -math.sqrt(0.5)
BED_TOLERANCE_MM: Final = 0.001
#: §3.3: shells overlap when their volumes add up to more than their union by this share.
OVERLAP_RATIO: Final = 1e-5


@cache
def _np() -> Any:
    return importlib.import_module("numpy")


def measure_readiness(triangles: Any) -> Readiness:
    """§3.3 for an (n, 3, 3) float64 array of corners in mm (n ≥ 1, finite)."""
    np = _np()
    n = len(triangles)
    a, b, c = triangles[:, 0], triangles[:, 1], triangles[:, 2]
    cross = np.cross(b - a, c - a)
    double_area = np.linalg.norm(cross, axis=1)
    longest = np.max([_sq(b - a), _sq(c - a), _sq(c - b)], axis=0)
    degenerate = double_area <= DEGENERATE_RATIO * longest
    faces = _vertex_ids(triangles.reshape(-1, 3)).reshape(-1, 3)
    edges = _edge_table(faces)
    solid = n <= MAX_SOLID_TRIANGLES
    closed = edges.open == 0 and edges.non_manifold == 0 and edges.flipped == 0
    labels = _shell_labels(faces, edges.pairs, n) if solid else None
    # A triangle with no area is no shell of its own.
    shells = None if labels is None else len(np.unique(labels[~degenerate]))
    overlapping, solid_volume = None, None
    if labels is not None and closed:
        overlapping, solid_volume = _overlap(triangles, faces, labels)
    wall = _thinnest_wall(triangles, cross, double_area, degenerate) if solid else None
    return Readiness(
        open_edges=edges.open,
        non_manifold_edges=edges.non_manifold,
        degenerate_faces=int(degenerate.sum()),
        winding_errors=edges.flipped,
        shells=shells,
        overlapping_shells=overlapping,
        solid_volume_mm3=solid_volume,
        thinnest_wall_um=wall,
        wall_rays=WALL_RAYS if solid else 0,
        overhang_permille=_overhang_permille(triangles, cross, double_area),
    )


def _vertex_ids(corners: Any) -> Any:
    """A vertex id per corner: equal ids exactly for equal positions (numerically, so
    -0.0 is 0.0), numbered in lexicographic order of (x, y, z)."""
    np = _np()
    order = np.lexsort((corners[:, 2], corners[:, 1], corners[:, 0]))
    ordered = corners[order]
    starts = np.empty(len(corners), dtype=bool)
    starts[0] = True
    starts[1:] = (ordered[1:] != ordered[:-1]).any(axis=1)
    ids = np.empty(len(corners), dtype=np.int64)
    ids[order] = np.cumsum(starts) - 1
    return ids


def _sq(v: Any) -> Any:
    return (v * v).sum(axis=1)


class _Edges:
    """Counts over the undirected edges (pairs of distinct vertices), and the pairs of
    triangles that share one (for shells)."""

    def __init__(self, open_: int, non_manifold: int, flipped: int, pairs: Any) -> None:
        self.open, self.non_manifold, self.flipped, self.pairs = open_, non_manifold, flipped, pairs


def _edge_table(faces: Any) -> _Edges:
    np = _np()
    directed = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
    owner = np.tile(np.arange(len(faces)), 3)
    keep = directed[:, 0] != directed[:, 1]
    directed, owner = directed[keep], owner[keep]
    low, high = directed.min(axis=1), directed.max(axis=1)
    key = low.astype(np.int64) * (int(faces.max()) + 1) + high
    _, edge_of, counts = np.unique(key, return_inverse=True, return_counts=True)
    edge_of = edge_of.reshape(-1)
    # A two-triangle edge is flipped when both traverse it the same way.
    forward = directed[:, 0] < directed[:, 1]
    forward_count = np.bincount(edge_of, weights=forward, minlength=len(counts))
    two = counts == 2
    flipped = int((two & (forward_count != 1)).sum())
    order = np.argsort(edge_of, kind="stable")
    same = edge_of[order][1:] == edge_of[order][:-1]
    pairs = np.stack([owner[order][:-1][same], owner[order][1:][same]], axis=1)
    return _Edges(int((counts == 1).sum()), int((counts > 2).sum()), flipped, pairs)


def _shell_labels(faces: Any, pairs: Any, n: int) -> Any:
    """A shell number per triangle: connected through shared edges, numbered in the
    order of each shell's first triangle."""
    np = _np()
    graph = importlib.import_module("trimesh.graph")
    components = graph.connected_components(pairs, min_len=1, nodes=np.arange(n))
    labels = np.empty(n, dtype=np.int64)
    firsts = sorted((int(np.min(c)), i) for i, c in enumerate(components))
    for number, (_, i) in enumerate(firsts):
        labels[np.asarray(components[i], dtype=np.int64)] = number
    return labels


def _overlap(triangles: Any, faces: Any, labels: Any) -> tuple[bool | None, int | None]:
    """Whether closed, consistently wound shells overlap, and the solid's volume: the
    union of the outward shells less the shells turned inward (cavities). (None, None)
    when manifold3d refuses a shell (a shell that is not a manifold once its corners
    are binary32)."""
    np = _np()
    signed = _signed_volumes(triangles, labels)
    outward = [s for s in range(len(signed)) if signed[s] > 0]
    cavities = float(-signed[signed < 0].sum())
    total = float(signed[signed > 0].sum())
    if len(outward) < 2:
        return False, round(max(total - cavities, 0.0))
    manifold3d = importlib.import_module("manifold3d")
    parts = []
    for s in outward:
        own = faces[labels == s]
        used, local = np.unique(own, return_inverse=True)
        corners = triangles.reshape(-1, 3)[_first_corner(faces, used)]
        mesh = manifold3d.Mesh(
            vert_properties=np.ascontiguousarray(corners, dtype=np.float32),
            tri_verts=np.ascontiguousarray(local.reshape(-1, 3), dtype=np.uint32),
        )
        part = manifold3d.Manifold(mesh)
        if part.status() != manifold3d.Error.NoError:
            return None, None  # manifold3d refuses it (in binary32): not decided
        parts.append(part)
    union = float(manifold3d.Manifold.batch_boolean(parts, manifold3d.OpType.Add).volume())
    summed = float(sum(p.volume() for p in parts))
    overlapping = summed - union > OVERLAP_RATIO * summed
    solid = (union if overlapping else total) - cavities
    return bool(overlapping), round(max(solid, 0.0))


def _first_corner(faces: Any, vertices: Any) -> Any:
    """For each vertex id, the index of a corner (in the flattened triangles) at it."""
    np = _np()
    flat = faces.reshape(-1)
    first = np.full(int(flat.max()) + 1, -1, dtype=np.int64)
    first[flat[::-1]] = np.arange(len(flat))[::-1]
    return first[vertices]


def _signed_volumes(triangles: Any, labels: Any) -> Any:
    """Per shell, the sum of a . (b x c) / 6 (positive when its normals point out)."""
    np = _np()
    a, b, c = triangles[:, 0], triangles[:, 1], triangles[:, 2]
    each = (a * np.cross(b, c)).sum(axis=1) / 6
    return np.bincount(labels, weights=each)


def _thinnest_wall(triangles: Any, cross: Any, double_area: Any, degenerate: Any) -> int | None:
    """The WALL_PERCENTILE-th percentile of the distances from seeded surface samples,
    inward along the normal, to a wall facing away (its normal along the ray), in µm."""
    np = _np()
    weights = np.where(degenerate, 0.0, double_area)
    if weights.sum() <= 0:
        return None
    centre = (triangles.reshape(-1, 3).min(axis=0) + triangles.reshape(-1, 3).max(axis=0)) / 2
    local = triangles - centre
    rng = np.random.default_rng(WALL_SEED)
    count = WALL_RAYS
    chosen = rng.choice(len(triangles), size=count, p=weights / weights.sum())
    u, v = rng.random(count), rng.random(count)
    fold = u + v > 1
    u, v = np.where(fold, 1 - u, u), np.where(fold, 1 - v, v)
    a, b, c = local[chosen, 0], local[chosen, 1], local[chosen, 2]
    points = a + u[:, None] * (b - a) + v[:, None] * (c - a)
    normals = cross / np.where(double_area > 0, double_area, 1.0)[:, None]
    directions = -normals[chosen]
    origins = points + directions * RAY_OFFSET_MM
    embree = importlib.import_module("trimesh.ray.ray_pyembree")
    trimesh = importlib.import_module("trimesh")
    flat = local.reshape(-1, 3)
    mesh = trimesh.Trimesh(vertices=flat, faces=np.arange(len(flat)).reshape(-1, 3), process=False)
    hits, ray, tri = embree.RayMeshIntersector(mesh).intersects_location(
        origins, directions, multiple_hits=False
    )
    if len(ray) == 0:
        return None
    leaving = (normals[tri] * directions[ray]).sum(axis=1) > 0
    distances = np.linalg.norm(hits - origins[ray], axis=1)[leaving] + RAY_OFFSET_MM
    if len(distances) < MIN_WALL_HITS:
        return None
    low = float(np.percentile(np.sort(distances), WALL_PERCENTILE, method="lower"))
    return round(low * 1000)


def _overhang_permille(triangles: Any, cross: Any, double_area: Any) -> int:
    """Permille of the surface whose normal's z is below OVERHANG_NZ, bed faces aside."""
    np = _np()
    total = float(double_area.sum())
    if total <= 0:
        return 0
    nz = cross[:, 2] / np.where(double_area > 0, double_area, 1.0)
    bottom = triangles[:, :, 2].min()
    on_bed = (triangles[:, :, 2] <= bottom + BED_TOLERANCE_MM).all(axis=1)
    over = float(double_area[(nz < OVERHANG_NZ) & ~on_bed].sum())
    return round(1000 * over / total)


# -- kept and published findings (specs/0010 §3.3, §3.5) --------------------------------


def keep_readiness(
    store: ReadinessStore, blob_id: bytes, triangles: Any, rel: str, notes: list[str]
) -> Readiness | None:
    """Measure a mesh's readiness and keep it; a failure of the measuring libraries is
    a note (the design still publishes, its readiness shows as not measured)."""
    try:
        found = measure_readiness(triangles)
    except Exception as e:  # numpy, trimesh, Embree or manifold3d on a mesh they reject
        notes.append(f"{rel}: no print-readiness ({type(e).__name__}: {str(e)[:200]})")
        return None
    store.put(blob_id, found)
    return found


def mesh_readiness(
    home: NodeHome, files: Sequence[FileEntry], measure: bool = False
) -> dict[bytes, Readiness | None]:
    """The readiness of each mesh file (by blob hash) this node has measured; with
    `measure`, meshes it holds but has not measured yet are measured now (bounded,
    node.ops.readiness: not for the storage thread)."""
    store = ReadinessStore(home.readiness)
    found: dict[bytes, Readiness | None] = {}
    blobs: BlobStore | None = None
    for f in files:
        if f.geometry is None or f.sha256 in found:
            continue
        found[f.sha256] = store.get(f.sha256)
        if found[f.sha256] is not None or not measure:
            continue
        blobs = blobs or BlobStore(home.blobs, max_blob_bytes=DEFAULT_MAX_BLOB_BYTES)
        if not blobs.has(f.sha256):
            continue
        try:
            _, triangles = read_mesh(blobs.path_of(f.sha256), f.media_type)
        except CommonsError:
            continue
        found[f.sha256] = keep_readiness(store, f.sha256, triangles, f.path, [])
    return found


def design_readiness(
    ctx: LedgerContext, design_id: bytes, body: DesignBody
) -> dict[bytes, tuple[Readiness, str]]:
    """What is known of each mesh's print-readiness, by hash, and where from: `measured`
    by this node (it holds the file), else `author` (the design's author published it,
    specs/0010 §3.5)."""
    known = {h: (r, "author") for h, r in ctx.catalogue.published_readiness(design_id).items()}
    for h, r in mesh_readiness(ctx.home, body.files).items():
        if r is not None:
            known[h] = (r, "measured")
    return known


def readiness_by_hash(
    ctx: LedgerContext, design_id: bytes, body: DesignBody
) -> dict[bytes, Readiness]:
    """design_readiness without the sources: what matching takes."""
    return {h: r for h, (r, _) in design_readiness(ctx, design_id, body).items()}


def readiness_json(
    body: DesignBody, found: dict[bytes, tuple[Readiness, str]]
) -> list[dict[str, Any]]:
    """Per mesh file: its readiness and where it comes from (`measured` here, or by the
    `author`; null: neither, and this node does not hold the file: `design fetch`
    measures it) and its warnings (specs/0010 §3.4) for each process the design names,
    or the process-free ones when it names none."""
    wanted = sorted({p for t in body.processes for p in processes_for_token(t)}) or [""]
    rows = []
    for f in body.files:
        if f.geometry is None:
            continue
        r, source = found.get(f.sha256, (None, None))
        warnings: list[dict[str, Any]] = []
        for process in wanted:
            for w in () if r is None else warnings_for(r, process):
                row = {**w.to_json(), "text": describe(w)}
                if row not in warnings:
                    warnings.append(row)
        rows.append(
            {
                "path": f.path,
                "sha256": f.sha256.hex(),
                "readiness": None if r is None else r.to_json(),
                "source": source,
                "warnings": warnings,
            }
        )
    return rows
