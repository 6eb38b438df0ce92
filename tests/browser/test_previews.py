"""Previews in a real browser (specs/0010 §8, README "Previews"): a published mesh gets a
thumbnail drawn by its node, served with caching headers; the catalogue card shows it;
the design page's three.js viewer draws the mesh (the canvas holds more than one colour),
turns and zooms from the keyboard, and gives way to the thumbnail without WebGL.

Chromium draws WebGL on SwiftShader, its software renderer (no GPU here); said
explicitly with --use-angle=swiftshader --enable-unsafe-swiftshader, which newer
releases require. Screenshots go to test-artifacts/dashboard/."""

from __future__ import annotations

import io
import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from node.demo.parts import PARTS_FOLDER
from node.ops.previews import THUMBNAIL_PX
from tests.browser.test_dashboard import (
    ADVERT,
    ARTIFACTS,
    CHROMIUM_ARGS,
    chromium_contexts,
    open_dashboard,
    publish_part,
    start_lab,
)
from tests.node_process import api, wait_until

pytestmark = pytest.mark.integration

WEBGL_ARGS = [*CHROMIUM_ARGS, "--use-angle=swiftshader", "--enable-unsafe-swiftshader"]
NO_WEBGL_ARGS = [*CHROMIUM_ARGS, "--disable-3d-apis"]

# The viewer's canvas as pixels: how many distinct colours, and a digest of them all.
CANVAS_PIXELS = """(canvas) => {
  const copy = document.createElement("canvas");
  copy.width = canvas.width; copy.height = canvas.height;
  const g = copy.getContext("2d");
  g.drawImage(canvas, 0, 0);
  const data = g.getImageData(0, 0, copy.width, copy.height).data;
  const colours = new Set();
  let digest = 0, opaque = 0;
  for (let i = 0; i < data.length; i += 4) {
    colours.add((data[i] << 16) | (data[i + 1] << 8) | data[i + 2] | (data[i + 3] << 24));
    if (data[i + 3] > 0) opaque++;
    digest = (digest * 31 + data[i] + 7 * data[i + 1] + 13 * data[i + 2] + 17 * data[i + 3]) >>> 0;
  }
  return { colours: colours.size, opaque, digest, width: copy.width, height: copy.height };
}"""
IMG_LOADED = "(img) => img.complete && img.naturalWidth > 0 && img.src.startsWith('blob:')"


@contextmanager
def chromium(args: list[str]) -> Iterator[Any]:
    """A context with these chromium flags (WebGL or none); nothing fetched from outside."""
    with chromium_contexts() as open_context:
        yield open_context(args=args, timeout_ms=60_000)


