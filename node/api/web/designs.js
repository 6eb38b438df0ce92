// Designs: search the catalogue, licence badges, files with sizes and hashes, the
// lineage graph with attribution, and publishing a design from this browser.
import { get, post, truncated, uploadFiles } from "./api.js";
import { bytes, errorBox, h, licenceBadge, replace, s, short, when } from "./ui.js";
import { list, measure, number, percent, t, tn } from "./i18n.js";
import { thumbnail } from "./previews.js";
import { disposeViewer, meshViewer } from "./viewer.js";
import * as checks from "./checks.js";
import { submitChecked } from "./checks.js";

const checkLicence = (expr) => get(`/api/v1/licences/check?expression=${encodeURIComponent(expr)}`);

export async function designsPage(view) {
  const q = h("input", { id: "design-q", name: "q", type: "search", placeholder: t("designs.search.placeholder") });
  const family = h("select", { id: "design-family", name: "family" },
    h("option", { value: "" }, t("designs.family.any")),
    h("option", { value: "strong-copyleft" }, t("licence.strong-copyleft")),
    h("option", { value: "weak-copyleft" }, t("licence.weak-copyleft")),
    h("option", { value: "permissive" }, t("licence.permissive")));
  const results = h("ul", { class: "results", id: "design-results", "aria-live": "polite" });
  const detail = h("section", { id: "design-detail", "aria-label": t("designs.detail.label") });
  const search = async () => {
    const params = new URLSearchParams({ q: q.value, limit: "50" });
    if (family.value) params.set("family", family.value);
    try {
      const { designs } = await get(`/api/v1/designs?${params}`);
      replace(results, designs.length ? designs.map((d) => resultItem(d, detail)) : h("li", { class: "muted" }, t("designs.none")));
    } catch (e) { replace(results, errorBox(e)); }
  };
  const form = h("form", { class: "inline", role: "search", onsubmit: (e) => { e.preventDefault(); search(); } },
    h("label", { for: "design-q" }, t("designs.search.label"), q),
    h("label", { for: "design-family" }, t("designs.family.label"), family),
    h("button", { type: "submit" }, t("designs.search.button")));
  view.append(h("h1", {}, t("nav.designs")), form,
    h("div", { class: "grid" }, h("section", { "aria-label": t("designs.results") }, results), detail),
    publishForm(search));
  await search();
  const onEntries = (event) => {
    if (truncated(event) || event.detail.entries.some((e) => e.kind === "design")) search();
  };
  window.addEventListener("fab:entries", onEntries);
  return () => window.removeEventListener("fab:entries", onEntries);
}

function resultItem(d, detail) {
  return h("li", { class: "card with-thumb" },
    thumbnail(d.id, { alt: t("picture.of", { name: d.name }) }),
    h("div", {},
      h("button", { type: "button", class: "link", onclick: () => showDesign(d.id, detail) }, d.name),
      d.version ? h("span", { class: "muted" }, ` v${d.version}`) : null, " ",
      licenceBadge(d.licence, checkLicence),
      h("div", { class: "muted" }, t("designs.by-when", { licensors: licensors(d.licensors), when: when(d.timestamp_ms) })),
      d.summary ? h("p", {}, d.summary) : null));
}

const licensors = (names) => (names.length ? list(names) : t("designs.unnamed"));

export async function showDesign(id, detail) {
  replace(detail, h("p", { class: "muted" }, t("loading")));
  try {
    const [design, lineage] = await Promise.all([
      get(`/api/v1/designs/${id}`), get(`/api/v1/designs/${id}/lineage`),
    ]);
    const b = design.body;
    const heading = h("h2", { tabindex: "-1" }, b.name);
    const meshes = b.files.filter((f) => f.geometry);
    disposeViewer();
    const viewing = h("div", { id: "design-3d" }, meshes.length ? meshViewer(design.design_id, meshes[0], b.name) : null);
    const view = (f) => { replace(viewing, meshViewer(design.design_id, f, b.name)); viewing.querySelector("canvas")?.focus(); };
    replace(detail,
      h("div", { class: "card" }, heading,
        h("p", {}, licenceBadge(b.licence, checkLicence), " ", t("designs.by", { licensors: licensors(b.licensors) })),
        b.summary ? h("p", {}, b.summary) : null,
        h("p", { class: "muted" }, tn("designs.id-author", { id: h("code", {}, design.design_id), author: h("code", { title: design.author }, short(design.author)) })),
        design.catalogue.listed ? null : h("p", { class: "alert" }, t("designs.not-listed", { code: design.catalogue.code, reason: design.catalogue.reason })),
        design.withdrawn ? h("p", { class: "alert", role: "status" }, h("span", { class: "badge bad" }, t("designs.withdrawn")),
          " ", t("designs.withdrawn.text", { when: when(design.withdrawn.timestamp_ms), reason: design.withdrawn.reason })) : null,
        viewing,
        h("h3", {}, t("designs.files")), filesTable(b.files, meshes.length > 1 ? view : null),
        (design.readiness || []).length ? h("h3", {}, t("designs.readiness")) : null,
        (design.readiness || []).length ? readinessList(design.readiness) : null,
        h("h3", {}, t("designs.lineage")), await lineageGraph(lineage),
        h("h3", {}, t("designs.attribution")),
        lineage.attribution.length
          ? h("ul", {}, lineage.attribution.map((a) => h("li", {}, a)))
          : h("p", { class: "muted" }, t("designs.original"))));
    heading.focus();
  } catch (e) { replace(detail, errorBox(e)); }
}

