// The design page's 3D viewer: three.js (vendor/three, MIT; its version in
// vendor/three/VERSION), loaded only when a design with a mesh is opened. The mesh comes
// from the node's own route (GET /api/v1/designs/{id}/files/{blob}); nothing is fetched
// from outside. Mouse: drag to turn, wheel to zoom, right-drag to pan (OrbitControls).
// Keyboard, on the focused canvas: arrow keys turn, + and - zoom, 0 resets. Without
// WebGL, or for a mesh too large to show here, the node's thumbnail stands in.
import { token } from "./api.js";
import { h } from "./ui.js";
import { t } from "./i18n.js";
import { thumbnail } from "./previews.js";

// Above these the browser would stall: the thumbnail is shown instead.
export const MAX_VIEWER_TRIANGLES = 2_000_000;
export const MAX_VIEWER_BYTES = 64 * 1024 * 1024;
const VIEW_FROM = [1.0, -1.3, 0.9];  // as the thumbnail (node/ops/render.py): z up
const TURN = Math.PI / 12;  // 15° a key press
const ZOOM = 1.25;
let shown = null;  // the viewer on the page, disposed when another design opens
let current = 0;  // which meshViewer call is the page's: a slower load that finishes late is dropped

export function disposeViewer() {
  current += 1;
  if (shown) { shown(); shown = null; }
}

function webglAvailable() {
  try {
    const canvas = document.createElement("canvas");
    return Boolean(canvas.getContext("webgl2") || canvas.getContext("webgl"));
  } catch { return false; }
}

// A <figure> holding the viewer of `file` (a FileEntry of design `designId`), or its fallback.
export function meshViewer(designId, file, name) {
  disposeViewer();
  const label = t("viewer.label", { name, path: file.path });
  const status = h("p", { class: "muted", "aria-live": "polite" }, t("viewer.loading"));
  const figure = h("figure", { class: "viewer", id: "design-viewer" },
    status,
    h("figcaption", { class: "muted", id: "viewer-help" },
      t("viewer.help")));
  const fallback = (why) => {
    status.textContent = why;
    figure.querySelector("#viewer-help")?.remove();  // nothing to drag or turn
    figure.querySelector("canvas")?.remove();
    figure.insertBefore(thumbnail(designId, { file: file.blob, alt: t("viewer.picture", { name, path: file.path }), why: true, className: "thumb large" }), status.nextSibling);
  };
  const triangles = file.geometry ? file.geometry.triangles : 0;
  if (!webglAvailable()) fallback(t("viewer.no-webgl"));
  else if (triangles > MAX_VIEWER_TRIANGLES || file.size_bytes > MAX_VIEWER_BYTES) {
    fallback(t("viewer.too-large", { count: triangles }));
  } else {
    const mine = current;
    show(designId, file, label, figure, status, () => mine === current)
      .catch((e) => { if (mine === current) fallback(t("viewer.failed", { error: e.message })); });
  }
  return figure;
}

