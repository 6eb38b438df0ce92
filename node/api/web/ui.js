// Small DOM helpers: every text goes through textContent, never innerHTML. Dates,
// numbers and money are formatted for the page's language (i18n.js).
import { currentLocale, dateOnly, dateTime, number, t } from "./i18n.js";

export function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "class") node.className = value;
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  append(node, children);
  return node;
}

// Append children as h() does: arrays flattened, null/undefined/false skipped, text as
// text (the DOM's own append would write "null" or "[object HTMLElement]").
export function add(node, ...children) {
  append(node, children);
}

function append(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

const SVG = "http://www.w3.org/2000/svg";
export function s(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value !== null && value !== undefined) node.setAttribute(key, String(value));
  }
  append(node, children);
  return node;
}

export function short(id, n = 10) {
  return id ? `${id.slice(0, n)}…` : "—";
}

export function bytes(n) {
  if (n === null || n === undefined) return "—";
  const units = ["B", "KiB", "MiB", "GiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return `${number(n, { maximumFractionDigits: i ? 1 : 0, minimumFractionDigits: i ? 1 : 0 })} ${units[i]}`;
}

// Money: records carry integer minor units; the currency's own exponent (JPY 0, EUR 2,
// BHD 3: ISO 4217 as Intl knows it) and the page's locale make it "€21.85" or "21,85 €".
function moneyFormat(currency) {
  try {
    return new Intl.NumberFormat(currentLocale(), { style: "currency", currency });
  } catch { return null; }  // not a currency code Intl knows
}

export function money(minor, currency) {
  const format = moneyFormat(currency);
  if (!format) return t("money.minor-units", { minor, currency });
  return format.format(minor / 10 ** format.resolvedOptions().maximumFractionDigits);
}

export function when(ms) {
  return ms ? dateTime(ms) : "—";
}

// A promised day (ready by, deadline): the date alone, in the reader's locale.
export function day(ms) {
  return ms ? dateOnly(ms) : "—";
}

// Licence badge: the node says the family (as `fabnode licence check` does).
const families = new Map();
const FAMILY_CLASS = { "strong-copyleft": "strong", "weak-copyleft": "weak", permissive: "permissive" };

export function licenceBadge(licence, checker) {
  const text = licence || t("licence.none");
  const badge = h("span", { class: "badge other" }, text);
  if (!licence) return badge;
  if (!families.has(licence)) families.set(licence, checker(licence).catch(() => null));
  families.get(licence).then((found) => {
    if (!found) return;
    badge.className = `badge ${FAMILY_CLASS[found.family] || "other"}`;
    badge.title = found.reason;
    badge.append(h("span", { class: "muted" }, ` · ${found.open ? familyName(found.family) : t("licence.not-open")}`));
  });
  return badge;
}

// A licence family's name as the reader says it (the node's value otherwise).
export function familyName(family) {
  return { "strong-copyleft": t("licence.strong-copyleft"), "weak-copyleft": t("licence.weak-copyleft"),
    permissive: t("licence.permissive") }[family] || family;
}

export function errorBox(error) {
  const code = error.code ? `${error.code}: ` : "";
  return h("p", { class: "error", role: "alert" }, `${code}${error.message}`);
}

export function replace(target, ...children) {
  target.replaceChildren();
  append(target, children);
}

// Run `fn` while the button shows it is busy; errors land in `out`.
export async function busy(button, out, fn) {
  button.disabled = true;
  try {
    replace(out);
    await fn();
  } catch (e) {
    replace(out, errorBox(e));
  } finally {
    button.disabled = false;
  }
}