def get(
    lab: dict[str, Any], path: str, headers: dict[str, str] | None = None
) -> tuple[int, Any, bytes]:
    """(status, headers, body) of a GET with the token; the body always read whole."""
    request = urllib.request.Request(
        lab["url"] + path, headers={"Authorization": f"Bearer {lab['token']}", **(headers or {})}
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            return answer.status, answer.headers, answer.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def test_thumbnail_card_viewer_keyboard_and_fallback(tmp_path: Path) -> None:
    with ExitStack() as stack:
        lab = start_lab(stack, tmp_path, "lab")
        design = publish_part(lab, tmp_path, "l-bracket-40x30x20.stl", "Preview bracket")
        (file_entry,) = api(lab["home"], "GET", f"/api/v1/designs/{design}")["body"]["files"]
        blob, stl = file_entry["blob"], (PARTS_FOLDER / "l-bracket-40x30x20.stl").read_bytes()

        # the thumbnail, drawn in the background after the publish, and its caching
        def drawn() -> Any:
            answer = get(lab, f"/api/v1/designs/{design}/preview")
            return answer if answer[0] == 200 else None

        _, headers, png = wait_until("the thumbnail", drawn)
        assert headers["Content-Type"] == "image/png"
        assert headers["Cache-Control"].startswith("private, max-age=")
        image = Image.open(io.BytesIO(png))
        assert image.size == (THUMBNAIL_PX, THUMBNAIL_PX)
        tag = headers["ETag"]
        assert get(lab, f"/api/v1/designs/{design}/preview", {"If-None-Match": tag})[0] == 304
        status, headers, body = get(lab, f"/api/v1/designs/{design}/files/{blob}")
        assert status == 200 and body == stl and "immutable" in headers["Cache-Control"]
        status, _, body = get(lab, f"/api/v1/designs/{design}/files/b{'a' * 52}")
        assert status == 404 and json.loads(body)["error"]["code"] == "misuse.unknown-file"

        with chromium(WEBGL_ARGS) as context:
            page = open_dashboard(context, lab)
            card = page.locator("#design-results li", has_text="Preview bracket")
            card.locator("img.thumb").wait_for()
            page.wait_for_function(IMG_LOADED, arg=card.locator("img.thumb").element_handle())
            page.click("#design-results button:text('Preview bracket')")
            page.wait_for_selector("#design-viewer[data-ready=true] canvas")
            canvas = page.locator("#design-viewer canvas")
            assert canvas.get_attribute("aria-label", timeout=1000).startswith("3D view of")
            first = canvas.evaluate(CANVAS_PIXELS)
            assert first["colours"] > 20 and 0 < first["opaque"] < first["width"] * first["height"]
            page.screenshot(path=str(ARTIFACTS / "design-viewer.png"), full_page=True)
            canvas.focus()
            page.keyboard.press("ArrowLeft")
            turned = canvas.evaluate(CANVAS_PIXELS)
            assert turned["digest"] != first["digest"]
            page.keyboard.press("+")
            zoomed = canvas.evaluate(CANVAS_PIXELS)
            assert zoomed["opaque"] > turned["opaque"]  # nearer: the part covers more
            page.keyboard.press("0")
            assert canvas.evaluate(CANVAS_PIXELS)["digest"] == first["digest"]
            assert page.errors == []

            # the job page and the lab's panel beside the map show the part too
            api(lab["home"], "POST", "/api/v1/capabilities", {"advert": ADVERT})
            offer = {
                "title": "Two brackets",
                "design": design,
                "process": "3dp-fdm",
                "material": "PETG",
                "quantity": 2,
                "deadline_ms": int(time.time() * 1000) + 14 * 86_400_000,
                "location": {"lat_microdeg": 41_400_000, "lon_microdeg": 2_190_000},
                "radius_km": 50,
                "budget": None,
            }
            api(lab["home"], "POST", "/api/v1/jobs", offer)
            jobs = open_dashboard(context, lab, "jobs")
            jobs.click("#job-list button:text('Two brackets')")
            pictured = jobs.locator("#job-detail img.thumb")
            pictured.wait_for()
            jobs.wait_for_function(IMG_LOADED, arg=pictured.element_handle())
            jobs.screenshot(path=str(ARTIFACTS / "job-thumbnail.png"), full_page=True)
            labs = open_dashboard(context, lab, "labs")
            labs.click("#lab-list button:text('Test Lab A')")
            pictured = labs.locator("#contributions img.thumb")
            pictured.wait_for()
            labs.wait_for_function(IMG_LOADED, arg=pictured.element_handle())
            labs.screenshot(path=str(ARTIFACTS / "lab-thumbnails.png"), full_page=True)
            assert jobs.errors == [] and labs.errors == []

        with chromium(NO_WEBGL_ARGS) as context:
            page = open_dashboard(context, lab)
            page.click("#design-results button:text('Preview bracket')")
            picture = page.locator("#design-viewer img.thumb")
            picture.wait_for()
            page.wait_for_function(IMG_LOADED, arg=picture.element_handle())
            assert page.locator("#design-viewer canvas").count() == 0
            assert "no WebGL" in page.locator("#design-viewer").inner_text()
            page.screenshot(path=str(ARTIFACTS / "design-viewer-fallback.png"), full_page=True)
            assert page.errors == []

        # a withdrawn design's mesh is no longer served, as a picture or as bytes (a design
        # no job names: the job above keeps the bracket's files)
        spacer = publish_part(lab, tmp_path, "spacer-m5-10x8.stl", "Recalled spacer")
        (spacer_file,) = api(lab["home"], "GET", f"/api/v1/designs/{spacer}")["body"]["files"]
        files = f"/api/v1/designs/{spacer}/files/{spacer_file['blob']}"
        assert get(lab, files)[0] == 200
        api(lab["home"], "POST", f"/api/v1/designs/{spacer}/withdraw", {"reason": "A recall"})

        def refused() -> Any:
            status, _, body = get(lab, files)
            return status == 403 and json.loads(body)["error"]["code"]

        assert wait_until("the file withheld", refused) == "rule.design-withdrawn"
        assert get(lab, f"/api/v1/designs/{spacer}/preview")[0] == 403
