// My jobs: every job this node's identity is a party to (customer, bidder, awarded lab),
// newest activity first (GET /api/v1/jobs/mine, specs/0007 §9). Per job: a timeline of
// every entry that counts (who signed it, when, and when the federation witnessed it),
// what comes next and who must act, and only the actions that are ours: counters and
// awards (customer), re-bids and withdrawals (bidder), the lifecycle steps
// (jobactions.js), and the job's private files — sealed by this node to the awarded
// lab and to us, opened by this node with its key and offered as a download.
import { get, optional, post, token, truncated, uploadFiles } from "./api.js";
import { busy, day, errorBox, h, replace, short, when } from "./ui.js";
import { list as listOf, t, tn } from "./i18n.js";
import * as checks from "./checks.js";
import { LIMITS, submitChecked } from "./checks.js";
import { notOnThisNode } from "./pending.js";
import { money } from "./labs.js";
import { stepForms } from "./jobactions.js";
import { loadNames, nameOf, who } from "./names.js";
import { thumbnail } from "./previews.js";

// The node's names for actions, roles, states and steps, as the reader says them.
const actionText = (action) => ({ files: t("mine.action.files"), counter: t("mine.action.counter"),
  award: t("mine.action.award"), bid: t("mine.action.bid"), withdraw: t("mine.action.withdraw"),
  cancel: t("mine.action.cancel"), start: t("mine.action.start"), ship: t("mine.action.ship"),
  deliver: t("mine.action.deliver"), confirm: t("mine.action.confirm"), dispute: t("mine.action.dispute"),
  refund: t("mine.action.refund"), review: t("mine.action.review") })[action] || action;
const roleText = (role) => ({ customer: t("mine.role.customer"), lab: t("mine.role.lab"),
  bidder: t("mine.role.bidder"), other: t("mine.role.other") })[role] || role;

export function stateName(state) {
  return { open: t("state.open"), awarded: t("state.awarded"), "in-production": t("state.in-production"),
    shipped: t("state.shipped"), delivered: t("state.delivered"), confirmed: t("state.confirmed"),
    disputed: t("state.disputed"), refunded: t("state.refunded"), reviewed: t("state.reviewed"),
    cancelled: t("state.cancelled"), expired: t("state.expired") }[state] || state;
}

// "job.ship" -> "ship", in the reader's words.
export function stepName(kind) {
  return { "job.offer": t("step.offer"), "job.bid": t("step.bid"), "job.counter": t("step.counter"),
    "job.withdraw": t("step.withdraw"), "job.award": t("step.award"), "job.start": t("step.start"),
    "job.ship": t("step.ship"), "job.deliver": t("step.deliver"), "job.confirm": t("step.confirm"),
    "job.dispute": t("step.dispute"), "job.refund": t("step.refund"), "job.review": t("step.review"),
    "job.cancel": t("step.cancel"), "job.files": t("step.files"), "job.message": t("step.message"),
  }[kind] || kind.replace("job.", "");
}

const bidStatusName = (status) => ({ active: t("bid.active"), awarded: t("bid.awarded"), withdrawn: t("bid.withdrawn"),
  superseded: t("bid.superseded"), "not chosen": t("bid.not-chosen") })[status] || status;

