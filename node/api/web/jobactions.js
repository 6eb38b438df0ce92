// The lifecycle steps of a job as forms, each shown only to the party that may sign it
// (specs/0007 §3) and with the fields it needs: a tracking number to ship, a reason
// and evidence files to dispute, a score and text to review (after a confirmation:
// a review is permanent). The node checks every step again before signing.
import { post, uploadBlobs } from "./api.js";
import { h } from "./ui.js";
import { t } from "./i18n.js";
import * as checks from "./checks.js";
import { LIMITS, submitChecked } from "./checks.js";

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

// The step forms `role` may sign now (awards are offered beside each bid instead).
export function stepForms(job, role, out, after) {
  const steps = NEXT[job.state] || {};
  return Object.entries(steps).filter(([action, who]) => who === role && action !== "award")
    .map(([action]) => stepForm(job.id, action, out, after));
}

function stepForm(jobId, action, out, after) {
  const path = `/api/v1/jobs/${jobId}/steps/${action}`;
  const submit = h("button", { type: "submit" }, label(action));
  const fields = FIELDS[action] ? FIELDS[action]() : { els: [], check: () => ({}), body: async () => ({}) };
  const form = h("form", { class: `${fields.stack ? "stack" : "inline"} step-form`, "data-action": action, novalidate: true,
    onsubmit: (e) => {
      e.preventDefault();
      submitChecked(form, submit, out, fields.check, async (values) => {
        if (fields.confirm && !(await confirmDialog(fields.confirm(values)))) return;
        await post(path, await fields.body(values));
        await after();
      });
    } }, fields.els, submit);
  return form;
}

const label = (action) => ({
  cancel: t("step.button.cancel"), start: t("step.button.start"), ship: t("step.button.ship"), deliver: t("step.button.deliver"),
  confirm: t("step.button.confirm"), dispute: t("step.button.dispute"), refund: t("step.button.refund"), review: t("step.button.review"),
})[action] || action;

const field = (id, label, attrs = {}, tag = "input") => {
  const el = h(tag, { id, name: id, "data-field": id.split("-").pop(), ...attrs });
  return [h("label", { for: id }, label, el), el];
};
const same = async (values) => values;

// Each step's fields: `check()` reads them as the node will check them (nothing is sent
// when one is wrong), `body(values)` makes the request (uploading evidence first).
const FIELDS = {
  cancel: () => {
    const [l, reason] = field("cancel-reason", t("step.reason-optional"), { maxlength: LIMITS.reason });
    return { els: [l], check: () => ({ reason: checks.text(reason, { max: LIMITS.reason }) }), body: same,
      confirm: () => t("step.cancel.confirm") };
  },
  ship: () => {
    const [l, tracking] = field("ship-tracking", t("step.tracking"), { required: true, maxlength: LIMITS.tracking });
    return { els: [l], check: () => ({ tracking: checks.text(tracking, { max: LIMITS.tracking, required: true }) }), body: same };
  },
  dispute: () => {
    const [rl, reason] = field("dispute-reason", t("step.dispute.reason"), { required: true, maxlength: LIMITS.reason, rows: 3 }, "textarea");
    const [el, files] = field("dispute-evidence", t("step.dispute.evidence", { max: LIMITS.evidence }), { type: "file", multiple: true });
    return {
      els: [rl, el], stack: true,
      check: () => ({ reason: checks.text(reason, { max: LIMITS.reason, required: true }), chosen: checks.files(files, { max: LIMITS.evidence }) }),
      body: async ({ reason: why, chosen }) => ({ reason: why, evidence: await uploadBlobs(chosen) }),
    };
  },
  refund: () => {
    const [l, note] = field("refund-note", t("form.note-optional"), { maxlength: LIMITS.note });
    return { els: [l], check: () => ({ note: checks.text(note, { max: LIMITS.note }) }), body: same };
  },
  review: () => {
    const score = h("select", { id: "review-score", name: "review-score", required: true, "data-field": "score" },
      h("option", { value: "" }, t("step.review.choose")), [5, 4, 3, 2, 1].map((n) => h("option", { value: n }, `${n} / 5`)));
    const sl = h("label", { for: "review-score" }, t("step.review.score"), score);
    const [tl, text] = field("review-text", t("step.review.text"), { maxlength: LIMITS.note, rows: 3 }, "textarea");
    return {
      els: [sl, tl], stack: true,
      check: () => ({ score: score.value ? Number(score.value) : checks.fail(score, t("step.review.score-missing")),
        text: checks.text(text, { max: LIMITS.note }) }),
      body: same,
      confirm: (v) => (v.text ? t("step.review.confirm-text", { score: v.score, text: v.text }) : t("step.review.confirm", { score: v.score })),
    };
  },
};

// A modal question; resolves true only on the confirming button.
export function confirmDialog(question, yes = t("confirm.sign")) {
  return new Promise((resolve) => {
    const dialog = h("dialog", { id: "confirm-dialog", "aria-labelledby": "confirm-q" },
      h("p", { id: "confirm-q" }, question),
      h("form", { method: "dialog", class: "inline" },
        h("button", { type: "submit", value: "yes", "data-confirm": "yes" }, yes),
        h("button", { type: "submit", value: "no", class: "secondary", "data-confirm": "no" }, t("confirm.back"))));
    dialog.addEventListener("close", () => { resolve(dialog.returnValue === "yes"); dialog.remove(); });
    document.body.append(dialog);
    dialog.showModal();
  });
}
