// Form fields checked in the page before anything is sent or signed, with the node's
// own limits (protocol/jobs.py, protocol/fields.py, node/store/notifications.py); a
// refusal is shown beside its field. When the node refuses all the same, its typed
// error names the field (`error.field`, e.g. "tracking", "price.currency",
// "webhooks.1.url", "body.text") and is shown beside the input that carries
// `data-field` for it (README "Dashboard": forms).
import { ApiError } from "./api.js";
import { busy, h } from "./ui.js";
import { t } from "./i18n.js";

export const LIMITS = {
  title: 200, material: 64, note: 2000, tracking: 200, reason: 2000, message: 4000,
  quantity: 1_000_000, radiusKm: 20_038, amountMinor: 2 ** 53 - 1, evidence: 16, attachments: 8, sealedFiles: 64,
};

export class FieldError extends Error {
  constructor(input, message) {
    super(message);
    this.input = input;
  }
}

export const fail = (input, message) => { throw new FieldError(input, message); };
const bad = fail;
// Controls other than tab and newline, as protocol/jobs.py `_text` refuses them.
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;

// Trimmed text of `input`, at most `max` characters; `oneLine`: no newline either.
export function text(input, { max, required = false, oneLine = false }) {
  const value = input.value.trim();
  if (required && !value) bad(input, t("check.required"));
  if (value.length > max) bad(input, t("check.too-long", { max, length: value.length }));
  if (CONTROL.test(value) || (oneLine && /[\n\t]/.test(value))) bad(input, oneLine ? t("check.one-line") : t("check.no-control"));
  return value;
}

export function integer(input, min, max) {
  const raw = input.value.trim();
  const n = Number(raw);
  if (!raw || !Number.isInteger(n) || n < min || n > max) bad(input, t("check.integer", { min, max }));
  return n;
}

export function currency(input) {
  const value = input.value.trim().toUpperCase();
  if (!/^[A-Z]{3}$/.test(value)) bad(input, t("check.currency-letters"));
  try { new Intl.NumberFormat("en", { style: "currency", currency: value }); } catch { bad(input, t("check.not-currency", { value })); }
  input.value = value;
  return value;
}

// "42.50" (or "42,50") in minor units of `code`, refusing more decimals than it has.
export function amount(input, code) {
  const raw = input.value.trim().replace(",", ".");
  const digits = new Intl.NumberFormat("en", { style: "currency", currency: code }).resolvedOptions().maximumFractionDigits;
  const match = /^(\d{1,16})(?:\.(\d+))?$/.exec(raw);
  if (!match) bad(input, t("check.amount"));
  const [, whole, fraction = ""] = match;
  if (fraction.length > digits) bad(input, digits ? t("check.decimals", { count: digits, code }) : t("check.no-decimals", { code }));
  const minor = Number(whole) * 10 ** digits + Number(fraction.padEnd(digits, "0") || 0);
  if (!Number.isSafeInteger(minor) || minor > LIMITS.amountMinor) bad(input, t("check.too-large"));
  return minor;
}

// A date input as milliseconds at `time` local; `future`: after now.
export function date(input, { time = "12:00:00", future = true } = {}) {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(input.value)) bad(input, t("check.date-needed"));
  const ms = new Date(`${input.value}T${time}`).getTime();
  if (Number.isNaN(ms)) bad(input, t("check.not-date"));
  if (future && ms <= Date.now()) bad(input, t("check.future"));
  return ms;
}

export function degrees(input, limit) {
  const raw = input.value.trim().replace(",", ".");
  const n = Number(raw);
  if (!raw || !Number.isFinite(n) || Math.abs(n) > limit) bad(input, t("check.degrees", { limit }));
  return Math.round(n * 1e6);
}

export function files(input, { max, required = false }) {
  const chosen = [...input.files];
  if (required && !chosen.length) bad(input, t("check.file-needed"));
  if (chosen.length > max) bad(input, t("check.too-many-files", { count: max }));
  return chosen;
}

export function showFieldError(input, message) {
  let note = input.id ? document.getElementById(`${input.id}-error`) : null;
  if (!note) {
    const id = input.id ? `${input.id}-error` : `field-error-${Math.random().toString(36).slice(2)}`;
    note = h("span", { class: "error field-error", id, role: "alert" });
    input.insertAdjacentElement("afterend", note);
    input.setAttribute("aria-describedby", id);
  }
  note.textContent = message;
  input.setAttribute("aria-invalid", "true");
}

export function clearFieldErrors(form) {
  for (const note of form.querySelectorAll(".field-error")) note.textContent = "";
  for (const input of form.querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
}

// The input of `form` for the node's `field` ("body.price.currency" -> data-field
// "price.currency", else "price"); null when the form has none.
export function inputFor(form, field) {
  const parts = field.replace(/^body\./, "").split(".");
  for (let n = parts.length; n > 0; n--) {
    const found = form.querySelector(`[data-field="${CSS.escape(parts.slice(0, n).join("."))}"]`);
    if (found) return found;
  }
  return null;
}

// Submit `form`: `check()` reads and checks its fields (a FieldError stops here, shown
// beside its field, nothing sent); `send(values)` then runs with the button busy. A
// typed refusal naming a field of this form is shown beside it; any other lands in `out`.
export function submitChecked(form, submit, out, check, send) {
  clearFieldErrors(form);
  let values;
  try {
    values = check();
  } catch (e) {
    if (!(e instanceof FieldError)) throw e;
    showFieldError(e.input, e.message);
    e.input.focus();
    return;
  }
  busy(submit, out, async () => {
    try {
      await send(values);
    } catch (e) {
      const input = e instanceof ApiError && e.field ? inputFor(form, e.field) : null;
      if (!input) throw e;
      showFieldError(input, `${e.message} (${e.code})`);
      input.focus();
    }
  });
}