export async function myJobsPage(view) {
  const [first] = await Promise.all([optional("/api/v1/jobs/mine"), loadNames()]);
  if (first === null) { notOnThisNode(view, t("nav.mine"), t("pending.what.jobs")); return null; }
  const list = h("ul", { class: "results", id: "my-jobs", "aria-live": "polite" });
  const detail = h("section", { id: "my-job", "aria-label": t("mine.the-job") });
  // A form being filled in is not redrawn under the user's hands by a live update.
  detail.addEventListener("input", () => { detail.dataset.dirty = "1"; });
  let data = first;
  const draw = () => {
    replace(list, data.jobs.length ? data.jobs.map((row) => h("li", { class: "card", "data-job": row.id },
      h("button", { type: "button", class: "link", onclick: () => open(row.id) }, row.title), " ",
      h("span", { class: "badge other" }, stateName(row.state)),
      h("div", { class: "muted" }, t("mine.you-last", { roles: listOf(row.roles.map(roleText)), when: when(row.activity_ms) })),
      h("div", {}, nextText(row))))
      : h("li", { class: "muted" }, t("mine.none")));
    const shown = detail.dataset.job && data.jobs.find((r) => r.id === detail.dataset.job);
    if (shown && !detail.dataset.dirty) showMine(shown, detail, data, refresh);
  };
  const refresh = async () => {
    try { data = await get("/api/v1/jobs/mine"); draw(); } catch (e) { replace(list, errorBox(e)); }
  };
  const open = (id) => {
    delete detail.dataset.dirty;
    detail.dataset.job = id;
    draw();
    detail.querySelector("h2")?.focus();
  };
  view.append(h("h1", {}, t("nav.mine")),
    h("p", { class: "muted" }, data.witness_times ? t("mine.times.witnessed") : t("mine.times.dev")),
    h("div", { class: "grid" }, h("section", { "aria-label": t("mine.jobs") }, list), detail));
  draw();
  const wanted = new URLSearchParams(location.hash.split("?")[1] || "").get("job");
  if (wanted && data.jobs.some((r) => r.id === wanted)) open(wanted);
  const onEntries = (event) => {
    if (truncated(event) || event.detail.entries.some((e) => e.kind.startsWith("job."))) refresh();
  };
  window.addEventListener("fab:entries", onEntries);
  return () => window.removeEventListener("fab:entries", onEntries);
}

function nextText(row) {
  if (!row.next.length) return h("span", { class: "muted" }, t("mine.next.over"));
  const ours = row.next.filter((n) => n.yours).map((n) => actionText(n.action));
  const others = new Map();  // the other parties and what each may do
  for (const n of row.next.filter((x) => !x.yours)) {
    const role = roleText(n.role);
    others.set(role, [...(others.get(role) || []), actionText(n.action)]);
  }
  const theirs = listOf([...others].map(([role, actions]) => `${role} (${listOf(actions)})`), "disjunction");
  // It is our turn when we may act; the others' actions are then their options, not a wait.
  return [ours.length ? h("strong", {}, t("mine.next.yours", { actions: listOf(ours) }), " ") : null,
    theirs ? h("span", { class: "muted" }, ours.length ? t("mine.next.also", { theirs }) : t("mine.next.waiting", { theirs })) : null];
}

function showMine(row, detail, data, refresh) {
  const job = row.job;
  const me = data.me;
  const role = row.roles.includes("customer") ? "customer" : row.roles.includes("lab") ? "lab" : "bidder";
  const out = h("div", { "aria-live": "polite", id: "my-job-out" });
  const after = async () => { delete detail.dataset.dirty; await refresh(); };
  const heading = h("h2", { tabindex: "-1" }, job.offer.title);
  replace(detail, h("div", { class: "card" }, heading,
    h("p", {}, h("span", { class: "badge other", id: "my-job-state", "data-state": job.state }, stateName(job.state)),
      " ", tn("mine.you-are", { roles: listOf(row.roles.map(roleText)), job: h("code", {}, short(job.id, 16)) })),
    h("p", { id: "my-job-next" }, nextText(row)),
    job.offer.design ? thumbnail(job.offer.design, { alt: t("mine.part-picture") }) : null,
    h("h3", {}, t("mine.timeline")), timeline(row, data.witness_times, data.me),
    h("h3", {}, t("mine.bids")), bidsSection(job, role, me, out, after),
    filesSection(job, role, out, after),
    threadSection(job, role, me),
    actionsSection(stepForms(job, role === "bidder" ? "other" : role, out, after)),
    out));
}

function actionsSection(forms) {
  return h("section", { "aria-labelledby": "actions-h" }, forms.length ? h("h3", { id: "actions-h" }, t("mine.next-step")) : null,
    h("div", { id: "my-job-actions", class: "stack" }, forms));
}

// The job's conversation (specs/0007 §2.5): messages sealed to both parties, opened by
// this node (GET /jobs/{job}/thread fetches what it lacks first). Before the award the
// customer writes to each bidding lab apart; after it, customer and awarded lab only.
const threads = new Map();  // job id -> its messages as last read

