"""Thumbnails drawn for real (OpenGL on Mesa through headless EGL): specs/0010 §8.

A known mesh gives a PNG of the right size whose part is shaded (its pixels vary), whose
background is transparent, and whose silhouette lies where the fixed camera puts it: a
bar standing up (z) is drawn tall and narrow, a bar lying along x wide and low. The
child process answers each job, refusing a mesh over the triangle bound and a bad mesh
with their codes, and the runtime's Previewer keeps the picture and the failures."""

from __future__ import annotations

import io
import json
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from node.demo.parts import PARTS_FOLDER, Triangle, binary_stl, box
from node.ops import previews
from node.ops.geometry import read_triangles_mm
from node.ops.render import render_png
from node.runtime.previews import Previewer
from node.store.blobs import BlobStore
from protocol.errors import LocalMisuseError
from tests.node.ops.test_geometry import threemf

SIZE = 128


def picture(png: bytes) -> Any:
    image = Image.open(io.BytesIO(png))
    image.load()
    assert image.format == "PNG" and image.mode == "RGBA"
    return np.asarray(image)


def silhouette(pixels: Any) -> tuple[int, int, int, int]:
    """(left, top, width, height) of the opaque pixels."""
    rows, cols = np.nonzero(pixels[:, :, 3] > 0)
    return int(cols.min()), int(rows.min()), int(np.ptp(cols)) + 1, int(np.ptp(rows)) + 1


def moved(triangles: list[Triangle], by: tuple[float, float, float]) -> list[Triangle]:
    return [tuple(tuple(p[i] + by[i] for i in range(3)) for p in t) for t in triangles]  # type: ignore[misc]


def test_a_known_mesh_is_drawn_shaded_in_the_middle_on_a_clear_background() -> None:
    bracket = PARTS_FOLDER / "l-bracket-40x30x20.stl"
    pixels = picture(render_png(read_triangles_mm(bracket, "model/stl"), SIZE))
    assert pixels.shape == (SIZE, SIZE, 4)
    part = pixels[:, :, 3] == 255
    assert 0.15 < part.mean() < 0.8  # the part fills a good share of the frame
    assert (pixels[0, 0] == 0).all() and (pixels[-1, -1] == 0).all()  # corners clear
    lit = pixels[part][:, :3].astype(float)
    assert lit.std(axis=0).max() > 10  # faces turned differently are lit differently
    left, top, width, height = silhouette(pixels)
    assert abs((left + width / 2) - SIZE / 2) < SIZE * 0.1  # centred
    assert abs((top + height / 2) - SIZE / 2) < SIZE * 0.1


def test_the_camera_stands_parts_up_z_up() -> None:
    standing = render_png(np.asarray(box((10.0, 10.0, 100.0)), dtype=float), SIZE)
    lying = render_png(np.asarray(box((100.0, 10.0, 10.0)), dtype=float), SIZE)
    _, _, width, height = silhouette(picture(standing))
    assert height > 2.5 * width
    _, _, width, height = silhouette(picture(lying))
    assert width > 1.5 * height


def test_the_same_mesh_gives_the_same_bytes_wherever_it_lies() -> None:
    cube = box((20.0, 20.0, 20.0))
    first = render_png(np.asarray(cube, dtype=float), SIZE)
    assert render_png(np.asarray(cube, dtype=float), SIZE) == first
    far = render_png(np.asarray(moved(cube, (500.0, -300.0, 40.0)), dtype=float), SIZE)
    assert (picture(far)[:, :, 3] > 0).sum() == (picture(first)[:, :, 3] > 0).sum()


def run_worker(
    jobs: list[dict[str, str]],
    max_triangles: int,
    memory_bytes: int = previews.RENDER_MEMORY_BYTES,
    check: bool = True,
) -> list[dict[str, Any]]:
    request = {
        "size_px": SIZE,
        "max_triangles": max_triangles,
        "memory_bytes": memory_bytes,
        "jobs": jobs,
    }
    done = subprocess.run(
        previews.worker_command(),
        input=json.dumps(request).encode(),
        capture_output=True,
        env=previews.worker_environment(),
        timeout=previews.RENDER_TIMEOUT_S,
        check=check,
    )
    return [json.loads(line) for line in done.stdout.decode().splitlines()]


def test_the_child_bounds_its_own_memory_before_it_loads_anything(tmp_path: Path) -> None:
    cube = tmp_path / "cube.stl"
    cube.write_bytes(binary_stl(box((20.0, 20.0, 20.0)), b"cube"))
    job = {"source": str(cube), "media_type": "model/stl", "out": str(tmp_path / "c.png")}
    assert run_worker([job], max_triangles=12, memory_bytes=48 * 1024 * 1024, check=False) == []
    assert not (tmp_path / "c.png").exists()  # the same job draws under the node's limit:
    assert [a["ok"] for a in run_worker([job], max_triangles=12)] == [True]


