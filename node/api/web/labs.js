// Labs: capability adverts, reputation with the entries behind it, and a map drawn
// from the bundled Natural Earth outline (no tile server, no network needed).
import { get, optional } from "./api.js";
import { add, errorBox, h, money, replace, s, short, when } from "./ui.js";
import { measure, number, percent, t, tn } from "./i18n.js";
import { notOnThisNode } from "./pending.js";
import { who } from "./names.js";
import { thumbnail } from "./previews.js";

let land = null;

export const degrees = (microdeg) => microdeg / 1e6;
export { money };  // jobs.js takes it from here

export async function labsPage(view) {
  const found = await optional("/api/v1/capabilities");
  if (found === null) {
    notOnThisNode(view, t("nav.labs"), t("pending.what.adverts"));
    view.append(await worldMap([]));
    return null;
  }
  const adverts = found.adverts;
  const frozen = found.frozen || [];
  const detail = h("section", { id: "lab-detail", "aria-label": t("labs.detail.label") });
  const labs = adverts.map((a) => ({
    id: a.lab, name: a.advert.name,
    lat: degrees(a.advert.location.lat_microdeg), lon: degrees(a.advert.location.lon_microdeg),
  }));
  add(view, h("h1", {}, t("nav.labs")),
    h("p", { class: "muted" }, t("labs.count", { count: adverts.length })),
    await worldMap(labs, (lab) => showLab(adverts.find((a) => a.lab === lab.id), detail)),
    h("div", { class: "grid" },
      h("ul", { class: "results", id: "lab-list" }, adverts.map((a) => h("li", { class: "card" },
        h("button", { type: "button", class: "link", onclick: () => showLab(a, detail) }, a.advert.name),
        h("div", { class: "muted" }, a.advert.machines.map((m) => m.process).join(", "),
          " · ", t("labs.lead-time", { count: a.advert.lead_time_days }))))),
      detail),
    frozen.length ? [h("h2", {}, t("labs.frozen")), h("ul", { id: "frozen-labs" }, frozen.map((f) => h("li", {},
      h("strong", { title: f.lab }, f.advert.name), " — ", t("labs.frozen.text", { position: f.frozen.position,
        since: f.frozen.since_s ? when(f.frozen.since_s * 1000) : "?", how: f.frozen.since || t("unknown") }))))] : null);
  return null;
}

async function showLab(advert, detail) {
  const a = advert.advert;
  const heading = h("h2", { tabindex: "-1" }, a.name);
  replace(detail, h("div", { class: "card" }, heading,
    h("p", { class: "muted" }, tn("labs.lab", { lab: who(advert.lab) })),
    a.website ? h("p", {}, webLink(a.website)) : null,
    h("p", {}, t("labs.summary", { lat: number(degrees(a.location.lat_microdeg), { maximumFractionDigits: 3, minimumFractionDigits: 3 }),
      lon: number(degrees(a.location.lon_microdeg), { maximumFractionDigits: 3, minimumFractionDigits: 3 }),
      availability: a.availability, lead: t("labs.lead-time", { count: a.lead_time_days }), currency: a.currency })),
    h("h3", {}, t("labs.machines")),
    h("div", { class: "table-wrap" }, h("table", {},
      h("thead", {}, h("tr", {}, [t("labs.col.process"), t("labs.col.machine"), t("labs.col.volume"), t("labs.col.materials"), t("labs.col.tolerance"), t("labs.col.price")].map((c) => h("th", { scope: "col" }, c)))),
      h("tbody", {}, a.machines.map((m) => h("tr", {},
        h("td", {}, m.process), h("td", {}, `${m.make} ${m.model}`),
        h("td", {}, m.build_volume_um.map((u) => number(u / 1000)).join(" × ")),
        h("td", {}, m.materials.join(", ")), h("td", {}, m.tolerance),
        h("td", {}, t("labs.price", { setup: money(m.price.setup_fee_minor, a.currency), perCm3: money(m.price.per_cm3_minor, a.currency), perHour: money(m.price.per_hour_minor, a.currency) }),
          h("div", { class: "muted" }, slicerSettings(m.slicer)))))))),
    h("h3", {}, t("labs.reputation")), await reputation(advert.lab),
    h("h3", {}, t("labs.contributions")), await contributions(advert.lab)));
  heading.focus();
}

// What the lab contributed to the commons, recomputed by the node from the ledger:
// each line opens the entries behind it.
async function contributions(identity) {
  let c;
  try { c = await get(`/api/v1/contributions/${identity}`); } catch (e) { return errorBox(e); }
  const item = (label, rows, describe) => h("li", {}, label,
    rows.length ? h("details", {}, h("summary", {}, t("labs.entries-behind")),
      h("ul", {}, rows.map((r) => h("li", {}, r.entry_id ? h("code", { title: r.entry_id }, short(r.entry_id, 16)) : null,
        h("span", { class: "muted" }, ` ${describe(r)}`))))) : null);
  // The parts it published, as the node draws them (the first six).
  const designs = item(t("labs.c.designs", { count: c.designs.length }), c.designs, (r) => `${r.name} (${r.as})`);
  if (c.designs.length) {
    designs.insertBefore(h("div", { class: "thumbs" }, c.designs.slice(0, 6).map((r) =>
      thumbnail(r.entry_id, { alt: t("picture.of", { name: r.name }), className: "thumb small" }))), designs.childNodes[1] || null);
  }
  return h("ul", { class: "contributions", id: "contributions" },
    designs,
    item(t("labs.c.derivatives", { count: c.derivatives.length }), c.derivatives, (r) => t("labs.c.derivative", { name: r.name, count: r.of.length })),
    item(t("labs.c.jobs-made", { count: c.jobs_made.length }), c.jobs_made, (r) => r.title),
    item(t("labs.c.jobs-confirmed", { count: c.jobs_confirmed.length }), c.jobs_confirmed, (r) => r.title),
    item(t("labs.c.reviews", { count: c.reviews.length }), c.reviews, (r) => `${r.score}/5`),
    item(t("labs.c.votes", { count: c.votes.length }), c.votes, (r) => r.choice),
    item(t("labs.c.cosignatures", { count: c.cosignatures.length }), c.cosignatures, (r) => t("labs.c.checkpoint", { size: r.size, log: short(r.log, 10) })));
}

