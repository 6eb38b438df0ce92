// The lifecycle steps of a job as forms, each shown only to the party that may sign it
// (specs/0007 §3) and with the fields it needs: a tracking number to ship, a reason
// and evidence files to dispute, a score and text to review (after a confirmation:
// a review is permanent). The node checks every step again before signing.
import { api, post } from "./api.js";
import { busy, h } from "./ui.js";

// (state, action) -> the role that may sign it: the lifecycle table of specs/0007 §3.
export const NEXT = {
  open: { award: "customer", cancel: "customer" },
  awarded: { start: "lab", cancel: "customer" },
  "in-production": { ship: "lab", dispute: "customer" },
  shipped: { deliver: "lab", confirm: "customer", dispute: "customer" },
  delivered: { confirm: "customer", dispute: "customer" },
  disputed: { confirm: "customer", refund: "lab" },
  confirmed: { review: "customer" },
};

// Store each file as a plain blob on this node (POST /api/v1/blobs); their ids.
export async function uploadBlobs(files) {
  const ids = [];
  for (const file of files) {
    const added = await api("POST", "/api/v1/blobs", file, { raw: true, headers: { "Content-Type": "application/octet-stream" } });
    ids.push(added.blob);
  }
  return ids;
}

// The step forms `role` may sign now (awards are offered beside each bid instead).
export function stepForms(job, role, out, after) {
  const steps = NEXT[job.state] || {};
  return Object.entries(steps).filter(([action, who]) => who === role && action !== "award")
    .map(([action]) => stepForm(job.id, action, out, after));
}

function stepForm(jobId, action, out, after) {
  const path = `/api/v1/jobs/${jobId}/steps/${action}`;
  const submit = h("button", { type: "submit" }, LABELS[action] || action);
  const fields = FIELDS[action] ? FIELDS[action]() : { els: [], body: async () => ({}) };
  const form = h("form", { class: "inline step-form", "data-action": action, onsubmit: (e) => {
    e.preventDefault();
    busy(submit, out, async () => {
      const body = await fields.body();
      if (fields.confirm && !(await confirmDialog(fields.confirm()))) return;
      await post(path, body);
      await after();
    });
  } }, fields.els, submit);
  return form;
}

const LABELS = {
  cancel: "Cancel job", start: "Start production", ship: "Ship", deliver: "Mark delivered",
  confirm: "Confirm delivery", dispute: "Dispute", refund: "Refund", review: "Sign review",
};

const field = (id, label, attrs = {}, tag = "input") => {
  const el = h(tag, { id, name: id, ...attrs });
  return [h("label", { for: id }, label, el), el];
};

const FIELDS = {
  cancel: () => {
    const [l, reason] = field("cancel-reason", "Reason (optional)", { maxlength: 2000 });
    return { els: [l], body: async () => ({ reason: reason.value.trim() }) };
  },
  ship: () => {
    const [l, tracking] = field("ship-tracking", "Tracking number", { required: true, maxlength: 200 });
    return { els: [l], body: async () => ({ tracking: tracking.value.trim() }) };
  },
  dispute: () => {
    const [rl, reason] = field("dispute-reason", "What is wrong", { required: true, maxlength: 2000, rows: 3 }, "textarea");
    const [el, files] = field("dispute-evidence", "Evidence files (photos, measurements; up to 16)", { type: "file", multiple: true });
    return { els: [rl, el], body: async () => ({
      reason: reason.value.trim(), evidence: await uploadBlobs([...files.files].slice(0, 16)) }) };
  },
  refund: () => {
    const [l, note] = field("refund-note", "Note (optional)", { maxlength: 2000 });
    return { els: [l], body: async () => ({ note: note.value.trim() }) };
  },
  review: () => {
    const score = h("select", { id: "review-score", name: "review-score", required: true },
      h("option", { value: "" }, "Choose 1–5"), [5, 4, 3, 2, 1].map((n) => h("option", { value: n }, `${n} / 5`)));
    const sl = h("label", { for: "review-score" }, "Score", score);
    const [tl, text] = field("review-text", "Review", { maxlength: 2000, rows: 3 }, "textarea");
    return {
      els: [sl, tl],
      body: async () => ({ score: Number(score.value), text: text.value.trim() }),
      confirm: () => `Sign a review of ${score.value} / 5${text.value.trim() ? ` saying “${text.value.trim()}”` : " with no text"}? `
        + "A review is a signed entry in your log: it is permanent and cannot be changed or withdrawn.",
    };
  },
};

// A modal question; resolves true only on the confirming button.
export function confirmDialog(question, yes = "Sign it") {
  return new Promise((resolve) => {
    const dialog = h("dialog", { id: "confirm-dialog", "aria-labelledby": "confirm-q" },
      h("p", { id: "confirm-q" }, question),
      h("form", { method: "dialog", class: "inline" },
        h("button", { type: "submit", value: "yes", "data-confirm": "yes" }, yes),
        h("button", { type: "submit", value: "no", class: "secondary", "data-confirm": "no" }, "Go back")));
    dialog.addEventListener("close", () => { resolve(dialog.returnValue === "yes"); dialog.remove(); });
    document.body.append(dialog);
    dialog.showModal();
  });
}