function filesTable(files, view) {
  if (!files.length) return h("p", { class: "muted" }, t("designs.no-files"));
  return h("div", { class: "table-wrap" }, h("table", {},
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, t("designs.col.file")), h("th", { scope: "col" }, t("designs.col.role")), h("th", { scope: "col" }, t("designs.col.size")), h("th", { scope: "col" }, "SHA-256"))),
    h("tbody", {}, files.map((f) => h("tr", {},
      h("td", {}, f.path, f.geometry ? h("div", { class: "muted" }, t("designs.geometry", { count: f.geometry.triangles, volume: number(f.geometry.volume_mm3) })) : null,
        f.geometry && view ? h("button", { type: "button", class: "secondary", onclick: () => view(f) }, t("designs.view-3d", { path: f.path })) : null),
      h("td", {}, f.role), h("td", {}, bytes(f.size_bytes)),
      h("td", {}, h("code", { title: f.sha256 }, f.sha256)))))));
}

// The lineage as an SVG graph: ancestors left, descendants right, an arrow from
// each design to the designs it derives from (read from their records).
async function lineageGraph(lineage) {
  const nodes = [{ id: lineage.design_id, name: lineage.name, licence: lineage.licence, col: 0, known: true, self: true }];
  for (const a of lineage.ancestors) nodes.push({ ...a, col: -a.depth });
  for (const d of lineage.descendants) nodes.push({ ...d, col: d.depth });
  const ids = new Set(nodes.map((n) => n.id));
  const edges = [];
  await Promise.all(nodes.filter((n) => n.known).map(async (n) => {
    try {
      const d = await get(`/api/v1/designs/${n.id}`);
      for (const p of d.body.derived_from) if (ids.has(p)) edges.push([n.id, p]);
    } catch { /* a design we do not hold: no edges from it */ }
  }));
  const cols = [...new Set(nodes.map((n) => n.col))].sort((a, b) => a - b);
  const W = 190, H = 52, GX = 60, GY = 18;
  const pos = new Map();
  let rows = 1;
  cols.forEach((c, ci) => {
    const inCol = nodes.filter((n) => n.col === c);
    rows = Math.max(rows, inCol.length);
    inCol.forEach((n, ri) => pos.set(n.id, { x: 10 + ci * (W + GX), y: 10 + ri * (H + GY) }));
  });
  const width = 20 + cols.length * W + (cols.length - 1) * GX;
  const height = 20 + rows * H + (rows - 1) * GY;
  const title = t("designs.lineage.title", { name: lineage.name, ancestors: lineage.ancestors.length, descendants: lineage.descendants.length });
  const svg = s("svg", { viewBox: `0 0 ${width} ${height}`, width, role: "img", "aria-label": title },
    s("title", {}, title),
    s("defs", {}, s("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 10, refY: 5, markerWidth: 8, markerHeight: 8, orient: "auto-start-reverse" },
      s("path", { d: "M0,0 L10,5 L0,10 z", fill: "#7b8577" }))));
  for (const [from, to] of edges) {
    const a = pos.get(from), b = pos.get(to);
    const [x1, x2] = a.x > b.x ? [a.x, b.x + W] : [a.x + W, b.x];
    svg.append(s("path", { class: "edge", d: `M${x1},${a.y + H / 2} C${(x1 + x2) / 2},${a.y + H / 2} ${(x1 + x2) / 2},${b.y + H / 2} ${x2},${b.y + H / 2}` }));
  }
  for (const n of nodes) {
    const p = pos.get(n.id);
    const name = n.known ? (n.withdrawn ? t("designs.lineage.withdrawn", { name: n.name }) : n.name) : t("designs.lineage.not-held");
    svg.append(s("g", {},
      s("rect", { class: `node-box${n.self ? " self" : ""}`, x: p.x, y: p.y, width: W, height: H, rx: 6 }),
      s("text", { x: p.x + 8, y: p.y + 20, "font-size": 13, "font-weight": 700 }, name.length > 24 ? `${name.slice(0, 23)}…` : name),
      s("text", { x: p.x + 8, y: p.y + 38, "font-size": 11, fill: "#5b615a" }, n.licence || short(n.id))));
  }
  return svg;
}