async function reputation(lab) {
  let r;
  try { r = await get(`/api/v1/labs/${lab}/reputation`); } catch (e) { return errorBox(e); }
  const refs = (entries) => entries.length
    ? h("details", {}, h("summary", {}, t("labs.n-entries-behind", { count: entries.length })),
      h("ul", {}, entries.map((e) => h("li", {}, h("code", { title: e.entry_id }, short(e.entry_id, 16)),
        e.job ? h("span", { class: "muted" }, " ", t("labs.job", { job: short(e.job, 10) })) : null,
        e.score !== undefined ? ` · ${e.score}/5 ${e.text || ""}` : null))))
    : null;
  const mean = r.reviews.mean_milli === null ? t("labs.r.no-reviews")
    : t("labs.r.mean", { mean: number(r.reviews.mean_milli / 1000, { maximumFractionDigits: 1, minimumFractionDigits: 1 }), count: r.reviews.count });
  return h("ul", { class: "reputation" },
    h("li", {}, t("labs.r.awarded", { count: r.awarded.count }), refs(r.awarded.entries)),
    h("li", {}, t("labs.r.completed", { count: r.completed.count }), refs(r.completed.entries)),
    h("li", {}, t("labs.r.on-time", { count: r.on_time.count, of: r.on_time.of }), refs(r.on_time.entries)),
    h("li", {}, t("labs.r.disputes", { count: r.disputes.count, of: r.disputes.of }), refs([...r.disputes.open, ...r.disputes.withdrawn, ...r.disputes.refunded])),
    h("li", {}, t("labs.r.reviews", { mean }), refs(r.reviews.entries)));
}

// An equirectangular world map (x = lon + 180, y = 90 - lat) with one focusable
// point per lab; the outline is the node's own copy of Natural Earth 1:110m land.
export async function worldMap(labs, onPick) {
  if (!land) land = await (await fetch("/static/land-110m.json")).json();
  const title = t("labs.map", { count: labs.length });
  const svg = s("svg", { viewBox: fitted(labs) || land.viewBox, role: "group", "aria-label": title, id: "lab-map" }, s("title", {}, title),
    s("path", { class: "land", d: land.d, "aria-hidden": "true" }));
  for (let lon = 30; lon < 360; lon += 30) svg.append(s("path", { class: "grat", d: `M${lon},0 V180`, "aria-hidden": "true" }));
  for (let lat = 30; lat < 180; lat += 30) svg.append(s("path", { class: "grat", d: `M0,${lat} H360`, "aria-hidden": "true" }));
  for (const lab of labs) {
    const dot = s("circle", { class: "lab", cx: lab.lon + 180, cy: 90 - lab.lat, r: 1.2, tabindex: onPick ? 0 : null,
      role: onPick ? "button" : null, "aria-label": lab.name }, s("title", {}, lab.name));
    if (onPick) {
      dot.addEventListener("click", () => onPick(lab));
      dot.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); onPick(lab); } });
    }
    svg.append(dot);
  }
  return h("figure", { class: "map" }, svg,
    h("figcaption", { class: "muted" }, t("labs.map.caption")));
}

// The labs' region with a margin (at least 60° × 30°), or null for the whole world.
function fitted(labs) {
  if (!labs.length) return null;
  const xs = labs.map((l) => l.lon + 180), ys = labs.map((l) => 90 - l.lat);
  let [x0, x1, y0, y1] = [Math.min(...xs) - 15, Math.max(...xs) + 15, Math.min(...ys) - 10, Math.max(...ys) + 10];
  const w = Math.max(60, x1 - x0), hgt = Math.max(30, y1 - y0, w / 2);
  x0 = Math.max(0, Math.min(360 - w, (x0 + x1) / 2 - w / 2));
  y0 = Math.max(0, Math.min(180 - hgt, (y0 + y1) / 2 - hgt / 2));
  return `${x0} ${y0} ${Math.min(w, 360)} ${Math.min(hgt, 180)}`;
}

// A peer's text becomes a link only when it is an http(s) address: a record may carry
// any scheme ("javascript:…" included), the page never follows one (specs/0012 §5).
function webLink(url) {
  return /^https?:\/\//i.test(url)
    ? h("a", { href: url, rel: "noopener noreferrer nofollow", target: "_blank" }, url)
    : h("span", {}, url);
}

// The slicer settings a machine quotes with (specs/0011 §2.2), or how it quotes without.
function slicerSettings(s) {
  if (!s) return t("labs.quotes-by-volume");
  const mm = (um) => measure(um / 1000, "millimeter", 2);
  const densities = Object.entries(s.density_mg_per_cm3).map(([m, d]) => `${m} ${number(d / 1000, { minimumFractionDigits: 2, maximumFractionDigits: 2 })} g/cm³`).join(", ");
  return t("labs.quotes-by-slicer", { layer: mm(s.layer_height_um), infill: percent(s.infill_percent, 0), perimeters: s.perimeters,
    supports: s.supports ? t("slicer.supports") : "", nozzle: mm(s.nozzle_um), filament: mm(s.filament_diameter_um), densities });
}
