// Labs: capability adverts, reputation with the entries behind it, and a map drawn
// from the bundled Natural Earth outline (no tile server, no network needed).
import { get, optional } from "./api.js";
import { errorBox, h, money, replace, s, short } from "./ui.js";
import { notOnThisNode } from "./pending.js";
import { who } from "./names.js";
import { thumbnail } from "./previews.js";

let land = null;

export const degrees = (microdeg) => microdeg / 1e6;
export { money };  // jobs.js takes it from here

export async function labsPage(view) {
  const found = await optional("/api/v1/capabilities");
  if (found === null) {
    notOnThisNode(view, "Labs", "capability adverts");
    view.append(await worldMap([]));
    return null;
  }
  const adverts = found.adverts;
  const frozen = found.frozen || [];
  const detail = h("section", { id: "lab-detail", "aria-label": "Lab details" });
  const labs = adverts.map((a) => ({
    id: a.lab, name: a.advert.name,
    lat: degrees(a.advert.location.lat_microdeg), lon: degrees(a.advert.location.lon_microdeg),
  }));
  view.append(h("h1", {}, "Labs"),  // (DOM append writes a null as "null": none passed)
    h("p", { class: "muted" }, `${adverts.length} lab(s) advertise what they can make.`),
    await worldMap(labs, (lab) => showLab(adverts.find((a) => a.lab === lab.id), detail)),
    h("div", { class: "grid" },
      h("ul", { class: "results", id: "lab-list" }, adverts.map((a) => h("li", { class: "card" },
        h("button", { type: "button", class: "link", onclick: () => showLab(a, detail) }, a.advert.name),
        h("div", { class: "muted" }, a.advert.machines.map((m) => m.process).join(", "),
          ` · lead time ${a.advert.lead_time_days} d`)))),
      detail),
    frozen.length ? [h("h2", {}, "Frozen labs"), h("ul", { id: "frozen-labs" }, frozen.map((f) => h("li", {},
      h("strong", { title: f.lab }, f.advert.name), ` — forked at ${f.frozen.position}, frozen since ${f.frozen.since_s ? new Date(f.frozen.since_s * 1000).toLocaleString() : "?"}`,
      ` (${f.frozen.since || "unknown"}): out of the directory and matching until a vote lifts the freeze`)))] : []);
  return null;
}

async function showLab(advert, detail) {
  const a = advert.advert;
  const heading = h("h2", { tabindex: "-1" }, a.name);
  replace(detail, h("div", { class: "card" }, heading,
    h("p", { class: "muted" }, "Lab ", who(advert.lab)),
    a.website ? h("p", {}, webLink(a.website)) : null,
    h("p", {}, `${degrees(a.location.lat_microdeg).toFixed(3)}°, ${degrees(a.location.lon_microdeg).toFixed(3)}° · ${a.availability} · lead time ${a.lead_time_days} days · prices in ${a.currency}`),
    h("h3", {}, "Machines"),
    h("div", { class: "table-wrap" }, h("table", {},
      h("thead", {}, h("tr", {}, ["Process", "Machine", "Build volume (mm)", "Materials", "Tolerance", "Price"].map((c) => h("th", { scope: "col" }, c)))),
      h("tbody", {}, a.machines.map((m) => h("tr", {},
        h("td", {}, m.process), h("td", {}, `${m.make} ${m.model}`),
        h("td", {}, m.build_volume_um.map((u) => u / 1000).join(" × ")),
        h("td", {}, m.materials.join(", ")), h("td", {}, m.tolerance),
        h("td", {}, `${money(m.price.setup_fee_minor, a.currency)} setup + ${money(m.price.per_cm3_minor, a.currency)}/cm³ + ${money(m.price.per_hour_minor, a.currency)}/h`,
          h("div", { class: "muted" }, slicerSettings(m.slicer)))))))),
    h("h3", {}, "Reputation"), await reputation(advert.lab),
    h("h3", {}, "Contributions"), await contributions(advert.lab)));
  heading.focus();
}

