// Jobs near me: offer a job, see the labs that can make it with their quotes, bid,
// award and follow the lifecycle. The node checks every step (specs/0007 §3); the
// table below only chooses which buttons to offer.
import { get, optional, post, truncated } from "./api.js";
import { busy, day, errorBox, h, replace, short, when } from "./ui.js";
import { measure, t, tn } from "./i18n.js";
import * as check_ from "./checks.js";
import { LIMITS, submitChecked } from "./checks.js";
import { notOnThisNode } from "./pending.js";
import { degrees, money } from "./labs.js";
import { stepForms } from "./jobactions.js";
import { bidStatus, stateName, stepName } from "./myjobs.js";
import { loadNames, who } from "./names.js";
import { quoteBasis } from "./quotes.js";
import { thumbnail } from "./previews.js";

export async function jobsPage(view) {
  const listed = await optional("/api/v1/jobs?open=true");
  if (listed === null) { notOnThisNode(view, t("nav.jobs"), t("pending.what.jobs")); return null; }
  const me = (await get("/api/v1/identity")).identity;
  const mine = await optional("/api/v1/capabilities/self").catch(() => null);
  const adverts = ((await optional("/api/v1/capabilities")) || { adverts: [] }).adverts;
  const here = mine ? mine.advert.location : null;
  const list = h("ul", { class: "results", id: "job-list", "aria-live": "polite" });
  const detail = h("section", { id: "job-detail", "aria-label": t("jobs.detail.label") });
  // A form being filled in is not redrawn under the user's hands by a live update.
  detail.addEventListener("input", () => { detail.dataset.dirty = "1"; });
  const lat = h("input", { id: "near-lat", name: "lat", inputmode: "decimal", value: here ? degrees(here.lat_microdeg) : "" });
  const lon = h("input", { id: "near-lon", name: "lon", inputmode: "decimal", value: here ? degrees(here.lon_microdeg) : "" });
  const radius = h("input", { id: "near-radius", name: "radius", type: "number", min: 1, max: LIMITS.radiusKm, value: 200 });
  // Where to look: checked when the form is sent (empty: everywhere); live updates reuse it.
  const where = () => {
    if (!lat.value.trim() && !lon.value.trim()) return {};
    return { near_lat_microdeg: check_.degrees(lat, 90), near_lon_microdeg: check_.degrees(lon, 180),
      radius_km: check_.integer(radius, 1, LIMITS.radiusKm) };
  };
  let near = {};
  try { near = where(); } catch { near = {}; }
  const refresh = async () => {
    const params = new URLSearchParams({ open: "true", ...near });
    try {
      const { jobs } = await get(`/api/v1/jobs?${params}`);
      replace(list, jobs.length ? jobs.map((j) => h("li", { class: "card" },
        h("button", { type: "button", class: "link", onclick: () => showJob(j.id, detail, me) }, j.title), " ",
        h("span", { class: "badge other", "data-state": j.state }, stateName(j.state)),
        h("div", { class: "muted" }, t("jobs.what-by", { quantity: j.quantity, process: j.process, material: j.material, deadline: day(j.deadline_ms) }),
          j.distance_m !== undefined ? ` · ${t("jobs.away", { distance: measure(j.distance_m / 1000, "kilometer") })}` : "",
          ` · ${t("jobs.bids-count", { count: j.bids })}`, j.customer === me ? ` · ${t("jobs.your-offer")}` : "")))
        : h("li", { class: "muted" }, t("jobs.none-here")));
    } catch (e) { replace(list, errorBox(e)); }
  };
  view.append(h("h1", {}, t("nav.jobs")),
    h("form", { class: "inline", id: "near-form", novalidate: true, onsubmit: (e) => {
      e.preventDefault();
      check_.clearFieldErrors(e.target);
      try { near = where(); } catch (err) {
        if (!(err instanceof check_.FieldError)) throw err;
        check_.showFieldError(err.input, err.message);
        err.input.focus();
        return;
      }
      refresh();
    } },
      h("label", { for: "near-lat" }, t("form.latitude"), lat), h("label", { for: "near-lon" }, t("form.longitude"), lon),
      h("label", { for: "near-radius" }, t("form.radius-km"), radius), h("button", { type: "submit" }, t("jobs.show"))),
    h("div", { class: "grid" }, h("section", { "aria-label": t("jobs.open-jobs") }, list), detail),
    await offerForm(adverts, here, (jobId) => { refresh(); showJob(jobId, detail, me); }));
  await refresh();
  const onEntries = (event) => {
    if (truncated(event) || event.detail.entries.some((e) => e.kind.startsWith("job."))) {
      refresh();
      const open = detail.dataset.job;
      if (open && !detail.dataset.dirty) showJob(open, detail, me, false);
    }
  };
  window.addEventListener("fab:entries", onEntries);
  return () => window.removeEventListener("fab:entries", onEntries);
}