function threadSection(job, role, me) {
  const list = h("ol", { id: "my-job-thread", "aria-live": "polite" });
  const out = h("div", { "aria-live": "polite" });
  const show = (messages) => {
    const ours = messages.filter((m) => m.author === me || m.to === me);  // others': not ours to read
    replace(list, ours.length ? ours.map((m) => messageRow(job.id, m, me, out))
      : h("li", { class: "muted" }, t("mine.no-message")));
  };
  let retries = 5;  // a message's blob not fetched yet (just sent): ask again a few times
  const load = async () => {
    try {
      const thread = await get(`/api/v1/jobs/${job.id}/thread`);
      threads.set(job.id, thread.messages);
      show(thread.messages);
      if (thread.messages.some((m) => m.error?.code === "misuse.blob-missing") && retries-- > 0) {
        setTimeout(() => { if (list.isConnected) load(); }, 3000);
      }
    } catch (e) { replace(list, errorBox(e)); }
  };
  // What was read last stays on screen while the thread is fetched again.
  if (threads.has(job.id)) show(threads.get(job.id));
  else replace(list, h("li", { class: "muted" }, t("mine.loading-messages")));
  load();
  return h("section", { "aria-labelledby": "thread-h" }, h("h3", { id: "thread-h" }, t("mine.messages")),
    h("p", { class: "muted" }, t("mine.messages.sealed")),
    list, messageForm(job, role, me, out, load), out);
}

function messageRow(jobId, m, me, out) {
  const from = m.author === me ? h("strong", {}, t("you")) : who(m.author);
  const to = m.to === me ? h("strong", {}, t("you")) : who(m.to);
  const files = m.attachments.map((blob, i) => {
    const b = h("button", { type: "button", class: "secondary", "data-action": "open-attachment" },
      t("mine.open-attachment", { name: m.names[i] || short(blob, 16) }));
    b.addEventListener("click", () => busy(b, out, () => download(`/api/v1/jobs/${jobId}/blobs/${blob}`, m.names[i] || `${blob.slice(0, 16)}.bin`)));
    return b;
  });
  return h("li", { class: "card message", "data-entry": m.entry_id },
    h("div", { class: "muted" }, from, " → ", to,
      ` · ${when(m.sent_ms || m.timestamp_ms)}`),
    m.error ? h("p", { class: "warning" }, t("mine.unreadable", { message: m.error.message, code: m.error.code }))
      : h("p", { class: "message-text" }, m.text),
    files.length ? h("div", { class: "inline" }, files) : null);
}

function messageForm(job, role, me, out, load) {
  const over = ["cancelled", "expired"].includes(job.state);
  if (over || role === "other") return null;
  const bidders = [...new Set(job.bids.map((b) => b.lab))].filter((lab) => lab !== me);
  let to = null;
  if (role === "customer") {
    if (job.lab) to = job.lab;
    else if (!bidders.length) return h("p", { class: "muted" }, t("mine.write-after-bid"));
  }
  const select = role === "customer" && !job.lab
    ? h("select", { id: "message-to", "data-field": "to" }, bidders.map((lab) => h("option", { value: lab }, nameOf(lab))))
    : null;
  const text = h("textarea", { id: "message-text", name: "text", rows: 3, maxlength: LIMITS.message, required: true, "data-field": "text" });
  const files = h("input", { id: "message-files", type: "file", multiple: true, "data-field": "attachments" });
  const submit = h("button", { type: "submit" }, t("mine.send"));
  const check = () => ({ text: checks.text(text, { max: LIMITS.message, required: true }),
    chosen: checks.files(files, { max: LIMITS.attachments }) });
  const form = h("form", { id: "message-form", class: "stack", novalidate: true, onsubmit: (e) => {
    e.preventDefault();
    submitChecked(form, submit, out, check, async ({ text: said, chosen }) => {
      const body = { text: said, to: select ? select.value : to };
      if (chosen.length) {
        body.upload_id = await uploadFiles(chosen);
      }
      await post(`/api/v1/jobs/${job.id}/messages`, body);
      text.value = "";
      files.value = "";
      const detail = e.target.closest("#my-job");  // sent: live updates may redraw again
      if (detail) delete detail.dataset.dirty;
      replace(out, h("p", { role: "status" }, t("mine.sent")));
      await load();
    });
  } }, select ? h("label", { for: "message-to" }, t("mine.to"), select) : null,
    h("label", { for: "message-text" }, t("mine.message"), text),
    h("label", { for: "message-files" }, t("mine.attachments", { max: LIMITS.attachments }), files), submit);
  return form;
}

