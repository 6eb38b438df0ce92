"""Thumbnails of meshes, a local artefact of each node (specs/0010 §8).

A thumbnail is not part of any record: each node draws its own from the mesh bytes it
holds (so no node shows a picture the author chose), and keeps it in the home's
`previews/` folder under the mesh's blob id, the renderer's version and the size
(`preview_path`). A failed drawing leaves a note beside it (`<name>.json`, its code and
message) so it is not tried again on every view.

Drawing runs in a child process (`python -m node.ops.preview_worker`): OpenGL on
Mesa's software rasteriser can take seconds and hundreds of megabytes on a big mesh,
and a crash of the driver must not take the node with it. This module says what the
child is given (`worker_input`), how it is bounded (`RENDER_TIMEOUT_S`,
`MAX_PREVIEW_TRIANGLES`, `RENDER_MEMORY_BYTES`: the child sets that limit on itself
before it loads anything, since a `preexec_fn` is not safe in the node's threaded
process) and reads what it answers (`read_results`); node.runtime.previews starts
it. Left to others: serving (node.api), choosing which meshes to draw.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from node.ops.render import RENDER_VERSION
from protocol.errors import LocalMisuseError
from protocol.ids import id_to_text

PREVIEWS_FOLDER: Final = "previews"
#: Thumbnail width and height, in pixels.
THUMBNAIL_PX: Final = 256
#: Meshes with more triangles get no thumbnail (the dashboard shows why): about 2 s and
#: 700 MB of the child's memory at this bound on a 2-core machine.
MAX_PREVIEW_TRIANGLES: Final = 1_000_000
#: A child drawing a batch is stopped after this long, and limited to this much memory.
RENDER_TIMEOUT_S: Final = 60.0
RENDER_MEMORY_BYTES: Final = 3 * 1024**3
#: The code of a mesh with no thumbnail (404 from the API), and the reasons it gives.
NO_PREVIEW: Final = "misuse.no-preview"
#: The child's exit status when no OpenGL context could be made (no EGL/Mesa here).
EXIT_NO_RENDERER: Final = 3


@dataclass(frozen=True)
class PreviewJob:
    """Draw the mesh at `source` (of `media_type`) into `out`."""

    source: Path
    media_type: str
    out: Path


@dataclass(frozen=True)
class PreviewResult:
    out: Path
    ok: bool
    code: str | None = None
    message: str | None = None


def previews_folder(home_path: Path) -> Path:
    return home_path / PREVIEWS_FOLDER


def preview_path(home_path: Path, blob_id: bytes) -> Path:
    """Where the thumbnail of the mesh `blob_id` is kept (drawn or not)."""
    name = f"{id_to_text(blob_id)}-r{RENDER_VERSION}-{THUMBNAIL_PX}.png"
    return previews_folder(home_path) / name


def failure_path(png: Path) -> Path:
    return png.with_suffix(".json")


def read_failure(png: Path) -> LocalMisuseError | None:
    """The recorded reason a thumbnail could not be drawn, if any."""
    try:
        note = json.loads(failure_path(png).read_text())
    except (OSError, ValueError):
        return None
    return no_preview(str(note.get("message", "it could not be drawn")))


def no_preview(why: str) -> LocalMisuseError:
    return LocalMisuseError(NO_PREVIEW, f"no thumbnail: {why}")


def record(result: PreviewResult) -> None:
    """Keep a failure's reason beside where its picture would be (a drawn one is there)."""
    if result.ok or result.code == "preview.no-renderer":  # installing Mesa fixes that
        return
    note = {"code": result.code, "message": result.message}
    result.out.parent.mkdir(parents=True, exist_ok=True)
    failure_path(result.out).write_text(json.dumps(note))


def worker_command() -> list[str]:
    return [sys.executable, "-m", "node.ops.preview_worker"]


def worker_environment() -> dict[str, str]:
    """The child's environment: Mesa on one thread (a thumbnail needs no more, and the
    node's other work keeps its cores), headless EGL whatever DISPLAY says."""
    env = {k: v for k, v in os.environ.items() if k != "DISPLAY"}
    env["LP_NUM_THREADS"] = "1"
    return env


def worker_input(jobs: list[PreviewJob]) -> bytes:
    return json.dumps(
        {
            "size_px": THUMBNAIL_PX,
            "max_triangles": MAX_PREVIEW_TRIANGLES,
            "memory_bytes": RENDER_MEMORY_BYTES,
            "jobs": [
                {"source": str(j.source), "media_type": j.media_type, "out": str(j.out)}
                for j in jobs
            ],
        }
    ).encode()


def read_results(
    jobs: list[PreviewJob], output: bytes, exit_status: int | None
) -> list[PreviewResult]:
    """One result per job from the child's JSON lines; jobs it never answered failed
    with the reason its exit gives (killed at the time limit, out of memory, no GL)."""
    answered: dict[str, PreviewResult] = {}
    for line in output.decode(errors="replace").splitlines():
        try:
            row = json.loads(line)
            out = str(row["out"])
        except (ValueError, KeyError, TypeError):
            continue
        answered[out] = PreviewResult(
            Path(out), bool(row.get("ok")), row.get("code"), row.get("message")
        )
    if exit_status is None:
        why = ("preview.timeout", f"drawing took longer than {RENDER_TIMEOUT_S:.0f} s")
    elif exit_status == EXIT_NO_RENDERER:
        why = ("preview.no-renderer", "this node has no OpenGL (EGL, Mesa) to draw with")
    else:
        why = ("preview.failed", f"the renderer stopped (exit status {exit_status})")
    return [answered.get(str(j.out), PreviewResult(j.out, False, *why)) for j in jobs]