function publishForm(onPublished) {
  const field = (id, label, attrs = {}) => {
    const input = h(attrs.tag || "input", { id, name: id, ...attrs, tag: null });
    return [h("label", { for: id }, label, input), input];
  };
  const [nameL, name] = field("pub-name", t("designs.pub.name"), { required: true, maxlength: 256, "data-field": "name" });
  const [licL, licence] = field("pub-licence", t("designs.pub.licence"), { required: true, value: "CERN-OHL-S-2.0", maxlength: 512, "data-field": "licence" });
  const [byL, licensor] = field("pub-licensor", t("designs.pub.licensor"), { required: true, maxlength: 256, "data-field": "licensor" });
  const [fnL, fn] = field("pub-function", t("designs.pub.function"), { tag: "textarea", rows: 2, maxlength: 4096, "data-field": "function" });
  const [parL, parent] = field("pub-parent", t("designs.pub.parent"), { maxlength: 64, "data-field": "derived_from" });
  const [filesL, files] = field("pub-files", t("designs.pub.files"), { type: "file", multiple: true });
  const out = h("div", { "aria-live": "polite" });
  const submit = h("button", { type: "submit" }, t("designs.pub.submit"));
  // The request model's bounds (node/api/live.py PublishIn); the licence itself and the
  // parent design are judged by the node, whose typed error lands beside the field.
  const check = () => {
    const from = checks.text(parent, { max: 64, oneLine: true });
    if (from && !/^b[a-z2-7]{52}$/.test(from)) checks.fail(parent, t("designs.pub.parent-bad"));
    return { name: checks.text(name, { max: 256, required: true, oneLine: true }),
      licence: checks.text(licence, { max: 512, required: true, oneLine: true }),
      licensor: checks.text(licensor, { max: 256, required: true, oneLine: true }),
      function: checks.text(fn, { max: 4096 }), derived_from: from ? [from] : [] };
  };
  const form = h("form", { class: "stack", id: "publish-form", novalidate: true, onsubmit: (e) => {
    e.preventDefault();
    submitChecked(form, submit, out, check, async (body) => {
      const published = await post(`/api/v1/uploads/${await uploadFiles(files.files)}/publish`, body);
      replace(out, h("p", { role: "status" }, tn("designs.published", { id: h("code", {}, published.design_id), count: published.files.length })));
      form.reset();
      onPublished();
    });
  } }, nameL, licL, byL, fnL, parL, filesL, submit, out);
  return h("section", { "aria-labelledby": "publish-h" }, h("h2", { id: "publish-h" }, t("designs.pub.title")), form);
}

// Print-readiness of each mesh (specs/0010 §3.3): the findings, then the warnings for
// the design's processes (§3.4): this node's own measurement when it holds the file,
// else the findings the design's author published (§3.5).
function readinessList(rows) {
  return h("ul", { id: "design-readiness", class: "readiness" }, rows.map((row) => {
    const r = row.readiness;
    if (!r) {
      return h("li", {}, h("strong", {}, row.path), h("span", { class: "muted" }, " — ", t("readiness.unknown")));
    }
    const closed = r.open_edges === 0 && r.non_manifold_edges === 0;
    const overlap = { true: t("readiness.overlapping"), false: t("readiness.apart") }[r.overlapping_shells] ?? t("readiness.overlap-unknown");
    const facts = [
      closed ? t("readiness.closed") : t("readiness.open", { open: r.open_edges, nonManifold: r.non_manifold_edges }),
      t("readiness.shells", { count: r.shells ?? 0, shells: r.shells ?? "?", overlap }),
      r.thinnest_wall_um === null ? t("readiness.no-wall") : t("readiness.wall", { wall: measure(r.thinnest_wall_um / 1000, "millimeter", 2) }),
      t("readiness.overhangs", { share: percent(r.overhang_permille / 10) }),
    ];
    if (r.solid_volume_mm3 !== null) facts.push(t("readiness.solid", { volume: number(r.solid_volume_mm3) }));
    if (r.degenerate_faces) facts.push(t("readiness.degenerate", { count: r.degenerate_faces }));
    if (r.winding_errors) facts.push(t("readiness.flipped", { count: r.winding_errors }));
    const source = row.source === "measured" ? t("readiness.measured-here") : t("readiness.measured-by-author");
    return h("li", {}, h("strong", {}, row.path), ` (${source}) — ${facts.join(", ")}`,
      row.warnings.length
        ? h("ul", {}, row.warnings.map((w) => h("li", { class: "warning" }, t("readiness.warning", { text: w.text }))))
        : h("div", { class: "muted" }, t("readiness.ready")));
  }));
}