// `isCurrent()`: false once another design opened meanwhile; then nothing is built
// (a WebGL context left behind would count against the browser's few).
async function show(designId, file, label, figure, status, isCurrent) {
  const [THREE, { OrbitControls }, { STLLoader }, { ThreeMFLoader }] = await Promise.all([
    import("./vendor/three/build/three.module.js"),
    import("./vendor/three/examples/jsm/controls/OrbitControls.js"),
    import("./vendor/three/examples/jsm/loaders/STLLoader.js"),
    import("./vendor/three/examples/jsm/loaders/3MFLoader.js"),
  ]);
  const response = await fetch(`/api/v1/designs/${designId}/files/${file.blob}`, { headers: { Authorization: `Bearer ${token()}` } });
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
  const bytes = await response.arrayBuffer();
  if (!isCurrent()) return;
  const material = new THREE.MeshStandardMaterial({ color: 0x80c7a8, flatShading: true, side: THREE.DoubleSide, roughness: 0.7 });
  let object;
  if (file.media_type === "model/3mf" || file.path.toLowerCase().endsWith(".3mf")) {
    object = new ThreeMFLoader().parse(bytes);
    object.traverse((o) => { if (o.isMesh) o.material = material; });
  } else {
    object = new THREE.Mesh(new STLLoader().parse(bytes), material);
  }
  const scene = new THREE.Scene();
  scene.add(object);
  scene.add(new THREE.HemisphereLight(0xffffff, 0x667066, 1.6));
  const sun = new THREE.DirectionalLight(0xffffff, 2.2);
  sun.position.set(-0.3, -0.8, 1.0);
  scene.add(sun);
  const box = new THREE.Box3().setFromObject(object);
  const centre = box.getCenter(new THREE.Vector3());
  const radius = Math.max(box.getSize(new THREE.Vector3()).length() / 2, 1e-3);

  const canvas = h("canvas", { tabindex: 0, role: "img", "aria-label": label, "aria-describedby": "viewer-help", class: "viewer-canvas" });
  const renderer = new THREE.WebGLRenderer({ canvas, antialias: true, alpha: true, preserveDrawingBuffer: true });
  const width = Math.max(200, Math.min(figure.clientWidth || 480, 720));
  const height = Math.round(width * 0.7);
  renderer.setPixelRatio(window.devicePixelRatio || 1);
  renderer.setSize(width, height);
  const camera = new THREE.PerspectiveCamera(35, width / height, radius / 100, radius * 100);
  camera.up.set(0, 0, 1);
  const home = new THREE.Vector3(...VIEW_FROM).normalize().multiplyScalar(radius * 3.4);
  const controls = new OrbitControls(camera, canvas);
  controls.minDistance = radius * 0.5;
  controls.maxDistance = radius * 20;
  const draw = () => renderer.render(scene, camera);
  const reset = () => { camera.position.copy(centre).add(home); controls.target.copy(centre); controls.update(); draw(); };
  controls.addEventListener("change", draw);
  const zAxis = new THREE.Vector3(0, 0, 1);
  const turn = (azimuth, elevation) => {
    const offset = camera.position.clone().sub(controls.target);
    offset.applyAxisAngle(zAxis, azimuth);
    const side = new THREE.Vector3().crossVectors(offset, zAxis).normalize();
    const raised = offset.clone().applyAxisAngle(side, elevation);
    const angle = raised.angleTo(zAxis);
    if (angle > 0.05 && angle < Math.PI - 0.05) offset.copy(raised);
    camera.position.copy(controls.target).add(offset);
    controls.update();
  };
  const zoom = (factor) => {
    const offset = camera.position.clone().sub(controls.target);
    const distance = Math.min(controls.maxDistance, Math.max(controls.minDistance, offset.length() * factor));
    camera.position.copy(controls.target).add(offset.setLength(distance));
    controls.update();
  };
  const keys = {
    ArrowLeft: () => turn(-TURN, 0), ArrowRight: () => turn(TURN, 0),
    ArrowUp: () => turn(0, -TURN), ArrowDown: () => turn(0, TURN),
    "+": () => zoom(1 / ZOOM), "=": () => zoom(1 / ZOOM), "-": () => zoom(ZOOM), _: () => zoom(ZOOM),
    0: reset, Home: reset,
  };
  canvas.addEventListener("keydown", (e) => {
    const act = keys[e.key];
    if (!act) return;
    e.preventDefault();
    act();  // controls.update() fires "change" when the view moved: that draws
  });
  reset();
  status.replaceWith(canvas);
  figure.insertBefore(h("button", { type: "button", class: "secondary", onclick: () => { reset(); canvas.focus(); } }, t("viewer.reset")), canvas.nextSibling);
  figure.dataset.ready = "true";
  shown = () => { controls.dispose(); renderer.dispose(); renderer.forceContextLoss(); material.dispose(); };
}
