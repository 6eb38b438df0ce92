// Labs: capability adverts, reputation with the entries behind it, and a map drawn
// from the bundled Natural Earth outline (no tile server, no network needed).
import { get, optional } from "./api.js";
import { errorBox, h, replace, s } from "./ui.js";
import { notOnThisNode } from "./pending.js";

let land = null;

export async function labsPage(view) {
  const found = await optional("/api/v1/capabilities");
  if (found === null) { notOnThisNode(view, "Labs", "capability adverts"); view.append(await worldMap([])); return null; }
  view.append(h("h1", {}, "Labs"), h("pre", {}, JSON.stringify(found, null, 2)));
  return null;
}

export async function worldMap(labs) {
  if (!land) land = await (await fetch("/static/land-110m.json")).json();
  const title = `Map of ${labs.length} lab(s)`;
  const svg = s("svg", { viewBox: land.viewBox, role: "img", "aria-label": title, id: "lab-map" }, s("title", {}, title),
    s("path", { class: "land", d: land.d }));
  for (let lon = 30; lon < 360; lon += 30) svg.append(s("path", { class: "grat", d: `M${lon},0 V180` }));
  for (let lat = 30; lat < 180; lat += 30) svg.append(s("path", { class: "grat", d: `M0,${lat} H360` }));
  for (const lab of labs) {
    const dot = s("circle", { class: "lab", cx: lab.lon + 180, cy: 90 - lab.lat, r: 2.5 }, s("title", {}, lab.name));
    svg.append(dot);
  }
  return svg;
}