async function offerForm(adverts, here, onOffered) {
  const { designs } = await get("/api/v1/designs?q=&limit=100");
  const processes = [...new Set(adverts.flatMap((a) => a.advert.machines.map((m) => m.process)))].sort();
  const materials = [...new Set(adverts.flatMap((a) => a.advert.machines.flatMap((m) => m.materials)))].sort();
  const input = (id, label, attrs = {}) => {
    const el = h(attrs.tag || "input", { id, name: id, ...attrs, tag: null });
    return [h("label", { for: id }, label, el), el];
  };
  const [titleL, title] = input("offer-title", t("jobs.offer.title-field"), { required: true, maxlength: LIMITS.title, "data-field": "title" });
  const design = h("select", { id: "offer-design", name: "design", required: true, "data-field": "design" },
    h("option", { value: "" }, designs.length ? t("jobs.offer.choose-design") : t("jobs.offer.no-design")),
    designs.map((d) => h("option", { value: d.id }, `${d.name} (${d.licence})`)));
  const [processL, process] = input("offer-process", t("labs.col.process"), { required: true, list: "process-list", value: processes[0] || "", "data-field": "process" });
  const [materialL, material] = input("offer-material", t("jobs.offer.material"), { required: true, list: "material-list", maxlength: LIMITS.material, value: materials[0] || "", "data-field": "material" });
  const [qtyL, qty] = input("offer-quantity", t("jobs.offer.quantity"), { type: "number", min: 1, max: LIMITS.quantity, value: 1, required: true, "data-field": "quantity" });
  const inTwoWeeks = new Date(Date.now() + 14 * 86400e3).toISOString().slice(0, 10);
  const [deadlineL, deadline] = input("offer-deadline", t("jobs.offer.deadline"), { type: "date", value: inTwoWeeks, required: true, "data-field": "deadline_ms" });
  const [latL, lat] = input("offer-lat", t("form.latitude"), { inputmode: "decimal", required: true, value: here ? degrees(here.lat_microdeg) : "", "data-field": "location.lat_microdeg" });
  const [lonL, lon] = input("offer-lon", t("form.longitude"), { inputmode: "decimal", required: true, value: here ? degrees(here.lon_microdeg) : "", "data-field": "location.lon_microdeg" });
  const [radiusL, radius] = input("offer-radius", t("form.radius-km"), { type: "number", min: 1, max: LIMITS.radiusKm, value: 200, required: true, "data-field": "radius_km" });
  const [budgetL, budget] = input("offer-budget", t("jobs.offer.budget"), { inputmode: "decimal", "data-field": "budget.amount_minor" });
  const [currencyL, currency] = input("offer-currency", t("form.currency"), { value: "EUR", maxlength: 3, "data-field": "budget.currency" });
  const out = h("div", { "aria-live": "polite" });
  const submit = h("button", { type: "submit" }, t("jobs.offer.submit"));
  const check = () => {
    const body = {
      title: check_.text(title, { max: LIMITS.title, required: true, oneLine: true }),
      design: design.value || check_.fail(design, t("jobs.offer.design-missing")),
      process: check_.text(process, { max: 64, required: true, oneLine: true }),
      material: check_.text(material, { max: LIMITS.material, required: true, oneLine: true }),
      quantity: check_.integer(qty, 1, LIMITS.quantity),
      deadline_ms: check_.date(deadline, { time: "23:59:59" }),
      location: { lat_microdeg: check_.degrees(lat, 90), lon_microdeg: check_.degrees(lon, 180) },
      radius_km: check_.integer(radius, 1, LIMITS.radiusKm),
      budget: null,
    };
    if (budget.value.trim()) {
      const code = check_.currency(currency);
      body.budget = { amount_minor: check_.amount(budget, code), currency: code };
    }
    return body;
  };
  const form = h("form", { class: "stack", id: "offer-form", novalidate: true, onsubmit: (e) => {
    e.preventDefault();
    submitChecked(form, submit, out, check, async (body) => {
      const offered = await post("/api/v1/jobs", body);
      replace(out, h("p", { role: "status" }, tn("jobs.offered", { id: h("code", {}, offered.entry_id), count: offered.candidates.length })));
      onOffered(offered.entry_id);
    });
  } },
  titleL, h("label", { for: "offer-design" }, t("jobs.offer.design"), design), processL, materialL, qtyL, deadlineL, latL, lonL, radiusL,
  budgetL, currencyL, submit, out,
  h("datalist", { id: "process-list" }, processes.map((p) => h("option", { value: p }))),
  h("datalist", { id: "material-list" }, materials.map((m) => h("option", { value: m }))));
  return h("section", { "aria-labelledby": "offer-h" }, h("h2", { id: "offer-h" }, t("jobs.offer.title")), form);
}

