"""Draw one mesh as a shaded PNG thumbnail with OpenGL (specs/0010 §8.2).

`render_png(triangles_mm, size_px)` draws an (n, 3, 3) array of triangle corners in
millimetres with moderngl on a headless EGL context (Mesa's llvmpipe where there is no
GPU: no display and no window needed) and returns PNG bytes (Pillow). Flat shading from
each face's normal, lit on both sides (a file's inverted faces look like the others),
a key light, a fill light and ambient; a fixed orthographic camera from the front-right,
above (x right, y back, z up, as printers see a part), fitted to the part's outline as
seen, so every part fills the frame and sits in its middle; a transparent background; 4x MSAA.
Same bytes in, same Mesa, same picture.

This module opens the GL context in the calling process: the node calls it only in a
child process (node.ops.preview_worker), bounded in time and memory by its parent
(node.ops.previews). Left to others: reading files, caching, deciding what to draw.
"""

from __future__ import annotations

import importlib
import io
from typing import Any, Final

#: Renderer and look: part of each cached picture's name, so a new look redraws them.
RENDER_VERSION: Final = 1
#: The part's colour (display RGB 0..1, fully lit): the dashboard's green, lightened.
PART_RGB: Final = (0.50, 0.78, 0.66)
#: Where the camera looks from (towards the part's centre): front-right, above.
VIEW_FROM: Final = (1.0, -1.3, 0.9)
SAMPLES: Final = 4

_VERTEX_SHADER: Final = """
#version 330
uniform mat4 projection_view;
in vec3 in_position;
in vec3 in_normal;
out vec3 normal;
void main() {
    normal = in_normal;
    gl_Position = projection_view * vec4(in_position, 1.0);
}
"""
_FRAGMENT_SHADER: Final = """
#version 330
uniform vec3 to_eye;
uniform vec3 key_light;
uniform vec3 fill_light;
uniform vec3 part_rgb;
in vec3 normal;
out vec4 colour;
void main() {
    vec3 n = normalize(normal);
    if (dot(n, to_eye) < 0.0) n = -n;
    float key = max(dot(n, key_light), 0.0);
    float fill = max(dot(n, fill_light), 0.0);
    vec3 lit = part_rgb * (0.25 + 0.7 * key + 0.3 * fill);
    vec3 half_way = normalize(key_light + to_eye);
    lit += vec3(0.18) * pow(max(dot(n, half_way), 0.0), 24.0);
    colour = vec4(clamp(lit, 0.0, 1.0), 1.0);
}
"""


def _np() -> Any:
    return importlib.import_module("numpy")


def render_png(triangles_mm: Any, size_px: int) -> bytes:
    """A size_px by size_px RGBA PNG of the triangles (module docstring)."""
    np = _np()
    corners = np.ascontiguousarray(triangles_mm, dtype=np.float64).reshape(-1, 3, 3)
    low, high = corners.reshape(-1, 3).min(axis=0), corners.reshape(-1, 3).max(axis=0)
    centre = (low + high) / 2
    radius = max(float(np.linalg.norm(high - low)) / 2, 1e-6)
    positions = ((corners - centre) / radius).astype(np.float32)  # inside the unit sphere
    normals = np.cross(positions[:, 1] - positions[:, 0], positions[:, 2] - positions[:, 0])
    lengths = np.linalg.norm(normals, axis=1, keepdims=True)
    normals = np.where(lengths > 0, normals / np.where(lengths > 0, lengths, 1), [0, 0, 1])
    vertices = np.concatenate(
        [positions, np.repeat(normals[:, None, :], 3, axis=1).astype(np.float32)], axis=2
    )
    return _draw(vertices.reshape(-1, 6).astype(np.float32), _camera(positions), size_px)


def _camera(positions: Any) -> tuple[Any, Any]:
    """The projection times view matrix (column-major for GL), fitted to the part's
    outline as the camera sees it (centred, a 4 % margin), and the unit vector to the eye."""
    np = _np()
    to_eye = np.array(VIEW_FROM) / np.linalg.norm(VIEW_FROM)
    right = np.cross([0.0, 0.0, 1.0], to_eye)
    right /= np.linalg.norm(right)
    up = np.cross(to_eye, right)
    view = np.identity(4)
    view[0, :3], view[1, :3], view[2, :3] = right, up, to_eye
    view[2, 3] = -3.0  # the eye 3 units out; the part lies within 1 of the centre
    seen = positions.reshape(-1, 3).astype(np.float64) @ view[:2, :3].T
    low, high = seen.min(axis=0), seen.max(axis=0)
    middle, half = (low + high) / 2, max(float((high - low).max()) / 2 * 1.04, 1e-6)
    projection = np.identity(4)
    projection[0, 0] = projection[1, 1] = 1 / half
    projection[0, 3], projection[1, 3] = -middle[0] / half, -middle[1] / half
    projection[2, 2], projection[2, 3] = -2 / (4.5 - 1.5), -(4.5 + 1.5) / (4.5 - 1.5)
    return (projection @ view).T.astype("f4"), to_eye.astype("f4")


def _draw(vertices: Any, camera: tuple[Any, Any], size_px: int) -> bytes:
    moderngl = importlib.import_module("moderngl")
    image = importlib.import_module("PIL.Image")
    np = _np()
    ctx = moderngl.create_standalone_context(backend="egl")
    try:
        program = ctx.program(vertex_shader=_VERTEX_SHADER, fragment_shader=_FRAGMENT_SHADER)
        projection_view, to_eye = camera
        key = np.array([-0.3, -0.8, 1.0])  # above, front-left: tops bright, fronts less
        fill = np.array([1.0, 0.2, 0.1])  # from the right, so the right side is not black
        program["projection_view"].write(projection_view.tobytes())
        program["to_eye"].value = tuple(float(v) for v in to_eye)
        program["key_light"].value = tuple(float(v) for v in key / np.linalg.norm(key))
        program["fill_light"].value = tuple(float(v) for v in fill / np.linalg.norm(fill))
        program["part_rgb"].value = PART_RGB
        buffer = ctx.buffer(vertices.tobytes())
        array = ctx.vertex_array(program, [(buffer, "3f 3f", "in_position", "in_normal")])
        size = (size_px, size_px)
        multisampled = ctx.framebuffer(
            color_attachments=[ctx.renderbuffer(size, 4, samples=SAMPLES)],
            depth_attachment=ctx.depth_renderbuffer(size, samples=SAMPLES),
        )
        resolved = ctx.simple_framebuffer(size, components=4)
        multisampled.use()
        ctx.enable(moderngl.DEPTH_TEST)
        ctx.clear(0.0, 0.0, 0.0, 0.0)
        array.render(moderngl.TRIANGLES)
        ctx.copy_framebuffer(resolved, multisampled)
        pixels = resolved.read(components=4, alignment=1)
    finally:
        ctx.release()
    picture = image.frombytes("RGBA", size, pixels).transpose(image.Transpose.FLIP_TOP_BOTTOM)
    out = io.BytesIO()
    picture.save(out, format="PNG", optimize=True)
    return out.getvalue()