function timeline(row, witnessTimes, me) {
  return h("ol", { id: "my-job-timeline" }, row.timeline.map((step) => h("li", { "data-kind": step.kind },
    tn("mine.step-by", { step: h("strong", {}, stepName(step.kind)),
      who: step.author === me ? [h("strong", {}, t("you")), ` (${roleText(step.role)})`] : [`${roleText(step.role)} `, who(step.author)] }),
    " · ", t("mine.signed", { when: when(step.timestamp_ms) }),
    witnessTimes ? ` · ${step.witnessed_at_s ? t("mine.witnessed", { when: when(step.witnessed_at_s * 1000) }) : t("mine.not-witnessed")}` : "",
    detailOf(step))));
}

function detailOf(step) {
  const b = step.body || {};
  const bits = [];
  if (b.price) bits.push(money(b.price.amount_minor, b.price.currency));
  if (b.ready_ms) bits.push(t("mine.ready-by", { day: day(b.ready_ms) }));
  if (b.tracking) bits.push(t("mine.tracking", { tracking: b.tracking }));
  if (b.reason) bits.push(t("quoted", { text: b.reason }));
  if (b.evidence && b.evidence.length) bits.push(t("mine.evidence-files", { count: b.evidence.length }));
  if (b.blobs) bits.push(t("mine.sealed-files", { count: b.blobs.length }));
  if (b.score) bits.push(`${b.score} / 5`);
  if (b.text) bits.push(t("quoted", { text: b.text }));
  if (b.note) bits.push(t("quoted", { text: b.note }));
  return bits.length ? h("div", { class: "muted" }, bits.join(" · ")) : null;
}

function priceFields(prefix, currency) {
  const price = h("input", { name: "price", class: `${prefix}-price`, inputmode: "decimal", required: true, "aria-label": t("labs.col.price"), "data-field": "price.amount_minor" });
  const ready = h("input", { name: "ready", class: `${prefix}-ready`, type: "date", required: true, "aria-label": t("form.ready-by"), "data-field": "ready_ms",
    value: new Date(Date.now() + 7 * 86400e3).toISOString().slice(0, 10) });
  const note = h("input", { name: "note", class: `${prefix}-note`, maxlength: LIMITS.note, "aria-label": t("form.note"), "data-field": "note" });
  const check = () => ({ price: { amount_minor: checks.amount(price, currency), currency },
    ready_ms: checks.date(ready), note: checks.text(note, { max: LIMITS.note }) });
  return { els: [h("label", {}, t("form.price-in", { currency }), price), h("label", {}, t("form.ready-by"), ready), h("label", {}, t("form.note"), note)], check, price };
}

function formFor(cls, label, fields, send, out) {
  const submit = h("button", { type: "submit" }, label);
  const form = h("form", { class: `inline ${cls}`, novalidate: true, onsubmit: (e) => {
    e.preventDefault();
    submitChecked(form, submit, out, fields.check, send);
  } }, fields.els, submit);
  return form;
}

// After an award (or once the offer is over) an active bid was simply not chosen.
export function bidStatus(job, b) {
  return bidStatusName(b.status === "active" && job.state !== "open" ? "not chosen" : b.status);
}