export async function showJob(id, detail, me, focus = true) {
  detail.dataset.job = id;
  delete detail.dataset.dirty;
  let job, matched;
  try {
    [job, matched] = await Promise.all([get(`/api/v1/jobs/${id}`), get(`/api/v1/jobs/${id}/candidates`), loadNames()]);
  } catch (e) { replace(detail, errorBox(e)); return; }
  const role = job.customer === me ? "customer" : job.lab === me ? "lab" : "other";
  const heading = h("h2", { tabindex: "-1" }, job.offer.title);
  const out = h("div", { "aria-live": "polite" });
  const act = (action, label, path, body) => {
    const button = h("button", { type: "button", "data-action": action }, label);
    button.addEventListener("click", () => busy(button, out, async () => {
      await post(path, body());
      await showJob(id, detail, me, false);
    }));
    return button;
  };
  // Steps with their fields (tracking, reason and evidence, score and text): jobactions.js.
  const actions = stepForms(job, role, out, () => showJob(id, detail, me, false));
  const bids = job.bids.length ? h("ul", { id: "job-bids" }, job.bids.map((b) => h("li", {},
    b.lab === me ? h("strong", {}, t("you")) : who(b.lab), " ", t("jobs.bid.line", { price: money(b.price.amount_minor, b.price.currency), ready: day(b.ready_ms), status: bidStatus(job, b) }), " ",
    job.state === "open" && role === "customer" && b.status === "active"
      ? act("award", t("jobs.award"), `/api/v1/jobs/${id}/steps/award`, () => ({ bid: b.entry_id })) : null)))
    : h("p", { class: "muted" }, t("jobs.no-bid"));
  replace(detail, h("div", { class: "card" }, heading,
    h("p", {}, h("span", { class: "badge other", id: "job-state", "data-state": job.state }, stateName(job.state)),
      " ", t("jobs.what-by", { quantity: job.offer.quantity, process: job.offer.process, material: job.offer.material, deadline: day(job.offer.deadline_ms) })),
    h("p", { class: "muted" }, tn("jobs.id", { id: h("code", {}, job.id) }), role !== "other" ? ` · ${role === "customer" ? t("jobs.you-customer") : t("jobs.you-lab")}` : ""),
    job.offer.design ? h("p", {}, thumbnail(job.offer.design, { alt: t("jobs.part-picture", { design: short(job.offer.design) }), className: "thumb" }),
      " ", tn("jobs.design", { design: h("code", { title: job.offer.design }, short(job.offer.design, 16)) })) : null,
    h("h3", {}, t("jobs.candidates")), candidatesTable(matched),
    h("h3", {}, t("jobs.bids")), bids,
    job.state === "open" && role !== "customer" ? bidForm(id, out, () => showJob(id, detail, me, false)) : null,
    h("h3", {}, t("jobs.lifecycle")),
    h("ol", { id: "job-steps" }, h("li", {}, t("jobs.offered-at", { when: when(job.offered_ms) })),
      job.steps.map((s) => h("li", {}, `${stepName(s.kind)} → ${stateName(s.state)} · ${when(s.timestamp_ms)}`))),
    actions.length ? h("div", { class: "stack" }, actions) : null,
    role !== "other" ? h("p", {}, h("a", { href: "#/mine" }, t("jobs.all-yours"))) : null, out));
  if (focus) heading.focus();
}

