// Thumbnails of designs' meshes, drawn by this node (GET /api/v1/designs/{id}/preview,
// specs/0010 §8). An <img> cannot send the bearer token, so the picture is fetched with
// it and shown from a blob: URL; the browser's own cache keeps it (the node answers
// Cache-Control: private with an ETag). A design with no thumbnail (no mesh, not drawn,
// not held) shows nothing, or, where `why` is asked for, says why.
import { token } from "./api.js";
import { h } from "./ui.js";
import { t } from "./i18n.js";

export function previewUrl(designId, file = null) {
  return `/api/v1/designs/${designId}/preview${file ? `?file=${file}` : ""}`;
}

// An <img class="thumb"> that fills in when the picture arrives and removes itself (or
// becomes a note, with `why`) when there is none.
export function thumbnail(designId, { file = null, alt = "", why = false, className = "thumb" } = {}) {
  const img = h("img", { class: className, alt, width: 256, height: 256, loading: "lazy", decoding: "async" });
  img.hidden = true;
  loadInto(img, previewUrl(designId, file)).catch((reason) => {
    if (why) img.replaceWith(h("p", { class: "muted thumb-note" }, t("preview.none", { reason: reason.message })));
    else img.remove();
  });
  return img;
}

async function loadInto(img, url) {
  const response = await fetch(url, { headers: { Authorization: `Bearer ${token()}` } });
  if (!response.ok) {
    let message = `HTTP ${response.status}`;
    try { message = (await response.json()).error.message.replace(/^no thumbnail: /, ""); } catch { /* not JSON */ }
    throw new Error(message);
  }
  const src = URL.createObjectURL(await response.blob());
  img.addEventListener("load", () => URL.revokeObjectURL(src), { once: true });
  img.src = src;
  img.hidden = false;
}
