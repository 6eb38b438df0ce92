"""The child process that draws thumbnails (node.ops.previews; specs/0010 §8.2).

Reads one JSON object on stdin — `{size_px, max_triangles, jobs: [{source, media_type,
out}]}` — and for each job writes the PNG to `out` (through a temporary name, so a
half-written picture is never seen) and prints one JSON line: `{out, ok: true}` or
`{out, ok: false, code, message}`. Exits with EXIT_NO_RENDERER, before any job, when no
OpenGL context can be made. Bounded by its parent (time, memory); a crash here costs
only the pictures not yet drawn.
"""

from __future__ import annotations

import importlib
import json
import resource
import sys
from pathlib import Path
from typing import Any

from node.ops.geometry import read_triangles_mm
from node.ops.previews import EXIT_NO_RENDERER
from node.ops.render import render_png
from protocol.errors import CommonsError


def _answer(out: str, **fields: Any) -> None:
    print(json.dumps({"out": out, **fields}), flush=True)


def _draw(job: dict[str, Any], size_px: int, max_triangles: int) -> None:
    out = Path(job["out"])
    try:
        triangles = read_triangles_mm(Path(job["source"]), str(job["media_type"]))
    except CommonsError as e:
        _answer(str(out), ok=False, code=e.code, message=e.message)
        return
    if len(triangles) == 0:
        _answer(str(out), ok=False, code="decode.bad-mesh", message="the mesh has no triangles")
        return
    if len(triangles) > max_triangles:
        why = f"{len(triangles)} triangles, more than the {max_triangles} a thumbnail draws"
        _answer(str(out), ok=False, code="preview.too-many-triangles", message=why)
        return
    try:
        png = render_png(triangles, size_px)
    except Exception as e:  # the driver's or the library's, whatever its type
        _answer(str(out), ok=False, code="preview.failed", message=f"{type(e).__name__}: {e}")
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".part")
    partial.write_bytes(png)
    partial.replace(out)
    _answer(str(out), ok=True)


def main() -> int:
    request = json.loads(sys.stdin.buffer.read())
    limit = int(request["memory_bytes"])  # first, before OpenGL and a mesh are loaded
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    try:
        importlib.import_module("moderngl").create_standalone_context(backend="egl").release()
    except Exception as e:  # no libEGL, no Mesa driver, no moderngl: say so and stop
        print(f"no OpenGL context: {type(e).__name__}: {e}", file=sys.stderr)
        return EXIT_NO_RENDERER
    for job in request["jobs"]:
        _draw(job, int(request["size_px"]), int(request["max_triangles"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