function candidatesTable(matched) {
  if (!matched.candidates.length) return h("p", { class: "muted" }, t("jobs.no-candidates"));
  return h("div", { class: "table-wrap" }, h("table", { id: "job-candidates" },
    h("thead", {}, h("tr", {}, [t("jobs.col.lab"), t("labs.col.machine"), t("jobs.col.distance"), t("jobs.col.quote"), t("jobs.col.lead-time")].map((c) => h("th", { scope: "col" }, c)))),
    h("tbody", {}, matched.candidates.map((c) => h("tr", {},
      h("td", {}, c.advert ? c.advert.name : c.name), h("td", {}, `${c.machine.make} ${c.machine.model}`),
      h("td", {}, c.distance_m === null || c.distance_m === undefined ? "—" : measure(c.distance_m / 1000, "kilometer")),
      h("td", {}, money(c.quote.total_minor, c.quote.currency),
        h("div", { class: "muted quote-basis", "data-method": c.quote.method }, quoteBasis(c.quote)),
        readinessWarnings(c.warnings)),
      h("td", {}, t("jobs.days", { count: c.lead_time_days ?? c.advert.lead_time_days })))))));
}

// Print-readiness warnings beside the quote (specs/0010 §3.4): advice, never a refusal.
function readinessWarnings(warnings) {
  if (!warnings || !warnings.length) return null;
  return h("ul", { class: "warnings" }, warnings.map((w) =>
    h("li", { class: "warning" }, t("jobs.part-warning", { part: w.part + 1, text: w.text }))));
}

function bidForm(id, out, after) {
  const price = h("input", { id: "bid-price", name: "price", inputmode: "decimal", required: true, "data-field": "price.amount_minor" });
  const currency = h("input", { id: "bid-currency", name: "currency", value: "EUR", maxlength: 3, required: true, "data-field": "price.currency" });
  const ready = h("input", { id: "bid-ready", name: "ready", type: "date", required: true, "data-field": "ready_ms",
    value: new Date(Date.now() + 7 * 86400e3).toISOString().slice(0, 10) });
  const note = h("input", { id: "bid-note", name: "note", maxlength: LIMITS.note, "data-field": "note" });
  const submit = h("button", { type: "submit" }, t("jobs.bid.submit"));
  const check = () => {
    const code = check_.currency(currency);
    return { price: { amount_minor: check_.amount(price, code), currency: code },
      ready_ms: check_.date(ready), note: check_.text(note, { max: LIMITS.note }) };
  };
  const form = h("form", { class: "inline", id: "bid-form", novalidate: true, onsubmit: (e) => {
    e.preventDefault();
    submitChecked(form, submit, out, check, async (body) => {
      await post(`/api/v1/jobs/${id}/bids`, body);
      after();
    });
  } }, h("label", { for: "bid-price" }, t("labs.col.price"), price), h("label", { for: "bid-currency" }, t("form.currency"), currency),
  h("label", { for: "bid-ready" }, t("form.ready-by"), ready), h("label", { for: "bid-note" }, t("form.note-optional"), note), submit);
  return form;
}
