// The page's languages (README "Languages"): one JSON catalog per language in i18n/,
// fetched from this node (nothing from outside), listed in i18n/languages.json. The
// language is the one chosen in the header (kept in localStorage), else the first of
// the browser's languages (navigator.languages, what it sends as Accept-Language) that
// has a catalog, else English. t(key, params) looks the key up in the chosen catalog,
// then in English; "{name}" placeholders take params (numbers formatted for the
// reader); a value given as { one, other, ... } is a plural chosen by Intl.PluralRules
// on params.count. Dates, numbers, distances and money go through the same locale.
// Keys are found in the sources by tools/i18n/extract_web.py, so they are always
// written as literals: t("nav.designs"), never t(variable).

const CHOSEN = "fabcommons.lang";
const SOURCE = "en";

let languages = { en: { name: "English", dir: "ltr" } };
let language = SOURCE;
let locale = SOURCE;  // the BCP 47 tag Intl formats with (the browser's own when it is of `language`)
let catalog = {};
let english = {};
const SOURCE_PLURALS = new Intl.PluralRules(SOURCE);
let plurals = SOURCE_PLURALS;

async function fetchJson(path) {
  const response = await fetch(path);
  if (!response.ok) throw new Error(`HTTP ${response.status} for ${path}`);
  return response.json();
}

// The first of `wanted` (BCP 47 tags, most preferred first) that a catalog serves.
export function pickLanguage(wanted, available) {
  const byLower = new Map(available.map((code) => [code.toLowerCase(), code]));
  for (const tag of wanted) {
    const lower = String(tag).toLowerCase();
    const found = byLower.get(lower) || byLower.get(lower.split("-")[0]);
    if (found) return found;
  }
  return SOURCE;
}

function browserLanguages() {
  return navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language || SOURCE];
}

// Load the catalogs (English always, as the fallback) before anything is drawn.
export async function loadLanguage() {
  try { languages = await fetchJson("/static/i18n/languages.json"); } catch { /* English only */ }
  const available = Object.keys(languages);
  const stored = localStorage.getItem(CHOSEN);
  language = stored && available.includes(stored) ? stored : pickLanguage(browserLanguages(), available);
  try { english = await fetchJson(`/static/i18n/${SOURCE}.json`); } catch { english = {}; }
  catalog = english;
  if (language !== SOURCE) {
    try { catalog = await fetchJson(`/static/i18n/${language}.json`); } catch { language = SOURCE; }
  }
  const base = language.toLowerCase().split("-")[0];
  locale = browserLanguages().find((tag) => String(tag).toLowerCase().split("-")[0] === base) || language;
  try { plurals = new Intl.PluralRules(locale); } catch { locale = language; plurals = new Intl.PluralRules(language); }
  document.documentElement.lang = language;
  document.documentElement.dir = languages[language]?.dir === "rtl" ? "rtl" : "ltr";
  return language;
}

export const currentLocale = () => locale;

// Remember `lang` for this browser and draw the page again in it.
export function chooseLanguage(lang) {
  localStorage.setItem(CHOSEN, lang);
  location.reload();
}

function lookup(key, params) {
  let value = Object.hasOwn(catalog, key) ? catalog[key] : english[key];
  if (value === undefined) return key;  // a missing key shows itself (the catalog test catches it)
  if (typeof value === "object") {
    const n = Number(params.count ?? 0);
    const own = Object.hasOwn(catalog, key) ? plurals : SOURCE_PLURALS;
    value = value[own.select(n)] ?? value.other ?? "";
  }
  return value;
}

function shown(value) {
  return typeof value === "number" ? number(value) : value;
}

// The text of `key` with its {placeholders} filled from `params`.
export function t(key, params = {}) {
  return lookup(key, params).replace(/\{(\w+)\}/g, (whole, name) => (name in params ? String(shown(params[name])) : whole));
}

// The same as a list of strings and DOM nodes, for params that are elements (a <code>,
// a name with its copy button): h() takes the list as children.
export function tn(key, params = {}) {
  const parts = [];
  const text = lookup(key, params);
  let last = 0;
  for (const match of text.matchAll(/\{(\w+)\}/g)) {
    parts.push(text.slice(last, match.index));
    const value = params[match[1]];
    parts.push(value === undefined ? match[0] : shown(value));
    last = match.index + match[0].length;
  }
  parts.push(text.slice(last));
  return parts.filter((p) => p !== "");
}

// -- formats in the reader's locale ----------------------------------------------------

// Intl formatters cost far more to build than to use, and the page redraws often: one
// per kind and options, kept for the page's life (choosing a language reloads it).
const formatters = new Map();
function formatter(Kind, options) {
  const key = `${locale} ${Kind.name} ${JSON.stringify(options)}`;
  if (!formatters.has(key)) formatters.set(key, new Kind(locale, options));
  return formatters.get(key);
}

export function number(n, options = {}) {
  return formatter(Intl.NumberFormat, options).format(n);
}

// A length in a unit Intl knows ("kilometer", "millimeter"): "12 km", "12 km" in Arabic digits…
export function measure(n, unit, digits = 0) {
  return number(n, { style: "unit", unit, unitDisplay: "short", maximumFractionDigits: digits, minimumFractionDigits: digits });
}

export function percent(n, digits = 1) {
  return number(n / 100, { style: "percent", maximumFractionDigits: digits });
}

export function dateTime(ms) {
  return formatter(Intl.DateTimeFormat, { dateStyle: "medium", timeStyle: "short" }).format(new Date(ms));
}

export function dateOnly(ms) {
  return formatter(Intl.DateTimeFormat, { dateStyle: "medium" }).format(new Date(ms));
}

export function list(items, type = "conjunction") {
  return formatter(Intl.ListFormat, { style: "long", type }).format(items.map(String));
}

// The language choice in the header: every language with a catalog, by its own name.
export function languagePicker() {
  const select = document.createElement("select");
  select.id = "language";
  select.name = "language";
  for (const [code, about] of Object.entries(languages)) {
    const option = document.createElement("option");
    option.value = code;
    option.lang = code;
    option.textContent = about.name;
    option.selected = code === language;
    select.append(option);
  }
  select.addEventListener("change", () => chooseLanguage(select.value));
  const label = document.createElement("label");
  label.className = "language";
  label.htmlFor = "language";
  label.append(t("header.language"), select);
  return label;
}

// The page's static texts (index.html): data-i18n="key" sets the text, data-i18n-attr
// "attr:key" an attribute.
export function translateStatic(root = document) {
  for (const el of root.querySelectorAll("[data-i18n]")) {
    const target = el.firstChild && el.firstChild.nodeType === Node.TEXT_NODE ? el.firstChild : null;
    if (target) target.textContent = t(el.dataset.i18n);
    else el.prepend(t(el.dataset.i18n));
  }
  for (const el of root.querySelectorAll("[data-i18n-attr]")) {
    const [attr, key] = el.dataset.i18nAttr.split(":");
    el.setAttribute(attr, t(key));
  }
}