// What the lab contributed to the commons, recomputed by the node from the ledger:
// each line opens the entries behind it.
async function contributions(identity) {
  let c;
  try { c = await get(`/api/v1/contributions/${identity}`); } catch (e) { return errorBox(e); }
  const item = (label, rows, describe) => h("li", {}, `${rows.length} ${label}`,
    rows.length ? h("details", {}, h("summary", {}, "entries behind this"),
      h("ul", {}, rows.map((r) => h("li", {}, r.entry_id ? h("code", { title: r.entry_id }, short(r.entry_id, 16)) : null,
        h("span", { class: "muted" }, ` ${describe(r)}`))))) : null);
  // The parts it published, as the node draws them (the first six).
  const designs = item("design(s) published", c.designs, (r) => `${r.name} (${r.as})`);
  if (c.designs.length) {
    designs.insertBefore(h("div", { class: "thumbs" }, c.designs.slice(0, 6).map((r) =>
      thumbnail(r.entry_id, { alt: `Picture of ${r.name}`, className: "thumb small" }))), designs.childNodes[1] || null);
  }
  return h("ul", { class: "contributions", id: "contributions" },
    designs,
    item("derivative(s) by others", c.derivatives, (r) => `${r.name}, of ${r.of.length} of its designs`),
    item("job(s) made", c.jobs_made, (r) => r.title),
    item("job(s) confirmed as customer", c.jobs_confirmed, (r) => r.title),
    item("review(s) written", c.reviews, (r) => `${r.score}/5`),
    item("vote(s) cast", c.votes, (r) => r.choice),
    item("witness cosignature(s) given", c.cosignatures, (r) => `checkpoint ${r.size} of ${short(r.log, 10)}`));
}

async function reputation(lab) {
  let r;
  try { r = await get(`/api/v1/labs/${lab}/reputation`); } catch (e) { return errorBox(e); }
  const refs = (entries) => entries.length
    ? h("details", {}, h("summary", {}, `${entries.length} entr${entries.length === 1 ? "y" : "ies"} behind this`),
      h("ul", {}, entries.map((e) => h("li", {}, h("code", { title: e.entry_id }, short(e.entry_id, 16)),
        e.job ? h("span", { class: "muted" }, ` job ${short(e.job, 10)}`) : null,
        e.score !== undefined ? ` · ${e.score}/5 ${e.text || ""}` : null))))
    : null;
  const mean = r.reviews.mean_milli === null ? "no reviews" : `${(r.reviews.mean_milli / 1000).toFixed(1)}/5 from ${r.reviews.count}`;
  return h("ul", { class: "reputation" },
    h("li", {}, `${r.awarded.count} jobs awarded`, refs(r.awarded.entries)),
    h("li", {}, `${r.completed.count} completed`, refs(r.completed.entries)),
    h("li", {}, `${r.on_time.count} of ${r.on_time.of} on time`, refs(r.on_time.entries)),
    h("li", {}, `${r.disputes.count} disputes of ${r.disputes.of}`, refs([...r.disputes.open, ...r.disputes.withdrawn, ...r.disputes.refunded])),
    h("li", {}, `Reviews: ${mean}`, refs(r.reviews.entries)));
}

// An equirectangular world map (x = lon + 180, y = 90 - lat) with one focusable
// point per lab; the outline is the node's own copy of Natural Earth 1:110m land.
export async function worldMap(labs, onPick) {
  if (!land) land = await (await fetch("/static/land-110m.json")).json();
  const title = `Map of ${labs.length} lab(s)`;
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
    h("figcaption", { class: "muted" }, "Land outline: Natural Earth 1:110m (public domain), served by this node."));
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
  if (!s) return "quotes by volume";
  const densities = Object.entries(s.density_mg_per_cm3).map(([m, d]) => `${m} ${(d / 1000).toFixed(2)} g/cm³`).join(", ");
  return `quotes by slicer: ${(s.layer_height_um / 1000).toFixed(2)} mm layers, ${s.infill_percent} % infill, ` +
    `${s.perimeters} perimeters${s.supports ? ", supports" : ""}, ${(s.nozzle_um / 1000).toFixed(2)} mm nozzle, ` +
    `${(s.filament_diameter_um / 1000).toFixed(2)} mm filament; ${densities}`;
}