def test_the_child_draws_each_job_and_refuses_big_and_bad_meshes(tmp_path: Path) -> None:
    cube = tmp_path / "cube.stl"
    cube.write_bytes(binary_stl(box((20.0, 20.0, 20.0)), b"cube"))
    bad = tmp_path / "bad.stl"
    bad.write_bytes(b"not a mesh at all")
    jobs = [
        {"source": str(cube), "media_type": "model/stl", "out": str(tmp_path / "a.png")},
        {"source": str(bad), "media_type": "model/stl", "out": str(tmp_path / "b.png")},
    ]
    answers = run_worker(jobs, max_triangles=12)
    assert [(a["ok"], a.get("code")) for a in answers] == [(True, None), (False, "decode.bad-mesh")]
    assert picture((tmp_path / "a.png").read_bytes()).shape == (SIZE, SIZE, 4)
    assert not (tmp_path / "b.png").exists()
    answers = run_worker(jobs[:1], max_triangles=11)
    assert [(a["ok"], a["code"]) for a in answers] == [(False, "preview.too-many-triangles")]


def test_results_name_why_a_child_said_nothing(tmp_path: Path) -> None:
    job = previews.PreviewJob(tmp_path / "m.stl", "model/stl", tmp_path / "m.png")
    assert previews.read_results([job], b"", None)[0].code == "preview.timeout"
    assert previews.read_results([job], b"", previews.EXIT_NO_RENDERER)[0].code == (
        "preview.no-renderer"
    )
    assert previews.read_results([job], b"garbage\n", -9)[0].code == "preview.failed"


async def test_the_previewer_draws_once_keeps_it_and_remembers_failures(tmp_path: Path) -> None:
    store = BlobStore(tmp_path / "blobs")
    cube, _ = store.add_bytes(binary_stl(box((20.0, 20.0, 20.0)), b"cube"))
    bad, _ = store.add_bytes(b"solid nothing here")
    previewer = Previewer(tmp_path, store)
    png = await previewer.thumbnail(cube, "model/stl")
    assert png == previews.preview_path(tmp_path, cube)
    assert picture(png.read_bytes()).shape == (previews.THUMBNAIL_PX, previews.THUMBNAIL_PX, 4)
    drawn = png.stat().st_mtime_ns
    assert await previewer.thumbnail(cube, "model/stl") == png
    assert png.stat().st_mtime_ns == drawn  # kept, not drawn again
    with pytest.raises(LocalMisuseError) as refused:
        await previewer.thumbnail(bad, "model/stl")
    assert refused.value.code == "misuse.no-preview"
    assert previews.failure_path(previews.preview_path(tmp_path, bad)).is_file()
    with pytest.raises(LocalMisuseError) as missing:
        await previewer.thumbnail(b"\x01" * 32, "model/stl")
    assert missing.value.code == "misuse.blob-missing"


def test_a_3mf_is_drawn_like_the_same_stl_in_its_own_unit() -> None:
    bar = box((10.0, 10.0, 100.0))
    stl = render_png(read_triangles_mm(binary_stl(bar, b"bar"), "model/stl"), SIZE)
    in_cm = [tuple(tuple(v / 10 for v in p) for p in t) for t in bar]
    model = threemf(in_cm, unit="centimeter")  # type: ignore[arg-type]
    assert render_png(read_triangles_mm(model, "model/3mf"), SIZE) == stl


async def test_a_node_without_opengl_says_so_and_stops_trying(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """libglvnd finds no EGL vendor here, as on a machine without Mesa's libegl-mesa0."""
    monkeypatch.setenv("__EGL_VENDOR_LIBRARY_FILENAMES", str(tmp_path / "no-vendor.json"))
    store = BlobStore(tmp_path / "blobs")
    cube, _ = store.add_bytes(binary_stl(box((20.0, 20.0, 20.0)), b"cube"))
    previewer = Previewer(tmp_path, store)
    with pytest.raises(LocalMisuseError) as refused:
        await previewer.thumbnail(cube, "model/stl")
    assert refused.value.code == "misuse.no-preview" and "OpenGL" in refused.value.message
    assert previewer.unavailable is not None
    png = previews.preview_path(tmp_path, cube)
    assert not png.exists() and not previews.failure_path(png).exists()  # Mesa may come
    monkeypatch.delenv("__EGL_VENDOR_LIBRARY_FILENAMES")
    with pytest.raises(LocalMisuseError):  # until the node restarts: no child started again
        await previewer.thumbnail(cube, "model/stl")
    assert not png.exists()