function bidsSection(job, role, me, out, after) {
  const open = job.state === "open";
  const base = `/api/v1/jobs/${job.id}`;
  const button = (label, attrs, fn) => {
    const b = h("button", { type: "button", ...attrs }, label);
    b.addEventListener("click", () => busy(b, out, fn));
    return b;
  };
  const items = job.bids.map((b) => {
    const currency = b.price.currency;
    const counters = b.counters.map((c) => h("li", { class: "counter" },
      tn("mine.counter-offer", { price: h("strong", {}, money(c.price.amount_minor, c.price.currency)), ready: day(c.ready_ms) }),
      c.note ? ` ${t("quoted", { text: c.note })}` : "",
      open && b.lab === me && b.status === "active"
        ? button(t("mine.accept-counter"), { "data-action": "accept-counter" }, async () => {
          await post(`${base}/bids`, { price: c.price, ready_ms: c.ready_ms, note: c.note ? t("mine.accepting-note", { note: c.note }) : t("mine.accepting") });
          await after();
        }) : null));
    const mineActive = open && b.lab === me && b.status === "active";
    return h("li", { class: "card bid", "data-bid": b.entry_id, "data-lab": b.lab },
      b.lab === me ? h("strong", {}, t("you")) : who(b.lab),
      " ", t("jobs.bid.line", { price: money(b.price.amount_minor, currency), ready: day(b.ready_ms), status: bidStatus(job, b) }), b.note ? ` · ${t("quoted", { text: b.note })}` : "",
      counters.length ? h("ul", {}, counters) : null,
      open && role === "customer" && b.status === "active" ? [
        button(t("jobs.award"), { "data-action": "award" }, async () => { await post(`${base}/steps/award`, { bid: b.entry_id }); await after(); }),
        formFor("counter-form", t("mine.counter"), priceFields("counter", currency),
          async (body) => { await post(`${base}/bids/${b.entry_id}/counter`, body); await after(); }, out)] : null,
      mineActive ? [
        formFor("rebid-form", t("mine.bid-again"), priceFields("rebid", currency),
          async (body) => { await post(`${base}/bids`, body); await after(); }, out),
        button(t("mine.withdraw-bid"), { "data-action": "withdraw", class: "secondary" }, async () => {
          await post(`${base}/bids/${b.entry_id}/withdraw`); await after(); })] : null);
  });
  return h("ul", { class: "results", id: "my-job-bids" }, items.length ? items : h("li", { class: "muted" }, t("jobs.no-bid")));
}

function filesSection(job, role, out, after) {
  const files = job.files.flatMap((f) => f.blobs);
  const evidence = job.steps.filter((s) => s.kind === "job.dispute").flatMap((s) => s.body.evidence || []);
  const rows = [
    ...files.map((blob) => fileRow(job.id, blob, "sealed", role, out)),
    ...evidence.map((blob) => fileRow(job.id, blob, "evidence", role, out)),
  ];
  const final = ["refunded", "reviewed", "cancelled", "expired", "open"].includes(job.state);
  return h("section", { "aria-labelledby": "files-h" }, h("h3", { id: "files-h" }, t("designs.files")),
    rows.length ? h("ul", { id: "my-job-files" }, rows) : h("p", { class: "muted" }, t("mine.no-file")),
    role === "customer" && !final ? sealForm(job.id, out, after) : null);
}

function fileRow(jobId, blob, what, role, out) {
  const b = h("button", { type: "button", class: "secondary", "data-action": "open-file", "data-blob": blob },
    what === "sealed" ? t("mine.open-decrypted") : t("mine.download"));
  b.addEventListener("click", () => busy(b, out, () => download(`/api/v1/jobs/${jobId}/blobs/${blob}`, `${blob.slice(0, 16)}.bin`)));
  return h("li", {}, what === "sealed" ? t("mine.sealed-file") : t("mine.dispute-evidence"), " ", h("code", { title: blob }, short(blob, 16)), " ", b);
}

// The node opens the file; the page hands the bytes to the browser as a download.
async function download(path, name) {
  const response = await fetch(path, { headers: { Authorization: `Bearer ${token()}` } });
  if (!response.ok) {
    const error = (await response.json().catch(() => ({}))).error || {};
    throw Object.assign(new Error(error.message || `HTTP ${response.status}`), { code: error.code });
  }
  const url = URL.createObjectURL(await response.blob());
  const link = h("a", { href: url, download: name, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

function sealForm(jobId, out, after) {
  const input = h("input", { id: "seal-files", name: "files", type: "file", multiple: true, required: true, "data-field": "blobs" });
  const submit = h("button", { type: "submit" }, t("mine.seal"));
  const form = h("form", { class: "inline", id: "seal-form", novalidate: true, onsubmit: (e) => {
    e.preventDefault();
    submitChecked(form, submit, out, () => checks.files(input, { max: LIMITS.sealedFiles, required: true }), async (chosen) => {
      const done = await post(`/api/v1/jobs/${jobId}/files/sealed`, { upload_id: await uploadFiles(chosen) });
      replace(out, h("p", { role: "status" }, t("mine.sealed", { count: done.sealed.length })));
      await after();
    });
  } }, h("label", { for: "seal-files" }, t("mine.private-files"), input), submit);
  return form;
}
